"""Attendance: the program's statuses with points, one record per (session, person) with its full history,
attendance requirements ("attend at least N of M"), make-up tasks for absences, and the feature's settings."""
from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import CheckConstraint, Date, Enum, Float, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lti_tool.calendar.models import Meeting
from lti_tool.db import Base, TimestampMixin, utcnow
from lti_tool.lti.models import Membership
from lti_tool.programs.models import Cohort, Program


def _enum(cls: type[enum.Enum]) -> Enum:
    return Enum(cls, native_enum=False, length=24, validate_strings=True)


class StatusKind(str, enum.Enum):
    """What a status means to a requirement; a program may rename a status or change its points, the kind
    stays what rules read."""

    present = "present"
    late = "late"
    excused = "excused"
    absent = "absent"
    made_up = "made_up"

    @property
    def label(self) -> str:
        return {"present": "Present", "late": "Late", "excused": "Excused", "absent": "Absent",
                "made_up": "Made up"}[self.value]


class AttendanceStatus(TimestampMixin, Base):
    """One status of a program's set: a short key typed on the quick roll (P), a label, its points."""

    __tablename__ = "attendance_status"
    __table_args__ = (UniqueConstraint("program_id", "key"), CheckConstraint("points >= 0", name="points_positive"))

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("program.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(1))
    label: Mapped[str] = mapped_column(String(60))
    kind: Mapped[StatusKind] = mapped_column(_enum(StatusKind))
    points: Mapped[float] = mapped_column(Float, default=0.0)
    position: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)

    program: Mapped[Program] = relationship()


class AttendanceSettings(TimestampMixin, Base):
    """Per program: the self check-in window, when a check-in counts as late, how the grade is computed."""

    __tablename__ = "attendance_settings"
    __table_args__ = (
        CheckConstraint("checkin_opens_minutes >= 0 AND checkin_closes_minutes >= 0 AND late_after_minutes >= 0",
                        name="minutes_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("program.id", ondelete="CASCADE"), unique=True)
    checkin_opens_minutes: Mapped[int] = mapped_column(default=15)    # before the start
    checkin_closes_minutes: Mapped[int] = mapped_column(default=15)   # after the end
    late_after_minutes: Mapped[int] = mapped_column(default=10)       # after the start
    # "requirement": points earned over the requirement's N, capped; "share": points over the sessions scheduled.
    grade_mode: Mapped[str] = mapped_column(String(16), default="requirement")
    grading_enabled: Mapped[bool] = mapped_column(default=True)


class ExcusedPolicy(str, enum.Enum):
    attended = "attended"   # an excused session counts as attended
    reduces = "reduces"     # an excused session leaves the count; the number required shrinks in proportion

    @property
    def label(self) -> str:
        return {"attended": "Excused counts as attended",
                "reduces": "Excused sessions are left out (fewer required)"}[self.value]


class AttendanceRequirement(TimestampMixin, Base):
    """"Attend at least N of the live sessions": for the whole program (cohort_id NULL) or one cohort, whose
    rule then replaces the program's."""

    __tablename__ = "attendance_requirement"
    __table_args__ = (UniqueConstraint("program_id", "cohort_id"), CheckConstraint("min_sessions >= 1",
                                                                                   name="min_positive"))

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("program.id", ondelete="CASCADE"), index=True)
    cohort_id: Mapped[int | None] = mapped_column(ForeignKey("cohort.id", ondelete="CASCADE"), index=True)
    min_sessions: Mapped[int] = mapped_column()
    excused_policy: Mapped[ExcusedPolicy] = mapped_column(_enum(ExcusedPolicy), default=ExcusedPolicy.reduces)
    made_up_counts: Mapped[bool] = mapped_column(default=True)

    cohort: Mapped[Cohort | None] = relationship()


class AttendanceRecord(TimestampMixin, Base):
    """The status of one person at one session (the latest); ``changes`` keeps every step that led here."""

    __tablename__ = "attendance_record"
    __table_args__ = (UniqueConstraint("meeting_id", "membership_id"),
                      Index("ix_attendance_record_membership", "membership_id"),
                      CheckConstraint("minutes IS NULL OR minutes >= 0", name="minutes_not_negative"))

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id", ondelete="CASCADE"))
    membership_id: Mapped[int] = mapped_column(ForeignKey("membership.id", ondelete="CASCADE"))
    status_id: Mapped[int] = mapped_column(ForeignKey("attendance_status.id", ondelete="RESTRICT"))
    note: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(String(16), default="roll")   # roll, check_in, import, make_up
    marked_by_id: Mapped[int | None] = mapped_column(ForeignKey("membership.id", ondelete="SET NULL"))
    marked_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # Live minutes for PD hours (lti_tool/hours): what the evidence says was attended — the scheduled time for
    # present, less the minutes late from the check-in time, up to a "left early at" time, or a Zoom/Teams
    # report's minutes; None where only the status is known (the ledger then reads the status).
    minutes: Mapped[int | None]
    left_at: Mapped[dt.datetime | None]

    meeting: Mapped[Meeting] = relationship()
    membership: Mapped[Membership] = relationship(foreign_keys=[membership_id])
    status: Mapped[AttendanceStatus] = relationship()
    marked_by: Mapped[Membership | None] = relationship(foreign_keys=[marked_by_id])
    changes: Mapped[list[AttendanceChange]] = relationship(back_populates="record", order_by="AttendanceChange.id",
                                                           cascade="all, delete-orphan")


class AttendanceChange(Base):
    """One change of a record: who, when, from which status to which, with the note given."""

    __tablename__ = "attendance_change"

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("attendance_record.id", ondelete="CASCADE"), index=True)
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("membership.id", ondelete="SET NULL"))
    changed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    from_status_id: Mapped[int | None] = mapped_column(ForeignKey("attendance_status.id", ondelete="SET NULL"))
    to_status_id: Mapped[int] = mapped_column(ForeignKey("attendance_status.id", ondelete="RESTRICT"))
    note: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(String(16), default="roll")

    record: Mapped[AttendanceRecord] = relationship(back_populates="changes")
    changed_by: Mapped[Membership | None] = relationship()
    from_status: Mapped[AttendanceStatus | None] = relationship(foreign_keys=[from_status_id])
    to_status: Mapped[AttendanceStatus] = relationship(foreign_keys=[to_status_id])


