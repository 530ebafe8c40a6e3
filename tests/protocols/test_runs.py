"""Protocol runs through the writes: making runs (a cohort, one per small group), roles from the roster with the
presenter suggested so everyone presents over the year, the live clock (start, pause, extend, advance, back,
finish) with one version for two facilitators, contributions only in their phase and only by the roles it
lets speak, asynchronous runs on deadlines in the program's zone (reminders once per person and phase, the
state read from the deadlines), the record's confidentiality, completion counts in one query, PD-hours lines."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from lti_tool.course import events
from lti_tool.course.notices import Notice
from lti_tool.db import db
from lti_tool.errors import Conflict, Forbidden, InvalidInput, NotFound
from lti_tool.hours.queries import ledgers_for
from lti_tool.programs.models import CohortMember, SeatStatus
from lti_tool.protocols import writes
from lti_tool.protocols.clock import state_of
from lti_tool.protocols.models import ProtocolRun, RunStatus
from lti_tool.protocols.queries import (builtin_ref, candidates_for, completion_counts, get_run, runs_for,
                                        suggested_presenter)
from tests.protocols.conftest import T0, consultancy, count_queries, loaded

MIN = dt.timedelta(minutes=1)


@pytest.fixture
def progress():
    """What the writes tell the completion rule: a list of (program_id, membership_ids)."""
    sent = []

    def receiver(sender, program_id, membership_ids):
        sent.append((program_id, sorted(membership_ids)))

    events.progress_changed.connect(receiver)
    yield sent
    events.progress_changed.disconnect(receiver)


def test_a_new_run_suggests_who_presents_next_fewest_presentations_first(session, world):
    first = writes.create_run(session, world.access("Fay"), builtin_ref("consultancy"),
                              cohort_id=world.cohorts["Literacy"].id, now=T0)
    roles = {r.membership.user.name: r.role for r in first.roles}
    assert roles == {"Pat": "presenter", "Quinn": "participant", "Rosa": "participant", "Fay": "facilitator"}
    second = writes.create_run(session, world.access("Fay"), builtin_ref("tuning"),
                               cohort_id=world.cohorts["Literacy"].id, now=T0)
    assert next(r.membership.user.name for r in second.roles if r.role == "presenter") == "Quinn"
    candidates = candidates_for(session, world.program, world.cohorts["Literacy"], None)
    assert {c.name: c.presented for c in candidates if c.seated} == {"Pat": 1, "Quinn": 1, "Rosa": 0}
    assert suggested_presenter(candidates).name == "Rosa"


def test_triads_get_one_run_each_with_their_own_members(session, world, groups):
    runs = writes.create_group_runs(session, world.access("Fay"), builtin_ref("consultancy"),
                                    cohort_id=world.cohorts["Literacy"].id, now=T0)
    assert [r.title for r in runs] == ["Consultancy — Triad A", "Consultancy — Triad B"]
    members = [{r.membership.user.name: r.role for r in run.roles} for run in runs]
    assert members[0] == {"Pat": "presenter", "Quinn": "participant", "Fay": "facilitator"}
    assert members[1] == {"Rosa": "presenter", "Fay": "facilitator"}
    with pytest.raises(InvalidInput, match="not in this run's small group"):
        writes.set_roles(session, world.access("Fay"), loaded(session, world, "Fay", runs[1]),
                         {world.people["Pat"].id: "participant"})


def test_a_role_for_someone_who_left_the_cohort_is_refused_and_nothing_changes(session, world):
    run = consultancy(session, world)
    session.commit()
    seat = session.scalar(select(CohortMember).where(CohortMember.membership_id == world.people["Rosa"].id))
    seat.status = SeatStatus.withdrawn
    session.commit()
    with pytest.raises(InvalidInput, match="Rosa has left the cohort"):
        writes.set_roles(session, world.access("Fay"), loaded(session, world, "Fay", run),
                         {world.people["Rosa"].id: "recorder", world.people["Quinn"].id: "timekeeper"})
    session.rollback()
    assert {r.membership.user.name: r.role for r in session.get(ProtocolRun, run.id).roles}["Quinn"] == "participant"
    with pytest.raises(InvalidInput, match="Sam is not in this cohort"):
        writes.set_roles(session, world.access("Fay"), loaded(session, world, "Fay", run),
                         {world.people["Sam"].id: "participant"})
    with pytest.raises(InvalidInput, match="one presenter"):
        writes.set_roles(session, world.access("Fay"), loaded(session, world, "Fay", run),
                         {world.people["Quinn"].id: "presenter", world.people["Pat"].id: "presenter"})


def test_only_those_who_manage_the_cohort_start_runs(session, world):
    with pytest.raises(Forbidden):
        writes.create_run(session, world.access("Pat"), builtin_ref("consultancy"),
                          cohort_id=world.cohorts["Literacy"].id, now=T0)
    with pytest.raises(Forbidden):
        writes.create_run(session, world.access("Fay"), builtin_ref("consultancy"),
                          cohort_id=world.cohorts["Math"].id, now=T0)
    run = writes.create_run(session, world.access("Lena"), builtin_ref("chalk-talk"),
                            cohort_id=world.cohorts["Math"].id, now=T0)
    assert {r.membership.user.name: r.role for r in run.roles} == {"Sam": "presenter", "Lena": "facilitator"}


def test_the_live_clock_starts_pauses_extends_advances_goes_back_and_finishes(session, world, progress):
    run = consultancy(session, world)
    assert progress == [(world.program.id, sorted(world.people[n].id for n in ("Pat", "Fay", "Quinn", "Rosa")))]
    progress.clear()                                   # (a new run is a run still to come for them)
    fay = lambda: loaded(session, world, "Fay", run)  # noqa: E731
    writes.control(session, world.access("Fay"), fay(), "start", run.version, now=T0)
    state = state_of(run, run.phases, T0 + 30 * dt.timedelta(seconds=1))
    assert (state.status, state.position, state.remaining) == ("running", 1, 10 * 60 - 30)
    writes.control(session, world.access("Fay"), fay(), "pause", run.version, now=T0 + 2 * MIN)
    later = state_of(run, run.phases, T0 + 60 * MIN)
    assert (later.status, later.remaining) == ("paused", 8 * 60)           # a paused clock does not run
    writes.control(session, world.access("Fay"), fay(), "resume", run.version, now=T0 + 60 * MIN)
    writes.control(session, world.access("Fay"), fay(), "extend", run.version, now=T0 + 60 * MIN, minutes=2)
    assert state_of(run, run.phases, T0 + 60 * MIN).remaining == 10 * 60
    # Overrun: the phase stays at 0 until the facilitator moves on.
    over = state_of(run, run.phases, T0 + 90 * MIN)
    assert (over.position, over.remaining, over.overtime) == (1, 0, True)
    writes.control(session, world.access("Fay"), fay(), "advance", run.version, now=T0 + 90 * MIN)
    assert run.current_position == 2 and run.phase_ends_at == T0 + 95 * MIN
    writes.control(session, world.access("Fay"), fay(), "back", run.version, now=T0 + 91 * MIN)
    assert run.current_position == 1 and run.phase_ends_at == T0 + 101 * MIN
    with pytest.raises(InvalidInput, match="first phase"):
        writes.control(session, world.access("Fay"), fay(), "back", run.version, now=T0 + 92 * MIN)
    assert progress == []
    for i in range(6):
        writes.control(session, world.access("Fay"), fay(), "advance", run.version, now=T0 + (100 + i) * MIN)
    assert run.status is RunStatus.completed and run.completed_at == T0 + 105 * MIN
    ids = sorted(world.people[n].id for n in ("Pat", "Fay", "Quinn", "Rosa"))
    assert progress == [(world.program.id, ids)]
    with pytest.raises(InvalidInput, match="over"):
        writes.control(session, world.access("Fay"), fay(), "advance", run.version, now=T0 + 200 * MIN)


def test_two_facilitators_advancing_at_once_advance_once_and_the_second_is_told(session, world):
    run = consultancy(session, world)
    writes.control(session, world.access("Fay"), loaded(session, world, "Fay", run), "start", run.version, now=T0)
    session.commit()
    seen = run.version
    writes.control(session, world.access("Fay"), loaded(session, world, "Fay", run), "advance", seen, now=T0 + MIN)
    session.commit()
    with pytest.raises(Conflict, match="already changed this run: it is now at “Clarifying questions”"):
        writes.control(session, world.access("Lena"), loaded(session, world, "Lena", run), "advance", seen,
                       now=T0 + MIN)
    session.rollback()
    assert session.get(ProtocolRun, run.id).current_position == 2


def test_a_race_between_two_requests_that_read_the_same_version_is_caught_by_the_database(app, session, world):
    run = consultancy(session, world)
    writes.control(session, world.access("Fay"), loaded(session, world, "Fay", run), "start", run.version, now=T0)
    session.commit()
    mine = loaded(session, world, "Lena", run)          # read version n …
    other = db.new_session()                            # … another request moves it on meanwhile
    try:
        row = other.get(ProtocolRun, run.id)
        row.current_position = 2
        other.commit()
    finally:
        other.close()
    with pytest.raises(Conflict, match="same moment"):
        writes.control(session, world.access("Lena"), mine, "advance", mine.run.version, now=T0 + MIN)
    session.expire_all()
    assert session.get(ProtocolRun, run.id).current_position == 2        # advanced once


def test_contributions_only_in_their_phase_and_the_presenter_is_silent_in_the_discussion(session, world):
    run = consultancy(session, world)
    with pytest.raises(Conflict, match="has not opened yet"):
        writes.contribute(session, world.access("Quinn"), loaded(session, world, "Quinn", run), 2, "Too early",
                          now=T0)
    writes.control(session, world.access("Fay"), loaded(session, world, "Fay", run), "start", run.version, now=T0)
    writes.control(session, world.access("Fay"), loaded(session, world, "Fay", run), "advance", run.version, now=T0)
    question = writes.contribute(session, world.access("Quinn"), loaded(session, world, "Quinn", run), 2,
                                 "How many **students**? <script>x</script>", now=T0 + MIN)
    assert question.kind == "question" and "<strong>students</strong>" in question.body_html
    assert "<script>" not in question.body_html
    with pytest.raises(Conflict, match="is closed: the run has moved to “Clarifying questions”"):
        writes.contribute(session, world.access("Pat"), loaded(session, world, "Pat", run), 1, "Late note",
                          now=T0 + MIN)
    for _ in range(2):
        writes.control(session, world.access("Fay"), loaded(session, world, "Fay", run), "advance", run.version,
                       now=T0 + 2 * MIN)
    assert run.phases[run.current_position - 1].name == "Discussion"
    with pytest.raises(Forbidden, match="presenter listens and takes notes"):
        writes.contribute(session, world.access("Pat"), loaded(session, world, "Pat", run), 4, "Let me explain",
                          now=T0 + 3 * MIN)
    writes.contribute(session, world.access("Rosa"), loaded(session, world, "Rosa", run), 4, "What if…",
                      now=T0 + 3 * MIN)
    with pytest.raises(InvalidInput, match="Write something"):
        writes.contribute(session, world.access("Rosa"), loaded(session, world, "Rosa", run), 4, "  ",
                          now=T0 + 3 * MIN)


def test_a_run_and_its_record_exist_only_for_its_members(session, world):
    run = consultancy(session, world, roles={world.people["Pat"].id: "presenter",
                                             world.people["Fay"].id: "facilitator"})
    assert get_run(session, world.access("Pat"), run.id).role == "presenter"
    assert get_run(session, world.access("Lena"), run.id).role == "facilitator"    # leads manage every cohort
    for outsider in ("Quinn", "Sam", "Oscar"):                                    # Quinn sits in the cohort
        with pytest.raises(NotFound):
            get_run(session, world.access(outsider), run.id)
    assert [r.id for r in runs_for(session, world.access("Pat"))] == [run.id]
    assert runs_for(session, world.access("Quinn")) == []
    from tests.factories import make_world

    other = make_world(session, "course-b")
    olga = other.person("Olga", world.people["Lena"].role)
    with pytest.raises(NotFound):
        get_run(session, other.access("Olga"), run.id)
    assert olga is not None


def test_an_async_run_opens_and_closes_its_phases_at_deadlines_in_the_program_zone(session, world):
    # Three days a phase from Fri 1 Nov 2030, 5 pm in New York: New York leaves daylight saving on 3 Nov, and
    # every deadline stays at 5 pm there.
    opens = dt.datetime(2030, 11, 1, 21, 0, tzinfo=dt.timezone.utc)
    run = consultancy(session, world, mode="async", opens_at=opens, days_per_phase=3)
    closes = [p.closes_at for p in run.phases]
    assert closes[0] == dt.datetime(2030, 11, 4, 22, 0, tzinfo=dt.timezone.utc)    # 5 pm EST
    zone = world.access("Fay").program_zone
    assert {c.astimezone(zone).hour for c in closes} == {17}
    assert run.closes_at == closes[-1] and run.status is RunStatus.running
    assert state_of(run, run.phases, opens - MIN).status == "scheduled"
    assert state_of(run, run.phases, closes[0] - MIN).position == 1
    assert state_of(run, run.phases, closes[0]).position == 2
    with pytest.raises(Conflict, match="is closed"):
        writes.contribute(session, world.access("Pat"), loaded(session, world, "Pat", run), 1, "Late",
                          now=closes[0] + MIN)
    writes.contribute(session, world.access("Quinn"), loaded(session, world, "Quinn", run), 2, "A question",
                      now=closes[0] + MIN)
    with pytest.raises(InvalidInput, match="only a live run"):
        writes.control(session, world.access("Fay"), loaded(session, world, "Fay", run), "advance", run.version,
                       now=closes[0])
    assert state_of(run, run.phases, closes[-1]).status == "completed"


def test_the_sweep_reminds_once_those_who_have_not_posted_and_completes_runs_past_their_deadline(
        session, world, progress):
    opens = dt.datetime(2030, 11, 1, 21, 0, tzinfo=dt.timezone.utc)
    run = consultancy(session, world, mode="async", opens_at=opens, days_per_phase=3)
    progress.clear()
    second_closes = run.phases[1].closes_at
    writes.contribute(session, world.access("Quinn"), loaded(session, world, "Quinn", run), 2, "Asked",
                      now=second_closes - dt.timedelta(hours=40))
    session.commit()
    early = writes.sweep_async_runs(session, second_closes - dt.timedelta(hours=30))
    assert early == {"reminded": 0, "completed": 0}
    for _ in range(2):      # a second sweep reminds nobody again
        writes.sweep_async_runs(session, second_closes - dt.timedelta(hours=5))
        session.commit()
    notices = session.scalars(select(Notice).order_by(Notice.recipient_id)).all()
    recipients = {session.get(type(world.people["Pat"]), n.recipient_id).user.name for n in notices}
    assert recipients == {"Fay", "Rosa"}          # Quinn posted; Pat is not asked in the clarifying questions
    assert "“Clarifying questions” of Consultancy closes" in notices[0].text and "EST" in notices[0].text
    assert notices[0].url == f"/c/{world.course.id}/protocols/runs/{run.id}"
    # Past the last deadline the run counts as taken part in before any sweep marks it…
    after = run.closes_at + MIN
    assert completion_counts(session, world.program, [world.people["Pat"].id], now=after) == {
        world.people["Pat"].id: (1, None)}
    assert progress == []
    # … and the sweep records it once.
    assert writes.sweep_async_runs(session, after)["completed"] == 1
    assert run.status is RunStatus.completed and run.completed_at == run.closes_at
    assert len(progress) == 1 and world.people["Pat"].id in progress[0][1]
    assert writes.sweep_async_runs(session, after)["completed"] == 0


def test_completion_counts_taken_part_and_still_scheduled_in_one_query(session, world):
    done = consultancy(session, world)
    writes.control(session, world.access("Fay"), loaded(session, world, "Fay", done), "start", done.version, now=T0)
    writes.control(session, world.access("Fay"), loaded(session, world, "Fay", done), "finish", done.version, now=T0)
    consultancy(session, world)                                     # still to come
    cancelled = consultancy(session, world)
    writes.control(session, world.access("Fay"), loaded(session, world, "Fay", cancelled), "cancel",
                   cancelled.version, now=T0)
    session.commit()
    ids = [world.people[n].id for n in ("Pat", "Quinn", "Sam")]
    with count_queries() as n:
        counts = completion_counts(session, world.program, ids, now=T0)
    assert n[0] == 1
    assert counts == {ids[0]: (1, 1), ids[1]: (1, 1), ids[2]: (0, None)}


def test_a_finished_run_is_a_protocols_line_in_each_members_pd_hours(session, world):
    run = consultancy(session, world, total_minutes=40)
    assert run.total_minutes == 40 and [p.minutes for p in run.phases] == [8, 4, 8, 12, 4, 4]
    writes.control(session, world.access("Fay"), loaded(session, world, "Fay", run), "start", run.version, now=T0)
    ledgers = ledgers_for(session, world.program, [world.people["Pat"].id, world.people["Sam"].id])
    assert ledgers[world.people["Pat"].id].lines == []                  # not over yet
    writes.control(session, world.access("Fay"), loaded(session, world, "Fay", run), "finish", run.version, now=T0)
    ledgers = ledgers_for(session, world.program, [world.people["Pat"].id, world.people["Sam"].id])
    (line,) = ledgers[world.people["Pat"].id].lines
    assert (line.category.value, line.source, line.minutes, line.source_id) == ("protocol", "protocol_run", 40, run.id)
    assert line.on_date == dt.date(2030, 10, 10) and "Presenter" in line.evidence
    assert line.link[0] == "protocols.run"
    assert ledgers[world.people["Sam"].id].lines == []


def test_a_facilitator_moves_the_deadlines_of_an_async_run_but_never_a_closed_phases(session, world):
    opens = dt.datetime(2030, 11, 1, 21, 0, tzinfo=dt.timezone.utc)
    run = consultancy(session, world, mode="async", opens_at=opens, days_per_phase=2)
    closes = [p.closes_at for p in run.phases]
    during_second = closes[0] + dt.timedelta(hours=1)
    later = [closes[0]] + [c + dt.timedelta(days=1) for c in closes[1:]]
    writes.set_deadlines(session, world.access("Fay"), loaded(session, world, "Fay", run), later, now=during_second)
    assert run.phases[1].opens_at == closes[0] and run.phases[2].opens_at == later[1]
    assert run.closes_at == later[-1]
    moved_closed = [closes[0] + MIN] + later[1:]
    with pytest.raises(InvalidInput, match="has closed: its deadline stays"):
        writes.set_deadlines(session, world.access("Fay"), loaded(session, world, "Fay", run), moved_closed,
                             now=during_second)
    backwards = [later[0], later[2], later[1], *later[3:]]
    with pytest.raises(InvalidInput, match="must close after the phase before it"):
        writes.set_deadlines(session, world.access("Fay"), loaded(session, world, "Fay", run), backwards,
                             now=during_second)
    with pytest.raises(InvalidInput, match="in the future"):
        writes.set_deadlines(session, world.access("Fay"), loaded(session, world, "Fay", run),
                             [later[0], during_second - MIN, *later[2:]], now=during_second)
    with pytest.raises(Forbidden):
        writes.set_deadlines(session, world.access("Pat"), loaded(session, world, "Pat", run), later,
                             now=during_second)
    live = consultancy(session, world)
    with pytest.raises(InvalidInput, match="Only an asynchronous run"):
        writes.set_deadlines(session, world.access("Fay"), loaded(session, world, "Fay", live), later)


def test_changing_roles_or_cancelling_tells_the_completion_rule(session, world, progress):
    run = consultancy(session, world)
    progress.clear()
    writes.set_roles(session, world.access("Fay"), loaded(session, world, "Fay", run),
                     {world.people["Rosa"].id: "", world.people["Quinn"].id: "recorder"})
    assert progress == [(world.program.id, [world.people["Rosa"].id])]      # Quinn's role changed, not his runs
    writes.control(session, world.access("Fay"), loaded(session, world, "Fay", run), "cancel", run.version, now=T0)
    assert run.status is RunStatus.cancelled
    assert progress[-1] == (world.program.id, sorted(world.people[n].id for n in ("Pat", "Fay", "Quinn")))
    with pytest.raises(InvalidInput, match="already over"):
        writes.control(session, world.access("Fay"), loaded(session, world, "Fay", run), "cancel", run.version,
                       now=T0)
    with pytest.raises(InvalidInput, match="is over"):
        writes.set_roles(session, world.access("Fay"), loaded(session, world, "Fay", run),
                         {world.people["Rosa"].id: "participant"})


def test_the_periodic_sweep_runs_in_its_own_session_and_commits(app, session, world):
    from lti_tool.protocols.sweep import run_sweep

    opens = dt.datetime(2030, 11, 1, 21, 0, tzinfo=dt.timezone.utc)
    run = consultancy(session, world, mode="async", opens_at=opens, days_per_phase=1)
    session.commit()
    assert run_sweep(run.phases[0].closes_at - dt.timedelta(hours=2)) == {"reminded": 1, "completed": 0}
    assert run_sweep(run.closes_at + MIN) == {"reminded": 0, "completed": 1}
    session.expire_all()
    assert session.get(ProtocolRun, run.id).status is RunStatus.completed
    assert session.scalar(select(Notice.key)) == f"protocol:{run.id}:1:closing"
