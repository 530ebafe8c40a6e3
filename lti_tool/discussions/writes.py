"""What changes the book study: books and their reading schedule, threads, posts, reactions, read state,
moderation and the participation score. Each operation checks who may do it (``permissions``), validates
(``InvalidInput`` naming the form field), changes the models and flushes; the caller commits."""
from __future__ import annotations

import datetime as dt
from typing import Iterable
from urllib.parse import urlsplit

from flask import current_app, has_app_context
from sqlalchemy import select, update
from sqlalchemy.orm import Session, joinedload

from lti_tool.course import events
from lti_tool.course.access import Access
from lti_tool.db import insert_ignoring_conflicts, utcnow
from lti_tool.discussions import notify
from lti_tool.discussions.markdown import mentions_in, render_post
from lti_tool.discussions.models import (
    Book, BookCohort, CohortDiscussionSettings, ModerationLog, ParticipationOverride, Post, PostFirst, PostRevision,
    ProgramDiscussionSettings, Reaction, ReactionKind, Reading, ReadState, Report, Thread,
)
from lti_tool.discussions.permissions import (
    Viewer, can_see_post, cohort_settings, may_start_thread, program_settings, require_author, require_book_editor,
    require_manager,
)
from lti_tool.discussions.queries import (
    computed_score, latest_visible_posts, mentionable, program_today, score_comment, standings,
)
from lti_tool.errors import Conflict, Forbidden, InvalidInput, NotFound
from lti_tool.grades.models import ComponentKind
from lti_tool.grades.writes import ensure_component, record_score
from lti_tool.lti.models import CourseRole, Membership
from lti_tool.programs.models import CohortMember, Program

MAX_POST_CHARS_DEFAULT = 20_000


def max_post_chars() -> int:
    """The longest post, prompt or opening text (``DISCUSSION_MAX_POST_CHARS``)."""
    value = current_app.config.get("DISCUSSION_MAX_POST_CHARS") if has_app_context() else None
    return int(value or MAX_POST_CHARS_DEFAULT)


# -- books and the reading schedule ------------------------------------------------------------------------

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


def save_book(session: Session, access: Access, *, title: str, author: str = "", edition: str = "",
              cover_url: str = "", link_url: str = "", cohort_ids: Iterable[int] = (), score_maximum: float = 100.0,
              book: Book | None = None) -> Book:
    """Add a book to ``access``'s program (or change one): which of the cohorts they manage read it, its
    cover and link (checked addresses), its points in the gradebook."""
    program = access.program
    if program is None or not access.managed:
        raise Forbidden("Only the program's leads and cohort facilitators can add a book.")
    if book is not None:
        require_book_editor(access, book)
    title = (title or "").strip()
    if not title:
        raise InvalidInput("Give the book a title.", "title")
    if len(title) > 300:
        raise InvalidInput("The title is too long (300 characters at most).", "title")
    wanted = set(int(i) for i in cohort_ids)
    if not wanted:
        raise InvalidInput("Choose at least one cohort that reads the book.", "cohort_ids")
    if wanted - access.managed:
        raise Forbidden("You can add a book only for cohorts you facilitate.")
    if score_maximum is None or score_maximum < 0:
        raise InvalidInput("Points must be 0 (not graded) or more.", "score_maximum")
    if book is None:
        book = Book(program_id=program.id, created_by_id=access.id)
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
        if access.manages(cid) and cid not in wanted:
            book.cohort_links.remove(link)
    session.flush()
    open_due_threads(session, program)
    return book


def save_reading(session: Session, access: Access, book: Book, *, label: str, starts_on: dt.date | None,
                 ends_on: dt.date | None, prompt: str = "", initial_posts_required: int = 1,
                 replies_required: int = 2, post_first: PostFirst = PostFirst.after_n_posts, post_first_n: int = 1,
                 anonymous_to_peers: bool = False, reading: Reading | None = None,
                 now: dt.datetime | None = None) -> Reading:
    """Add (or change) a reading of ``book``; its threads open on the start date, in every cohort reading it."""
    require_book_editor(access, book)
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
    if len(prompt or "") > max_post_chars():
        raise InvalidInput("The prompt is too long.", "prompt")
    if reading is None:
        reading = Reading(position=len(book.readings))
        book.readings.append(reading)
    reading.label = label[:200]
    reading.starts_on, reading.ends_on = starts_on, ends_on
    reading.prompt_markdown = prompt or ""
    reading.prompt_html = render_post(prompt or "")
    reading.initial_posts_required, reading.replies_required = initial_posts_required, replies_required
    reading.post_first, reading.post_first_n = post_first, max(1, post_first_n)
    reading.anonymous_to_peers = anonymous_to_peers
    session.flush()
    session.execute(update(Thread).where(Thread.reading_id == reading.id)
                    .values(prompt_markdown=reading.prompt_markdown, prompt_html=reading.prompt_html))
    open_due_threads(session, book.program, now=now)
    return reading


