"""The completion rule (lti_tool/completion): a program's or a cohort's rule, its versions (drafts previewed
before they apply), and each person's last recorded state.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 06:41:31
"""
from alembic import op
import sqlalchemy as sa
import lti_tool.db


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('completion_rule',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('program_id', sa.Integer(), nullable=False),
    sa.Column('cohort_id', sa.Integer(), nullable=True),
    sa.Column('current_version_id', sa.Integer(), nullable=True),
    sa.Column('graded', sa.Boolean(), nullable=False),
    sa.Column('graded_criteria', sa.Boolean(), nullable=False),
    sa.Column('created_at', lti_tool.db.UTCDateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.Column('updated_at', lti_tool.db.UTCDateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.ForeignKeyConstraint(['cohort_id'], ['cohort.id'], name=op.f('fk_completion_rule_cohort_id_cohort'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['program_id'], ['program.id'], name=op.f('fk_completion_rule_program_id_program'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_completion_rule')),
    sa.UniqueConstraint('program_id', 'cohort_id', name=op.f('uq_completion_rule_program_id_cohort_id'))
    )
    with op.batch_alter_table('completion_rule', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_completion_rule_program_id'), ['program_id'], unique=False)

    op.create_table('completion_rule_version',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rule_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('tree', sa.JSON(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', lti_tool.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('applied_at', lti_tool.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('applied_by_id', sa.Integer(), nullable=True),
    sa.Column('discarded_at', lti_tool.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['applied_by_id'], ['membership.id'], name=op.f('fk_completion_rule_version_applied_by_id_membership'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['created_by_id'], ['membership.id'], name=op.f('fk_completion_rule_version_created_by_id_membership'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['rule_id'], ['completion_rule.id'], name=op.f('fk_completion_rule_version_rule_id_completion_rule'), ondelete='CASCADE', deferrable=True, initially='DEFERRED'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_completion_rule_version')),
    sa.UniqueConstraint('rule_id', 'number', name=op.f('uq_completion_rule_version_rule_id_number'))
    )
    with op.batch_alter_table('completion_rule_version', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_completion_rule_version_rule_id'), ['rule_id'], unique=False)

    op.create_table('completion_state',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('program_id', sa.Integer(), nullable=False),
    sa.Column('membership_id', sa.Integer(), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=True),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('criteria', sa.JSON(), nullable=False),
    sa.Column('changed_at', lti_tool.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('met_at', lti_tool.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['membership_id'], ['membership.id'], name=op.f('fk_completion_state_membership_id_membership'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['program_id'], ['program.id'], name=op.f('fk_completion_state_program_id_program'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['version_id'], ['completion_rule_version.id'], name=op.f('fk_completion_state_version_id_completion_rule_version'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_completion_state')),
    sa.UniqueConstraint('program_id', 'membership_id', name=op.f('uq_completion_state_program_id_membership_id'))
    )
    with op.batch_alter_table('completion_state', schema=None) as batch_op:
        batch_op.create_index('ix_completion_state_membership', ['membership_id'], unique=False)
    # The rule points at its version and the version at its rule: the rule's key is added once both exist.
    with op.batch_alter_table('completion_rule', schema=None) as batch_op:
        batch_op.create_foreign_key(batch_op.f('fk_completion_rule_current_version_id_completion_rule_version'),
                                    'completion_rule_version', ['current_version_id'], ['id'], ondelete='SET NULL')


def downgrade() -> None:
    with op.batch_alter_table('completion_rule', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_completion_rule_current_version_id_completion_rule_version'),
                                 type_='foreignkey')
    with op.batch_alter_table('completion_state', schema=None) as batch_op:
        batch_op.drop_index('ix_completion_state_membership')
    op.drop_table('completion_state')
    with op.batch_alter_table('completion_rule_version', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_completion_rule_version_rule_id'))
    op.drop_table('completion_rule_version')
    with op.batch_alter_table('completion_rule', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_completion_rule_program_id'))
    op.drop_table('completion_rule')
