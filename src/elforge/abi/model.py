"""Result models of an ABI comparison and the exit bits they map to."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from elforge.report.model import Finding, Severity

# exit bits, as abipkgdiff: 1 error, 2 usage, 4 ABI change, 8 incompatible change; ours above
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_ABI_CHANGE = 4
EXIT_INCOMPATIBLE = 8
EXIT_VERIFY = 16  # some finding needs a human to verify it (severity VERIFY)
EXIT_PACKAGE_CHANGE = 32  # package-layer differences (provides, requires, files) beyond NEVRA


class Verdict(StrEnum):
    identical = "identical"
    compatible = "compatible"
    incompatible = "incompatible"
    error = "error"


@dataclass(frozen=True)
class SymbolRef:
    name: str
    version: str | None
    kind: str  # FUNC, OBJECT, TLS, IFUNC
    default: bool = True
    size: int = 0
    detail: str = ""

    @property
    def id(self) -> str:
        if not self.version:
            return self.name
        return f"{self.name}{'@@' if self.default else '@'}{self.version}"

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "version": self.version,
            "kind": self.kind,
            "id": self.id,
        }
        if self.kind in ("OBJECT", "TLS"):
            out["size"] = self.size
        if self.detail:
            out["detail"] = self.detail
        return out


@dataclass
class BinaryDiff:
    """The comparison of one pair of ELF files."""

    path: str
    old_path: str
    soname: str | None
    old_soname: str | None
    type: str
    public: bool
    removed_symbols: list[SymbolRef] = field(default_factory=list)
    added_symbols: list[SymbolRef] = field(default_factory=list)
    changed_symbols: list[SymbolRef] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    type_layer: dict[str, Any] | None = None  # abidiff's summary and report, when run
    identical_file: bool = False

    @property
    def verdict(self) -> Verdict:
        return verdict_of(self.findings)

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "old_path": self.old_path,
            "soname": self.soname,
            "old_soname": self.old_soname,
            "type": self.type,
            "public": self.public,
            "verdict": self.verdict.value,
            "removed_symbols": [s.to_json() for s in self.removed_symbols],
            "added_symbols": [s.to_json() for s in self.added_symbols],
            "changed_symbols": [s.to_json() for s in self.changed_symbols],
            "type_layer": self.type_layer,
            "findings": [f.to_json() for f in self.findings],
        }


def verdict_of(findings: list[Finding]) -> Verdict:
    if any(f.severity is Severity.BAD for f in findings):
        return Verdict.incompatible
    if any(f.severity > Severity.OK and f.code not in NEUTRAL_CODES for f in findings):
        return Verdict.compatible
    return Verdict.identical


# findings that say what was compared, not that the interface changed
NEUTRAL_CODES = {"pkg.nevra-changed", "pkg.release-changed", "type.not-run"}
