"""End to end: real git repositories (file:// remotes), a real HTTP lookaside, the real store."""

from __future__ import annotations

import json
import shutil
import tarfile
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

from elforge.sources.importer import (
    ImportOptions,
    checkout_tree,
    import_package,
    import_packages,
)
from elforge.sources.provenance import latest
from elforge.store.db import open_store
from elforge.workspace.config import PackageEntry
from elforge.workspace.workspace import Workspace
from helpers import require_tool, run_cli

pytestmark = [pytest.mark.system, pytest.mark.slow]


@pytest.fixture(autouse=True)
def _tools() -> None:
    require_tool("git", "rpmspec")


@pytest.fixture
def lookaside(tmp_path: Path) -> Iterator[Lookaside]:
    """A real HTTP server on loopback (port 0) serving generated lookaside blobs."""
    yield from serve(tmp_path)


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    return Workspace.init(tmp_path / "ws")


def _bash_el9(testdata: Path, tmp_path: Path, lookaside: Lookaside) -> tuple[str, str, bytes]:
    data = tarball("bash-5.1", "bash 5.1 stand-in\n")
    h = lookaside.add("bash", "c9", "bash-5.1.tar.gz", data, "sha256")
    repo, commit = exploded_repo(
        testdata / "distgit/openela-bash-el9", tmp_path / "up/bash-el9", name="bash",
        branch="c9", blobs={"bash-5.1.tar.gz": h},
    )  # fmt: skip
    return repo.as_uri(), commit, data


def test_exploded_el9_through_git_and_http(
    testdata: Path, tmp_path: Path, lookaside: Lookaside, workspace: Workspace
) -> None:
    url, commit, data = _bash_el9(testdata, tmp_path, lookaside)
    entry = PackageEntry(name="bash", url=url, branch="c9")
    opts = ImportOptions(lookaside=tuple(lookaside.templates))
    r = import_package(workspace, entry, options=opts)
    assert r.status == "imported", r.error
    assert r.nvr == "bash-5.1.8-6.el9" and r.tag == "imports/c9/bash-5.1.8-6.el9"
    assert r.upstream_commit == commit and r.layout == "exploded"
    (tar,) = [s for s in r.sources if s.kind == "lookaside"]
    assert tar.file == "SOURCES/bash-5.1.tar.gz" and tar.hashtype == "sha256"
    # the first template (git.centos.org style) 404s; the Stream-style one served it
    assert tar.origin.startswith(f"{lookaside.base}/stream/bash/bash-5.1.tar.gz/sha256/")
    spec = next(s for s in r.sources if s.file == "SPECS/bash.spec")
    assert spec.kind == "git" and spec.origin == f"{url}@{commit}#SPECS/bash.spec"

    # mirror: bare repo, import branch, tag at the branch tip, normalised tree
    mirror = workspace.git_dir / "bash.git"
    assert git("--git-dir", str(mirror), "rev-parse", "refs/heads/c9", cwd=tmp_path) == git(
        "--git-dir", str(mirror), "rev-parse", f"refs/tags/{r.tag}", cwd=tmp_path
    )
    files = git("--git-dir", str(mirror), "ls-tree", "-r", "--name-only", "c9", cwd=tmp_path)
    expected = {"SPECS/bash.spec", ".bash.metadata", ".elforge/import.json",
                ".elforge/upstream/.bash.metadata", "SOURCES/dot-bashrc"}  # fmt: skip
    assert expected <= set(files.split())
    assert "SOURCES/bash-5.1.tar.gz" not in files.split()
    # blob store: content addressed
    blob = workspace.lookaside_dir / "sha256" / tar.hash
    assert blob.read_bytes() == data

    # provenance row
    store = open_store(workspace.store_url)
    row = latest(store, "bash", "c9")
    store.close()
    assert row is not None and row.upstream_commit == commit and row.tag == r.tag
    assert row.layout == "exploded" and row.mirror_commit == r.mirror_commit
    assert any(s["origin"] == tar.origin for s in row.sources)

    # rerun: a no-op
    again = import_package(workspace, entry, options=opts)
    assert again.status == "unchanged" and again.tag == r.tag and again.nvr == r.nvr
    assert again.sources == r.sources

    # work folder for the patch and build stages
    dest = checkout_tree(workspace, "bash", "c9", tmp_path / "work")
    assert (dest / "SOURCES/bash-5.1.tar.gz").read_bytes() == data
    assert (dest / "SPECS/bash.spec").read_bytes() == (
        testdata / "distgit/openela-bash-el9/SPECS/bash.spec"
    ).read_bytes()
    with tarfile.open(dest / "SOURCES/bash-5.1.tar.gz") as t:
        assert t.getnames() == ["bash-5.1/README"]


