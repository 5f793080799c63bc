"""``elforge abi compare``: pairing across dist tags, missing packages, cache, every format."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from abi_synthetic import BASE_C, BASE_MAP, build_lib, build_rpm

from elforge.abi.compare import CompareOptions, compare_trees
from elforge.abi.diff import DiffOptions
from helpers import require_tool, run_cli, serve_directory

pytestmark = [pytest.mark.system, pytest.mark.slow]


def _tree(tmp: Path) -> tuple[Path, Path]:
    ref, cand = tmp / "ref", tmp / "cand"
    ref.mkdir()
    cand.mkdir()
    lib_ok = build_lib(tmp / "ok")
    lib_bad = build_lib(tmp / "bad", source=BASE_C.replace("int foo_sub", "static int foo_sub"),
                        version_script=BASE_MAP.replace(" foo_sub;", ""))  # fmt: skip
    files = {"/usr/lib64/libfoo.so.1": lib_ok}
    for name, side, release, f in (
        ("same", ref, "1.el9", files), ("same", cand, "1.el9.alma.1", files),
        ("broken", ref, "2.el9", files), ("broken", cand, "2.el9_4",
                                           {"/usr/lib64/libfoo.so.1": lib_bad}),
        ("gone", ref, "1.el9", files), ("newpkg", cand, "1.el9", files),
    ):  # fmt: skip
        main, _ = build_rpm(tmp / f"b-{name}-{side.name}", f"lib{name}", "1.0", release, f,
                            provides=("libfoo.so.1()(64bit)",))  # fmt: skip
        shutil.copy(main, side)
    return ref, cand


def test_compare_trees(tmp_path: Path) -> None:
    ref, cand = _tree(tmp_path)
    cache = tmp_path / "cache"
    opts = CompareOptions(diff=DiffOptions(types="off"), jobs=2, cache_dir=cache)
    r = compare_trees(ref, cand, opts)
    by_name = {p["name"]: p for p in r.packages}
    assert set(by_name) == {"libsame", "libbroken"}
    assert by_name["libsame"]["verdict"] == "identical"
    assert not by_name["libsame"]["version_differs"]  # dist tag and vendor suffix ignored
    assert by_name["libbroken"]["verdict"] == "incompatible"
    assert [m["name"] for m in r.missing] == ["libgone"]
    assert [m["name"] for m in r.extra] == ["libnewpkg"]
    assert r.exit_code & 12 == 12
    assert r.cached == 0
    again = compare_trees(ref, cand, opts)
    assert again.cached == 2
    assert again.to_json()["summary"]["verdicts"] == r.to_json()["summary"]["verdicts"]


def test_compare_repositories_by_path_and_url(tmp_path: Path) -> None:
    """Repositories are read through their metadata; over HTTP only compared pairs download."""
    require_tool("createrepo_c")
    ref, cand = _tree(tmp_path)
    for side in (ref, cand):
        subprocess.run(["createrepo_c", "--quiet", str(side)], check=True, capture_output=True)
    opts = CompareOptions(diff=DiffOptions(types="off"), jobs=1, cache_dir=tmp_path / "cache")
    local = compare_trees(ref, cand, opts)
    with serve_directory(tmp_path) as base:
        remote = compare_trees(f"{base}/ref", f"{base}/cand", opts)
        res = run_cli("abi", "compare", "--reference", f"{base}/ref", "--candidate",
                      f"{base}/cand", "-j", "1", "--no-cache", "--format", "json")  # fmt: skip
    for r in (local, remote):
        verdicts = {p["name"]: p["verdict"] for p in r.packages}
        assert verdicts == {"libsame": "identical", "libbroken": "incompatible"}
        assert [m["name"] for m in r.missing] == ["libgone"]
        assert [m["name"] for m in r.extra] == ["libnewpkg"]
    downloaded = {p.name for p in (tmp_path / "cache" / "repos").rglob("*.rpm")}
    assert len(downloaded) == 4  # the two compared pairs; libgone and libnewpkg never fetched
    doc = json.loads(res.stdout)
    assert res.exit_code & 12 == 12 and doc["schema"] == "elforge.abi-compare/1"


def test_compare_cli_formats(tmp_path: Path) -> None:
    ref, cand = _tree(tmp_path)
    args = ["abi", "compare", "--reference", str(ref), "--candidate", str(cand), "-j", "1",
            "--cache-dir", str(tmp_path / "cache"), "--types", "off"]  # fmt: skip
    res = run_cli(*args, "--format", "json")
    doc = json.loads(res.stdout)
    assert doc["schema"] == "elforge.abi-compare/1"
    assert doc["summary"]["verdicts"]["incompatible"] == 1
    assert doc["summary"]["missing_in_candidate"] == 1
    assert res.exit_code == doc["exit_code"]
    for fmt in ("text", "sarif", "junit", "html"):
        out = run_cli(*args, "--format", fmt)
        assert out.exit_code == res.exit_code
        assert "libbroken" in out.stdout


def test_unreadable_package_in_a_tree_is_recorded(tmp_path: Path) -> None:
    ref, cand = _tree(tmp_path)
    (cand / "junk.rpm").write_bytes(b"\xed\xab\xee\xdb" + b"\0" * 50)
    r = compare_trees(ref, cand, CompareOptions(diff=DiffOptions(types="off"), jobs=1))
    assert any("junk.rpm" in e for e in r.errors)
    assert r.exit_code & 1
    assert {p["name"] for p in r.packages} == {"libsame", "libbroken"}


def test_compare_explicit_pairs(testdata: Path, tmp_path: Path) -> None:
    """--pairs: one batch of arbitrary pairs (same name twice is fine), with debuginfo."""
    d = testdata / "abi" / "pkgdiff" / "dbus-glib"
    old, new = d / "dbus-glib-0.80-3.fc12.x86_64.rpm", d / "dbus-glib-0.104-3.fc23.x86_64.rpm"
    dbg = d / "dbus-glib-debuginfo-0.80-3.fc12.x86_64.rpm"
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text(f"# old\tnew\n{old}\t{new}\n{old}\t{old}\t{dbg}\t{dbg}\n")
    res = run_cli("abi", "compare", "--pairs", str(pairs), "--no-cache", "-j", "1",
                  "--format", "json")  # fmt: skip
    doc = json.loads(res.stdout)
    verdicts = sorted(p["verdict"] for p in doc["packages"])
    assert verdicts == ["compatible", "identical"], doc["packages"]
    assert any(p.get("type_layer", "").startswith("abidiff") for p in doc["packages"])
    bad = tmp_path / "bad.tsv"
    bad.write_text("only-one-column\n")
    res = run_cli("abi", "compare", "--pairs", str(bad), "--no-cache")
    assert res.exit_code == 1 and "bad.tsv" in res.stderr.replace("\n", "")
    assert run_cli("abi", "compare", "--no-cache").exit_code == 2
