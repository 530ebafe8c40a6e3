"""Certificates: one row per issued version (the PDF and the JSON of what it says, frozen at issue), with its
verification code and status, and the history of everything that happened to a person's certificates
(issued, re-issued, revoked, refused because the font lacks a character of the name)."""
from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import JSON, Enum, ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lti_tool.db import Base, utcnow
from lti_tool.lti.models import Membership


def _enum(cls: type[enum.Enum]) -> Enum:
    return Enum(cls, native_enum=False, length=16, validate_strings=True)


class CertificateStatus(str, enum.Enum):
    valid = "valid"
    superseded = "superseded"    # a newer version was issued
    revoked = "revoked"

    @property
    def label(self) -> str:
        return {"valid": "Valid", "superseded": "Superseded by a newer version", "revoked": "Revoked"}[self.value]


class Certificate(Base):
    """One issued version. (program, person, version) is unique, so two issue jobs racing for the same person
    cannot both write version 1: a certificate is never issued twice."""

    __tablename__ = "certificate"
    __table_args__ = (UniqueConstraint("program_id", "membership_id", "version"),
                      Index("ix_certificate_membership", "membership_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("program.id", ondelete="CASCADE"), index=True)
    membership_id: Mapped[int] = mapped_column(ForeignKey("membership.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(default=1)
    code: Mapped[str] = mapped_column(String(32), unique=True)      # normalised: no hyphens, upper case
    status: Mapped[CertificateStatus] = mapped_column(_enum(CertificateStatus), default=CertificateStatus.valid)
    issued_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("membership.id", ondelete="SET NULL"))  # None: the job
    data: Mapped[dict[str, Any]] = mapped_column(JSON)              # what the PDF says, as it was at issue
    pdf: Mapped[bytes] = mapped_column(LargeBinary)
    superseded_at: Mapped[dt.datetime | None]
    revoked_at: Mapped[dt.datetime | None]
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("membership.id", ondelete="SET NULL"))
    revoke_reason: Mapped[str] = mapped_column(Text, default="")

    membership: Mapped[Membership] = relationship(foreign_keys=[membership_id])


class EventKind(str, enum.Enum):
    issued = "issued"
    reissued = "reissued"
    revoked = "revoked"
    refused = "refused"          # not issued: the reason says why (a character the font lacks, hours short)

    @property
    def label(self) -> str:
        return {"issued": "Issued", "reissued": "Re-issued", "revoked": "Revoked", "refused": "Not issued"}[self.value]


class CertificateEvent(Base):
    """The history of a person's certificates in a program (a refusal has no certificate)."""

    __tablename__ = "certificate_event"
    __table_args__ = (Index("ix_certificate_event_program_person", "program_id", "membership_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("program.id", ondelete="CASCADE"))
    membership_id: Mapped[int] = mapped_column(ForeignKey("membership.id", ondelete="CASCADE"))
    certificate_id: Mapped[int | None] = mapped_column(ForeignKey("certificate.id", ondelete="CASCADE"), index=True)
    kind: Mapped[EventKind] = mapped_column(_enum(EventKind))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("membership.id", ondelete="SET NULL"))  # None: the job
    note: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    actor: Mapped[Membership | None] = relationship(foreign_keys=[actor_id])
    certificate: Mapped[Certificate | None] = relationship()
