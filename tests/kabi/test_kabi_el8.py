"""el8.8 -> el8.9 on the real RHEL 8 kABI lists, checked against an independent count.

The expected lists come from coreutils (cut/sort/comm/join/awk) run over the same files in a
subprocess, not from elforge's parser.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from elforge.kabi.diff import diff_kabi
from elforge.kabi.symvers import read_symvers
from helpers import require_tool, run_cli

ARCHES = ("x86_64", "aarch64", "ppc64le", "s390x")

# For each change kind, the symbol names, one per line, computed with standard tools.
# Columns of Module.kabi_<arch>: CRC, symbol, module, export type.
INDEPENDENT = r"""
set -euo pipefail
old=$1 new=$2 kind=$3
keyed() { awk -F'\t' 'NF { print $2 "\t" $1 "\t" $3 "\t" $4 }' "$1" | LC_ALL=C sort -t$'\t' -k1,1; }
joined() { LC_ALL=C join -t$'\t' <(keyed "$old") <(keyed "$new"); }
case $kind in
  removed) LC_ALL=C comm -23 <(cut -f2 "$old" | LC_ALL=C sort) <(cut -f2 "$new" | LC_ALL=C sort) ;;
  added)   LC_ALL=C comm -13 <(cut -f2 "$old" | LC_ALL=C sort) <(cut -f2 "$new" | LC_ALL=C sort) ;;
  crc_changed) joined | awk -F'\t' '$2 != $5 { print $1 }' ;;
  moved)       joined | awk -F'\t' '$3 != $6 { print $1 }' ;;
  export_changed) joined | awk -F'\t' '$4 != $7 { print $1 }' ;;
  count) grep -c . "$old" ;;
esac
"""


def independent(old: Path, new: Path, kind: str) -> list[str]:
    proc = subprocess.run(["bash", "-c", INDEPENDENT, "independent", str(old), str(new), kind],
                          capture_output=True, text=True, check=True)  # fmt: skip
    return sorted(proc.stdout.split())


@pytest.fixture(scope="module")
def el8(testdata: Path) -> tuple[Path, Path]:
    require_tool("bash", "awk", "comm", "join", "sort", "cut")
    return testdata / "kabi" / "el8.8", testdata / "kabi" / "el8.9"


@pytest.mark.parametrize("arch", ARCHES)
def test_el88_to_el89_matches_independent_count(el8: tuple[Path, Path], arch: str) -> None:
    old_dir, new_dir = el8
    old, new = old_dir / f"Module.kabi_{arch}", new_dir / f"Module.kabi_{arch}"
    result = diff_kabi(old, new)
    assert [a.arch for a in result.arches] == [arch]
    per_arch = result.arches[0]
    assert len(per_arch.old) == int(independent(old, old, "count")[0])
    assert len(per_arch.new) == int(independent(new, new, "count")[0])
    for kind in ("removed", "added", "crc_changed", "moved", "export_changed"):
        assert per_arch.names(kind) == independent(old, new, kind), kind
    # the real 8.8 -> 8.9 change: 40 symbols added on every architecture, nothing broken
    assert len(result.added) == 40 and not result.removed and not result.crc_changed
    assert result.exit_code == 4
    # OLD is a kABI list: it is the stablelist when none is given
    assert per_arch.stablelist is not None and per_arch.stablelist_implicit
    assert len(per_arch.stablelist) == len(per_arch.old)


def test_directories_diff_every_arch(el8: tuple[Path, Path]) -> None:
    old_dir, new_dir = el8
    result = diff_kabi(old_dir, new_dir)
    assert sorted(a.arch or "" for a in result.arches) == sorted(ARCHES)
    for a in result.arches:
        assert a.arch is not None
        expect = independent(
            old_dir / f"Module.kabi_{a.arch}", new_dir / f"Module.kabi_{a.arch}", "added"
        )
        assert a.names("added") == expect
    # the top-level lists are the union over architectures
    union = set()
    for arch in ARCHES:
        union |= set(
            independent(old_dir / f"Module.kabi_{arch}", new_dir / f"Module.kabi_{arch}", "added")
        )
    assert result.added == sorted(union)
    one = diff_kabi(old_dir, new_dir, arch="s390x")
    assert [a.arch for a in one.arches] == ["s390x"]


def test_reverse_direction_is_incompatible(el8: tuple[Path, Path]) -> None:
    """8.9 -> 8.8 removes 40 stablelisted symbols: BAD, exit 4|8."""
    old_dir, new_dir = el8
    old, new = new_dir / "Module.kabi_x86_64", old_dir / "Module.kabi_x86_64"
    result = diff_kabi(old, new)
    assert result.removed == independent(old, new, "removed")
    assert len(result.removed) == 40
    bad = [f for f in result.findings if f.code == "kabi.symbol-removed"]
    assert len(bad) == 40 and all(f.severity.name == "BAD" for f in bad)
    assert result.exit_code == 12 and result.verdict == "incompatible"


def test_cli_json_matches_independent(el8: tuple[Path, Path]) -> None:
    old_dir, new_dir = el8
    r = run_cli("kabi", "diff", str(old_dir), str(new_dir), "--arch", "ppc64le", "-f", "json")
    assert r.exit_code == 4, r.stderr
    doc = json.loads(r.stdout)
    assert doc["schema"] == "elforge.kabi-diff/1"
    old, new = old_dir / "Module.kabi_ppc64le", new_dir / "Module.kabi_ppc64le"
    for kind in ("removed", "added", "crc_changed", "moved", "export_changed"):
        assert doc[kind] == independent(old, new, kind)
    assert doc["arches"]["ppc64le"]["old"]["symbols"] == len(read_symvers(old))
    assert isinstance(doc["findings"], list)
