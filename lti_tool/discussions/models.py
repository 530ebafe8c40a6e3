"""Book study: books and their reading schedule, the cohort's discussion threads, posts, reactions, read state,
notifications, reports and the moderation log. Everything hangs off a cohort, so one cohort's talk stays its own."""
from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import (CheckConstraint, Date, Enum, Float, ForeignKey, Index, String, Text, UniqueConstraint)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lti_tool.db import Base, TimestampMixin, utcnow
from lti_tool.lti.models import Membership
from lti_tool.programs.models import Cohort, Program


def _enum(cls: type[enum.Enum]) -> Enum:
    return Enum(cls, native_enum=False, length=24, validate_strings=True)


class Book(TimestampMixin, Base):
    __tablename__ = "book"

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("program.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(300))
    author: Mapped[str] = mapped_column(String(300), default="")
    edition: Mapped[str] = mapped_column(String(120), default="")
    cover_url: Mapped[str] = mapped_column(String(1024), default="")   # https only
    link_url: Mapped[str] = mapped_column(String(1024), default="")    # http(s) only
    # Points for the "book study" gradebook column; 0 = not graded.
    score_maximum: Mapped[float] = mapped_column(Float, default=100.0)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("membership.id", ondelete="SET NULL"))

    program: Mapped[Program] = relationship()
    readings: Mapped[list[Reading]] = relationship(back_populates="book", order_by="(Reading.starts_on, Reading.position)",
                                                   cascade="all, delete-orphan")
    cohort_links: Mapped[list[BookCohort]] = relationship(back_populates="book", cascade="all, delete-orphan")


class BookCohort(Base):
    """A cohort that reads the book: each of the book's readings opens a thread there."""

    __tablename__ = "book_cohort"
    __table_args__ = (UniqueConstraint("book_id", "cohort_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    book_id: Mapped[int] = mapped_column(ForeignKey("book.id", ondelete="CASCADE"), index=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohort.id", ondelete="CASCADE"), index=True)

    book: Mapped[Book] = relationship(back_populates="cohort_links")
    cohort: Mapped[Cohort] = relationship()


class PostFirst(str, enum.Enum):
    none = "none"
    after_n_posts = "after_n_posts"
    after_date = "after_date"
    facilitator_reveal = "facilitator_reveal"

    @property
    def label(self) -> str:
        return {"none": "Everyone sees every post", "after_n_posts": "See the others after your own posts",
                "after_date": "See the others after a date",
                "facilitator_reveal": "See the others when the facilitator reveals them"}[self.value]


