"""What the book-study pages show: the scoped loaders (404 for anything outside the viewer's reach) and the
read-models of the thread page, the cohort home, the participation grid and the reading schedule, each
built in a fixed number of queries whatever the number of posts, threads or people."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Iterable

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, aliased, joinedload, selectinload

from lti_tool.course.access import Access
from lti_tool.course.zones import describe_instant, local_date, local_to_utc, program_zone
from lti_tool.db import utcnow
from lti_tool.discussions.models import (
    Book, BookCohort, ModerationLog, ParticipationOverride, Post, PostFirst, PostRevision, ProgramDiscussionSettings,
    Reaction, Reading, ReadState, Report, Thread,
)
from lti_tool.discussions.permissions import (
    Viewer, can_edit_book, cohort_settings, may_mention, may_start_thread, others_visible, program_settings,
    require_manager, shown_name, shows_avatar, visible_posts,
)
from lti_tool.errors import NotFound
from lti_tool.lti.models import Membership
from lti_tool.programs.models import Cohort, CohortFacilitator, CohortMember, Program, SeatStatus


# -- loaders: 404 for anything outside the viewer's course or cohort ---------------------------------------

def get_book(session: Session, access: Access, book_id: int) -> Book:
    book = session.scalar(select(Book).join(Book.program).options(selectinload(Book.readings),
                                                                  selectinload(Book.cohort_links))
                          .where(Book.id == book_id, Program.course_id == access.course_id))
    if book is None:
        raise NotFound("There is no such book in this course.")
    return book


def get_reading(session: Session, access: Access, reading_id: int) -> Reading:
    reading = session.scalar(select(Reading).join(Reading.book).join(Book.program)
                             .where(Reading.id == reading_id, Program.course_id == access.course_id))
    if reading is None:
        raise NotFound("There is no such reading in this course.")
    return reading


def get_thread(session: Session, viewer: Viewer, thread_id: int) -> Thread:
    thread = session.scalar(select(Thread).options(joinedload(Thread.reading))
                            .where(Thread.id == thread_id, Thread.cohort_id == viewer.cohort.id))
    if thread is None:
        raise NotFound("There is no such thread in this cohort.")
    return thread


def get_post(session: Session, viewer: Viewer, post_id: int) -> Post:
    """A post the viewer may see (404 otherwise, whatever the id)."""
    post = session.scalar(visible_posts(viewer, viewer.cohort).where(Post.id == post_id)
                          .options(joinedload(Post.thread), joinedload(Post.author).joinedload(Membership.user)))
    if post is None:
        raise NotFound("There is no such post in this cohort.")
    return post


# -- which cohorts and books a course member reaches ---------------------------------------------------------

def program_cohorts(session: Session, program: Program, ids: Iterable[int] | None = None) -> list[Cohort]:
    stmt = select(Cohort).where(Cohort.program_id == program.id).options(joinedload(Cohort.program))
    if ids is not None:
        stmt = stmt.where(Cohort.id.in_(list(ids)))
    return list(session.scalars(stmt.order_by(Cohort.name)))


def my_cohorts(session: Session, access: Access) -> list[Cohort]:
    """Cohorts whose discussions ``access`` may open."""
    program = access.program
    if access.lead or (access.is_observer and access.membership.active
                       and program_settings(session, program).observers_may_read):
        return program_cohorts(session, program)
    return program_cohorts(session, program, access.visible)


@dataclass
class IndexPage:
    cohorts: list[Cohort]
    books: list[Book]
    can_add: bool                    # they manage a cohort, so may add a book for it
    settings: ProgramDiscussionSettings | None   # the program's settings, for its leads


def index_page(session: Session, access: Access) -> IndexPage:
    books = list(session.scalars(select(Book).where(Book.program_id == access.program.id).order_by(Book.id)))
    return IndexPage(my_cohorts(session, access), books, access.manages_any,
                     program_settings(session, access.program) if access.lead else None)


def readings_thread(session: Session, access: Access, reading: Reading) -> tuple[Cohort, int | None]:
    """Where a placed reading link leads: the first of the viewer's cohorts reading the book, and that
    cohort's thread of the reading (None before it opens). 404 when none of their cohorts reads it."""
    reads = {link.cohort_id for link in reading.book.cohort_links}
    cohorts = [c for c in my_cohorts(session, access) if c.id in reads]
    if not cohorts:
        raise NotFound("You are not in a cohort that reads this book.")
    thread_id = session.scalar(select(Thread.id).where(Thread.cohort_id == cohorts[0].id,
                                                       Thread.reading_id == reading.id))
    return cohorts[0], thread_id


