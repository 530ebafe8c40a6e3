"""What the protocol pages show, in a fixed number of queries, and the scoped loaders (404 for another
program's script or run, and for a run the viewer is not a member of); the counts the completion rule reads
(``completion_counts``) and the presentation counts behind "who presents next"."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session, joinedload, selectinload

from lti_tool.course.access import Access, is_lead
from lti_tool.db import utcnow
from lti_tool.errors import NotFound
from lti_tool.lti.models import CourseRole, Membership, User
from lti_tool.programs.models import Cohort, CohortFacilitator, CohortMember, Program, SeatStatus, SmallGroupMember
from lti_tool.protocols import library
from lti_tool.protocols.clock import State, state_of
from lti_tool.protocols.models import (Contribution, ProtocolRun, ProtocolScript, RunMode, RunRole, RunStatus)
from lti_tool.protocols.permissions import require_run_member


def _program(access: Access) -> Program:
    if access.program is None:
        raise NotFound("This course has no Communities of Practice program yet.")
    return access.program


# -- scripts ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ScriptRef:
    """A script a run can be made from: a built-in one (``key``) or the program's own (``script``)."""

    name: str
    description: str
    version: int
    phases: list                       # library.PhaseSpec or ScriptPhase: name, minutes, instructions, roles, kind
    key: str = ""
    script: ProtocolScript | None = None

    @property
    def ref(self) -> str:
        return f"script:{self.script.id}" if self.script is not None else f"builtin:{self.key}"

    @property
    def total_minutes(self) -> int:
        return sum(p.minutes for p in self.phases)


def builtin_ref(key: str) -> ScriptRef:
    spec = library.BY_KEY.get(key)
    if spec is None:
        raise NotFound("There is no such protocol script.")
    return ScriptRef(spec.name, spec.description, 1, list(spec.phases), key=spec.key)


def get_script(session: Session, access: Access, script_id: int) -> ProtocolScript:
    script = session.scalar(select(ProtocolScript).options(selectinload(ProtocolScript.phases))
                            .where(ProtocolScript.id == script_id, ProtocolScript.program_id == _program(access).id))
    if script is None:
        raise NotFound("There is no such protocol script in this program.")
    return script


def script_ref(session: Session, access: Access, ref: str) -> ScriptRef:
    """"builtin:consultancy" or "script:12" → the script (404 for anything else, another program's included)."""
    kind, _, value = (ref or "").partition(":")
    if kind == "builtin":
        return builtin_ref(value)
    if kind == "script" and value.isdigit():
        script = get_script(session, access, int(value))
        return ScriptRef(script.name, script.description, script.version, list(script.phases), key=script.source_key,
                         script=script)
    raise NotFound("There is no such protocol script.")


def script_choices(session: Session, access: Access) -> list[ScriptRef]:
    """The built-in scripts, then the program's own (not archived): two queries."""
    own = session.scalars(select(ProtocolScript).options(selectinload(ProtocolScript.phases))
                          .where(ProtocolScript.program_id == _program(access).id, ProtocolScript.archived.is_(False))
                          .order_by(ProtocolScript.name, ProtocolScript.id))
    return [builtin_ref(s.key) for s in library.BUILT_IN] + [
        ScriptRef(s.name, s.description, s.version, list(s.phases), key=s.source_key, script=s) for s in own]


# -- runs ---------------------------------------------------------------------------------------------------

@dataclass
class LoadedRun:
    run: ProtocolRun
    role: str                 # the viewer's acting role (library.Role value)
    held: str | None          # the role they hold (None: they manage the cohort without one)


def get_run(session: Session, access: Access, run_id: int, *, lock: bool = False) -> LoadedRun:
    """A run of the program whose member the viewer is (404 otherwise, whoever they are): two queries (the run
    with its phases, their role)."""
    query = (select(ProtocolRun).options(selectinload(ProtocolRun.phases))
             .where(ProtocolRun.id == run_id, ProtocolRun.program_id == _program(access).id))
    run = session.scalar(query)
    if run is None:
        raise NotFound("There is no such protocol run here.")
    held = session.scalar(select(RunRole.role).where(RunRole.run_id == run.id, RunRole.membership_id == access.id))
    return LoadedRun(run, require_run_member(access, run, held), held)


