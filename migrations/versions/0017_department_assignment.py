"""department work: the case's technician, the department head, before/after photos (issue 15)

Revision ID: 0017
Revises: 0018
Create Date: 2026-11-30 19:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0017'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.add_column(sa.Column('assignee_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_case_assignee_id'), ['assignee_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_case_assignee_id_user'), 'user', ['assignee_id'], ['id'])
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('department_head', sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table('attachment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('stage', sa.String(length=10), nullable=False, server_default=''))


def downgrade():
    with op.batch_alter_table('attachment', schema=None) as batch_op:
        batch_op.drop_column('stage')
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_column('department_head')
    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_case_assignee_id_user'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_case_assignee_id'))
        batch_op.drop_column('assignee_id')