class Reading(TimestampMixin, Base):
    __tablename__ = "reading"
    __table_args__ = (
        CheckConstraint("ends_on >= starts_on", name="dates_in_order"),
        CheckConstraint("initial_posts_required >= 0 AND replies_required >= 0", name="criteria_non_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    book_id: Mapped[int] = mapped_column(ForeignKey("book.id", ondelete="CASCADE"), index=True)
    label: Mapped[str] = mapped_column(String(200))                # "Chapter 3 (pp. 61–90)"
    starts_on: Mapped[dt.date] = mapped_column(Date)
    ends_on: Mapped[dt.date] = mapped_column(Date)
    prompt_markdown: Mapped[str] = mapped_column(Text, default="")
    prompt_html: Mapped[str] = mapped_column(Text, default="")
    position: Mapped[int] = mapped_column(default=0)
    # Participation criteria shown to participants: an initial post and N replies to others by the end date.
    initial_posts_required: Mapped[int] = mapped_column(default=1)
    replies_required: Mapped[int] = mapped_column(default=2)
    # How each cohort's thread for this reading starts (a facilitator may change a thread afterwards).
    post_first: Mapped[PostFirst] = mapped_column(_enum(PostFirst), default=PostFirst.after_n_posts)
    post_first_n: Mapped[int] = mapped_column(default=1)
    anonymous_to_peers: Mapped[bool] = mapped_column(default=False)

    book: Mapped[Book] = relationship(back_populates="readings")


class Thread(Base):
    __tablename__ = "thread"
    __table_args__ = (
        UniqueConstraint("cohort_id", "reading_id"),
        CheckConstraint("post_first_n >= 1", name="post_first_n_positive"),
        Index("ix_thread_cohort_pinned", "cohort_id", "pinned"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohort.id", ondelete="CASCADE"))
    reading_id: Mapped[int | None] = mapped_column(ForeignKey("reading.id", ondelete="SET NULL"))
    title: Mapped[str] = mapped_column(String(300))
    prompt_markdown: Mapped[str] = mapped_column(Text, default="")
    prompt_html: Mapped[str] = mapped_column(Text, default="")
    post_first: Mapped[PostFirst] = mapped_column(_enum(PostFirst), default=PostFirst.none)
    post_first_n: Mapped[int] = mapped_column(default=1)
    post_first_at: Mapped[dt.datetime | None]
    revealed: Mapped[bool] = mapped_column(default=False)
    pinned: Mapped[bool] = mapped_column(default=False)
    locked: Mapped[bool] = mapped_column(default=False)
    lock_reason: Mapped[str] = mapped_column(Text, default="")
    anonymous_to_peers: Mapped[bool] = mapped_column(default=False)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("membership.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    cohort: Mapped[Cohort] = relationship()
    reading: Mapped[Reading | None] = relationship()
    created_by: Mapped[Membership | None] = relationship()


class Post(Base):
    __tablename__ = "post"
    __table_args__ = (
        Index("ix_post_thread_id", "thread_id", "id"),
        Index("ix_post_thread_author", "thread_id", "author_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    thread_id: Mapped[int] = mapped_column(ForeignKey("thread.id", ondelete="CASCADE"))
    author_id: Mapped[int] = mapped_column(ForeignKey("membership.id", ondelete="CASCADE"), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("post.id", ondelete="SET NULL"), index=True)
    body_markdown: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)          # sanitised when written, never at display time
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    edited_at: Mapped[dt.datetime | None]
    deleted_at: Mapped[dt.datetime | None]                # shows as "removed"; replies stay
    hidden: Mapped[bool] = mapped_column(default=False)
    hidden_reason: Mapped[str] = mapped_column(Text, default="")
    hidden_by_id: Mapped[int | None] = mapped_column(ForeignKey("membership.id", ondelete="SET NULL"))
    hidden_at: Mapped[dt.datetime | None]

    thread: Mapped[Thread] = relationship()
    author: Mapped[Membership] = relationship(foreign_keys=[author_id])
    parent: Mapped[Post | None] = relationship(remote_side=[id])


class PostRevision(Base):
    """An earlier version of an edited post (facilitators may read them)."""

    __tablename__ = "post_revision"

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("post.id", ondelete="CASCADE"), index=True)
    body_markdown: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    written_at: Mapped[dt.datetime]                       # when this version was written
    replaced_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ReactionKind(str, enum.Enum):
    helpful = "helpful"
    agree = "agree"
    thanks = "thanks"

    @property
    def label(self) -> str:
        return {"helpful": "Helpful", "agree": "Agree", "thanks": "Thanks"}[self.value]


class Reaction(Base):
    __tablename__ = "reaction"
    __table_args__ = (UniqueConstraint("post_id", "membership_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("post.id", ondelete="CASCADE"), index=True)
    membership_id: Mapped[int] = mapped_column(ForeignKey("membership.id", ondelete="CASCADE"), index=True)
    kind: Mapped[ReactionKind] = mapped_column(_enum(ReactionKind))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    membership: Mapped[Membership] = relationship()


class ReadState(Base):
    """How far a person has read a thread: every visible post with a larger id is unread (one aggregate)."""

    __tablename__ = "read_state"
    __table_args__ = (UniqueConstraint("membership_id", "thread_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    membership_id: Mapped[int] = mapped_column(ForeignKey("membership.id", ondelete="CASCADE"))
    thread_id: Mapped[int] = mapped_column(ForeignKey("thread.id", ondelete="CASCADE"), index=True)
    last_read_post_id: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class NotificationKind(str, enum.Enum):
    mention = "mention"
    reply = "reply"
    new_thread = "new_thread"
    hidden = "hidden"          # a facilitator hid your post (with the reason)

    @property
    def label(self) -> str:
        return {"mention": "mentioned you", "reply": "replied to your post", "new_thread": "started a thread",
                "hidden": "hid your post"}[self.value]


class Notification(Base):
    __tablename__ = "discussion_notification"
    __table_args__ = (Index("ix_discussion_notification_recipient", "recipient_id", "read_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient_id: Mapped[int] = mapped_column(ForeignKey("membership.id", ondelete="CASCADE"))
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohort.id", ondelete="CASCADE"), index=True)
    kind: Mapped[NotificationKind] = mapped_column(_enum(NotificationKind))
    thread_id: Mapped[int | None] = mapped_column(ForeignKey("thread.id", ondelete="CASCADE"))
    post_id: Mapped[int | None] = mapped_column(ForeignKey("post.id", ondelete="CASCADE"))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("membership.id", ondelete="SET NULL"))
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    read_at: Mapped[dt.datetime | None]
    emailed_at: Mapped[dt.datetime | None]

    recipient: Mapped[Membership] = relationship(foreign_keys=[recipient_id])
    actor: Mapped[Membership | None] = relationship(foreign_keys=[actor_id])
    thread: Mapped[Thread | None] = relationship()
    post: Mapped[Post | None] = relationship()


class EmailMode(str, enum.Enum):
    off = "off"
    each = "each"
    digest = "digest"

    @property
    def label(self) -> str:
        return {"off": "No email", "each": "An email for each notification",
                "digest": "One daily digest"}[self.value]


class NotificationPreference(Base):
    __tablename__ = "discussion_preference"

    id: Mapped[int] = mapped_column(primary_key=True)
    membership_id: Mapped[int] = mapped_column(ForeignKey("membership.id", ondelete="CASCADE"), unique=True)
    email_mode: Mapped[EmailMode] = mapped_column(_enum(EmailMode), default=EmailMode.off)
    last_digest_at: Mapped[dt.datetime | None]


class ModerationLog(Base):
    __tablename__ = "moderation_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohort.id", ondelete="CASCADE"), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("membership.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(40))     # pin, unpin, lock, unlock, hide, unhide, move, reveal, ...
    thread_id: Mapped[int | None] = mapped_column(ForeignKey("thread.id", ondelete="SET NULL"))
    post_id: Mapped[int | None] = mapped_column(ForeignKey("post.id", ondelete="SET NULL"))
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    actor: Mapped[Membership | None] = relationship()


class Report(Base):
    __tablename__ = "post_report"
    __table_args__ = (UniqueConstraint("post_id", "reporter_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("post.id", ondelete="CASCADE"), index=True)
    reporter_id: Mapped[int] = mapped_column(ForeignKey("membership.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[dt.datetime | None]
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("membership.id", ondelete="SET NULL"))

    post: Mapped[Post] = relationship()
    reporter: Mapped[Membership] = relationship(foreign_keys=[reporter_id])


class CohortDiscussionSettings(Base):
    __tablename__ = "cohort_discussion_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohort.id", ondelete="CASCADE"), unique=True)
    # Who may start general threads: "facilitators" or "everyone".
    general_threads_by: Mapped[str] = mapped_column(String(16), default="facilitators")


class ProgramDiscussionSettings(Base):
    __tablename__ = "program_discussion_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("program.id", ondelete="CASCADE"), unique=True)
    observers_may_read: Mapped[bool] = mapped_column(default=False)
    email_enabled: Mapped[bool] = mapped_column(default=False)


class ParticipationOverride(Base):
    """A facilitator's score for one person and one book, replacing the computed one (with a comment)."""

    __tablename__ = "participation_override"
    __table_args__ = (UniqueConstraint("book_id", "membership_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    book_id: Mapped[int] = mapped_column(ForeignKey("book.id", ondelete="CASCADE"), index=True)
    membership_id: Mapped[int] = mapped_column(ForeignKey("membership.id", ondelete="CASCADE"))
    score: Mapped[float] = mapped_column(Float)
    comment: Mapped[str] = mapped_column(Text, default="")
    by_id: Mapped[int | None] = mapped_column(ForeignKey("membership.id", ondelete="SET NULL"))
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
