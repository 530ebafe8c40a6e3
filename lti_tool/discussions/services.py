"""Book-study operations: books and reading schedules, threads, posts, reactions, read state, moderation,
participation and search. Every read of posts goes through ``visible_posts``: it is where post-first,
hidden posts and the cohort boundary are decided, once."""
from __future__ import annotations

import csv
import datetime as dt
import hashlib
import hmac
import io
import re
import zoneinfo
from dataclasses import dataclass, field
from typing import Iterable
from urllib.parse import urlsplit

from flask import current_app, has_app_context
from sqlalchemy import Select, and_, case, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased, joinedload, selectinload

from lti_tool.course import events
from lti_tool.db import utcnow
from lti_tool.discussions.markdown import mentions_in, render_markdown
from lti_tool.discussions.models import (
    Book, BookCohort, CohortDiscussionSettings, ModerationLog, Notification, NotificationKind, NotificationPreference,
    EmailMode, ParticipationOverride, Post, PostFirst, PostRevision, ProgramDiscussionSettings, Reaction,
    ReactionKind, Reading, ReadState, Report, Thread,
)
from lti_tool.errors import Conflict, DomainError, Forbidden, NotFound
from lti_tool.lti.models import CourseRole, Membership, User
from lti_tool.programs.models import Cohort, CohortFacilitator, CohortMember, Program, SeatStatus
from lti_tool.programs.services import can_manage_cohort, get_cohort, is_lead

MAX_POST_CHARS_DEFAULT = 20_000

_AVATAR_URL = re.compile(r"https://[^\s\"'<>`]{1,1000}")


class InvalidInput(DomainError):
    """Input a person can correct; ``field`` names the form field it belongs to."""

    status = 400
    title = "Please check what you entered"

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


def _config(key: str, default):
    return current_app.config.get(key, default) if has_app_context() else default


def _insert_ignore(session: Session, model, **values) -> bool:
    """INSERT … ON CONFLICT DO NOTHING (SQLite and PostgreSQL): concurrent requests creating the same row
    are harmless, without a savepoint (whose release other features' after-commit hooks would see)."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    result = session.execute(insert(model).values(**values).on_conflict_do_nothing())
    return bool(result.rowcount)


# -- who may see a cohort's discussions ------------------------------------------------------------------------

@dataclass
class Viewer:
    """A membership looking at one cohort's discussions, with what it may do there."""

    membership: Membership
    cohort: Cohort
    level: str            # "manage" (cohort facilitator, program lead), "member" (active seat), "observer"

    @property
    def id(self) -> int:
        return self.membership.id

    @property
    def manages(self) -> bool:
        return self.level == "manage"

    @property
    def sees_everything(self) -> bool:
        # Observers cannot post, so a post-first gate would hide everything from them for good.
        return self.level in ("manage", "observer")

    @property
    def may_post(self) -> bool:
        return self.level in ("manage", "member")


def program_settings(session: Session, program: Program) -> ProgramDiscussionSettings:
    found = session.scalar(select(ProgramDiscussionSettings).where(ProgramDiscussionSettings.program_id == program.id))
    return found or ProgramDiscussionSettings(program_id=program.id, observers_may_read=False, email_enabled=False)


def cohort_settings(session: Session, cohort: Cohort) -> CohortDiscussionSettings:
    found = session.scalar(select(CohortDiscussionSettings).where(CohortDiscussionSettings.cohort_id == cohort.id))
    return found or CohortDiscussionSettings(cohort_id=cohort.id, general_threads_by="facilitators")


def access_level(session: Session, membership: Membership, cohort: Cohort) -> str | None:
    if membership.course_id != cohort.program.course_id or not membership.active:
        return None
    if can_manage_cohort(session, cohort, membership):
        return "manage"
    seat = session.scalar(select(CohortMember.id).where(
        CohortMember.cohort_id == cohort.id, CohortMember.membership_id == membership.id,
        CohortMember.status == SeatStatus.active))
    if seat is not None:
        return "member"
    if membership.role is CourseRole.observer and program_settings(session, cohort.program).observers_may_read:
        return "observer"
    return None


def viewer_for(session: Session, membership: Membership, cohort: Cohort) -> Viewer:
    """The viewer, or 404: a cohort's discussions do not exist for anyone outside it."""
    level = access_level(session, membership, cohort)
    if level is None:
        raise NotFound("There is no such discussion here.")
    return Viewer(membership, cohort, level)


def viewer_for_cohort_id(session: Session, membership: Membership, cohort_id: int) -> Viewer:
    return viewer_for(session, membership, get_cohort(session, membership, cohort_id))


def require_manager(viewer: Viewer) -> None:
    if not viewer.manages:
        raise Forbidden("Only this cohort's facilitators and the program's leads can do this.")


# -- the one place that decides which posts a viewer sees -----------------------------------------------------

def visible_posts(session: Session, viewer: Viewer, scope: Thread | Cohort, *, columns: Iterable = (),
                  content_only: bool = False, now: dt.datetime | None = None) -> Select:
    """A SELECT of the posts ``viewer`` may see in a thread or a whole cohort (joined to Thread).

    Post-first: until a thread's rule is met, a participant sees only their own posts. ``content_only``
    also drops removed posts, and hidden ones (except from facilitators and the author): use it for
    anything that counts, searches, notifies or exports.
    """
    now = now or utcnow()
    cols = list(columns) or [Post]
    stmt = select(*cols).select_from(Post).join(Thread, Post.thread_id == Thread.id) \
        .where(Thread.cohort_id == viewer.cohort.id)
    if isinstance(scope, Thread):
        stmt = stmt.where(Post.thread_id == scope.id)
    elif scope.id != viewer.cohort.id:
        return stmt.where(False)
    if content_only:
        stmt = stmt.where(Post.deleted_at.is_(None))
        if not viewer.manages:
            stmt = stmt.where(or_(Post.hidden.is_(False), Post.author_id == viewer.id))
    if not viewer.sees_everything:
        mine = aliased(Post)
        my_posts = (select(func.count(mine.id))
                    .where(mine.thread_id == Thread.id, mine.author_id == viewer.id, mine.deleted_at.is_(None))
                    .correlate(Thread).scalar_subquery())
        stmt = stmt.where(or_(
            Post.author_id == viewer.id,
            Thread.post_first == PostFirst.none,
            and_(Thread.post_first == PostFirst.after_n_posts, my_posts >= Thread.post_first_n),
            and_(Thread.post_first == PostFirst.after_date, Thread.post_first_at.is_not(None),
                 Thread.post_first_at <= now),
            and_(Thread.post_first == PostFirst.facilitator_reveal, Thread.revealed.is_(True)),
        ))
    return stmt


def can_see_post(session: Session, viewer: Viewer, post: Post, *, content_only: bool = True) -> bool:
    return session.scalar(visible_posts(session, viewer, post.thread, columns=[Post.id], content_only=content_only)
                          .where(Post.id == post.id)) is not None


