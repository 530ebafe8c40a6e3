"""The protocol tests' world: lead Lena; facilitator Fay of "Literacy" (Pat, Quinn, Rosa; two triad-ish small
groups) and nobody's "Math" (Sam); an observer; times fixed in October 2030, never now."""
from __future__ import annotations

import datetime as dt
from contextlib import contextmanager

import pytest
from sqlalchemy import event

from lti_tool.db import db
from lti_tool.programs.models import SmallGroup, SmallGroupMember
from lti_tool.protocols import writes
from lti_tool.protocols.queries import builtin_ref, get_run
from tests.factories import World, literacy_world

T0 = dt.datetime(2030, 10, 10, 19, 0, tzinfo=dt.timezone.utc)     # 3 pm in New York


@pytest.fixture
def world(session) -> World:
    return literacy_world(session, literacy=("Pat", "Quinn", "Rosa"))


@pytest.fixture
def groups(session, world):
    cohort = world.cohorts["Literacy"]
    a = SmallGroup(cohort_id=cohort.id, name="Triad A")
    b = SmallGroup(cohort_id=cohort.id, name="Triad B")
    session.add_all([a, b])
    session.flush()
    session.add_all([SmallGroupMember(group_id=a.id, membership_id=world.people["Pat"].id),
                     SmallGroupMember(group_id=a.id, membership_id=world.people["Quinn"].id),
                     SmallGroupMember(group_id=b.id, membership_id=world.people["Rosa"].id)])
    session.flush()
    return a, b


def consultancy(session, w: World, *, by="Fay", roles=None, **options):
    """A live Consultancy run for Literacy: Pat presents, Fay facilitates, Quinn and Rosa take part."""
    if roles is None:
        roles = {w.people["Pat"].id: "presenter", w.people["Fay"].id: "facilitator",
                 w.people["Quinn"].id: "participant", w.people["Rosa"].id: "participant"}
    return writes.create_run(session, w.access(by), builtin_ref("consultancy"), cohort_id=w.cohorts["Literacy"].id,
                             roles=roles, now=T0, **options)


def loaded(session, w: World, who: str, run):
    return get_run(session, w.access(who), run.id)


@contextmanager
def count_queries():
    """Counts the SQL statements run inside the block: ``with count_queries() as n: ...; n[0]``."""
    counter = [0]

    def before(*_args):
        counter[0] += 1

    engine = db.engine
    event.listen(engine, "before_cursor_execute", before)
    try:
        yield counter
    finally:
        event.remove(engine, "before_cursor_execute", before)
