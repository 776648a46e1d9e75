"""online survey answers record the client's address and browser (issue 14)

Revision ID: 0014
Revises: 0020
Create Date: 2026-11-30 19:20:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0014'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('callback_record', schema=None) as batch_op:
        batch_op.add_column(sa.Column('client_address', sa.String(length=45), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('user_agent', sa.String(length=300), nullable=False, server_default=''))


def downgrade():
    with op.batch_alter_table('callback_record', schema=None) as batch_op:
        batch_op.drop_column('user_agent')
        batch_op.drop_column('client_address')