def others_visible(session: Session, viewer: Viewer, thread: Thread, now: dt.datetime | None = None) -> bool:
    """Whether the post-first gate of ``thread`` is open for ``viewer`` (always, for facilitators)."""
    if viewer.sees_everything or thread.post_first is PostFirst.none:
        return True
    if thread.post_first is PostFirst.after_date:
        return thread.post_first_at is not None and thread.post_first_at <= (now or utcnow())
    if thread.post_first is PostFirst.facilitator_reveal:
        return thread.revealed
    mine = session.scalar(select(func.count(Post.id)).where(Post.thread_id == thread.id, Post.author_id == viewer.id,
                                                           Post.deleted_at.is_(None)))
    return (mine or 0) >= thread.post_first_n


def gate_text(thread: Thread, tz: zoneinfo.ZoneInfo | None = None) -> str:
    if thread.post_first is PostFirst.after_n_posts:
        n = thread.post_first_n
        return f"You will see the others' posts after your own {'first post' if n == 1 else f'{n} posts'}."
    if thread.post_first is PostFirst.after_date and thread.post_first_at:
        when = thread.post_first_at.astimezone(tz) if tz else thread.post_first_at
        return f"You will see the others' posts from {when:%a %d %b %Y, %H:%M} ({when.tzname()})."
    if thread.post_first is PostFirst.facilitator_reveal:
        return "You will see the others' posts when the facilitator reveals them."
    return ""


# -- names: anonymity to peers -----------------------------------------------------------------------------

def alias_for(thread: Thread, membership_id: int) -> str:
    """A stable pseudonym per thread and person; unlinkable across threads (keyed with the app secret)."""
    key = (_config("SECRET_KEY", "") or "k").encode()
    digest = hmac.new(key, f"thread:{thread.id}:{membership_id}".encode(), hashlib.sha256).hexdigest()
    return f"Participant {digest[:4].upper()}"


def shown_name(viewer: Viewer, thread: Thread | None, membership: Membership | None) -> str:
    """The name ``viewer`` sees for ``membership`` in ``thread`` (a pseudonym for peers in anonymous threads)."""
    if membership is None:
        return "Someone"
    if membership.id == viewer.id:
        return "You" if thread is not None and thread.anonymous_to_peers and not viewer.manages \
            else membership.user.display_name
    if thread is not None and thread.anonymous_to_peers and not viewer.manages \
            and membership.role is not CourseRole.facilitator:
        return alias_for(thread, membership.id)
    return membership.user.display_name


def shows_avatar(viewer: Viewer, thread: Thread | None, membership: Membership) -> bool:
    picture = membership.user.picture or ""
    if not _AVATAR_URL.fullmatch(picture):   # https only, and nothing that could end an attribute
        return False
    return not (thread is not None and thread.anonymous_to_peers and not viewer.manages
                and membership.id != viewer.id and membership.role is not CourseRole.facilitator)


# -- books and the reading schedule ------------------------------------------------------------------------

def _program_zone(program: Program) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(program.timezone or "UTC")
    except Exception:  # noqa: BLE001 - a bad stored zone must not break the page
        return zoneinfo.ZoneInfo("UTC")


def program_today(program: Program, now: dt.datetime | None = None) -> dt.date:
    return (now or utcnow()).astimezone(_program_zone(program)).date()


def reading_deadline(program: Program, reading: Reading) -> dt.datetime:
    """The end of the reading's last day in the program's zone, in UTC."""
    end = dt.datetime.combine(reading.ends_on + dt.timedelta(days=1), dt.time(0), _program_zone(program))
    return end.astimezone(dt.timezone.utc)


def _check_url(value: str, field_name: str, https_only: bool) -> str:
    value = (value or "").strip()
    if not value:
        return ""
    parts = urlsplit(value)
    allowed = ("https",) if https_only else ("http", "https")
    if parts.scheme.lower() not in allowed or not parts.netloc:
        what = "an https:// address" if https_only else "an http:// or https:// address"
        raise InvalidInput(f"Give {what}.", field_name)
    if len(value) > 1024:
        raise InvalidInput("That address is too long.", field_name)
    return value


def managed_cohorts(session: Session, actor: Membership, program: Program) -> list[Cohort]:
    cohorts = list(session.scalars(select(Cohort).where(Cohort.program_id == program.id).order_by(Cohort.name)))
    if is_lead(program, actor):
        return cohorts
    mine = set(session.scalars(select(CohortFacilitator.cohort_id).where(CohortFacilitator.membership_id == actor.id)))
    return [c for c in cohorts if c.id in mine]


def can_edit_book(session: Session, actor: Membership, book: Book) -> bool:
    if actor.course_id != book.program.course_id or not actor.active:
        return False
    if is_lead(book.program, actor):
        return True
    mine = set(session.scalars(select(CohortFacilitator.cohort_id).where(CohortFacilitator.membership_id == actor.id)))
    return any(link.cohort_id in mine for link in book.cohort_links)


def require_book_editor(session: Session, actor: Membership, book: Book) -> None:
    if not can_edit_book(session, actor, book):
        raise Forbidden("Only the program's leads and the facilitators of a cohort reading this book can change it.")


def save_book(session: Session, actor: Membership, program: Program, *, title: str, author: str = "",
              edition: str = "", cover_url: str = "", link_url: str = "", cohort_ids: Iterable[int] = (),
              score_maximum: float = 100.0, book: Book | None = None) -> Book:
    """Add a book (or change one): which cohorts read it, its cover and link (checked addresses)."""
    allowed = {c.id: c for c in managed_cohorts(session, actor, program)}
    if not allowed:
        raise Forbidden("Only the program's leads and cohort facilitators can add a book.")
    if book is not None:
        require_book_editor(session, actor, book)
    title = (title or "").strip()
    if not title:
        raise InvalidInput("Give the book a title.", "title")
    if len(title) > 300:
        raise InvalidInput("The title is too long (300 characters at most).", "title")
    wanted = set(int(i) for i in cohort_ids)
    if not wanted:
        raise InvalidInput("Choose at least one cohort that reads the book.", "cohort_ids")
    if wanted - set(allowed):
        raise Forbidden("You can add a book only for cohorts you facilitate.")
    if score_maximum is None or score_maximum < 0:
        raise InvalidInput("Points must be 0 (not graded) or more.", "score_maximum")
    if book is None:
        book = Book(program_id=program.id, created_by_id=actor.id)
        session.add(book)
    book.title = title
    book.author = (author or "").strip()[:300]
    book.edition = (edition or "").strip()[:120]
    book.cover_url = _check_url(cover_url, "cover_url", https_only=True)
    book.link_url = _check_url(link_url, "link_url", https_only=False)
    book.score_maximum = float(score_maximum)
    session.flush()
    existing = {link.cohort_id: link for link in book.cohort_links}
    for cid in wanted - set(existing):
        book.cohort_links.append(BookCohort(cohort_id=cid))
    for cid, link in existing.items():
        if cid in allowed and cid not in wanted:
            book.cohort_links.remove(link)
    session.flush()
    open_due_threads(session, program)
    return book


