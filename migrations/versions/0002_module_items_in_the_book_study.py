"""Module items in the book study: the thread an item opened in each cohort, and the post of a shared reflection.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 22:37:19.664004
"""
from alembic import op
import sqlalchemy as sa
import lti_tool.db


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('module_item_thread',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('cohort_id', sa.Integer(), nullable=False),
    sa.Column('thread_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['cohort_id'], ['cohort.id'], name=op.f('fk_module_item_thread_cohort_id_cohort'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['item_id'], ['module_item.id'], name=op.f('fk_module_item_thread_item_id_module_item'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['thread_id'], ['thread.id'], name=op.f('fk_module_item_thread_thread_id_thread'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_module_item_thread')),
    sa.UniqueConstraint('item_id', 'cohort_id', name=op.f('uq_module_item_thread_item_id_cohort_id'))
    )
    with op.batch_alter_table('module_item_thread', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_module_item_thread_cohort_id'), ['cohort_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_module_item_thread_thread_id'), ['thread_id'], unique=False)

    with op.batch_alter_table('reflection', schema=None) as batch_op:
        batch_op.add_column(sa.Column('post_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_reflection_post_id_post'), 'post', ['post_id'], ['id'], ondelete='SET NULL')



def downgrade() -> None:
    with op.batch_alter_table('reflection', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_reflection_post_id_post'), type_='foreignkey')
        batch_op.drop_column('post_id')

    with op.batch_alter_table('module_item_thread', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_module_item_thread_thread_id'))
        batch_op.drop_index(batch_op.f('ix_module_item_thread_cohort_id'))

    op.drop_table('module_item_thread')
