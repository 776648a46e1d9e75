"""The reference stamp: data_stamp row 2, moved only by category, department and estate changes (issue 18)

What is built from those lists alone (choices, a list's filter form, the board's bulk form) is kept
under it, so a busy estate's case writes no longer rebuild it (portal.stamp).

Revision ID: 0026
Revises: 0025
"""
import sqlalchemy as sa
from alembic import op

revision = '0026'
down_revision = "0025"
branch_labels = None
depends_on = None


def upgrade():
    stamp = sa.table("data_stamp", sa.column("id", sa.Integer), sa.column("n", sa.BigInteger))
    op.bulk_insert(stamp, [{"id": 2, "n": 0}])


def downgrade():
    op.execute("DELETE FROM data_stamp WHERE id = 2")