@dataclass
class RunPage:
    loaded: LoadedRun
    state: State
    roles: list[RunRole]
    by_phase: dict[int, list[Contribution]]
    now: dt.datetime

    @property
    def run(self) -> ProtocolRun:
        return self.loaded.run

    @property
    def current(self):
        if self.state.position is None:
            return None
        return next((p for p in self.run.phases if p.position == self.state.position), None)

    @property
    def presenter(self) -> RunRole | None:
        return next((r for r in self.roles if r.role == library.Role.presenter.value), None)


def run_page(session: Session, loaded: LoadedRun, now: dt.datetime) -> RunPage:
    """Everything the run's page shows: its roles, files and contributions (three more queries)."""
    run = loaded.run
    roles = list(session.scalars(select(RunRole).options(joinedload(RunRole.membership).joinedload(Membership.user))
                                 .where(RunRole.run_id == run.id)))
    order = {r.value: i for i, r in enumerate(library.Role)}
    roles.sort(key=lambda r: (order.get(r.role, 9), r.membership.user.display_name.lower()))
    _ = run.files                                # loaded here (one query), not while the template renders
    contributions = session.scalars(
        select(Contribution).options(joinedload(Contribution.membership).joinedload(Membership.user))
        .where(Contribution.run_id == run.id).order_by(Contribution.position, Contribution.created_at,
                                                       Contribution.id))
    by_phase: dict[int, list[Contribution]] = {}
    for c in contributions:
        by_phase.setdefault(c.position, []).append(c)
    return RunPage(loaded, state_of(run, run.phases, now), roles, by_phase, now)


def contribution_count(session: Session, run_id: int) -> int:
    """How many contributions the run has (the poll refreshes the page's record when it changes)."""
    return session.scalar(select(func.count()).select_from(Contribution).where(Contribution.run_id == run_id)) or 0


def runs_for(session: Session, access: Access) -> list[ProtocolRun]:
    """The runs the viewer is a member of (a role in it, or managing its cohort), newest first, with their
    phases: two queries."""
    program = _program(access)
    mine = select(RunRole.run_id).where(RunRole.membership_id == access.id)
    condition = ProtocolRun.id.in_(mine)
    if access.managed:
        condition = or_(condition, ProtocolRun.cohort_id.in_(sorted(access.managed)))
    return list(session.scalars(select(ProtocolRun).options(joinedload(ProtocolRun.cohort),
                                                             joinedload(ProtocolRun.group),
                                                             selectinload(ProtocolRun.phases))
                                .where(ProtocolRun.program_id == program.id, condition)
                                .order_by(ProtocolRun.created_at.desc(), ProtocolRun.id.desc())))


@dataclass(frozen=True)
class Candidate:
    membership: Membership
    seated: bool               # holds an active seat in the cohort (or the group), else a facilitator of it
    presented: int             # runs of the program they presented (not cancelled)

    @property
    def name(self) -> str:
        return self.membership.user.display_name


def presentation_counts(session: Session, program: Program, membership_ids: list[int]) -> dict[int, int]:
    """How many (not cancelled) runs of the program each person presented: one query."""
    out = {mid: 0 for mid in membership_ids}
    if not membership_ids:
        return out
    for mid, n in session.execute(
            select(RunRole.membership_id, func.count()).join(ProtocolRun, ProtocolRun.id == RunRole.run_id)
            .where(ProtocolRun.program_id == program.id, ProtocolRun.status != RunStatus.cancelled,
                   RunRole.role == library.Role.presenter.value, RunRole.membership_id.in_(membership_ids))
            .group_by(RunRole.membership_id)):
        out[mid] = n
    return out


