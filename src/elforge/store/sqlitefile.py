"""Checks on a SQLite store file before SQLite touches it, and the connection set-up.

SQLite takes an empty file for a new database and says "file is not a database" without a
path; both are refused here with the file named. A zero-byte file counts as new only while the
``.creating`` marker we write before creating it is still there (a first run that was killed).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from pathlib import Path
from typing import Any

from elforge.errors import StoreError

SQLITE_MAGIC = b"SQLite format 3\x00"


def creating_marker(db: Path) -> Path:
    return db.with_name(db.name + ".creating")


def check_sqlite_file(db: Path) -> bool:
    """Refuse a file that is not an SQLite database; True when the store is new (ours to make)."""
    marker = creating_marker(db)
    try:
        st = db.stat()
    except FileNotFoundError:
        try:
            db.parent.mkdir(parents=True, exist_ok=True)
            marker.touch()
        except OSError as exc:
            raise StoreError(f"cannot create the store: {exc.strerror}", subject=db) from None
        return True
    except OSError as exc:
        raise StoreError(f"cannot read the store: {exc.strerror}", subject=db) from None
    if not db.is_file():
        raise StoreError("is not a regular file", subject=db)
    if st.st_size == 0:
        if marker.exists():
            return True
        raise StoreError(
            "empty file, not an elforge store (delete it to start a new store)", subject=db
        )
    if _identity(st) in _verified:  # SQLite may hold it open here: let SQLite read the header
        if not _sqlite_reads_it(db):
            raise StoreError(
                "not an SQLite database (corrupt, or another kind of file)", subject=db
            )
        return marker.exists()
    try:
        with db.open("rb") as fh:
            head = fh.read(len(SQLITE_MAGIC))
    except OSError as exc:
        raise StoreError(f"cannot read the store: {exc.strerror}", subject=db) from None
    if head != SQLITE_MAGIC:
        raise StoreError("not an SQLite database (corrupt, or another kind of file)", subject=db)
    _verified.add(_identity(st))
    return marker.exists()


def _sqlite_reads_it(db: Path) -> bool:
    """False only when SQLite says the file is not a database; other failures (a read-only
    file system…) are left to the store's own connection to report."""
    try:
        conn = sqlite3.connect(str(db))
        try:
            conn.execute("PRAGMA schema_version").fetchone()
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        return "not a database" not in str(exc)
    return True


def _identity(st: os.stat_result) -> tuple[int, int]:
    return (st.st_dev, st.st_ino)


# Files whose header this process has read. Closing ANY descriptor of a file drops all of this
# process's POSIX locks on it, those of open SQLite connections too; a worker process closing
# its connection then takes itself for the last one and deletes the WAL from under ours. So
# once SQLite may hold the file open here, its header is never read again from Python.
_verified: set[tuple[int, int]] = set()


def created(db: Path) -> None:
    """The first migration is committed: the store is no longer new (and SQLite made it)."""
    creating_marker(db).unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        _verified.add(_identity(db.stat()))


def sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def transactional_ddl(dbapi_conn: Any, _record: Any) -> None:
    """pysqlite commits around DDL on its own; let SQLAlchemy's BEGIN/COMMIT rule instead."""
    dbapi_conn.isolation_level = None


def why_not_writable(db: Path) -> str | None:
    """Why SQLite cannot write ``db`` (or its -wal/-shm beside it), if the reason is visible."""
    try:
        if os.statvfs(db.parent).f_flag & os.ST_RDONLY:
            return "on a read-only file system"
    except OSError:
        return None
    if db.exists() and not os.access(db, os.W_OK):
        return "the file is read-only"
    if not os.access(db.parent, os.W_OK):
        return "its folder is read-only"
    return None
