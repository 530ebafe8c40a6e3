"""PD hours: a program's conversion profile (unit, rounding, caps per category, the credit of a reading) and the
lines a lead enters by hand (with a reason, kept with who and when). Every other ledger line is derived from
the records it comes from (attendance, module completions, book-study posts) each time it is read: see
``ledger.py`` and ``sources.py``."""
from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Date, Enum, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lti_tool.db import Base, TimestampMixin, utcnow
from lti_tool.lti.models import Membership


def _enum(cls: type[enum.Enum]) -> Enum:
    return Enum(cls, native_enum=False, length=24, validate_strings=True)


class Category(str, enum.Enum):
    """What a ledger line counts as (G3.1). Caps are set per category."""

    live = "live"                 # live group sessions (kick-off, monthly, close-out)
    deep_dive = "deep_dive"       # the in-person deep dive
    module = "module"             # asynchronous module items (independent study)
    book_study = "book_study"     # readings whose discussion criteria were met
    protocol = "protocol"         # problem-of-practice protocol runs (a source added with lti_tool/protocols)
    make_up = "make_up"           # approved make-ups of missed sessions
    other = "other"               # lines a lead entered by hand

    @property
    def label(self) -> str:
        return CATEGORY_LABELS[self]


CATEGORY_LABELS = {
    Category.live: "Live sessions", Category.deep_dive: "Deep dive", Category.module: "Asynchronous modules",
    Category.book_study: "Book study", Category.protocol: "Protocols", Category.make_up: "Make-ups",
    Category.other: "Other (entered by a lead)",
}


class Unit(str, enum.Enum):
    clock_hour = "clock_hour"
    contact_hour = "contact_hour"         # 60 minutes (IACET)
    contact_hour_50 = "contact_hour_50"   # 50 minutes (some approvers)
    ceu = "ceu"                           # 1 CEU = 10 contact hours, in tenths
    pdp = "pdp"                           # Massachusetts: 1 clock hour = 1 PDP
    cpe = "cpe"                           # Texas: 1 clock hour = 1 CPE hour

    @property
    def label(self) -> str:
        return UNIT_LABELS[self][0]

    @property
    def short(self) -> str:
        return UNIT_LABELS[self][1]

    @property
    def minutes(self) -> int:
        """Minutes of contact time in one unit."""
        return UNIT_LABELS[self][2]


UNIT_LABELS = {
    Unit.clock_hour: ("Clock hours", "clock hours", 60),
    Unit.contact_hour: ("Contact hours (60 minutes)", "contact hours", 60),
    Unit.contact_hour_50: ("Contact hours (50 minutes)", "contact hours", 50),
    Unit.ceu: ("CEUs (1 CEU = 10 contact hours)", "CEUs", 600),
    Unit.pdp: ("PDPs (1 clock hour = 1 PDP)", "PDPs", 60),
    Unit.cpe: ("CPE hours", "CPE hours", 60),
}


class Rounding(str, enum.Enum):
    none = "none"                 # two decimals
    down_quarter = "down_quarter"
    down_half = "down_half"
    down_whole = "down_whole"
    down_tenth = "down_tenth"     # CEUs are awarded in tenths

    @property
    def label(self) -> str:
        return {"none": "No rounding (two decimals)", "down_quarter": "Down to the quarter",
                "down_half": "Down to the half", "down_whole": "Down to the whole unit",
                "down_tenth": "Down to the tenth"}[self.value]

    @property
    def step(self) -> float | None:
        return {"none": None, "down_quarter": 0.25, "down_half": 0.5, "down_whole": 1.0, "down_tenth": 0.1}[self.value]


class HoursProfile(TimestampMixin, Base):
    """How a program turns minutes into the unit its certificates show. One per program; the defaults (clock
    hours to the quarter, no caps) hold while a lead has saved none."""

    __tablename__ = "hours_profile"
    __table_args__ = (
        CheckConstraint("reading_minutes >= 0 AND excused_percent >= 0 AND excused_percent <= 100",
                        name="credits_in_range"),
        CheckConstraint("required_units IS NULL OR required_units > 0", name="required_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("program.id", ondelete="CASCADE"), unique=True)
    unit: Mapped[Unit] = mapped_column(_enum(Unit), default=Unit.clock_hour)
    rounding: Mapped[Rounding] = mapped_column(_enum(Rounding), default=Rounding.down_quarter)
    # category value → the most it may make of the credited total, in percent (Texas: independent study ≤ 20).
    caps: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    reading_minutes: Mapped[int] = mapped_column(default=60)      # a reading whose discussion criteria were met
    excused_percent: Mapped[int] = mapped_column(default=0)       # of the session's time, for an excused absence
    required_units: Mapped[float | None]                         # e.g. 150 PDPs; None: no minimum
    # What the certificate says (Colorado's checklist): provider, place, signer.
    provider: Mapped[str] = mapped_column(String(200), default="")
    location: Mapped[str] = mapped_column(String(200), default="Virtual")
    signer_name: Mapped[str] = mapped_column(String(200), default="")
    signer_title: Mapped[str] = mapped_column(String(200), default="")
    certificates_enabled: Mapped[bool] = mapped_column(default=False)
    open_badges: Mapped[bool] = mapped_column(default=False)


class ManualLine(Base):
    """A line a lead enters by hand (a conference day, hours carried over): never without a reason, kept with
    who entered it; removing it keeps the row, with who removed it and why."""

    __tablename__ = "hours_manual_line"
    __table_args__ = (CheckConstraint("minutes > 0", name="minutes_positive"),
                      Index("ix_hours_manual_line_program_person", "program_id", "membership_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("program.id", ondelete="CASCADE"))
    membership_id: Mapped[int] = mapped_column(ForeignKey("membership.id", ondelete="CASCADE"))
    category: Mapped[Category] = mapped_column(_enum(Category), default=Category.other)
    on_date: Mapped[dt.date] = mapped_column(Date)
    minutes: Mapped[int] = mapped_column()
    title: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text)
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("membership.id", ondelete="SET NULL"))
    entered_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    removed_by_id: Mapped[int | None] = mapped_column(ForeignKey("membership.id", ondelete="SET NULL"))
    removed_at: Mapped[dt.datetime | None]
    removed_reason: Mapped[str] = mapped_column(Text, default="")

    membership: Mapped[Membership] = relationship(foreign_keys=[membership_id])
    entered_by: Mapped[Membership | None] = relationship(foreign_keys=[entered_by_id])
