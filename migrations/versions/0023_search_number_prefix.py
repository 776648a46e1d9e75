"""Search by case-number prefix (a pattern index; case_term holds the texts only); finished months' figures (issue 18)

Revision ID: 0023
Revises: 0017
"""
from alembic import op
import sqlalchemy as sa

from portal.extensions import UTCDateTime

revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None

TEXT_FIELDS = ("description", "location", "contact_name", "subject")


def _terms(values):
    out = set()
    for value in values:
        low = (value or "").lower()
        out |= {low[i:i + 2] for i in range(len(low) - 1)}
    return out


def _rebuild(fields):
    """The bigram terms of every case from `fields` (a migration keeps its own copy of portal.search)."""
    conn = op.get_bind()
    case = sa.table('case', sa.column('id'), *(sa.column(name) for name in fields))
    term = sa.table('case_term', sa.column('term'), sa.column('case_id'))
    last = 0
    while True:
        rows = conn.execute(sa.select(case).where(case.c.id > last).order_by(case.c.id).limit(2000)).all()
        if not rows:
            break
        ids = [r[0] for r in rows]
        conn.execute(term.delete().where(term.c.case_id.in_(ids)))
        batch = [{"case_id": r[0], "term": t} for r in rows for t in _terms(r[1:])]
        if batch:
            conn.execute(term.insert(), batch)
        last = ids[-1]


def upgrade():
    op.create_table('month_figure',
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('estate_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('cases', sa.Integer(), nullable=False),
    sa.Column('resolution_ok', sa.Integer(), nullable=False),
    sa.Column('resolution_late', sa.Integer(), nullable=False),
    sa.Column('satisfied', sa.Integer(), nullable=False),
    sa.Column('answered', sa.Integer(), nullable=False),
    sa.Column('stale_at', UTCDateTime(timezone=True), nullable=True),
    sa.Column('computed_at', UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('month', 'estate_id', name=op.f('pk_month_figure'))
    )
    op.create_index('ix_case_number_pattern', 'case', ['number'], unique=False,
                    postgresql_ops={'number': 'varchar_pattern_ops'})
    _rebuild(TEXT_FIELDS)  # the number's pieces leave the index: number_ids matches numbers


def downgrade():
    op.drop_table('month_figure')
    _rebuild(("number",) + TEXT_FIELDS)
    op.drop_index('ix_case_number_pattern', table_name='case')
