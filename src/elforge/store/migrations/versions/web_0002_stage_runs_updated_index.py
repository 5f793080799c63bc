"""an index on stage_runs.updated: the dashboard's "anything new since?" check reads the newest
update and the rows written after it without scanning the table

Revision ID: web_0002
Revises: web_0001
"""

from alembic import op

revision = "web_0002"
down_revision = "web_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("stage_runs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_stage_runs_updated"), ["updated"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("stage_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_stage_runs_updated"))
