"""What the completion pages show, worked out from the records each time, in a fixed number of queries whatever
the number of people or criteria (``bench/completion.py`` counts them): a person's forecast with "what I
still need", a cohort sorted by risk, the rule page with its versions, and the preview of a draft (who would
meet it today, whose state it would change)."""
from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload, selectinload

from lti_tool.completion import rules as r
from lti_tool.completion.models import CompletionRule, RuleVersion
from lti_tool.completion.sources import Facts, Person, seated
from lti_tool.course.access import Access
from lti_tool.errors import NotFound
from lti_tool.lti.models import Membership
from lti_tool.modules.models import Module
from lti_tool.programs.models import Cohort, Program
from lti_tool.programs.queries import get_cohort


def rules_of(session: Session, program: Program) -> dict[int | None, CompletionRule]:
    """cohort id (None: the program's) → rule, with its current version. One query."""
    found = session.scalars(select(CompletionRule).where(CompletionRule.program_id == program.id)
                            .options(joinedload(CompletionRule.current_version)))
    return {rule.cohort_id: rule for rule in found}


def rule_for(rules: dict[int | None, CompletionRule], cohort_id: int) -> CompletionRule | None:
    """The cohort's own rule when it has one in force, else the program's."""
    own = rules.get(cohort_id)
    if own is not None and own.current_version is not None:
        return own
    program_rule = rules.get(None)
    return program_rule if program_rule is not None and program_rule.current_version is not None else None


def module_titles(session: Session, program: Program) -> dict[int, str]:
    return dict(session.execute(select(Module.id, Module.title).where(Module.program_id == program.id)).all())


def _evaluate(facts: Facts, person: Person, tree: dict) -> r.Outcome:
    return r.evaluate(tree, lambda leaf: facts.tally(person, leaf["kind"], leaf.get("module_id")))


def _members(session: Session, people: list[Person]) -> dict[int, Membership]:
    """membership id → membership, with its user (the names pages show). One query."""
    return {m.id: m for m in session.scalars(select(Membership).where(
        Membership.id.in_([p.membership_id for p in people])).options(selectinload(Membership.user)))}


def outcomes(session: Session, program: Program, people: list[Person], tree_of, now: dt.datetime | None = None
             ) -> dict[int, r.Outcome]:
    """membership id → outcome, for everyone in ``people`` whose ``tree_of(person)`` is a tree."""
    facts = Facts(session, program, people, now)
    result = {}
    for person in people:
        tree = tree_of(person)
        if tree is not None:
            result[person.membership_id] = _evaluate(facts, person, tree)
    return result


def current_outcomes(session: Session, program: Program, membership_ids=None, now: dt.datetime | None = None
                     ) -> tuple[list[Person], dict[int | None, CompletionRule], dict[int, r.Outcome]]:
    rules = rules_of(session, program)
    people = seated(session, program, membership_ids)

    def tree_of(person: Person):
        rule = rule_for(rules, person.cohort_id)
        return rule.current_version.tree if rule is not None else None

    return people, rules, outcomes(session, program, people, tree_of, now)


# -- a person's forecast -------------------------------------------------------------------------------------------

@dataclass
class PersonPage:
    person: Membership
    cohort: Cohort | None
    rule: CompletionRule | None
    outcome: r.Outcome | None
    titles: dict[int, str]

    def describe(self, node: dict) -> str:
        return r.describe(node, self.titles)


def person_page(session: Session, access: Access, membership_id: int, now: dt.datetime | None = None) -> PersonPage:
    """One person's forecast: theirs, or (for those who manage a cohort the person sits in) anyone's; for anyone
    else the person does not exist (404)."""
    program = access.program
    person = session.get(Membership, membership_id)
    if person is None or person.course_id != access.course_id:
        raise NotFound("There is no such person here.")
    people, rules, found = current_outcomes(session, program, [membership_id], now)
    cohort_id = people[0].cohort_id if people else None
    access.require_sees_person(membership_id, [cohort_id] if cohort_id else [])
    rule = rule_for(rules, cohort_id) if cohort_id else None
    return PersonPage(person, session.get(Cohort, cohort_id) if cohort_id else None, rule, found.get(membership_id),
                      module_titles(session, program) if rule else {})


# -- a cohort by risk ------------------------------------------------------------------------------------------------

@dataclass
class RiskRow:
    person: Membership
    outcome: r.Outcome


@dataclass
class CohortPage:
    cohort: Cohort
    rule: CompletionRule | None
    rows: list[RiskRow]
    titles: dict[int, str]
    counts: Counter = field(default_factory=Counter)

    def describe(self, node: dict) -> str:
        return r.describe(node, self.titles)


