"""Live sessions ("meetings", so they never collide with the web session), their series, and feed tokens."""
from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import CheckConstraint, Enum, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lti_tool.db import Base, TimestampMixin
from lti_tool.lti.models import Membership
from lti_tool.programs.models import Cohort, Program


class MeetingKind(str, enum.Enum):
    kickoff = "kickoff"
    virtual = "virtual"
    deep_dive = "deep_dive"
    close_out = "close_out"

    @property
    def label(self) -> str:
        return {"kickoff": "Kick-off", "virtual": "Virtual group session",
                "deep_dive": "In-person deep dive", "close_out": "Close-out / showcase"}[self.value]


class MeetingSeries(TimestampMixin, Base):
    """Meetings created together from one rule ("second Thursday of each month, October to May")."""

    __tablename__ = "meeting_series"

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("program.id", ondelete="CASCADE"), index=True)
    rule: Mapped[str] = mapped_column(Text)          # RFC 5545 RRULE, in the program's time zone
    description: Mapped[str] = mapped_column(String(255), default="")


class Meeting(TimestampMixin, Base):
    __tablename__ = "meeting"
    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        CheckConstraint("break_minutes >= 0", name="break_not_negative"),
        Index("ix_meeting_program_start", "program_id", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("program.id", ondelete="CASCADE"))
    cohort_id: Mapped[int | None] = mapped_column(ForeignKey("cohort.id", ondelete="CASCADE"), index=True)
    series_id: Mapped[int | None] = mapped_column(ForeignKey("meeting_series.id", ondelete="SET NULL"), index=True)
    kind: Mapped[MeetingKind] = mapped_column(Enum(MeetingKind, native_enum=False, length=16))
    title: Mapped[str] = mapped_column(String(200))
    starts_at: Mapped[dt.datetime]
    ends_at: Mapped[dt.datetime]
    meeting_url: Mapped[str] = mapped_column(String(1024), default="")
    location: Mapped[str] = mapped_column(String(500), default="")
    agenda: Mapped[str] = mapped_column(Text, default="")
    cancelled: Mapped[bool] = mapped_column(default=False)
    # Breaks and a non-working lunch do not count as contact time (IACET): PD hours subtract them.
    break_minutes: Mapped[int] = mapped_column(default=0, server_default="0")

    program: Mapped[Program] = relationship()
    cohort: Mapped[Cohort | None] = relationship()
    series: Mapped[MeetingSeries | None] = relationship()

    @property
    def duration_minutes(self) -> int:
        return int((self.ends_at - self.starts_at).total_seconds() // 60)

    @property
    def contact_minutes(self) -> int:
        """The scheduled time less its breaks: the most a session can credit toward PD hours."""
        return max(self.duration_minutes - (self.break_minutes or 0), 0)


class CalendarToken(TimestampMixin, Base):
    """The private, revocable token of a person's iCal feed URL."""

    __tablename__ = "calendar_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    membership_id: Mapped[int] = mapped_column(ForeignKey("membership.id", ondelete="CASCADE"), index=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    revoked_at: Mapped[dt.datetime | None]

    membership: Mapped[Membership] = relationship()