def shift_schedule(session: Session, access: Access, reading: Reading, days: int) -> int:
    """Move ``reading`` and every later reading of its book by ``days`` (a session moved). Returns how many."""
    book = reading.book
    require_book_editor(access, book)
    if days == 0 or abs(days) > 366:
        raise InvalidInput("Shift by a number of days between -366 and 366, not 0.", "days")
    later = [r for r in book.readings if (r.starts_on, r.position, r.id) >= (reading.starts_on, reading.position, reading.id)]
    for r in later:
        r.starts_on += dt.timedelta(days=days)
        r.ends_on += dt.timedelta(days=days)
    session.flush()
    return len(later)


def open_due_threads(session: Session, program: Program, now: dt.datetime | None = None) -> int:
    """Create the thread of every reading that has started, in each cohort reading its book. Returns how many.

    Run by every book-study page (``open_started_threads``), so no cron is needed; a concurrent request
    creating the same thread is harmless.
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
        made += insert_ignoring_conflicts(session, Thread, dict(
            cohort_id=cohort_id, reading_id=reading.id, title=reading.label,
            prompt_markdown=reading.prompt_markdown, prompt_html=reading.prompt_html,
            post_first=reading.post_first.value, post_first_n=reading.post_first_n,
            anonymous_to_peers=reading.anonymous_to_peers, created_at=utcnow(), revealed=False,
            pinned=False, locked=False, lock_reason=""))
    return made


def open_started_threads(session: Session, program: Program) -> None:
    """The first step of every book-study page (``program_page(setup=...)``): open the threads that are due
    (the page loader commits them, so a view that rolls back a failed form never undoes them)."""
    open_due_threads(session, program)


# -- settings --------------------------------------------------------------------------------------------

def update_program_settings(session: Session, access: Access, *, observers_may_read: bool,
                            email_enabled: bool) -> ProgramDiscussionSettings:
    """Whether observers read the cohorts' discussions and notification emails go out (leads only)."""
    access.require_lead("change the book study's settings")
    settings = program_settings(session, access.program)
    settings.observers_may_read, settings.email_enabled = observers_may_read, email_enabled
    session.add(settings)
    session.flush()
    return settings


def update_cohort_settings(session: Session, viewer: Viewer, general_threads_by: str) -> CohortDiscussionSettings:
    """Who may start general threads in the cohort: its facilitators, or everyone in it."""
    require_manager(viewer, "change who starts threads")
    if general_threads_by not in ("facilitators", "everyone"):
        raise InvalidInput("Choose facilitators or everyone.", "general_threads_by")
    settings = cohort_settings(session, viewer.cohort)
    settings.general_threads_by = general_threads_by
    session.add(settings)
    session.flush()
    return settings


# -- threads -----------------------------------------------------------------------------------------------

def _check_post_first(post_first: PostFirst, n: int, at: dt.datetime | None) -> None:
    if post_first is PostFirst.after_n_posts and (n is None or n < 1):
        raise InvalidInput("Participants see the others after at least 1 post of their own.", "post_first_n")
    if post_first is PostFirst.after_date and at is None:
        raise InvalidInput("Give the date from which everyone sees the others' posts.", "post_first_at")


def create_thread(session: Session, viewer: Viewer, *, title: str, prompt: str = "",
                  post_first: PostFirst = PostFirst.none, post_first_n: int = 1,
                  post_first_at: dt.datetime | None = None, anonymous_to_peers: bool = False) -> Thread:
    """A general thread of the cohort (facilitators, or everyone if the cohort allows); the cohort is told."""
    if not viewer.may_post:
        raise Forbidden("Observers cannot start threads.")
    if not may_start_thread(session, viewer):
        raise Forbidden("In this cohort only the facilitators start threads.")
    title = (title or "").strip()
    if not title:
        raise InvalidInput("Give the thread a title.", "title")
    if len(title) > 300:
        raise InvalidInput("The title is too long (300 characters at most).", "title")
    if len(prompt or "") > max_post_chars():
        raise InvalidInput("The opening text is too long.", "prompt")
    if not viewer.manages:   # participants start plain threads
        post_first, anonymous_to_peers = PostFirst.none, False
    _check_post_first(post_first, post_first_n, post_first_at)
    thread = Thread(cohort_id=viewer.cohort.id, title=title, prompt_markdown=prompt or "",
                    prompt_html=render_post(prompt or ""), post_first=post_first, post_first_n=max(1, post_first_n or 1),
                    post_first_at=post_first_at, anonymous_to_peers=anonymous_to_peers, created_by_id=viewer.id)
    session.add(thread)
    session.flush()
    notify.new_thread(session, viewer, thread)
    return thread