def course_readings(session: Session, course_id: int) -> list[tuple[Reading, Book]]:
    """Every reading of the course's book study, for the deep-linking picker."""
    return list(session.execute(select(Reading, Book).join(Book).join(Program).where(Program.course_id == course_id)
                                .order_by(Book.id, Reading.starts_on, Reading.position)))


def reading_in_course(session: Session, course_id: int, reading_id: int) -> int | None:
    return session.scalar(select(Reading.id).join(Book).join(Program)
                          .where(Reading.id == reading_id, Program.course_id == course_id))


# -- the reading schedule -----------------------------------------------------------------------------------

def program_today(program: Program, now: dt.datetime | None = None) -> dt.date:
    return local_date(program_zone(program), now)


def reading_deadline(program: Program, reading: Reading) -> dt.datetime:
    """The end of the reading's last day in the program's zone, in UTC."""
    return local_to_utc(program_zone(program), reading.ends_on + dt.timedelta(days=1), dt.time(0))


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


@dataclass
class BookPage:
    book: Book
    editor: bool
    plan: Schedule


def book_page(session: Session, access: Access, book_id: int) -> BookPage:
    """A book's schedule: for its editors, and for whoever reads it in one of their cohorts (404 otherwise)."""
    book = get_book(session, access, book_id)
    editor = can_edit_book(access, book)
    reads = {link.cohort_id for link in book.cohort_links}
    if not editor and not any(c.id in reads for c in my_cohorts(session, access)):
        raise NotFound("There is no such book in this course.")
    return BookPage(book, editor, schedule(book, program_today(book.program)))


# -- read state and the thread list ---------------------------------------------------------------------------

def unread_counts(session: Session, viewer: Viewer, now: dt.datetime | None = None) -> dict[int, int]:
    """Unread visible posts per thread of the cohort, by others: one aggregate query."""
    stmt = (visible_posts(viewer, viewer.cohort, content_only=True, now=now,
                          columns=[Post.thread_id, func.count(Post.id)])
            .outerjoin(ReadState, and_(ReadState.thread_id == Post.thread_id, ReadState.membership_id == viewer.id))
            .where(Post.author_id != viewer.id, Post.id > func.coalesce(ReadState.last_read_post_id, 0))
            .group_by(Post.thread_id))
    return dict(session.execute(stmt).all())


def latest_visible_posts(session: Session, viewer: Viewer, now: dt.datetime | None = None) -> list[tuple[int, int]]:
    """(thread id, its latest post the viewer sees) for every thread of the cohort."""
    return list(session.execute(visible_posts(viewer, viewer.cohort, content_only=True, now=now,
                                              columns=[Post.thread_id, func.max(Post.id)])
                                .group_by(Post.thread_id)))


@dataclass
class ThreadRow:
    thread: Thread
    posts: int
    unread: int


def thread_list(session: Session, viewer: Viewer, now: dt.datetime | None = None) -> list[ThreadRow]:
    """The cohort's threads with visible post counts and unread counts: three queries, whatever the size."""
    threads = list(session.scalars(select(Thread).options(joinedload(Thread.reading))
                                   .where(Thread.cohort_id == viewer.cohort.id)
                                   .order_by(Thread.pinned.desc(), Thread.created_at.desc(), Thread.id.desc())))
    totals = dict(session.execute(
        visible_posts(viewer, viewer.cohort, content_only=True, now=now, columns=[Post.thread_id, func.count(Post.id)])
        .group_by(Post.thread_id)).all())
    unread = unread_counts(session, viewer, now=now)
    return [ThreadRow(t, totals.get(t.id, 0), unread.get(t.id, 0)) for t in threads]


@dataclass
class CohortPage:
    """The cohort's discussion home: each book's week, the threads, where a participant stands."""

    plans: list[Schedule]
    rows: list[ThreadRow]
    by_reading: dict[int, ThreadRow]
    mine: dict[int, dict[int, Standing]]   # book id → reading id → the viewer's standing (participants)
    can_start: bool
    general_threads_by: str | None   # the cohort's setting, for those who manage it

    @property
    def total_unread(self) -> int:
        return sum(r.unread for r in self.rows)


