"""Notifications: mentions, replies to my posts, new threads (and "your post was hidden"). In the app always;
by email (one per event, or a daily digest, as each person picks) when the program turns email on and SMTP is
configured. Nobody is told about their own posts, or about posts they may not see yet (post-first).

The write path (``writes``) calls in here; this module decides who may see what through ``permissions`` only,
and never calls back into the writes."""
from __future__ import annotations

import datetime as dt
import logging
import smtplib
from email.message import EmailMessage

from flask import current_app, has_app_context
from huey import crontab
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, joinedload

from lti_tool.course.access import access_for
from lti_tool.db import db, utcnow
from lti_tool.discussions.models import (
    EmailMode, Notification, NotificationKind, NotificationPreference, Post, ProgramDiscussionSettings, Thread,
)
from lti_tool.discussions.permissions import Viewer, can_see_post, program_settings, shown_name, viewer_or_none, \
    visible_posts
from lti_tool.errors import InvalidInput
from lti_tool.jobs import enqueue_after_commit, periodic, task
from lti_tool.lti.models import Membership
from lti_tool.programs.models import Cohort, CohortFacilitator, CohortMember, Program, SeatStatus

log = logging.getLogger(__name__)


def _cohort_people(session: Session, cohort: Cohort) -> list[Membership]:
    member_ids = select(CohortMember.membership_id).where(CohortMember.cohort_id == cohort.id,
                                                         CohortMember.status == SeatStatus.active)
    fac_ids = select(CohortFacilitator.membership_id).where(CohortFacilitator.cohort_id == cohort.id)
    return list(session.scalars(select(Membership).options(joinedload(Membership.user))
                                .where(Membership.active.is_(True),
                                       or_(Membership.id.in_(member_ids), Membership.id.in_(fac_ids)))))


def _viewer_of(session: Session, membership: Membership, cohort: Cohort, otherwise: str | None = None) -> Viewer | None:
    """``membership`` as a viewer of the cohort's discussions, or None if they do not exist for them."""
    if membership.course_id != cohort.program.course_id:
        return None
    return viewer_or_none(session, access_for(session, membership, cohort.program), cohort, otherwise=otherwise)


def _may_see(session: Session, membership: Membership, cohort: Cohort, post: Post | None) -> bool:
    viewer = _viewer_of(session, membership, cohort)
    return viewer is not None and (post is None or can_see_post(session, viewer, post))


def _email_after_commit(session: Session) -> None:
    """Per-event emails go from a background task once the notifications are committed (never in the request).
    A queue that cannot take the task fails nothing: the five-minute sweep sends them."""
    if smtp_configured():
        enqueue_after_commit(session, "discussions:event-emails", send_event_emails_task,
                             on_error=lambda exc: log.warning("notification emails wait for the sweep: %s", exc))


def new_post(session: Session, viewer: Viewer, post: Post, mentioned: list[int]) -> list[Notification]:
    """Tell the mentioned people and the author of the post replied to — if they may see the post."""
    cohort = viewer.cohort
    wanted: dict[int, NotificationKind] = {}
    for mid in mentioned:
        wanted[mid] = NotificationKind.mention
    if post.parent is not None and post.parent.author_id not in wanted:
        wanted[post.parent.author_id] = NotificationKind.reply
    wanted.pop(viewer.id, None)
    made = []
    for mid, kind in wanted.items():
        person = session.get(Membership, mid)
        if person is None or not _may_see(session, person, cohort, post):
            continue
        note = Notification(recipient_id=mid, cohort_id=cohort.id, kind=kind, thread_id=post.thread_id,
                            post_id=post.id, actor_id=viewer.id)
        session.add(note)
        made.append(note)
    session.flush()
    if made:
        _email_after_commit(session)
    return made


def new_thread(session: Session, viewer: Viewer, thread: Thread) -> list[Notification]:
    """Tell the cohort (its seated members and facilitators, not the starter) about a new thread."""
    made = []
    for person in _cohort_people(session, viewer.cohort):
        if person.id == viewer.id:
            continue
        note = Notification(recipient_id=person.id, cohort_id=viewer.cohort.id, kind=NotificationKind.new_thread,
                            thread_id=thread.id, actor_id=viewer.id)
        session.add(note)
        made.append(note)
    session.flush()
    if made:
        _email_after_commit(session)
    return made


