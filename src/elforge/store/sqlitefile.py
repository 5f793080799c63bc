"""Checks on a SQLite store file before SQLite touches it, and the connection set-up.

SQLite takes an empty file for a new database and says "file is not a database" without a
path; both are refused here with the file named. A zero-byte file counts as new only while the
``.creating`` marker we write before creating it is still there (a first run that was killed).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from elforge.errors import StoreError

SQLITE_MAGIC = b"SQLite format 3\x00"

# Files whose header this process has read already. Reading it again could be harmful: closing
# any descriptor of a database file drops every POSIX lock this process holds on it, those of
# SQLite's open connections included (a second open_store while a first is in use then failed
# with "disk I/O error"). The first open in a process comes before any connection exists.
_VERIFIED: set[Path] = set()


def creating_marker(db: Path) -> Path:
    return db.with_name(db.name + ".creating")


def check_sqlite_file(db: Path) -> bool:
    """Refuse a file that is not an SQLite database; True when the store is new (ours to make)."""
    marker = creating_marker(db)
    if db.resolve() in _VERIFIED and db.is_file():
        return marker.exists()
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
    try:
        with db.open("rb") as fh:
            head = fh.read(len(SQLITE_MAGIC))
    except OSError as exc:
        raise StoreError(f"cannot read the store: {exc.strerror}", subject=db) from None
    if head != SQLITE_MAGIC:
        raise StoreError("not an SQLite database (corrupt, or another kind of file)", subject=db)
    _VERIFIED.add(db.resolve())
    return marker.exists()


def created(db: Path) -> None:
    """The first migration is committed: the store is no longer new."""
    creating_marker(db).unlink(missing_ok=True)


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
