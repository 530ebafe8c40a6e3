"""A program year per LMS course; its cohorts, who is in them, applications, small groups, proposals,
and the milestones of the program's timeline."""
from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Date, Enum, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lti_tool.db import Base, TimestampMixin
from lti_tool.lti.models import Course, Membership


def _enum(cls: type[enum.Enum]) -> Enum:
    return Enum(cls, native_enum=False, length=24, validate_strings=True)


class Program(TimestampMixin, Base):
    """The Community of Practice year of one LMS course."""

    __tablename__ = "program"

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id", ondelete="CASCADE"), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    year_label: Mapped[str] = mapped_column(String(40), default="")     # "2026–27"
    description: Mapped[str] = mapped_column(Text, default="")
    timezone: Mapped[str] = mapped_column(String(64), default="America/New_York")
    starts_on: Mapped[dt.date | None] = mapped_column(Date)
    ends_on: Mapped[dt.date | None] = mapped_column(Date)
    # Facilitator proposals ("the RFP"): any course member may propose a cohort in this window.
    proposals_open_at: Mapped[dt.datetime | None]
    proposals_close_at: Mapped[dt.datetime | None]
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    course: Mapped[Course] = relationship()
    cohorts: Mapped[list[Cohort]] = relationship(back_populates="program", order_by="Cohort.name")
    milestones: Mapped[list[Milestone]] = relationship(back_populates="program", order_by="Milestone.on_date",
                                                       cascade="all, delete-orphan")


class MilestoneKind(str, enum.Enum):
    proposals_open = "proposals_open"
    proposal_deadline = "proposal_deadline"
    offerings_final = "offerings_final"
    orientation = "orientation"
    signup_opens = "signup_opens"
    signup_deadline = "signup_deadline"
    kickoff = "kickoff"
    close_out = "close_out"
    other = "other"


class Milestone(TimestampMixin, Base):
    __tablename__ = "milestone"

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("program.id", ondelete="CASCADE"), index=True)
    kind: Mapped[MilestoneKind] = mapped_column(_enum(MilestoneKind))
    title: Mapped[str] = mapped_column(String(200))
    on_date: Mapped[dt.date] = mapped_column(Date)
    note: Mapped[str] = mapped_column(Text, default="")

    program: Mapped[Program] = relationship(back_populates="milestones")


class CohortKind(str, enum.Enum):
    role_alike = "role_alike"
    topic = "topic"
    affinity = "affinity"

    @property
    def label(self) -> str:
        return {"role_alike": "Role-alike", "topic": "Topic", "affinity": "Affinity group"}[self.value]


class SignupMode(str, enum.Enum):
    open = "open"
    application = "application"
    invitation = "invitation"

    @property
    def label(self) -> str:
        return {"open": "Open sign-up", "application": "Application", "invitation": "Invitation only"}[self.value]


