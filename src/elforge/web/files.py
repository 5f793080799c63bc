"""Bounded, confined reads of the workspace files the store points at: logs, ABI and kABI
reports, the imported and patched trees.

The paths come from the store, which other processes write; every read stays inside the
workspace root (a path that resolves elsewhere is refused, not followed) and is capped in
size, so a hostile or huge file cannot take the dashboard down.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

LOG_TAIL_BYTES = 64 * 1024
REPORT_MAX_BYTES = 8 * 1024 * 1024
DIFF_MAX_CHARS = 200_000
DIFF_FILE_MAX_BYTES = 1024 * 1024
MAX_FINDINGS = 500


@dataclass(frozen=True)
class TextExcerpt:
    text: str
    truncated: bool  # only the end (logs) or the start (diffs) is shown


@dataclass(frozen=True)
class ReportFinding:
    severity: str
    code: str
    subject: str
    message: str
    remedy: str
    layer: str
    location: str


def inside(root: Path, path: str | Path | None) -> Path | None:
    """``path`` resolved, when it is an existing file or folder inside ``root``; else None."""
    if not path:
        return None
    try:
        resolved = Path(path).resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    return resolved if resolved.is_relative_to(root.resolve()) else None


def relative(root: Path, path: str | Path | None) -> str | None:
    """The workspace-relative POSIX path of a file inside ``root`` (for links), or None."""
    found = inside(root, path)
    return found.relative_to(root.resolve()).as_posix() if found and found.is_file() else None


def log_tail(root: Path, path: str | None) -> TextExcerpt | None:
    """The last ``LOG_TAIL_BYTES`` of a log file inside the workspace."""
    found = inside(root, path)
    if found is None or not found.is_file():
        return None
    size = found.stat().st_size
    with found.open("rb") as fh:
        fh.seek(max(0, size - LOG_TAIL_BYTES))
        data = fh.read(LOG_TAIL_BYTES)
    return TextExcerpt(data.decode("utf-8", errors="replace"), size > LOG_TAIL_BYTES)


def _finding(raw: Any) -> ReportFinding | None:
    if not isinstance(raw, dict):
        return None
    return ReportFinding(
        severity=str(raw.get("severity", "")),
        code=str(raw.get("code", "")),
        subject=str(raw.get("subject", "")),
        message=str(raw.get("message", "")),
        remedy=str(raw.get("remedy", "")),
        layer=str(raw.get("layer", "")),
        location=str(raw.get("location", "")),
    )


def report_findings(root: Path, path: str | None) -> list[ReportFinding]:
    """The findings (above OK) of an ``elforge.abi-diff/1`` or ``elforge.kabi-diff/1`` report:
    the per-binary ones first, then the package's; worst first."""
    found = inside(root, path)
    if found is None or not found.is_file() or found.stat().st_size > REPORT_MAX_BYTES:
        return []
    try:
        doc = json.loads(found.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return []
    if not isinstance(doc, dict):
        return []
    raw: list[Any] = []
    for binary in doc.get("binaries") or []:
        if isinstance(binary, dict):
            raw += binary.get("findings") or []
    raw += doc.get("findings") or []
    findings = [f for f in map(_finding, raw[: MAX_FINDINGS * 2]) if f and f.severity != "OK"]
    rank = {"BAD": 0, "VERIFY": 1, "INFO": 2}
    return sorted(findings, key=lambda f: rank.get(f.severity, 3))[:MAX_FINDINGS]


def _text_files(tree: Path) -> dict[str, Path]:
    return {
        p.relative_to(tree).as_posix(): p
        for p in sorted(tree.rglob("*"))
        if p.is_file() and not p.is_symlink() and p.stat().st_size <= DIFF_FILE_MAX_BYTES
    }


def _lines(path: Path | None) -> list[str] | None:
    """The file's lines, or None for a binary file (NUL byte or not UTF-8)."""
    if path is None:
        return []
    data = path.read_bytes()
    if b"\0" in data:
        return None
    try:
        return data.decode("utf-8").splitlines(keepends=True)
    except UnicodeDecodeError:
        return None


def tree_diff(root: Path, old: str | None, new: str | None) -> TextExcerpt | None:
    """A unified diff of the imported tree against the patched tree (text files), capped."""
    old_tree, new_tree = inside(root, old), inside(root, new)
    if old_tree is None or new_tree is None or old_tree == new_tree:
        return None
    before, after = _text_files(old_tree), _text_files(new_tree)
    chunks: list[str] = []
    size = 0
    for name in sorted(before.keys() | after.keys()):
        a, b = _lines(before.get(name)), _lines(after.get(name))
        if a == b:
            continue
        if a is None or b is None:
            chunks.append(f"Binary file {name} differs\n")
            continue
        chunk = "".join(difflib.unified_diff(a, b, f"a/{name}", f"b/{name}"))
        chunks.append(chunk if chunk.endswith("\n") else chunk + "\n")
        size += len(chunk)
        if size > DIFF_MAX_CHARS:
            break
    text = "".join(chunks)
    return TextExcerpt(text[:DIFF_MAX_CHARS], len(text) > DIFF_MAX_CHARS)
