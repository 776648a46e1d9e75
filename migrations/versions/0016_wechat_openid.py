"""a resident's WeChat service-account openid, for template messages (issue 17, channels)

Revision ID: 0016
Revises: 0021
Create Date: 2026-11-30 19:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0016'
down_revision = '0021'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('wechat_openid', sa.String(length=64), nullable=True))
        batch_op.create_index('ix_user_wechat_openid', ['wechat_openid'], unique=True)


def downgrade():
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_index('ix_user_wechat_openid')
        batch_op.drop_column('wechat_openid')
