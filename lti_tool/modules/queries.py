"""What the module pages show: the scoped loaders (any id outside what the viewer sees is 404), release and
completion of each item for a participant, "my week" against the weekly budget, the progress grid, the
reflections a viewer may read, and the choices the authoring forms offer.

Release and completion are computed from loaded rows by ``compute_states`` (no query per row), so a page costs a
fixed number of queries however many participants and items it shows. Nothing here changes anything.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from lti_tool.course.access import Access, access_for, is_lead
from lti_tool.course.zones import local_date
from lti_tool.discussions.models import Book, Reading, Thread
from lti_tool.errors import NotFound
from lti_tool.lti.models import CourseRole, Membership
from lti_tool.modules import permissions
from lti_tool.modules.models import (
    ItemCompletion, ItemKind, ItemRelease, Module, ModuleItem, ModuleSettings, Reflection, ReflectionVisibility,
    ReleaseRule,
)
from lti_tool.programs.models import Cohort, CohortMember, Program, SeatStatus


def say_date(day: dt.date, today: dt.date | None = None) -> str:
    """"Monday 3 February" (with the year when it is not this year's). Module dates are days in the program's
    zone, not instants, so they are said as they are."""
    text = f"{day:%A} {day.day} {day:%B}"
    return text if today is not None and today.year == day.year else f"{text} {day.year}"


# ---- loaders ---------------------------------------------------------------------------------------------------

def program_cohorts(session: Session, program: Program) -> list[Cohort]:
    return list(session.scalars(select(Cohort).where(Cohort.program_id == program.id).order_by(Cohort.name)))


def modules_query(program_id: int):
    """Modules of a program in their order, with their items and cohort links loaded."""
    return (select(Module).where(Module.program_id == program_id)
            .options(selectinload(Module.items), selectinload(Module.cohort_links))
            .order_by(Module.position, Module.id))


def program_modules(session: Session, program: Program) -> list[Module]:
    return list(session.scalars(modules_query(program.id)))


def visible_modules(session: Session, access: Access) -> list[Module]:
    """The program's modules that ``access`` sees, in order."""
    return [m for m in program_modules(session, access.program) if permissions.sees(access, m)]


def get_module(session: Session, access: Access, module_id: int) -> Module:
    """A module the viewer may see in their course; any other id is 404, so nothing leaks across courses."""
    module = session.scalar(modules_query(access.program.id).where(Module.id == module_id))
    if module is None or not permissions.sees(access, module):
        raise NotFound("There is no such module here.")
    return module


def get_item(session: Session, access: Access, item_id: int) -> ModuleItem:
    """An item of a module the viewer may see; any other id is 404."""
    item = session.scalar(select(ModuleItem).join(Module).where(ModuleItem.id == item_id,
                                                                Module.program_id == access.program.id))
    if item is None or not permissions.sees(access, item.module):
        raise NotFound("There is no such item here.")
    return item


def get_reflection(session: Session, access: Access, reflection_id: int) -> Reflection:
    """A reflection of someone in a cohort the viewer manages (of its module); any other is 404."""
    reflection = session.scalar(select(Reflection).join(ModuleItem).join(Module).where(
        Reflection.id == reflection_id, Module.program_id == access.program.id))
    if reflection is None:
        raise NotFound("There is no such reflection here.")
    require_reflection_reader(session, access, reflection)
    return reflection


def require_reflection_reader(session: Session, access: Access, reflection: Reflection) -> None:
    """404 unless the viewer manages the reflection's module and a cohort its author sits in (leads: any)."""
    if not permissions.manages(access, reflection.item.module):
        raise NotFound("There is no such reflection here.")
    if not access.lead:
        theirs = _seats_of(session, access.program, {reflection.membership_id}).get(reflection.membership_id, set())
        if not theirs & permissions.managed_cohorts_of(access, reflection.item.module):
            raise NotFound("There is no such reflection here.")


def cohort_id_for(item: ModuleItem, seats: Iterable[int]) -> int | None:
    """The cohort in which a participant meets the item: their first seat among the module's cohorts."""
    return min(set(item.module.cohort_ids) & set(seats), default=None)


# ---- release and completion ------------------------------------------------------------------------------------

@dataclass
class ItemState:
    item: ModuleItem
    done: bool = False
    open: bool = False
    reason: str = ""           # why it is locked, in words
    overdue: bool = False

    @property
    def label(self) -> str:
        if self.done:
            return "Done"
        if not self.open:
            return "Locked"
        return "Overdue" if self.overdue else "Open"


@dataclass
class ModuleState:
    module: Module
    open: bool
    reason: str
    items: list[ItemState]
    opens_on: dt.date | None = None
    due_on: dt.date | None = None

    @property
    def required(self) -> list[ItemState]:
        return [s for s in self.items if s.item.required]

    @property
    def done_count(self) -> int:
        return sum(1 for s in self.required if s.done)

    @property
    def complete(self) -> bool:
        return all(s.done for s in self.required)

    @property
    def percent(self) -> int:
        req = self.required
        return round(100 * self.done_count / len(req)) if req else 100


def module_dates(module: Module, cohort_ids: Iterable[int]) -> tuple[dt.date | None, dt.date | None]:
    """The opening and due dates for someone in these cohorts (the earliest of theirs)."""
    links = [link for link in module.cohort_links if link.cohort_id in set(cohort_ids)]
    opens = [link.opens_on for link in links if link.opens_on]
    dues = [link.due_on for link in links if link.due_on]
    return (min(opens) if opens else None), (min(dues) if dues else None)


def compute_states(modules: list[Module], cohort_ids: set[int] | frozenset[int], done_ids: set[int],
                   today: dt.date, prerequisites: dict[int, Module] | None = None) -> dict[int, ModuleState]:
    """Release and completion of each module and item for one person, from loaded rows only.

    ``modules`` need their items and cohort links loaded; ``prerequisites`` adds modules that are only
    waited for (not shown). A prerequisite the person does not take does not hold them back.
    """
    known = {m.id: m for m in modules}
    known.update(prerequisites or {})
    finished: dict[int, bool] = {}

    def module_finished(m: Module) -> bool:
        if m.id not in finished:
            finished[m.id] = all(i.id in done_ids for i in m.items if i.required)
        return finished[m.id]

    states: dict[int, ModuleState] = {}
    for module in modules:
        opens_on, due_on = module_dates(module, cohort_ids)
        is_open, reason = True, ""
        if module.release_rule is ReleaseRule.by_date:
            if opens_on is None:
                is_open, reason = False, "Its opening date is not set yet."
            elif today < opens_on:
                is_open, reason = False, f"Opens {say_date(opens_on, today)}."
        elif module.release_rule is ReleaseRule.after_module:
            before = known.get(module.after_module_id) if module.after_module_id else None
            if before is not None and set(before.cohort_ids) & cohort_ids and not module_finished(before):
                is_open, reason = False, f"Opens after you finish “{before.title}”."
        elif not module.released:
            is_open, reason = False, "Opens when your facilitator releases it."
        items: list[ItemState] = []
        previous: ItemState | None = None
        for item in module.items:
            state = ItemState(item, done=item.id in done_ids)
            if not is_open:
                state.reason = reason
            elif item.release is ItemRelease.after_previous and previous is not None and not previous.done:
                state.reason = f"Opens after you finish “{previous.item.title}”."
            else:
                state.open = True
            state.overdue = state.open and not state.done and due_on is not None and today > due_on
            items.append(state)
            previous = state
        states[module.id] = ModuleState(module, is_open, reason, items, opens_on, due_on)
    return states


def done_ids(session: Session, membership_id: int, item_ids: Iterable[int]) -> set[int]:
    """Which of these items the person has completed (one query)."""
    ids = list(item_ids)
    if not ids:
        return set()
    return set(session.scalars(select(ItemCompletion.item_id).where(
        ItemCompletion.membership_id == membership_id, ItemCompletion.item_id.in_(ids))))


def states_for(session: Session, access: Access, modules: list[Module],
               now: dt.datetime | None = None) -> dict[int, ModuleState]:
    """States of these modules for the viewer, as someone seated in their cohorts. Prerequisites must be in
    ``modules`` or be loaded here (one query)."""
    known = {m.id for m in modules}
    missing = {m.after_module_id for m in modules if m.after_module_id and m.after_module_id not in known}
    extra = {m.id: m for m in session.scalars(modules_query(access.program.id).where(Module.id.in_(missing)))} \
        if missing else {}
    item_ids = [i.id for m in [*modules, *extra.values()] for i in m.items]
    done = done_ids(session, access.id, item_ids)
    return compute_states(modules, access.seats, done, local_date(access.program_zone, now), extra)


def item_state(session: Session, access: Access, item: ModuleItem, now: dt.datetime | None = None) -> ItemState:
    """One item's state for the viewer (its module's release and the items before it decide)."""
    states = states_for(session, access, [item.module], now=now)
    return next(s for s in states[item.module_id].items if s.item.id == item.id)


# ---- the participant's week -------------------------------------------------------------------------------------

def weekly_budget(session: Session, program: Program) -> int:
    """The weekly time (minutes) a participant is asked for: the lead's choice, else the default."""
    minutes = session.scalar(select(ModuleSettings.weekly_budget_minutes)
                             .where(ModuleSettings.program_id == program.id))
    return minutes if minutes is not None else ModuleSettings.__table__.c.weekly_budget_minutes.default.arg


@dataclass
class MyWeek:
    open_items: list[tuple[Module, ItemState]]
    overdue: list[tuple[Module, ItemState]]
    minutes: int
    budget: int

    @property
    def over_budget(self) -> bool:
        return self.minutes > self.budget


def my_week(session: Session, access: Access, modules: list[Module], states: dict[int, ModuleState]) -> MyWeek:
    """What is open and not done (with its time against the weekly budget), and what is overdue, in the
    modules of ``states`` (those the participant takes)."""
    open_items, overdue = [], []
    for module in modules:
        if module.id not in states:
            continue
        for state in states[module.id].items:
            if state.open and not state.done:
                (overdue if state.overdue else open_items).append((module, state))
    minutes = sum(s.item.minutes for _m, s in open_items + overdue)
    return MyWeek(open_items, overdue, minutes, weekly_budget(session, access.program))


# ---- facilitators: progress and reflections ---------------------------------------------------------------------

@dataclass
class GridRow:
    membership: Membership
    cohort_name: str
    state: ModuleState


@dataclass
class ProgressGrid:
    module: Module
    rows: list[GridRow] = field(default_factory=list)


def progress_grid(session: Session, access: Access, module: Module, now: dt.datetime | None = None) -> ProgressGrid:
    """Participants of the cohorts of this module that the viewer manages × the module's items: a fixed number
    of queries."""
    permissions.require_manager(access, module, "see its progress")
    cohort_ids = permissions.managed_cohorts_of(access, module)
    seats = list(session.execute(
        select(CohortMember.membership_id, Cohort.id, Cohort.name).join(Cohort, Cohort.id == CohortMember.cohort_id)
        .where(CohortMember.cohort_id.in_(list(cohort_ids)), CohortMember.status == SeatStatus.active)))
    member_ids = sorted({s[0] for s in seats})
    people = {m.id: m for m in session.scalars(
        select(Membership).join(Membership.user).options(selectinload(Membership.user))
        .where(Membership.id.in_(member_ids), Membership.active.is_(True)))} if member_ids else {}
    before = None
    if module.release_rule is ReleaseRule.after_module and module.after_module_id:
        before = session.scalar(modules_query(access.program.id).where(Module.id == module.after_module_id))
    item_ids = [i.id for i in module.items] + ([i.id for i in before.items] if before else [])
    done: dict[int, set[int]] = {}
    if member_ids and item_ids:
        for mid, iid in session.execute(select(ItemCompletion.membership_id, ItemCompletion.item_id).where(
                ItemCompletion.membership_id.in_(member_ids), ItemCompletion.item_id.in_(item_ids))):
            done.setdefault(mid, set()).add(iid)
    their: dict[int, set[int]] = {}
    names: dict[int, list[str]] = {}
    for mid, cid, cname in seats:
        their.setdefault(mid, set()).add(cid)
        names.setdefault(mid, []).append(cname)
    today = local_date(access.program_zone, now)
    grid = ProgressGrid(module)
    for mid in member_ids:
        person = people.get(mid)
        if person is None:
            continue
        state = compute_states([module], their[mid], done.get(mid, set()), today,
                               {before.id: before} if before else None)[module.id]
        grid.rows.append(GridRow(person, ", ".join(sorted(names[mid])), state))
    grid.rows.sort(key=lambda r: (r.membership.user.display_name.lower(), r.membership.id))
    return grid


def _seats_of(session: Session, program: Program, membership_ids: set[int]) -> dict[int, set[int]]:
    seats: dict[int, set[int]] = {}
    for mid, cid in session.execute(
            select(CohortMember.membership_id, CohortMember.cohort_id).join(Cohort, Cohort.id == CohortMember.cohort_id)
            .where(CohortMember.membership_id.in_(list(membership_ids)), CohortMember.status == SeatStatus.active,
                   Cohort.program_id == program.id)):
        seats.setdefault(mid, set()).add(cid)
    return seats


def reflections_on(session: Session, access: Access, item: ModuleItem) -> list[Reflection]:
    """The reflections on an item that the viewer may read: their own; their cohort's when the item shares
    them; every one in the cohorts of the module they manage."""
    rows = list(session.scalars(
        select(Reflection).where(Reflection.item_id == item.id)
        .options(selectinload(Reflection.membership).selectinload(Membership.user))
        .order_by(Reflection.submitted_at)))
    if not rows:
        return []
    seats = _seats_of(session, access.program, {r.membership_id for r in rows})
    module_cohorts = set(item.module.cohort_ids)
    shared = item.reflection_visibility is ReflectionVisibility.shared_to_cohort_thread
    visible = []
    for r in rows:
        theirs = seats.get(r.membership_id, set()) & module_cohorts
        if r.membership_id == access.id or access.lead or theirs & access.managed:
            visible.append(r)
        elif shared and theirs & access.seats:
            visible.append(r)
    return visible


def module_reflections(session: Session, access: Access, module: Module) -> list[Reflection]:
    """Every reflection on a module from the cohorts of it the viewer manages, those waiting for feedback
    first, newest first."""
    permissions.require_manager(access, module, "read its reflections")
    ids = [i.id for i in module.items if i.kind is ItemKind.reflection]
    if not ids:
        return []
    rows = list(session.scalars(
        select(Reflection).where(Reflection.item_id.in_(ids))
        .options(selectinload(Reflection.membership).selectinload(Membership.user),
                 selectinload(Reflection.feedback_by).selectinload(Membership.user))
        .order_by(Reflection.feedback_at.is_not(None), Reflection.submitted_at.desc())))
    if access.lead or not rows:
        return rows
    seats = _seats_of(session, access.program, {r.membership_id for r in rows})
    cohorts = permissions.managed_cohorts_of(access, module)
    return [r for r in rows if seats.get(r.membership_id, set()) & cohorts]


# ---- authoring pages ---------------------------------------------------------------------------------------------

def embed_url(item: ModuleItem) -> str:
    """The address a video item is played from in the page (privacy-enhanced players), or "" for a link."""
    if item.video_provider == "youtube":
        return f"https://www.youtube-nocookie.com/embed/{item.video_id}"
    if item.video_provider == "vimeo":
        return f"https://player.vimeo.com/video/{item.video_id}?dnt=1"
    return ""


def book_study_choices(session: Session, access: Access) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    """The readings and the threads of this program's book study an item can point at, as (id, label)."""
    readings = session.execute(select(Reading.id, Reading.label, Book.title).join(Book)
                               .where(Book.program_id == access.program.id).order_by(Book.id, Reading.position)).all()
    threads = session.execute(select(Thread.id, Thread.title, Cohort.name).join(Cohort)
                              .where(Cohort.program_id == access.program.id).order_by(Cohort.name, Thread.id)).all()
    return ([(r.id, f"{r.title}: {r.label}") for r in readings], [(t.id, f"{t.name}: {t.title}") for t in threads])


def copy_targets(session: Session, access: Access) -> list[tuple[Program, Membership]]:
    """Other programs (courses on the same LMS) that the same person leads: where modules can be copied to, or
    brought from, with their membership there."""
    actor = access.membership
    rows = session.execute(
        select(Program, Membership).join(Membership, Membership.course_id == Program.course_id)
        .where(Membership.user_id == actor.user_id, Membership.course_id != actor.course_id,
               Membership.role == CourseRole.facilitator, Membership.active.is_(True))
        .options(selectinload(Program.course)).order_by(Program.starts_on.desc(), Program.id)).all()
    return [(program, membership) for program, membership in rows if is_lead(program, membership)]


def default_shift_days(source: Program, target: Program) -> int:
    """How far dates move from one program year to the other: the distance between their start dates."""
    if source.starts_on and target.starts_on:
        return (target.starts_on - source.starts_on).days
    return 0


def placeable(session: Session, membership: Membership) -> list[Module]:
    """Modules a facilitator may place in their LMS course by deep linking (those they see)."""
    access = access_for(session, membership, optional=True)
    return visible_modules(session, access) if access.program is not None else []
