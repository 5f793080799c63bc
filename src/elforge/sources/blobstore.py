"""The content-addressed lookaside store: ``<workspace>/lookaside/<hashtype>/<hash>``.

A blob enters the store only whole and verified: it is written to a temporary file in the
store's own ``.tmp`` folder (same file system), hashed, and renamed into place. A blob that
is reused is hashed again, so a corrupted store is noticed instead of built from.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
from pathlib import Path

from elforge.errors import ChecksumError, ElforgeError
from elforge.sources.metadata import SourceEntry, file_digest

STALE_AFTER = 24 * 3600  # seconds


class BlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, entry: SourceEntry) -> Path:
        return self.root / entry.hashtype / entry.hash

    def has(self, entry: SourceEntry) -> bool:
        return self.path(entry).is_file()

    def verified(self, entry: SourceEntry, *, subject: str) -> Path | None:
        """The stored blob for ``entry`` after checking its hash; None when absent.

        A stored blob whose content no longer matches is an error: the store was tampered
        with or damaged, and silently re-downloading would hide that.
        """
        path = self.path(entry)
        if not path.is_file():
            return None
        actual = file_digest(path, entry.hashtype)
        if actual != entry.hash:
            raise ChecksumError(
                f"stored blob {path} for {entry.file} has {entry.hashtype} {actual}, "
                f"expected {entry.hash}",
                subject=subject,
            )
        return path

    def staging_dir(self) -> Path:
        """A private folder on the store's file system for downloads in flight.

        Staging folders a killed run left behind more than a day ago are swept first
        (a live import's folder is never that old: downloads time out long before).
        """
        tmp = self.root / ".tmp"
        tmp.mkdir(parents=True, exist_ok=True)
        cutoff = time.time() - STALE_AFTER
        for old in tmp.glob("stage-*"):
            with contextlib.suppress(OSError):
                if old.stat().st_mtime < cutoff:
                    shutil.rmtree(old, ignore_errors=True)
        return Path(tempfile.mkdtemp(prefix="stage-", dir=tmp))

    def commit(self, entry: SourceEntry, staged: Path, *, subject: str) -> Path:
        """Move a staged, already verified file into place (atomic rename)."""
        actual = file_digest(staged, entry.hashtype)
        if actual != entry.hash:
            raise ChecksumError(
                f"{entry.file}: {entry.hashtype} is {actual}, expected {entry.hash}",
                subject=subject,
            )
        dest = self.path(entry)
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(staged, 0o444)
        os.replace(staged, dest)
        return dest

    def copy_out(self, entry: SourceEntry, dest: Path, *, subject: str) -> None:
        """Copy a verified blob to ``dest`` (for work folders)."""
        src = self.verified(entry, subject=subject)
        if src is None:
            raise ElforgeError(f"blob {entry.key} is not in the lookaside store", subject=subject)
        tmp = dest.with_name(f".{dest.name}.part")
        shutil.copyfile(src, tmp)
        os.replace(tmp, dest)
