"""What the PD-hours pages show, in a fixed number of queries whatever the number of people or records: a
person's ledger, a program's (or a facilitator's cohorts') ledger per person, the profile, and the scoped
loaders (404 for anyone outside the viewer's reach). Nothing here writes: a program whose profile was never
saved reads the defaults."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from lti_tool.course.access import Access
from lti_tool.errors import NotFound
from lti_tool.hours.ledger import Ledger, build_ledger
from lti_tool.hours.models import Category, HoursProfile, ManualLine, Rounding, Unit
from lti_tool.hours.permissions import require_ledger_viewer, require_profile_lead
from lti_tool.hours.sources import lines_for
from lti_tool.lti.models import CourseRole, Membership, User
from lti_tool.programs.models import Cohort, CohortMember, Program, SeatStatus

DEFAULT_PROFILE = {"unit": Unit.clock_hour, "rounding": Rounding.down_quarter, "caps": {}, "reading_minutes": 60,
                   "excused_percent": 0, "required_units": None, "provider": "", "location": "Virtual",
                   "signer_name": "", "signer_title": "", "certificates_enabled": False, "open_badges": False}


def _program(access: Access) -> Program:
    if access.program is None:
        raise NotFound("This course has no Communities of Practice program yet.")
    return access.program


def profile_of(session: Session, program: Program) -> HoursProfile:
    """The program's profile; the defaults, not saved, while a lead has never saved one."""
    profile = session.scalar(select(HoursProfile).where(HoursProfile.program_id == program.id))
    return profile if profile is not None else HoursProfile(program_id=program.id, **DEFAULT_PROFILE)


def seats_of(session: Session, program: Program, membership_ids: list[int]) -> dict[int, list[Cohort]]:
    """Active seats in the program's cohorts: membership id → cohorts (one query)."""
    out: dict[int, list[Cohort]] = {mid: [] for mid in membership_ids}
    if not membership_ids:
        return out
    for seat, cohort in session.execute(select(CohortMember, Cohort).join(Cohort, Cohort.id == CohortMember.cohort_id)
                                        .where(Cohort.program_id == program.id,
                                               CohortMember.membership_id.in_(membership_ids),
                                               CohortMember.status == SeatStatus.active).order_by(Cohort.name)):
        out[seat.membership_id].append(cohort)
    return out


def get_person(session: Session, access: Access, membership_id: int) -> tuple[Membership, list[Cohort]]:
    """A course member whose ledger ``access`` may see, with their cohorts (404 otherwise, whoever they are)."""
    program = _program(access)
    person = session.scalar(select(Membership).options(joinedload(Membership.user))
                            .where(Membership.id == membership_id, Membership.course_id == program.course_id))
    if person is None:
        raise NotFound("There is no such person's record here.")
    cohorts = seats_of(session, program, [person.id])[person.id]
    require_ledger_viewer(access, person.id, [c.id for c in cohorts])
    return person, cohorts


def ledgers_for(session: Session, program: Program, membership_ids: list[int],
                profile: HoursProfile | None = None) -> dict[int, Ledger]:
    """Everyone's ledger at once (for pages, exports and the certificate job)."""
    profile = profile or profile_of(session, program)
    return {mid: build_ledger(lines, profile) for mid, lines in lines_for(session, program, membership_ids,
                                                                             profile).items()}


@dataclass
class PersonLedger:
    person: Membership
    cohorts: list[Cohort]
    ledger: Ledger
    profile: HoursProfile
    manual: list[ManualLine]          # every manual line, removed ones too (for leads: the audit)


def person_ledger(session: Session, access: Access, membership_id: int) -> PersonLedger:
    """One person's ledger: their own, or for those who may see it (see ``permissions``)."""
    person, cohorts = get_person(session, access, membership_id)
    program = _program(access)
    profile = profile_of(session, program)
    ledger = ledgers_for(session, program, [person.id], profile)[person.id]
    manual = list(session.scalars(select(ManualLine).options(joinedload(ManualLine.entered_by).joinedload(Membership.user))
                                  .where(ManualLine.program_id == program.id, ManualLine.membership_id == person.id)
                                  .order_by(ManualLine.on_date, ManualLine.id))) if access.lead else []
    return PersonLedger(person, cohorts, ledger, profile, manual)


@dataclass
class ProgramRow:
    person: Membership
    cohorts: list[Cohort]
    ledger: Ledger


@dataclass
class ProgramLedger:
    rows: list[ProgramRow]
    profile: HoursProfile
    categories: list            # the categories any row has, in order


def program_ledger(session: Session, access: Access) -> ProgramLedger:
    """Every participant of the cohorts ``access`` manages (a lead: all), with their totals by category."""
    program = _program(access)
    if not access.managed:
        raise NotFound("There is nothing to show here.")
    seats = list(session.execute(
        select(CohortMember.membership_id, Cohort).join(Cohort, Cohort.id == CohortMember.cohort_id)
        .where(Cohort.id.in_(sorted(access.managed)), CohortMember.status == SeatStatus.active)))
    ids = sorted({mid for mid, _ in seats})
    people = {m.id: m for m in session.scalars(select(Membership).join(User).options(joinedload(Membership.user))
                                                .where(Membership.id.in_(ids or [-1]), Membership.active.is_(True),
                                                       Membership.role == CourseRole.participant))}
    by_person: dict[int, list[Cohort]] = {}
    for mid, cohort in seats:
        by_person.setdefault(mid, []).append(cohort)
    profile = profile_of(session, program)
    ledgers = ledgers_for(session, program, list(people), profile)
    rows = sorted((ProgramRow(people[mid], sorted(by_person[mid], key=lambda c: c.name), ledgers[mid])
                   for mid in people), key=lambda r: (r.person.user.display_name.lower(), r.person.id))
    seen = {c.category for r in rows for c in r.ledger.categories}
    return ProgramLedger(rows, profile, [c for c in Category if c in seen])


def settings_profile(session: Session, access: Access) -> HoursProfile:
    require_profile_lead(access)
    return profile_of(session, _program(access))


def get_manual_line(session: Session, access: Access, line_id: int) -> ManualLine:
    line = session.scalar(select(ManualLine).where(ManualLine.id == line_id,
                                                   ManualLine.program_id == _program(access).id))
    if line is None:
        raise NotFound("There is no such line in this program.")
    return line
