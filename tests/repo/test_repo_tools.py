"""Parity diff, install-check and publish on rpmbuild-made repositories."""

from __future__ import annotations

import json
import shutil
from lzma import open as open_xz
from pathlib import Path

import pytest
from repo_helpers import Spec, build_rpm, built_rpms_fixture, createrepo  # noqa: F401

from elforge.repo.diff import classify, diff_repos
from elforge.repo.installcheck import install_check
from elforge.repo.publish import publish_repo
from elforge.rpm.nevra import NEVRA
from elforge.rpm.repodata import Repository
from helpers import run_cli

pytestmark = pytest.mark.system


def test_classify_release_rules() -> None:
    ref = NEVRA("bash", 0, "5.1.8", "9.el9", "x86_64")
    assert classify(ref, NEVRA("bash", 0, "5.1.8", "9.el9", "x86_64")) == "identical"
    assert classify(ref, NEVRA("bash", 0, "5.1.8", "9.el9.alma.1", "x86_64")) == "modified"
    assert classify(ref, NEVRA("bash", 0, "5.1.8", "10.el9", "x86_64")) == "newer"
    assert classify(ref, NEVRA("bash", 0, "5.1.7", "9.el9", "x86_64")) == "older"


def test_repo_diff(tmp_path: Path) -> None:
    top = tmp_path / "build"
    ref, cand = tmp_path / "ref", tmp_path / "cand"
    ref.mkdir()
    cand.mkdir()
    for spec in [
        Spec("same"), Spec("libfoo", release="1.el9", provides=["libfoo.so.1()(64bit)"]),
        Spec("bumped"), Spec("gone"),
    ]:  # fmt: skip
        shutil.copy(build_rpm(spec, top / "r"), ref)
    for spec in [
        Spec("same"), Spec("libfoo", release="1.el9.alma.1"),  # lost its soname provide
        Spec("bumped", version="1.1"), Spec("new"),
    ]:  # fmt: skip
        shutil.copy(build_rpm(spec, top / "c"), cand)
    createrepo(ref)
    createrepo(cand)
    result = diff_repos(ref, cand)
    status = {p.name: p.status for p in result.packages}
    assert status == {"same": "identical", "libfoo": "modified", "bumped": "newer",
                      "gone": "missing", "new": "extra"}  # fmt: skip
    assert result.summary["percent_identical"] == 25.0
    libfoo = next(p for p in result.packages if p.name == "libfoo")
    assert libfoo.deps.lost_sonames == ("libfoo.so.1()(64bit)",)
    bad = [f for f in result.findings() if f.code == "repo.soname-lost"]
    assert bad and bad[0].severity.name == "BAD"
    out = tmp_path / "diff.json"
    r = run_cli("repo", "diff", str(ref), str(cand), "--format", "json", "-o", str(out))
    assert r.exit_code == 8  # "gone" is missing, libfoo lost its soname: the CI gate
    assert run_cli("repo", "diff", str(ref), str(ref), "--format", "json").exit_code == 0
    doc = json.loads(out.read_text())
    assert doc["schema"] == "elforge.repo-diff/1"
    assert doc["summary"]["missing"] == 1 and doc["summary"]["extra"] == 1
    assert {"name", "arch", "reference", "candidate", "status"} <= set(doc["packages"][0])


@pytest.mark.slow
def test_repo_diff_cs9_against_itself(testdata: Path, tmp_path: Path) -> None:
    cs9 = testdata / "repodata/cs9-appstream-2024"
    result = diff_repos(cs9, cs9, cache_dir=tmp_path)
    assert result.summary["percent_identical"] == 100.0
    assert result.summary["missing"] == result.summary["extra"] == 0