def get_book(session: Session, actor: Membership, book_id: int) -> Book:
    book = session.scalar(select(Book).join(Book.program).options(selectinload(Book.readings),
                                                                  selectinload(Book.cohort_links))
                          .where(Book.id == book_id, Program.course_id == actor.course_id))
    if book is None:
        raise NotFound("There is no such book in this course.")
    return book


def save_reading(session: Session, actor: Membership, book: Book, *, label: str, starts_on: dt.date | None,
                 ends_on: dt.date | None, prompt: str = "", initial_posts_required: int = 1,
                 replies_required: int = 2, post_first: PostFirst = PostFirst.after_n_posts, post_first_n: int = 1,
                 anonymous_to_peers: bool = False, reading: Reading | None = None,
                 now: dt.datetime | None = None) -> Reading:
    """Add (or change) a reading of ``book``; its threads open on the start date, in every cohort reading it."""
    require_book_editor(session, actor, book)
    label = (label or "").strip()
    if not label:
        raise InvalidInput("Say what is read: a chapter or pages.", "label")
    if starts_on is None:
        raise InvalidInput("Give the date the reading starts.", "starts_on")
    if ends_on is None:
        raise InvalidInput("Give the date the reading ends.", "ends_on")
    if ends_on < starts_on:
        raise InvalidInput("The reading ends before it starts: choose an end date on or after the start date.",
                           "ends_on")
    if initial_posts_required < 0 or replies_required < 0 or initial_posts_required > 10 or replies_required > 20:
        raise InvalidInput("Ask for between 0 and 10 initial posts and 0 and 20 replies.", "replies_required")
    if post_first is PostFirst.after_n_posts and post_first_n < 1:
        raise InvalidInput("Participants see the others after at least 1 post of their own.", "post_first_n")
    if len(prompt or "") > _config("DISCUSSION_MAX_POST_CHARS", MAX_POST_CHARS_DEFAULT):
        raise InvalidInput("The prompt is too long.", "prompt")
    if reading is None:
        reading = Reading(position=len(book.readings))
        book.readings.append(reading)
    reading.label = label[:200]
    reading.starts_on, reading.ends_on = starts_on, ends_on
    reading.prompt_markdown = prompt or ""
    reading.prompt_html = render_markdown(prompt or "")
    reading.initial_posts_required, reading.replies_required = initial_posts_required, replies_required
    reading.post_first, reading.post_first_n = post_first, max(1, post_first_n)
    reading.anonymous_to_peers = anonymous_to_peers
    session.flush()
    session.execute(update(Thread).where(Thread.reading_id == reading.id)
                    .values(prompt_markdown=reading.prompt_markdown, prompt_html=reading.prompt_html))
    open_due_threads(session, book.program, now=now)
    return reading


def get_reading(session: Session, actor: Membership, reading_id: int) -> Reading:
    reading = session.scalar(select(Reading).join(Reading.book).join(Book.program)
                             .where(Reading.id == reading_id, Program.course_id == actor.course_id))
    if reading is None:
        raise NotFound("There is no such reading in this course.")
    return reading


def shift_schedule(session: Session, actor: Membership, reading: Reading, days: int) -> int:
    """Move ``reading`` and every later reading of its book by ``days`` (a session moved). Returns how many."""
    book = reading.book
    require_book_editor(session, actor, book)
    if days == 0 or abs(days) > 366:
        raise InvalidInput("Shift by a number of days between -366 and 366, not 0.", "days")
    later = [r for r in book.readings if (r.starts_on, r.position, r.id) >= (reading.starts_on, reading.position, reading.id)]
    for r in later:
        r.starts_on += dt.timedelta(days=days)
        r.ends_on += dt.timedelta(days=days)
    session.flush()
    return len(later)


def open_due_threads(session: Session, program: Program, now: dt.datetime | None = None) -> int:
    """Create the thread of every reading that has started, in each cohort reading its book.

    Called when pages are viewed (no cron needed); a concurrent request creating the same thread is harmless.
    """
    today = program_today(program, now)
    existing = select(Thread.id).where(Thread.reading_id == Reading.id, Thread.cohort_id == BookCohort.cohort_id)
    missing = session.execute(
        select(Reading, BookCohort.cohort_id).join(Book, Reading.book_id == Book.id)
        .join(BookCohort, BookCohort.book_id == Book.id)
        .where(Book.program_id == program.id, Reading.starts_on <= today, ~existing.exists())
    ).all()
    made = 0
    for reading, cohort_id in missing:
        made += _insert_ignore(session, Thread, cohort_id=cohort_id, reading_id=reading.id, title=reading.label,
                               prompt_markdown=reading.prompt_markdown, prompt_html=reading.prompt_html,
                               post_first=reading.post_first.value, post_first_n=reading.post_first_n,
                               anonymous_to_peers=reading.anonymous_to_peers, created_at=utcnow(), revealed=False,
                               pinned=False, locked=False, lock_reason="")
    return made


def books_of_cohort(session: Session, cohort: Cohort) -> list[Book]:
    return list(session.scalars(select(Book).join(BookCohort).where(BookCohort.cohort_id == cohort.id)
                                .options(selectinload(Book.readings)).order_by(Book.id)))


@dataclass
class Schedule:
    book: Book
    current: list[Reading]
    upcoming: list[Reading]
    past: list[Reading]


def schedule(book: Book, today: dt.date) -> Schedule:
    readings = sorted(book.readings, key=lambda r: (r.starts_on, r.position, r.id))
    return Schedule(book, [r for r in readings if r.starts_on <= today <= r.ends_on],
                    [r for r in readings if r.starts_on > today], [r for r in readings if r.ends_on < today])


# -- threads -----------------------------------------------------------------------------------------------

def get_thread(session: Session, viewer: Viewer, thread_id: int) -> Thread:
    thread = session.scalar(select(Thread).options(joinedload(Thread.reading))
                            .where(Thread.id == thread_id, Thread.cohort_id == viewer.cohort.id))
    if thread is None:
        raise NotFound("There is no such thread in this cohort.")
    return thread


def _check_post_first(post_first: PostFirst, n: int, at: dt.datetime | None) -> None:
    if post_first is PostFirst.after_n_posts and (n is None or n < 1):
        raise InvalidInput("Participants see the others after at least 1 post of their own.", "post_first_n")
    if post_first is PostFirst.after_date and at is None:
        raise InvalidInput("Give the date from which everyone sees the others' posts.", "post_first_at")