def managed_cohort(session: Session, access: Access, cohort_id: int) -> Cohort:
    """A cohort the viewer manages; for anyone else it does not exist here (404)."""
    cohort = get_cohort(session, access, cohort_id)
    if not access.manages(cohort):
        raise NotFound("There is no such cohort in this course.")
    return cohort


def cohort_page(session: Session, access: Access, cohort: Cohort, now: dt.datetime | None = None) -> CohortPage:
    """Everyone seated in the cohort, most at risk first (then by name). Fixed queries."""
    program = access.program
    rules = rules_of(session, program)
    rule = rule_for(rules, cohort.id)
    people = [p for p in seated(session, program) if p.cohort_id == cohort.id]
    members = _members(session, people)
    found = outcomes(session, program, people, lambda p: rule.current_version.tree) if rule else {}
    rows = [RiskRow(members[mid], outcome) for mid, outcome in found.items()]
    rows.sort(key=lambda row: (r.STATES.index(row.outcome.state), (row.person.user.name or "").lower()))
    return CohortPage(cohort, rule, rows, module_titles(session, program) if rule else {},
                      Counter(row.outcome.state for row in rows))


# -- the rule page and the preview -----------------------------------------------------------------------------------

@dataclass
class Preview:
    """Who would meet a tree today, against the rule in force."""

    counts: Counter
    current_counts: Counter
    changes: list[tuple[Membership, str | None, str]]      # person, state now (None: no rule), state under the draft
    people: int

    @property
    def would_meet(self) -> int:
        return self.counts[r.MET]


@dataclass
class RulePage:
    rule: CompletionRule | None
    cohort: Cohort | None
    cohorts: list[Cohort]
    versions: list[RuleVersion]
    draft: RuleVersion | None
    preview: Preview | None
    titles: dict[int, str]

    def describe(self, node: dict) -> str:
        return r.describe(node, self.titles)


def get_rule(session: Session, access: Access, cohort_id: int | None) -> CompletionRule | None:
    """The program's rule (``cohort_id`` None) or a cohort's (404 for a cohort of another course); None while
    there is none."""
    if cohort_id is not None:
        get_cohort(session, access, cohort_id)
    return session.scalar(select(CompletionRule).where(CompletionRule.program_id == access.program.id,
                                                       CompletionRule.cohort_id.is_(None) if cohort_id is None
                                                       else CompletionRule.cohort_id == cohort_id))


def get_version(session: Session, access: Access, version_id: int) -> RuleVersion:
    version = session.get(RuleVersion, version_id)
    if version is None or version.rule.program_id != access.program.id:
        raise NotFound("There is no such version of the rule.")
    return version


def preview(session: Session, program: Program, cohort_id: int | None, tree: dict,
            now: dt.datetime | None = None) -> Preview:
    """Evaluate ``tree`` for the people it would apply to (the cohort, or every cohort without its own rule)."""
    rules = rules_of(session, program)
    everyone = seated(session, program)
    if cohort_id is None:
        people = [p for p in everyone if not (rules.get(p.cohort_id) and rules[p.cohort_id].current_version)]
    else:
        people = [p for p in everyone if p.cohort_id == cohort_id]
    facts = Facts(session, program, people, now)
    members = _members(session, people)
    counts, current_counts, changes = Counter(), Counter(), []
    for person in people:
        new = _evaluate(facts, person, tree).state
        rule = rule_for(rules, person.cohort_id)
        old = _evaluate(facts, person, rule.current_version.tree).state if rule is not None else None
        counts[new] += 1
        if old is not None:
            current_counts[old] += 1
        if old != new:
            changes.append((members[person.membership_id], old, new))
    changes.sort(key=lambda c: (r.STATES.index(c[2]), (c[0].user.name or "").lower()))
    return Preview(counts, current_counts, changes, len(people))


def rule_page(session: Session, access: Access, cohort_id: int | None, now: dt.datetime | None = None) -> RulePage:
    program = access.program
    rule = get_rule(session, access, cohort_id)
    versions = list(session.scalars(select(RuleVersion).where(RuleVersion.rule_id == rule.id)
                                    .options(joinedload(RuleVersion.created_by).joinedload(Membership.user))
                                    .order_by(RuleVersion.number.desc()))) if rule else []
    draft = next((v for v in versions if v.applied_at is None and v.discarded_at is None), None)
    cohorts = list(session.scalars(select(Cohort).where(Cohort.program_id == program.id).order_by(Cohort.name)))
    return RulePage(rule, next((c for c in cohorts if c.id == cohort_id), None), cohorts, versions, draft,
                    preview(session, program, cohort_id, draft.tree, now) if draft else None,
                    module_titles(session, program))
