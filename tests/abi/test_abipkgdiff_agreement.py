"""The ELF layer agrees with Debian's abipkgdiff on every package pair of the test data.

abipkgdiff runs in the same test, in ELF-symbol mode (no debuginfo given, no default
suppressions); for each binary it reports (shared libraries and executables), the sets of
removed and added ``symbol@version`` must be identical to ours (and we must report nothing
it does not). The cases file's pairs plus the other RPM pairs of the folder.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from abipkgdiff_oracle import run_abipkgdiff

from elforge.abi.diff import DiffOptions, PackageSet, compare_packages
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


@pytest.mark.system
@pytest.mark.slow
@pytest.mark.parametrize(("pkg1", "pkg2"), _pairs())
def test_elf_layer_matches_abipkgdiff(testdata: Path, pkg1: str, pkg2: str) -> None:
    require_tool("abipkgdiff")
    p1, p2 = testdata / "abi" / pkg1, testdata / "abi" / pkg2
    theirs = run_abipkgdiff(p1, p2, "--no-default-suppression")
    assert not theirs.exit_code & 1, theirs.text
    ours = compare_packages(
        PackageSet(p1), PackageSet(p2),
        DiffOptions(default_suppressions=False, types="off", public_dsos_only=True),
    )  # fmt: skip
    assert not ours.errors
    by_name = {b.old_path.rsplit("/", 1)[-1]: b for b in ours.binaries}
    for name, report in theirs.binaries.items():
        assert name in by_name, f"abipkgdiff compared {name}, we did not"
        b = by_name[name]  # shared libraries and executables alike
        assert {s.id for s in b.removed_symbols} == report.removed, name
        assert {s.id for s in b.added_symbols} == report.added, name
    for name, b in by_name.items():
        if name not in theirs.binaries:
            assert not b.removed_symbols and not b.added_symbols, (
                f"{name}: we report symbol changes abipkgdiff does not"
            )
    # removed/added binaries: same paths (abipkgdiff prints them for RPMs)
    assert (
        sorted(theirs.removed_binaries)
        == sorted(r["path"] for r in ours.removed_binaries if r["type"] == "DYN")
        or not theirs.removed_binaries
    )
