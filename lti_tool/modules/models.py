"""Asynchronous modules: ordered items (pages, readings, videos, reflections, resources, discussions) that a
program's cohorts work through between live sessions, with release rules, completion and reflections.

Items meet the book study (lti_tool/discussions) in three places: a reading item may be a reading of the book,
a discussion item is discussed in a thread, and a reflection shared with the cohort is posted in a thread.
The item keeps the reading's or thread's id with a title snapshot (no foreign key: a module keeps working when
a book is deleted); the thread an item opened in each cohort is an ``ItemThread``; see modules/book_study.py.
"""
from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import CheckConstraint, Date, Enum, Float, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lti_tool.db import Base, TimestampMixin
from lti_tool.discussions import models as _book_study  # noqa: F401  (the thread and post tables)
from lti_tool.lti.models import Membership
from lti_tool.programs.models import Cohort, Program


def _enum(cls: type[enum.Enum]) -> Enum:
    return Enum(cls, native_enum=False, length=32, validate_strings=True)


class ReleaseRule(str, enum.Enum):
    by_date = "by_date"              # each cohort's own opening date, in the program's zone
    after_module = "after_module"    # once the participant has finished another module
    by_hand = "by_hand"              # when a facilitator releases it

    @property
    def label(self) -> str:
        return {"by_date": "On a date (per cohort)", "after_module": "After another module is finished",
                "by_hand": "When released by hand"}[self.value]


class GradeMode(str, enum.Enum):
    none = "none"
    share_completed = "share_completed"    # share of the required items completed
    reflection_mark = "reflection_mark"    # the facilitator's marks on the reflections

    @property
    def label(self) -> str:
        return {"none": "Not graded", "share_completed": "Share of required items completed",
                "reflection_mark": "Facilitator's marks on the reflections"}[self.value]


class ItemKind(str, enum.Enum):
    page = "page"
    reading = "reading"
    video = "video"
    reflection = "reflection"
    resource = "resource"
    discussion = "discussion"

    @property
    def label(self) -> str:
        return {"page": "Page", "reading": "Reading", "video": "Video", "reflection": "Reflection",
                "resource": "Resource", "discussion": "Discussion"}[self.value]


class CompletionRule(str, enum.Enum):
    viewed = "viewed"
    marked_done = "marked_done"
    reflection_submitted = "reflection_submitted"
    posted_in_thread = "posted_in_thread"

    @property
    def label(self) -> str:
        return {"viewed": "Done when opened", "marked_done": "Done when marked done",
                "reflection_submitted": "Done when the reflection is submitted",
                "posted_in_thread": "Done after posting in the thread"}[self.value]


class ItemRelease(str, enum.Enum):
    with_module = "with_module"
    after_previous = "after_previous"

    @property
    def label(self) -> str:
        return {"with_module": "With the module", "after_previous": "After the previous item is done"}[self.value]


class ReflectionVisibility(str, enum.Enum):
    private_to_facilitators = "private_to_facilitators"
    shared_to_cohort_thread = "shared_to_cohort_thread"

    @property
    def label(self) -> str:
        return {"private_to_facilitators": "Private: only the facilitators read it",
                "shared_to_cohort_thread": "Shared with the cohort"}[self.value]