def create_thread(session: Session, viewer: Viewer, *, title: str, prompt: str = "",
                  post_first: PostFirst = PostFirst.none, post_first_n: int = 1,
                  post_first_at: dt.datetime | None = None, anonymous_to_peers: bool = False) -> Thread:
    """A general thread of the cohort (facilitators, or everyone if the cohort allows)."""
    if not viewer.may_post:
        raise Forbidden("Observers cannot start threads.")
    if not viewer.manages and cohort_settings(session, viewer.cohort).general_threads_by != "everyone":
        raise Forbidden("In this cohort only the facilitators start threads.")
    title = (title or "").strip()
    if not title:
        raise InvalidInput("Give the thread a title.", "title")
    if len(title) > 300:
        raise InvalidInput("The title is too long (300 characters at most).", "title")
    if len(prompt or "") > _config("DISCUSSION_MAX_POST_CHARS", MAX_POST_CHARS_DEFAULT):
        raise InvalidInput("The opening text is too long.", "prompt")
    if not viewer.manages:   # participants start plain threads
        post_first, anonymous_to_peers = PostFirst.none, False
    _check_post_first(post_first, post_first_n, post_first_at)
    thread = Thread(cohort_id=viewer.cohort.id, title=title, prompt_markdown=prompt or "",
                    prompt_html=render_markdown(prompt or ""), post_first=post_first, post_first_n=max(1, post_first_n or 1),
                    post_first_at=post_first_at, anonymous_to_peers=anonymous_to_peers, created_by_id=viewer.id)
    session.add(thread)
    session.flush()
    from lti_tool.discussions import notify

    notify.new_thread(session, viewer, thread)
    return thread


def update_thread_settings(session: Session, viewer: Viewer, thread: Thread, *, post_first: PostFirst,
                           post_first_n: int = 1, post_first_at: dt.datetime | None = None,
                           anonymous_to_peers: bool | None = None) -> Thread:
    require_manager(viewer)
    _check_post_first(post_first, post_first_n, post_first_at)
    thread.post_first, thread.post_first_n, thread.post_first_at = post_first, max(1, post_first_n or 1), post_first_at
    if anonymous_to_peers is not None:
        thread.anonymous_to_peers = anonymous_to_peers
    _log(session, viewer, "settings", thread=thread, reason=f"post-first: {post_first.value}")
    session.flush()
    return thread


def update_cohort_settings(session: Session, viewer: Viewer, general_threads_by: str) -> CohortDiscussionSettings:
    require_manager(viewer)
    if general_threads_by not in ("facilitators", "everyone"):
        raise InvalidInput("Choose facilitators or everyone.", "general_threads_by")
    settings = cohort_settings(session, viewer.cohort)
    settings.general_threads_by = general_threads_by
    session.add(settings)
    session.flush()
    return settings


def update_program_settings(session: Session, actor: Membership, program: Program, *, observers_may_read: bool,
                            email_enabled: bool) -> ProgramDiscussionSettings:
    if not is_lead(program, actor):
        raise Forbidden("Only the program's leads can change this.")
    settings = program_settings(session, program)
    settings.observers_may_read, settings.email_enabled = observers_may_read, email_enabled
    session.add(settings)
    session.flush()
    return settings


@dataclass
class ThreadRow:
    thread: Thread
    posts: int
    unread: int
    last_post_at: dt.datetime | None


def thread_list(session: Session, viewer: Viewer, now: dt.datetime | None = None) -> list[ThreadRow]:
    """The cohort's threads with visible post counts and unread counts: three queries, whatever the size."""
    threads = list(session.scalars(select(Thread).options(joinedload(Thread.reading))
                                   .where(Thread.cohort_id == viewer.cohort.id)
                                   .order_by(Thread.pinned.desc(), Thread.created_at.desc(), Thread.id.desc())))
    totals = {tid: (n, last) for tid, n, last in session.execute(
        visible_posts(session, viewer, viewer.cohort, content_only=True, now=now,
                      columns=[Post.thread_id, func.count(Post.id), func.max(Post.created_at)])
        .group_by(Post.thread_id))}
    unread = unread_counts(session, viewer, now=now)
    return [ThreadRow(t, totals.get(t.id, (0, None))[0], unread.get(t.id, 0), totals.get(t.id, (0, None))[1])
            for t in threads]


# -- read state --------------------------------------------------------------------------------------------

def unread_counts(session: Session, viewer: Viewer, now: dt.datetime | None = None) -> dict[int, int]:
    """Unread visible posts per thread of the cohort, by others: one aggregate query."""
    stmt = (visible_posts(session, viewer, viewer.cohort, content_only=True, now=now,
                          columns=[Post.thread_id, func.count(Post.id)])
            .outerjoin(ReadState, and_(ReadState.thread_id == Post.thread_id, ReadState.membership_id == viewer.id))
            .where(Post.author_id != viewer.id, Post.id > func.coalesce(ReadState.last_read_post_id, 0))
            .group_by(Post.thread_id))
    return dict(session.execute(stmt).all())


def _set_read(session: Session, viewer: Viewer, thread_id: int, post_id: int) -> None:
    """Move the read marker forward (never back): one UPDATE, or an INSERT the first time."""
    done = session.execute(update(ReadState).where(ReadState.membership_id == viewer.id,
                                                   ReadState.thread_id == thread_id,
                                                   ReadState.last_read_post_id < post_id)
                           .values(last_read_post_id=post_id, updated_at=utcnow())
                           .execution_options(synchronize_session=False)).rowcount
    if done:
        return
    # Otherwise it does not exist yet, or is already at or past post_id.
    _insert_ignore(session, ReadState, membership_id=viewer.id, thread_id=thread_id, last_read_post_id=post_id,
                   updated_at=utcnow())


def mark_all_read(session: Session, viewer: Viewer, now: dt.datetime | None = None) -> int:
    latest = session.execute(visible_posts(session, viewer, viewer.cohort, content_only=True, now=now,
                                           columns=[Post.thread_id, func.max(Post.id)]).group_by(Post.thread_id)).all()
    for thread_id, post_id in latest:
        _set_read(session, viewer, thread_id, post_id)
    session.flush()
    return len(latest)


# -- posts -------------------------------------------------------------------------------------------------

@dataclass
class PostView:
    post: Post
    depth: int
    author_name: str
    author_avatar: str
    parent_name: str | None
    body_visible: bool
    state: str                    # "ok", "removed", "hidden"
    unread: bool
    mine: bool
    reactions: dict[str, list[str]] = field(default_factory=dict)   # kind → names
    my_reactions: set[str] = field(default_factory=set)
    revisions: int = 0


@dataclass
class ThreadPage:
    thread: Thread
    posts: list[PostView]
    first_unread_id: int | None
    gate_open: bool
    gate_text: str
    own_posts: int


MAX_DEPTH = 4   # deeper replies stay at this indent (phones); "in reply to <name>" keeps the conversation clear


