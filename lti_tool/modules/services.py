"""Module operations: who sees and edits which modules, authoring (items, order, copies), release and
completion per participant, reflections and their feedback, the progress grid, and the module's grade.

Functions take the session and the acting membership, check permissions, validate, change models and flush;
they never commit. Release and completion are computed from loaded rows by ``compute_states`` (no query per
row), so a page costs a fixed number of queries however many participants and items it shows.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zoneinfo
from dataclasses import dataclass, field
from typing import Iterable
from urllib.parse import parse_qs, urlsplit

import nh3
from flask import current_app
from markdown_it import MarkdownIt
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from lti_tool.db import utcnow
from lti_tool.discussions.models import Reading, Thread
from lti_tool.errors import Conflict, DomainError, Forbidden, NotFound
from lti_tool.lti.models import Course, CourseRole, Membership, ResourceLink, User
from lti_tool.modules import book_study
from lti_tool.modules.models import (
    CompletionRule, GradeMode, ItemCompletion, ItemKind, ItemRelease, Module, ModuleCohort, ModuleItem,
    ModuleSettings, Reflection, ReflectionVisibility, ReleaseRule,
)
from lti_tool.programs.models import Cohort, CohortFacilitator, CohortMember, Program, SeatStatus
from lti_tool.programs.services import is_lead


class ModuleInputError(DomainError):
    """Input a person can correct; ``field`` names the form field the message belongs to."""

    status = 400
    title = "Please check what you entered"

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


class ItemLocked(Conflict):
    title = "This item is not open yet"


# ---- Markdown ------------------------------------------------------------------------------------------------

_md = MarkdownIt("commonmark", {"html": False})
_TAGS = {"p", "br", "strong", "em", "code", "pre", "blockquote", "ul", "ol", "li", "a", "h2", "h3", "h4", "h5",
         "h6", "hr", "table", "thead", "tbody", "tr", "th", "td"}


def _image_to_alt(self, tokens, idx, options, env):
    token = tokens[idx]
    alt = self.renderInline(token.children or [], options, env) if token.children else token.content
    return f"[image: {alt}]" if alt else ""


def _heading_open(self, tokens, idx, options, env):
    return f"<h{max(int(tokens[idx].tag[1]), 2)}>"   # the page's own h1 stays the only one


def _heading_close(self, tokens, idx, options, env):
    return f"</h{max(int(tokens[idx].tag[1]), 2)}>\n"


_md.add_render_rule("image", _image_to_alt)
_md.add_render_rule("heading_open", _heading_open)
_md.add_render_rule("heading_close", _heading_close)


def render_markdown(text: str) -> str:
    """Sanitised HTML: markdown-it-py with raw HTML off, then nh3 with an allow-list (no images, no scripts)."""
    return nh3.clean(_md.render(text or ""), tags=_TAGS, attributes={"a": {"href"}, "ol": {"start"}},
                     url_schemes={"http", "https", "mailto"}, link_rel="noopener noreferrer nofollow",
                     strip_comments=True)


# ---- dates -----------------------------------------------------------------------------------------------------

def program_zone(program: Program) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(program.timezone or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


def program_today(program: Program, now: dt.datetime | None = None) -> dt.date:
    return (now or utcnow()).astimezone(program_zone(program)).date()


def say_date(day: dt.date, today: dt.date | None = None) -> str:
    """"Monday 3 February" (with the year when it is not this year's)."""
    text = f"{day:%A} {day.day} {day:%B}"
    return text if today is not None and today.year == day.year else f"{text} {day.year}"


# ---- settings --------------------------------------------------------------------------------------------------

def module_settings(session: Session, program: Program) -> ModuleSettings:
    settings = session.scalar(select(ModuleSettings).where(ModuleSettings.program_id == program.id))
    if settings is None:
        settings = ModuleSettings(program_id=program.id, weekly_budget_minutes=120)
        session.add(settings)
        session.flush()
    return settings


def update_settings(session: Session, actor: Membership, program: Program, weekly_budget_minutes: int) -> ModuleSettings:
    """The weekly time a participant is asked for (the lead's choice)."""
    if not is_lead(program, actor):
        raise Forbidden("Only the program's leads can change the weekly time budget.")
    if not 10 <= int(weekly_budget_minutes) <= 2400:
        raise ModuleInputError("Give a weekly budget between 10 and 2400 minutes.", "weekly_budget_minutes")
    settings = module_settings(session, program)
    settings.weekly_budget_minutes = int(weekly_budget_minutes)
    session.flush()
    return settings


# ---- who sees and edits what -------------------------------------------------------------------------------------

def program_cohorts(session: Session, program: Program) -> list[Cohort]:
    return list(session.scalars(select(Cohort).where(Cohort.program_id == program.id).order_by(Cohort.name)))


def managed_cohort_ids(session: Session, actor: Membership, program: Program) -> set[int]:
    """Cohorts whose modules the actor may author and whose progress they see: a lead all, a facilitator theirs."""
    if actor.course_id != program.course_id or not actor.active or actor.role is not CourseRole.facilitator:
        return set()
    if is_lead(program, actor):
        return set(session.scalars(select(Cohort.id).where(Cohort.program_id == program.id)))
    return set(session.scalars(
        select(CohortFacilitator.cohort_id).join(Cohort, Cohort.id == CohortFacilitator.cohort_id)
        .where(CohortFacilitator.membership_id == actor.id, Cohort.program_id == program.id)))


def my_cohort_ids(session: Session, actor: Membership, program: Program) -> set[int]:
    """The cohorts the actor holds an active seat in."""
    return set(session.scalars(
        select(CohortMember.cohort_id).join(Cohort, Cohort.id == CohortMember.cohort_id)
        .where(CohortMember.membership_id == actor.id, CohortMember.status == SeatStatus.active,
               Cohort.program_id == program.id)))


def is_author(session: Session, actor: Membership, program: Program) -> bool:
    return is_lead(program, actor) or bool(managed_cohort_ids(session, actor, program))


def can_edit_module(program: Program, actor: Membership, module: Module, managed: set[int]) -> bool:
    """Leads edit every module; a facilitator the modules that are only for cohorts they facilitate."""
    if is_lead(program, actor):
        return True
    return bool(module.cohort_ids) and set(module.cohort_ids) <= managed


def _modules_query(program_id: int):
    return (select(Module).where(Module.program_id == program_id)
            .options(selectinload(Module.items), selectinload(Module.cohort_links))
            .order_by(Module.position, Module.id))


def program_modules(session: Session, program: Program) -> list[Module]:
    return list(session.scalars(_modules_query(program.id)))


@dataclass
class Viewer:
    """The actor and what they may see in this program (computed once per request)."""

    membership: Membership
    program: Program
    lead: bool
    managed: set[int]          # cohorts they facilitate (all, for a lead)
    seats: set[int]            # cohorts they are a participant of

    @property
    def is_facilitator(self) -> bool:
        return self.membership.role is CourseRole.facilitator

    def sees(self, module: Module) -> bool:
        if self.lead:
            return True
        return bool(set(module.cohort_ids) & (self.managed | self.seats))

    def manages(self, module: Module) -> bool:
        return self.lead or bool(set(module.cohort_ids) & self.managed)

    def edits(self, module: Module) -> bool:
        return self.lead or (bool(module.cohort_ids) and set(module.cohort_ids) <= self.managed)


def viewer_for(session: Session, actor: Membership, program: Program) -> Viewer:
    if actor.course_id != program.course_id:
        raise NotFound("There is no such program in this course.")
    managed = managed_cohort_ids(session, actor, program)
    seats = my_cohort_ids(session, actor, program) if actor.role is CourseRole.participant else set()
    return Viewer(actor, program, is_lead(program, actor), managed, seats)


def visible_modules(session: Session, viewer: Viewer) -> list[Module]:
    return [m for m in program_modules(session, viewer.program) if viewer.sees(m)]


def get_module(session: Session, viewer: Viewer, module_id: int) -> Module:
    """A module the viewer may see in their course; any other id is 404, so nothing leaks across courses."""
    module = session.scalar(select(Module).where(Module.id == module_id, Module.program_id == viewer.program.id)
                            .options(selectinload(Module.items), selectinload(Module.cohort_links)))
    if module is None or not viewer.sees(module):
        raise NotFound("There is no such module here.")
    return module


def get_item(session: Session, viewer: Viewer, item_id: int) -> ModuleItem:
    item = session.scalar(select(ModuleItem).join(Module).where(ModuleItem.id == item_id,
                                                                Module.program_id == viewer.program.id))
    if item is None or not viewer.sees(item.module):
        raise NotFound("There is no such item here.")
    return item


def require_editor(viewer: Viewer, module: Module) -> None:
    if not viewer.edits(module):
        raise Forbidden("Only the program's leads and the facilitators of every cohort this module is for "
                        "can change it.")


# ---- release and completion ----------------------------------------------------------------------------------------

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


def compute_states(modules: list[Module], cohort_ids: set[int], done_ids: set[int], today: dt.date,
                   prerequisites: dict[int, Module] | None = None) -> dict[int, ModuleState]:
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


def _done_ids(session: Session, membership_id: int, item_ids: Iterable[int]) -> set[int]:
    ids = list(item_ids)
    if not ids:
        return set()
    return set(session.scalars(select(ItemCompletion.item_id).where(
        ItemCompletion.membership_id == membership_id, ItemCompletion.item_id.in_(ids))))


def states_for(session: Session, viewer: Viewer, modules: list[Module], membership: Membership | None = None,
               now: dt.datetime | None = None) -> dict[int, ModuleState]:
    """States of these modules for the viewer (or a participant they look at). Prerequisites must be in
    ``modules`` or be loaded here (one query)."""
    person = membership or viewer.membership
    cohort_ids = viewer.seats if membership is None else my_cohort_ids(session, membership, viewer.program)
    known = {m.id for m in modules}
    missing = {m.after_module_id for m in modules if m.after_module_id and m.after_module_id not in known}
    extra = {m.id: m for m in session.scalars(_modules_query(viewer.program.id).where(Module.id.in_(missing)))} \
        if missing else {}
    item_ids = [i.id for m in [*modules, *extra.values()] for i in m.items]
    done = _done_ids(session, person.id, item_ids)
    return compute_states(modules, cohort_ids, done, program_today(viewer.program, now), extra)


def item_state(session: Session, viewer: Viewer, item: ModuleItem, now: dt.datetime | None = None) -> ItemState:
    states = states_for(session, viewer, [item.module], now=now)
    return next(s for s in states[item.module_id].items if s.item.id == item.id)


def _require_open(session: Session, viewer: Viewer, item: ModuleItem, now: dt.datetime | None) -> ItemState:
    if viewer.membership.role is not CourseRole.participant or not (set(item.module.cohort_ids) & viewer.seats):
        raise Forbidden("Only participants of this module's cohorts work through it.")
    state = item_state(session, viewer, item, now)
    if not state.open:
        raise ItemLocked(f"“{item.title}” is locked, so nothing was saved. {state.reason}")
    return state


def complete_item(session: Session, item: ModuleItem, membership: Membership, how: str,
              now: dt.datetime | None = None) -> bool:
    """Record a completion once; True when it is new. The module's score follows in the same transaction."""
    exists = session.scalar(select(ItemCompletion.id).where(ItemCompletion.item_id == item.id,
                                                            ItemCompletion.membership_id == membership.id))
    if exists is not None:
        return False
    session.add(ItemCompletion(item_id=item.id, membership_id=membership.id, completed_at=now or utcnow(), how=how))
    session.flush()
    update_grade(session, item.module, membership)
    return True


def open_item(session: Session, viewer: Viewer, item: ModuleItem, now: dt.datetime | None = None) -> ItemState:
    """A participant opens an item: refused while locked; an item done "when opened" is done now."""
    if viewer.membership.role is not CourseRole.participant:
        return ItemState(item, open=True)
    state = _require_open(session, viewer, item, now)
    if item.completion_rule is CompletionRule.viewed and not state.done:
        complete_item(session, item, viewer.membership, CompletionRule.viewed.value, now)
        state.done = True
    elif item.completion_rule is CompletionRule.posted_in_thread and not state.done \
            and posted_in_thread(session, viewer, item):   # they posted while the item was still locked
        complete_item(session, item, viewer.membership, CompletionRule.posted_in_thread.value, now)
        state.done = True
    return state


def mark_done(session: Session, viewer: Viewer, item: ModuleItem, now: dt.datetime | None = None) -> ItemState:
    state = _require_open(session, viewer, item, now)
    if item.completion_rule is CompletionRule.posted_in_thread:
        if not posted_in_thread(session, viewer, item):
            raise Conflict("Post in the thread first; this item is done once you have posted there.")
    elif item.completion_rule is not CompletionRule.marked_done:
        raise Conflict(f"“{item.title}” is not done by marking it: {item.completion_rule.label.lower()}.")
    complete_item(session, item, viewer.membership, item.completion_rule.value, now)
    state.done = True
    return state


def posted_in_thread(session: Session, viewer: Viewer, item: ModuleItem) -> bool:
    """Whether the participant has posted in the item's book-study thread of their cohort."""
    return book_study.posted_in_thread(session, item, viewer.membership, viewer.seats)


def submit_reflection(session: Session, viewer: Viewer, item: ModuleItem, body: str,
                      now: dt.datetime | None = None) -> Reflection:
    """A participant's response to a reflection prompt (editable until a facilitator has given feedback)."""
    if item.kind is not ItemKind.reflection:
        raise ModuleInputError("This item does not ask for a reflection.")
    _require_open(session, viewer, item, now)
    body = (body or "").strip()
    if len(body) < 2:
        raise ModuleInputError("Write your reflection before submitting it.", "body")
    if len(body) > 20000:
        raise ModuleInputError("A reflection can be at most 20,000 characters.", "body")
    reflection = session.scalar(select(Reflection).where(Reflection.item_id == item.id,
                                                         Reflection.membership_id == viewer.membership.id))
    if reflection is not None and reflection.feedback_at is not None:
        raise Conflict("Your facilitator has already answered this reflection, so it can no longer be changed.")
    if reflection is None:
        reflection = Reflection(item_id=item.id, membership_id=viewer.membership.id, body=body,
                                submitted_at=now or utcnow())
        session.add(reflection)
    reflection.body, reflection.body_html = body, render_markdown(body)
    reflection.submitted_at = now or utcnow()
    session.flush()
    if item.reflection_visibility is ReflectionVisibility.shared_to_cohort_thread:
        book_study.share_reflection(session, item, reflection, viewer.membership, viewer.seats, now)
    if item.completion_rule is CompletionRule.reflection_submitted:
        complete_item(session, item, viewer.membership, CompletionRule.reflection_submitted.value, now)
    return reflection


def reflections_on(session: Session, viewer: Viewer, item: ModuleItem) -> list[Reflection]:
    """The reflections on an item that the viewer may read: their own; their cohort's when the item shares
    them; every one in the cohorts they facilitate."""
    query = (select(Reflection).where(Reflection.item_id == item.id)
             .options(selectinload(Reflection.membership).selectinload(Membership.user))
             .order_by(Reflection.submitted_at))
    me = viewer.membership.id
    rows = list(session.scalars(query))
    if not rows:
        return []
    seats = _seats_of(session, viewer.program, {r.membership_id for r in rows})
    module_cohorts = set(item.module.cohort_ids)
    visible = []
    for r in rows:
        theirs = seats.get(r.membership_id, set()) & module_cohorts
        if r.membership_id == me or (theirs & viewer.managed) or viewer.lead:
            visible.append(r)
        elif item.reflection_visibility is ReflectionVisibility.shared_to_cohort_thread and theirs & viewer.seats:
            visible.append(r)
    return visible


def _seats_of(session: Session, program: Program, membership_ids: set[int]) -> dict[int, set[int]]:
    seats: dict[int, set[int]] = {}
    for mid, cid in session.execute(
            select(CohortMember.membership_id, CohortMember.cohort_id).join(Cohort, Cohort.id == CohortMember.cohort_id)
            .where(CohortMember.membership_id.in_(list(membership_ids)), CohortMember.status == SeatStatus.active,
                   Cohort.program_id == program.id)):
        seats.setdefault(mid, set()).add(cid)
    return seats


def module_reflections(session: Session, viewer: Viewer, module: Module) -> list[Reflection]:
    """Every reflection on a module from the cohorts the viewer facilitates, newest first."""
    if not viewer.manages(module):
        raise Forbidden("Only this module's facilitators read its reflections.")
    ids = [i.id for i in module.items if i.kind is ItemKind.reflection]
    if not ids:
        return []
    rows = list(session.scalars(
        select(Reflection).where(Reflection.item_id.in_(ids))
        .options(selectinload(Reflection.membership).selectinload(Membership.user),
                 selectinload(Reflection.feedback_by).selectinload(Membership.user))
        .order_by(Reflection.feedback_at.is_not(None), Reflection.submitted_at.desc())))
    if viewer.lead:
        return rows
    seats = _seats_of(session, viewer.program, {r.membership_id for r in rows}) if rows else {}
    return [r for r in rows if seats.get(r.membership_id, set()) & viewer.managed & set(module.cohort_ids)]


def give_feedback(session: Session, viewer: Viewer, reflection_id: int, feedback: str, mark: float | None,
                  now: dt.datetime | None = None) -> Reflection:
    reflection = session.get(Reflection, reflection_id)
    if reflection is None or reflection.item.module.program_id != viewer.program.id:
        raise NotFound("There is no such reflection here.")
    module = reflection.item.module
    if not viewer.manages(module) or reflection not in module_reflections(session, viewer, module):
        raise NotFound("There is no such reflection here.")
    feedback = (feedback or "").strip()
    if not feedback and mark is None:
        raise ModuleInputError("Write some feedback or give a mark.", "feedback")
    if mark is not None and not 0 <= mark <= module.score_maximum:
        raise ModuleInputError(f"A mark is between 0 and {module.score_maximum:g}.", "mark")
    reflection.feedback, reflection.mark = feedback[:10000], mark
    reflection.feedback_by_id, reflection.feedback_at = viewer.membership.id, now or utcnow()
    session.flush()
    update_grade(session, module, reflection.membership)
    return reflection


# ---- grades -------------------------------------------------------------------------------------------------------

def placed_link(session: Session, course_id: int, module_id: int) -> ResourceLink | None:
    """The LMS link this module was placed as by deep linking, if any (its launches record the target)."""
    return session.scalar(select(ResourceLink).where(ResourceLink.course_id == course_id,
                                                     ResourceLink.target == f"module:{module_id}")
                          .order_by(ResourceLink.id).limit(1))


def ensure_module_component(session: Session, module: Module):
    """The module's gradebook column; tied to its placed resource link when there is one."""
    from lti_tool.grades.models import ComponentKind
    from lti_tool.grades.services import ensure_component

    course = session.get(Course, module.program.course_id)
    return ensure_component(session, course, f"module:{module.id}", ComponentKind.module, module.title,
                            module.score_maximum, tag="module",
                            resource_link=placed_link(session, course.id, module.id))


def module_score(session: Session, module: Module, membership: Membership) -> float | None:
    if module.grade_mode is GradeMode.share_completed:
        required = [i.id for i in module.items if i.required]
        if not required:
            return None
        done = len(_done_ids(session, membership.id, required))
        return round(module.score_maximum * done / len(required), 4)
    if module.grade_mode is GradeMode.reflection_mark:
        ids = [i.id for i in module.items if i.kind is ItemKind.reflection]
        if not ids:
            return None
        marks = list(session.scalars(select(Reflection.mark).where(
            Reflection.item_id.in_(ids), Reflection.membership_id == membership.id, Reflection.mark.is_not(None))))
        if not marks:
            return None
        return round(sum(marks) / len(ids), 4)
    return None


def update_grade(session: Session, module: Module, membership: Membership) -> None:
    """Send the participant's module score to the grade outbox, in the caller's transaction."""
    if not module.graded or membership.role is not CourseRole.participant:
        return
    score = module_score(session, module, membership)
    if score is None:
        return
    from lti_tool.grades.services import record_score

    component = ensure_module_component(session, module)
    complete = score >= module.score_maximum
    record_score(session, component, membership, score,
                 activity_progress="Completed" if complete else "InProgress",
                 grading_progress="FullyGraded" if complete or module.grade_mode is GradeMode.reflection_mark
                 else "Pending")


def tie_placed_link(session: Session, course_id: int, module_id: int) -> bool:
    """After a launch of a placed module: its gradebook column belongs to that resource link."""
    module = session.scalar(select(Module).join(Program).where(Module.id == module_id, Program.course_id == course_id))
    if module is None or not module.graded:
        return False
    component = ensure_module_component(session, module)
    return component.resource_link_id is not None


# ---- authoring ------------------------------------------------------------------------------------------------------

def in_program_year(program: Program, day: dt.date) -> bool:
    return (not program.starts_on or day >= program.starts_on) and (not program.ends_on or day <= program.ends_on)


def _check_date(program: Program, day: dt.date | None, what: str, field_name: str) -> None:
    if day is None:
        return
    if not in_program_year(program, day):
        start = say_date(program.starts_on) if program.starts_on else "the start"
        end = say_date(program.ends_on) if program.ends_on else "the end"
        raise ModuleInputError(f"The {what} {say_date(day)} is outside the program year ({start} – {end}).",
                               field_name)


def _check_no_loop(session: Session, module: Module | None, after: Module) -> None:
    seen: list[Module] = []
    current: Module | None = after
    while current is not None:
        if module is not None and current.id == module.id:
            chain = " → ".join(f"“{m.title}”" for m in [module, *seen])
            raise ModuleInputError(f"That would make a loop: {chain} → “{module.title}”. Each module can only wait "
                                   "for one that does not (in the end) wait for it.", "after_module_id")
        if current in seen:
            break
        seen.append(current)
        current = current.after_module if current.after_module_id else None


def _next_position(session: Session, model, where) -> int:
    return (session.scalar(select(func.max(model.position)).where(where)) or 0) + 1


def save_module(session: Session, viewer: Viewer, module: Module | None = None, *, title: str, overview: str = "",
                cohort_ids: Iterable[int] = (), release_rule: ReleaseRule = ReleaseRule.by_hand,
                released: bool = False, after_module_id: int | None = None,
                dates: dict[int, tuple[dt.date | None, dt.date | None]] | None = None,
                grade_mode: GradeMode = GradeMode.none, score_maximum: float = 100.0) -> Module:
    """Create or change a module: its cohorts (with their dates), how it opens and whether it is graded."""
    program = viewer.program
    if module is not None:
        require_editor(viewer, module)
    elif not (viewer.lead or viewer.managed):
        raise Forbidden("Only the program's leads and cohort facilitators write modules.")
    title = (title or "").strip()
    if not title:
        raise ModuleInputError("Give the module a title.", "title")
    if len(title) > 200:
        raise ModuleInputError("A title can be at most 200 characters.", "title")
    chosen = {int(c) for c in cohort_ids}
    program_cohort_ids = set(session.scalars(select(Cohort.id).where(Cohort.program_id == program.id)))
    if chosen - program_cohort_ids:
        raise ModuleInputError("Choose cohorts of this program.", "cohort_ids")
    if not viewer.lead:
        if not chosen:
            raise ModuleInputError("Choose at least one of your cohorts.", "cohort_ids")
        if chosen - viewer.managed:
            raise ModuleInputError("You can only choose cohorts you facilitate.", "cohort_ids")
    dates = dates or {}
    if release_rule is ReleaseRule.by_date:
        for cid in chosen:
            opens_on, due_on = dates.get(cid, (None, None))
            if opens_on is None:
                raise ModuleInputError("Give each chosen cohort an opening date, or choose another way to open "
                                       "the module.", f"opens_on_{cid}")
    for cid in chosen:
        opens_on, due_on = dates.get(cid, (None, None))
        _check_date(program, opens_on, "opening date", f"opens_on_{cid}")
        _check_date(program, due_on, "due date", f"due_on_{cid}")
        if opens_on and due_on and due_on < opens_on:
            raise ModuleInputError("The due date comes before the opening date.", f"due_on_{cid}")
    after = None
    if release_rule is ReleaseRule.after_module:
        after = session.get(Module, after_module_id) if after_module_id else None
        if after is None or after.program_id != program.id:
            raise ModuleInputError("Choose the module that must be finished first.", "after_module_id")
        if module is not None and after.id == module.id:
            raise ModuleInputError("A module cannot wait for itself.", "after_module_id")
        _check_no_loop(session, module, after)
    if grade_mode is not GradeMode.none and not 0 < float(score_maximum) <= 10000:
        raise ModuleInputError("The maximum score is between 1 and 10,000.", "score_maximum")

    if module is None:
        module = Module(program_id=program.id, position=_next_position(session, Module, Module.program_id == program.id),
                        created_by_id=viewer.membership.id)
        session.add(module)
    module.program = program
    module.title, module.overview, module.overview_html = title, overview or "", render_markdown(overview or "")
    module.release_rule, module.released = release_rule, bool(released)
    module.after_module = after
    module.grade_mode, module.score_maximum = grade_mode, float(score_maximum or 100)
    keep = {link.cohort_id: link for link in module.cohort_links}
    # A facilitator's edit leaves alone the cohorts of the module they do not facilitate (there are none,
    # since they may only edit modules wholly theirs), so the chosen set replaces the old one.
    module.cohort_links = [keep.get(cid) or ModuleCohort(cohort_id=cid) for cid in sorted(chosen)]
    for link in module.cohort_links:
        link.opens_on, link.due_on = dates.get(link.cohort_id, (None, None))
    session.flush()
    if module.graded:
        ensure_module_component(session, module)
    return module


def set_released(session: Session, viewer: Viewer, module: Module, released: bool) -> None:
    if not viewer.manages(module):
        raise Forbidden("Only this module's facilitators can release it.")
    module.released = released
    session.flush()


def delete_module(session: Session, viewer: Viewer, module: Module) -> None:
    require_editor(viewer, module)
    from lti_tool.modules.uploads import remove_upload

    files = [i.file_stored_name for i in module.items if i.file_stored_name]
    session.delete(module)
    session.flush()
    for name in files:
        remove_upload(name)


def _swap(rows: list, index: int, direction: str) -> bool:
    other = index - 1 if direction == "up" else index + 1
    if not 0 <= other < len(rows):
        return False
    for position, row in enumerate(rows, start=1):
        row.position = position
    rows[index].position, rows[other].position = rows[other].position, rows[index].position
    return True


def move_module(session: Session, viewer: Viewer, module: Module, direction: str) -> bool:
    """Move a module one place up or down in the program's order (keyboard-operable buttons call this)."""
    if not viewer.lead:
        raise Forbidden("Only the program's leads change the order of the program's modules.")
    rows = list(session.scalars(select(Module).where(Module.program_id == viewer.program.id)
                                .order_by(Module.position, Module.id)))
    moved = _swap(rows, rows.index(module), direction)
    session.flush()
    return moved


# -- items

VIDEO_HOSTS = {
    "youtube": ("youtube.com", "www.youtube.com", "m.youtube.com", "youtu.be", "www.youtube-nocookie.com",
                "youtube-nocookie.com"),
    "vimeo": ("vimeo.com", "www.vimeo.com", "player.vimeo.com"),
}
PROVIDER_NAMES = {"youtube": "YouTube", "vimeo": "Vimeo"}
_YOUTUBE_ID = re.compile(r"^[A-Za-z0-9_-]{6,20}$")
_VIMEO_ID = re.compile(r"^\d{3,12}$")


def allowed_video_providers() -> list[str]:
    return [p.strip() for p in str(current_app.config.get("VIDEO_PROVIDERS", "youtube,vimeo")).split(",")
            if p.strip() in VIDEO_HOSTS]


def parse_video(url: str) -> tuple[str, str]:
    """(provider, id) for a YouTube or Vimeo address, else ("", "")."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    path = [p for p in parts.path.split("/") if p]
    if host in VIDEO_HOSTS["youtube"]:
        if host == "youtu.be" and path:
            vid = path[0]
        elif path[:1] == ["watch"]:
            vid = (parse_qs(parts.query).get("v") or [""])[0]
        elif len(path) >= 2 and path[0] in ("embed", "shorts", "live", "v"):
            vid = path[1]
        else:
            vid = ""
        return ("youtube", vid) if _YOUTUBE_ID.match(vid or "") else ("", "")
    if host in VIDEO_HOSTS["vimeo"]:
        vid = next((p for p in path if _VIMEO_ID.match(p)), "")
        return ("vimeo", vid) if vid else ("", "")
    return "", ""


def embed_url(item: ModuleItem) -> str:
    if item.video_provider == "youtube":
        return f"https://www.youtube-nocookie.com/embed/{item.video_id}"
    if item.video_provider == "vimeo":
        return f"https://player.vimeo.com/video/{item.video_id}?dnt=1"
    return ""


def _check_url(url: str, field_name: str = "url") -> str:
    url = (url or "").strip()
    if not url:
        return ""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ModuleInputError("Give a full web address starting with https://", field_name)
    if len(url) > 1024:
        raise ModuleInputError("That address is too long (at most 1024 characters).", field_name)
    return url


_RULES_FOR_KIND = {
    ItemKind.reflection: {CompletionRule.reflection_submitted, CompletionRule.viewed, CompletionRule.marked_done},
    ItemKind.discussion: {CompletionRule.posted_in_thread, CompletionRule.viewed, CompletionRule.marked_done},
}
_DEFAULT_RULE = {ItemKind.reflection: CompletionRule.reflection_submitted,
                 ItemKind.discussion: CompletionRule.posted_in_thread}


def save_item(session: Session, viewer: Viewer, module: Module, item: ModuleItem | None = None, *, kind: ItemKind,
              title: str, body: str = "", url: str = "", embed: bool = False, minutes: int = 10,
              required: bool = True, completion_rule: CompletionRule | None = None,
              release: ItemRelease = ItemRelease.with_module,
              reflection_visibility: ReflectionVisibility = ReflectionVisibility.private_to_facilitators,
              reading_id: int | None = None, thread_id: int | None = None, linked_title: str = "",
              upload: tuple[str, bytes] | None = None, remove_file: bool = False) -> ModuleItem:
    """Create or change an item. Nothing is changed (and no file is kept) when anything is refused."""
    require_editor(viewer, module)
    if item is not None and item.module_id != module.id:
        raise NotFound("There is no such item in this module.")
    if item is not None:
        kind = item.kind   # an item keeps its kind
    title = (title or "").strip()
    if not title:
        raise ModuleInputError("Give the item a title.", "title")
    if len(title) > 200:
        raise ModuleInputError("A title can be at most 200 characters.", "title")
    if not 0 <= int(minutes) <= 600:
        raise ModuleInputError("The time estimate is between 0 and 600 minutes.", "minutes")
    url = _check_url(url)
    provider, video_id = "", ""
    if kind is ItemKind.video:
        if not url:
            raise ModuleInputError("Give the video's web address.", "url")
        if embed:
            provider, video_id = parse_video(url)
            if provider not in allowed_video_providers():
                names = " or ".join(PROVIDER_NAMES[p] for p in allowed_video_providers())
                raise ModuleInputError(f"Only {names} videos can be shown in the page. Give a {names} address, or "
                                       "untick “Show the video in the page” to link to it instead.", "url")
    if kind is ItemKind.reading and not url and not reading_id:
        raise ModuleInputError("Give the reading's web address, or choose a reading of the book study.", "url")
    if reading_id:
        reading = session.get(Reading, reading_id)
        if reading is None or reading.book.program_id != module.program_id or \
                kind not in (ItemKind.reading, ItemKind.discussion):
            raise ModuleInputError("Choose a reading of this program's book study.", "reading_id")
    if thread_id:
        thread = session.get(Thread, thread_id)
        if thread is None or thread.cohort.program_id != module.program_id or kind is not ItemKind.discussion:
            raise ModuleInputError("Choose a thread of this program's book study.", "thread_id")
        if reading_id:
            raise ModuleInputError("Choose either a reading's threads or one thread, not both.", "thread_id")
    if kind is ItemKind.reflection and not (body or "").strip():
        raise ModuleInputError("Write the reflection prompt.", "body")
    rule = completion_rule or _DEFAULT_RULE.get(kind, CompletionRule.viewed)
    if rule is CompletionRule.reflection_submitted and kind is not ItemKind.reflection:
        raise ModuleInputError("“Reflection submitted” fits only reflection items.", "completion_rule")
    if rule is CompletionRule.posted_in_thread and kind is not ItemKind.discussion:
        raise ModuleInputError("“Posted in the thread” fits only discussion items.", "completion_rule")
    if rule is CompletionRule.posted_in_thread and url and not (reading_id or thread_id):
        raise ModuleInputError("A discussion held elsewhere cannot be checked for posts: choose “Done when opened” "
                               "or “Done when marked done”, or leave the web address empty to discuss it in the "
                               "book study.", "completion_rule")
    has_file = bool(item and item.file_stored_name and not remove_file)
    if kind is ItemKind.resource and not url and not upload and not has_file:
        raise ModuleInputError("Upload a file or give a web address for this resource.", "upload")

    stored = None
    if upload is not None:
        if kind is not ItemKind.resource:
            raise ModuleInputError("Only resource items take a file.", "upload")
        from lti_tool.modules.uploads import store_upload

        stored = store_upload(*upload)     # refused uploads raise before anything changes
    new = item is None
    if item is None:
        item = ModuleItem(kind=kind, position=_next_position(session, ModuleItem, ModuleItem.module_id == module.id))
    old_file = item.file_stored_name if (stored or remove_file) else ""
    item.title, item.body, item.body_html = title, body or "", render_markdown(body or "")
    item.url, item.video_provider, item.video_id = url, provider, video_id
    item.minutes, item.required, item.completion_rule, item.release = int(minutes), bool(required), rule, release
    item.reflection_visibility = reflection_visibility
    item.reading_id, item.thread_id, item.linked_title = reading_id, thread_id, (linked_title or "")[:300]
    if stored is not None:
        item.file_stored_name, item.file_original_name = stored.stored_name, stored.original_name
        item.file_content_type, item.file_size = stored.content_type, stored.size
    elif remove_file:
        item.file_stored_name = item.file_original_name = item.file_content_type = ""
        item.file_size = 0
    if new:
        with session.no_autoflush:
            module.items.append(item)
    session.flush()
    if old_file:
        from lti_tool.modules.uploads import remove_upload

        remove_upload(old_file)
    return item


def move_item(session: Session, viewer: Viewer, item: ModuleItem, direction: str) -> bool:
    module = item.module
    require_editor(viewer, module)
    rows = sorted(module.items, key=lambda i: (i.position, i.id))
    moved = _swap(rows, rows.index(item), direction)
    session.flush()
    session.expire(module, ["items"])
    return moved


def delete_item(session: Session, viewer: Viewer, item: ModuleItem) -> None:
    require_editor(viewer, item.module)
    from lti_tool.modules.uploads import remove_upload

    name = item.file_stored_name
    item.module.items.remove(item)
    session.delete(item)
    session.flush()
    remove_upload(name)


def _copy_file(stored_name: str) -> str:
    if not stored_name:
        return ""
    import os
    import secrets
    import shutil

    from lti_tool.modules.uploads import upload_dir

    new = f"{secrets.token_hex(16)}.{stored_name.rsplit('.', 1)[-1]}"
    src = os.path.join(upload_dir(), os.path.basename(stored_name))
    if not os.path.isfile(src):
        return ""
    shutil.copyfile(src, os.path.join(upload_dir(), new))
    return new


def _clone(session: Session, module: Module, program: Program, *, title: str, cohort_links: list[ModuleCohort],
           creator: Membership, keep_after: bool = True) -> Module:
    copy = Module(program_id=program.id, title=title[:200], overview=module.overview,
                  overview_html=module.overview_html,
                  position=_next_position(session, Module, Module.program_id == program.id),
                  release_rule=module.release_rule, released=False,
                  after_module_id=module.after_module_id if keep_after else None,
                  grade_mode=module.grade_mode, score_maximum=module.score_maximum, created_by_id=creator.id)
    copy.cohort_links = cohort_links
    same_program = program.id == module.program_id
    for item in module.items:
        stored = _copy_file(item.file_stored_name)
        # Another program has its own book study: the same book's reading if it has one; no chosen thread.
        reading_id = item.reading_id if same_program else book_study.copied_reading_id(session, item, program.id)
        thread_id = item.thread_id if same_program else None
        copy.items.append(ModuleItem(
            position=item.position, kind=item.kind, title=item.title, body=item.body, body_html=item.body_html,
            url=item.url, video_provider=item.video_provider, video_id=item.video_id, minutes=item.minutes,
            required=item.required, completion_rule=item.completion_rule, release=item.release,
            reflection_visibility=item.reflection_visibility, reading_id=reading_id, thread_id=thread_id,
            linked_title=item.linked_title, file_stored_name=stored,
            file_original_name=item.file_original_name if stored else "",
            file_content_type=item.file_content_type if stored else "", file_size=item.file_size if stored else 0))
    session.add(copy)
    session.flush()
    return copy


def duplicate_module(session: Session, viewer: Viewer, module: Module) -> Module:
    """A copy for the same cohorts, not released, titled "Copy of …"."""
    require_editor(viewer, module)
    links = [ModuleCohort(cohort_id=link.cohort_id, opens_on=link.opens_on, due_on=link.due_on)
             for link in module.cohort_links]
    return _clone(session, module, viewer.program, title=f"Copy of {module.title}", cohort_links=links,
                  creator=viewer.membership)


def copy_module_to_cohort(session: Session, viewer: Viewer, module: Module, cohort_id: int) -> Module:
    """A copy of a module for one other cohort (the facilitator's own, or any for a lead)."""
    if not viewer.manages(module):
        raise Forbidden("Only this module's facilitators can copy it.")
    cohort = session.get(Cohort, cohort_id)
    if cohort is None or cohort.program_id != viewer.program.id:
        raise ModuleInputError("Choose a cohort of this program.", "cohort_id")
    if cohort.id not in viewer.managed:
        raise ModuleInputError("You can only copy a module to a cohort you facilitate.", "cohort_id")
    first = module.cohort_links[0] if module.cohort_links else None
    link = ModuleCohort(cohort_id=cohort.id, opens_on=first.opens_on if first else None,
                        due_on=first.due_on if first else None)
    return _clone(session, module, viewer.program, title=f"{module.title} ({cohort.name})", cohort_links=[link],
                  creator=viewer.membership)


def copy_targets(session: Session, actor: Membership) -> list[tuple[Program, Membership]]:
    """Other programs (courses on the same LMS) that the same person leads: where modules can be copied to."""
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


@dataclass
class ProgramCopy:
    source: Program
    target: Program
    modules: list[Module]
    shift_days: int
    with_cohorts: int      # copies given to a cohort of the same name


def copy_program_modules(session: Session, viewer: Viewer, target_program_id: int, *, shift_days: int | None = None,
                         match_cohorts: bool = True) -> ProgramCopy:
    """Copy every module of this program into another program the same person leads (next year's course)."""
    if not viewer.lead:
        raise Forbidden("Only the program's leads copy its modules.")
    found = next(((p, m) for p, m in copy_targets(session, viewer.membership) if p.id == target_program_id), None)
    if found is None:
        raise NotFound("You do not lead that program, so modules cannot be copied there.")
    target, target_lead = found
    return _copy_program(session, viewer.program, target, target_lead, shift_days, match_cohorts)


def import_program_modules(session: Session, viewer: Viewer, source_program_id: int, *,
                           shift_days: int | None = None, match_cohorts: bool = True) -> ProgramCopy:
    """Bring every module of an earlier program the same person leads (last year's course) into this one."""
    if not viewer.lead:
        raise Forbidden("Only the program's leads bring modules into it.")
    source = next((p for p, _m in copy_targets(session, viewer.membership) if p.id == source_program_id), None)
    if source is None:
        raise NotFound("You do not lead that program, so its modules cannot be brought here.")
    return _copy_program(session, source, viewer.program, viewer.membership, shift_days, match_cohorts)


def _copy_program(session: Session, source: Program, target: Program, creator: Membership, shift_days: int | None,
                  match_cohorts: bool) -> ProgramCopy:
    """Copies of every module of ``source`` in ``target``, in order, with their items, files, grading and
    "after module" chains. With ``match_cohorts`` a copy is for the target's cohorts of the same names, its
    dates moved by ``shift_days`` (default: the distance between the programs' start dates); a date that
    lands outside the target's year is left for the lead to set, and a module by date with no date left
    opens by hand. Copying the same modules twice is refused."""
    if shift_days is None:
        shift_days = default_shift_days(source, target)
    if not -3660 <= shift_days <= 3660:
        raise ModuleInputError("Move the dates by at most ten years (3,660 days).", "shift_days")
    modules = program_modules(session, source)
    if not modules:
        raise ModuleInputError(f"“{source.title}” has no modules to copy.", "program_id")
    present = set(session.scalars(select(Module.title).where(Module.program_id == target.id)))
    if all(m.title in present for m in modules):
        raise Conflict(f"“{target.title}” already has these modules (same titles), so nothing was copied again.")
    source_names = {c.id: c.name.casefold() for c in program_cohorts(session, source)}
    target_cohorts = {c.name.casefold(): c for c in program_cohorts(session, target)} if match_cohorts else {}

    def moved(day: dt.date | None) -> dt.date | None:
        if day is None:
            return None
        day = day + dt.timedelta(days=shift_days)
        return day if in_program_year(target, day) else None

    copies: dict[int, Module] = {}
    with_cohorts = 0
    for module in modules:
        links: list[ModuleCohort] = []
        for link in module.cohort_links:
            cohort = target_cohorts.get(source_names.get(link.cohort_id, ""))
            if cohort is None or any(existing.cohort_id == cohort.id for existing in links):
                continue
            opens, due = moved(link.opens_on), moved(link.due_on)
            if opens and due and due < opens:
                due = None
            links.append(ModuleCohort(cohort_id=cohort.id, opens_on=opens, due_on=due))
        rule = module.release_rule
        if rule is ReleaseRule.by_date and not any(link.opens_on for link in links):
            rule = ReleaseRule.by_hand
        copy = _clone(session, module, target, title=module.title, cohort_links=links, creator=creator,
                      keep_after=False)
        copy.release_rule = rule
        copies[module.id] = copy
        with_cohorts += bool(links)
    for module in modules:
        if module.after_module_id in copies:
            copies[module.id].after_module_id = copies[module.after_module_id].id
    if session.scalar(select(ModuleSettings.id).where(ModuleSettings.program_id == target.id)) is None:
        session.add(ModuleSettings(program_id=target.id,
                                   weekly_budget_minutes=module_settings(session, source).weekly_budget_minutes))
    session.flush()
    return ProgramCopy(source, target, list(copies.values()), shift_days, with_cohorts)


# ---- participant views ---------------------------------------------------------------------------------------------

@dataclass
class MyWeek:
    open_items: list[tuple[Module, ItemState]]
    overdue: list[tuple[Module, ItemState]]
    minutes: int
    budget: int

    @property
    def over_budget(self) -> bool:
        return self.minutes > self.budget


def my_week(session: Session, viewer: Viewer, modules: list[Module], states: dict[int, ModuleState]) -> MyWeek:
    """What is open and not done (with its time against the weekly budget), and what is overdue."""
    open_items, overdue = [], []
    for module in modules:
        for state in states[module.id].items:
            if state.open and not state.done:
                (overdue if state.overdue else open_items).append((module, state))
    minutes = sum(s.item.minutes for _m, s in open_items + overdue)
    return MyWeek(open_items, overdue, minutes, module_settings(session, viewer.program).weekly_budget_minutes)


# ---- facilitator views ---------------------------------------------------------------------------------------------

@dataclass
class GridRow:
    membership: Membership
    cohort_name: str
    state: ModuleState


@dataclass
class ProgressGrid:
    module: Module
    rows: list[GridRow] = field(default_factory=list)


def progress_grid(session: Session, viewer: Viewer, module: Module, now: dt.datetime | None = None) -> ProgressGrid:
    """Participants of the viewer's cohorts (of this module) × the module's items: a fixed number of queries."""
    if not viewer.manages(module):
        raise Forbidden("Only this module's facilitators see its progress.")
    cohort_ids = set(module.cohort_ids) if viewer.lead else set(module.cohort_ids) & viewer.managed
    seats = list(session.execute(
        select(CohortMember.membership_id, Cohort.id, Cohort.name).join(Cohort, Cohort.id == CohortMember.cohort_id)
        .where(CohortMember.cohort_id.in_(list(cohort_ids)), CohortMember.status == SeatStatus.active)))
    member_ids = sorted({s[0] for s in seats})
    people = {m.id: m for m in session.scalars(
        select(Membership).join(Membership.user).options(selectinload(Membership.user))
        .where(Membership.id.in_(member_ids), Membership.active.is_(True)))} if member_ids else {}
    before = None
    if module.release_rule is ReleaseRule.after_module and module.after_module_id:
        before = session.scalar(_modules_query(viewer.program.id).where(Module.id == module.after_module_id))
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
    today = program_today(viewer.program, now)
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


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value) -> str:
    """A CSV cell a spreadsheet will not run as a formula (an apostrophe in front, as OWASP advises)."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def grid_csv(grid: ProgressGrid) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([safe_cell(v) for v in ["Participant", "Email", "Cohort",
                                            *[i.title for i in grid.module.items], "Required done", "Percent"]])
    for row in grid.rows:
        user = row.membership.user
        writer.writerow([safe_cell(v) for v in [user.display_name, user.email, row.cohort_name,
                                                *[s.label for s in row.state.items],
                                                f"{row.state.done_count}/{len(row.state.required)}",
                                                row.state.percent]])
    return out.getvalue().encode("utf-8-sig")


# ---- deep linking ---------------------------------------------------------------------------------------------------

def placeable(session: Session, course: Course, membership: Membership) -> list[Module]:
    """Modules a facilitator may place in the LMS course (those they see)."""
    from lti_tool.programs.services import program_for_course

    program = program_for_course(session, course)
    if program is None:
        return []
    viewer = viewer_for(session, membership, program)
    return [m for m in program_modules(session, program) if viewer.sees(m)]
