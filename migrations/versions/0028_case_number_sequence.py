"""Case numbers found by their counter: an index on the number's counter part (issue 18)

Digits typed alone ("0042") were matched by scanning every case number; portal.search.number_lookup now
turns them into ranges on the number's B-tree (the date part) and lookups on this index (the counter).

Revision ID: 0028
Revises: 0027
"""
from alembic import op
import sqlalchemy as sa

revision = '0028'
down_revision = "0027"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_case_number_sequence', 'case',
                    [sa.func.substr(sa.column('number'), sa.literal_column('13')).label('number_sequence')],
                    postgresql_ops={'number_sequence': 'text_pattern_ops'})


def downgrade():
    op.drop_index('ix_case_number_sequence', table_name='case')
