"""Notices: what the tool tells a person (lti_tool/course/notices.py).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 16:35:06
"""
from alembic import op
import sqlalchemy as sa
import lti_tool.db


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('notice',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('recipient_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('url', sa.String(length=1024), nullable=False),
    sa.Column('created_at', lti_tool.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('read_at', lti_tool.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['recipient_id'], ['membership.id'], name=op.f('fk_notice_recipient_id_membership'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notice')),
    sa.UniqueConstraint('recipient_id', 'key', name=op.f('uq_notice_recipient_id_key'))
    )
    with op.batch_alter_table('notice', schema=None) as batch_op:
        batch_op.create_index('ix_notice_recipient_read', ['recipient_id', 'read_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('notice', schema=None) as batch_op:
        batch_op.drop_index('ix_notice_recipient_read')
    op.drop_table('notice')
