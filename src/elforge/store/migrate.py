"""Bring a store to the newest schema: one transaction per migration, one migrator at a time.

Each Alembic revision and its version row commit together (SQLite has transactional DDL once
pysqlite stops committing on its own), so a kill or a full disk leaves the store at the last
whole revision. Concurrent first commands are serialised by an ``flock`` on ``<db>.lock``
(SQLite) or an advisory lock (PostgreSQL). A store left half-made by an older elforge (tables or
columns of a revision that was never recorded) is repaired when those leftovers hold no rows.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event, inspect, text

from elforge.errors import StoreError
from elforge.store.sqlitefile import sqlite_pragmas, transactional_ddl

MIGRATIONS = Path(__file__).with_name("migrations")
PG_LOCK_KEY = 0x656C666F726765  # "elforge": one advisory lock for every elforge migrator


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def migration_engine(url: str) -> Engine:
    """An engine whose transactions really cover DDL (``BEGIN IMMEDIATE`` on SQLite)."""
    engine = create_engine(url, future=True)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", sqlite_pragmas)
        event.listen(engine, "connect", transactional_ddl)

        def _begin(conn: Connection) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        event.listen(engine, "begin", _begin)
    return engine


@contextmanager
def _serialised(engine: Engine, lock_file: Path | None) -> Iterator[None]:
    if lock_file is not None:
        fd = _open_lock(lock_file)
        if fd is None:  # a read-only store: nothing can be migrated, reading needs no lock
            yield
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)
        return
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": PG_LOCK_KEY})
            conn.commit()
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": PG_LOCK_KEY})
                conn.commit()
        return
    yield


def _open_lock(lock_file: Path) -> int | None:
    try:
        return os.open(lock_file, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError:
        try:
            return os.open(lock_file, os.O_RDONLY)
        except OSError:
            return None


def _at_heads(url: str, heads: set[str]) -> bool:
    """A plain read of the version table: no lock, no write transaction."""
    engine = create_engine(url, future=True)
    try:
        with engine.connect() as conn:
            return set(MigrationContext.configure(conn).get_current_heads()) == heads
    finally:
        engine.dispose()


def upgrade(url: str, *, lock_file: Path | None) -> None:
    """Run pending migrations on ``url``, each in its own transaction."""
    heads = set(ScriptDirectory.from_config(alembic_config(url)).get_heads())
    if _at_heads(url, heads):  # the common case: nothing to do, nothing locked
        return
    engine = migration_engine(url)
    try:
        with _serialised(engine, lock_file), engine.connect() as conn:
            if set(MigrationContext.configure(conn).get_current_heads()) == heads:
                conn.rollback()  # another command migrated it while we waited for the lock
                return
            conn.rollback()
            _repair_half_made(conn, url)
            cfg = alembic_config(url)
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "heads")
    finally:
        engine.dispose()


def _schema(conn: Connection) -> dict[str, set[str]]:
    insp = inspect(conn)
    return {
        t: {c["name"] for c in insp.get_columns(t)}
        for t in insp.get_table_names()
        if t != "alembic_version"
    }


def _schema_at(revisions: tuple[str, ...]) -> dict[str, set[str]]:
    """The tables and columns a store has at ``revisions``: migrate a scratch in-memory store."""
    scratch = migration_engine("sqlite://")
    try:
        with scratch.connect() as conn:
            cfg = alembic_config("sqlite://")
            cfg.attributes["connection"] = conn
            for rev in revisions:
                command.upgrade(cfg, rev)
            return _schema(conn)
    finally:
        scratch.dispose()


def _repair_half_made(conn: Connection, url: str) -> None:
    """Drop leftovers of a revision that never recorded itself, if they hold no rows."""
    with conn.begin():
        recorded = tuple(MigrationContext.configure(conn).get_current_heads())
        actual = _schema(conn)
        if not actual:
            return
        expected = _schema_at(recorded)
        extra_tables = [t for t in actual if t not in expected]
        extra_columns = [
            (t, c) for t, cols in actual.items() if t in expected for c in cols - expected[t]
        ]
        for table in extra_tables:
            if conn.execute(text(f'SELECT 1 FROM "{table}" LIMIT 1')).first() is not None:
                raise StoreError(
                    f"half-made store: table {table!r} of an unrecorded migration holds rows; "
                    "restore the store from a backup",
                    subject=url,
                )
        for table in _drop_order(extra_tables):
            conn.execute(text(f'DROP TABLE "{table}"'))
        for table, column in extra_columns:
            conn.execute(text(f'ALTER TABLE "{table}" DROP COLUMN "{column}"'))


def _drop_order(tables: list[str]) -> list[str]:
    """Referencing tables before the tables they reference."""
    from elforge.store.models import Base

    known = [t.name for t in reversed(Base.metadata.sorted_tables)]
    return sorted(tables, key=lambda t: known.index(t) if t in known else -1)
