"""What the stages share: atomic placement of trees and files, and the spec's NVR."""

from __future__ import annotations

import shutil
import subprocess
import uuid
from pathlib import Path

from elforge.build.builders import find_spec
from elforge.build.hashing import file_sha256, tree_hash
from elforge.errors import ElforgeError
from elforge.proc import run_command


def place_tree(tmp: Path, dest: Path) -> None:
    """Move a finished tree into its content-addressed place (first writer wins)."""
    try:
        tmp.rename(dest)
    except OSError:
        if not dest.is_dir():
            raise
        shutil.rmtree(tmp, ignore_errors=True)  # the same content is already there


def scratch(ws: Path, name: str) -> Path:
    """A fresh folder beside the package's trees; renamed into place when finished."""
    base = ws / "trees" / name
    base.mkdir(parents=True, exist_ok=True)
    return base / f".tmp-{uuid.uuid4().hex}"


def write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def path_digest(path: Path) -> str:
    return tree_hash(path) if path.is_dir() else file_sha256(path)


def spec_nvr(tree: Path, dist: str | None) -> str | None:
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
