"""The type layer (abidiff with debuginfo) against abipkgdiff and libabigail's expected reports.

For every case with debuginfo on both sides: the removed, added and changed functions and
variables we report for each shared library equal those of abipkgdiff run live with the same
debuginfo and devel packages. Where the case's expected report belongs to the pair (the cases
file labels a few CTF reports with dbus-glib packages; those are checked against the live run
only), removed and added sets equal the report's and the number of changed interfaces too
(which declaration libabigail names for a changed type depends on its ODR option).
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from elforge.abi.diff import DiffOptions, PackageSet, compare_packages
from elforge.abi.typelayer import parse_abidiff_report
from helpers import TESTDATA, require_tool

pytestmark = [pytest.mark.system, pytest.mark.slow]
_HDR = re.compile(r"^=+ changes of '([^']+)'=+$", re.M)


def _cases() -> list[dict]:  # type: ignore[type-arg]
    path = TESTDATA / "abi" / "abipkgdiff-cases.json"
    if not path.is_file():
        return [{"n": 0, "pkg1": "missing", "debuginfo1": ["x"], "debuginfo2": ["x"]}]
    cases = json.loads(path.read_text())["cases"]
    return [c for c in cases if c["debuginfo1"] and c["debuginfo2"] and c["pkg1"].endswith(".rpm")]


def _sections(text: str) -> dict[str, str]:
    parts = _HDR.split(text)
    return {parts[i]: parts[i + 1] for i in range(1, len(parts), 2)}


def _keys(text: str) -> set[tuple[str, str, str | None]]:
    return {(c.change, c.kind, c.symbol if c.change != "changed" else c.decl)
            for c in parse_abidiff_report(text)[1]}  # fmt: skip


@pytest.mark.parametrize("case", _cases(), ids=lambda c: f"case{c['n']}")
def test_type_layer_matches_abipkgdiff(testdata: Path, case: dict) -> None:  # type: ignore[type-arg]
    require_tool("abipkgdiff", "abidiff")
    abi = testdata / "abi"
    p1, p2 = abi / case["pkg1"], abi / case["pkg2"]
    d1 = [abi / x for x in case["debuginfo1"]]
    d2 = [abi / x for x in case["debuginfo2"]]
    v1 = [abi / x for x in case["devel1"]]
    v2 = [abi / x for x in case["devel2"]]
    argv = ["abipkgdiff", "--no-default-suppression"]
    for flag, files in (("--d1", d1), ("--d2", d2), ("--devel1", v1), ("--devel2", v2)):
        for f in files:
            argv += [flag, str(f)]
    proc = subprocess.run([*argv, str(p1), str(p2)], capture_output=True, text=True,
                          timeout=600, check=False)  # fmt: skip
    assert not proc.returncode & 1, proc.stderr
    theirs = {k: _keys(v) for k, v in _sections(proc.stdout).items()}

    r = compare_packages(PackageSet(p1, d1, v1), PackageSet(p2, d2, v2),
                         DiffOptions(default_suppressions=False, types="auto"))  # fmt: skip
    assert r.type_layer.startswith("abidiff") and not r.errors, (r.type_layer, r.errors)
    ours = {
        b.old_path.rsplit("/", 1)[-1]: {
            (c["change"], c["kind"], c["symbol"] if c["change"] != "changed" else c["decl"])
            for c in b.type_layer["changes"]
        }
        for b in r.binaries
        if b.type_layer is not None
    }
    dsos = {b.old_path.rsplit("/", 1)[-1] for b in r.binaries if b.type == "DYN"}
    for name in dsos:
        assert ours.get(name, set()) == theirs.get(name, set()), name

    report = abi / case["expected_report"]
    if case["expected_report"].split("/")[0] != case["pkg1"].split("/")[0]:
        return  # a report of another test labelled with these packages: live check only
    expected = {k: _keys(v) for k, v in _sections(report.read_text()).items()}
    for name in dsos:
        exp, got = expected.get(name, set()), ours.get(name, set())
        for change in ("removed", "added"):
            assert {k for k in got if k[0] == change} == {k for k in exp if k[0] == change}, name
        assert sum(k[0] == "changed" for k in got) == sum(k[0] == "changed" for k in exp), name


@pytest.mark.parametrize("n", [0, 1, 2, 3])
def test_shipped_abignore_files_apply_as_in_abipkgdiff(testdata: Path, n: int) -> None:
    """Directory packages with DWARF in the binaries and *.abignore files in either side."""
    require_tool("abipkgdiff", "abidiff")
    d1, d2 = (testdata / "abi" / "ctf" / f"dirpkg-{n}-dir{i}" for i in (1, 2))
    proc = subprocess.run(["abipkgdiff", "--no-default-suppression", str(d1), str(d2)],
                          capture_output=True, text=True, timeout=300, check=False)  # fmt: skip
    theirs = {k: _keys(v) for k, v in _sections(proc.stdout).items()}
    r = compare_packages(PackageSet(d1), PackageSet(d2),
                         DiffOptions(default_suppressions=False, types="on"))  # fmt: skip
    (b,) = r.binaries
    assert b.type_layer is not None
    ours = {(c["change"], c["kind"], c["symbol"] if c["change"] != "changed" else c["decl"])
            for c in b.type_layer["changes"]}  # fmt: skip
    assert ours == theirs.get("libobj-v0.so", set())
    # and without the shipped files, the suppressed change comes back
    plain = DiffOptions(default_suppressions=False, types="on", abignore=False)
    bare = compare_packages(PackageSet(d1), PackageSet(d2), plain)
    assert bare.binaries[0].type_layer is not None
    assert bare.binaries[0].type_layer["changes"]