def update_thread_settings(session: Session, viewer: Viewer, thread: Thread, *, post_first: PostFirst,
                           post_first_n: int = 1, post_first_at: dt.datetime | None = None,
                           anonymous_to_peers: bool | None = None) -> Thread:
    """The thread's post-first rule and anonymity (logged)."""
    require_manager(viewer, "change a thread's settings")
    _check_post_first(post_first, post_first_n, post_first_at)
    thread.post_first, thread.post_first_n, thread.post_first_at = post_first, max(1, post_first_n or 1), post_first_at
    if anonymous_to_peers is not None:
        thread.anonymous_to_peers = anonymous_to_peers
    _log(session, viewer, "settings", thread=thread, reason=f"post-first: {post_first.value}")
    session.flush()
    return thread


# -- read state --------------------------------------------------------------------------------------------

def mark_read(session: Session, viewer: Viewer, thread_id: int, post_id: int | None) -> None:
    """Move the viewer's read marker in a thread up to ``post_id`` (never back): one UPDATE, or an INSERT the
    first time."""
    if post_id is None:
        return
    done = session.execute(update(ReadState).where(ReadState.membership_id == viewer.id,
                                                   ReadState.thread_id == thread_id,
                                                   ReadState.last_read_post_id < post_id)
                           .values(last_read_post_id=post_id, updated_at=utcnow())
                           .execution_options(synchronize_session=False)).rowcount
    if done:
        return
    # Otherwise it does not exist yet, or is already at or past post_id.
    insert_ignoring_conflicts(session, ReadState, dict(membership_id=viewer.id, thread_id=thread_id,
                                                       last_read_post_id=post_id, updated_at=utcnow()))


def mark_all_read(session: Session, viewer: Viewer, now: dt.datetime | None = None) -> int:
    """Everything the viewer sees in the cohort is read. Returns in how many threads."""
    latest = latest_visible_posts(session, viewer, now)
    for thread_id, post_id in latest:
        mark_read(session, viewer, thread_id, post_id)
    session.flush()
    return len(latest)


# -- posts -------------------------------------------------------------------------------------------------

def _check_body(body: str) -> str:
    body = (body or "").replace("\r\n", "\n")
    if not body.strip():
        raise InvalidInput("Write something before posting.", "body")
    limit = max_post_chars()
    if len(body) > limit:
        raise InvalidInput(f"A post can be at most {limit:,} characters; this one has {len(body):,}.", "body")
    return body


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
    """Post in a thread (or reply to a visible post). The people concerned who may see it are told (their
    emails go once the caller commits), the book-study score is sent, and ``events.post_created`` lets the
    modules complete the items the post answers."""
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
                body_markdown=body, body_html=render_post(body), created_at=now or utcnow())
    post.thread, post.author, post.parent = thread, viewer.membership, parent
    session.add(post)
    session.flush()
    notify.new_post(session, viewer, post, mentioned)
    _rescore(session, thread, viewer.membership, now)
    events.post_created.send(session, post=post, now=now)
    return post


def edit_post(session: Session, viewer: Viewer, post: Post, body: str, now: dt.datetime | None = None) -> Post:
    """The author changes their post; the version it replaces is kept for the facilitators."""
    require_author(viewer, post, "edit")
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
    post.body_markdown, post.body_html, post.edited_at = body, render_post(body), now or utcnow()
    session.flush()
    return post


def delete_post(session: Session, viewer: Viewer, post: Post, now: dt.datetime | None = None) -> Post:
    """The author removes a post: it shows as removed and its replies stay."""
    require_author(viewer, post, "delete")
    post.deleted_at = now or utcnow()
    session.flush()
    _rescore(session, post.thread, viewer.membership)
    return post


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
    insert_ignoring_conflicts(session, Reaction, dict(post_id=post.id, membership_id=viewer.id, kind=kind_.value,
                                                      created_at=utcnow()))
    return True


def report_post(session: Session, viewer: Viewer, post: Post, reason: str) -> Report:
    """Tell the cohort's facilitators what is wrong with a post (once per person and post)."""
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


# -- moderation: those who manage the cohort, each action logged --------------------------------------------

def _log(session: Session, viewer: Viewer, action: str, *, thread: Thread | None = None, post: Post | None = None,
         reason: str = "") -> None:
    session.add(ModerationLog(cohort_id=viewer.cohort.id, actor_id=viewer.id, action=action,
                              thread_id=thread.id if thread else (post.thread_id if post else None),
                              post_id=post.id if post else None, reason=reason))