def thread_page(session: Session, viewer: Viewer, thread: Thread, *, mark_read: bool = True,
                now: dt.datetime | None = None) -> ThreadPage:
    """Everything the thread page shows, in a fixed number of queries whatever the number of posts."""
    posts = list(session.scalars(
        visible_posts(session, viewer, thread, now=now)
        .options(joinedload(Post.author).joinedload(Membership.user))
        .order_by(Post.id)))
    ids = [p.id for p in posts]
    reactions: dict[int, list[Reaction]] = {}
    revisions: dict[int, int] = {}
    if ids:
        for r in session.scalars(select(Reaction).options(joinedload(Reaction.membership).joinedload(Membership.user))
                                 .where(Reaction.post_id.in_(ids)).order_by(Reaction.id)):
            reactions.setdefault(r.post_id, []).append(r)
        if viewer.manages:
            revisions = dict(session.execute(select(PostRevision.post_id, func.count(PostRevision.id))
                                             .where(PostRevision.post_id.in_(ids)).group_by(PostRevision.post_id)).all())
    last_read = session.scalar(select(ReadState.last_read_post_id).where(
        ReadState.membership_id == viewer.id, ReadState.thread_id == thread.id)) or 0
    by_id = {p.id: p for p in posts}
    children: dict[int | None, list[Post]] = {}
    for p in posts:
        parent = p.parent_id if p.parent_id in by_id else None
        children.setdefault(parent, []).append(p)
    ordered: list[tuple[Post, int]] = []

    def walk(parent_id, depth):
        for child in children.get(parent_id, []):
            ordered.append((child, depth))
            walk(child.id, depth + 1)

    walk(None, 0)
    views: list[PostView] = []
    first_unread = None
    own = 0
    for p, depth in ordered:
        mine = p.author_id == viewer.id
        own += int(mine and p.deleted_at is None)
        state = "removed" if p.deleted_at else ("hidden" if p.hidden else "ok")
        body_visible = state == "ok" or (state == "hidden" and (viewer.manages or mine))
        unread = p.id > last_read and not mine and state == "ok"
        if unread and first_unread is None:
            first_unread = p.id
        parent = by_id.get(p.parent_id) if p.parent_id else None
        pv = PostView(
            post=p, depth=min(depth, MAX_DEPTH),
            author_name=shown_name(viewer, thread, p.author) if state != "removed" or viewer.manages else "",
            author_avatar=p.author.user.picture if shows_avatar(viewer, thread, p.author) and state != "removed" else "",
            parent_name=(shown_name(viewer, thread, parent.author) if parent and not parent.deleted_at else
                         ("a removed post" if parent else None)) if depth > 0 else None,
            body_visible=body_visible, state=state, unread=unread, mine=mine, revisions=revisions.get(p.id, 0))
        for r in reactions.get(p.id, []):
            pv.reactions.setdefault(r.kind.value, []).append(shown_name(viewer, thread, r.membership))
            if r.membership_id == viewer.id:
                pv.my_reactions.add(r.kind.value)
        views.append(pv)
    if mark_read and ids:
        _set_read(session, viewer, thread.id, max(ids))
    gate_open = others_visible(session, viewer, thread, now) if not viewer.sees_everything else True
    return ThreadPage(thread, views, first_unread, gate_open, "" if gate_open else gate_text(thread, _program_zone(
        viewer.cohort.program)), own)


def _max_chars() -> int:
    return int(_config("DISCUSSION_MAX_POST_CHARS", MAX_POST_CHARS_DEFAULT))


def _check_body(body: str) -> str:
    body = (body or "").replace("\r\n", "\n")
    if not body.strip():
        raise InvalidInput("Write something before posting.", "body")
    limit = _max_chars()
    if len(body) > limit:
        raise InvalidInput(f"A post can be at most {limit:,} characters; this one has {len(body):,}.", "body")
    return body


def mentionable(session: Session, viewer: Viewer, thread: Thread | None = None) -> list[tuple[int, str]]:
    """People ``viewer`` may @mention in the cohort (id, name as shown); peers are left out of anonymous threads."""
    cohort = viewer.cohort
    member_ids = select(CohortMember.membership_id).where(CohortMember.cohort_id == cohort.id,
                                                         CohortMember.status == SeatStatus.active)
    fac_ids = select(CohortFacilitator.membership_id).where(CohortFacilitator.cohort_id == cohort.id)
    people = session.scalars(select(Membership).options(joinedload(Membership.user))
                             .where(Membership.course_id == cohort.program.course_id, Membership.active.is_(True),
                                    or_(Membership.id.in_(member_ids), Membership.id.in_(fac_ids)))).all()
    out = []
    for m in people:
        if m.id == viewer.id:
            continue
        if thread is not None and thread.anonymous_to_peers and not viewer.manages and m.role is not CourseRole.facilitator:
            continue
        out.append((m.id, m.user.display_name))
    return sorted(out, key=lambda x: x[1].lower())


def _resolve_mentions(session: Session, viewer: Viewer, thread: Thread, body: str) -> list[int]:
    names = mentions_in(body)
    if not names:
        return []
    people = {name.lower(): mid for mid, name in mentionable(session, viewer, thread)}
    found, unknown = [], []
    for name in names:
        mid = people.get(name.lower())
        if mid is None and name.lower() != viewer.membership.user.display_name.lower():
            unknown.append(name)
        elif mid is not None:
            found.append(mid)
    if unknown:
        extra = " (in an anonymous thread you can mention only the facilitators)" if thread.anonymous_to_peers \
            and not viewer.manages else ""
        raise InvalidInput(f"{', '.join('@' + n for n in unknown)}: not someone you can mention in this cohort{extra}. "
                           "Pick a name from the list that appears as you type @.", "body")
    return found


def create_post(session: Session, viewer: Viewer, thread: Thread, body: str, *, parent: Post | None = None,
                now: dt.datetime | None = None) -> Post:
    """Post in a thread (or reply to a visible post); notifies the people concerned who may see it."""
    if not viewer.may_post:
        raise Forbidden("Observers can read but not post.")
    if thread.cohort_id != viewer.cohort.id:
        raise NotFound("There is no such thread in this cohort.")
    if thread.locked:
        raise Conflict("This thread is locked, so no new posts can be added" +
                       (f": {thread.lock_reason}" if thread.lock_reason else "."))
    body = _check_body(body)
    if parent is not None:
        if parent.thread_id != thread.id or not can_see_post(session, viewer, parent, content_only=False):
            raise NotFound("There is no such post to reply to.")
        if parent.deleted_at is not None or parent.hidden:
            raise Conflict("That post has been removed, so you cannot reply to it. Reply to the thread instead.")
    mentioned = _resolve_mentions(session, viewer, thread, body)
    post = Post(thread_id=thread.id, author_id=viewer.id, parent_id=parent.id if parent else None,
                body_markdown=body, body_html=render_markdown(body), created_at=now or utcnow())
    post.thread, post.author, post.parent = thread, viewer.membership, parent
    session.add(post)
    session.flush()
    from lti_tool.discussions import notify

    notify.new_post(session, viewer, post, mentioned)
    _rescore(session, thread, viewer.membership, now)
    events.post_created.send(session, post=post, now=now)
    return post


