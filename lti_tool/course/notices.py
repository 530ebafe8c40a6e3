"""Notices: what the tool tells a person outside the book study's own notifications (a completion state that
changed, a resource waiting for approval, a protocol phase about to close). One row per recipient and event,
shown on their Notices page and counted on their home page.

``notify`` is idempotent per ``key``: the same key for the same person is one notice however often it is
asked for (a recompute that finds the same state again tells nobody twice). Writers call it in their own
transaction; nothing is sent anywhere else.
"""
from __future__ import annotations

import datetime as dt
from typing import Iterable

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, func, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from lti_tool.db import Base, insert_ignoring_conflicts, utcnow

MAX_LISTED = 100


class Notice(Base):
    __tablename__ = "notice"
    __table_args__ = (UniqueConstraint("recipient_id", "key"), Index("ix_notice_recipient_read", "recipient_id", "read_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient_id: Mapped[int] = mapped_column(ForeignKey("membership.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(200))        # what it is about, e.g. "completion:12:at_risk"
    kind: Mapped[str] = mapped_column(String(40))        # the feature's word for it, e.g. "completion"
    text: Mapped[str] = mapped_column(Text)              # one sentence, plain text (escaped when shown)
    url: Mapped[str] = mapped_column(String(1024), default="")   # a path inside the tool, or ""
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    read_at: Mapped[dt.datetime | None]


def notify(session: Session, recipient_ids: Iterable[int], *, key: str, kind: str, text: str, url: str = "",
           now: dt.datetime | None = None) -> None:
    """Tell each recipient (membership ids) once per ``key``; a path ``url`` is where the notice leads."""
    notify_each(session, [(rid, key, text, url) for rid in dict.fromkeys(recipient_ids)], kind=kind, now=now)


def notify_each(session: Session, notices: Iterable[tuple[int, str, str, str]], *, kind: str,
                now: dt.datetime | None = None) -> None:
    """Many different notices in one statement: (recipient id, key, text, url) each, as ``notify``."""
    rows = []
    for recipient_id, key, text, url in notices:
        if url and (not url.startswith("/") or url.startswith("//")):
            raise ValueError("a notice links only to a path inside the tool")
        rows.append({"recipient_id": recipient_id, "key": key[:200], "kind": kind[:40], "text": text,
                     "url": url[:1024], "created_at": now or utcnow()})
    if rows:
        insert_ignoring_conflicts(session, Notice, rows, index_elements=["recipient_id", "key"])


def unread_count(session: Session, membership_id: int) -> int:
    return session.scalar(select(func.count()).select_from(Notice).where(
        Notice.recipient_id == membership_id, Notice.read_at.is_(None))) or 0


def recent(session: Session, membership_id: int, limit: int = MAX_LISTED) -> list[Notice]:
    """The person's newest notices, unread first."""
    return list(session.scalars(select(Notice).where(Notice.recipient_id == membership_id)
                                .order_by(Notice.read_at.is_not(None), Notice.created_at.desc(), Notice.id.desc())
                                .limit(limit)))


def mark_all_read(session: Session, membership_id: int, now: dt.datetime | None = None) -> int:
    result = session.execute(update(Notice).where(Notice.recipient_id == membership_id, Notice.read_at.is_(None))
                             .values(read_at=now or utcnow()))
    return result.rowcount or 0
