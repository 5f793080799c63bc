"""Plain local folders as upstreams: the one rule for ``import`` and the pipeline's import.

A package URL that names a local folder (absolute, ``file://`` or workspace-relative) that
is not a git repository is taken as it is: copied into the workspace's content-addressed
``trees/NAME/import-<tree hash>``. ``elforge import`` and ``elforge run``'s import stage both
come here, so a folder that works in one works in the other.
"""

from __future__ import annotations

import shutil
import subprocess
import uuid
from pathlib import Path

from elforge.build.builders import find_spec
from elforge.build.hashing import tree_hash
from elforge.errors import ElforgeError, FormatError
from elforge.proc import run_command


def local_folder(url: str, workspace: Path) -> Path | None:
    """The folder ``url`` names, when it is a plain (non-git) local folder, else None."""
    if url.startswith(("http:", "https:", "ssh:", "git@")) or url.endswith(".git"):
        return None
    path = Path(url.removeprefix("file://"))
    path = path if path.is_absolute() else workspace / path
    return path if path.is_dir() and not (path / ".git").exists() else None


def place_tree(tmp: Path, dest: Path) -> None:
    """Move a finished tree into its content-addressed place (first writer wins)."""
    try:
        tmp.rename(dest)
    except OSError:
        if not dest.is_dir():
            raise
        shutil.rmtree(tmp, ignore_errors=True)  # the same content is already there


def scratch(workspace: Path, name: str) -> Path:
    """A fresh folder beside the package's trees; renamed into place when finished."""
    base = workspace / "trees" / name
    base.mkdir(parents=True, exist_ok=True)
    return base / f".tmp-{uuid.uuid4().hex}"


def copy_folder(workspace: Path, name: str, src: Path, digest: str | None = None) -> Path:
    """``src`` copied to ``trees/NAME/import-<tree hash>`` (kept when already there)."""
    digest = digest or tree_hash(src)
    dest = workspace / "trees" / name / f"import-{digest[:20]}"
    if dest.is_dir():
        return dest
    tmp = scratch(workspace, name)
    shutil.copytree(src, tmp, symlinks=True, ignore=shutil.ignore_patterns(".git"))
    if tree_hash(tmp) != digest:
        shutil.rmtree(tmp, ignore_errors=True)
        raise FormatError("changed while copying", subject=src)
    place_tree(tmp, dest)
    return dest


def tree_nvr(tree: Path, dist: str | None) -> str | None:
    """The NVR that ``rpmspec`` evaluates for the tree's spec, or None when it cannot."""
    try:
        layout = find_spec(tree)
    except ElforgeError:
        return None
    argv = ["rpmspec", "-q", "--srpm", "--qf", "%{NAME}-%{VERSION}-%{RELEASE}\n"]
    argv += ["--define", f"_sourcedir {layout.sourcedir}"]
    if dist is not None:
        argv += ["--define", f"dist {dist}"]
    try:
        proc = run_command([*argv, str(layout.spec)], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    lines = proc.stdout.split()
    return lines[0] if proc.returncode == 0 and lines else None
