"""The resource library: resources a cohort shares (a file or a link, a licence, tags), every version of each
(kept, with who reviewed it and the note of a return), and the final products (a cohort's curated collection of
resources with an introduction), shown at the close-out showcase.

A resource points at its **approved** version (what the library shows) and at its **pending** one (a draft, one
waiting for approval, or one returned with a note): an edit to an approved resource waits while the approved
version stays visible. The resource row repeats its approved version's title, type, licence, tags and search
text so that the library is searched and faceted on one table (``ResourceTag`` holds the tags of the approved
version, one row each).

Resources and collections brought from another year's program keep where they came from as plain text
(``origin_author``, ``origin_cohort``, ``origin_year``): the old course may be gone.
"""
from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import JSON, Boolean, Enum, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lti_tool.db import Base, TimestampMixin, utcnow
from lti_tool.lti.models import Membership
from lti_tool.programs.models import Cohort


def _enum(cls: type[enum.Enum]) -> Enum:
    return Enum(cls, native_enum=False, length=24, validate_strings=True)


class ResourceKind(str, enum.Enum):
    template = "template"
    form = "form"
    toolkit = "toolkit"
    reading = "reading"
    video = "video"
    slide_deck = "slide_deck"
    link = "link"
    other = "other"

    @property
    def label(self) -> str:
        return KIND_LABELS[self]


KIND_LABELS = {ResourceKind.template: "Template", ResourceKind.form: "Form", ResourceKind.toolkit: "Toolkit",
               ResourceKind.reading: "Reading", ResourceKind.video: "Video", ResourceKind.slide_deck: "Slide deck",
               ResourceKind.link: "Link", ResourceKind.other: "Other"}


class Licence(str, enum.Enum):
    cc_by = "cc_by"
    cc_by_sa = "cc_by_sa"
    cc_by_nc = "cc_by_nc"
    cc_by_nc_sa = "cc_by_nc_sa"
    cc_by_nd = "cc_by_nd"
    cc_by_nc_nd = "cc_by_nc_nd"
    cc0 = "cc0"
    all_rights_reserved = "all_rights_reserved"
    ask_author = "ask_author"

    @property
    def label(self) -> str:
        return LICENCE_LABELS[self][0]

    @property
    def url(self) -> str:
        return LICENCE_LABELS[self][1]


LICENCE_LABELS = {
    Licence.cc_by: ("CC BY 4.0 (credit the author)", "https://creativecommons.org/licenses/by/4.0/"),
    Licence.cc_by_sa: ("CC BY-SA 4.0 (credit, share alike)", "https://creativecommons.org/licenses/by-sa/4.0/"),
    Licence.cc_by_nc: ("CC BY-NC 4.0 (credit, not commercial)", "https://creativecommons.org/licenses/by-nc/4.0/"),
    Licence.cc_by_nc_sa: ("CC BY-NC-SA 4.0 (credit, not commercial, share alike)",
                          "https://creativecommons.org/licenses/by-nc-sa/4.0/"),
    Licence.cc_by_nd: ("CC BY-ND 4.0 (credit, no changes)", "https://creativecommons.org/licenses/by-nd/4.0/"),
    Licence.cc_by_nc_nd: ("CC BY-NC-ND 4.0 (credit, not commercial, no changes)",
                          "https://creativecommons.org/licenses/by-nc-nd/4.0/"),
    Licence.cc0: ("CC0 (public domain)", "https://creativecommons.org/publicdomain/zero/1.0/"),
    Licence.all_rights_reserved: ("All rights reserved", ""),
    Licence.ask_author: ("Ask the author before reusing", ""),
}