class Cohort(TimestampMixin, Base):
    __tablename__ = "cohort"
    __table_args__ = (
        UniqueConstraint("program_id", "name"),
        CheckConstraint("capacity >= 1", name="capacity_positive"),
        CheckConstraint("signup_closes_at IS NULL OR signup_opens_at IS NULL OR signup_closes_at > signup_opens_at",
                        name="window_order"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("program.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[CohortKind] = mapped_column(_enum(CohortKind), default=CohortKind.topic)
    description: Mapped[str] = mapped_column(Text, default="")
    capacity: Mapped[int] = mapped_column(default=20)
    signup_mode: Mapped[SignupMode] = mapped_column(_enum(SignupMode), default=SignupMode.open)
    signup_opens_at: Mapped[dt.datetime | None]
    signup_closes_at: Mapped[dt.datetime | None]
    meeting_url: Mapped[str] = mapped_column(String(1024), default="")   # the cohort's usual video room

    program: Mapped[Program] = relationship(back_populates="cohorts")
    facilitators: Mapped[list[CohortFacilitator]] = relationship(back_populates="cohort", cascade="all, delete-orphan")
    members: Mapped[list[CohortMember]] = relationship(back_populates="cohort", cascade="all, delete-orphan")
    questions: Mapped[list[ApplicationQuestion]] = relationship(
        back_populates="cohort", order_by="ApplicationQuestion.position", cascade="all, delete-orphan")
    groups: Mapped[list[SmallGroup]] = relationship(back_populates="cohort", order_by="SmallGroup.name",
                                                    cascade="all, delete-orphan")

    def signup_is_open(self, now: dt.datetime) -> bool:
        return (self.signup_opens_at is None or self.signup_opens_at <= now) and \
            (self.signup_closes_at is None or now < self.signup_closes_at)


class CohortFacilitator(TimestampMixin, Base):
    __tablename__ = "cohort_facilitator"
    __table_args__ = (UniqueConstraint("cohort_id", "membership_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohort.id", ondelete="CASCADE"), index=True)
    membership_id: Mapped[int] = mapped_column(ForeignKey("membership.id", ondelete="CASCADE"), index=True)

    cohort: Mapped[Cohort] = relationship(back_populates="facilitators")
    membership: Mapped[Membership] = relationship()


class SeatStatus(str, enum.Enum):
    active = "active"          # holds a seat
    waitlisted = "waitlisted"  # waiting for a seat, in order of waitlisted_at
    invited = "invited"        # invited by a facilitator, not yet accepted
    withdrawn = "withdrawn"    # left by themselves
    removed = "removed"        # removed by a facilitator


class CohortMember(TimestampMixin, Base):
    """A participant's place in a cohort. Rows are never deleted: leaving keeps the history."""

    __tablename__ = "cohort_member"
    __table_args__ = (
        UniqueConstraint("cohort_id", "membership_id"),
        Index("ix_cohort_member_cohort_status", "cohort_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohort.id", ondelete="CASCADE"))
    membership_id: Mapped[int] = mapped_column(ForeignKey("membership.id", ondelete="CASCADE"), index=True)
    status: Mapped[SeatStatus] = mapped_column(_enum(SeatStatus))
    source: Mapped[str] = mapped_column(String(24), default="signup")  # signup, application, invitation, facilitator
    joined_at: Mapped[dt.datetime | None]
    waitlisted_at: Mapped[dt.datetime | None]
    left_at: Mapped[dt.datetime | None]

    cohort: Mapped[Cohort] = relationship(back_populates="members")
    membership: Mapped[Membership] = relationship()


class ApplicationQuestion(TimestampMixin, Base):
    __tablename__ = "application_question"

    id: Mapped[int] = mapped_column(primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohort.id", ondelete="CASCADE"), index=True)
    prompt: Mapped[str] = mapped_column(Text)
    required: Mapped[bool] = mapped_column(default=True)
    position: Mapped[int] = mapped_column(default=0)

    cohort: Mapped[Cohort] = relationship(back_populates="questions")


class ApplicationStatus(str, enum.Enum):
    submitted = "submitted"
    accepted = "accepted"
    waitlisted = "waitlisted"
    declined = "declined"
    withdrawn = "withdrawn"


class Application(TimestampMixin, Base):
    """An application to a cohort: answers seen only by the applicant and the cohort's reviewers."""

    __tablename__ = "application"
    __table_args__ = (UniqueConstraint("cohort_id", "membership_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohort.id", ondelete="CASCADE"), index=True)
    membership_id: Mapped[int] = mapped_column(ForeignKey("membership.id", ondelete="CASCADE"), index=True)
    status: Mapped[ApplicationStatus] = mapped_column(_enum(ApplicationStatus), default=ApplicationStatus.submitted)
    answers: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)   # question id → answer
    submitted_at: Mapped[dt.datetime | None]
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("membership.id", ondelete="SET NULL"))
    reviewed_at: Mapped[dt.datetime | None]
    review_note: Mapped[str] = mapped_column(Text, default="")

    cohort: Mapped[Cohort] = relationship()
    membership: Mapped[Membership] = relationship(foreign_keys=[membership_id])
    reviewed_by: Mapped[Membership | None] = relationship(foreign_keys=[reviewed_by_id])


class SmallGroup(TimestampMixin, Base):
    """Triads, reading groups: a few members of one cohort."""

    __tablename__ = "small_group"
    __table_args__ = (UniqueConstraint("cohort_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohort.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120))

    cohort: Mapped[Cohort] = relationship(back_populates="groups")
    members: Mapped[list[SmallGroupMember]] = relationship(back_populates="group", cascade="all, delete-orphan")


class SmallGroupMember(Base):
    __tablename__ = "small_group_member"
    __table_args__ = (UniqueConstraint("group_id", "membership_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("small_group.id", ondelete="CASCADE"), index=True)
    membership_id: Mapped[int] = mapped_column(ForeignKey("membership.id", ondelete="CASCADE"), index=True)

    group: Mapped[SmallGroup] = relationship(back_populates="members")
    membership: Mapped[Membership] = relationship()


class ProposalStatus(str, enum.Enum):
    submitted = "submitted"
    changes_requested = "changes_requested"
    accepted = "accepted"
    declined = "declined"


class Proposal(TimestampMixin, Base):
    """A facilitator proposal: a course member offers to run a cohort; the lead decides."""

    __tablename__ = "proposal"

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("program.id", ondelete="CASCADE"), index=True)
    proposer_id: Mapped[int] = mapped_column(ForeignKey("membership.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    kind: Mapped[CohortKind] = mapped_column(_enum(CohortKind))
    description: Mapped[str] = mapped_column(Text)
    audience: Mapped[str] = mapped_column(Text, default="")
    format: Mapped[str] = mapped_column(Text, default="")
    proposed_sessions: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[ProposalStatus] = mapped_column(_enum(ProposalStatus), default=ProposalStatus.submitted)
    review_note: Mapped[str] = mapped_column(Text, default="")
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("membership.id", ondelete="SET NULL"))
    reviewed_at: Mapped[dt.datetime | None]
    cohort_id: Mapped[int | None] = mapped_column(ForeignKey("cohort.id", ondelete="SET NULL"))

    program: Mapped[Program] = relationship()
    proposer: Mapped[Membership] = relationship(foreign_keys=[proposer_id])
    cohort: Mapped[Cohort | None] = relationship()