def candidates_for(session: Session, program: Program, cohort: Cohort, group_id: int | None) -> list[Candidate]:
    """Who may be given a role in a run of ``cohort``: its active seats (within the group, for a group's run),
    its named facilitators and the program's leads, with how often each presented: four queries."""
    seats = select(CohortMember.membership_id).where(CohortMember.cohort_id == cohort.id,
                                                     CohortMember.status == SeatStatus.active)
    if group_id is not None:
        seats = seats.where(CohortMember.membership_id.in_(
            select(SmallGroupMember.membership_id).where(SmallGroupMember.group_id == group_id)))
    seated_ids = set(session.scalars(seats))
    facilitator_ids = set(session.scalars(select(CohortFacilitator.membership_id)
                                          .where(CohortFacilitator.cohort_id == cohort.id)))
    staff = Membership.role == CourseRole.facilitator
    people = [m for m in session.scalars(
        select(Membership).join(User).options(joinedload(Membership.user))
        .where(Membership.course_id == program.course_id, Membership.active.is_(True),
               or_(Membership.id.in_(seated_ids | facilitator_ids or {-1}), staff))
        .order_by(User.name, Membership.id))
        if m.id in seated_ids or m.id in facilitator_ids or is_lead(program, m)]
    counts = presentation_counts(session, program, [m.id for m in people])
    return [Candidate(m, m.id in seated_ids, counts[m.id]) for m in people]


def suggested_presenter(candidates: list[Candidate]) -> Candidate | None:
    """Who presents next, so that everyone presents over the year: the seated person who presented least
    (then by name, for a stable order)."""
    seated = [c for c in candidates if c.seated]
    return min(seated, key=lambda c: (c.presented, c.name.lower(), c.membership.id)) if seated else None


# -- completion ---------------------------------------------------------------------------------------------

def _finished(now: dt.datetime):
    """A run is over: completed by its facilitator, or an asynchronous one past its last deadline (read from
    the deadline, so it counts before the background job has marked it)."""
    return or_(ProtocolRun.status == RunStatus.completed,
               and_(ProtocolRun.mode == RunMode.async_, ProtocolRun.status != RunStatus.cancelled,
                    ProtocolRun.closes_at.is_not(None), ProtocolRun.closes_at <= now))


def completion_counts(session: Session, program: Program, membership_ids, now: dt.datetime | None = None
                      ) -> dict[int, tuple[int, int | None]]:
    """For the completion rule, in ONE query: membership id → (runs of the program they took part in that are
    over, runs they are in that are still to come or under way — None when there are none). Taking part is
    holding a role in the run; cancelled runs count for nothing. Everyone asked for has an entry."""
    ids = sorted(set(membership_ids))
    out: dict[int, tuple[int, int | None]] = {mid: (0, None) for mid in ids}
    if not ids:
        return out
    now = now or utcnow()
    finished = _finished(now)
    rows = session.execute(
        select(RunRole.membership_id,
               func.count(case((finished, 1))),
               func.count(case((and_(~finished, ProtocolRun.status != RunStatus.cancelled), 1))))
        .join(ProtocolRun, ProtocolRun.id == RunRole.run_id)
        .where(ProtocolRun.program_id == program.id, RunRole.membership_id.in_(ids))
        .group_by(RunRole.membership_id))
    for mid, done, pending in rows:
        out[mid] = (done, pending or None)
    return out


def finished_runs_of(session: Session, program: Program, membership_ids: list[int], now: dt.datetime | None = None):
    """(role, run) of each finished run each person took part in: one query (for the PD-hours source)."""
    if not membership_ids:
        return []
    return session.execute(select(RunRole.membership_id, RunRole.role, ProtocolRun)
                           .join(ProtocolRun, ProtocolRun.id == RunRole.run_id)
                           .where(ProtocolRun.program_id == program.id, RunRole.membership_id.in_(membership_ids),
                                  _finished(now or utcnow()))
                           .order_by(ProtocolRun.id)).all()

