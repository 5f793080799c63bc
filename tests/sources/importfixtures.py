"""Helpers for the import tests: real git repositories, a real HTTP lookaside, workspaces.

The test data trees (OpenELA bash el8/el9, CentOS 8 centos-release) are read in place and
copied into tmp folders that become git repositories; the lookaside tarballs they name are
generated here (small tarballs), and their hashes are written into the metadata.
"""

from __future__ import annotations

import functools
import hashlib
import io
import os
import shutil
import subprocess
import tarfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from elforge.workspace.workspace import Workspace

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Upstream",
    "GIT_AUTHOR_EMAIL": "upstream@example.org",
    "GIT_COMMITTER_NAME": "Upstream",
    "GIT_COMMITTER_EMAIL": "upstream@example.org",
    "GIT_CONFIG_NOSYSTEM": "1",
    "HOME": "/nonexistent",
}


def git(*args: str, cwd: Path) -> str:
    env = {**os.environ, **GIT_ENV}
    return subprocess.run(
        ["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True
    ).stdout


def tarball(top: str, text: str) -> bytes:
    """A small, deterministic .tar.gz with one file."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz", format=tarfile.GNU_FORMAT) as tar:
        data = text.encode()
        info = tarfile.TarInfo(f"{top}/README")
        info.size, info.mtime, info.mode = len(data), 1_600_000_000, 0o644
        tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def digest(data: bytes, hashtype: str) -> str:
    return hashlib.new(hashtype, data).hexdigest()


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@dataclass
class Lookaside:
    """A folder served over HTTP on loopback, laid out like two real lookaside caches."""

    root: Path
    base: str
    requests: list[str] = field(default_factory=list)

    @property
    def templates(self) -> list[str]:
        # git.centos.org style first, then CentOS Stream style
        return [
            f"{self.base}/centos/{{name}}/{{branch}}/{{hash}}",
            f"{self.base}/stream/{{name}}/{{filename}}/{{hashtype}}/{{hash}}/{{filename}}",
        ]

    def add(self, name: str, branch: str, filename: str, data: bytes, hashtype: str) -> str:
        """Publish ``data``; return its hash. Stream layout only, so the first template 404s."""
        h = digest(data, hashtype)
        path = self.root / "stream" / name / filename / hashtype / h / filename
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return h

    def add_centos(self, name: str, branch: str, data: bytes, hashtype: str) -> str:
        h = digest(data, hashtype)
        path = self.root / "centos" / name / branch / h
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return h


def serve(tmp_path: Path) -> Iterator[Lookaside]:
    root = tmp_path / "lookaside-server"
    root.mkdir()
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Lookaside(root, f"http://127.0.0.1:{server.server_address[1]}")
    finally:
        server.shutdown()
        server.server_close()


def commit_all(repo: Path, message: str) -> str:
    git("add", "-A", ".", cwd=repo)
    git("commit", "-q", "-m", message, cwd=repo)
    return git("rev-parse", "HEAD", cwd=repo).strip()


def exploded_repo(
    src: Path, dest: Path, *, name: str, branch: str, blobs: dict[str, str]
) -> tuple[Path, str]:
    """Copy an exploded tree into a new git repository, metadata rewritten with ``blobs``
    (file name -> hash). Returns the repository and its commit."""
    shutil.copytree(src, dest)
    for p in [dest, *dest.rglob("*")]:
        p.chmod(0o755 if p.is_dir() else 0o644)
    meta = dest / f".{name}.metadata"
    meta.write_text("".join(f"{h} SOURCES/{f}\n" for f, h in blobs.items()))
    git("init", "-q", "-b", branch, str(dest), cwd=dest.parent)
    return dest, commit_all(dest, "import")


def distgit_repo(src: Path, dest: Path, *, branch: str, sources_text: str) -> tuple[Path, str]:
    """Turn an exploded tree into the dist-git layout (spec and patches at the root)."""
    dest.mkdir(parents=True)
    for p in sorted((src / "SPECS").iterdir()):
        shutil.copyfile(p, dest / p.name)
    for p in sorted((src / "SOURCES").iterdir()):
        shutil.copyfile(p, dest / p.name)
    (dest / "sources").write_text(sources_text)
    (dest / "gating.yaml").write_text("--- !Policy\n")
    (dest / "tests").mkdir()
    (dest / "tests" / "tests.yml").write_text("- hosts: localhost\n")
    git("init", "-q", "-b", branch, str(dest), cwd=dest.parent)
    return dest, commit_all(dest, "dist-git import")


def write_config(ws: Workspace, extra: str) -> Workspace:
    cfg = ws.root / "elforge.toml"
    cfg.write_text(cfg.read_text() + extra)
    return Workspace.open(ws.root)


def mirror_state(ws: Workspace) -> tuple[list[str], list[str]]:
    """What the mirror and blob store hold, ignoring empty scratch folders."""
    git_entries = sorted(p.name for p in ws.git_dir.iterdir()) if ws.git_dir.exists() else []
    blobs = (
        sorted(
            str(p.relative_to(ws.lookaside_dir)) for p in ws.lookaside_dir.rglob("*") if p.is_file()
        )
        if ws.lookaside_dir.exists()
        else []
    )
    return git_entries, blobs
