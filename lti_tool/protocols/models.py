"""Protocol runs: a program's own scripts (copies of the built-in ones in ``library``, adapted by a lead, with
a version number that grows at each edit), and the runs of a script for a cohort or one of its small groups:
the phases as they were when the run was made (a later edit of the script never changes a run), who holds
which role, the presenter's problem of practice with its files, and the contributions posted in each phase.
A run's phases, roles and contributions are its record: confidential to its members."""
from __future__ import annotations

import datetime as dt
import enum
from sqlalchemy import JSON, CheckConstraint, Enum, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lti_tool.db import Base, TimestampMixin, utcnow
from lti_tool.lti.models import Membership
from lti_tool.programs.models import Cohort, SmallGroup


def _enum(cls: type[enum.Enum]) -> Enum:
    # The values are stored ("async", not the member's name async_).
    return Enum(cls, native_enum=False, length=16, validate_strings=True,
                values_callable=lambda members: [m.value for m in members])


class ProtocolScript(TimestampMixin, Base):
    """A program's own script: a copy of a built-in one (``source_key``) or of another script, adapted."""

    __tablename__ = "protocol_script"
    __table_args__ = (CheckConstraint("version >= 1", name="version_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("program.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    source_key: Mapped[str] = mapped_column(String(40), default="")     # the built-in it was copied from
    version: Mapped[int] = mapped_column(default=1)
    archived: Mapped[bool] = mapped_column(default=False)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("membership.id", ondelete="SET NULL"))

    phases: Mapped[list[ScriptPhase]] = relationship(order_by="ScriptPhase.position", cascade="all, delete-orphan")

    @property
    def total_minutes(self) -> int:
        return sum(p.minutes for p in self.phases)


class ScriptPhase(Base):
    __tablename__ = "protocol_script_phase"
    __table_args__ = (UniqueConstraint("script_id", "position"),
                      CheckConstraint("minutes >= 1", name="minutes_positive"))

    id: Mapped[int] = mapped_column(primary_key=True)
    script_id: Mapped[int] = mapped_column(ForeignKey("protocol_script.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column()
    name: Mapped[str] = mapped_column(String(120))
    minutes: Mapped[int] = mapped_column()
    instructions: Mapped[str] = mapped_column(Text, default="")
    roles: Mapped[list[str]] = mapped_column(JSON, default=list)      # library.Role values who may contribute
    kind: Mapped[str] = mapped_column(String(16), default="")         # library.Kind value, or "" (nothing)


class RunMode(str, enum.Enum):
    live = "live"           # together, on one clock the facilitator moves
    async_ = "async"        # over days, each phase closing at its deadline

    @property
    def label(self) -> str:
        return {"live": "Live", "async": "Asynchronous"}[self.value]


class RunStatus(str, enum.Enum):
    scheduled = "scheduled"
    running = "running"
    paused = "paused"
    completed = "completed"
    cancelled = "cancelled"

    @property
    def label(self) -> str:
        return self.value.capitalize()


class ProtocolRun(TimestampMixin, Base):
    """One run of a script. ``version`` is the optimistic-concurrency counter: every change of the run's row
    (start, pause, advance…) is an UPDATE … WHERE version = the version read, so two facilitators pressing
    "Next phase" at once move it on once and the second is told."""

    __tablename__ = "protocol_run"
    __table_args__ = (Index("ix_protocol_run_program_cohort", "program_id", "cohort_id"),
                      CheckConstraint("total_minutes >= 1", name="total_positive"))

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("program.id", ondelete="CASCADE"))
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohort.id", ondelete="CASCADE"), index=True)
    group_id: Mapped[int | None] = mapped_column(ForeignKey("small_group.id", ondelete="SET NULL"))
    script_id: Mapped[int | None] = mapped_column(ForeignKey("protocol_script.id", ondelete="SET NULL"))
    script_key: Mapped[str] = mapped_column(String(40), default="")        # the built-in's key, if from one
    script_name: Mapped[str] = mapped_column(String(200))
    script_version: Mapped[int] = mapped_column(default=1)
    title: Mapped[str] = mapped_column(String(200))
    mode: Mapped[RunMode] = mapped_column(_enum(RunMode), default=RunMode.live)
    status: Mapped[RunStatus] = mapped_column(_enum(RunStatus), default=RunStatus.scheduled)
    total_minutes: Mapped[int] = mapped_column()
    scheduled_for: Mapped[dt.datetime | None]
    current_position: Mapped[int | None]
    phase_ends_at: Mapped[dt.datetime | None]        # live, running: when the current phase ends
    paused_remaining: Mapped[int | None]             # live, paused: seconds left in the current phase
    closes_at: Mapped[dt.datetime | None]            # async: the last phase's deadline
    started_at: Mapped[dt.datetime | None]
    completed_at: Mapped[dt.datetime | None]
    problem_text: Mapped[str] = mapped_column(Text, default="")        # the presenter's problem (Markdown)
    problem_html: Mapped[str] = mapped_column(Text, default="")        # … sanitised
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("membership.id", ondelete="SET NULL"))
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}

    cohort: Mapped[Cohort] = relationship()
    group: Mapped[SmallGroup | None] = relationship()
    phases: Mapped[list[RunPhase]] = relationship(order_by="RunPhase.position", cascade="all, delete-orphan")
    roles: Mapped[list[RunRole]] = relationship(cascade="all, delete-orphan")
    files: Mapped[list[RunFile]] = relationship(order_by="RunFile.id", cascade="all, delete-orphan")


