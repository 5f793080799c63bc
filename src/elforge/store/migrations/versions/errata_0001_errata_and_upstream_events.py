"""errata: the rebuild's own advisories; upstream_events: what elforge watch noticed

Revision ID: errata_0001
Revises: engine_0001, sources_0001
"""

import sqlalchemy as sa
from alembic import op

revision = "errata_0001"
down_revision = ("engine_0001", "sources_0001")
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "errata",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("advisory_id", sa.String(length=128), nullable=False),
        sa.Column("reference_id", sa.String(length=128), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("severity", sa.String(length=32), nullable=True),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("cves", sa.JSON(), nullable=False),
        sa.Column("references", sa.JSON(), nullable=False),
        sa.Column("packages", sa.JSON(), nullable=False),
        sa.Column("issued", sa.DateTime(timezone=True), nullable=True),
        sa.Column("issued_source", sa.String(length=32), nullable=True),
        sa.Column("updated", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reference_issued", sa.DateTime(timezone=True), nullable=True),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("modified", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("errata", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_errata_advisory_id"), ["advisory_id"], unique=True)
        batch_op.create_index(batch_op.f("ix_errata_reference_id"), ["reference_id"], unique=False)
    op.create_table(
        "upstream_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("package", sa.String(length=255), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("ref", sa.String(length=255), nullable=True),
        sa.Column("token", sa.String(length=128), nullable=False),
        sa.Column("old_token", sa.String(length=128), nullable=True),
        sa.Column("old_nvr", sa.String(length=512), nullable=True),
        sa.Column("nvr", sa.String(length=512), nullable=True),
        sa.Column("commit_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("noticed", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("event_id"),
        sa.UniqueConstraint("package", "token"),
    )
    with op.batch_alter_table("upstream_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_upstream_events_package"), ["package"], unique=False)
        batch_op.create_index(batch_op.f("ix_upstream_events_nvr"), ["nvr"], unique=False)


def downgrade() -> None:
    op.drop_table("upstream_events")
    with op.batch_alter_table("errata", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_errata_reference_id"))
        batch_op.drop_index(batch_op.f("ix_errata_advisory_id"))
    op.drop_table("errata")
