"""Two people taking the last seat at once: one gets it, the other is wait-listed. On PostgreSQL the cohort
row lock (SELECT … FOR UPDATE) makes the second transaction wait and then see the cohort full."""
from __future__ import annotations

import threading
import time

import pytest

from lti_tool.db import db
from lti_tool.lti.models import Membership
from lti_tool.programs import queries, writes
from lti_tool.programs.models import Cohort, SeatStatus
from tests.programs.conftest import NOW, acting, course_world, make_cohort, make_program


def test_two_people_taking_the_last_seat_at_once_one_gets_it_the_other_waits(app, monkeypatch):
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("row locks are a PostgreSQL matter; SQLite serialises writers")
        session = db.session
        world = course_world(session)
        lead = world.lead()
        program = make_program(session, lead)
        cohort = make_cohort(session, lead, program, capacity=2)
        first, a, b = world.participants(3)
        writes.sign_up(session, acting(session, first), cohort, now=NOW)     # one seat left
        session.commit()
        cohort_id, people = cohort.id, [a.id, b.id]

    # Widen the gap between counting the seats and taking one, so that without the lock both transactions
    # would count the same free seat (the test then fails every time, not now and then).
    count_seats = queries.active_count

    def slow_count(session, cohort):
        n = count_seats(session, cohort)
        time.sleep(0.3)
        return n

    monkeypatch.setattr(writes, "active_count", slow_count)
    barrier = threading.Barrier(2)
    results: dict[int, SeatStatus] = {}
    errors: list[BaseException] = []

    def take(membership_id: int):
        try:
            with app.app_context():
                session = db.new_session()
                try:
                    actor = session.get(Membership, membership_id)
                    target = session.get(Cohort, cohort_id)
                    _ = target.program, actor.course         # loaded before the race starts
                    access = acting(session, actor)
                    barrier.wait(timeout=10)
                    seat = writes.sign_up(session, access, target, now=NOW)
                    results[membership_id] = seat.status
                    session.commit()
                finally:
                    session.close()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=take, args=(mid,)) for mid in people]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not errors, errors
    assert sorted(s.value for s in results.values()) == ["active", "waitlisted"]
    with app.app_context():
        assert queries.active_count(db.session, db.session.get(Cohort, cohort_id)) == 2