def set_pinned(session: Session, viewer: Viewer, thread: Thread, pinned: bool) -> None:
    """Pin a thread to the top of the cohort's list (or unpin it)."""
    require_manager(viewer, "pin threads")
    thread.pinned = pinned
    _log(session, viewer, "pin" if pinned else "unpin", thread=thread)
    session.flush()


def set_locked(session: Session, viewer: Viewer, thread: Thread, locked: bool, reason: str = "") -> None:
    """Lock a thread (with a reason the participants see: no new posts or edits) or unlock it."""
    require_manager(viewer, "lock threads")
    reason = (reason or "").strip()
    if locked and not reason:
        raise InvalidInput("Say why the thread is locked; participants see the reason.", "reason")
    thread.locked, thread.lock_reason = locked, reason if locked else ""
    _log(session, viewer, "lock" if locked else "unlock", thread=thread, reason=reason)
    session.flush()


def reveal(session: Session, viewer: Viewer, thread: Thread) -> None:
    """Open a facilitator-reveal thread's gate: everyone sees the others' posts."""
    require_manager(viewer, "reveal posts")
    thread.revealed = True
    _log(session, viewer, "reveal", thread=thread)
    session.flush()


def set_hidden(session: Session, viewer: Viewer, post: Post, hidden: bool, reason: str = "") -> None:
    """Hide a post (with a reason; the author is told) or show it again."""
    require_manager(viewer, "hide posts")
    reason = (reason or "").strip()
    if hidden and not reason:
        raise InvalidInput("Give a reason; the author is told.", "reason")
    post.hidden = hidden
    post.hidden_reason = reason if hidden else ""
    post.hidden_by_id = viewer.id if hidden else None
    post.hidden_at = utcnow() if hidden else None
    _log(session, viewer, "hide" if hidden else "unhide", post=post, reason=reason)
    if hidden:
        notify.post_hidden(session, viewer, post, reason)
    session.flush()
    _rescore(session, post.thread, post.author)


def move_post(session: Session, viewer: Viewer, post: Post, target: Thread) -> int:
    """Move a post and its replies to another thread of the same cohort. Returns how many posts moved."""
    require_manager(viewer, "move posts")
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


def resolve_report(session: Session, viewer: Viewer, report_id: int) -> None:
    """Close a report on a post of the cohort (logged)."""
    require_manager(viewer, "close reports")
    report = session.scalar(select(Report).join(Report.post).join(Post.thread)
                            .where(Report.id == report_id, Thread.cohort_id == viewer.cohort.id))
    if report is None:
        raise NotFound("There is no such report.")
    report.resolved_at, report.resolved_by_id = utcnow(), viewer.id
    _log(session, viewer, "resolve_report", post=report.post, reason=report.reason)
    session.flush()


# -- the book-study score -----------------------------------------------------------------------------------

def sync_book_score(session: Session, book: Book, membership: Membership, now: dt.datetime | None = None):
    """Send the person's book-study score (computed, or the facilitator's override) through the grade engine.
    Only the LMS's learners have a gradebook column to receive it."""
    if book.score_maximum <= 0 or membership.role is not CourseRole.participant:
        return None
    component = ensure_component(session, book.program.course, f"bookstudy:{book.id}", ComponentKind.discussion,
                                 f"Book study: {book.title}", book.score_maximum)
    override = session.scalar(select(ParticipationOverride).where(ParticipationOverride.book_id == book.id,
                                                                  ParticipationOverride.membership_id == membership.id))
    by_reading = standings(session, book, [membership.id], now=now)[membership.id]
    all_over = all(s.ended for s in by_reading.values())
    if override is not None:
        score, comment = override.score, override.comment or "Score set by the facilitator."
    else:
        score, comment = computed_score(book, by_reading), score_comment(book, by_reading)
    return record_score(session, component, membership, score, comment=comment,
                        activity_progress="Completed" if all_over else "InProgress",
                        grading_progress="FullyGraded" if all_over or override else "Pending")


def _rescore(session: Session, thread: Thread, membership: Membership, now: dt.datetime | None = None) -> None:
    if thread.reading_id is None:
        return
    reading = thread.reading or session.get(Reading, thread.reading_id)
    sync_book_score(session, reading.book, membership, now=now)
    events.progress_changed.send(session, program_id=reading.book.program_id, membership_ids=[membership.id])


def override_score(session: Session, viewer: Viewer, book: Book, membership_id: int, score: float | None,
                   comment: str) -> None:
    """A facilitator's score for a participant (None: back to the computed score); sent to the LMS."""
    require_manager(viewer, "change a score")
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
