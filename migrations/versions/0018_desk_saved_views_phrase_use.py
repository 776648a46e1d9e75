"""desk: saved board views per user, standard phrases by use (issue 15)

Revision ID: 0018
Revises: 0015
Create Date: 2026-11-30 19:20:00

"""
from alembic import op
import sqlalchemy as sa

import portal.extensions


# revision identifiers, used by Alembic.
revision = '0018'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('saved_view',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('query', sa.String(length=1000), nullable=False),
    sa.Column('created_at', portal.extensions.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_saved_view_user_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_saved_view')),
    sa.UniqueConstraint('user_id', 'name', name='uq_saved_view_user_name')
    )
    with op.batch_alter_table('saved_view', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_saved_view_user_id'), ['user_id'], unique=False)
    with op.batch_alter_table('phrase', schema=None) as batch_op:
        batch_op.add_column(sa.Column('use', sa.String(length=20), server_default='', nullable=False))


def downgrade():
    with op.batch_alter_table('phrase', schema=None) as batch_op:
        batch_op.drop_column('use')
    with op.batch_alter_table('saved_view', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_saved_view_user_id'))
    op.drop_table('saved_view')
