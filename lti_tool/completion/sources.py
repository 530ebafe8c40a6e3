"""What a completion criterion counts, for everyone in a program at once, in a fixed number of queries.

Each **kind** of criterion counts one thing (``KINDS``): sessions attended (and the statuses' points), module
items or whole modules completed, readings whose discussion expectations were met, book-study posts. Every
count is over what is *scheduled* for the person's cohort, past and future, so that a criterion can say what
is still possible (``Tally.left``) as well as what is done:

- **sessions**: a session counts once its record is present, late or made up (an approved make-up: the
  attendance feature's make-up workflow turns the record into "made up"). A session nobody has marked yet,
  past or future, is still possible (it can still be marked). An absent or excused one is missed; while its
  make-up is not approved, a make-up could still count it (``Tally.makeups``).
- **points**: the sum of the statuses' points; each unmarked session may still bring the highest points.
- **items** / **modules**: required items of the modules the cohort has (optionally one module); a module
  counts when every required item is done. Missed: not done when the cohort's due date has passed.
- **readings**: readings of the books the cohort studies whose expectations the person met
  (``discussions.queries.standings``); missed once the reading has ended.
- **posts**: posts and replies in the book study (no upper limit while a reading is still open).

Other features add kinds with ``register_source(key, label, unit, units, verb, need, fn)``, ``fn(session,
program, membership_ids) -> {membership_id: (done, left or None)}`` called once for everyone (the library's
contributions, the protocol runs); they are connected in ``create_app``.

The loaders take what the rule needs only: a rule without a book-study criterion reads no posts.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Callable, Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from lti_tool.attendance.models import AttendanceRecord, AttendanceStatus, MakeUp, MakeUpStatus, StatusKind
from lti_tool.calendar.models import Meeting
from lti_tool.course.zones import describe_instant, local_date, program_zone
from lti_tool.db import utcnow
from lti_tool.discussions.models import Book, BookCohort
from lti_tool.discussions.queries import reading_deadline, standings
from lti_tool.modules.models import ItemCompletion, Module, ModuleCohort, ModuleItem
from lti_tool.programs.models import Cohort, CohortMember, Program, SeatStatus


@dataclass(frozen=True)
class Kind:
    """A kind of criterion: ``unit`` and ``units`` name what is counted, ``verb`` what was done to it."""

    key: str
    label: str                   # in the rule builder's list
    unit: str
    units: str
    verb: str
    need: str                    # "Attend {n} more {units}": what the participant still has to do
    scoped: bool = False         # may be limited to one module
    threshold: bool = False      # a number (points), not a count of things
    makeups: bool = False        # a make-up can still count a missed one


KINDS: dict[str, Kind] = {k.key: k for k in (
    Kind("sessions", "Live sessions attended (N of the scheduled ones)", "session", "sessions", "attended",
         "Attend {n} more {units}", makeups=True),
    Kind("points", "Attendance points (the statuses' points, at least N)", "point", "points", "earned",
         "Earn {n} more attendance {units}", threshold=True),
    Kind("items", "Module items completed (required items)", "module item", "module items", "completed",
         "Complete {n} more {units}", scoped=True),
    Kind("modules", "Whole modules completed", "module", "modules", "completed", "Complete {n} more {units}"),
    Kind("readings", "Book-study readings with their discussion done", "reading", "readings",
         "with the discussion done", "Take part in the discussion of {n} more {units}"),
    Kind("posts", "Book-study posts and replies", "post", "posts", "written", "Write {n} more book-study {units}"),
)}

Counter = Callable[[Session, Program, list[int]], dict[int, tuple[float, float | None]]]
_registered: dict[str, Counter] = {}


def register_source(key: str, label: str, unit: str, units: str, verb: str, need: str, fn: Counter) -> None:
    """Add a kind counted by another feature (see the module's docstring); registering it again replaces it."""
    KINDS[key] = Kind(key, label, unit, units, verb, need)
    _registered[key] = fn


@dataclass
class Tally:
    """One person's count for one criterion: ``done`` so far, ``left`` still possible (None: no limit),
    ``missed`` passed without being done, ``total`` the M of "N of M", ``makeups`` missed ones a make-up could
    still count, ``next`` what comes next, in words."""

    done: float = 0
    left: float | None = 0
    missed: float = 0
    total: int | None = None
    makeups: int = 0
    next: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Person:
    membership_id: int
    cohort_id: int


def seated(session: Session, program: Program, membership_ids: Iterable[int] | None = None) -> list[Person]:
    """The people the rule applies to: an active seat in one of the program's cohorts (their first one). One
    query."""
    stmt = (select(CohortMember.membership_id, CohortMember.cohort_id).join(Cohort)
            .where(Cohort.program_id == program.id, CohortMember.status == SeatStatus.active)
            .order_by(CohortMember.membership_id, CohortMember.cohort_id))
    if membership_ids is not None:
        stmt = stmt.where(CohortMember.membership_id.in_(list(membership_ids)))
    people: dict[int, Person] = {}
    for membership_id, cohort_id in session.execute(stmt):
        people.setdefault(membership_id, Person(membership_id, cohort_id))
    return list(people.values())


class Facts:
    """What the criteria of one rule need to know about ``people``, loaded on first use, once."""

    def __init__(self, session: Session, program: Program, people: list[Person], now: dt.datetime | None = None):
        self.session, self.program, self.people = session, program, people
        self.now = now or utcnow()
        self.zone = program_zone(program)
        self.today = local_date(self.zone, self.now)
        self.ids = [p.membership_id for p in people]
        self._loaded: dict[str, object] = {}
        self._tallies: dict[tuple[Person, str, int | None], Tally] = {}

    def _once(self, key: str, load: Callable[[], object]):
        if key not in self._loaded:
            self._loaded[key] = load()
        return self._loaded[key]

    # -- attendance (three queries) ---------------------------------------------------------------------------
    def _attendance(self):
        session, program = self.session, self.program
        meetings = list(session.scalars(select(Meeting).where(Meeting.program_id == program.id,
                                                              Meeting.cancelled.is_(False))
                                        .order_by(Meeting.starts_at)))
        statuses = list(session.scalars(select(AttendanceStatus).where(AttendanceStatus.program_id == program.id)))
        top = max([s.points for s in statuses if s.active and s.kind is not StatusKind.made_up] or [1.0])
        kinds = {s.id: (s.kind, s.points) for s in statuses}
        records: dict[tuple[int, int], tuple[StatusKind, float, MakeUpStatus | None]] = {}
        if self.ids and meetings:
            rows = session.execute(
                select(AttendanceRecord.membership_id, AttendanceRecord.meeting_id, AttendanceRecord.status_id,
                       MakeUp.status)
                .outerjoin(MakeUp, MakeUp.record_id == AttendanceRecord.id)
                .where(AttendanceRecord.meeting_id.in_([m.id for m in meetings]),
                       AttendanceRecord.membership_id.in_(self.ids)))
            for membership_id, meeting_id, status_id, makeup in rows:
                kind, points = kinds[status_id]
                records[(membership_id, meeting_id)] = (kind, points, makeup)
        return meetings, records, top

    def sessions(self, person: Person, points: bool = False) -> Tally:
        meetings, records, top = self._once("attendance", self._attendance)
        t = Tally(total=0)
        for meeting in meetings:
            if meeting.cohort_id not in (None, person.cohort_id):
                continue
            t.total += 1
            record = records.get((person.membership_id, meeting.id))
            if record is None:
                t.left += top if points else 1
                if meeting.ends_at >= self.now and len(t.next) < 2:
                    t.next.append(f"{meeting.title}, {describe_instant(meeting.starts_at, self.zone, 'short')}")
                continue
            kind, value, makeup = record
            if kind in (StatusKind.present, StatusKind.late, StatusKind.made_up):
                t.done += value if points else 1
            else:
                t.missed += 1
                if makeup is not MakeUpStatus.approved:
                    t.makeups += 1
        if points:
            t.total = None
        return t

    # -- modules (three queries) ------------------------------------------------------------------------------
    def _modules(self):
        session = self.session
        links = session.execute(select(ModuleCohort.cohort_id, ModuleCohort.module_id, ModuleCohort.due_on)
                                .join(Module).where(Module.program_id == self.program.id)).all()
        modules = {m.id: m for m in session.scalars(
            select(Module).where(Module.program_id == self.program.id)
            .options(selectinload(Module.items)).order_by(Module.position, Module.id))}
        done: set[tuple[int, int]] = set()
        if self.ids:
            done = set(session.execute(
                select(ItemCompletion.membership_id, ItemCompletion.item_id).join(ModuleItem).join(Module)
                .where(Module.program_id == self.program.id, ItemCompletion.membership_id.in_(self.ids))).all())
        by_cohort: dict[int, list[tuple[Module, dt.date | None]]] = defaultdict(list)
        for cohort_id, module_id, due_on in links:
            by_cohort[cohort_id].append((modules[module_id], due_on))
        for entries in by_cohort.values():
            entries.sort(key=lambda e: (e[0].position, e[0].id))
        return modules, by_cohort, done

    def module_ids(self) -> set[int]:
        return set(self._once("modules", self._modules)[0])

    def items(self, person: Person, module_id: int | None = None, whole: bool = False) -> Tally:
        _modules, by_cohort, done = self._once("modules", self._modules)
        t = Tally(total=0)
        for module, due_on in by_cohort.get(person.cohort_id, []):
            if module_id is not None and module.id != module_id:
                continue
            required = [i for i in module.items if i.required]
            if whole and not required:
                continue
            overdue = due_on is not None and due_on < self.today
            open_items = [i for i in required if (person.membership_id, i.id) not in done]
            if whole:
                t.total += 1
                if not open_items:
                    t.done += 1
                else:
                    t.left += 1
                    t.missed += overdue
                    if len(t.next) < 3:
                        t.next.append(module.title)
                continue
            t.total += len(required)
            t.done += len(required) - len(open_items)
            t.left += len(open_items)
            t.missed += len(open_items) if overdue else 0
            for item in open_items:
                if len(t.next) < 3:
                    t.next.append(f"{item.title} ({module.title})")
        return t

    # -- the book study (two queries, then one per book) ----------------------------------------------------
    def _books(self):
        session = self.session
        books = list(session.scalars(select(Book).where(Book.program_id == self.program.id)
                                     .options(selectinload(Book.readings)).order_by(Book.id)))
        links = session.execute(select(BookCohort.book_id, BookCohort.cohort_id)
                                .join(Book).where(Book.program_id == self.program.id)).all()
        cohorts_of: dict[int, set[int]] = defaultdict(set)
        for book_id, cohort_id in links:
            cohorts_of[book_id].add(cohort_id)
        stands = {book.id: standings(session, book, self.ids, now=self.now) for book in books if book.readings}
        return books, cohorts_of, stands

    def readings(self, person: Person, posts: bool = False) -> Tally:
        books, cohorts_of, stands = self._once("books", self._books)
        t = Tally(total=0)
        still_open = False
        for book in books:
            if person.cohort_id not in cohorts_of[book.id] or book.id not in stands:
                continue
            for reading in book.readings:
                s = stands[book.id][person.membership_id][reading.id]
                ended = reading_deadline(self.program, reading) <= self.now
                still_open = still_open or not ended
                if posts:
                    t.done += s.initial_on_time + s.initial_late + s.replies_on_time + s.replies_late
                    continue
                t.total += 1
                if s.met:
                    t.done += 1
                elif ended:
                    t.missed += 1
                else:
                    t.left += 1
                    if len(t.next) < 2:
                        t.next.append(f"{reading.label} (until {reading.ends_on:%-d %b})")
        if posts:
            t.total, t.left = None, (None if still_open else 0)
        return t

    # -- kinds other features register (one call each) ----------------------------------------------------
    def registered(self, person: Person, key: str) -> Tally:
        counts = self._once(f"registered:{key}", lambda: _registered[key](self.session, self.program, self.ids))
        done, left = counts.get(person.membership_id, (0, None))
        return Tally(done=done, left=left)

    def tally(self, person: Person, kind: str, module_id: int | None = None) -> Tally:
        """The person's count of a kind (once per person and kind: criteria of one kind differ only in N)."""
        key = (person, kind, module_id)
        if key not in self._tallies:
            self._tallies[key] = self._count(person, kind, module_id)
        return self._tallies[key]

    def _count(self, person: Person, kind: str, module_id: int | None) -> Tally:
        if kind == "sessions":
            return self.sessions(person)
        if kind == "points":
            return self.sessions(person, points=True)
        if kind == "items":
            return self.items(person, module_id)
        if kind == "modules":
            return self.items(person, whole=True)
        if kind == "readings":
            return self.readings(person)
        if kind == "posts":
            return self.readings(person, posts=True)
        if kind in _registered:
            return self.registered(person, kind)
        return Tally(left=0)   # a kind whose feature is gone: nothing can count
