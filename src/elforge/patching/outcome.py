"""The result of patching one package: ``elforge.patch/1``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from elforge.patching.drift import Diagnostic

SCHEMA = "elforge.patch/1"
STATUSES = ("identical", "patched", "drifted", "failed")


@dataclass
class ActionResult:
    index: int
    action: str
    source: str  # the config format the action came from
    expected: str
    changed: int
    files: list[str]
    category: str
    reason: str
    ok: bool
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "index": self.index,
            "action": self.action,
            "source": self.source,
            "expected": self.expected,
            "changed": self.changed,
            "files": self.files,
            "ok": self.ok,
            "reason": {"category": self.category, "text": self.reason},
        }
        if self.note:
            out["note"] = self.note
        return out


@dataclass
class PatchOutcome:
    package: str
    status: str
    tree: str = ""
    config: str = ""
    config_format: str = ""
    actions: list[ActionResult] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    commit_lines: list[str] = field(default_factory=list)
    dry_run: bool = False
    upstream: str = ""  # the upstream reference: NVR and, in a git repository, the commit

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "package": self.package,
            "status": self.status,
            "tree": self.tree,
            "config": self.config,
            "config_format": self.config_format,
            "dry_run": self.dry_run,
            "upstream": self.upstream,
            "actions": [a.to_json() for a in self.actions],
            "diagnostics": [d.to_json() for d in self.diagnostics],
            "changelog": self.commit_lines,
        }
