"""photos: thumbnails made by a job, an index for the per-user upload quota (issues 14, 18)

Revision ID: 0015
Revises: 0013
"""
from alembic import op
import sqlalchemy as sa


revision = '0015'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('attachment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('thumb_name', sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column('thumb_type', sa.String(length=50), nullable=True))
        batch_op.create_index('ix_attachment_uploader_created', ['uploaded_by_id', 'created_at'], unique=False)


def downgrade():
    with op.batch_alter_table('attachment', schema=None) as batch_op:
        batch_op.drop_index('ix_attachment_uploader_created')
        batch_op.drop_column('thumb_type')
        batch_op.drop_column('thumb_name')
