"""Case lists read in their order from an index: (estate_id, received_at) (issue 18)

Revision ID: 0025
Revises: 0023
"""
from alembic import op

revision = '0025'
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_case_estate_received', 'case', ['estate_id', 'received_at'])


def downgrade():
    op.drop_index('ix_case_estate_received', table_name='case')
