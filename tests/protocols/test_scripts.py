"""Protocol scripts: the six built-in ones, scaling a script to a shorter or longer total without dropping a
step (every phase keeps at least a minute, the sum is exactly the total), copying and adapting a script (leads
only; each save a new version; a run keeps the phases it was made with), and a script with no phases refused."""
from __future__ import annotations

import itertools

import pytest

from lti_tool.errors import Conflict, Forbidden, InvalidInput, NotFound
from lti_tool.protocols import library, writes
from lti_tool.protocols.clock import scale_minutes
from lti_tool.protocols.queries import builtin_ref, script_choices, script_ref
from tests.protocols.conftest import T0


def test_the_six_protocols_are_built_in_with_who_may_speak_in_each_phase():
    assert [s.name for s in library.BUILT_IN] == ["Consultancy", "Tuning", "Final Word", "Success Analysis",
                                                   "Charrette", "Chalk Talk"]
    discussion = next(p for p in library.BY_KEY["consultancy"].phases if p.name == "Discussion")
    assert library.Role.presenter not in discussion.roles and library.Role.participant in discussion.roles
    assert "presenter is silent" in discussion.instructions
    for script in library.BUILT_IN:
        assert script.phases and all(p.minutes >= 1 for p in script.phases)
        assert script.phases[-1].kind == "debrief"
        assert all(not p.kind or p.roles for p in script.phases)


@pytest.mark.parametrize("minutes", [[10, 5, 10, 15, 5, 5], [1, 1, 1], [60], [2, 20, 5, 3], [1, 30, 1, 1, 7]])
def test_scaling_keeps_every_phase_at_least_a_minute_and_hits_the_total_exactly(minutes):
    for total in range(len(minutes), 3 * sum(minutes) + 2):
        out = scale_minutes(minutes, total)
        assert len(out) == len(minutes), "no phase is ever dropped"
        assert sum(out) == total
        assert min(out) >= 1
        if total <= sum(minutes):          # shortening never makes a phase longer than it was
            assert all(o <= m for o, m in zip(out, minutes))
        else:
            assert all(o >= m for o, m in zip(out, minutes))


def test_scaling_keeps_the_proportions_and_the_order_of_long_and_short_phases():
    out = scale_minutes([10, 5, 10, 15, 5, 5], 25)
    assert out == [5, 3, 5, 8, 2, 2]
    assert scale_minutes([10, 5, 10, 15, 5, 5], 50) == [10, 5, 10, 15, 5, 5]
    for a, b in itertools.combinations(range(6), 2):
        if [10, 5, 10, 15, 5, 5][a] > [10, 5, 10, 15, 5, 5][b]:
            assert out[a] >= out[b]


def test_a_total_shorter_than_a_minute_per_phase_or_a_script_without_phases_is_refused():
    with pytest.raises(InvalidInput, match="at least 6 minutes"):
        scale_minutes([10, 5, 10, 15, 5, 5], 5)
    with pytest.raises(InvalidInput, match="no phases"):
        scale_minutes([], 30)


def test_a_lead_copies_a_builtin_script_and_adapts_it_each_save_a_new_version(session, world):
    lena = world.access("Lena")
    script = writes.copy_script(session, lena, builtin_ref("consultancy"))
    assert script.name == "Consultancy (adapted)" and script.version == 1 and script.total_minutes == 50
    assert [p.name for p in script.phases][3] == "Discussion"
    phases = [{"name": p.name, "minutes": p.minutes, "instructions": p.instructions, "roles": list(p.roles),
               "kind": p.kind} for p in script.phases]
    phases[0]["name"] = "The dilemma"
    saved = writes.save_script(session, world.access("Lena"), script.id, name="Consultancy, short",
                               description="For 30 minutes", phases=phases, total_minutes=30,
                               expected_version=1)
    assert saved.version == 2 and saved.total_minutes == 30 and len(saved.phases) == 6
    assert saved.phases[0].name == "The dilemma" and min(p.minutes for p in saved.phases) >= 1
    assert script_ref(session, world.access("Pat"), f"script:{saved.id}").name == "Consultancy, short"
    assert [c.name for c in script_choices(session, world.access("Pat"))][-1] == "Consultancy, short"


def test_a_run_keeps_the_phases_it_was_made_with_when_the_script_is_edited_later(session, world):
    script = writes.copy_script(session, world.access("Lena"), builtin_ref("tuning"), name="Our tuning")
    ref = script_ref(session, world.access("Lena"), f"script:{script.id}")
    run = writes.create_run(session, world.access("Lena"), ref, cohort_id=world.cohorts["Literacy"].id, now=T0)
    assert run.script_version == 1 and len(run.phases) == 7
    writes.save_script(session, world.access("Lena"), script.id, name="Our tuning", description="",
                       phases=[{"name": "Only one", "minutes": 10, "roles": ["participant"], "kind": "note"}])
    session.expire_all()
    assert len(run.phases) == 7 and run.phases[0].name == "Introduction"


def test_a_script_with_no_phases_or_a_phase_of_zero_minutes_is_refused_and_nothing_changes(session, world):
    script = writes.copy_script(session, world.access("Lena"), builtin_ref("chalk-talk"))
    session.commit()
    with pytest.raises(InvalidInput, match="at least one phase"):
        writes.save_script(session, world.access("Lena"), script.id, name="Empty", description="", phases=[])
    with pytest.raises(InvalidInput, match="at least 1 minute"):
        writes.save_script(session, world.access("Lena"), script.id, name="Zero", description="",
                           phases=[{"name": "Nothing", "minutes": 0, "roles": [], "kind": ""}])
    with pytest.raises(InvalidInput, match="nobody may post"):
        writes.save_script(session, world.access("Lena"), script.id, name="Mute", description="",
                           phases=[{"name": "Mute", "minutes": 3, "roles": [], "kind": "note"}])
    session.rollback()
    session.expire_all()
    assert script.version == 1 and len(script.phases) == 4


def test_only_leads_adapt_scripts_and_another_programs_script_does_not_exist(session, world):
    with pytest.raises(Forbidden):
        writes.copy_script(session, world.access("Fay"), builtin_ref("consultancy"))
    script = writes.copy_script(session, world.access("Lena"), builtin_ref("consultancy"))
    with pytest.raises(Conflict, match="version 1"):
        writes.save_script(session, world.access("Lena"), script.id, name="x", description="",
                           phases=[{"name": "a", "minutes": 1, "roles": [], "kind": ""}], expected_version=7)
    from tests.factories import make_world

    other = make_world(session, "course-b")
    stranger = other.person("Olga", world.people["Lena"].role)
    other.program.settings = {"leads": [stranger.id]}
    with pytest.raises(NotFound):
        script_ref(session, other.access("Olga"), f"script:{script.id}")
    with pytest.raises(NotFound):
        script_ref(session, other.access("Olga"), "builtin:nonsense")
