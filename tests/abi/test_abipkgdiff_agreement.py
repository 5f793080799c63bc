"""The ELF layer agrees with Debian's abipkgdiff on every package pair of the test data.

abipkgdiff runs in the same test, in its mode closest to elforge's default (every DSO, public
or private: ``--private-dso``; no default suppressions; no debuginfo given). For each binary it
reports (shared libraries and executables): the same removed ``symbol@version`` set; every
symbol it lists as added is added for us too, and what we add beyond it is an alias it folded
into a group (readelf's full list is the oracle in test_added_symbols.py); nothing reported
for binaries it does not mention; and exit bits 4 and 8 equal, or different for a documented
reason only. The cases file's pairs plus the other RPM pairs of the folder.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from abipkgdiff_oracle import PackageReport, run_abipkgdiff

from elforge.abi.diff import AbiDiffResult, DiffOptions, PackageSet, compare_packages
from elforge.abi.model import EXIT_ABI_CHANGE, EXIT_INCOMPATIBLE
from elforge.report.model import Severity
from helpers import TESTDATA, require_tool

# the folder's other RPM pairs: Oracle Linux CTF rebuilds, nss, Koji-layout nss-util, vte291,
# and i686 dbus-glib (32-bit provides carry no "()(64bit)" suffix)
EXTRA_PAIRS = [
    ("ctf/libdwarf-20180129-4.x86_64.rpm", "ctf/libdwarf-20180129-5.x86_64.rpm"),
    ("ctf/elfutils-libelf-0.186-1.x86_64.rpm", "ctf/elfutils-libelf-0.186-2.x86_64.rpm"),
    ("ctf/gmp-6.1.2-8-ol8u0.x86_64.rpm", "ctf/gmp-6.2.0-10-ol9u0.x86_64.rpm"),
    ("ctf/cracklib-2.9.6-15-ol8u0.x86_64.rpm", "ctf/cracklib-2.9.6-15-ol8u6.x86_64.rpm"),
    ("ctf/isl-0.16.1-6.x86_64.rpm", "ctf/isl-0.16.1-7.x86_64.rpm"),
    ("pkgdiff/nss/nss-3.23.0-1.0.fc23.x86_64.rpm", "pkgdiff/nss/nss-3.24.0-1.0.fc23.x86_64.rpm"),
    ("fedabipkgdiff/nss-util/nss-util-3.12.6-1.fc14.x86_64.rpm",
     "fedabipkgdiff/nss-util/nss-util-3.24.0-2.0.fc25.x86_64.rpm"),
    ("fedabipkgdiff/packages/vte291/0.39.1/1.fc22/x86_64/vte291-0.39.1-1.fc22.x86_64.rpm",
     "fedabipkgdiff/packages/vte291/0.39.90/1.fc22/x86_64/vte291-0.39.90-1.fc22.x86_64.rpm"),
    ("fedabipkgdiff/packages/dbus-glib/0.100.2/2.fc20/i686/dbus-glib-0.100.2-2.fc20.i686.rpm",
     "fedabipkgdiff/packages/dbus-glib/0.106/1.fc23/i686/dbus-glib-0.106-1.fc23.i686.rpm"),
]  # fmt: skip


def _pairs() -> list[tuple[str, str]]:
    path = TESTDATA / "abi" / "abipkgdiff-cases.json"
    if not path.is_file():  # the testdata fixture then fails the test with the reason
        return [("missing", "missing")]
    cases = json.loads(path.read_text())["cases"]
    return list(dict.fromkeys([*((c["pkg1"], c["pkg2"]) for c in cases), *EXTRA_PAIRS]))


# findings elforge makes that abipkgdiff has no counterpart for (documented in docs/abi.md):
# they may set exit bit 4 (and, for the BAD ones, 8) where abipkgdiff's stay clear
ELFORGE_ONLY_CODES = {
    "abi.needed-added", "abi.needed-removed", "abi.rpath-added", "abi.relr-added",
    "abi.interpreter-changed", "abi.gnu-hash-dropped", "abi.isa-level-raised",
    "abi.object-resized", "abi.dso-removed", "abi.soname-changed", "abi.version-node-added",
    "abi.version-node-removed", "abi.symbol-version-changed",
}  # fmt: skip
MASK = EXIT_ABI_CHANGE | EXIT_INCOMPATIBLE


@pytest.mark.system
@pytest.mark.slow
@pytest.mark.parametrize(("pkg1", "pkg2"), _pairs())
def test_elf_layer_matches_abipkgdiff(testdata: Path, pkg1: str, pkg2: str) -> None:
    """Default mode on both sides: every DSO, public or private (abipkgdiff --private-dso)."""
    require_tool("abipkgdiff")
    p1, p2 = testdata / "abi" / pkg1, testdata / "abi" / pkg2
    theirs = run_abipkgdiff(p1, p2, "--no-default-suppression", "--private-dso")
    assert not theirs.exit_code & 1, theirs.text
    # types "on": abipkgdiff reads CTF/DWARF embedded in the binaries, so its exit bits
    # include type changes; the symbol lists are the ELF layer's either way
    ours = compare_packages(
        PackageSet(p1), PackageSet(p2), DiffOptions(default_suppressions=False, types="on")
    )
    assert not ours.errors
    by_name = {b.old_path.rsplit("/", 1)[-1]: b for b in ours.binaries}
    for name, report in theirs.binaries.items():
        assert name in by_name, f"abipkgdiff compared {name}, we did not"
        b = by_name[name]  # shared libraries and executables alike
        assert {s.id for s in b.removed_symbols} == report.removed, name
        added = {s.id: s for s in b.added_symbols}
        assert report.added <= added.keys(), name
        # what abipkgdiff folds into an alias group, we list too, naming its aliases
        assert all(added[i].detail.startswith("aliases ") for i in added.keys() - report.added)
    for name, b in by_name.items():
        if name not in theirs.binaries:
            assert not b.removed_symbols, f"{name}: we report removals abipkgdiff does not"
            assert all(s.detail for s in b.added_symbols), f"{name}: additions not aliases"
    # removed/added binaries: same paths (abipkgdiff prints them for RPMs)
    assert (
        sorted(theirs.removed_binaries)
        == sorted(r["path"] for r in ours.removed_binaries if r["type"] == "DYN")
        or not theirs.removed_binaries
    )
    _exit_bits_agree(ours, theirs)


def _exit_bits_agree(ours: AbiDiffResult, theirs: PackageReport) -> None:
    """Bits 4 and 8 equal abipkgdiff's, or differ for a documented reason only."""
    mine, other = ours.exit_code & MASK, theirs.exit_code & MASK
    findings = [f for f in ours.all_findings() if f.severity > Severity.OK]
    if other & EXIT_INCOMPATIBLE and not mine & EXIT_INCOMPATIBLE:
        # abipkgdiff calls removed exports of executables incompatible; we do not
        dsos = {b.old_path.rsplit("/", 1)[-1] for b in ours.binaries if b.type == "DYN"}
        assert not [n for n, r in theirs.binaries.items() if r.removed and n in dsos]
    if mine & EXIT_INCOMPATIBLE and not other & EXIT_INCOMPATIBLE:
        bad = {f.code for f in findings if f.severity is Severity.BAD}
        assert bad <= ELFORGE_ONLY_CODES | {"pkg.soname-provide-removed"}, bad
    if mine & EXIT_ABI_CHANGE and not other & EXIT_ABI_CHANGE:
        listed = {i for r in theirs.binaries.values() for i in r.added}
        codes = {
            f.code for f in findings if f.layer in ("elf", "type")
            and not (f.code == "abi.symbol-added" and f.subject not in listed)
        }  # fmt: skip
        assert codes <= ELFORGE_ONLY_CODES, codes
    assert not (other & EXIT_ABI_CHANGE and not mine & EXIT_ABI_CHANGE), theirs.text