def cohort_page(session: Session, viewer: Viewer, now: dt.datetime | None = None) -> CohortPage:
    today = program_today(viewer.cohort.program, now)
    books = books_of_cohort(session, viewer.cohort)
    rows = thread_list(session, viewer, now)
    mine = {}
    if viewer.is_member:
        mine = {b.id: standings(session, b, [viewer.id], now=now, cohort_id=viewer.cohort.id)[viewer.id] for b in books}
    by_reading = {r.thread.reading_id: r for r in rows if r.thread.reading_id}
    # Those who manage the cohort see its setting (and may start threads whatever it says).
    by = cohort_settings(session, viewer.cohort).general_threads_by if viewer.manages else None
    return CohortPage([schedule(b, today) for b in books], rows, by_reading, mine, may_start_thread(session, viewer),
                      by)


# -- the thread page -------------------------------------------------------------------------------------------

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
    last_post_id: int | None      # the newest post shown: the read marker moves up to it

    def post_view(self, post_id: int) -> PostView | None:
        return next((pv for pv in self.posts if pv.post.id == post_id), None)


MAX_DEPTH = 4   # deeper replies stay at this indent (phones); "in reply to <name>" keeps the conversation clear


def gate_text(thread: Thread, viewer: Viewer) -> str:
    """What a participant behind the post-first gate is told (a date in their own zone, named)."""
    if thread.post_first is PostFirst.after_n_posts:
        n = thread.post_first_n
        return f"You will see the others' posts after your own {'first post' if n == 1 else f'{n} posts'}."
    if thread.post_first is PostFirst.after_date and thread.post_first_at:
        return f"You will see the others' posts from {describe_instant(thread.post_first_at, viewer.access.zone)}."
    if thread.post_first is PostFirst.facilitator_reveal:
        return "You will see the others' posts when the facilitator reveals them."
    return ""


