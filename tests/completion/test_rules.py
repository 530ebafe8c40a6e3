"""The rule's checks and its forecast, criterion by criterion: numbers in one sentence, the states over what is
scheduled, make-ups, groups. Through the services, on the test database."""
from __future__ import annotations

import datetime as dt

import pytest

from lti_tool.attendance import writes as attendance
from lti_tool.completion import queries, rules, writes
from lti_tool.completion.rules import AT_RISK, CANNOT_MEET, MET, ON_TRACK
from lti_tool.errors import InvalidInput
from lti_tool.modules.models import Module, ModuleCohort, ModuleItem, ItemKind
from tests.completion.conftest import mark

SIX = {"op": "all", "children": [{"kind": "sessions", "n": 6}]}


def forecast(session, w, who="Pat", tree=SIX):
    people = [p for p in queries.seated(session, w.program) if p.membership_id == w.people[who].id]
    return queries.outcomes(session, w.program, people, lambda p: tree)[w.people[who].id]


def test_five_of_six_attended_with_two_left_says_you_can_miss_one_more(session, world):
    for i in range(5):
        mark(session, world, i, "Pat", "P")
    mark(session, world, 5, "Pat", "A")
    outcome = forecast(session, world)
    leaf = outcome.children[0]
    assert leaf.sentence == "5 of 6 sessions attended so far; 2 left; you can miss 1 more."
    assert leaf.state == AT_RISK          # one absence already, and one more leaves no margin
    assert outcome.state == AT_RISK
    assert outcome.needs[0].startswith("Attend 1 more session (next: Session 7")


def test_nothing_missed_yet_is_on_track_and_enough_attended_is_met(session, world):
    assert forecast(session, world).state == ON_TRACK
    assert forecast(session, world).children[0].sentence == "0 of 6 sessions attended so far; 8 left; you can miss 2 more."
    for i in range(6):
        mark(session, world, i, "Pat", "L" if i == 0 else "P")
    outcome = forecast(session, world)
    assert outcome.state == MET and outcome.children[0].sentence == "6 of 6 sessions attended: met."
    assert outcome.needs == []


def test_too_many_absences_cannot_meet_unless_a_make_up_can_still_count(session, world):
    for i in range(3):
        mark(session, world, i, "Pat", "A")
    outcome = forecast(session, world)
    # 0 attended, 5 left, 3 missed: only make-ups can still reach 6.
    assert outcome.state == AT_RISK
    assert "only with make-ups" in outcome.children[0].sentence
    assert "3 missed sessions can still be made up" in outcome.makeup_note
    # A make-up through the attendance workflow counts as attended.
    record = mark(session, world, 0, "Pat", "A")
    makeup = attendance.assign_makeup(session, world.access("Fay"), record.id, "Watch the recording")
    attendance.submit_makeup(session, world.access("Pat"), makeup, "Notes on the recording")
    attendance.review_makeup(session, world.access("Fay"), makeup, approve=True)
    leaf = forecast(session, world).children[0]
    assert leaf.tally.done == 1 and leaf.tally.makeups == 2
    assert leaf.sentence == "1 of 6 sessions attended so far; 5 left; you cannot miss any more."
    # Every missed session can still be made up, so "8 of 8" stays reachable, at risk, for Quinn too.
    for i in range(3, 8):
        mark(session, world, i, "Quinn", "A" if i < 6 else "P")
    eight = {"op": "all", "children": [{"kind": "sessions", "n": 8}]}
    assert forecast(session, world, "Quinn", eight).state == AT_RISK


def test_a_kind_another_feature_registers_counts_and_can_become_impossible(session, world):
    from lti_tool.completion import sources

    calls = []

    def runs(session_, program, ids):
        calls.append(sorted(ids))
        return {world.people["Pat"].id: (1, 0), world.people["Quinn"].id: (2, None)}

    sources.register_source("test_runs", "Protocol runs taken part in", "run", "runs", "taken part in",
                            "Take part in {n} more {units}", runs)
    try:
        tree = writes.check(session, world.program, None, {"op": "all", "children": [{"kind": "test_runs", "n": 3}]})
        pat = forecast(session, world, "Pat", tree)
        assert pat.state == CANNOT_MEET
        assert pat.children[0].sentence == "1 of 3 runs taken part in so far; only 0 left, so this can no longer be met."
        quinn = forecast(session, world, "Quinn", tree)
        assert quinn.state == ON_TRACK and quinn.needs == ["Take part in 1 more run"]
        assert len(calls) == 2          # once per evaluation, for everyone at once
    finally:
        sources.KINDS.pop("test_runs", None)
        sources._registered.pop("test_runs", None)


