"""audience: internal notes apart from public ones, the log of revealed phone numbers (issue 14)

Revision ID: 0013
Revises: 0016
Create Date: 2026-11-30 19:30:00

Existing events are split by the audience the action table now declares: the notes of internal
events and the notes the table declares internal (instructions, classification flags, callback
notes, a department's working notes, a manager's closing note) move to `internal_note`, so a
resident's page shows none of them. A reassignment (formerly internal) stays hidden.
"""
from alembic import op
import sqlalchemy as sa

import portal.extensions


revision = '0013'
down_revision = '0016'
branch_labels = None
depends_on = None

# Actions whose whole note is internal by the table (dispatch: the instruction; classify: with its flags).
INTERNAL_NOTES = ("classify", "dispatch", "reassign", "accept", "resume", "close", "callback", "callback_reopen",
                  "callback_note", "callback_promise", "promise_answered")


def upgrade():
    with op.batch_alter_table('case_event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('internal_note', sa.Text(), nullable=False, server_default=''))
    names = ", ".join(f"'{n}'" for n in INTERNAL_NOTES)
    op.execute(f"UPDATE case_event SET internal_note = note, note = '' "
               f"WHERE public = false OR action IN ({names})")

    op.create_table('phone_reveal',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('estate_id', sa.Integer(), nullable=True),
    sa.Column('at', portal.extensions.UTCDateTime(timezone=True), nullable=False),
    sa.Column('address', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['case.id'], name=op.f('fk_phone_reveal_case_id_case')),
    sa.ForeignKeyConstraint(['estate_id'], ['estate.id'], name=op.f('fk_phone_reveal_estate_id_estate')),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_phone_reveal_user_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_phone_reveal'))
    )
    with op.batch_alter_table('phone_reveal', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_phone_reveal_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_phone_reveal_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_phone_reveal_estate_id'), ['estate_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_phone_reveal_user_id'), ['user_id'], unique=False)
        batch_op.create_index('ix_phone_reveal_estate_at', ['estate_id', 'at'], unique=False)


def downgrade():
    with op.batch_alter_table('phone_reveal', schema=None) as batch_op:
        batch_op.drop_index('ix_phone_reveal_estate_at')
        batch_op.drop_index(batch_op.f('ix_phone_reveal_user_id'))
        batch_op.drop_index(batch_op.f('ix_phone_reveal_estate_id'))
        batch_op.drop_index(batch_op.f('ix_phone_reveal_case_id'))
        batch_op.drop_index(batch_op.f('ix_phone_reveal_at'))
    op.drop_table('phone_reveal')
    op.execute("UPDATE case_event SET note = internal_note WHERE note = '' AND internal_note != ''")
    with op.batch_alter_table('case_event', schema=None) as batch_op:
        batch_op.drop_column('internal_note')
