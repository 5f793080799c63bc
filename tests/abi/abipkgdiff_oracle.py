"""Run Debian's abipkgdiff on a package pair and read the symbols it reports per binary."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

_HEADER = re.compile(r"^=+ changes of '(?P<name>[^']+)'=+$")
_SYM_SECTION = re.compile(
    r"^\s{2}\d+ (?P<what>Removed|Added) (?:function|variable) symbols? "
    r"not referenced by debug info:"
)
_DECL_SECTION = re.compile(r"^\s{2}\d+ (?P<what>Removed|Added) (?:functions?|variables?):")
_ITEM = re.compile(r"^\s{4}\[(?P<tag>[DA])\] (?P<rest>.+)$")


@dataclass
class BinaryReport:
    removed: set[str] = field(default_factory=set)
    added: set[str] = field(default_factory=set)


@dataclass
class PackageReport:
    exit_code: int
    binaries: dict[str, BinaryReport]
    removed_binaries: list[str]
    added_binaries: list[str]
    text: str


def _ids(rest: str) -> list[str]:
    """``foo@@V1``, ``foo, aliases bar`` or ``'decl'    {foo@@V1}`` -> symbol ids."""
    m = re.search(r"\{([^}]*)\}\s*$", rest)
    if m:
        return [s.strip() for s in m.group(1).split(",") if s.strip()]
    # "foo, aliases bar, baz": only foo changed; the aliases are listed for context
    return [rest.partition(", aliases ")[0].strip()]


def parse_report(text: str, exit_code: int) -> PackageReport:
    binaries: dict[str, BinaryReport] = {}
    removed_bins: list[str] = []
    added_bins: list[str] = []
    current: BinaryReport | None = None
    mode: str | None = None
    bins_mode: str | None = None
    for line in text.splitlines():
        m = _HEADER.match(line)
        if m:
            current = binaries.setdefault(m["name"], BinaryReport())
            mode = None
            bins_mode = None
            continue
        if line.startswith("================ end of changes"):
            current = None
            mode = None
            continue
        if line.startswith("Removed binaries:"):
            bins_mode = "removed"
            continue
        if line.startswith("Added binaries:"):
            bins_mode = "added"
            continue
        if bins_mode and current is None:
            m2 = re.match(r"^\s+\[[DA]\] (\S+?)(?:,|$)", line)
            if m2:
                (removed_bins if bins_mode == "removed" else added_bins).append(m2.group(1))
            continue
        if current is None:
            continue
        m = _SYM_SECTION.match(line) or _DECL_SECTION.match(line)
        if m:
            mode = m["what"]
            continue
        if re.match(r"^\s{2}\S", line):
            mode = None
            continue
        m = _ITEM.match(line)
        if m and mode:
            target = current.removed if mode == "Removed" else current.added
            target.update(_ids(m["rest"]))
    return PackageReport(exit_code, binaries, removed_bins, added_bins, text)


def run_abipkgdiff(pkg1: Path, pkg2: Path, *extra: str) -> PackageReport:
    proc = subprocess.run(
        ["abipkgdiff", *extra, str(pkg1), str(pkg2)],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    return parse_report(proc.stdout, proc.returncode)
