"""Changes to completion: a lead's draft of the rule, applying or discarding it, the gradebook settings, and
the recompute that follows any change of what counts.

**Recompute, by event.** Features that change what counts send ``course.events.progress_changed``
(attendance marks and make-ups, module items, book-study posts, PD-hours lines, library contributions,
protocol runs); ``on_progress_changed`` gathers the people of each program during the transaction and,
after the commit, a job recomputes them (``recompute_task``; immediate in tests, seconds under the worker).
Applying a rule recomputes everyone it applies to.

**One notice per change of state.** ``recompute`` compares the outcome with the person's stored state; only
a different state is written, sent as ``completion_changed`` (certificates listen to it), told to the person
(and, for "at risk" and "can no longer meet", to the cohort's facilitators) as one notice, and scored in the
gradebook outbox when the rule is graded. The same state found again changes nothing and tells nobody.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session, joinedload

from lti_tool.completion import rules as r
from lti_tool.completion.models import CompletionRule, CompletionState, RuleVersion
from lti_tool.completion.permissions import require_rule_lead
from lti_tool.completion.queries import current_outcomes, get_rule, get_version, module_titles, rule_for
from lti_tool.completion.sources import Facts, Person
from lti_tool.course import events, notices
from lti_tool.course.access import Access
from lti_tool.db import db, utcnow
from lti_tool.errors import InvalidInput
from lti_tool.grades.models import ComponentKind
from lti_tool.grades.writes import ensure_component, record_score
from lti_tool.jobs import after_commit, pending_after_commit, task
from lti_tool.lti.models import Membership
from lti_tool.programs.models import Cohort, CohortFacilitator, Program

NOTICE_TEXT = {
    r.MET: "You have met the completion rule of the program.",
    r.ON_TRACK: "You are on track to complete the program.",
    r.AT_RISK: "You are at risk of not completing the program: see what you still need.",
    r.CANNOT_MEET: "You can no longer meet the completion rule as things are scheduled: talk to your facilitator.",
}


# -- the rule -------------------------------------------------------------------------------------------------

def _most_possible(facts: Facts) -> dict[str, float]:
    """The most anyone could reach of each kind (and module) with what is scheduled for ``facts.people`` (one
    record-less person per cohort the rule covers): a criterion above it could never be met."""
    most: dict[str, float] = {}
    keys = [("sessions", None), ("points", None), ("modules", None), ("readings", None), ("items", None)]
    keys += [("items", m) for m in sorted(facts.module_ids())]
    for kind, module_id in keys:
        best = 0.0
        for person in facts.people:
            t = facts.tally(person, kind, module_id)
            best = max(best, t.done + (t.left or 0))
        most[f"{kind}:{module_id or ''}"] = best
    return most


def _scheduled(session: Session, program: Program, cohort_id: int | None) -> Facts:
    """What is scheduled for the cohorts a rule covers (the cohort, or all of the program's)."""
    cohorts = [cohort_id] if cohort_id is not None else list(session.scalars(
        select(Cohort.id).where(Cohort.program_id == program.id)))
    return Facts(session, program, [Person(0, c) for c in cohorts])


def most_possible(session: Session, program: Program, cohort_id: int | None) -> dict[str, float]:
    """``_most_possible`` for a rule of ``cohort_id`` (None: the program's); empty when there is no cohort."""
    facts = _scheduled(session, program, cohort_id)
    return _most_possible(facts) if facts.people else {}


def check(session: Session, program: Program, cohort_id: int | None, tree) -> dict:
    """``rules.check_tree`` against the program's modules and what is scheduled (the modules are read once)."""
    facts = _scheduled(session, program, cohort_id)
    return r.check_tree(tree, module_ids=facts.module_ids(),
                        most_possible=_most_possible(facts) if facts.people else {})


def _rule(session: Session, access: Access, cohort_id: int | None) -> CompletionRule:
    rule = get_rule(session, access, cohort_id)
    if rule is None:
        rule = CompletionRule(program_id=access.program.id, cohort_id=cohort_id)
        session.add(rule)
        session.flush()
    return rule


def save_draft(session: Session, access: Access, cohort_id: int | None, tree, note: str = "") -> RuleVersion:
    """Save the lead's edit as the rule's draft (replacing an earlier draft): checked first, nothing applies
    until ``apply_draft``."""
    require_rule_lead(access)
    clean = check(session, access.program, cohort_id, tree)
    rule = _rule(session, access, cohort_id)
    for old in session.scalars(select(RuleVersion).where(RuleVersion.rule_id == rule.id,
                                                         RuleVersion.applied_at.is_(None),
                                                         RuleVersion.discarded_at.is_(None))):
        old.discarded_at = utcnow()
    number = (session.scalar(select(func.max(RuleVersion.number)).where(RuleVersion.rule_id == rule.id)) or 0) + 1
    version = RuleVersion(rule_id=rule.id, number=number, tree=clean, note=(note or "").strip()[:2000],
                          created_by_id=access.id)
    session.add(version)
    session.flush()
    return version


def apply_draft(session: Session, access: Access, version_id: int) -> RuleVersion:
    """The draft becomes the rule in force (checked again: a module may have been deleted since), and everyone
    it applies to is recomputed after the commit."""
    require_rule_lead(access)
    version = get_version(session, access, version_id)
    if version.applied_at is not None or version.discarded_at is not None:
        raise InvalidInput("This version is not a draft any more: it was applied or discarded already.")
    rule = version.rule
    version.tree = check(session, access.program, rule.cohort_id, version.tree)
    version.applied_at, version.applied_by_id = utcnow(), access.id
    rule.current_version = version
    session.flush()
    recompute_after_commit(session, access.program.id, None)
    return version


def discard_draft(session: Session, access: Access, version_id: int) -> None:
    require_rule_lead(access)
    version = get_version(session, access, version_id)
    if version.applied_at is None and version.discarded_at is None:
        version.discarded_at = utcnow()
        session.flush()


def restore_version(session: Session, access: Access, version_id: int) -> RuleVersion:
    """An earlier version again, as a new draft (to preview before it applies)."""
    version = get_version(session, access, version_id)
    return save_draft(session, access, version.rule.cohort_id, version.tree, f"Restored from version {version.number}.")


def set_grading(session: Session, access: Access, cohort_id: int | None, *, graded: bool,
                graded_criteria: bool) -> CompletionRule:
    require_rule_lead(access)
    rule = _rule(session, access, cohort_id)
    rule.graded, rule.graded_criteria = graded, graded and graded_criteria
    session.flush()
    recompute_after_commit(session, access.program.id, None, regrade=True)
    return rule


# -- recompute ------------------------------------------------------------------------------------------------

def _grade_key(rule: CompletionRule, criterion: str | None = None) -> str:
    base = f"completion:{rule.program_id}" + (f":{rule.cohort_id}" if rule.cohort_id else "")
    return base + (f":{criterion}" if criterion else "")


def _components(session: Session, program: Program, rule: CompletionRule, titles: dict[int, str]):
    """The rule's gradebook column, and one per top-level criterion when asked for (criterion id → column)."""
    label = "Completion" + (f" ({rule.cohort.name})" if rule.cohort else "")
    whole = ensure_component(session, program.course, _grade_key(rule), ComponentKind.completion, label, 100)
    children = rule.current_version.tree["children"] if rule.graded_criteria else []
    return whole, {child["id"]: ensure_component(session, program.course, _grade_key(rule, child["id"]),
                                                 ComponentKind.completion,
                                                 f"{label}: {r.describe(child, titles)}"[:255], 100)
                   for child in children}


def _score(session: Session, columns, membership: Membership, outcome: r.Outcome) -> None:
    """The person's scores in the rule's columns: 100 when met, else the share done, final once met or out of
    reach."""
    whole, by_criterion = columns
    record_score(session, whole, membership, 100.0 if outcome.state == r.MET else round(100 * outcome.fraction, 1),
                 comment=f"{outcome.label}: {outcome.sentence}",
                 grading_progress="FullyGraded" if outcome.state in (r.MET, r.CANNOT_MEET) else "Pending")
    for child in outcome.children:
        if child.id in by_criterion:
            record_score(session, by_criterion[child.id], membership, round(100 * child.fraction, 1),
                         comment=f"{child.label}: {child.sentence}",
                         grading_progress="FullyGraded" if child.state in (r.MET, r.CANNOT_MEET) else "Pending")


def recompute(session: Session, program: Program, membership_ids=None, *, regrade: bool = False,
              now: dt.datetime | None = None) -> list[tuple[int, str | None, str]]:
    """Recompute the people (everyone: None) and record what changed; returns (membership id, old, new) for
    each change of state. A fixed number of queries, plus the gradebook's when the rule is graded."""
    now = now or utcnow()
    people, rules, found = current_outcomes(session, program, membership_ids, now)
    cohort_of = {p.membership_id: p.cohort_id for p in people}
    stored = {s.membership_id: s for s in session.scalars(select(CompletionState).where(
        CompletionState.program_id == program.id,
        *([CompletionState.membership_id.in_(list(found))] if membership_ids is not None else [])))}
    changes, rescored, new_rows = [], [], []
    for membership_id, outcome in found.items():
        rule = rule_for(rules, cohort_of[membership_id])
        criteria = {c.id: c.state for c in outcome.children}
        state = stored.get(membership_id)
        old = state.state if state is not None else None
        same = state is not None and old == outcome.state and state.criteria == criteria \
            and state.version_id == rule.current_version_id
        if rule.graded and (regrade or not same):
            rescored.append((rule, membership_id, outcome))
        if same:
            continue
        if old != outcome.state:
            changes.append((membership_id, old, outcome.state))
        if state is None:
            new_rows.append(dict(program_id=program.id, membership_id=membership_id, state=outcome.state,
                                 version_id=rule.current_version_id, criteria=criteria, changed_at=now,
                                 met_at=now if outcome.state == r.MET else None))
            continue
        state.version_id, state.criteria = rule.current_version_id, criteria
        if old != outcome.state:
            state.state, state.changed_at = outcome.state, now
            if outcome.state == r.MET and state.met_at is None:
                state.met_at = now
    if new_rows:
        # One executemany for everyone seen the first time (a rule just applied to 200 people). A recompute
        # racing this one for the same person fails here and is retried by its job.
        session.execute(insert(CompletionState), new_rows)
    session.flush()
    if rescored:
        members = {m.id: m for m in session.scalars(select(Membership).where(
            Membership.id.in_([mid for _, mid, _ in rescored])))}
        titles = module_titles(session, program)
        columns = {}          # rule id → its columns, made or brought in step once per recompute
        for rule, membership_id, outcome in rescored:
            if rule.id not in columns:
                columns[rule.id] = _components(session, program, rule, titles)
            _score(session, columns[rule.id], members[membership_id], outcome)
    if changes:
        _tell(session, program, changes, cohort_of, now)
    return changes


def _tell(session: Session, program: Program, changes, cohort_of: dict[int, int], now: dt.datetime) -> None:
    facilitators: dict[int, list[int]] = {}
    for cohort_id, membership_id in session.execute(select(CohortFacilitator.cohort_id,
                                                           CohortFacilitator.membership_id)
                                                    .join(Cohort).where(Cohort.program_id == program.id)):
        facilitators.setdefault(cohort_id, []).append(membership_id)
    names = {m.id: m.user.display_name for m in session.scalars(
        select(Membership).where(Membership.id.in_([c[0] for c in changes])).options(joinedload(Membership.user)))}
    course_id = program.course_id
    stamp = now.strftime("%Y%m%dT%H%M%S%f")
    told = []
    for membership_id, old, new in changes:
        events.completion_changed.send(session, program_id=program.id, membership_id=membership_id, old=old, new=new)
        if old is None and new == r.ON_TRACK:
            continue          # the first recompute finds most people on track: nothing to tell
        told.append((membership_id, f"completion:{program.id}:{new}:{stamp}", NOTICE_TEXT[new],
                     f"/c/{course_id}/completion/"))
        if new in (r.AT_RISK, r.CANNOT_MEET):
            who = names.get(membership_id) or "A participant"
            told += [(facilitator, f"completion:{program.id}:{membership_id}:{new}:{stamp}",
                      f"{who} is now “{r.STATE_LABELS[new].lower()}” against the completion rule.",
                      f"/c/{course_id}/completion/people/{membership_id}")
                     for facilitator in facilitators.get(cohort_of[membership_id], [])]
    notices.notify_each(session, told, kind="completion", now=now)


@dataclass
class _Recompute:
    """The people of one program to recompute once the transaction commits (``everyone``: all of them)."""

    program_id: int
    ids: set[int] = field(default_factory=set)
    everyone: bool = False
    regrade: bool = False

    def __call__(self) -> None:
        recompute_task(self.program_id, None if self.everyone else sorted(self.ids), self.regrade)


def recompute_after_commit(session: Session, program_id: int, membership_ids, *, regrade: bool = False) -> None:
    """Gather who to recompute during the transaction (None: everyone); one job per program after the commit
    (``jobs.after_commit``: dropped with a rollback, with what was gathered)."""
    key = f"completion:{program_id}"
    pending = pending_after_commit(session, key)
    if not isinstance(pending, _Recompute):
        pending = _Recompute(program_id)
        after_commit(session, key, pending)
    if membership_ids is None:
        pending.everyone = True
    else:
        pending.ids.update(membership_ids)
    pending.regrade = pending.regrade or regrade


def on_progress_changed(session: Session, *, program_id: int, membership_ids, **_ignored) -> None:
    """The receiver of ``progress_changed`` (connected in create_app); ``membership_ids`` None: everyone."""
    recompute_after_commit(session, program_id, None if membership_ids is None else list(membership_ids))


@task(retries=3, retry_delay=30)
def recompute_task(program_id: int, membership_ids: list[int] | None, regrade: bool = False) -> int:
    session = db.session
    program = session.get(Program, program_id)
    if program is None:
        return 0
    changes = recompute(session, program, membership_ids, regrade=regrade)
    session.commit()
    return len(changes)
