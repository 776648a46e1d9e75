"""what the system writes is kept as message keys and parameters; people's language for SMS and e-mail (issue 16)

Revision ID: 0022
Revises: 0017
Create Date: 2026-11-30 23:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0022'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('case_event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('note_msg', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('internal_msg', sa.JSON(), nullable=True))
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.add_column(sa.Column('subject_msg', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('body_msg', sa.JSON(), nullable=True))
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('language', sa.String(length=10), nullable=False, server_default=''))


def downgrade():
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_column('language')
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.drop_column('body_msg')
        batch_op.drop_column('subject_msg')
    with op.batch_alter_table('case_event', schema=None) as batch_op:
        batch_op.drop_column('internal_msg')
        batch_op.drop_column('note_msg')
