"""pipeline_runs.packages: the packages a run set out to do, recorded when it starts

Revision ID: web_0001
Revises: errata_0001
"""

import sqlalchemy as sa
from alembic import op

revision = "web_0001"
down_revision = "errata_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("pipeline_runs", schema=None) as batch_op:
        # runs recorded before this revision did not say: NULL is "not known"
        batch_op.add_column(sa.Column("packages", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("pipeline_runs", schema=None) as batch_op:
        batch_op.drop_column("packages")