def test_upstream_update_makes_a_new_import(
    testdata: Path, tmp_path: Path, lookaside: Lookaside, workspace: Workspace
) -> None:
    url, _, _ = _bash_el9(testdata, tmp_path, lookaside)
    entry = PackageEntry(name="bash", url=url, branch="c9")
    opts = ImportOptions(lookaside=tuple(lookaside.templates))
    first = import_package(workspace, entry, options=opts)
    assert first.status == "imported"
    repo = tmp_path / "up/bash-el9"
    spec = repo / "SPECS/bash.spec"
    spec.write_text(spec.read_text().replace("Release: 6%{?dist}", "Release: 7%{?dist}"))
    commit_all(repo, "bump release")
    second = import_package(workspace, entry, options=opts)
    assert second.status == "imported" and second.nvr == "bash-5.1.8-7.el9"
    mirror = str(workspace.git_dir / "bash.git")
    parent = git("--git-dir", mirror, "rev-parse", "c9^", cwd=tmp_path).strip()
    assert parent == first.mirror_commit
    # the reused blob was verified, and keeps the origin it was first fetched from
    (tar,) = [s for s in second.sources if s.kind == "lookaside"]
    assert tar.origin.startswith(lookaside.base)
    # an upstream commit that does not change the tree is not a new import
    (repo / ".gitignore").write_text("x\n")
    commit_all(repo, "tooling only")
    third = import_package(workspace, entry, options=opts)
    assert third.status == "unchanged" and third.mirror_commit == second.mirror_commit


