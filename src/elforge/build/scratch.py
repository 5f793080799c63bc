"""Build scratch folders, removed off the build's critical path.

Removing a finished build's scratch folder (rpmbuild's topdirs: a dozen folders) costs tens
of milliseconds of ``rmdir`` a package on a busy disk, which a bare rpmbuild loop never
pays. The builder hands the folder to one background thread and goes on with the next
package. The thread is not a daemon: the interpreter, and a pool worker, wait for it at
exit, so no scratch folder outlives a normal exit.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

_lock = threading.Lock()
_remover: ThreadPoolExecutor | None = None
_pending: list[Future[None]] = []


def _remove(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


def remove_later(path: Path) -> None:
    """Remove ``path`` (a folder) in the background."""
    global _remover
    with _lock:
        if _remover is None:
            _remover = ThreadPoolExecutor(max_workers=1, thread_name_prefix="elforge-scratch")
        _pending[:] = [f for f in _pending if not f.done()]
        _pending.append(_remover.submit(_remove, path))


def wait_removed() -> None:
    """Block until every folder handed to :func:`remove_later` is gone."""
    with _lock:
        pending = list(_pending)
    for future in pending:
        future.result()


@contextmanager
def scratch_folder(prefix: str, parent: Path | None = None) -> Iterator[Path]:
    """A fresh folder under ``parent`` (the system's temporary folder by default), removed
    in the background when the block ends, however it ends."""
    path = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    try:
        yield path
    finally:
        remove_later(path)