def post_hidden(session: Session, viewer: Viewer, post: Post, reason: str) -> Notification | None:
    """Tell the author why a facilitator hid their post (not when they hid their own)."""
    if post.author_id == viewer.id:
        return None
    note = Notification(recipient_id=post.author_id, cohort_id=viewer.cohort.id, kind=NotificationKind.hidden,
                        thread_id=post.thread_id, post_id=post.id, actor_id=viewer.id, note=reason)
    session.add(note)
    session.flush()
    _email_after_commit(session)
    return note


def _visible_filter(viewer: Viewer):
    """Notifications about posts the viewer can no longer see (hidden, removed, moved) are left out."""
    visible = visible_posts(viewer, viewer.cohort, columns=[Post.id], content_only=True)
    return or_(Notification.post_id.is_(None), Notification.post_id.in_(visible),
               Notification.kind == NotificationKind.hidden)


def unread_notification_count(session: Session, viewer: Viewer) -> int:
    """The badge: the viewer's unread notifications in the cohort, about posts they can still see."""
    return session.scalar(select(func.count(Notification.id)).where(
        Notification.recipient_id == viewer.id, Notification.cohort_id == viewer.cohort.id,
        Notification.read_at.is_(None), _visible_filter(viewer))) or 0


def notifications(session: Session, viewer: Viewer, limit: int = 100) -> list[Notification]:
    return list(session.scalars(
        select(Notification).options(joinedload(Notification.actor).joinedload(Membership.user),
                                     joinedload(Notification.thread))
        .where(Notification.recipient_id == viewer.id, Notification.cohort_id == viewer.cohort.id,
               _visible_filter(viewer))
        .order_by(Notification.id.desc()).limit(limit)))


def mark_notifications_read(session: Session, viewer: Viewer) -> None:
    for note in session.scalars(select(Notification).where(Notification.recipient_id == viewer.id,
                                                            Notification.cohort_id == viewer.cohort.id,
                                                            Notification.read_at.is_(None))):
        note.read_at = utcnow()
    session.flush()


def preference(session: Session, membership: Membership) -> NotificationPreference:
    found = session.scalar(select(NotificationPreference).where(NotificationPreference.membership_id == membership.id))
    return found or NotificationPreference(membership_id=membership.id, email_mode=EmailMode.off)


def set_preference(session: Session, membership: Membership, mode: str) -> NotificationPreference:
    """How ``membership`` is emailed: never, once per notification, or a daily digest."""
    try:
        mode_ = EmailMode(mode)
    except ValueError:
        raise InvalidInput("Choose no email, one per notification, or a daily digest.", "email_mode") from None
    pref = preference(session, membership)
    pref.email_mode = mode_
    session.add(pref)
    session.flush()
    return pref


# -- email -------------------------------------------------------------------------------------------------

def smtp_configured() -> bool:
    return has_app_context() and bool(current_app.config.get("SMTP_HOST")) and bool(current_app.config.get("MAIL_FROM"))


def _send(to: str, subject: str, body: str) -> None:
    cfg = current_app.config
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = cfg["MAIL_FROM"], to, subject
    msg.set_content(body)
    with smtplib.SMTP(cfg["SMTP_HOST"], int(cfg.get("SMTP_PORT") or 25),
                      timeout=float(cfg.get("SMTP_TIMEOUT_SECONDS") or 10)) as smtp:
        if cfg.get("SMTP_STARTTLS"):
            smtp.starttls()
        if cfg.get("SMTP_USERNAME"):
            smtp.login(cfg["SMTP_USERNAME"], cfg.get("SMTP_PASSWORD") or "")
        smtp.send_message(msg)


