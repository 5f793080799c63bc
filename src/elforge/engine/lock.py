"""The workspace lock: one ``elforge run`` (or stage command) per workspace at a time.

An advisory ``flock`` on ``.elforge/run.lock``. The kernel drops it when the holder exits,
however it exits (``kill -9`` included), so a crashed run never leaves a stale lock; the
file's content (pid, start time, command) only serves the refusal message.
"""

from __future__ import annotations

import fcntl
import os
import sys
import time
from pathlib import Path
from types import TracebackType

from elforge.errors import ElforgeError


class WorkspaceLocked(ElforgeError):
    """Another process holds the workspace lock."""


class WorkspaceLock:
    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / "run.lock"
        self._fd: int | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 4096, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise WorkspaceLocked(
                f"another elforge run holds this workspace ({holder}); wait for it to finish",
                subject=self.path.parent.parent,
            ) from None
        os.ftruncate(fd, 0)
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        os.pwrite(fd, f"pid {os.getpid()}, since {stamp}: {' '.join(sys.argv[:3])}\n".encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> WorkspaceLock:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()