def get_post(session: Session, viewer: Viewer, post_id: int) -> Post:
    """A post the viewer may see (404 otherwise, whatever the id)."""
    post = session.scalar(visible_posts(session, viewer, viewer.cohort).where(Post.id == post_id)
                          .options(joinedload(Post.thread), joinedload(Post.author).joinedload(Membership.user)))
    if post is None:
        raise NotFound("There is no such post in this cohort.")
    return post


def _require_author(viewer: Viewer, post: Post, what: str) -> None:
    if post.author_id != viewer.id:
        raise Forbidden(f"Only the author can {what} a post.")
    if post.deleted_at is not None:
        raise Conflict("This post has been removed.")


def edit_post(session: Session, viewer: Viewer, post: Post, body: str, now: dt.datetime | None = None) -> Post:
    _require_author(viewer, post, "edit")
    if post.hidden:
        raise Conflict("A facilitator has hidden this post, so it cannot be edited.")
    if post.thread.locked:
        raise Conflict("This thread is locked, so posts cannot be changed.")
    body = _check_body(body)
    if body == post.body_markdown:
        return post
    _resolve_mentions(session, viewer, post.thread, body)
    session.add(PostRevision(post_id=post.id, body_markdown=post.body_markdown, body_html=post.body_html,
                             written_at=post.edited_at or post.created_at, replaced_at=now or utcnow()))
    post.body_markdown, post.body_html, post.edited_at = body, render_markdown(body), now or utcnow()
    session.flush()
    return post


def delete_post(session: Session, viewer: Viewer, post: Post, now: dt.datetime | None = None) -> Post:
    """The author removes a post: it shows as removed and its replies stay."""
    _require_author(viewer, post, "delete")
    post.deleted_at = now or utcnow()
    session.flush()
    _rescore(session, post.thread, viewer.membership)
    return post


def revisions(session: Session, viewer: Viewer, post: Post) -> list[PostRevision]:
    require_manager(viewer)
    return list(session.scalars(select(PostRevision).where(PostRevision.post_id == post.id).order_by(PostRevision.id)))


def toggle_reaction(session: Session, viewer: Viewer, post: Post, kind: str) -> bool:
    """Add or take back the viewer's own reaction; returns whether it is now on."""
    if not viewer.may_post:
        raise Forbidden("Observers cannot react.")
    try:
        kind_ = ReactionKind(kind)
    except ValueError:
        raise InvalidInput("Choose helpful, agree or thanks.", "kind") from None
    if not can_see_post(session, viewer, post):
        raise NotFound("There is no such post in this cohort.")
    if post.author_id == viewer.id:
        raise Conflict("You cannot react to your own post.")
    existing = session.scalar(select(Reaction).where(Reaction.post_id == post.id, Reaction.membership_id == viewer.id,
                                                     Reaction.kind == kind_))
    if existing is not None:
        session.delete(existing)
        session.flush()
        return False
    _insert_ignore(session, Reaction, post_id=post.id, membership_id=viewer.id, kind=kind_.value,
                   created_at=utcnow())
    return True


# -- moderation --------------------------------------------------------------------------------------------

def _log(session: Session, viewer: Viewer, action: str, *, thread: Thread | None = None, post: Post | None = None,
         reason: str = "") -> None:
    session.add(ModerationLog(cohort_id=viewer.cohort.id, actor_id=viewer.id, action=action,
                              thread_id=thread.id if thread else (post.thread_id if post else None),
                              post_id=post.id if post else None, reason=reason))


def set_pinned(session: Session, viewer: Viewer, thread: Thread, pinned: bool) -> None:
    require_manager(viewer)
    thread.pinned = pinned
    _log(session, viewer, "pin" if pinned else "unpin", thread=thread)
    session.flush()


def set_locked(session: Session, viewer: Viewer, thread: Thread, locked: bool, reason: str = "") -> None:
    require_manager(viewer)
    reason = (reason or "").strip()
    if locked and not reason:
        raise InvalidInput("Say why the thread is locked; participants see the reason.", "reason")
    thread.locked, thread.lock_reason = locked, reason if locked else ""
    _log(session, viewer, "lock" if locked else "unlock", thread=thread, reason=reason)
    session.flush()


def reveal(session: Session, viewer: Viewer, thread: Thread) -> None:
    require_manager(viewer)
    thread.revealed = True
    _log(session, viewer, "reveal", thread=thread)
    session.flush()


def set_hidden(session: Session, viewer: Viewer, post: Post, hidden: bool, reason: str = "") -> None:
    """Hide a post (with a reason; the author is told) or show it again."""
    require_manager(viewer)
    reason = (reason or "").strip()
    if hidden and not reason:
        raise InvalidInput("Give a reason; the author is told.", "reason")
    post.hidden = hidden
    post.hidden_reason = reason if hidden else ""
    post.hidden_by_id = viewer.id if hidden else None
    post.hidden_at = utcnow() if hidden else None
    _log(session, viewer, "hide" if hidden else "unhide", post=post, reason=reason)
    if hidden and post.author_id != viewer.id:
        session.add(Notification(recipient_id=post.author_id, cohort_id=viewer.cohort.id, kind=NotificationKind.hidden,
                                 thread_id=post.thread_id, post_id=post.id, actor_id=viewer.id, note=reason))
    session.flush()
    _rescore(session, post.thread, post.author)


def move_post(session: Session, viewer: Viewer, post: Post, target: Thread) -> int:
    """Move a post and its replies to another thread of the same cohort. Returns how many posts moved."""
    require_manager(viewer)
    if target.cohort_id != viewer.cohort.id:
        raise NotFound("There is no such thread in this cohort.")
    if target.id == post.thread_id:
        raise InvalidInput("The post is already in that thread.", "thread_id")
    source = post.thread
    all_posts = session.execute(select(Post.id, Post.parent_id).where(Post.thread_id == post.thread_id)).all()
    kids: dict[int, list[int]] = {}
    for pid, parent in all_posts:
        kids.setdefault(parent, []).append(pid)
    moving, stack = [], [post.id]
    while stack:
        pid = stack.pop()
        moving.append(pid)
        stack.extend(kids.get(pid, []))
    session.execute(update(Post).where(Post.id.in_(moving)).values(thread_id=target.id)
                    .execution_options(synchronize_session="fetch"))
    post.parent_id = None
    _log(session, viewer, "move", post=post, reason=f"from “{source.title}” to “{target.title}”")
    session.flush()
    session.expire(post)
    author_ids = select(Post.author_id).where(Post.id.in_(moving))
    authors = session.scalars(select(Membership).where(Membership.id.in_(author_ids))).all()
    for author in authors:
        _rescore(session, source, author)
        _rescore(session, target, author)
    return len(moving)


