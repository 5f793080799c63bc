"""Real dist-git trees debranded with configs in all three formats.

The native and autopatch configs give the same tree. The srpmproc patch repositories give
the tree srpmproc writes (its spec_change re-aligns every field line), held as hand-checked
golden diffs against the upstream tree (``data/srpmproc-golden/*.diff``), applied with patch.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from patchkit import DATA, copy_tree, fixed_date, snapshot  # noqa: F401 (autouse fixture)

from elforge.patching import apply_config
from helpers import require_tool


def _git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t", *args],
        check=True,
        capture_output=True,
    )


def srpmproc_repo(tmp: Path) -> Path:
    """A patch repository like srpmproc's: main holds the common cfg, the r9 branch (its
    own history) the release-specific one; srpmproc applies main's, then r9's."""
    repo = tmp / "patch-bash"
    shutil.copytree(DATA / "srpmproc/bash-main", repo)
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "main")
    _git(repo, "checkout", "-q", "--orphan", "r9")
    _git(repo, "rm", "-rqf", ".")
    shutil.copytree(DATA / "srpmproc/bash-r9", repo, dirs_exist_ok=True)
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "r9")
    _git(repo, "checkout", "-q", "main")
    return repo


def golden(upstream: Path, name: str, dest: Path) -> dict[str, str]:
    """The upstream tree with the golden diff applied by patch(1): srpmproc's result."""
    require_tool("patch")
    tree = copy_tree(upstream, dest)
    diff = DATA / "srpmproc-golden" / f"{name}.diff"
    subprocess.run(["patch", "-s", "-p1", "-E", "-i", str(diff)], cwd=tree, check=True)
    return snapshot(tree)


def _apply(tree: Path, cfg: Path, release: str | None = None) -> dict[str, str]:
    outcome = apply_config(tree, cfg, apply_check=False, release=release)
    assert outcome.status == "patched", outcome.to_json()["diagnostics"]
    assert all(a.ok for a in outcome.actions)
    return snapshot(tree)


@pytest.mark.system
def test_centos_release_in_three_formats(testdata: Path, tmp_path: Path) -> None:
    src = testdata / "distgit/centos-release-c8"
    trees = {f: copy_tree(src, tmp_path / f) for f in ("elforge", "autopatch", "srpmproc")}
    native = _apply(trees["elforge"], DATA / "elforge")
    assert _apply(trees["autopatch"], DATA / "autopatch/centos-release") == native
    assert _apply(trees["srpmproc"], DATA / "srpmproc/centos-release") == golden(
        src, "centos-release", tmp_path / "golden"
    )
    spec = native["SPECS/centos-release.spec"]
    assert "%define product_family Example Linux\n" in spec
    assert "Release:        %{centos_rel}.0.5%{?dist}.exl.1\n" in spec
    assert "Source11:" not in spec and "Source308:      RPM-GPG-KEY-example\n" in spec
    assert "install -m 644 %{SOURCE308} %{buildroot}/etc/pki/rpm-gpg\n" in spec
    assert (
        "%changelog\n* Tue Nov 14 2023 Example Rebuild <release@example.invalid>"
        " - 8.0-0.1905.0.5.el8.exl.1\n- Debrand for Example Linux\n\n* Wed May  8 2019" in spec
    )
    assert "SOURCES/RPM-GPG-KEY-centostesting" not in native
    assert "mirrorlist.centos.org" not in native["SOURCES/CentOS-Base.repo"]
    # nothing else changed
    upstream = snapshot(src)
    changed = {k for k in upstream if upstream[k] != native.get(k)}
    assert changed == {
        "SPECS/centos-release.spec",
        "SOURCES/CentOS-Base.repo",
        "SOURCES/CentOS-Extras.repo",
        "SOURCES/CentOS-fasttrack.repo",
        "SOURCES/RPM-GPG-KEY-centostesting",
    }


@pytest.mark.system
@pytest.mark.parametrize(
    ("el", "release", "patch_tag"),
    [("el8", "8", "Patch140: bash-exl-bugreport.patch"),
     ("el9", "9", "Patch131: bash-exl-bugreport.patch")],
)  # fmt: skip
def test_bash_in_three_formats(
    testdata: Path, tmp_path: Path, el: str, release: str, patch_tag: str
) -> None:
    src = testdata / f"distgit/openela-bash-{el}"
    trees = {f: copy_tree(src, tmp_path / f) for f in ("elforge", "autopatch", "srpmproc")}
    native = _apply(trees["elforge"], DATA / "elforge", release=el)
    assert _apply(trees["autopatch"], DATA / f"autopatch/bash-a{release}") == native
    repo = srpmproc_repo(tmp_path)
    assert _apply(trees["srpmproc"], repo, release=f"r{release}") == golden(
        src, f"bash-{el}", tmp_path / "golden"
    )
    spec = native["SPECS/bash.spec"]
    assert f"\n{patch_tag}\n" in spec
    assert "%{?dist}.exl.1\n" in spec
    assert native["SOURCES/bash-exl-bugreport.patch"].startswith("From: Example Rebuild")
    assert ("# upstream report rhbz#60870" in spec) == (el == "el9")
    assert "(#60870)" in spec  # the changelog is never touched by a native replace
