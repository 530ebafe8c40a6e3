"""Protocol-runner changes: scripts (copy, adapt, scale), runs (make one, or one per small group; roles; the
problem of practice), the live clock (start, pause, resume, extend, advance, go back, finish: each against
the version the facilitator saw), contributions (only in the phase they belong to, only by the roles that
phase lets speak), and the background sweep of asynchronous runs (reminders, completion).

Each function checks permission, validates (``InvalidInput`` on the field concerned), changes, flushes,
never commits. ``now`` is always a parameter: the server's clock is the run's clock, and tests move it.
"""
from __future__ import annotations

import datetime as dt
from typing import Iterable, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from lti_tool.course import events
from lti_tool.course.access import Access
from lti_tool.course.notices import notify
from lti_tool.course.text import render_markdown
from lti_tool.course.zones import program_zone
from lti_tool.db import utcnow
from lti_tool.errors import Conflict, Forbidden, InvalidInput, NotFound
from lti_tool.modules import uploads
from lti_tool.lti.models import Membership
from lti_tool.programs.models import Cohort, CohortMember, Program, SeatStatus, SmallGroup
from lti_tool.protocols.clock import scale_minutes, state_of
from lti_tool.protocols.library import Kind, Role
from lti_tool.protocols.models import (Contribution, ProtocolRun, ProtocolScript, RunFile, RunMode, RunPhase,
                                       RunRole, RunStatus, ScriptPhase)
from lti_tool.protocols.permissions import (require_controller, require_problem_editor,
                                            require_run_manager, require_script_lead)
from lti_tool.protocols.queries import (LoadedRun, ScriptRef, candidates_for, get_script,
                                        suggested_presenter)

MAX_PHASES = 30
MAX_PHASE_MINUTES = 24 * 60
MAX_BODY = 5000
MAX_DAYS_PER_PHASE = 60
ROLE_VALUES = {r.value for r in Role}
KIND_VALUES = {k.value for k in Kind} | {""}


def _text(value: str | None, limit: int) -> str:
    return (value or "").strip()[:limit]


# -- scripts ------------------------------------------------------------------------------------------------

def _clean_phases(phases: Sequence[dict]) -> list[dict]:
    """Validated phases (dicts of name, minutes, instructions, roles, kind), in order."""
    if not phases:
        raise InvalidInput("A script needs at least one phase: a protocol with no steps cannot be run.", "phases")
    if len(phases) > MAX_PHASES:
        raise InvalidInput(f"A script has at most {MAX_PHASES} phases.", "phases")
    out = []
    for i, phase in enumerate(phases, start=1):
        name = _text(phase.get("name"), 120)
        if not name:
            raise InvalidInput(f"Phase {i} needs a name.", "phases")
        minutes = phase.get("minutes")
        if not isinstance(minutes, int) or not 1 <= minutes <= MAX_PHASE_MINUTES:
            raise InvalidInput(f"Phase {i} (“{name}”) needs at least 1 minute (and at most {MAX_PHASE_MINUTES}).",
                               "phases")
        roles = [r for r in dict.fromkeys(phase.get("roles") or ())]
        if any(r not in ROLE_VALUES for r in roles):
            raise InvalidInput(f"Phase {i} (“{name}”) names a role that does not exist.", "phases")
        kind = phase.get("kind") or ""
        if kind not in KIND_VALUES:
            raise InvalidInput(f"Phase {i} (“{name}”): choose what it collects from the list.", "phases")
        if kind and not roles:
            raise InvalidInput(f"Phase {i} (“{name}”) collects {Kind(kind).label.lower()}s but nobody may post "
                               "them: tick who may contribute, or choose “nothing”.", "phases")
        out.append({"name": name, "minutes": minutes, "instructions": _text(phase.get("instructions"), 4000),
                    "roles": roles, "kind": kind})
    return out