def test_install_check_explains_like_dnf(tmp_path: Path, built_rpms: dict[str, Path]) -> None:
    target = tmp_path / "target"
    target.mkdir()
    for name in ("base-libs", "app-data"):
        shutil.copy(built_rpms[name], target)
    createrepo(target)
    ok = install_check([built_rpms["app"]], [target])
    assert ok.installable
    assert ok.transaction == ["app-1.0-1.x86_64", "app-data-1.0-1.x86_64",
                              "base-libs-1.0-1.x86_64"]  # fmt: skip
    bad = install_check([built_rpms["needs-missing"]], [target])
    assert not bad.installable
    assert bad.explain() == (
        "Error: \n Problem: conflicting requests\n"
        "  - nothing provides libmissing.so.7()(64bit) needed by "
        "needs-missing-1.0-1.x86_64 from @commandline"
    )
    r = run_cli("repo", "install-check", str(built_rpms["needs-missing"]),
                "--against", str(target))  # fmt: skip
    assert r.exit_code == 4 and "nothing provides libmissing.so.7()(64bit)" in r.stdout


def test_publish_split_incremental(testdata: Path, tmp_path: Path,
                                   built_rpms: dict[str, Path]) -> None:  # fmt: skip
    rpms = [built_rpms[n] for n in ("base-libs", "app", "app-data", "tool")]
    layout = {"BaseOS": ["base-libs", "tool"], "AppStream": ["app"]}
    advisories = testdata / "repodata/updateinfo-samples/updateinfo_01.xml"
    first = publish_repo(rpms, tmp_path / "pub", layout=layout, updateinfo=advisories)
    assert first.unplaced == ["app-data"]
    by_name = {r.name: r for r in first.repos}
    assert by_name["BaseOS"].read == 3 and by_name["AppStream"].read == 1  # unplaced: first
    base = Repository(tmp_path / "pub/BaseOS")
    assert sorted(p.name for p in base.packages(files=True)) == ["app-data", "base-libs", "tool"]
    assert base.record("primary").checksum_type == "sha256"  # type: ignore[union-attr]
    assert base.updateinfo_path() is not None
    app = Repository(tmp_path / "pub/AppStream")
    pkg = next(p for p in app.packages() if p.name == "app")
    assert app.fetch_package(pkg).is_file()
    # nothing changed: metadata untouched
    repomd = (tmp_path / "pub/BaseOS/repodata/repomd.xml").read_bytes()
    again = publish_repo(rpms, tmp_path / "pub", layout=layout, updateinfo=advisories)
    assert all(r.unchanged for r in again.repos)
    assert (tmp_path / "pub/BaseOS/repodata/repomd.xml").read_bytes() == repomd
    # one package more (unplaced, so BaseOS): the others' metadata is reused, not re-read
    third = publish_repo([*rpms, built_rpms["needs-missing"]], tmp_path / "pub", layout=layout)
    base3 = next(r for r in third.repos if r.name == "BaseOS")
    app3 = next(r for r in third.repos if r.name == "AppStream")
    assert base3.reused == 3 and base3.read == 1
    assert app3.reused == 1 and app3.read == 0
    assert Repository(tmp_path / "pub/BaseOS").updateinfo_path() is None


def test_publish_by_reference_with_modules(
    testdata: Path, tmp_path: Path, built_rpms: dict[str, Path]
) -> None:
    """Split like a reference's package lists; modules.yaml carried over, verified on read."""
    ref_base, ref_app = tmp_path / "ref-base", tmp_path / "ref-app"
    ref_base.mkdir()
    ref_app.mkdir()
    shutil.copy(built_rpms["base-libs"], ref_base)
    shutil.copy(built_rpms["app"], ref_app)
    createrepo(ref_base)
    createrepo(ref_app)
    modules = tmp_path / "modules.yaml"
    with open_xz(
        testdata / "repodata/rocky8-fixtures/happy/AppStream/x86_64/os/repodata/modules.yaml.xz"
    ) as fh:
        modules.write_bytes(fh.read())
    result = publish_repo(
        [built_rpms["base-libs"], built_rpms["app"]],
        tmp_path / "pub",
        reference={"BaseOS": ref_base, "AppStream": ref_app},
        modules=modules,
    )
    assert result.unplaced == []
    app = Repository(tmp_path / "pub/AppStream")
    assert [p.name for p in app.packages()] == ["app"]
    index = app.modules()
    assert index is not None and index.stream_names() == {"squid:4"}