def test_cli_import_all_distgit_both_forms_and_centos_release(
    testdata: Path, tmp_path: Path, lookaside: Lookaside, workspace: Workspace
) -> None:
    el8_data = tarball("bash-4.4", "bash 4.4 stand-in\n")
    el9_data = tarball("bash-5.1", "bash 5.1 stand-in\n")
    md5 = lookaside.add_centos("bash8", "c8", el8_data, "md5")
    sha512 = lookaside.add("bash9", "c9", "bash-5.1.tar.gz", el9_data, "sha512")
    dg8, _ = distgit_repo(testdata / "distgit/openela-bash-el8", tmp_path / "up/bash8",
                          branch="c8", sources_text=f"{md5}  bash-4.4.tar.gz\n")  # fmt: skip
    dg9, _ = distgit_repo(
        testdata / "distgit/openela-bash-el9", tmp_path / "up/bash9", branch="c9",
        sources_text=f"SHA512 (bash-5.1.tar.gz) = {sha512}\n",
    )  # fmt: skip
    rel, _ = exploded_repo(testdata / "distgit/centos-release-c8", tmp_path / "up/centos-release",
                           name="centos-release", branch="c8", blobs={})  # fmt: skip
    templates = json.dumps(lookaside.templates)
    ws = write_config(
        workspace,
        f"""
[[packages]]
name = "bash8"
url = "{dg8.as_uri()}"
branch = "c8"

[[packages]]
name = "bash9"
url = "{dg9.as_uri()}"
layout = "distgit"

[[packages]]
name = "centos-release"
url = "{rel.as_uri()}"
branch = "c8"
""",
    )
    cfg = ws.root / "elforge.toml"
    cfg.write_text(cfg.read_text().replace("lookaside = []", f"lookaside = {templates}"))

    r = run_cli("import", "--all", "--jobs", "2", "-w", str(ws.root), "--format", "json")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["schema"] == "elforge.import/1"
    assert doc["summary"] == {"imported": 3, "unchanged": 0, "failed": 0}
    by_name = {p["package"]: p for p in doc["packages"]}
    assert by_name["bash8"]["nvr"] == "bash-4.4.20-4.el9"  # the workspace's dist tag
    assert by_name["bash8"]["layout"] == "distgit" and by_name["bash9"]["branch"] == "c9"
    assert by_name["centos-release"]["tag"].startswith("imports/c8/centos-release-8.0-")
    for p in doc["packages"]:
        assert set(p) >= {"package", "nvr", "upstream", "tag", "sources", "status"}
        assert set(p["upstream"]) >= {"url", "commit"}
        for s in p["sources"]:
            assert set(s) >= {"file", "hashtype", "hash", "origin"}
    lk8 = [s for s in by_name["bash8"]["sources"] if s["kind"] == "lookaside"]
    origin = f"{lookaside.base}/centos/bash8/c8/{md5}"
    assert lk8 == [{"file": "SOURCES/bash-4.4.tar.gz", "hashtype": "md5", "hash": md5,
                    "origin": origin, "kind": "lookaside"}]  # fmt: skip
    assert (ws.lookaside_dir / "sha512" / sha512).read_bytes() == el9_data
    # dist-git normalised: spec under SPECS/, patches under SOURCES/, CI files left out,
    # the original sources file kept
    mirror = str(ws.git_dir / "bash9.git")
    listing = git("--git-dir", mirror, "ls-tree", "-r", "--name-only", "c9", cwd=tmp_path)
    files = set(listing.split())
    assert {"SPECS/bash.spec", "SOURCES/bash-5.1-patch-1.patch", ".bash9.metadata",
            ".elforge/upstream/sources"} <= files  # fmt: skip
    assert not {"gating.yaml", "tests/tests.yml", "sources", "SOURCES/sources"} & files
    meta = git("--git-dir", mirror, "show", "c9:.bash9.metadata", cwd=tmp_path)
    assert meta == f"{sha512} SOURCES/bash-5.1.tar.gz\n"

    again = run_cli("import", "--all", "-w", str(ws.root), "--format", "json")
    assert again.exit_code == 0, again.stderr
    assert json.loads(again.stdout)["summary"] == {"imported": 0, "unchanged": 3, "failed": 0}

    # one package by name from the config, text output
    one = run_cli("import", "bash8", "-w", str(ws.root))
    assert one.exit_code == 0 and "unchanged" in one.stdout

    # --since: an upstream change older than the date is left alone
    spec = dg9 / "bash.spec"
    spec.write_text(spec.read_text().replace("Release: 6%{?dist}", "Release: 7%{?dist}"))
    commit_all(dg9, "bump")
    git_before, blobs_before = mirror_state(ws)
    tip_before = git("--git-dir", mirror, "rev-parse", "c9", cwd=tmp_path)
    later = run_cli("import", "bash9", "--since", "2999-01-01", "-w", str(ws.root),
                    "--format", "json")  # fmt: skip
    assert later.exit_code == 0
    (pkg,) = json.loads(later.stdout)["packages"]
    assert pkg["status"] == "unchanged" and "since 2999-01-01" in pkg["note"]
    assert mirror_state(ws) == (git_before, blobs_before)
    assert git("--git-dir", mirror, "rev-parse", "c9", cwd=tmp_path) == tip_before
    now = run_cli("import", "bash9", "--since", "2000-01-01", "-w", str(ws.root), "-f", "json")
    assert json.loads(now.stdout)["packages"][0]["nvr"] == "bash-5.1.8-7.el9"


def test_git_remote_over_http(
    testdata: Path, tmp_path: Path, lookaside: Lookaside, workspace: Workspace
) -> None:
    """A git remote served over HTTP (the dumb protocol: no shallow fetch, so the importer
    falls back to fetching the branches) next to the lookaside on the same server."""
    _, commit, data = _bash_el9(testdata, tmp_path, lookaside)
    bare = lookaside.root / "git" / "bash.git"
    git("clone", "-q", "--bare", str(tmp_path / "up/bash-el9"), str(bare), cwd=tmp_path)
    git("update-server-info", cwd=bare)
    url = f"{lookaside.base}/git/bash.git"
    entry = PackageEntry(name="bash", url=url, branch="c9")
    r = import_package(
        workspace, entry, options=ImportOptions(lookaside=tuple(lookaside.templates))
    )
    assert r.status == "imported", r.error
    assert r.upstream_commit == commit and r.nvr == "bash-5.1.8-6.el9"
    spec = next(s for s in r.sources if s.file == "SPECS/bash.spec")
    assert spec.origin == f"{url}@{commit}#SPECS/bash.spec"
    dest = checkout_tree(workspace, "bash", "c9", tmp_path / "work")
    assert (dest / "SOURCES/bash-5.1.tar.gz").read_bytes() == data