def report_post(session: Session, viewer: Viewer, post: Post, reason: str) -> Report:
    if not can_see_post(session, viewer, post):
        raise NotFound("There is no such post in this cohort.")
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("Tell the facilitators what is wrong with this post.", "reason")
    if len(reason) > 2000:
        raise InvalidInput("Keep the reason under 2,000 characters.", "reason")
    if session.scalar(select(Report.id).where(Report.post_id == post.id, Report.reporter_id == viewer.id)):
        raise Conflict("You have already reported this post; the facilitators have been told.")
    report = Report(post_id=post.id, reporter_id=viewer.id, reason=reason)
    session.add(report)
    session.flush()
    return report


def open_reports(session: Session, viewer: Viewer) -> list[Report]:
    require_manager(viewer)
    return list(session.scalars(
        select(Report).join(Report.post).join(Post.thread)
        .options(joinedload(Report.post).joinedload(Post.thread), joinedload(Report.reporter).joinedload(Membership.user),
                 joinedload(Report.post).joinedload(Post.author).joinedload(Membership.user))
        .where(Thread.cohort_id == viewer.cohort.id, Report.resolved_at.is_(None)).order_by(Report.id)))


def resolve_report(session: Session, viewer: Viewer, report_id: int) -> None:
    require_manager(viewer)
    report = session.scalar(select(Report).join(Report.post).join(Post.thread)
                            .where(Report.id == report_id, Thread.cohort_id == viewer.cohort.id))
    if report is None:
        raise NotFound("There is no such report.")
    report.resolved_at, report.resolved_by_id = utcnow(), viewer.id
    _log(session, viewer, "resolve_report", post=report.post, reason=report.reason)
    session.flush()


def moderation_log(session: Session, viewer: Viewer, limit: int = 200) -> list[ModerationLog]:
    require_manager(viewer)
    return list(session.scalars(select(ModerationLog).options(joinedload(ModerationLog.actor).joinedload(Membership.user))
                                .where(ModerationLog.cohort_id == viewer.cohort.id)
                                .order_by(ModerationLog.id.desc()).limit(limit)))


# -- search ------------------------------------------------------------------------------------------------

def search_posts(session: Session, viewer: Viewer, query: str, limit: int = 50) -> list[Post]:
    """Posts of the cohort containing ``query`` that the viewer may see (post-first and hidden posts respected)."""
    query = (query or "").strip()
    if len(query) < 2:
        return []
    escaped = query[:200].replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return list(session.scalars(
        visible_posts(session, viewer, viewer.cohort, content_only=True)
        .where(Post.body_markdown.ilike(f"%{escaped}%", escape="\\"))
        .options(joinedload(Post.thread), joinedload(Post.author).joinedload(Membership.user))
        .order_by(Post.id.desc()).limit(limit)))


# -- participation and the book-study score --------------------------------------------------------------

@dataclass
class Standing:
    reading: Reading
    initial_on_time: int = 0
    initial_late: int = 0
    replies_on_time: int = 0
    replies_late: int = 0
    opened: bool = True
    ended: bool = False

    @property
    def met(self) -> bool:
        r = self.reading
        return self.initial_on_time + self.initial_late >= r.initial_posts_required and \
            self.replies_on_time + self.replies_late >= r.replies_required

    @property
    def met_on_time(self) -> bool:
        r = self.reading
        return self.initial_on_time >= r.initial_posts_required and self.replies_on_time >= r.replies_required

    @property
    def fraction(self) -> float:
        """On-time contributions count fully, late ones half."""
        r = self.reading
        need = r.initial_posts_required + r.replies_required
        if need == 0:
            return 1.0
        initial = min(r.initial_posts_required, self.initial_on_time) + 0.5 * min(
            max(0, r.initial_posts_required - self.initial_on_time), self.initial_late)
        replies = min(r.replies_required, self.replies_on_time) + 0.5 * min(
            max(0, r.replies_required - self.replies_on_time), self.replies_late)
        return (initial + replies) / need

    @property
    def status(self) -> tuple[str, str]:
        """(key, words) — the words carry the meaning, the key picks a colour."""
        r = self.reading
        done = (f"{min(self.initial_on_time + self.initial_late, r.initial_posts_required)} of "
                f"{r.initial_posts_required} initial, {min(self.replies_on_time + self.replies_late, r.replies_required)}"
                f" of {r.replies_required} replies")
        if not self.opened:
            return "upcoming", "Not open yet"
        if self.met_on_time:
            return "met", "Met on time"
        if self.met:
            return "late", "Met, partly late"
        if self.ended:
            return "missed", f"Missed: {done}"
        if self.initial_on_time + self.replies_on_time + self.initial_late + self.replies_late == 0:
            return "todo", "Not started"
        return "progress", f"In progress: {done}"


def criteria_text(reading: Reading) -> str:
    parts = []
    if reading.initial_posts_required:
        n = reading.initial_posts_required
        parts.append("an initial post" if n == 1 else f"{n} initial posts")
    if reading.replies_required:
        n = reading.replies_required
        parts.append("a reply to someone else" if n == 1 else f"{n} replies to others")
    if not parts:
        return "No posts required."
    return f"{' and '.join(parts).capitalize()} by the end of {reading.ends_on:%a %d %b %Y}. Late posts count half."


def standings(session: Session, book: Book, membership_ids: Iterable[int], now: dt.datetime | None = None,
              cohort_id: int | None = None) -> dict[int, dict[int, Standing]]:
    """membership id → reading id → Standing, from one query over the book's threads."""
    ids = list(membership_ids)
    program = book.program
    today = program_today(program, now)
    now = now or utcnow()
    result = {mid: {r.id: Standing(r, opened=r.starts_on <= today, ended=reading_deadline(program, r) <= now)
                    for r in book.readings} for mid in ids}
    if not ids or not book.readings:
        return result
    parent = aliased(Post)
    stmt = (select(Post.author_id, Thread.reading_id, Post.parent_id, parent.author_id, Post.created_at)
            .join(Thread, Post.thread_id == Thread.id)
            .outerjoin(parent, Post.parent_id == parent.id)
            .where(Thread.reading_id.in_([r.id for r in book.readings]), Post.author_id.in_(ids),
                   Post.deleted_at.is_(None), Post.hidden.is_(False)))
    if cohort_id is not None:
        stmt = stmt.where(Thread.cohort_id == cohort_id)
    deadlines = {r.id: reading_deadline(program, r) for r in book.readings}
    for author, reading_id, parent_id, parent_author, created in session.execute(stmt):
        s = result[author][reading_id]
        on_time = created <= deadlines[reading_id]
        if parent_id is None:
            if on_time:
                s.initial_on_time += 1
            else:
                s.initial_late += 1
        elif parent_author is not None and parent_author != author:
            if on_time:
                s.replies_on_time += 1
            else:
                s.replies_late += 1
    return result


