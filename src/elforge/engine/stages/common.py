"""What the stages share: atomic writes of files, and the digest of a file or tree."""

from __future__ import annotations

import uuid
from pathlib import Path

from elforge.build.hashing import file_sha256, tree_hash

__all__ = ["path_digest", "write_atomic"]


def write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def path_digest(path: Path) -> str:
    return tree_hash(path) if path.is_dir() else file_sha256(path)
