"""The completion rule of a program (or of one cohort): its versions (an edit is a new version, previewed before it
applies) and each person's stored state, the last one they were told about.

Pages never read the stored state to say where someone stands: they evaluate the rule from the records each time
(``queries``). The stored state exists so that a change of state is noticed once (one notice, one
``completion_changed`` event, one score in the gradebook outbox), however often the rule is recomputed."""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lti_tool.db import Base, TimestampMixin, utcnow
from lti_tool.lti.models import Membership
from lti_tool.programs.models import Cohort


class CompletionRule(TimestampMixin, Base):
    """The rule of a program (``cohort_id`` None) or the override of one cohort. ``current_version`` is what
    counts; a version saved but not applied yet is a draft (``RuleVersion.applied_at`` None)."""

    __tablename__ = "completion_rule"
    __table_args__ = (UniqueConstraint("program_id", "cohort_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("program.id", ondelete="CASCADE"), index=True)
    cohort_id: Mapped[int | None] = mapped_column(ForeignKey("cohort.id", ondelete="CASCADE"))
    current_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("completion_rule_version.id", ondelete="SET NULL", use_alter=True))
    graded: Mapped[bool] = mapped_column(default=False)              # a gradebook column for the whole rule
    graded_criteria: Mapped[bool] = mapped_column(default=False)     # and one per top-level criterion

    cohort: Mapped[Cohort | None] = relationship()
    current_version: Mapped[RuleVersion | None] = relationship(foreign_keys=[current_version_id],
                                                               post_update=True)


class RuleVersion(Base):
    """One saved version of a rule's tree (see ``rules.py`` for its shape), never changed once saved."""

    __tablename__ = "completion_rule_version"
    __table_args__ = (UniqueConstraint("rule_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # Deferred: deleting a course cascades to the rule (through the program) and sets created_by/applied_by NULL
    # on its versions (through the memberships) in one statement; PostgreSQL checks this key after both.
    rule_id: Mapped[int] = mapped_column(ForeignKey("completion_rule.id", ondelete="CASCADE", deferrable=True,
                                                    initially="DEFERRED"), index=True)
    number: Mapped[int] = mapped_column()
    tree: Mapped[dict[str, Any]] = mapped_column(JSON)
    note: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("membership.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    applied_at: Mapped[dt.datetime | None]
    applied_by_id: Mapped[int | None] = mapped_column(ForeignKey("membership.id", ondelete="SET NULL"))
    discarded_at: Mapped[dt.datetime | None]

    rule: Mapped[CompletionRule] = relationship(foreign_keys=[rule_id])
    created_by: Mapped[Membership | None] = relationship(foreign_keys=[created_by_id])


class CompletionState(Base):
    """A person's last recorded state against their rule (met, on_track, at_risk, cannot_meet) and the state of
    each top-level criterion, with the version it was computed under."""

    __tablename__ = "completion_state"
    __table_args__ = (UniqueConstraint("program_id", "membership_id"),
                      Index("ix_completion_state_membership", "membership_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("program.id", ondelete="CASCADE"))
    membership_id: Mapped[int] = mapped_column(ForeignKey("membership.id", ondelete="CASCADE"))
    version_id: Mapped[int | None] = mapped_column(ForeignKey("completion_rule_version.id", ondelete="SET NULL"))
    state: Mapped[str] = mapped_column(String(16))
    criteria: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)   # criterion id → state
    changed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    met_at: Mapped[dt.datetime | None]
