"""Bad input is refused with one clear error naming the package and the file, and nothing
half-written is left in the mirror or the blob store."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from importfixtures import (
    Lookaside,
    commit_all,
    distgit_repo,
    exploded_repo,
    git,
    mirror_state,
    serve,
    tarball,
    write_config,
)

from elforge.errors import ChecksumError
from elforge.sources.blobstore import BlobStore
from elforge.sources.importer import ImportOptions, checkout_tree, import_package
from elforge.sources.metadata import SourceEntry
from elforge.workspace.config import PackageEntry
from elforge.workspace.workspace import Workspace
from helpers import require_tool, run_cli

pytestmark = [pytest.mark.system]


@pytest.fixture(autouse=True)
def _tools() -> None:
    require_tool("git", "rpmspec", "rpmkeys")


@pytest.fixture
def lookaside(tmp_path: Path) -> Iterator[Lookaside]:
    yield from serve(tmp_path)


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    return Workspace.init(tmp_path / "ws")


def _assert_nothing_written(ws: Workspace) -> None:
    git_entries, blobs = mirror_state(ws)
    assert git_entries == [] and blobs == [], (git_entries, blobs)


def _import(ws: Workspace, url: str, lookaside: Lookaside, **kw: str) -> str:
    entry = PackageEntry(name=kw.pop("name", "bash"), url=url, branch=kw.pop("branch", "c9"), **kw)
    r = import_package(ws, entry, options=ImportOptions(lookaside=tuple(lookaside.templates)))
    assert r.status == "failed" and r.error
    return r.error


def test_hash_mismatch(
    testdata: Path, tmp_path: Path, lookaside: Lookaside, workspace: Workspace
) -> None:
    real = lookaside.add("bash", "c9", "bash-5.1.tar.gz", tarball("bash-5.1", "x"), "sha256")
    # the server holds other bytes under the promised hash's URL
    served = lookaside.root / "stream/bash/bash-5.1.tar.gz/sha256" / real / "bash-5.1.tar.gz"
    wrong = "0" * 63 + "1"
    target = served.parents[1] / wrong / "bash-5.1.tar.gz"
    target.parent.mkdir()
    served.rename(target)
    repo, _ = exploded_repo(testdata / "distgit/openela-bash-el9", tmp_path / "up", name="bash",
                            branch="c9", blobs={"bash-5.1.tar.gz": wrong})  # fmt: skip
    error = _import(workspace, repo.as_uri(), lookaside)
    assert error.startswith("bash: bash-5.1.tar.gz: ")
    assert f"sha256 is {real}, expected {wrong}" in error
    _assert_nothing_written(workspace)


def test_missing_blob_404(
    testdata: Path, tmp_path: Path, lookaside: Lookaside, workspace: Workspace
) -> None:
    repo, _ = exploded_repo(testdata / "distgit/openela-bash-el9", tmp_path / "up", name="bash",
                            branch="c9", blobs={"bash-5.1.tar.gz": "a" * 64})  # fmt: skip
    error = _import(workspace, repo.as_uri(), lookaside)
    assert error.startswith("bash: bash-5.1.tar.gz: ") and "HTTP 404" in error
    assert error.count("HTTP 404") == 2  # both templates were tried
    _assert_nothing_written(workspace)


def test_partial_failure_keeps_no_blobs(
    testdata: Path, tmp_path: Path, lookaside: Lookaside, workspace: Workspace
) -> None:
    """One blob downloads fine, the next is missing: the good one is not kept either."""
    good = lookaside.add("bash", "c9", "bash-5.1.tar.gz", tarball("bash-5.1", "x"), "sha256")
    repo, _ = exploded_repo(
        testdata / "distgit/openela-bash-el9", tmp_path / "up", name="bash", branch="c9",
        blobs={"bash-5.1.tar.gz": good, "zzz-missing.tar.gz": "b" * 64},
    )  # fmt: skip
    error = _import(workspace, repo.as_uri(), lookaside)
    assert "zzz-missing.tar.gz" in error
    _assert_nothing_written(workspace)


@pytest.mark.parametrize("name", ["../bash-5.1.tar.gz", "sub/bash-5.1.tar.gz"])
def test_sources_line_with_path(
    name: str, testdata: Path, tmp_path: Path, lookaside: Lookaside, workspace: Workspace
) -> None:
    repo, _ = distgit_repo(testdata / "distgit/openela-bash-el9", tmp_path / "up", branch="c9",
                           sources_text=f"SHA512 ({name}) = {'c' * 128}\n")  # fmt: skip
    error = _import(workspace, repo.as_uri(), lookaside)
    assert error == f"bash: sources: line 1: unsafe file name {name!r}"
    _assert_nothing_written(workspace)


def test_malformed_metadata_line(
    testdata: Path, tmp_path: Path, lookaside: Lookaside, workspace: Workspace
) -> None:
    repo, _ = exploded_repo(testdata / "distgit/openela-bash-el9", tmp_path / "up", name="bash",
                            branch="c9", blobs={})  # fmt: skip
    (repo / ".bash.metadata").write_text(f"{'a' * 64} SOURCES/ok.tar.gz\nnot-a-hash\n")
    commit_all(repo, "broken metadata")
    error = _import(workspace, repo.as_uri(), lookaside)
    assert error.startswith("bash: .bash.metadata: line 2: expected 'HASH SOURCES/FILE'")
    _assert_nothing_written(workspace)


def test_unreachable_remotes(tmp_path: Path, lookaside: Lookaside, workspace: Workspace) -> None:
    error = _import(workspace, (tmp_path / "no-such-repo").as_uri(), lookaside)
    assert error.startswith("bash: git ls-remote failed")
    error = _import(workspace, "http://127.0.0.1:9/rpms/bash.git", lookaside)
    assert error.startswith("bash: git ls-remote failed")
    _assert_nothing_written(workspace)


def test_missing_branch(
    testdata: Path, tmp_path: Path, lookaside: Lookaside, workspace: Workspace
) -> None:
    repo, _ = exploded_repo(testdata / "distgit/openela-bash-el9", tmp_path / "up", name="bash",
                            branch="c9", blobs={})  # fmt: skip
    error = _import(workspace, repo.as_uri(), lookaside, branch="c10s")
    assert error == f"bash: {repo.as_uri()}: no branch or tag 'c10s'"
    _assert_nothing_written(workspace)


def test_wrong_signature_refused(
    testdata: Path, workspace: Workspace, lookaside: Lookaside
) -> None:
    """An RPM signed by AlmaLinux's key, with only CentOS's key configured."""
    centos_key = testdata / "distgit/centos-release-c8/SOURCES/RPM-GPG-KEY-centosofficial"
    ws = write_config(workspace, "")
    cfg = ws.root / "elforge.toml"
    cfg.write_text(cfg.read_text().replace("lookaside = []", f'keys = ["{centos_key}"]'))
    ws = Workspace.open(ws.root)
    rpm = testdata / "rpms/signed/bash-5.1.8-9.el9.x86_64.rpm"
    error = _import(ws, str(rpm), lookaside)
    assert error == (
        "bash: bash-5.1.8-9.el9.x86_64.rpm: signature key ID b86b3716: "
        "signed by a key that is not configured"
    )
    _assert_nothing_written(ws)


def test_unsigned_srpm_refused(testdata: Path, workspace: Workspace, lookaside: Lookaside) -> None:
    rpm = testdata / "rpms/payload-variants/empty-0.1-1.x86_64.rpm"
    error = _import(workspace, str(rpm), lookaside, name="empty")
    assert error.startswith("empty: empty-0.1-1.x86_64.rpm: not signed")
    _assert_nothing_written(workspace)


def test_corrupted_store_blob_is_noticed(tmp_path: Path) -> None:
    store = BlobStore(tmp_path / "lookaside")
    entry = SourceEntry("f.tar.gz", "sha256", "a" * 64)
    store.path(entry).parent.mkdir(parents=True)
    store.path(entry).write_bytes(b"tampered")
    with pytest.raises(ChecksumError, match=r"stored blob .* for f\.tar\.gz"):
        store.verified(entry, subject="pkg: SOURCES/f.tar.gz")


def test_cli_failure_is_one_line_and_exit_1(
    testdata: Path, tmp_path: Path, lookaside: Lookaside, workspace: Workspace
) -> None:
    repo, _ = exploded_repo(testdata / "distgit/openela-bash-el9", tmp_path / "up", name="bash",
                            branch="c9", blobs={"bash-5.1.tar.gz": "a" * 64})  # fmt: skip
    r = run_cli("import", "bash", "--from", repo.as_uri(), "--branch", "c9",
                "--lookaside", lookaside.templates[0], "-w", str(workspace.root),
                "-f", "json")  # fmt: skip
    assert r.exit_code == 1
    errors = [ln for ln in r.stderr.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1 and errors[0].startswith("error: bash: bash-5.1.tar.gz: ")
    doc = json.loads(r.stdout)
    assert doc["packages"][0]["status"] == "failed"
    assert doc["packages"][0]["error"] == errors[0].removeprefix("error: ")
    _assert_nothing_written(workspace)


def test_checkout_of_unknown_package(workspace: Workspace, tmp_path: Path) -> None:
    with pytest.raises(Exception, match="not imported yet"):
        checkout_tree(workspace, "nope", "c9", tmp_path / "dest")


@pytest.mark.parametrize("name", ["../evil", "a/b", ".hidden", ""])
def test_bad_package_name(name: str, workspace: Workspace, lookaside: Lookaside) -> None:
    error = _import(workspace, "file:///nowhere", lookaside, name=name)
    assert error.endswith(": not a valid package name")
    _assert_nothing_written(workspace)


def test_tampered_store_blob_fails_the_next_import(
    testdata: Path, tmp_path: Path, lookaside: Lookaside, workspace: Workspace
) -> None:
    h = lookaside.add("bash", "c9", "bash-5.1.tar.gz", tarball("bash-5.1", "x"), "sha256")
    repo, _ = exploded_repo(testdata / "distgit/openela-bash-el9", tmp_path / "up", name="bash",
                            branch="c9", blobs={"bash-5.1.tar.gz": h})  # fmt: skip
    entry = PackageEntry(name="bash", url=repo.as_uri(), branch="c9")
    opts = ImportOptions(lookaside=tuple(lookaside.templates))
    first = import_package(workspace, entry, options=opts)
    assert first.status == "imported"
    blob = workspace.lookaside_dir / "sha256" / h
    blob.chmod(0o644)
    blob.write_bytes(b"tampered")
    spec = repo / "SPECS/bash.spec"
    spec.write_text(spec.read_text().replace("Release: 6%{?dist}", "Release: 7%{?dist}"))
    commit_all(repo, "bump")
    second = import_package(workspace, entry, options=opts)
    assert second.status == "failed"
    assert (second.error or "").startswith("bash: SOURCES/bash-5.1.tar.gz: stored blob ")
    mirror = str(workspace.git_dir / "bash.git")
    assert git("--git-dir", mirror, "rev-parse", "c9", cwd=tmp_path).strip() == first.mirror_commit
    with pytest.raises(ChecksumError):
        checkout_tree(workspace, "bash", "c9", tmp_path / "work")


def test_forced_layout_that_does_not_fit(
    testdata: Path, tmp_path: Path, lookaside: Lookaside, workspace: Workspace
) -> None:
    repo, _ = distgit_repo(testdata / "distgit/openela-bash-el9", tmp_path / "up", branch="c9",
                           sources_text="")  # fmt: skip
    error = _import(workspace, repo.as_uri(), lookaside, layout="exploded")
    assert error == "bash: no SPECS/ folder (is this really an exploded tree?)"
    _assert_nothing_written(workspace)


def test_cli_usage_and_config_errors(workspace: Workspace) -> None:
    r = run_cli("import", "bash", "-w", str(workspace.root))
    assert r.exit_code == 1 and "package 'bash' is not in [[packages]]; give --from URL" in r.stderr
    r = run_cli("import", "--all", "-w", str(workspace.root))
    assert r.exit_code == 1 and "no [[packages]] configured" in r.stderr
    r = run_cli("import", "bash", "--all", "-w", str(workspace.root))
    assert r.exit_code == 2
    r = run_cli("import", "bash", "--from", "file:///x", "--since", "yesterday",
                "-w", str(workspace.root))  # fmt: skip
    assert r.exit_code == 1 and "yesterday: not an ISO date" in r.stderr
    r = run_cli("import", "bash", "--from", "file:///x", "--lookaside", "https://x/{nmae}",
                "-w", str(workspace.root))  # fmt: skip
    assert r.exit_code == 1 and "unknown field(s) nmae" in r.stderr


def test_stale_staging_folders_are_swept(tmp_path: Path) -> None:
    store = BlobStore(tmp_path / "lookaside")
    old = store.staging_dir()
    (old / "half.tar.gz").write_bytes(b"partial")
    young = store.staging_dir()
    two_days_ago = time.time() - 2 * 24 * 3600
    os.utime(old, (two_days_ago, two_days_ago))
    store.staging_dir()
    assert not old.exists() and young.exists()
