"""callback due time: the "callback" service level is its one owner (drop the callback_due_days setting)

A manager's changed setting is kept: written into the complaint and repair
callback service levels, for every severity that has no level of its own yet.

Revision ID: 0009
Revises: 0007
Create Date: 2026-11-30 15:30:00

"""
import json

from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0011'
branch_labels = None
depends_on = None

KEY = 'callback_due_days'
DEFAULT = 3
KINDS = ('complaint', 'repair')
SEVERITIES = ('', 'major', 'important', 'minor')

setting = sa.table('setting', sa.column('key', sa.String), sa.column('value', sa.Text),
                   sa.column('updated_at', sa.DateTime))
sla_rule = sa.table('sla_rule', sa.column('kind', sa.String), sa.column('severity', sa.String),
                    sa.column('clock', sa.String), sa.column('amount', sa.Float), sa.column('unit', sa.String))


def upgrade():
    conn = op.get_bind()
    stored = conn.execute(sa.select(setting.c.value).where(setting.c.key == KEY)).scalar()
    days = json.loads(stored) if stored is not None else DEFAULT
    if days != DEFAULT:
        query = sa.select(sla_rule.c.kind, sla_rule.c.severity).where(sla_rule.c.clock == 'callback')
        if 'estate_id' in {c['name'] for c in sa.inspect(conn).get_columns('sla_rule')}:
            query = query.where(sa.column('estate_id').is_(None))  # company levels only (0008 adds estates)
        taken = set(conn.execute(query).all())
        rows = [{'kind': k, 'severity': s, 'clock': 'callback', 'amount': float(days), 'unit': 'working_days'}
                for k in KINDS for s in SEVERITIES if (k, s) not in taken]
        if rows:
            op.bulk_insert(sla_rule, rows)
    conn.execute(sa.delete(setting).where(setting.c.key == KEY))


def downgrade():
    conn = op.get_bind()
    query = sa.select(sla_rule.c.amount).where(
        sla_rule.c.kind == 'complaint', sla_rule.c.severity == '', sla_rule.c.clock == 'callback',
        sla_rule.c.unit == 'working_days')
    if 'estate_id' in {c['name'] for c in sa.inspect(conn).get_columns('sla_rule')}:
        query = query.where(sa.column('estate_id').is_(None))
    amount = conn.execute(query).scalar()
    if amount is not None and int(amount) != DEFAULT:
        conn.execute(sa.insert(setting).values(key=KEY, value=json.dumps(int(amount)),
                                               updated_at=sa.func.current_timestamp()))
