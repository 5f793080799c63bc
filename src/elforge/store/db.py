"""Open the state database and bring its schema to the newest Alembic revision.

Every database error is reported as one line naming the store (the SQLite file, or the URL
with its password masked): a corrupt file, a read-only store, a full disk, a refused login.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, ExceptionContext, make_url
from sqlalchemy.exc import DatabaseError, IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from elforge.errors import ConfigError, StoreError
from elforge.store.migrate import alembic_config, upgrade

__all__ = ["Store", "alembic_config", "masked_url", "open_store"]
from elforge.store.sqlitefile import (
    check_sqlite_file,
    created,
    sqlite_pragmas,
    why_not_writable,
)


class Store:
    """An engine plus a session factory; ``with store.session() as s, s.begin(): ...``.
    ``with open_store(url) as store:`` closes it at the end."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    def session(self) -> Session:
        return self._sessions()

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def masked_url(url: str | URL) -> str:
    """The URL as it may be shown: the password replaced by ``***``."""
    try:
        parsed = make_url(url) if isinstance(url, str) else url
    except Exception:
        return "<unparsable database URL>"
    return parsed.render_as_string(hide_password=True)


def _sqlite_file(parsed: URL) -> Path | None:
    db = parsed.database
    if parsed.get_backend_name() != "sqlite" or not db or db == ":memory:" or "mode=memory" in db:
        return None
    return Path(db)


def _problem(exc: BaseException, db_file: Path | None) -> str:
    """The driver's message, first line only, with the reason a SQLite file cannot be written."""
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).strip().splitlines()
    line = (text[0] if text else type(orig).__name__)[:200]
    reason = why_not_writable(db_file) if db_file else None
    return f"the store is not writable ({reason}): {line}" if reason else line


def _translate_errors(engine: Engine, subject: str, db_file: Path | None) -> None:
    """Turn the database's own failures into one line naming the store."""

    def _on_error(ctx: ExceptionContext) -> None:
        exc = ctx.sqlalchemy_exception
        if isinstance(exc, IntegrityError) or not isinstance(exc, OperationalError | DatabaseError):
            return
        raise StoreError(_problem(exc, db_file), subject=subject) from None

    event.listen(engine, "handle_error", _on_error)


def open_store(url: str, *, migrate: bool = True) -> Store:
    """Connect to ``url`` (SQLite file or PostgreSQL) and run pending migrations."""
    try:
        parsed = make_url(url)
    except Exception as exc:
        raise ConfigError(f"not a database URL: {exc}", subject=masked_url(url)) from None
    db_file = _sqlite_file(parsed)
    subject = str(db_file) if db_file else masked_url(parsed)
    new = check_sqlite_file(db_file) if db_file else False
    if migrate:
        try:
            lock = db_file.with_name(db_file.name + ".lock") if db_file else None
            upgrade(url, lock_file=lock)
        except (OperationalError, DatabaseError) as exc:
            raise StoreError(_problem(exc, db_file), subject=subject) from None
        except OSError as exc:
            raise StoreError(f"cannot migrate the store: {exc.strerror}", subject=subject) from None
        if new and db_file:
            created(db_file)
    engine = create_engine(url, future=True)
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine, "connect", sqlite_pragmas)
    _translate_errors(engine, subject, db_file)
    return Store(engine)