class ModuleSettings(TimestampMixin, Base):
    """Module settings of a program: the weekly time budget a participant is asked for."""

    __tablename__ = "module_settings"
    __table_args__ = (CheckConstraint("weekly_budget_minutes > 0", name="budget_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("program.id", ondelete="CASCADE"), unique=True)
    weekly_budget_minutes: Mapped[int] = mapped_column(default=120)


class Module(TimestampMixin, Base):
    __tablename__ = "module"
    __table_args__ = (
        Index("ix_module_program_position", "program_id", "position"),
        CheckConstraint("score_maximum > 0", name="max_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("program.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200))
    overview: Mapped[str] = mapped_column(Text, default="")        # Markdown as written
    overview_html: Mapped[str] = mapped_column(Text, default="")   # sanitised once, when saved
    position: Mapped[int] = mapped_column(default=0)
    release_rule: Mapped[ReleaseRule] = mapped_column(_enum(ReleaseRule), default=ReleaseRule.by_hand)
    released: Mapped[bool] = mapped_column(default=False)          # for ReleaseRule.by_hand
    after_module_id: Mapped[int | None] = mapped_column(ForeignKey("module.id", ondelete="SET NULL"))
    grade_mode: Mapped[GradeMode] = mapped_column(_enum(GradeMode), default=GradeMode.none)
    score_maximum: Mapped[float] = mapped_column(Float, default=100.0)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("membership.id", ondelete="SET NULL"))

    program: Mapped[Program] = relationship()
    after_module: Mapped[Module | None] = relationship(remote_side=[id])
    cohort_links: Mapped[list[ModuleCohort]] = relationship(back_populates="module", cascade="all, delete-orphan",
                                                            order_by="ModuleCohort.cohort_id")
    items: Mapped[list[ModuleItem]] = relationship(back_populates="module", cascade="all, delete-orphan",
                                                   order_by="(ModuleItem.position, ModuleItem.id)")

    @property
    def cohort_ids(self) -> list[int]:
        return [link.cohort_id for link in self.cohort_links]

    @property
    def total_minutes(self) -> int:
        return sum(item.minutes for item in self.items)

    @property
    def graded(self) -> bool:
        return self.grade_mode is not GradeMode.none


class ModuleCohort(Base):
    """A cohort a module is for, with that cohort's dates (in the program's zone)."""

    __tablename__ = "module_cohort"
    __table_args__ = (
        UniqueConstraint("module_id", "cohort_id"),
        CheckConstraint("due_on IS NULL OR opens_on IS NULL OR due_on >= opens_on", name="due_after_open"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    module_id: Mapped[int] = mapped_column(ForeignKey("module.id", ondelete="CASCADE"))
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohort.id", ondelete="CASCADE"), index=True)
    opens_on: Mapped[dt.date | None] = mapped_column(Date)
    due_on: Mapped[dt.date | None] = mapped_column(Date)

    module: Mapped[Module] = relationship(back_populates="cohort_links")
    cohort: Mapped[Cohort] = relationship()


class ModuleItem(TimestampMixin, Base):
    __tablename__ = "module_item"
    __table_args__ = (
        Index("ix_module_item_module_position", "module_id", "position"),
        CheckConstraint("minutes >= 0", name="minutes_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    module_id: Mapped[int] = mapped_column(ForeignKey("module.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(default=0)
    kind: Mapped[ItemKind] = mapped_column(_enum(ItemKind))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")          # Markdown: the page, or the reflection prompt
    body_html: Mapped[str] = mapped_column(Text, default="")
    url: Mapped[str] = mapped_column(String(1024), default="")
    video_provider: Mapped[str] = mapped_column(String(16), default="")   # youtube, vimeo, "" = a plain link
    video_id: Mapped[str] = mapped_column(String(64), default="")
    minutes: Mapped[int] = mapped_column(default=10)
    required: Mapped[bool] = mapped_column(default=True)
    completion_rule: Mapped[CompletionRule] = mapped_column(_enum(CompletionRule), default=CompletionRule.viewed)
    release: Mapped[ItemRelease] = mapped_column(_enum(ItemRelease), default=ItemRelease.with_module)
    reflection_visibility: Mapped[ReflectionVisibility] = mapped_column(
        _enum(ReflectionVisibility), default=ReflectionVisibility.private_to_facilitators)
    # The book study's reading or thread, loosely: their ids and their titles when chosen.
    reading_id: Mapped[int | None]
    thread_id: Mapped[int | None]
    linked_title: Mapped[str] = mapped_column(String(300), default="")
    # An uploaded file: stored under a generated name outside static/.
    file_stored_name: Mapped[str] = mapped_column(String(80), default="")
    file_original_name: Mapped[str] = mapped_column(String(255), default="")
    file_content_type: Mapped[str] = mapped_column(String(100), default="")
    file_size: Mapped[int] = mapped_column(default=0)

    module: Mapped[Module] = relationship(back_populates="items")


class ItemCompletion(Base):
    __tablename__ = "item_completion"
    __table_args__ = (UniqueConstraint("item_id", "membership_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("module_item.id", ondelete="CASCADE"), index=True)
    membership_id: Mapped[int] = mapped_column(ForeignKey("membership.id", ondelete="CASCADE"), index=True)
    completed_at: Mapped[dt.datetime]
    how: Mapped[str] = mapped_column(String(32))   # the completion rule that was met

    item: Mapped[ModuleItem] = relationship()


class Reflection(TimestampMixin, Base):
    __tablename__ = "reflection"
    __table_args__ = (UniqueConstraint("item_id", "membership_id"),
                      CheckConstraint("mark IS NULL OR mark >= 0", name="mark_not_negative"))

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("module_item.id", ondelete="CASCADE"), index=True)
    membership_id: Mapped[int] = mapped_column(ForeignKey("membership.id", ondelete="CASCADE"), index=True)
    body: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text, default="")
    submitted_at: Mapped[dt.datetime]
    feedback: Mapped[str] = mapped_column(Text, default="")
    feedback_by_id: Mapped[int | None] = mapped_column(ForeignKey("membership.id", ondelete="SET NULL"))
    feedback_at: Mapped[dt.datetime | None]
    mark: Mapped[float | None] = mapped_column(Float)

    # The post in the cohort's thread, when the item shares reflections with the cohort.
    post_id: Mapped[int | None] = mapped_column(ForeignKey("post.id", ondelete="SET NULL"))

    item: Mapped[ModuleItem] = relationship()
    membership: Mapped[Membership] = relationship(foreign_keys=[membership_id])
    feedback_by: Mapped[Membership | None] = relationship(foreign_keys=[feedback_by_id])


class ItemThread(Base):
    """The thread of its own that an item opened in one cohort of the book study (for discussion items with
    no reading or thread chosen, and for reflections shared with the cohort)."""

    __tablename__ = "module_item_thread"
    __table_args__ = (UniqueConstraint("item_id", "cohort_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("module_item.id", ondelete="CASCADE"))
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohort.id", ondelete="CASCADE"), index=True)
    thread_id: Mapped[int] = mapped_column(ForeignKey("thread.id", ondelete="CASCADE"), index=True)