def computed_score(book: Book, by_reading: dict[int, Standing]) -> float:
    """Over every reading of the book (later ones count 0 until done), so early scores are never inflated."""
    if not book.readings:
        return 0.0
    share = sum(s.fraction for s in by_reading.values()) / len(book.readings)
    return round(share * book.score_maximum, 2)


def _score_comment(book: Book, by_reading: dict[int, Standing]) -> str:
    met = sum(1 for s in by_reading.values() if s.met)
    return f"Book study “{book.title}”: criteria met for {met} of {len(book.readings)} readings."


def sync_book_score(session: Session, book: Book, membership: Membership, now: dt.datetime | None = None):
    """Send the person's book-study score (computed, or the facilitator's override) through the grade engine."""
    if book.score_maximum <= 0 or membership.role is not CourseRole.participant:
        return None
    from lti_tool.grades.models import ComponentKind
    from lti_tool.grades.services import ensure_component, record_score

    component = ensure_component(session, book.program.course, f"bookstudy:{book.id}", ComponentKind.discussion,
                                 f"Book study: {book.title}", book.score_maximum)
    override = session.scalar(select(ParticipationOverride).where(ParticipationOverride.book_id == book.id,
                                                                  ParticipationOverride.membership_id == membership.id))
    by_reading = standings(session, book, [membership.id], now=now)[membership.id]
    all_over = all(s.ended for s in by_reading.values())
    if override is not None:
        score, comment = override.score, override.comment or "Score set by the facilitator."
    else:
        score, comment = computed_score(book, by_reading), _score_comment(book, by_reading)
    return record_score(session, component, membership, score, comment=comment,
                        activity_progress="Completed" if all_over else "InProgress",
                        grading_progress="FullyGraded" if all_over or override else "Pending")


def _rescore(session: Session, thread: Thread, membership: Membership, now: dt.datetime | None = None) -> None:
    if thread.reading_id is None:
        return
    reading = thread.reading or session.get(Reading, thread.reading_id)
    sync_book_score(session, reading.book, membership, now=now)


def override_score(session: Session, viewer: Viewer, book: Book, membership_id: int, score: float | None,
                   comment: str) -> None:
    """A facilitator's score for a participant (None: back to the computed score); sent to the LMS."""
    require_manager(viewer)
    seat = session.scalar(select(CohortMember).options(joinedload(CohortMember.membership))
                          .where(CohortMember.cohort_id == viewer.cohort.id, CohortMember.membership_id == membership_id))
    if seat is None or not any(link.cohort_id == viewer.cohort.id for link in book.cohort_links):
        raise NotFound("There is no such participant in this cohort's book study.")
    existing = session.scalar(select(ParticipationOverride).where(ParticipationOverride.book_id == book.id,
                                                                  ParticipationOverride.membership_id == membership_id))
    if score is None:
        if existing is not None:
            session.delete(existing)
    else:
        if score < 0 or score > book.score_maximum:
            raise InvalidInput(f"Give a score between 0 and {book.score_maximum:g}.", "score")
        if not (comment or "").strip():
            raise InvalidInput("Add a comment: the participant sees why the score was changed.", "comment")
        if existing is None:
            existing = ParticipationOverride(book_id=book.id, membership_id=membership_id)
            session.add(existing)
        existing.score, existing.comment, existing.by_id, existing.at = score, comment.strip()[:1000], viewer.id, utcnow()
    _log(session, viewer, "override_score", reason=f"{seat.membership.user.display_name}: "
         f"{'computed' if score is None else score}; {comment}")
    session.flush()
    sync_book_score(session, book, seat.membership)


@dataclass
class Grid:
    book: Book
    people: list[Membership]
    rows: dict[int, dict[int, Standing]]
    scores: dict[int, float]
    overrides: dict[int, ParticipationOverride]


def participation_grid(session: Session, viewer: Viewer, book: Book, now: dt.datetime | None = None) -> Grid:
    require_manager(viewer)
    people = list(session.scalars(
        select(Membership).join(CohortMember, CohortMember.membership_id == Membership.id)
        .options(joinedload(Membership.user))
        .where(CohortMember.cohort_id == viewer.cohort.id, CohortMember.status == SeatStatus.active)))
    people.sort(key=lambda m: m.user.display_name.lower())
    rows = standings(session, book, [m.id for m in people], now=now)
    overrides = {o.membership_id: o for o in session.scalars(select(ParticipationOverride).where(
        ParticipationOverride.book_id == book.id, ParticipationOverride.membership_id.in_([m.id for m in people])))}
    scores = {m.id: (overrides[m.id].score if m.id in overrides else computed_score(book, rows[m.id])) for m in people}
    return Grid(book, people, rows, scores, overrides)


def _csv_cell(value) -> str:
    text = str(value)
    # Spreadsheet formula injection: a leading =, +, -, @, tab or CR makes a cell a formula.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def participation_csv(grid: Grid) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    readings = sorted(grid.book.readings, key=lambda r: (r.starts_on, r.position))
    writer.writerow(["Participant", "Email", *[_csv_cell(r.label) for r in readings], "Score", "Maximum", "Override comment"])
    for m in grid.people:
        override = grid.overrides.get(m.id)
        writer.writerow([_csv_cell(m.user.display_name), _csv_cell(m.user.email),
                         *[_csv_cell(grid.rows[m.id][r.id].status[1]) for r in readings],
                         grid.scores[m.id], grid.book.score_maximum, _csv_cell(override.comment if override else "")])
    return out.getvalue()


# -- what a course member can see at all ---------------------------------------------------------------------

def my_cohorts(session: Session, membership: Membership, program: Program) -> list[Cohort]:
    """Cohorts whose discussions ``membership`` may open."""
    cohorts = list(session.scalars(select(Cohort).where(Cohort.program_id == program.id)
                                   .options(joinedload(Cohort.program)).order_by(Cohort.name)))
    if is_lead(program, membership) or (membership.role is CourseRole.observer
                                        and program_settings(session, program).observers_may_read):
        return cohorts
    seats = set(session.scalars(select(CohortMember.cohort_id).where(CohortMember.membership_id == membership.id,
                                                                     CohortMember.status == SeatStatus.active)))
    facilitates = set(session.scalars(select(CohortFacilitator.cohort_id)
                                      .where(CohortFacilitator.membership_id == membership.id)))
    return [c for c in cohorts if c.id in seats | facilitates]


def user_of(session: Session, membership_id: int) -> User | None:
    m = session.get(Membership, membership_id)
    return m.user if m else None