def _phase_dicts(phases) -> list[dict]:
    return [{"name": p.name, "minutes": p.minutes, "instructions": p.instructions, "roles": [str(getattr(r, "value", r))
             for r in p.roles], "kind": p.kind} for p in phases]


def scaled(phases: list[dict], total_minutes: int | None) -> list[dict]:
    """``phases`` with their minutes scaled to ``total_minutes`` (None or the same total: unchanged)."""
    if total_minutes is None or total_minutes == sum(p["minutes"] for p in phases):
        return phases
    if not isinstance(total_minutes, int):
        raise InvalidInput("Give the total time in whole minutes.", "total_minutes")
    minutes = scale_minutes([p["minutes"] for p in phases], total_minutes)
    return [{**p, "minutes": m} for p, m in zip(phases, minutes)]


def copy_script(session: Session, access: Access, ref: ScriptRef, name: str | None = None) -> ProtocolScript:
    """The program's own copy of a script (built-in or the program's), to adapt (leads only)."""
    require_script_lead(access)
    script = ProtocolScript(program_id=access.program.id, name=_text(name, 200) or f"{ref.name} (adapted)",
                            description=ref.description, source_key=ref.key, created_by_id=access.id)
    script.phases = [ScriptPhase(position=i, **p) for i, p in enumerate(_clean_phases(_phase_dicts(ref.phases)), 1)]
    session.add(script)
    session.flush()
    return script


def save_script(session: Session, access: Access, script_id: int, *, name: str, description: str,
                phases: Sequence[dict], total_minutes: int | None = None, expected_version: int | None = None
                ) -> ProtocolScript:
    """A new version of the program's script (leads only): its name, description and phases; with
    ``total_minutes`` the phases are scaled to that total (never dropping one, each at least a minute). Runs
    already made keep the phases they were made with."""
    require_script_lead(access)
    script = get_script(session, access, script_id)
    if expected_version is not None and expected_version != script.version:
        raise Conflict(f"Someone saved this script since you opened it (it is now version {script.version}). "
                       "Nothing was changed: open it again to see their version.")
    name = _text(name, 200)
    if not name:
        raise InvalidInput("Give the script a name.", "name")
    clean = scaled(_clean_phases(phases), total_minutes)
    script.name, script.description = name, _text(description, 4000)
    script.phases.clear()
    session.flush()                     # the old positions go before the new ones take them
    script.phases.extend(ScriptPhase(position=i, **p) for i, p in enumerate(clean, 1))
    script.version += 1
    session.flush()
    return script


def archive_script(session: Session, access: Access, script_id: int) -> ProtocolScript:
    require_script_lead(access)
    script = get_script(session, access, script_id)
    script.archived = True
    session.flush()
    return script


# -- runs ---------------------------------------------------------------------------------------------------

def _cohort_of(session: Session, access: Access, cohort_id: int | None) -> Cohort:
    cohort = session.get(Cohort, cohort_id) if cohort_id else None
    if cohort is None or not access.in_program(cohort.program_id):
        raise NotFound("There is no such cohort in this program.")
    return cohort


def _group_of(session: Session, cohort: Cohort, group_id: int | None) -> SmallGroup | None:
    if not group_id:
        return None
    group = session.get(SmallGroup, group_id)
    if group is None or group.cohort_id != cohort.id:
        raise NotFound("There is no such small group in this cohort.")
    return group


def async_deadlines(zone, opens_at: dt.datetime, days: Sequence[int]) -> list[tuple[dt.datetime, dt.datetime]]:
    """Each phase's (opens, closes) for an asynchronous run: the first opens at ``opens_at``, each closes after
    its number of days at the same wall-clock time in the program's zone (so a deadline stays "5 pm" across a
    daylight-saving change), and the next opens when it closes."""
    local = opens_at.astimezone(zone)
    out, start = [], opens_at
    elapsed = 0
    for n in days:
        elapsed += n
        wall = (local.replace(tzinfo=None) + dt.timedelta(days=elapsed)).replace(tzinfo=zone)
        close = wall.astimezone(dt.timezone.utc)
        out.append((start, close))
        start = close
    return out


