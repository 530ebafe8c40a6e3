"""The protocol runner (lti_tool/protocols): a program's own protocol scripts and their phases; runs with the
phases they were made with (deadlines for asynchronous runs), roles, problem-of-practice files and contributions.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 06:40:00
"""
from alembic import op
import sqlalchemy as sa
import lti_tool.db


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('protocol_script',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('program_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('source_key', sa.String(length=40), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('archived', sa.Boolean(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', lti_tool.db.UTCDateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.Column('updated_at', lti_tool.db.UTCDateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.CheckConstraint('version >= 1', name=op.f('ck_protocol_script_version_positive')),
    sa.ForeignKeyConstraint(['created_by_id'], ['membership.id'], name=op.f('fk_protocol_script_created_by_id_membership'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['program_id'], ['program.id'], name=op.f('fk_protocol_script_program_id_program'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_protocol_script'))
    )
    with op.batch_alter_table('protocol_script', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_protocol_script_program_id'), ['program_id'], unique=False)

    op.create_table('protocol_script_phase',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('script_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('minutes', sa.Integer(), nullable=False),
    sa.Column('instructions', sa.Text(), nullable=False),
    sa.Column('roles', sa.JSON(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.CheckConstraint('minutes >= 1', name=op.f('ck_protocol_script_phase_minutes_positive')),
    sa.ForeignKeyConstraint(['script_id'], ['protocol_script.id'], name=op.f('fk_protocol_script_phase_script_id_protocol_script'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_protocol_script_phase')),
    sa.UniqueConstraint('script_id', 'position', name=op.f('uq_protocol_script_phase_script_id_position'))
    )
    op.create_table('protocol_run',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('program_id', sa.Integer(), nullable=False),
    sa.Column('cohort_id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=True),
    sa.Column('script_id', sa.Integer(), nullable=True),
    sa.Column('script_key', sa.String(length=40), nullable=False),
    sa.Column('script_name', sa.String(length=200), nullable=False),
    sa.Column('script_version', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('mode', sa.Enum('live', 'async', name='runmode', native_enum=False, length=16), nullable=False),
    sa.Column('status', sa.Enum('scheduled', 'running', 'paused', 'completed', 'cancelled', name='runstatus', native_enum=False, length=16), nullable=False),
    sa.Column('total_minutes', sa.Integer(), nullable=False),
    sa.Column('scheduled_for', lti_tool.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('current_position', sa.Integer(), nullable=True),
    sa.Column('phase_ends_at', lti_tool.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('paused_remaining', sa.Integer(), nullable=True),
    sa.Column('closes_at', lti_tool.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('started_at', lti_tool.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('completed_at', lti_tool.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('problem_text', sa.Text(), nullable=False),
    sa.Column('problem_html', sa.Text(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', lti_tool.db.UTCDateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.Column('updated_at', lti_tool.db.UTCDateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.CheckConstraint('total_minutes >= 1', name=op.f('ck_protocol_run_total_positive')),
    sa.ForeignKeyConstraint(['cohort_id'], ['cohort.id'], name=op.f('fk_protocol_run_cohort_id_cohort'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['created_by_id'], ['membership.id'], name=op.f('fk_protocol_run_created_by_id_membership'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['group_id'], ['small_group.id'], name=op.f('fk_protocol_run_group_id_small_group'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['program_id'], ['program.id'], name=op.f('fk_protocol_run_program_id_program'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['script_id'], ['protocol_script.id'], name=op.f('fk_protocol_run_script_id_protocol_script'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_protocol_run'))
    )
    with op.batch_alter_table('protocol_run', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_protocol_run_cohort_id'), ['cohort_id'], unique=False)
        batch_op.create_index('ix_protocol_run_program_cohort', ['program_id', 'cohort_id'], unique=False)

    op.create_table('protocol_contribution',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('membership_id', sa.Integer(), nullable=True),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('body_html', sa.Text(), nullable=False),
    sa.Column('created_at', lti_tool.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['membership_id'], ['membership.id'], name=op.f('fk_protocol_contribution_membership_id_membership'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['run_id'], ['protocol_run.id'], name=op.f('fk_protocol_contribution_run_id_protocol_run'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_protocol_contribution'))
    )
    with op.batch_alter_table('protocol_contribution', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_protocol_contribution_membership_id'), ['membership_id'], unique=False)
        batch_op.create_index('ix_protocol_contribution_run_phase', ['run_id', 'position'], unique=False)

    op.create_table('protocol_run_file',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('stored_name', sa.String(length=64), nullable=False),
    sa.Column('original_name', sa.String(length=255), nullable=False),
    sa.Column('content_type', sa.String(length=120), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('uploaded_by_id', sa.Integer(), nullable=True),
    sa.Column('uploaded_at', lti_tool.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['protocol_run.id'], name=op.f('fk_protocol_run_file_run_id_protocol_run'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['membership.id'], name=op.f('fk_protocol_run_file_uploaded_by_id_membership'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_protocol_run_file'))
    )
    with op.batch_alter_table('protocol_run_file', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_protocol_run_file_run_id'), ['run_id'], unique=False)

    op.create_table('protocol_run_phase',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('minutes', sa.Integer(), nullable=False),
    sa.Column('instructions', sa.Text(), nullable=False),
    sa.Column('roles', sa.JSON(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('opens_at', lti_tool.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('closes_at', lti_tool.db.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint('closes_at IS NULL OR opens_at IS NULL OR closes_at > opens_at', name=op.f('ck_protocol_run_phase_deadline_order')),
    sa.CheckConstraint('minutes >= 1', name=op.f('ck_protocol_run_phase_minutes_positive')),
    sa.ForeignKeyConstraint(['run_id'], ['protocol_run.id'], name=op.f('fk_protocol_run_phase_run_id_protocol_run'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_protocol_run_phase')),
    sa.UniqueConstraint('run_id', 'position', name=op.f('uq_protocol_run_phase_run_id_position'))
    )
    op.create_table('protocol_run_role',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('membership_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.ForeignKeyConstraint(['membership_id'], ['membership.id'], name=op.f('fk_protocol_run_role_membership_id_membership'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['run_id'], ['protocol_run.id'], name=op.f('fk_protocol_run_role_run_id_protocol_run'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_protocol_run_role')),
    sa.UniqueConstraint('run_id', 'membership_id', name=op.f('uq_protocol_run_role_run_id_membership_id'))
    )
    with op.batch_alter_table('protocol_run_role', schema=None) as batch_op:
        batch_op.create_index('ix_protocol_run_role_person', ['membership_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('protocol_run_role', schema=None) as batch_op:
        batch_op.drop_index('ix_protocol_run_role_person')

    op.drop_table('protocol_run_role')
    op.drop_table('protocol_run_phase')
    with op.batch_alter_table('protocol_run_file', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_protocol_run_file_run_id'))

    op.drop_table('protocol_run_file')
    with op.batch_alter_table('protocol_contribution', schema=None) as batch_op:
        batch_op.drop_index('ix_protocol_contribution_run_phase')
        batch_op.drop_index(batch_op.f('ix_protocol_contribution_membership_id'))

    op.drop_table('protocol_contribution')
    with op.batch_alter_table('protocol_run', schema=None) as batch_op:
        batch_op.drop_index('ix_protocol_run_program_cohort')
        batch_op.drop_index(batch_op.f('ix_protocol_run_cohort_id'))

    op.drop_table('protocol_run')
    op.drop_table('protocol_script_phase')
    with op.batch_alter_table('protocol_script', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_protocol_script_program_id'))

    op.drop_table('protocol_script')