def test_publish_signs_with_rpmsign(
    tmp_path: Path, built_rpms: dict[str, Path], gnupg_home: Path
) -> None:
    import subprocess

    from elforge.rpm.header import read_header
    from helpers import require_tool

    require_tool("gpg", "rpmsign")
    subprocess.run(
        ["gpg", "--batch", "--passphrase", "", "--quick-gen-key",
         "elforge test <test@example.org>", "rsa2048", "sign", "never"],
        check=True, capture_output=True,
    )  # fmt: skip
    result = publish_repo(
        [built_rpms["tool"]], tmp_path / "pub", sign_key="elforge test <test@example.org>"
    )
    assert result.signed == 1
    published = tmp_path / "pub/Packages" / built_rpms["tool"].name
    assert read_header(published).signature_key_id
    assert read_header(built_rpms["tool"]).signature_key_id is None  # source left alone
    pkg = Repository(tmp_path / "pub").packages()[0]
    assert Repository(tmp_path / "pub").fetch_package(pkg) == published  # checksum of signed
    again = publish_repo(
        [built_rpms["tool"]], tmp_path / "pub", sign_key="elforge test <test@example.org>"
    )
    assert again.signed == 0 and again.repos[0].unchanged  # not copied, not signed again


def test_cli_publish_from_workspace(tmp_path: Path, built_rpms: dict[str, Path]) -> None:
    ws = tmp_path / "ws"
    assert run_cli("init", str(ws)).exit_code == 0
    with (ws / "elforge.toml").open("a") as fh:
        fh.write('\n[publish]\nlayout = { BaseOS = ["base-libs"], AppStream = ["app"] }\n')
    src = tmp_path / "rpms"
    src.mkdir()
    for name in ("base-libs", "app"):
        shutil.copy(built_rpms[name], src)
    # a folder of RPMs published with the workspace's [publish] settings
    r = run_cli("publish", str(src), "--workspace", str(ws), "--format", "json")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["schema"] == "elforge.publish/1"
    assert {x["name"]: x["packages"] for x in doc["repos"]} == {"BaseOS": 1, "AppStream": 1}
    assert Repository(ws / "repos/BaseOS").packages()[0].name == "base-libs"


def test_repo_diff_reads_filelists_for_required_files(tmp_path: Path) -> None:
    """A file some package requires is a provide: losing it (only filelists lists
    /usr/share/...) is reported; a corrupt filelists is one line and the diff goes on."""
    ref, cand = tmp_path / "ref", tmp_path / "cand"
    ref.mkdir()
    cand.mkdir()
    needs = Spec("needs-words", requires=["/usr/share/dict/words"])
    shutil.copy(build_rpm(Spec("words", arch="noarch", files=["/usr/share/dict/words"]),
                          tmp_path / "r"), ref)  # fmt: skip
    shutil.copy(build_rpm(needs, tmp_path / "r"), ref)
    shutil.copy(build_rpm(Spec("words", arch="noarch"), tmp_path / "c"), cand)  # file dropped
    shutil.copy(build_rpm(needs, tmp_path / "c"), cand)
    createrepo(ref)
    createrepo(cand)
    words = next(p for p in diff_repos(ref, cand).packages if p.name == "words")
    assert words.deps.lost_provides == ("/usr/share/dict/words",)
    (filelists,) = (cand / "repodata").glob("*-filelists.xml.gz")
    filelists.write_bytes(b"garbage")
    out = tmp_path / "d.json"
    r = run_cli("repo", "diff", str(ref), str(cand), "--format", "json", "-o", str(out))
    (line,) = [x for x in r.stderr.splitlines() if "filelists unreadable" in x]
    assert filelists.name in line
    doc = json.loads(out.read_text())
    assert doc["summary"]["identical"] == 2 and len(doc["filelists_errors"]) == 1