def create_run(session: Session, access: Access, ref: ScriptRef, *, cohort_id: int, group_id: int | None = None,
               title: str = "", mode: str = "live", total_minutes: int | None = None,
               scheduled_for: dt.datetime | None = None, opens_at: dt.datetime | None = None,
               days_per_phase: int | None = None, roles: dict[int, str] | None = None,
               now: dt.datetime | None = None) -> ProtocolRun:
    """A run of ``ref`` for a cohort (or one of its small groups), by someone who manages the cohort. Its phases
    are copied from the script (scaled to ``total_minutes`` if given). Asynchronous runs open at ``opens_at``
    and give each phase ``days_per_phase`` days. ``roles`` (membership id → role) are given at once; without
    them the suggested presenter presents, the maker facilitates and the others take part."""
    cohort = _cohort_of(session, access, cohort_id)
    require_run_manager(access, cohort)
    group = _group_of(session, cohort, group_id)
    try:
        run_mode = RunMode(mode)
    except ValueError:
        raise InvalidInput("Choose live or asynchronous.", "mode") from None
    phases = scaled(_clean_phases(_phase_dicts(ref.phases)), total_minutes)
    now = now or utcnow()
    run = ProtocolRun(program_id=access.program.id, cohort_id=cohort.id, group_id=group.id if group else None,
                      script_id=ref.script.id if ref.script is not None else None, script_key=ref.key,
                      script_name=ref.name, script_version=ref.version,
                      title=_text(title, 200) or f"{ref.name}{' — ' + group.name if group else ''}",
                      mode=run_mode, status=RunStatus.scheduled, total_minutes=sum(p["minutes"] for p in phases),
                      scheduled_for=scheduled_for, created_by_id=access.id)
    run.phases = [RunPhase(position=i, **p) for i, p in enumerate(phases, 1)]
    if run_mode is RunMode.async_:
        if opens_at is None:
            raise InvalidInput("Give the date and time the first phase opens.", "opens_at")
        days = days_per_phase or 0
        if not 1 <= days <= MAX_DAYS_PER_PHASE:
            raise InvalidInput(f"Give each phase between 1 and {MAX_DAYS_PER_PHASE} days.", "days_per_phase")
        for phase, (opens, closes) in zip(run.phases, async_deadlines(access.program_zone, opens_at,
                                                                      [days] * len(phases))):
            phase.opens_at, phase.closes_at = opens, closes
        run.closes_at, run.status, run.started_at = run.phases[-1].closes_at, RunStatus.running, opens_at
        run.scheduled_for = opens_at
    session.add(run)
    session.flush()
    if roles is None:
        candidates = candidates_for(session, access.program, cohort, run.group_id)
        presenter = suggested_presenter(candidates)
        roles = {c.membership.id: Role.participant.value for c in candidates if c.seated}
        if presenter is not None:
            roles[presenter.membership.id] = Role.presenter.value
        if access.id not in roles:
            roles[access.id] = Role.facilitator.value
    set_roles(session, access, LoadedRun(run, Role.facilitator.value, None), roles)
    return run


def create_group_runs(session: Session, access: Access, ref: ScriptRef, *, cohort_id: int, **options
                      ) -> list[ProtocolRun]:
    """One run per small group of the cohort (triads running in parallel), each with its own suggested
    presenter and the group's members as participants."""
    cohort = _cohort_of(session, access, cohort_id)
    require_run_manager(access, cohort)
    groups = list(session.scalars(select(SmallGroup).where(SmallGroup.cohort_id == cohort.id)
                                  .order_by(SmallGroup.name)))
    if not groups:
        raise InvalidInput("This cohort has no small groups yet: make them on the cohort's page, or run the "
                           "protocol for the whole cohort.", "group_id")
    return [create_run(session, access, ref, cohort_id=cohort.id, group_id=g.id, **options) for g in groups]


