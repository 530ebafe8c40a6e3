"""Graded components (one LMS gradebook column each) and the score outbox.

The outbox row, not the task, is the record of what must reach the LMS: it is written in the same
transaction as the change that caused the score, and a worker delivers it with retries.
"""
from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import CheckConstraint, Enum, Float, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lti_tool.db import Base, TimestampMixin
from lti_tool.lti.models import Course, Membership, ResourceLink


class ComponentKind(str, enum.Enum):
    attendance = "attendance"
    discussion = "discussion"
    module = "module"
    final_product = "final_product"
    completion = "completion"

    @property
    def label(self) -> str:
        return {"attendance": "Attendance", "discussion": "Book study", "module": "Module",
                "final_product": "Final product", "completion": "Completion rule"}[self.value]


class GradedComponent(TimestampMixin, Base):
    """One gradebook column in the LMS course, kept in step with its label and maximum."""

    __tablename__ = "graded_component"
    __table_args__ = (UniqueConstraint("course_id", "key"), CheckConstraint("score_maximum > 0", name="max_positive"))

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(120))          # "attendance", "module:12": also the AGS resourceId
    kind: Mapped[ComponentKind] = mapped_column(Enum(ComponentKind, native_enum=False, length=24))
    label: Mapped[str] = mapped_column(String(255))
    score_maximum: Mapped[float] = mapped_column(Float, default=100.0)
    tag: Mapped[str] = mapped_column(String(120), default="")
    resource_link_id: Mapped[int | None] = mapped_column(ForeignKey("resource_link.id", ondelete="SET NULL"))
    lineitem_url: Mapped[str | None] = mapped_column(String(1024))
    # Set while one worker creates the column, so two workers never create two columns.
    lineitem_claimed_at: Mapped[dt.datetime | None]
    # What the LMS column was last told (label, maximum): a change makes it "needs update".
    synced_label: Mapped[str | None] = mapped_column(String(255))
    synced_maximum: Mapped[float | None] = mapped_column(Float)
    sync_error: Mapped[str] = mapped_column(Text, default="")
    active: Mapped[bool] = mapped_column(default=True)

    course: Mapped[Course] = relationship()
    resource_link: Mapped[ResourceLink | None] = relationship()

    @property
    def in_step(self) -> bool:
        return bool(self.lineitem_url) and self.synced_label == self.label and self.synced_maximum == self.score_maximum


class DeliveryStatus(str, enum.Enum):
    pending = "pending"        # waiting for a worker (maybe after a failed attempt)
    sending = "sending"        # claimed by a worker
    sent = "sent"
    failed = "failed"          # the LMS refused it for good (e.g. not a learner there); shown with the reason
    superseded = "superseded"  # a newer score for the same person and column replaced it before it was sent


class ScoreDelivery(TimestampMixin, Base):
    __tablename__ = "score_delivery"
    __table_args__ = (
        Index("ix_score_delivery_due", "status", "next_attempt_at"),
        Index("ix_score_delivery_component_member", "component_id", "membership_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    component_id: Mapped[int] = mapped_column(ForeignKey("graded_component.id", ondelete="CASCADE"))
    membership_id: Mapped[int] = mapped_column(ForeignKey("membership.id", ondelete="CASCADE"))
    score_given: Mapped[float | None] = mapped_column(Float)
    score_maximum: Mapped[float] = mapped_column(Float)
    comment: Mapped[str] = mapped_column(Text, default="")
    activity_progress: Mapped[str] = mapped_column(String(24), default="Completed")
    grading_progress: Mapped[str] = mapped_column(String(24), default="FullyGraded")
    # The score's own time, strictly increasing per person and column (Canvas refuses older timestamps).
    scored_at: Mapped[dt.datetime]
    status: Mapped[DeliveryStatus] = mapped_column(Enum(DeliveryStatus, native_enum=False, length=16),
                                                   default=DeliveryStatus.pending)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[dt.datetime]
    claimed_at: Mapped[dt.datetime | None]
    claim: Mapped[str | None] = mapped_column(String(40), index=True)
    sent_at: Mapped[dt.datetime | None]
    last_error: Mapped[str] = mapped_column(Text, default="")
    last_status_code: Mapped[int | None]

    component: Mapped[GradedComponent] = relationship()
    membership: Mapped[Membership] = relationship()