class MakeUpStatus(str, enum.Enum):
    assigned = "assigned"     # waiting for the participant's work
    submitted = "submitted"   # waiting for the facilitator
    approved = "approved"     # the record became "made up"
    returned = "returned"     # sent back with a note; the participant may submit again

    @property
    def label(self) -> str:
        return {"assigned": "Waiting for your work", "submitted": "Submitted, waiting for review",
                "approved": "Approved", "returned": "Returned with a note"}[self.value]


class MakeUp(TimestampMixin, Base):
    """A make-up task for one absence ("watch the recording and post a reflection"), the participant's work
    and the facilitator's decision."""

    __tablename__ = "attendance_makeup"

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("attendance_record.id", ondelete="CASCADE"), unique=True)
    task: Mapped[str] = mapped_column(Text)
    # PD hours credited once approved (lti_tool/hours); None: the session's scheduled time.
    minutes: Mapped[int | None]
    due_on: Mapped[dt.date | None] = mapped_column(Date)
    status: Mapped[MakeUpStatus] = mapped_column(_enum(MakeUpStatus), default=MakeUpStatus.assigned)
    assigned_by_id: Mapped[int | None] = mapped_column(ForeignKey("membership.id", ondelete="SET NULL"))
    submission: Mapped[str] = mapped_column(Text, default="")
    submitted_at: Mapped[dt.datetime | None]
    review_note: Mapped[str] = mapped_column(Text, default="")
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("membership.id", ondelete="SET NULL"))
    reviewed_at: Mapped[dt.datetime | None]

    record: Mapped[AttendanceRecord] = relationship()
