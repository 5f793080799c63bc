"""The workspace lock: one ``elforge run`` (or stage command) per workspace at a time.

An advisory ``flock`` on ``.elforge/run.lock``. The kernel drops it when the holder exits,
however it exits (``kill -9`` included), so a crashed run never leaves a stale lock. The
file's content (pid, run token, start time, command) serves the refusal message and the
clean-up: the holder exports its token as ``ELFORGE_RUN=<token>`` to every process it starts,
and a new holder that finds a dead holder's token kills whatever still carries it (a build
script that outlived its run) before it starts.
"""

from __future__ import annotations

import fcntl
import os
import re
import secrets
import signal
import sys
import time
from pathlib import Path
from types import TracebackType

from elforge.errors import ElforgeError


class WorkspaceLocked(ElforgeError):
    """Another process holds the workspace lock."""


TOKEN_VAR = "ELFORGE_RUN"


def _carriers(value: str, var: str = TOKEN_VAR) -> list[int]:
    """Live processes whose environment carries ``VAR=<value>`` (``ELFORGE_RUN`` by default)."""
    needle = f"{var}={value}".encode()
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry.name}/environ", "rb") as fh:
                env = fh.read()
        except OSError:
            continue
        if needle in env.split(b"\0"):
            found.append(int(entry.name))
    return found


def reap_leftovers(token: str, *, wait: float = 10.0, var: str = TOKEN_VAR) -> int:
    """Kill what a dead run left running (every process whose environment carries
    ``VAR=<token>``); returns how many processes were killed."""
    killed = 0
    deadline = time.monotonic() + wait
    while (pids := _carriers(token, var)) and time.monotonic() < deadline:
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
                killed += 1
            except OSError:
                pass
        time.sleep(0.05)  # a killed process's environment empties once it is gone
    return killed


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
        previous = os.pread(fd, 4096, 0).decode(errors="replace")
        if found := re.search(r"\btoken (\w+)", previous):  # the previous holder died holding it
            reap_leftovers(found.group(1))
        token = secrets.token_hex(8)
        os.ftruncate(fd, 0)
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        line = f"pid {os.getpid()}, token {token}, since {stamp}: {' '.join(sys.argv[:3])}\n"
        os.pwrite(fd, line.encode(), 0)
        os.environ[TOKEN_VAR] = token
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            os.environ.pop(TOKEN_VAR, None)
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
