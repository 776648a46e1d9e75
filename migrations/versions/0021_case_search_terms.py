"""case_term: the bigram index behind free-text search (issue 18), filled for existing cases

Revision ID: 0021
Revises: 0014
"""
from alembic import op
import sqlalchemy as sa

revision = '0021'
down_revision = '0014'
branch_labels = None
depends_on = None

FIELDS = ("number", "description", "location", "contact_name", "subject")


def _terms(values):
    out = set()
    for value in values:
        low = (value or "").lower()
        out |= {low[i:i + 2] for i in range(len(low) - 1)}
    return out


def upgrade():
    op.create_table('case_term',
    sa.Column('term', sa.String(length=2), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['case.id'], name=op.f('fk_case_term_case_id_case'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('term', 'case_id', name=op.f('pk_case_term'))
    )
    op.create_index('ix_case_term_case', 'case_term', ['case_id'], unique=False)
    # Existing cases, in batches (the same pieces as portal.search.terms_of; a migration keeps its own copy).
    conn = op.get_bind()
    case = sa.table('case', sa.column('id'), *(sa.column(name) for name in FIELDS))
    term = sa.table('case_term', sa.column('term'), sa.column('case_id'))
    last = 0
    while True:
        rows = conn.execute(sa.select(case).where(case.c.id > last).order_by(case.c.id).limit(2000)).all()
        if not rows:
            break
        batch = [{"case_id": r[0], "term": t} for r in rows for t in _terms(r[1:])]
        if batch:
            conn.execute(term.insert(), batch)
        last = rows[-1][0]


def downgrade():
    op.drop_index('ix_case_term_case', table_name='case_term')
    op.drop_table('case_term')
