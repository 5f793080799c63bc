"""A content-addressed artifact store: ``<workspace>/artifacts/sha256/<2 hex>/<sha256>``.

Files are written to a temporary name in the same folder and renamed into place, so a crash
never leaves a partial artifact under its final name, and storing the same bytes twice is a
no-op. The file name an artifact had is kept by the caller (the store's ``artifacts`` rows).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class StoredArtifact:
    filename: str
    sha256: str
    size: int
    path: str  # absolute path in the store

    def to_json(self) -> dict[str, object]:
        return {
            "filename": self.filename,
            "sha256": self.sha256,
            "size": self.size,
            "path": self.path,
        }


class ArtifactStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path_for(self, sha256: str) -> Path:
        return self.root / "sha256" / sha256[:2] / sha256

    def put(self, source: Path) -> StoredArtifact:
        """Copy ``source`` into the store (atomically) and describe it. The file is read
        once: hashed while it is copied to a temporary name, then renamed to its hash."""
        staging = self.root / "sha256"
        staging.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=staging)
        try:
            digest = hashlib.sha256()
            with os.fdopen(fd, "wb") as out, source.open("rb") as src:
                while block := src.read(1 << 20):
                    digest.update(block)
                    out.write(block)
                dest = self.path_for(digest.hexdigest())
                if not dest.exists():
                    out.flush()
                    os.fsync(out.fileno())
            if dest.exists():
                Path(tmp).unlink()
            else:
                os.chmod(tmp, 0o444)
                dest.parent.mkdir(parents=True, exist_ok=True)
                os.replace(tmp, dest)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return StoredArtifact(source.name, digest.hexdigest(), dest.stat().st_size, str(dest))

    def has(self, sha256: str) -> bool:
        return self.path_for(sha256).is_file()
