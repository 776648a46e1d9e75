"""An estate's cases by status from an index: (estate_id, status), for the lists' capped counts (issue 18)

Revision ID: 0027
Revises: 0026
"""
from alembic import op

revision = '0027'
down_revision = "0026"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_case_estate_status', 'case', ['estate_id', 'status'])


def downgrade():
    op.drop_index('ix_case_estate_status', table_name='case')