def set_roles(session: Session, access: Access, loaded: LoadedRun, assignments: dict[int, str]) -> list[RunRole]:
    """Who takes part and as what (membership id → role, "" for not taking part): by those who manage the
    cohort, before the run is over. Only active seats of the cohort (of the group, for a group's run) and the
    cohort's facilitators can be given a role; at most one presenter."""
    run = loaded.run
    require_run_manager(access, run.cohort_id)
    if run.status in (RunStatus.completed, RunStatus.cancelled):
        raise InvalidInput("This run is over: its roles are part of its record and cannot change.")
    wanted = {int(mid): (role or "") for mid, role in assignments.items()}
    for role in wanted.values():
        if role and role not in ROLE_VALUES:
            raise InvalidInput("Choose each person's role from the list.", "roles")
    presenters = [mid for mid, role in wanted.items() if role == Role.presenter.value]
    if len(presenters) > 1:
        raise InvalidInput("A run has one presenter: choose one.", "roles")
    candidates = {c.membership.id: c for c in candidates_for(session, access.program, run.cohort, run.group_id)}
    current = {r.membership_id: r for r in run.roles}
    for mid, role in wanted.items():
        if not role or (mid in current and current[mid].role == role):
            continue
        candidate = candidates.get(mid)
        if candidate is None:
            person = session.get(Membership, mid)
            if person is None or person.course_id != access.course_id:
                raise NotFound("There is no such person in this course.")
            raise InvalidInput(_not_in(session, run, person), "roles")
        if role == Role.presenter.value and not candidate.seated:
            raise InvalidInput(f"{candidate.name} is not a participant of the cohort: the presenter is one of "
                               "its participants.", "roles")
    joined_or_left = []
    for mid, role in wanted.items():
        row = current.get(mid)
        if not role:
            if row is not None:
                run.roles.remove(row)
                joined_or_left.append(mid)
        elif row is None:
            run.roles.append(RunRole(membership_id=mid, role=role))
            joined_or_left.append(mid)
        else:
            row.role = role
    session.flush()
    if joined_or_left:
        # The runs still to come that each person is in count for the completion rule ("can still meet").
        events.progress_changed.send(session, program_id=run.program_id, membership_ids=joined_or_left)
    return run.roles


def _not_in(session: Session, run: ProtocolRun, person: Membership) -> str:
    """Why ``person`` cannot take a role in ``run``, in words."""
    who = person.user.display_name
    seat = session.scalar(select(CohortMember).where(CohortMember.cohort_id == run.cohort_id,
                                                     CohortMember.membership_id == person.id))
    if not person.active or (seat is not None and seat.status in (SeatStatus.withdrawn, SeatStatus.removed)):
        return f"{who} has left the cohort, so they cannot take a role in this run. Nothing was changed."
    if seat is not None and seat.status is SeatStatus.active and run.group_id:
        return f"{who} is not in this run's small group. Nothing was changed."
    return f"{who} is not in this cohort, so they cannot take a role in this run. Nothing was changed."


def attach_problem(session: Session, access: Access, loaded: LoadedRun, text: str,
                   files: Iterable[tuple[str, bytes]] = (), remove_file_ids: Iterable[int] = ()) -> ProtocolRun:
    """The presenter's problem of practice: its text (Markdown) and files (checked and stored by
    ``modules.uploads``; a refused file changes nothing), by the presenter or the run's facilitators."""
    run = loaded.run
    require_problem_editor(access, run, loaded.role)
    if run.status is RunStatus.cancelled:
        raise InvalidInput("This run was cancelled.")
    text = (text or "").strip()
    if len(text) > 20000:
        raise InvalidInput("The problem of practice is limited to 20,000 characters.", "problem_text")
    stored = []
    for filename, data in files:
        if data:
            stored.append(uploads.store_upload(filename, data))   # refused uploads raise before anything changes
    for file_id in set(remove_file_ids):
        row = next((f for f in run.files if f.id == file_id), None)
        if row is not None:
            run.files.remove(row)
            uploads.remove_after_commit(session, row.stored_name)
    run.problem_text, run.problem_html = text, render_markdown(text, top_heading=3)
    for f in stored:
        run.files.append(RunFile(stored_name=f.stored_name, original_name=f.original_name,
                                 content_type=f.content_type, size=f.size, uploaded_by_id=access.id))
    _flush(session, run)
    return run


