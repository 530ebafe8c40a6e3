"""What the page benchmarks share: a throw-away database with the app on it, and timing a page's renders
with the SQL statements each one costs."""
from __future__ import annotations

import os
import secrets
import shutil
import statistics
import tempfile
import time
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import event

from lti_tool import create_app
from lti_tool.db import Base, db


@contextmanager
def bench_app(server_url: str, name: str, **overrides):
    """The app on a fresh database: a throw-away one made on the PostgreSQL server ``server_url`` (dropped
    afterwards), or SQLite in a temporary folder when ``server_url`` is empty; the folder is removed afterwards.
    ``overrides`` go to ``create_app`` on top of the bench's own (a bench that sets ``HUEY_IMMEDIATE=False`` gets
    its job queue in the same folder). Yields (app, database URL)."""
    tmp = tempfile.mkdtemp(prefix=f"bench-{name}-")
    admin = db_name = app = None
    if server_url:
        import psycopg

        db_name = f"bench_{name}_{secrets.token_hex(3)}"
        admin = psycopg.connect(server_url, autocommit=True)
        admin.execute(f'CREATE DATABASE "{db_name}"')
        parts = urlsplit(server_url)
        url = urlunsplit((parts.scheme, parts.netloc, "/" + db_name, "", ""))
    else:
        url = f"sqlite:///{tmp}/bench.sqlite3"
    try:
        app = create_app("testing", **{"DATABASE_URL": url, "STATE_CACHE_DIR": os.path.join(tmp, "state"),
                                       "HUEY_SQLITE_PATH": os.path.join(tmp, "huey.sqlite3"), "REDIS_URL": "",
                                       "SERVER_NAME": None, **overrides})
        Base.metadata.create_all(db.engine_for(app))
        from lti_tool.migrate import stamp_head

        stamp_head(app)
        yield app, url
    finally:
        if app is not None:
            db.engine_for(app).dispose()
        if admin is not None:
            admin.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
            admin.close()
        shutil.rmtree(tmp, ignore_errors=True)


def log_in(client, user_id: int) -> None:
    """Sign the test client in as a user, as a launch would (Flask-Login's session keys)."""
    with client.session_transaction() as sess:
        sess["_user_id"] = str(user_id)
        sess["_fresh"] = True


def render_stats(app, client, path: str, repeat: int, expect: str | None = None) -> tuple[int, float]:
    """Render ``path`` once to warm up (checking it answers 200, with ``expect`` in the page if given),
    then ``repeat`` times: the SQL statements of one render and the median time."""
    first = client.get(path)
    assert first.status_code == 200, (path, first.status_code, first.get_data(as_text=True)[:300])
    if expect is not None:
        assert expect in first.get_data(as_text=True), (path, expect)
    engine = db.engine_for(app)
    counts: list[int] = []

    def count(*_a):
        counts.append(1)

    times, statements = [], 0
    for _ in range(repeat):
        counts.clear()
        event.listen(engine, "before_cursor_execute", count)
        t0 = time.perf_counter()
        response = client.get(path)
        times.append(time.perf_counter() - t0)
        event.remove(engine, "before_cursor_execute", count)
        assert response.status_code == 200, (path, response.status_code)
        statements = len(counts)
    return statements, statistics.median(times)


def bench_cohort(session, tag: str, participants: int):
    """A course on its own LMS with its program, a lead who facilitates its one cohort, and ``participants``
    people seated in it (flushed): (course, program, lead, cohort, people)."""
    from lti_tool.lti.models import Course, CourseRole, Membership, Platform, User
    from lti_tool.programs.models import Cohort, CohortFacilitator, CohortMember, Program, SeatStatus

    s = session
    platform = Platform(issuer=f"https://bench-{tag}.example", client_id="c", auth_login_url="https://x/a",
                        auth_token_url="https://x/t", key_set_url="https://x/k")
    course = Course(platform=platform, context_id=f"bench-{tag}", title=f"Bench {tag}")
    program = Program(course=course, title="Bench", timezone="America/New_York", settings={})
    s.add_all([platform, course, program])
    s.flush()
    lead = Membership(user=User(platform=platform, sub=f"lead-{tag}", name="Lead"), course=course,
                      role=CourseRole.facilitator, lti_roles=[])
    s.add(lead)
    s.flush()
    program.settings = {"leads": [lead.id]}
    cohort = Cohort(program=program, name="Cohort")
    s.add(cohort)
    s.flush()
    s.add(CohortFacilitator(cohort_id=cohort.id, membership_id=lead.id))
    people = [Membership(user=User(platform=platform, sub=f"p{i}-{tag}", name=f"Participant {i:02d}",
                                   email=f"p{i}@bench.example"), course=course, role=CourseRole.participant,
                         lti_roles=[]) for i in range(participants)]
    s.add_all(people)
    s.flush()
    s.add_all([CohortMember(cohort_id=cohort.id, membership_id=m.id, status=SeatStatus.active) for m in people])
    s.flush()
    return course, program, lead, cohort, people