def _describe(session: Session, note: Notification) -> str:
    """One line, with the name the recipient would see (anonymous threads keep their pseudonyms)."""
    cohort = session.get(Cohort, note.cohort_id)
    # Someone who has left the cohort since sees the names a participant would.
    viewer = _viewer_of(session, note.recipient, cohort, otherwise="member")
    who = shown_name(viewer, note.thread, note.actor)
    where = f" in “{note.thread.title}”" if note.thread else ""
    return f"{who} {note.kind.label}{where} ({cohort.name})."


def _pending(session: Session, mode: EmailMode, before: dt.datetime | None = None):
    """Unsent notifications of people with ``mode``, in programs that turned email on."""
    stmt = (select(Notification)
            .join(NotificationPreference, NotificationPreference.membership_id == Notification.recipient_id)
            .join(Cohort, Cohort.id == Notification.cohort_id)
            .join(ProgramDiscussionSettings, ProgramDiscussionSettings.program_id == Cohort.program_id)
            .options(joinedload(Notification.recipient).joinedload(Membership.user),
                     joinedload(Notification.actor).joinedload(Membership.user), joinedload(Notification.thread))
            .where(NotificationPreference.email_mode == mode, ProgramDiscussionSettings.email_enabled.is_(True),
                   Notification.emailed_at.is_(None), Notification.read_at.is_(None)))
    if before is not None:
        stmt = stmt.where(Notification.created_at <= before)
    return list(session.scalars(stmt.order_by(Notification.id)))


def send_event_emails(session: Session, now: dt.datetime | None = None) -> int:
    """One email per notification for people who chose that. Returns how many were sent."""
    if not smtp_configured():
        return 0
    sent = 0
    for note in _pending(session, EmailMode.each):
        to = note.recipient.user.email
        note.emailed_at = now or utcnow()
        if not to:
            continue
        try:
            _send(to, f"[{current_app.config['LTI_TOOL_TITLE']}] {_describe(session, note)}"[:200],
                  _describe(session, note) + "\n\nOpen the tool from your course to read it.\n")
            sent += 1
        except (OSError, smtplib.SMTPException) as exc:
            note.emailed_at = None
            log.warning("notification email %s not sent: %s", note.id, exc)
    session.flush()
    return sent


def send_digests(session: Session, now: dt.datetime | None = None) -> int:
    """One email per person with everything new since their last digest (run daily). Returns emails sent."""
    if not smtp_configured():
        return 0
    now = now or utcnow()
    by_person: dict[int, list[Notification]] = {}
    for note in _pending(session, EmailMode.digest, before=now):
        by_person.setdefault(note.recipient_id, []).append(note)
    sent = 0
    for notes in by_person.values():
        person = notes[0].recipient
        for note in notes:
            note.emailed_at = now
        if not person.user.email:
            continue
        lines = "\n".join("- " + _describe(session, n) for n in notes)
        try:
            _send(person.user.email, f"[{current_app.config['LTI_TOOL_TITLE']}] Your daily digest: "
                  f"{len(notes)} new", f"New in your book study:\n\n{lines}\n\nOpen the tool from your course to read.\n")
            sent += 1
            pref = preference(session, person)
            pref.last_digest_at = now
            session.add(pref)
        except (OSError, smtplib.SMTPException) as exc:
            for note in notes:
                note.emailed_at = None
            log.warning("digest for membership %s not sent: %s", person.id, exc)
    session.flush()
    return sent


def email_enabled_for(session: Session, program: Program) -> bool:
    """Whether notification emails go out in the program (it turned them on, and SMTP is configured)."""
    return smtp_configured() and program_settings(session, program).email_enabled


# -- background delivery: never inside the request that wrote the post ------------------------------------------

def _run(fn) -> int:
    session = db.new_session()
    try:
        sent = fn(session)
        session.commit()
        return sent
    finally:
        session.close()


@task(retries=2, retry_delay=60)
def send_event_emails_task() -> int:
    return _run(send_event_emails)


@periodic(crontab(minute="*/5"))
def sweep_event_emails() -> int:
    """Whatever a lost task left behind goes out within five minutes."""
    return _run(send_event_emails)


@periodic(crontab(minute="0", hour="12"))
def daily_digests() -> int:
    """Once a day (12:00 UTC: morning across the Americas, afternoon in Europe)."""
    return _run(send_digests)