def set_deadlines(session: Session, access: Access, loaded: LoadedRun, closes: Sequence[dt.datetime],
                  now: dt.datetime | None = None) -> ProtocolRun:
    """New deadlines for an asynchronous run's phases (those who manage the cohort): one per phase, in order,
    each later than the one before. A phase that has closed keeps its deadline (it is part of the record); a
    phase still open or to come closes in the future. Each phase opens when the previous one closes."""
    run = loaded.run
    require_run_manager(access, run.cohort_id)
    now = now or utcnow()
    if run.mode is not RunMode.async_:
        raise InvalidInput("Only an asynchronous run has deadlines; a live run moves on with its facilitator.")
    if run.status is RunStatus.cancelled or state_of(run, run.phases, now).status == "completed":
        raise InvalidInput("This run is over: its deadlines are part of its record.")
    if len(closes) != len(run.phases) or any(c is None for c in closes):
        raise InvalidInput("Give a deadline for every phase.", "deadlines")
    previous = run.phases[0].opens_at
    for phase, new in zip(run.phases, closes):
        if phase.closes_at is not None and phase.closes_at <= now:
            if new != phase.closes_at:
                raise InvalidInput(f"“{phase.name}” has closed: its deadline stays as it was.", "deadlines")
        elif new <= now:
            raise InvalidInput(f"“{phase.name}” is still open or to come: its deadline must be in the future.",
                               "deadlines")
        if previous is not None and new <= previous:
            raise InvalidInput(f"“{phase.name}” must close after the phase before it closes (and after the run "
                               "opens).", "deadlines")
        previous = new
    opens = run.phases[0].opens_at
    for phase, new in zip(run.phases, closes):
        phase.opens_at, phase.closes_at = opens, new
        opens = new
    run.closes_at = closes[-1]
    _flush(session, run)
    return run


# -- the live clock -----------------------------------------------------------------------------------------

ACTIONS = ("start", "pause", "resume", "extend", "advance", "back", "finish", "cancel")


def _phase(run: ProtocolRun, position: int) -> RunPhase:
    return next(p for p in run.phases if p.position == position)


def _flush(session: Session, run: ProtocolRun) -> None:
    """Write the run's row against the version read: another facilitator's change in between is a Conflict."""
    try:
        session.flush()
    except StaleDataError:
        session.rollback()
        raise Conflict("Another facilitator changed this run at the same moment, so your change was not made. "
                       "The page now shows where the run is.") from None


