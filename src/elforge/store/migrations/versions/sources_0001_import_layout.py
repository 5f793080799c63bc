"""upstream_imports: layout and mirror commit of each import

Revision ID: sources_0001
Revises: 0001_initial
"""

import sqlalchemy as sa
from alembic import op

revision = "sources_0001"
down_revision = "0001_initial"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("upstream_imports", schema=None) as batch_op:
        batch_op.add_column(sa.Column("layout", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("mirror_commit", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("upstream_imports", schema=None) as batch_op:
        batch_op.drop_column("mirror_commit")
        batch_op.drop_column("layout")