def test_any_group_is_met_by_one_child_and_all_needs_every_one(session, world):
    module = Module(program_id=world.program.id, title="Coaching moves", released=True)
    session.add(module)
    session.flush()
    session.add(ModuleCohort(module_id=module.id, cohort_id=world.cohorts["Literacy"].id))
    items = [ModuleItem(module_id=module.id, kind=ItemKind.page, title=f"Page {i}", position=i) for i in range(3)]
    session.add_all(items)
    session.flush()
    tree = {"op": "all", "children": [
        {"kind": "sessions", "n": 1},
        {"op": "any", "children": [{"kind": "items", "n": 3, "module_id": module.id}, {"kind": "posts", "n": 50}]}]}
    tree = writes.check(session, world.program, None, tree)
    mark(session, world, 0, "Pat", "P")
    outcome = forecast(session, world, tree=tree)
    assert outcome.children[0].state == MET and outcome.children[1].state == ON_TRACK
    # No book is studied, so the posts can never come: the group is on track through the module alone.
    assert outcome.children[1].children[1].state == CANNOT_MEET
    assert outcome.state == ON_TRACK
    assert outcome.needs == ["Complete 3 more module items (next: Page 0 (Coaching moves); Page 1 (Coaching moves); "
                             "Page 2 (Coaching moves))"]
    from lti_tool.modules.completion import complete_item
    for item in items:
        complete_item(session, item, world.people["Pat"], "viewed")
    assert forecast(session, world, tree=tree).state == MET
    assert rules.describe(tree, {module.id: module.title}) == (
        "All of: At least 1 session attended; Any one of: At least 3 module items completed in “Coaching moves”; "
        "At least 50 posts written")


@pytest.mark.parametrize("tree, message", [
    ({"op": "all", "children": []}, "The rule is empty"),
    ({"op": "all", "children": [{"op": "any", "children": []}]}, "A group has no criteria"),
    ({"op": "all", "children": [{"kind": "karma", "n": 1}]}, "Unknown kind of criterion"),
    ({"op": "all", "children": [{"kind": "sessions", "n": 0}]}, "whole number from 1"),
    ({"op": "all", "children": [{"kind": "sessions", "n": 2.5}]}, "whole number from 1"),
    ({"op": "all", "children": [{"kind": "sessions", "n": "6"}]}, "whole number from 1"),
    ({"op": "all", "children": [{"kind": "items", "n": 1, "module_id": 999999}]}, "no longer exists"),
    ({"op": "all", "children": [{"kind": "sessions", "n": 1, "module_id": 1}]}, "cannot be limited"),
    ({"op": "some", "children": [{"kind": "sessions", "n": 1}]}, "“all of” or “any one of”"),
    ({"op": "all", "children": [{"kind": "sessions", "n": 9}]}, "Nobody could meet “At least 9 sessions attended”: at most 8"),
])
def test_a_bad_rule_is_refused_with_a_clear_message(session, world, tree, message):
    with pytest.raises(InvalidInput, match=message.replace("(", r"\(").replace(".", r"\.")):
        writes.check(session, world.program, None, tree)


def test_a_rule_inside_itself_and_a_too_deep_rule_are_refused(session, world):
    loop = {"op": "all", "children": []}
    loop["children"].append(loop)
    with pytest.raises(InvalidInput, match="contains itself"):
        writes.check(session, world.program, None, loop)
    deep = {"kind": "sessions", "n": 1}
    for _ in range(6):
        deep = {"op": "all", "children": [deep]}
    with pytest.raises(InvalidInput, match="levels deep"):
        writes.check(session, world.program, None, deep)


def test_ids_are_kept_and_given(session, world):
    tree = writes.check(session, world.program, None, {"op": "all", "children": [
        {"kind": "sessions", "n": 6, "id": "c1"}, {"kind": "points", "n": 4.5},
        {"op": "any", "children": [{"kind": "sessions", "n": 1}, {"kind": "posts", "n": 1}]}]})
    assert [c["id"] for c in tree["children"]] == ["c1", "c2", "g1"]
    assert [c["id"] for c in tree["children"][2]["children"]] == ["c3", "c4"]
    assert tree["children"][1]["n"] == 4.5
