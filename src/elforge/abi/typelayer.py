"""The type layer: DWARF (or CTF) types through libabigail's ``abidiff``.

Run as abipkgdiff does it: the main, debuginfo and devel packages are extracted; each pair of
shared objects is handed to ``abidiff`` with ``--d1/--d2`` (the debuginfo trees'
``/usr/lib/debug``), ``--hd1/--hd2`` (the devel packages' ``/usr/include``, so only types of
public headers count) and the same suppression files. Its report is parsed into findings.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from elforge.abi.model import (
    AbiDiffResult,
    BinaryTypes,
    DiffOptions,
    PackageSet,
    TypeLayerFindings,
)
from elforge.abi.payload import extract, package_kind
from elforge.errors import ToolError
from elforge.proc import run_command
from elforge.report.model import Finding, Severity

LAYER = "type"
ABIDIFF_TIMEOUT = 600
_ITEM = re.compile(r"^(?P<indent>\s*)\[(?P<tag>[DAC])\] '(?P<decl>.*?)'(?P<rest>.*)$")
_SECTION = re.compile(
    r"^\s*(?P<n>\d+) (?P<what>Removed functions?|Added functions?|Removed variables?|"
    r"Added variables?|Changed variables?|functions? with some (?:indirect )?sub-type changes?|"
    r"Changed functions?)"
)
_SUMMARY = re.compile(
    r"^\s*(?P<kind>Functions|Variables) changes summary: "
    r"(?P<r>\d+) Removed(?: \(\d+ filtered out\))?, "
    r"(?P<c>\d+) Changed(?: \(\d+ filtered out\))?, (?P<a>\d+) Added"
)
_LAYOUT = re.compile(
    r"size changed|offset changed|data member .*(?:deleted|insertion|removed)|"
    r"parameter .* (?:removed|added)|return type changed|enumerator .*(?:deletion|change)"
)


@dataclass
class TypeChange:
    change: str  # removed, added, changed
    kind: str  # function, variable
    decl: str
    symbol: str | None
    detail: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "change": self.change,
            "kind": self.kind,
            "decl": self.decl,
            "symbol": self.symbol,
            "detail": "\n".join(self.detail),
        }


def parse_abidiff_report(text: str) -> tuple[dict[str, int], list[TypeChange]]:
    """Summary counts and the removed/added/changed functions and variables of a report."""
    counts = {
        "functions_removed": 0,
        "functions_changed": 0,
        "functions_added": 0,
        "variables_removed": 0,
        "variables_changed": 0,
        "variables_added": 0,
    }
    changes: list[TypeChange] = []
    section: tuple[str, str] | None = None
    current: TypeChange | None = None
    indent = 0
    for line in text.splitlines():
        m = _SUMMARY.match(line)
        if m:
            k = "functions" if m["kind"] == "Functions" else "variables"
            counts[f"{k}_removed"] += int(m["r"])
            counts[f"{k}_changed"] += int(m["c"])
            counts[f"{k}_added"] += int(m["a"])
            continue
        if "not referenced by debug info" in line and re.match(r"^\s*\d+ ", line):
            section = None
            current = None
            continue
        m = _SECTION.match(line)
        if m:
            what = m["what"]
            kind = "function" if "function" in what.lower() else "variable"
            change = (
                "removed"
                if what.startswith("Removed")
                else "added"
                if what.startswith("Added")
                else "changed"
            )
            section = (change, kind)
            current = None
            continue
        if section is None:
            continue
        m = _ITEM.match(line)
        if m:
            rest = m["rest"]
            sym = re.search(r"\{([^}]*)\}", rest)
            current = TypeChange(section[0], section[1], m["decl"], sym.group(1) if sym else None)
            changes.append(current)
            indent = len(m["indent"])
            continue
        if current is not None and line.strip() and len(line) - len(line.lstrip()) > indent:
            current.detail.append(line.strip())
        elif line.startswith("====="):
            section = None
            current = None
    return counts, changes


def _tree(pkgs: list[Path], work: Path, label: str) -> Path | None:
    """Extract ``pkgs`` (RPMs, tarballs, or directories used as they are) into one tree."""
    if not pkgs:
        return None
    dest = work / label
    for p in pkgs:
        if package_kind(p) == "dir":
            if len(pkgs) == 1:
                return p
            shutil.copytree(p, dest, dirs_exist_ok=True, symlinks=True)
        else:
            extract(p, dest)
    return dest


def run_type_layer(
    result: AbiDiffResult, old: PackageSet, new: PackageSet, options: DiffOptions
) -> TypeLayerFindings:
    """abidiff over the shared objects ``result`` paired; ``result`` is only read."""
    if options.types == "off":
        return TypeLayerFindings("off")
    have_debug = bool(old.debuginfo and new.debuginfo)
    if options.types == "auto" and not have_debug:
        return TypeLayerFindings("off (no debuginfo given)")
    abidiff = shutil.which("abidiff")
    if abidiff is None:
        raise ToolError("abidiff is not installed (Debian package abigail-tools)")
    pairs = [b for b in result.binaries if b.type == "DYN"]
    if not pairs:
        return TypeLayerFindings("abidiff (no shared objects to compare)")
    found = TypeLayerFindings("abidiff")
    with tempfile.TemporaryDirectory(prefix="elforge-abi-") as tmp:
        work = Path(tmp)
        root1 = _tree([old.main], work, "pkg1")
        root2 = _tree([new.main], work, "pkg2")
        dbg1 = _tree(old.debuginfo, work, "debug1")
        dbg2 = _tree(new.debuginfo, work, "debug2")
        dev1 = _tree(old.devel, work, "devel1")
        dev2 = _tree(new.devel, work, "devel2")
        assert root1 is not None and root2 is not None
        base = [abidiff, "--no-show-locs"]
        if not options.default_suppressions:
            base.append("--no-default-suppression")
        for f in options.suppressions.files:
            base += ["--suppressions", str(f)]
        if options.abignore:
            # suppression files shipped in either package, as abipkgdiff applies them
            for i, text in enumerate(
                t for snap in (result.old, result.new) for _, t in sorted(snap.abignore.items())
            ):
                shipped = work / f"shipped-{i}.abignore"
                shipped.write_text(text, encoding="utf-8")
                base += ["--suppressions", str(shipped)]
        for flag, tree, sub in (
            ("--d1", dbg1, "usr/lib/debug"),
            ("--d2", dbg2, "usr/lib/debug"),
            ("--hd1", dev1, "usr/include"),
            ("--hd2", dev2, "usr/include"),
        ):
            if tree is not None:
                target = tree / sub if (tree / sub).is_dir() else tree
                base += [flag, str(target)]
        ran = 0
        for b in pairs:
            f1 = root1 / b.old_path.lstrip("/")
            f2 = root2 / b.path.lstrip("/")
            if not f1.is_file() or not f2.is_file():
                continue
            try:
                proc = run_command(
                    [*base, str(f1), str(f2)],
                    capture_output=True,
                    text=True,
                    timeout=ABIDIFF_TIMEOUT,
                    check=False,
                )
            except subprocess.TimeoutExpired:
                found.errors.append(f"{b.path}: abidiff timed out after {ABIDIFF_TIMEOUT}s")
                continue
            ran += 1
            if proc.returncode & 1:
                found.errors.append(
                    f"{b.path}: abidiff failed (exit {proc.returncode}): "
                    f"{proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else ''}"
                )
                continue
            counts, changes = parse_abidiff_report(proc.stdout)
            report = {
                "exit_code": proc.returncode,
                "counts": counts,
                "changes": [c.to_json() for c in changes],
                "report": proc.stdout,
            }
            findings = [_finding(c, b.path, b.public) for c in changes]
            found.binaries[b.path] = BinaryTypes(report, findings)
    found.ran = f"abidiff ({ran} shared object pair{'s' if ran != 1 else ''})"
    return found


def _finding(c: TypeChange, path: str, public: bool) -> Finding:
    subject = c.symbol or c.decl
    if c.change == "added":
        return Finding(
            Severity.INFO,
            f"type.{c.kind}-added",
            subject,
            f"{c.kind} {c.decl} added",
            "",
            LAYER,
            path,
        )
    if c.change == "removed":
        sev = Severity.BAD if public else Severity.VERIFY
        return Finding(
            sev,
            f"type.{c.kind}-removed",
            subject,
            f"{c.kind} {c.decl} removed",
            "restore the interface or bump the SONAME",
            LAYER,
            path,
        )
    detail = " / ".join(c.detail[:6])
    layout = any(_LAYOUT.search(d) for d in c.detail)
    sev = Severity.BAD if layout and public else Severity.VERIFY
    return Finding(
        sev,
        f"type.{c.kind}-changed",
        subject,
        f"{c.kind} {c.decl} changed: {detail}",
        "restore the reference type layout (struct members, sizes, parameters)",
        LAYER,
        path,
    )
