"""PD hours and certificates (lti_tool/hours, lti_tool/certificates): the conversion profile, manual lines,
issued certificates and their history; live minutes on attendance records, make-up minutes, meeting breaks.

Revision ID: 0005
Revises: 0003
Create Date: 2026-12-02 16:52:44
"""
from alembic import op
import sqlalchemy as sa
import lti_tool.db


revision = '0005'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('certificate',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('program_id', sa.Integer(), nullable=False),
    sa.Column('membership_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('status', sa.Enum('valid', 'superseded', 'revoked', name='certificatestatus', native_enum=False, length=16), nullable=False),
    sa.Column('issued_at', lti_tool.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('issued_by_id', sa.Integer(), nullable=True),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('pdf', sa.LargeBinary(), nullable=False),
    sa.Column('superseded_at', lti_tool.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', lti_tool.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('revoked_by_id', sa.Integer(), nullable=True),
    sa.Column('revoke_reason', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['issued_by_id'], ['membership.id'], name=op.f('fk_certificate_issued_by_id_membership'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['membership_id'], ['membership.id'], name=op.f('fk_certificate_membership_id_membership'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['program_id'], ['program.id'], name=op.f('fk_certificate_program_id_program'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['revoked_by_id'], ['membership.id'], name=op.f('fk_certificate_revoked_by_id_membership'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_certificate')),
    sa.UniqueConstraint('code', name=op.f('uq_certificate_code')),
    sa.UniqueConstraint('program_id', 'membership_id', 'version', name=op.f('uq_certificate_program_id_membership_id_version'))
    )
    with op.batch_alter_table('certificate', schema=None) as batch_op:
        batch_op.create_index('ix_certificate_membership', ['membership_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_certificate_program_id'), ['program_id'], unique=False)

    op.create_table('hours_manual_line',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('program_id', sa.Integer(), nullable=False),
    sa.Column('membership_id', sa.Integer(), nullable=False),
    sa.Column('category', sa.Enum('live', 'deep_dive', 'module', 'book_study', 'protocol', 'make_up', 'other', name='category', native_enum=False, length=24), nullable=False),
    sa.Column('on_date', sa.Date(), nullable=False),
    sa.Column('minutes', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('entered_by_id', sa.Integer(), nullable=True),
    sa.Column('entered_at', lti_tool.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('removed_by_id', sa.Integer(), nullable=True),
    sa.Column('removed_at', lti_tool.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('removed_reason', sa.Text(), nullable=False),
    sa.CheckConstraint('minutes > 0', name=op.f('ck_hours_manual_line_minutes_positive')),
    sa.ForeignKeyConstraint(['entered_by_id'], ['membership.id'], name=op.f('fk_hours_manual_line_entered_by_id_membership'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['membership_id'], ['membership.id'], name=op.f('fk_hours_manual_line_membership_id_membership'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['program_id'], ['program.id'], name=op.f('fk_hours_manual_line_program_id_program'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['removed_by_id'], ['membership.id'], name=op.f('fk_hours_manual_line_removed_by_id_membership'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hours_manual_line'))
    )
    with op.batch_alter_table('hours_manual_line', schema=None) as batch_op:
        batch_op.create_index('ix_hours_manual_line_program_person', ['program_id', 'membership_id'], unique=False)

    op.create_table('hours_profile',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('program_id', sa.Integer(), nullable=False),
    sa.Column('unit', sa.Enum('clock_hour', 'contact_hour', 'contact_hour_50', 'ceu', 'pdp', 'cpe', name='unit', native_enum=False, length=24), nullable=False),
    sa.Column('rounding', sa.Enum('none', 'down_quarter', 'down_half', 'down_whole', 'down_tenth', name='rounding', native_enum=False, length=24), nullable=False),
    sa.Column('caps', sa.JSON(), nullable=False),
    sa.Column('reading_minutes', sa.Integer(), nullable=False),
    sa.Column('excused_percent', sa.Integer(), nullable=False),
    sa.Column('required_units', sa.Double(), nullable=True),
    sa.Column('provider', sa.String(length=200), nullable=False),
    sa.Column('location', sa.String(length=200), nullable=False),
    sa.Column('signer_name', sa.String(length=200), nullable=False),
    sa.Column('signer_title', sa.String(length=200), nullable=False),
    sa.Column('certificates_enabled', sa.Boolean(), nullable=False),
    sa.Column('open_badges', sa.Boolean(), nullable=False),
    sa.Column('created_at', lti_tool.db.UTCDateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.Column('updated_at', lti_tool.db.UTCDateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.CheckConstraint('reading_minutes >= 0 AND excused_percent >= 0 AND excused_percent <= 100', name=op.f('ck_hours_profile_credits_in_range')),
    sa.CheckConstraint('required_units IS NULL OR required_units > 0', name=op.f('ck_hours_profile_required_positive')),
    sa.ForeignKeyConstraint(['program_id'], ['program.id'], name=op.f('fk_hours_profile_program_id_program'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hours_profile')),
    sa.UniqueConstraint('program_id', name=op.f('uq_hours_profile_program_id'))
    )
    op.create_table('certificate_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('program_id', sa.Integer(), nullable=False),
    sa.Column('membership_id', sa.Integer(), nullable=False),
    sa.Column('certificate_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.Enum('issued', 'reissued', 'revoked', 'refused', name='eventkind', native_enum=False, length=16), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('at', lti_tool.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['membership.id'], name=op.f('fk_certificate_event_actor_id_membership'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['certificate_id'], ['certificate.id'], name=op.f('fk_certificate_event_certificate_id_certificate'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['membership_id'], ['membership.id'], name=op.f('fk_certificate_event_membership_id_membership'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['program_id'], ['program.id'], name=op.f('fk_certificate_event_program_id_program'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_certificate_event'))
    )
    with op.batch_alter_table('certificate_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_certificate_event_certificate_id'), ['certificate_id'], unique=False)
        batch_op.create_index('ix_certificate_event_program_person', ['program_id', 'membership_id'], unique=False)

    with op.batch_alter_table('attendance_makeup', schema=None) as batch_op:
        batch_op.add_column(sa.Column('minutes', sa.Integer(), nullable=True))

    with op.batch_alter_table('attendance_record', schema=None) as batch_op:
        batch_op.add_column(sa.Column('minutes', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('left_at', lti_tool.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_check_constraint(op.f('ck_attendance_record_minutes_not_negative'),
                                         'minutes IS NULL OR minutes >= 0')

    with op.batch_alter_table('meeting', schema=None) as batch_op:
        batch_op.add_column(sa.Column('break_minutes', sa.Integer(), server_default='0', nullable=False))
        batch_op.create_check_constraint(op.f('ck_meeting_break_not_negative'), 'break_minutes >= 0')



def downgrade() -> None:
    with op.batch_alter_table('meeting', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_meeting_break_not_negative'), type_='check')
        batch_op.drop_column('break_minutes')

    with op.batch_alter_table('attendance_record', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_attendance_record_minutes_not_negative'), type_='check')
        batch_op.drop_column('left_at')
        batch_op.drop_column('minutes')

    with op.batch_alter_table('attendance_makeup', schema=None) as batch_op:
        batch_op.drop_column('minutes')

    with op.batch_alter_table('certificate_event', schema=None) as batch_op:
        batch_op.drop_index('ix_certificate_event_program_person')
        batch_op.drop_index(batch_op.f('ix_certificate_event_certificate_id'))

    op.drop_table('certificate_event')
    op.drop_table('hours_profile')
    with op.batch_alter_table('hours_manual_line', schema=None) as batch_op:
        batch_op.drop_index('ix_hours_manual_line_program_person')

    op.drop_table('hours_manual_line')
    with op.batch_alter_table('certificate', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_certificate_program_id'))
        batch_op.drop_index('ix_certificate_membership')

    op.drop_table('certificate')
