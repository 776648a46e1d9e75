"""durable jobs: queued background work is a row, so a crash or a restart loses none

Revision ID: 0010
Revises: 0011
Create Date: 2026-11-30 15:30:00

"""
from alembic import op
import sqlalchemy as sa

import portal.extensions


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'job',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('path', sa.String(length=200), nullable=False),
        sa.Column('args', sa.Text(), nullable=False),
        sa.Column('queue', sa.String(length=40), nullable=False),
        sa.Column('state', sa.String(length=10), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('run_after', portal.extensions.UTCDateTime(timezone=True), nullable=False),
        sa.Column('lease_until', portal.extensions.UTCDateTime(timezone=True), nullable=True),
        sa.Column('owner', sa.String(length=80), nullable=False),
        sa.Column('created_at', portal.extensions.UTCDateTime(timezone=True), nullable=False),
        sa.Column('finished_at', portal.extensions.UTCDateTime(timezone=True), nullable=True),
        sa.Column('last_error', sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_job')),
    )
    with op.batch_alter_table('job', schema=None) as batch_op:
        batch_op.create_index('ix_job_state_run_after', ['state', 'run_after'], unique=False)


def downgrade():
    with op.batch_alter_table('job', schema=None) as batch_op:
        batch_op.drop_index('ix_job_state_run_after')
    op.drop_table('job')
