"""`elforge patch` over git work trees: the patched branch, changed/ tags, commit messages."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from patchkit import DATA, config, copy_tree, demo_spec, fixed_date, write_tree  # noqa: F401

from helpers import run_cli


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=up", "-c", "user.email=up@example.invalid",
         *args],
        check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip


def upstream_repo(src: Path, dest: Path, branch: str) -> Path:
    copy_tree(src, dest)
    git(dest, "init", "-q", "-b", branch)
    git(dest, "add", "-A")
    git(dest, "commit", "-qm", "import upstream")
    return dest


@pytest.mark.system
def test_patch_commits_branch_and_tags(testdata: Path, tmp_path: Path) -> None:
    repo = upstream_repo(
        testdata / "distgit/centos-release-c8", tmp_path / "pkgs/centos-release", "c8"
    )
    upstream = git(repo, "rev-parse", "HEAD")
    args = ["patch", "--packages", str(tmp_path / "pkgs"), "--configs", str(DATA / "elforge"),
            "--branch", "a8", "--upstream", "c8", "--no-apply-check", "-f", "json"]  # fmt: skip
    r = run_cli(*args)
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["packages"][0]["status"] == "patched"
    tag = "changed/a8/centos-release-8.0-0.1905.0.5.el8.exl.1"
    assert git(repo, "tag", "--list", "changed/*") == tag
    assert git(repo, "rev-parse", "a8^@") == upstream  # parent: the upstream commit
    message = git(repo, "log", "-1", "--format=%B", "a8")
    assert "Changelog:\n- Debrand for Example Linux" in message
    assert "- remove_source [certificates]: the reference's testing key is not ours" in message
    assert f"Upstream: {upstream}" in message
    assert git(repo, "cat-file", "-p", tag).count("Debrand for Example Linux") == 1
    spec = git(repo, "show", "a8:SPECS/centos-release.spec")
    assert "%define product_family Example Linux" in spec
    # the upstream checkout is untouched
    assert git(repo, "rev-parse", "--abbrev-ref", "HEAD") == "c8"
    assert git(repo, "status", "--porcelain") == ""
    assert git(repo, "worktree", "list").count("\n") == 0

    # a rerun without upstream changes commits nothing
    first = git(repo, "rev-parse", "a8")
    assert run_cli(*args).exit_code == 0
    assert git(repo, "rev-parse", "a8") == first

    # a new upstream commit: merged history (previous patched commit, new upstream)
    (repo / "SOURCES/EULA").write_text("new upstream EULA\n")
    git(repo, "commit", "-qam", "upstream update")
    new_upstream = git(repo, "rev-parse", "HEAD")
    assert run_cli(*args).exit_code == 0
    assert git(repo, "rev-parse", "a8^@").split() == [first, new_upstream]


@pytest.mark.system
def test_auto_increment_from_tags(tmp_path: Path) -> None:
    files = {"demo.spec": demo_spec(), "demo.conf": "v=1\n", "fix.patch": "x\n"}
    repo = tmp_path / "pkgs/demo"
    write_tree(repo, files)
    git(repo, "init", "-q", "-b", "c9")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "up")
    config(
        tmp_path / "cfg/demo.yaml",
        "actions:\n  - action: release_suffix\n    suffix: .exl\n"
        "    reason: {category: branding, text: mark}\n",
    )
    args = ["patch", "--packages", str(tmp_path / "pkgs"), "--configs", str(tmp_path / "cfg"),
            "--branch", "a9", "--upstream", "c9", "--no-apply-check"]  # fmt: skip
    assert run_cli(*args).exit_code == 0
    (repo / "demo.conf").write_text("v=2\n")  # same version-release upstream, new content
    git(repo, "commit", "-qam", "up2")
    assert run_cli(*args).exit_code == 0
    assert git(repo, "tag", "--list").split() == [
        "changed/a9/demo-1.0-3.exl.1",
        "changed/a9/demo-1.0-3.exl.2",
    ]


@pytest.mark.system
def test_workspace_defaults(
    testdata: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = tmp_path / "ws"
    assert run_cli("init", str(ws)).exit_code == 0
    with (ws / "elforge.toml").open("a") as fh:
        fh.write('\n[patch]\nconfigs = "configs"\n')
    copy_tree(DATA / "elforge", ws / "configs")
    repo = upstream_repo(testdata / "distgit/centos-release-c8", ws / "git/centos-release", "c9")
    monkeypatch.chdir(ws)
    # a folder of git work trees in a workspace: configs, branch and dist from elforge.toml
    r = run_cli("patch", "--packages", "git", "--no-apply-check", "-f", "json")
    assert r.exit_code == 0, r.stderr
    package = json.loads(r.stdout)["packages"][0]
    assert package["status"] == "patched"
    assert package["upstream"].startswith("centos-release-8.0-0.1905.0.5.el8 (")
    # the workspace's patched branch (a9) and the spec's own dist (.el8)
    assert git(repo, "tag", "--list") == "changed/a9/centos-release-8.0-0.1905.0.5.el8.exl.1"
    saved = tmp_path / "report.json"
    saved.write_text(r.stdout)
    md = run_cli("patch", "ledger", str(saved)).stdout
    assert "| centos-release | centos-release-8.0-0.1905.0.5.el8 (" in md