def control(session: Session, access: Access, loaded: LoadedRun, action: str, seen_version: int,
            now: dt.datetime | None = None, minutes: int = 1) -> ProtocolRun:
    """Move a live run's clock. ``seen_version`` is the run's version on the facilitator's page: if the run
    changed since (another facilitator advanced it), nothing happens and a ``Conflict`` says where it is now."""
    run = loaded.run
    require_controller(access, run, loaded.role)
    now = now or utcnow()
    if action not in ACTIONS:
        raise InvalidInput("Unknown action.")
    if run.mode is not RunMode.live and action != "cancel":
        raise InvalidInput("An asynchronous run moves on at its deadlines; only a live run has these controls.")
    if seen_version != run.version:
        state = state_of(run, run.phases, now)
        where = (f"“{_phase(run, state.position).name}” ({state.status})" if state.position is not None
                 else state.status)
        raise Conflict(f"Someone else already changed this run: it is now at {where}. Nothing was changed by "
                       "your click; check the page and try again if it is still needed.")
    state = state_of(run, run.phases, now)
    last = run.phases[-1].position
    if action == "cancel":
        if run.status in (RunStatus.completed, RunStatus.cancelled) or state.status == "completed":
            raise InvalidInput("This run is already over: its record is kept.")
        run.status = RunStatus.cancelled
        events.progress_changed.send(session, program_id=run.program_id,
                                     membership_ids=[r.membership_id for r in run.roles])
    elif action == "start":
        if run.status is not RunStatus.scheduled:
            raise InvalidInput("This run has already started.")
        run.started_at = now
        _enter(run, run.phases[0].position, now)
    elif action in ("pause", "resume", "extend", "advance", "back", "finish") and not state.open:
        raise InvalidInput("This run is not under way: start it first." if run.status is RunStatus.scheduled
                           else "This run is over.")
    elif action == "pause":
        if run.status is RunStatus.paused:
            raise InvalidInput("The run is already paused.")
        run.status, run.paused_remaining, run.phase_ends_at = RunStatus.paused, state.remaining, None
    elif action == "resume":
        if run.status is not RunStatus.paused:
            raise InvalidInput("The run is not paused.")
        run.status, run.phase_ends_at = RunStatus.running, now + dt.timedelta(seconds=run.paused_remaining or 0)
        run.paused_remaining = None
    elif action == "extend":
        if not 1 <= minutes <= 60:
            raise InvalidInput("Extend by 1 to 60 minutes.", "minutes")
        if run.status is RunStatus.paused:
            run.paused_remaining = (run.paused_remaining or 0) + 60 * minutes
        else:
            # An overrun phase is extended from now, not from the end it already passed.
            run.phase_ends_at = max(run.phase_ends_at or now, now) + dt.timedelta(minutes=minutes)
    elif action == "advance":
        if run.current_position >= last:
            _complete(session, run, now)
        else:
            _enter(run, run.current_position + 1, now)
    elif action == "back":
        if run.current_position <= run.phases[0].position:
            raise InvalidInput("This is the first phase: there is nothing to go back to.")
        _enter(run, run.current_position - 1, now)
    elif action == "finish":
        _complete(session, run, now)
    _flush(session, run)
    return run


def _enter(run: ProtocolRun, position: int, now: dt.datetime) -> None:
    """The phase at ``position`` starts now, with its whole time (also when going back to it)."""
    run.status, run.current_position = RunStatus.running, position
    run.phase_ends_at, run.paused_remaining = now + dt.timedelta(minutes=_phase(run, position).minutes), None


def _complete(session: Session, run: ProtocolRun, now: dt.datetime) -> None:
    run.status, run.completed_at = RunStatus.completed, now
    run.current_position, run.phase_ends_at, run.paused_remaining = None, None, None
    events.progress_changed.send(session, program_id=run.program_id,
                                 membership_ids=[r.membership_id for r in run.roles])


# -- contributions ------------------------------------------------------------------------------------------