class RunPhase(Base):
    """A phase of a run as the script had it when the run was made; async runs carry its deadlines."""

    __tablename__ = "protocol_run_phase"
    __table_args__ = (UniqueConstraint("run_id", "position"),
                      CheckConstraint("minutes >= 1", name="minutes_positive"),
                      CheckConstraint("closes_at IS NULL OR opens_at IS NULL OR closes_at > opens_at",
                                      name="deadline_order"))

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("protocol_run.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column()
    name: Mapped[str] = mapped_column(String(120))
    minutes: Mapped[int] = mapped_column()
    instructions: Mapped[str] = mapped_column(Text, default="")
    roles: Mapped[list[str]] = mapped_column(JSON, default=list)
    kind: Mapped[str] = mapped_column(String(16), default="")
    opens_at: Mapped[dt.datetime | None]
    closes_at: Mapped[dt.datetime | None]


class RunRole(Base):
    """Who takes part in a run, and as what (one role each)."""

    __tablename__ = "protocol_run_role"
    __table_args__ = (UniqueConstraint("run_id", "membership_id"),
                      Index("ix_protocol_run_role_person", "membership_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("protocol_run.id", ondelete="CASCADE"))
    membership_id: Mapped[int] = mapped_column(ForeignKey("membership.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(16))      # library.Role value

    membership: Mapped[Membership] = relationship()


class RunFile(Base):
    """A file of the presenter's problem of practice (stored by ``modules.uploads``)."""

    __tablename__ = "protocol_run_file"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("protocol_run.id", ondelete="CASCADE"), index=True)
    stored_name: Mapped[str] = mapped_column(String(64))
    original_name: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(120))
    size: Mapped[int] = mapped_column()
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("membership.id", ondelete="SET NULL"))
    uploaded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Contribution(Base):
    """A question, note, feedback, reflection or debrief posted in a phase of a run (the run's record)."""

    __tablename__ = "protocol_contribution"
    __table_args__ = (Index("ix_protocol_contribution_run_phase", "run_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("protocol_run.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column()                # the phase it was posted in
    membership_id: Mapped[int | None] = mapped_column(ForeignKey("membership.id", ondelete="SET NULL"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(16))
    body: Mapped[str] = mapped_column(Text)                # as written (Markdown)
    body_html: Mapped[str] = mapped_column(Text)           # sanitised
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    membership: Mapped[Membership | None] = relationship()