class _Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, object]] = []

    def start(self, description: str, total: int | None) -> None:
        self.events.append(("start", total))

    def advance(self, amount: int = 1, *, note: str = "") -> None:
        self.events.append(("advance", note))

    def finish(self) -> None:
        self.events.append(("finish", None))


def test_parallel_import_reports_progress_and_keeps_order(
    testdata: Path, tmp_path: Path, lookaside: Lookaside, workspace: Workspace
) -> None:
    url, _, _ = _bash_el9(testdata, tmp_path, lookaside)
    rel, _ = exploded_repo(testdata / "distgit/centos-release-c8", tmp_path / "up/cr",
                           name="centos-release", branch="c8", blobs={})  # fmt: skip
    entries = [
        PackageEntry(name="bash", url=url, branch="c9"),
        PackageEntry(name="centos-release", url=rel.as_uri(), branch="c8"),
        PackageEntry(name="broken", url=(tmp_path / "missing").as_uri(), branch="c8"),
        PackageEntry(name="bash", url=url, branch="c9"),  # the same package twice: serialised
    ]
    bar = _Recorder()
    results = import_packages(
        workspace, entries, options=ImportOptions(lookaside=tuple(lookaside.templates)),
        jobs=3, progress=bar,
    )  # fmt: skip
    assert [r.package for r in results] == ["bash", "centos-release", "broken", "bash"]
    assert sorted(r.status for r in (results[0], results[3])) == ["imported", "unchanged"]
    assert results[1].status == "imported" and results[2].status == "failed"
    assert bar.events[0] == ("start", 4) and bar.events[-1] == ("finish", None)
    assert sum(1 for e in bar.events if e[0] == "advance") == 4


def test_same_content_under_two_names(
    testdata: Path, tmp_path: Path, lookaside: Lookaside, workspace: Workspace
) -> None:
    data = tarball("bash-5.1", "same bytes\n")
    h = lookaside.add("bash", "c9", "bash-5.1.tar.gz", data, "sha256")
    lookaside.add("bash", "c9", "copy.tar.gz", data, "sha256")
    repo, _ = exploded_repo(
        testdata / "distgit/openela-bash-el9", tmp_path / "up", name="bash", branch="c9",
        blobs={"bash-5.1.tar.gz": h, "copy.tar.gz": h},
    )  # fmt: skip
    entry = PackageEntry(name="bash", url=repo.as_uri(), branch="c9")
    r = import_package(
        workspace, entry, options=ImportOptions(lookaside=tuple(lookaside.templates)), jobs=2
    )
    assert r.status == "imported", r.error
    dest = checkout_tree(workspace, "bash", "c9", tmp_path / "work")
    assert (
        (dest / "SOURCES/copy.tar.gz").read_bytes()
        == data
        == (dest / "SOURCES/bash-5.1.tar.gz").read_bytes()
    )


def test_content_is_byte_exact_whatever_the_git_config(
    testdata: Path, tmp_path: Path, lookaside: Lookaside, workspace: Workspace,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    src = tmp_path / "src"
    shutil.copytree(testdata / "distgit/centos-release-c8", src)
    for p in [src, *src.rglob("*")]:
        p.chmod(0o755 if p.is_dir() else 0o644)
    (src / "SOURCES/dos.patch").write_bytes(b"--- a\r\n+++ b\r\n")
    repo, _ = exploded_repo(src, tmp_path / "up", name="centos-release", branch="c8", blobs={})
    # committed after the files, so upstream's blobs stay as they are: a checkout would
    # turn every LF file into CRLF
    (repo / "SOURCES/.gitattributes").write_text("* text eol=crlf\n")
    git("add", "SOURCES/.gitattributes", cwd=repo)
    git("commit", "-q", "-m", "attributes", cwd=repo)
    hostile = tmp_path / "gitconfig"
    hostile.write_text("[core]\n\tautocrlf = true\n[commit]\n\tgpgsign = true\n")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(hostile))
    entry = PackageEntry(name="centos-release", url=repo.as_uri(), branch="c8")
    r = import_package(workspace, entry, options=ImportOptions(lookaside=()))
    assert r.status == "imported", r.error
    dest = checkout_tree(workspace, "centos-release", "c8", tmp_path / "work")
    assert (dest / "SOURCES/dos.patch").read_bytes() == b"--- a\r\n+++ b\r\n"
    assert (dest / "SOURCES/GPL").read_bytes() == (src / "SOURCES/GPL").read_bytes()
    assert not (dest / "SOURCES/.gitattributes").exists()