def contribute(session: Session, access: Access, loaded: LoadedRun, position: int, body: str,
               now: dt.datetime | None = None) -> Contribution:
    """A contribution to the phase at ``position``: only while that phase is the current one (409 otherwise:
    the phase closed or has not opened), only by a role the phase lets contribute (403: e.g. the presenter in
    Consultancy's discussion). Its kind is the phase's."""
    run = loaded.run
    now = now or utcnow()
    phase = next((p for p in run.phases if p.position == position), None)
    if phase is None:
        raise NotFound("There is no such phase in this run.")
    state = state_of(run, run.phases, now)
    if not state.open or state.position != position:
        if state.status == "scheduled" or (state.position is not None and position > state.position):
            raise Conflict(f"“{phase.name}” has not opened yet. Your text is kept below.")
        if state.position is not None:
            current = _phase(run, state.position)
            raise Conflict(f"“{phase.name}” is closed: the run has moved to “{current.name}”. Your text was not "
                           "posted; it is kept below.")
        raise Conflict(f"“{phase.name}” is closed: the run is over. Your text was not posted; it is kept below.")
    if not phase.kind:
        raise Forbidden(f"Nothing is posted in “{phase.name}”.")
    if loaded.role not in phase.roles:
        who = ", ".join(Role(r).label.lower() for r in phase.roles) or "nobody"
        if loaded.role == Role.presenter.value:
            raise Forbidden(f"In “{phase.name}” the presenter listens and takes notes: only the {who} post here.")
        raise Forbidden(f"In “{phase.name}” only the {who} post.")
    body = (body or "").strip()
    if not body:
        raise InvalidInput("Write something first.", "body")
    if len(body) > MAX_BODY:
        raise InvalidInput(f"A contribution is limited to {MAX_BODY:,} characters.", "body")
    item = Contribution(run_id=run.id, position=position, membership_id=access.id, role=loaded.role,
                        kind=phase.kind, body=body, body_html=render_markdown(body, top_heading=4), created_at=now)
    session.add(item)
    session.flush()
    return item


# -- the background sweep of asynchronous runs --------------------------------------------------------------

def sweep_async_runs(session: Session, now: dt.datetime | None = None,
                     remind_before: dt.timedelta = dt.timedelta(hours=24)) -> dict[str, int]:
    """Remind, once per person and phase (a notice key), those who may contribute to an open phase closing
    within ``remind_before`` and have not; mark runs past their last deadline completed (and tell the
    completion rule). Pages never wait for this: they read the state from the deadlines."""
    now = now or utcnow()
    reminded = completed = 0
    runs = list(session.scalars(select(ProtocolRun).where(ProtocolRun.mode == RunMode.async_,
                                                          ProtocolRun.status == RunStatus.running)))
    if not runs:
        return {"reminded": 0, "completed": 0}
    run_ids = [r.id for r in runs]
    phases = {}
    for phase in session.scalars(select(RunPhase).where(RunPhase.run_id.in_(run_ids)).order_by(RunPhase.position)):
        phases.setdefault(phase.run_id, []).append(phase)
    roles = {}
    for role in session.scalars(select(RunRole).where(RunRole.run_id.in_(run_ids))):
        roles.setdefault(role.run_id, []).append(role)
    posted = {tuple(row) for row in session.execute(
        select(Contribution.run_id, Contribution.position, Contribution.membership_id)
        .where(Contribution.run_id.in_(run_ids)))}
    programs = {p.id: p for p in session.scalars(select(Program).where(Program.id.in_({r.program_id for r in runs})))}
    for run in runs:
        state = state_of(run, phases.get(run.id, []), now)
        if state.status == "completed":
            run.status, run.completed_at = RunStatus.completed, run.closes_at
            run.current_position = None
            session.flush()
            events.progress_changed.send(session, program_id=run.program_id,
                                         membership_ids=[r.membership_id for r in roles.get(run.id, [])])
            completed += 1
            continue
        if state.position is None or state.ends_at is None or state.ends_at - now > remind_before:
            continue
        phase = next(p for p in phases[run.id] if p.position == state.position)
        if not phase.kind:
            continue
        due = [r.membership_id for r in roles.get(run.id, []) if r.role in phase.roles
               and (run.id, phase.position, r.membership_id) not in posted]
        if due:
            zone = program_zone(programs[run.program_id])
            closes = phase.closes_at.astimezone(zone)
            notify(session, due, key=f"protocol:{run.id}:{phase.position}:closing", kind="protocol",
                   text=f"“{phase.name}” of {run.title} closes {closes:%a %-d %b, %-I:%M %p} {closes.tzname()}: "
                        "you have not posted yet.",
                   url=f"/c/{programs[run.program_id].course_id}/protocols/runs/{run.id}", now=now)
            reminded += len(due)
    return {"reminded": reminded, "completed": completed}

