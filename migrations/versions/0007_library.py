"""The resource library and the final products (lti_tool/library): resources, their versions and tags,
cohorts' collections. A resource points at its approved and pending versions (foreign keys added after the
version table: the two tables refer to each other).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 06:44:15
"""
from alembic import op
import sqlalchemy as sa
import lti_tool.db


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('library_collection',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('program_id', sa.Integer(), nullable=False),
    sa.Column('cohort_id', sa.Integer(), nullable=True),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('introduction', sa.Text(), nullable=False),
    sa.Column('introduction_html', sa.Text(), nullable=False),
    sa.Column('shared', sa.Boolean(), nullable=False),
    sa.Column('origin_key', sa.String(length=80), nullable=True),
    sa.Column('origin_cohort', sa.String(length=200), nullable=False),
    sa.Column('origin_year', sa.String(length=80), nullable=False),
    sa.Column('created_at', lti_tool.db.UTCDateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.Column('updated_at', lti_tool.db.UTCDateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.ForeignKeyConstraint(['cohort_id'], ['cohort.id'], name=op.f('fk_library_collection_cohort_id_cohort'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['program_id'], ['program.id'], name=op.f('fk_library_collection_program_id_program'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_library_collection')),
    sa.UniqueConstraint('program_id', 'cohort_id', name=op.f('uq_library_collection_program_id_cohort_id')),
    sa.UniqueConstraint('program_id', 'origin_key', name=op.f('uq_library_collection_program_id_origin_key'))
    )
    with op.batch_alter_table('library_collection', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_library_collection_program_id'), ['program_id'], unique=False)

    op.create_table('library_resource',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('program_id', sa.Integer(), nullable=False),
    sa.Column('cohort_id', sa.Integer(), nullable=True),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('visibility', sa.Enum('cohort', 'program', name='visibility', native_enum=False, length=24), nullable=False),
    sa.Column('approved_version_id', sa.Integer(), nullable=True),
    sa.Column('pending_version_id', sa.Integer(), nullable=True),
    sa.Column('approved_at', lti_tool.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.Enum('template', 'form', 'toolkit', 'reading', 'video', 'slide_deck', 'link', 'other', name='resourcekind', native_enum=False, length=24), nullable=True),
    sa.Column('licence', sa.Enum('cc_by', 'cc_by_sa', 'cc_by_nc', 'cc_by_nc_sa', 'cc_by_nd', 'cc_by_nc_nd', 'cc0', 'all_rights_reserved', 'ask_author', name='licence', native_enum=False, length=24), nullable=True),
    sa.Column('search_text', sa.Text(), nullable=False),
    sa.Column('origin_key', sa.String(length=80), nullable=True),
    sa.Column('origin_author', sa.String(length=200), nullable=False),
    sa.Column('origin_cohort', sa.String(length=200), nullable=False),
    sa.Column('origin_year', sa.String(length=80), nullable=False),
    sa.Column('created_at', lti_tool.db.UTCDateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.Column('updated_at', lti_tool.db.UTCDateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['membership.id'], name=op.f('fk_library_resource_author_id_membership'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['cohort_id'], ['cohort.id'], name=op.f('fk_library_resource_cohort_id_cohort'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['program_id'], ['program.id'], name=op.f('fk_library_resource_program_id_program'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_library_resource')),
    sa.UniqueConstraint('program_id', 'origin_key', name=op.f('uq_library_resource_program_id_origin_key'))
    )
    with op.batch_alter_table('library_resource', schema=None) as batch_op:
        batch_op.create_index('ix_library_resource_author', ['author_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_library_resource_cohort_id'), ['cohort_id'], unique=False)
        batch_op.create_index('ix_library_resource_program_listed', ['program_id', 'approved_version_id'], unique=False)

    op.create_table('library_collection_item',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('collection_id', sa.Integer(), nullable=False),
    sa.Column('resource_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['collection_id'], ['library_collection.id'], name=op.f('fk_library_collection_item_collection_id_library_collection'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['resource_id'], ['library_resource.id'], name=op.f('fk_library_collection_item_resource_id_library_resource'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_library_collection_item')),
    sa.UniqueConstraint('collection_id', 'resource_id', name=op.f('uq_library_collection_item_collection_id_resource_id'))
    )
    with op.batch_alter_table('library_collection_item', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_library_collection_item_collection_id'), ['collection_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_library_collection_item_resource_id'), ['resource_id'], unique=False)

    op.create_table('library_resource_tag',
    sa.Column('resource_id', sa.Integer(), nullable=False),
    sa.Column('tag', sa.String(length=40), nullable=False),
    sa.ForeignKeyConstraint(['resource_id'], ['library_resource.id'], name=op.f('fk_library_resource_tag_resource_id_library_resource'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('resource_id', 'tag', name=op.f('pk_library_resource_tag'))
    )
    with op.batch_alter_table('library_resource_tag', schema=None) as batch_op:
        batch_op.create_index('ix_library_resource_tag_tag', ['tag', 'resource_id'], unique=False)

    op.create_table('library_resource_version',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('resource_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('draft', 'submitted', 'approved', 'returned', 'superseded', 'withdrawn', name='versionstatus', native_enum=False, length=24), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.Enum('template', 'form', 'toolkit', 'reading', 'video', 'slide_deck', 'link', 'other', name='resourcekind', native_enum=False, length=24), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('description_html', sa.Text(), nullable=False),
    sa.Column('tags', sa.JSON(), nullable=False),
    sa.Column('url', sa.String(length=2048), nullable=False),
    sa.Column('file_stored_name', sa.String(length=64), nullable=False),
    sa.Column('file_original_name', sa.String(length=255), nullable=False),
    sa.Column('file_content_type', sa.String(length=120), nullable=False),
    sa.Column('file_size', sa.Integer(), nullable=False),
    sa.Column('preview_stored_name', sa.String(length=64), nullable=False),
    sa.Column('licence', sa.Enum('cc_by', 'cc_by_sa', 'cc_by_nc', 'cc_by_nc_sa', 'cc_by_nd', 'cc_by_nc_nd', 'cc0', 'all_rights_reserved', 'ask_author', name='licence', native_enum=False, length=24), nullable=False),
    sa.Column('may_share', sa.Boolean(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', lti_tool.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('submitted_at', lti_tool.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('reviewed_by_id', sa.Integer(), nullable=True),
    sa.Column('reviewed_at', lti_tool.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('review_note', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['membership.id'], name=op.f('fk_library_resource_version_created_by_id_membership'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['resource_id'], ['library_resource.id'], name=op.f('fk_library_resource_version_resource_id_library_resource'), ondelete='CASCADE', deferrable=True, initially='DEFERRED'),
    sa.ForeignKeyConstraint(['reviewed_by_id'], ['membership.id'], name=op.f('fk_library_resource_version_reviewed_by_id_membership'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_library_resource_version')),
    sa.UniqueConstraint('resource_id', 'number', name=op.f('uq_library_resource_version_resource_id_number'))
    )
    with op.batch_alter_table('library_resource_version', schema=None) as batch_op:
        batch_op.create_index('ix_library_resource_version_waiting', ['status'], unique=False)

    with op.batch_alter_table('library_resource', schema=None) as batch_op:
        batch_op.create_foreign_key('fk_library_resource_approved_version_id', 'library_resource_version',
                                    ['approved_version_id'], ['id'], ondelete='SET NULL')
        batch_op.create_foreign_key('fk_library_resource_pending_version_id', 'library_resource_version',
                                    ['pending_version_id'], ['id'], ondelete='SET NULL')



def downgrade() -> None:
    with op.batch_alter_table('library_resource', schema=None) as batch_op:
        batch_op.drop_constraint('fk_library_resource_pending_version_id', type_='foreignkey')
        batch_op.drop_constraint('fk_library_resource_approved_version_id', type_='foreignkey')
    with op.batch_alter_table('library_resource_version', schema=None) as batch_op:
        batch_op.drop_index('ix_library_resource_version_waiting')

    op.drop_table('library_resource_version')
    with op.batch_alter_table('library_resource_tag', schema=None) as batch_op:
        batch_op.drop_index('ix_library_resource_tag_tag')

    op.drop_table('library_resource_tag')
    with op.batch_alter_table('library_collection_item', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_library_collection_item_resource_id'))
        batch_op.drop_index(batch_op.f('ix_library_collection_item_collection_id'))

    op.drop_table('library_collection_item')
    with op.batch_alter_table('library_resource', schema=None) as batch_op:
        batch_op.drop_index('ix_library_resource_program_listed')
        batch_op.drop_index(batch_op.f('ix_library_resource_cohort_id'))
        batch_op.drop_index('ix_library_resource_author')

    op.drop_table('library_resource')
    with op.batch_alter_table('library_collection', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_library_collection_program_id'))

    op.drop_table('library_collection')
