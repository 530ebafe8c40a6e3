"""Recompute by event: a mark, a make-up, a module item, a post or a PD-hours line changes what counts, and
after the commit the rule is worked out again for that person; a change of state is recorded, told once (one
notice, one ``completion_changed``, the certificate job), scored in the gradebook outbox when the rule is graded;
the same state found again tells nobody. Drafts change nothing until applied; versions are kept."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import event, func, select

from lti_tool.certificates.models import Certificate
from lti_tool.completion import queries, writes
from lti_tool.completion.models import CompletionState, RuleVersion
from lti_tool.course import events
from lti_tool.course.notices import Notice
from lti_tool.db import db
from lti_tool.errors import Forbidden, InvalidInput, NotFound
from lti_tool.grades.models import GradedComponent, ScoreDelivery
from lti_tool.modules.models import ItemKind, Module, ModuleCohort, ModuleItem
from tests.completion.conftest import apply_rule, mark
from tests.factories import CohortMemberFactory

SIX = {"op": "all", "children": [{"kind": "sessions", "n": 6}]}
TWO = {"op": "all", "children": [{"kind": "sessions", "n": 2}]}


def state_of(session, w, who):
    session.expire_all()
    return session.scalar(select(CompletionState.state).where(CompletionState.membership_id == w.people[who].id))


def notices_of(session, w, who, kind="completion"):
    return list(session.scalars(select(Notice.text).where(Notice.recipient_id == w.people[who].id,
                                                          Notice.kind == kind).order_by(Notice.id)))


def test_a_draft_changes_nothing_until_it_is_applied_and_every_version_is_kept(session, world):
    lead = world.access("Lena")
    draft = writes.save_draft(session, lead, None, SIX, "First try")
    session.commit()
    assert session.scalar(select(func.count()).select_from(CompletionState)) == 0
    page = queries.rule_page(session, world.access("Lena"), None)
    assert page.draft.id == draft.id and page.preview.people == 3
    assert page.preview.counts == {"on_track": 2, "cannot_meet": 1}     # Math has no sessions at all
    writes.apply_draft(session, world.access("Lena"), draft.id)
    session.commit()
    assert {state_of(session, world, n) for n in ("Pat", "Quinn")} == {"on_track"}
    assert state_of(session, world, "Sam") == "cannot_meet"     # Math has no sessions at all
    second = writes.save_draft(session, world.access("Lena"), None, TWO)
    session.commit()
    page = queries.rule_page(session, world.access("Lena"), None)
    assert page.rule.current_version_id == draft.id and page.draft.id == second.id
    with pytest.raises(InvalidInput, match="not a draft any more"):
        writes.apply_draft(session, world.access("Lena"), draft.id)
    writes.discard_draft(session, world.access("Lena"), second.id)
    restored = writes.restore_version(session, world.access("Lena"), second.id)
    session.commit()
    assert [v.number for v in session.scalars(select(RuleVersion).order_by(RuleVersion.number))] == [1, 2, 3]
    assert restored.tree["children"][0]["n"] == 2 and restored.note == "Restored from version 2."


def test_only_leads_change_the_rule_and_another_programs_version_does_not_exist(session, world):
    with pytest.raises(Forbidden):
        writes.save_draft(session, world.access("Fay"), None, SIX)
    with pytest.raises(Forbidden):
        writes.save_draft(session, world.access("Pat"), None, SIX)
    version = writes.save_draft(session, world.access("Lena"), None, SIX)
    from tests.factories import make_world
    from lti_tool.lti.models import CourseRole

    other = make_world(session, "course-b")
    other_lead = other.person("Olga", CourseRole.facilitator)
    session.flush()
    with pytest.raises(NotFound):
        writes.apply_draft(session, other.access("Olga"), version.id)
    assert other_lead.id


def test_a_mark_recomputes_after_the_commit_and_a_change_of_state_is_told_once(session, world):
    apply_rule(session, world, TWO)
    mark(session, world, 0, "Pat", "A")
    assert state_of(session, world, "Pat") == "on_track"       # not before the commit…
    session.commit()
    assert state_of(session, world, "Pat") == "on_track"       # 0 of 2, 7 left: still on track
    mark(session, world, 1, "Pat", "P")
    session.commit()
    mark(session, world, 2, "Pat", "P")
    session.commit()
    assert state_of(session, world, "Pat") == "met"
    assert notices_of(session, world, "Pat") == ["You have met the completion rule of the program."]
    # The same state found again (another mark, a recompute of everyone) tells nobody again.
    mark(session, world, 3, "Pat", "P")
    session.commit()
    writes.recompute(session, world.program)
    session.commit()
    assert notices_of(session, world, "Pat") == ["You have met the completion rule of the program."]


def test_at_risk_is_told_to_the_person_and_their_facilitator(session, world):
    apply_rule(session, world, {"op": "all", "children": [{"kind": "sessions", "n": 7}]})
    mark(session, world, 0, "Quinn", "A")
    session.commit()
    assert state_of(session, world, "Quinn") == "at_risk"
    assert notices_of(session, world, "Quinn") == [
        "You are at risk of not completing the program: see what you still need."]
    assert notices_of(session, world, "Fay") == ["Quinn is now “at risk” against the completion rule."]
    assert notices_of(session, world, "Pat") == []


def test_meeting_the_rule_issues_the_certificate_through_the_event(session, world):
    from tests.hours.conftest import profile

    profile(session, world)
    apply_rule(session, world, TWO)
    mark(session, world, 0, "Pat", "P")
    session.commit()
    assert session.scalar(select(func.count()).select_from(Certificate)) == 0
    mark(session, world, 1, "Pat", "P")
    session.commit()
    session.expire_all()
    issued = session.scalars(select(Certificate)).all()
    assert [c.membership_id for c in issued] == [world.people["Pat"].id]
    mark(session, world, 2, "Pat", "P")
    session.commit()
    assert session.scalar(select(func.count()).select_from(Certificate)) == 1


def test_module_items_posts_and_hours_lines_send_the_event(session, world):
    received = []

    def listener(sender, **kw):
        received.append((kw["program_id"], list(kw["membership_ids"])))

    events.progress_changed.connect(listener)
    try:
        module = Module(program_id=world.program.id, title="M", released=True)
        session.add(module)
        session.flush()
        session.add(ModuleCohort(module_id=module.id, cohort_id=world.cohorts["Literacy"].id))
        item = ModuleItem(module_id=module.id, kind=ItemKind.page, title="Page")
        session.add(item)
        session.flush()
        from lti_tool.modules.completion import complete_item

        complete_item(session, item, world.people["Pat"], "viewed")
        mark(session, world, 0, "Quinn", "P")
    finally:
        events.progress_changed.disconnect(listener)
    assert (world.program.id, [world.people["Pat"].id]) in received
    assert (world.program.id, [world.people["Quinn"].id]) in received


def test_a_graded_rule_puts_each_change_in_the_outbox(session, world):
    apply_rule(session, world, {"op": "all", "children": [{"kind": "sessions", "n": 2}, {"kind": "points", "n": 1}]})
    writes.set_grading(session, world.access("Lena"), None, graded=True, graded_criteria=True)
    session.commit()
    keys = set(session.scalars(select(GradedComponent.key)))
    assert {f"completion:{world.program.id}", f"completion:{world.program.id}:c1",
            f"completion:{world.program.id}:c2"} <= keys
    mark(session, world, 0, "Pat", "P")
    session.commit()
    whole = session.scalar(select(GradedComponent).where(GradedComponent.key == f"completion:{world.program.id}"))
    latest = session.scalar(select(ScoreDelivery).where(ScoreDelivery.component_id == whole.id,
                                                        ScoreDelivery.membership_id == world.people["Pat"].id)
                            .order_by(ScoreDelivery.id.desc()))
    assert latest.score_given == 75.0 and latest.grading_progress == "Pending"   # c1 half done, c2 met
    assert latest.comment.startswith("On track: 1 of 2 requirements met.")
    mark(session, world, 1, "Pat", "P")
    session.commit()
    session.expire_all()
    latest = session.scalar(select(ScoreDelivery).where(ScoreDelivery.component_id == whole.id,
                                                        ScoreDelivery.membership_id == world.people["Pat"].id)
                            .order_by(ScoreDelivery.id.desc()))
    assert latest.score_given == 100.0 and latest.grading_progress == "FullyGraded"


def test_a_cohort_rule_replaces_the_programs_for_that_cohort(session, world):
    apply_rule(session, world, SIX)
    apply_rule(session, world, {"op": "all", "children": [{"kind": "posts", "n": 1}]},
               cohort_id=world.cohorts["Math"].id)
    rules = queries.rules_of(session, world.program)
    assert queries.rule_for(rules, world.cohorts["Math"].id).cohort_id == world.cohorts["Math"].id
    assert queries.rule_for(rules, world.cohorts["Literacy"].id).cohort_id is None


def _statements(fn) -> int:
    counted = []
    listener = lambda *a: counted.append(1)  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        fn()
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    return len(counted)


def test_recompute_and_the_cohort_page_cost_the_same_queries_for_more_people_and_criteria(session, world):
    tree = {"op": "all", "children": [{"kind": "sessions", "n": 2}, {"kind": "points", "n": 1},
                                      {"kind": "posts", "n": 1}]}
    apply_rule(session, world, tree)
    mark(session, world, 0, "Pat", "P")
    session.commit()
    session.expire_all()
    few = _statements(lambda: writes.recompute(session, world.program))
    page_few = _statements(lambda: queries.cohort_page(session, world.access("Fay"), world.cohorts["Literacy"]))
    session.rollback()
    for i in range(6):
        person = world.person(f"Extra {i}")
        CohortMemberFactory(cohort=world.cohorts["Literacy"], membership=person)
        session.flush()
        for j in range(3):
            mark(session, world, j, f"Extra {i}", "P" if j else "A")
    tree["children"] += [{"kind": "sessions", "n": 1 + i % 7} for i in range(20)]
    apply_rule(session, world, tree)
    session.expire_all()
    # Everyone's state is stored now: a recompute that finds nothing new writes nothing.
    assert _statements(lambda: writes.recompute(session, world.program)) == few
    assert _statements(lambda: queries.cohort_page(session, world.access("Fay"), world.cohorts["Literacy"])) == page_few


def test_library_contributions_and_the_final_product_count_through_the_rule(session, world):
    from lti_tool.library import writes as library
    from tests.library.conftest import resource

    apply_rule(session, world, {"op": "all", "children": [{"kind": "contributions", "n": 1},
                                                          {"kind": "final_product", "n": 1}]})
    assert state_of(session, world, "Pat") == "on_track"
    r = resource(session, world, who="Pat", approve=True)
    session.commit()
    outcome = queries.person_page(session, world.access("Pat"), world.people["Pat"].id).outcome
    assert [c.state for c in outcome.children] == ["met", "on_track"]
    assert outcome.children[1].sentence == "0 of 1 resources in the final product so far; 1 more needed."
    library.save_product(session, world.access("Fay"), world.cohorts["Literacy"], title="Our toolkit",
                         introduction="What we made", resource_ids=[r.id])
    session.commit()
    assert state_of(session, world, "Pat") == "met"           # the product's save told the rule, after the commit
    assert state_of(session, world, "Quinn") == "on_track"


def test_the_library_and_the_protocol_runner_add_their_kinds(app):
    from lti_tool.completion.sources import KINDS

    assert {"contributions", "final_product", "protocol_runs"} <= set(KINDS)
    assert KINDS["protocol_runs"].need.format(n=2, units="protocol runs") == "Take part in 2 more protocol runs"


def test_a_session_added_to_the_calendar_recomputes_everyone(session, world):
    from lti_tool.calendar import writes as calendar
    from lti_tool.calendar.models import MeetingKind
    from lti_tool.calendar.writes import SessionDetails

    # Math has no sessions: Sam can no longer meet "1 session"; a session scheduled for Math changes that.
    apply_rule(session, world, {"op": "all", "children": [{"kind": "sessions", "n": 1}]})
    assert state_of(session, world, "Sam") == "cannot_meet"
    calendar.create_meeting(session, world.access("Lena"), world.cohorts["Math"],
                            SessionDetails(kind=MeetingKind.virtual, title="Math kick-off"),
                            dt.date(2030, 11, 1), dt.time(15), dt.time(16, 30))
    session.commit()
    assert state_of(session, world, "Sam") == "on_track"


def test_a_criterion_column_over_one_module_is_named_after_the_module(session, world):
    module = Module(program_id=world.program.id, title="Coaching moves", released=True)
    session.add(module)
    session.flush()
    session.add(ModuleCohort(module_id=module.id, cohort_id=world.cohorts["Literacy"].id))
    session.add(ModuleItem(module_id=module.id, kind=ItemKind.page, title="Page"))
    session.flush()
    apply_rule(session, world, {"op": "all", "children": [{"kind": "items", "n": 1, "module_id": module.id}]})
    writes.set_grading(session, world.access("Lena"), None, graded=True, graded_criteria=True)
    session.commit()
    label = session.scalar(select(GradedComponent.label).where(
        GradedComponent.key == f"completion:{world.program.id}:c1"))
    assert label == "Completion: At least 1 module item completed in “Coaching moves”"


def test_one_recompute_per_transaction_for_everyone_it_touched_and_none_after_a_rollback(session, world, monkeypatch):
    from lti_tool.jobs import pending_after_commit

    apply_rule(session, world, TWO)
    calls = []
    real = writes.recompute
    monkeypatch.setattr(writes, "recompute", lambda s, p, ids=None, **kw: calls.append(ids) or real(s, p, ids, **kw))
    mark(session, world, 0, "Pat", "A")
    session.rollback()                         # what it gathered goes with it
    assert pending_after_commit(session, f"completion:{world.program.id}") is None
    mark(session, world, 1, "Quinn", "P")
    mark(session, world, 2, "Quinn", "P")
    session.commit()
    assert calls == [[world.people["Quinn"].id]]              # once, and not Pat's rolled-back mark
    mark(session, world, 3, "Quinn", "P")
    mark(session, world, 3, "Pat", "P")
    session.commit()
    assert calls[1] == sorted([world.people["Pat"].id, world.people["Quinn"].id])