def thread_page(session: Session, viewer: Viewer, thread: Thread, *, now: dt.datetime | None = None) -> ThreadPage:
    """Everything the thread page shows, in a fixed number of queries whatever the number of posts. It reads
    only: the view moves the read marker (``writes.mark_read``) once the page is built."""
    posts = list(session.scalars(
        visible_posts(viewer, thread, now=now)
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
    for p, depth in ordered:
        mine = p.author_id == viewer.id
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
    gate_open = others_visible(session, viewer, thread, now)
    return ThreadPage(thread, views, first_unread, gate_open, "" if gate_open else gate_text(thread, viewer),
                      max(ids) if ids else None)


def other_threads(session: Session, viewer: Viewer, thread_id: int) -> list[Thread]:
    """The cohort's threads but one, by title (where a post can be moved to)."""
    return list(session.scalars(select(Thread).where(Thread.cohort_id == viewer.cohort.id, Thread.id != thread_id)
                                .order_by(Thread.title)))


def mentionable(session: Session, viewer: Viewer, thread: Thread | None = None) -> list[tuple[int, str]]:
    """People ``viewer`` may @mention in the cohort (id, name as shown); peers are left out of anonymous threads."""
    cohort = viewer.cohort
    member_ids = select(CohortMember.membership_id).where(CohortMember.cohort_id == cohort.id,
                                                         CohortMember.status == SeatStatus.active)
    fac_ids = select(CohortFacilitator.membership_id).where(CohortFacilitator.cohort_id == cohort.id)
    people = session.scalars(select(Membership).options(joinedload(Membership.user))
                             .where(Membership.course_id == cohort.program.course_id, Membership.active.is_(True),
                                    or_(Membership.id.in_(member_ids), Membership.id.in_(fac_ids)))).all()
    return sorted(((m.id, m.user.display_name) for m in people if may_mention(viewer, thread, m)),
                  key=lambda x: x[1].lower())


def search_posts(session: Session, viewer: Viewer, query: str, limit: int = 50) -> list[Post]:
    """Posts of the cohort containing ``query`` that the viewer may see (post-first and hidden posts respected)."""
    query = (query or "").strip()
    if len(query) < 2:
        return []
    escaped = query[:200].replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return list(session.scalars(
        visible_posts(viewer, viewer.cohort, content_only=True)
        .where(Post.body_markdown.ilike(f"%{escaped}%", escape="\\"))
        .options(joinedload(Post.thread), joinedload(Post.author).joinedload(Membership.user))
        .order_by(Post.id.desc()).limit(limit)))


# -- what facilitators see -------------------------------------------------------------------------------------

def revisions(session: Session, viewer: Viewer, post: Post) -> list[PostRevision]:
    require_manager(viewer, "read earlier versions of a post")
    return list(session.scalars(select(PostRevision).where(PostRevision.post_id == post.id).order_by(PostRevision.id)))


def open_reports(session: Session, viewer: Viewer) -> list[Report]:
    require_manager(viewer, "read the reports")
    return list(session.scalars(
        select(Report).join(Report.post).join(Post.thread)
        .options(joinedload(Report.post).joinedload(Post.thread), joinedload(Report.reporter).joinedload(Membership.user),
                 joinedload(Report.post).joinedload(Post.author).joinedload(Membership.user))
        .where(Thread.cohort_id == viewer.cohort.id, Report.resolved_at.is_(None)).order_by(Report.id)))


def moderation_log(session: Session, viewer: Viewer, limit: int = 200) -> list[ModerationLog]:
    require_manager(viewer, "read the moderation log")
    return list(session.scalars(select(ModerationLog).options(joinedload(ModerationLog.actor).joinedload(Membership.user))
                                .where(ModerationLog.cohort_id == viewer.cohort.id)
                                .order_by(ModerationLog.id.desc()).limit(limit)))


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


def standings(session: Session, book: Book, membership_ids: Iterable[int], now: dt.datetime | None = None,
              cohort_id: int | None = None) -> dict[int, dict[int, Standing]]:
    """membership id → reading id → Standing, from one query over the book's threads."""
    ids = list(membership_ids)
    program = book.program
    today = program_today(program, now)
    now = now or utcnow()
    deadlines = {r.id: reading_deadline(program, r) for r in book.readings}
    result = {mid: {r.id: Standing(r, opened=r.starts_on <= today, ended=deadlines[r.id] <= now)
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


def score_comment(book: Book, by_reading: dict[int, Standing]) -> str:
    met = sum(1 for s in by_reading.values() if s.met)
    return f"Book study “{book.title}”: criteria met for {met} of {len(book.readings)} readings."


@dataclass
class Grid:
    book: Book
    people: list[Membership]
    rows: dict[int, dict[int, Standing]]
    scores: dict[int, float]
    overrides: dict[int, ParticipationOverride]


def participation_grid(session: Session, viewer: Viewer, book: Book, now: dt.datetime | None = None) -> Grid:
    """The cohort's participants × the book's readings, with the score each is sent (facilitators only)."""
    require_manager(viewer, "see the participation grid")
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


def cohort_book(session: Session, viewer: Viewer, book_id: int) -> Book:
    """A book the viewer's cohort reads (404 for any other)."""
    book = get_book(session, viewer.access, book_id)
    if viewer.cohort.id not in {link.cohort_id for link in book.cohort_links}:
        raise NotFound("This cohort does not read that book.")
    return book


@dataclass
class ParticipationPage:
    books: list[Book]
    grids: list[Grid]                          # for those who manage the cohort
    mine: dict[int, dict[int, Standing]]       # for a participant: book id → reading id → standing
    scores: dict[int, float]                   # for a participant: book id → score so far


def participation_page(session: Session, viewer: Viewer, now: dt.datetime | None = None) -> ParticipationPage:
    """The grid for those who manage the cohort; for a participant, where they stand (404 for observers)."""
    books = books_of_cohort(session, viewer.cohort)
    if viewer.manages:
        return ParticipationPage(books, [participation_grid(session, viewer, b, now) for b in books], {}, {})
    if not viewer.is_member:
        raise NotFound("There is nothing to show here.")
    mine = {b.id: standings(session, b, [viewer.id], now=now, cohort_id=viewer.cohort.id)[viewer.id] for b in books}
    return ParticipationPage(books, [], mine, {b.id: computed_score(b, mine[b.id]) for b in books})
