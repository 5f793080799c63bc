"""Content hashes that key every build: of a package tree, its lookaside metadata, its inputs.

A tree hash covers each file's relative path, executable bit and content (symlinks by their
target), so it is the same on any machine for the same tree; ``.git`` is left out because
the commit is recorded separately when there is one.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any

_SKIP_DIRS = {".git", ".elforge"}
_BSD_LINE = re.compile(r"^(?P<type>[A-Z0-9]+) \((?P<file>[^)]+)\) = (?P<hash>[0-9a-fA-F]+)$")
_HASH_BY_LEN = {32: "md5", 40: "sha1", 64: "sha256", 128: "sha512"}


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def tree_hash(root: Path) -> str:
    """sha256 over (relative path, kind, content digest) of every file under ``root``."""
    digest = hashlib.sha256()
    entries: list[tuple[str, str]] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS)
        base = Path(dirpath)
        for name in filenames + [d for d in dirnames if (base / d).is_symlink()]:
            path = base / name
            rel = path.relative_to(root).as_posix()
            if path.is_symlink():
                entries.append((rel, "l:" + os.readlink(path)))
            elif path.is_file():
                kind = "x" if os.access(path, os.X_OK) else "f"
                entries.append((rel, f"{kind}:{file_sha256(path)}"))
    for rel, value in sorted(entries):
        digest.update(f"{rel}\0{value}\n".encode())
    return digest.hexdigest()


def lookaside_hashes(tree: Path) -> list[dict[str, str]]:
    """Sources named by dist-git ``sources`` or an exploded tree's ``.NAME.metadata``.

    These files are part of the tree hash already; listing them separately records which
    lookaside blobs a build needed, by hash, for provenance.
    """
    found: list[dict[str, str]] = []
    candidates = [tree / "sources", *sorted(tree.glob(".*.metadata"))]
    for meta in candidates:
        if not meta.is_file():
            continue
        for line in meta.read_text(encoding="utf-8", errors="replace").splitlines():
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            match = _BSD_LINE.match(line)
            if match:
                found.append(
                    {
                        "file": match["file"],
                        "hashtype": match["type"].lower(),
                        "hash": match["hash"].lower(),
                    }
                )
                continue
            parts = line.split()
            if len(parts) == 2 and len(parts[0]) in _HASH_BY_LEN:
                hashtype = _HASH_BY_LEN[len(parts[0])]
                name = parts[1].removeprefix("SOURCES/")
                found.append({"file": name, "hashtype": hashtype, "hash": parts[0].lower()})
    return found


def inputs_hash(inputs: dict[str, Any]) -> str:
    """sha256 of a canonical JSON rendering of a stage's inputs."""
    blob = json.dumps(inputs, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()