class VersionStatus(str, enum.Enum):
    draft = "draft"                # the author is still writing it
    submitted = "submitted"        # waiting for a facilitator
    approved = "approved"          # the version the library shows
    returned = "returned"          # sent back with a note
    superseded = "superseded"      # was approved; a newer version was approved since
    withdrawn = "withdrawn"        # was waiting or returned; the author made a newer version

    @property
    def label(self) -> str:
        return {"draft": "Draft", "submitted": "Waiting for approval", "approved": "Approved",
                "returned": "Returned with a note", "superseded": "Earlier approved version",
                "withdrawn": "Replaced before review"}[self.value]


class Visibility(str, enum.Enum):
    cohort = "cohort"              # the cohort's members and facilitators (and the leads)
    program = "program"            # everyone in the program's course

    @property
    def label(self) -> str:
        return {"cohort": "Cohort only", "program": "Whole program"}[self.value]


class Resource(TimestampMixin, Base):
    __tablename__ = "library_resource"
    __table_args__ = (
        UniqueConstraint("program_id", "origin_key"),
        Index("ix_library_resource_program_listed", "program_id", "approved_version_id"),
        Index("ix_library_resource_author", "author_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("program.id", ondelete="CASCADE"))
    cohort_id: Mapped[int | None] = mapped_column(ForeignKey("cohort.id", ondelete="SET NULL"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("membership.id", ondelete="SET NULL"))
    visibility: Mapped[Visibility] = mapped_column(_enum(Visibility), default=Visibility.cohort)
    approved_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("library_resource_version.id", ondelete="SET NULL", use_alter=True,
                   name="fk_library_resource_approved_version_id"))
    pending_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("library_resource_version.id", ondelete="SET NULL", use_alter=True,
                   name="fk_library_resource_pending_version_id"))
    approved_at: Mapped[dt.datetime | None]
    # The approved version's facts, repeated for the search and its facets ("" / None while none is approved).
    title: Mapped[str] = mapped_column(String(200), default="")
    kind: Mapped[ResourceKind | None] = mapped_column(_enum(ResourceKind))
    licence: Mapped[Licence | None] = mapped_column(_enum(Licence))
    search_text: Mapped[str] = mapped_column(Text, default="")      # casefolded title, description and tags
    # Where a resource brought from another year came from (plain text: that course may be gone).
    origin_key: Mapped[str | None] = mapped_column(String(80))
    origin_author: Mapped[str] = mapped_column(String(200), default="")
    origin_cohort: Mapped[str] = mapped_column(String(200), default="")
    origin_year: Mapped[str] = mapped_column(String(80), default="")

    cohort: Mapped[Cohort | None] = relationship()
    author: Mapped[Membership | None] = relationship()
    approved_version: Mapped[ResourceVersion | None] = relationship(foreign_keys=[approved_version_id],
                                                                    post_update=True)
    pending_version: Mapped[ResourceVersion | None] = relationship(foreign_keys=[pending_version_id],
                                                                   post_update=True)
    versions: Mapped[list[ResourceVersion]] = relationship(
        back_populates="resource", foreign_keys="ResourceVersion.resource_id", order_by="ResourceVersion.number",
        cascade="all, delete-orphan")
    tags: Mapped[list[ResourceTag]] = relationship(cascade="all, delete-orphan", order_by="ResourceTag.tag")

    @property
    def shown(self) -> ResourceVersion | None:
        """The version a page shows first: the approved one, else the pending one."""
        return self.approved_version or self.pending_version


class ResourceVersion(Base):
    __tablename__ = "library_resource_version"
    __table_args__ = (UniqueConstraint("resource_id", "number"),
                      Index("ix_library_resource_version_waiting", "status"))

    id: Mapped[int] = mapped_column(primary_key=True)
    # Deferred: deleting a course deletes its program (and so this row, by cascade) and its memberships (which
    # set created_by_id and reviewed_by_id to NULL here) in one statement; PostgreSQL checks that update against
    # a resource already gone unless the check waits for the commit, when this row is gone too.
    resource_id: Mapped[int] = mapped_column(ForeignKey("library_resource.id", ondelete="CASCADE", deferrable=True,
                                                        initially="DEFERRED"))
    number: Mapped[int]
    status: Mapped[VersionStatus] = mapped_column(_enum(VersionStatus), default=VersionStatus.draft)
    title: Mapped[str] = mapped_column(String(200))
    kind: Mapped[ResourceKind] = mapped_column(_enum(ResourceKind))
    description: Mapped[str] = mapped_column(Text, default="")          # Markdown as typed
    description_html: Mapped[str] = mapped_column(Text, default="")     # sanitised (course/text.py)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    url: Mapped[str] = mapped_column(String(2048), default="")
    file_stored_name: Mapped[str] = mapped_column(String(64), default="")
    file_original_name: Mapped[str] = mapped_column(String(255), default="")
    file_content_type: Mapped[str] = mapped_column(String(120), default="")
    file_size: Mapped[int] = mapped_column(default=0)
    preview_stored_name: Mapped[str] = mapped_column(String(64), default="")   # a PNG of a PDF's first page
    licence: Mapped[Licence] = mapped_column(_enum(Licence))
    may_share: Mapped[bool] = mapped_column(Boolean, default=False)     # "I may share this", confirmed
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("membership.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    submitted_at: Mapped[dt.datetime | None]
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("membership.id", ondelete="SET NULL"))
    reviewed_at: Mapped[dt.datetime | None]
    review_note: Mapped[str] = mapped_column(Text, default="")

    resource: Mapped[Resource] = relationship(back_populates="versions", foreign_keys=[resource_id])
    created_by: Mapped[Membership | None] = relationship(foreign_keys=[created_by_id])
    reviewed_by: Mapped[Membership | None] = relationship(foreign_keys=[reviewed_by_id])

    @property
    def is_image(self) -> bool:
        return self.file_content_type in ("image/png", "image/jpeg", "image/gif")

    @property
    def is_pdf(self) -> bool:
        return self.file_content_type == "application/pdf"


class ResourceTag(Base):
    """One tag of a resource's approved version (for the tag facet and filter)."""

    __tablename__ = "library_resource_tag"
    __table_args__ = (Index("ix_library_resource_tag_tag", "tag", "resource_id"),)

    resource_id: Mapped[int] = mapped_column(ForeignKey("library_resource.id", ondelete="CASCADE"),
                                             primary_key=True)
    tag: Mapped[str] = mapped_column(String(40), primary_key=True)


class Collection(TimestampMixin, Base):
    """A cohort's final product: an introduction and the resources it chose, in order."""

    __tablename__ = "library_collection"
    __table_args__ = (UniqueConstraint("program_id", "cohort_id"), UniqueConstraint("program_id", "origin_key"))

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("program.id", ondelete="CASCADE"), index=True)
    cohort_id: Mapped[int | None] = mapped_column(ForeignKey("cohort.id", ondelete="SET NULL"))
    title: Mapped[str] = mapped_column(String(200))
    introduction: Mapped[str] = mapped_column(Text, default="")
    introduction_html: Mapped[str] = mapped_column(Text, default="")
    shared: Mapped[bool] = mapped_column(Boolean, default=False)       # shared program-wide after the showcase
    origin_key: Mapped[str | None] = mapped_column(String(80))
    origin_cohort: Mapped[str] = mapped_column(String(200), default="")
    origin_year: Mapped[str] = mapped_column(String(80), default="")

    cohort: Mapped[Cohort | None] = relationship()
    items: Mapped[list[CollectionItem]] = relationship(back_populates="collection", order_by="CollectionItem.position",
                                                       cascade="all, delete-orphan")


class CollectionItem(Base):
    __tablename__ = "library_collection_item"
    __table_args__ = (UniqueConstraint("collection_id", "resource_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    collection_id: Mapped[int] = mapped_column(ForeignKey("library_collection.id", ondelete="CASCADE"), index=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("library_resource.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(default=0)

    collection: Mapped[Collection] = relationship(back_populates="items")
    resource: Mapped[Resource] = relationship()
