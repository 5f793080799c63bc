"""Alembic environment: runs on the connection handed over by elforge.store.migrate.

One transaction per revision: the schema change and its version row commit together.
"""

from __future__ import annotations

from alembic import context

from elforge.store.models import Base

config = context.config
target_metadata = Base.metadata


def run() -> None:
    conn = config.attributes.get("connection")
    if conn is None:
        raise RuntimeError("run migrations through elforge.store.migrate.upgrade")
    context.configure(
        connection=conn,
        target_metadata=target_metadata,
        render_as_batch=True,
        transaction_per_migration=True,
        transactional_ddl=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run()
