"""Launch benchmark: the tool under gunicorn (2 workers, PostgreSQL, Redis) with its sandbox LMS, N complete
LTI launches at a given concurrency, a profile of one launch, and the landing page's SQL query count for a
small and a large course. It prints figures; it never asserts timings.

    .venv/bin/python bench/launch.py [-n 200] [-c 10] [--workers 2]
        [--pg postgresql://127.0.0.1:5432/test] [--redis redis://127.0.0.1:6379/14]

A complete launch is what a browser does: sandbox /sandbox/launch → tool /lti/login → sandbox /sandbox/auth →
tool /lti/launch → /lti/session-check → landing page, each launch with its own cookie jar, users cycling over
a bulk course so that every launch writes its user and membership the first time round.
"""
from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import os
import pstats
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
VENV_BIN = Path(sys.executable).parent

from tests.lti_client import LtiBrowser, forms  # noqa: E402  (the same scripted browser the tests use)

BULK_COURSE = "bench-course"
SMALL_COURSE = "bench-small"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def throwaway_database(base_url: str):
    import psycopg

    name = f"cop_bench_{os.getpid()}_{secrets.token_hex(3)}"
    admin = psycopg.connect(base_url, autocommit=True)
    admin.execute(f'CREATE DATABASE "{name}"')
    parts = urlsplit(base_url)
    try:
        yield urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, ""))
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def flask_cli(env: dict, *args: str) -> None:
    subprocess.run([str(VENV_BIN / "flask"), "--app", "wsgi", *args], cwd=ROOT, env=env, check=True,
                   stdout=subprocess.DEVNULL)


@contextlib.contextmanager
def gunicorn(env: dict, port: int, workers: int):
    log_path = Path(env["LTI_TOOL_INSTANCE"]) / "gunicorn.log"
    log_file = open(log_path, "w")
    proc = subprocess.Popen([str(VENV_BIN / "gunicorn"), "-w", str(workers), "-b", f"127.0.0.1:{port}",
                             "--log-level", "warning", "wsgi:app"], cwd=ROOT, env=env,
                            stdout=log_file, stderr=subprocess.STDOUT)
    try:
        import requests

        for _ in range(200):
            try:
                if requests.get(f"http://127.0.0.1:{port}/lti/jwks", timeout=1).ok:
                    break
            except requests.RequestException:
                time.sleep(0.1)
        else:
            raise RuntimeError("gunicorn did not start")
        yield proc
    finally:
        proc.terminate()
        proc.wait(timeout=15)
        log_file.close()
        errors = [line for line in log_path.read_text().splitlines() if "ERROR" in line or "Traceback" in line]
        if errors:
            print(f"gunicorn logged {len(errors)} error line(s), e.g.: {errors[0][:200]}")


def app_in_process(env: dict):
    """The same app as gunicorn serves, in this process (for the profile and the query counts)."""
    import logging

    os.environ.update(env)
    from lti_tool import create_app

    app = create_app(env["LTI_TOOL_CONFIG"])
    for name in ("lti_tool", "alembic"):
        logging.getLogger(name).setLevel(logging.WARNING)
    return app


def ensure_schema_matches_models(app) -> None:
    """While features are being built, the migrations can lag the models (the lead regenerates them).
    Then the bench says so and builds its throw-away schema from the models, as the test suite does."""
    from sqlalchemy import inspect, text

    from lti_tool.db import Base, db
    from lti_tool.migrate import stamp_head
    from lti_tool.sandbox.models import SandboxBase

    engine = db.engine_for(app)
    inspector = inspect(engine)
    missing = []
    for table in Base.metadata.sorted_tables:
        if not inspector.has_table(table.name):
            missing.append(table.name)
            continue
        present = {c["name"] for c in inspector.get_columns(table.name)}
        missing += [f"{table.name}.{c.name}" for c in table.columns if c.name not in present]
    if not missing:
        return
    print(f"NOTE: the migrations lag the models (missing: {', '.join(missing[:6])}"
          f"{' ...' if len(missing) > 6 else ''}); building the bench schema from the models instead.")
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    Base.metadata.create_all(engine)
    SandboxBase.metadata.create_all(engine)
    stamp_head(app)


def add_bench_courses(app, bulk_size: int) -> None:
    from lti_tool.db import db
    from lti_tool.sandbox import services as sb

    with app.app_context():
        platform = sb.first_platform(db.session)
        sb.add_bulk_course(db.session, platform, BULK_COURSE, bulk_size, title="Bench: a large course")
        sb.add_bulk_course(db.session, platform, SMALL_COURSE, 10, title="Bench: a small course")
        db.session.commit()


STEPS: dict[str, list[float]] = {}
_steps_lock = threading.Lock()


class _TimedBrowser(LtiBrowser):
    """Records the server time of every response of the flow (redirects included), by path."""

    def _record(self, response):
        with _steps_lock:
            for r in [*response.history, response]:
                path = urlsplit(r.url).path
                key = "/c/<course>/ (landing)" if path.startswith("/c/") else path
                if key.startswith("/lti/deep-link/"):
                    key = "/lti/deep-link/<token>"
                STEPS.setdefault(key, []).append(r.elapsed.total_seconds())
        return response

    def get(self, path, **kw):
        return self._record(super().get(path, **kw))

    def submit(self, response, index=0, **overrides):
        return self._record(super().submit(response, index, **overrides))


def one_launch(base_url: str, user: str, course: str) -> float:
    started = time.perf_counter()
    browser = _TimedBrowser(base_url)
    final = browser.launch(user, course=course)
    if "/c/" not in final.url:
        raise RuntimeError(f"launch of {user} ended at {final.url}")
    return time.perf_counter() - started


def run_launches(base_url: str, n: int, concurrency: int, bulk_size: int) -> None:
    users = [f"{BULK_COURSE}-user-{(i % bulk_size) + 1}" for i in range(n)]
    for i in range(4):  # warm up both workers: tool key, platform JWKS in the cache, SQL compiled
        one_launch(base_url, users[-1 - i], BULK_COURSE)
    STEPS.clear()
    errors: list[str] = []

    def task(user):
        try:
            return one_launch(base_url, user, BULK_COURSE)
        except Exception as exc:  # a failed launch is counted, not fatal
            errors.append(f"{user}: {exc}")
            return None

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        durations = [d for d in pool.map(task, users) if d is not None]
    wall = time.perf_counter() - started
    durations.sort()
    print(f"\n== {n} complete launches at concurrency {concurrency} ==")
    print(f"  ok {len(durations)}, failed {len(errors)}, wall {wall:.2f} s")
    if durations:
        print(f"  launches/s  {len(durations) / wall:8.1f}")
        print(f"  p50         {statistics.median(durations) * 1000:8.1f} ms")
        print(f"  p95         {durations[min(len(durations) - 1, int(0.95 * len(durations)))] * 1000:8.1f} ms")
        print(f"  max         {durations[-1] * 1000:8.1f} ms")
    for line in errors[:5]:
        print("  error:", line)
    print("  time per request as the client saw it (p50 / p95, ms):")
    for path, times in STEPS.items():
        times.sort()
        print(f"    {path:34s} {statistics.median(times) * 1000:7.1f} / "
              f"{times[min(len(times) - 1, int(0.95 * len(times)))] * 1000:7.1f}")


class QueryCounter:
    def __init__(self, engine):
        from sqlalchemy import event

        self.count = 0
        self.statements: list[str] = []
        self._lock = threading.Lock()
        event.listen(engine, "before_cursor_execute", self._on)

    def _on(self, conn, cursor, statement, parameters, context, executemany):
        with self._lock:
            self.count += 1
            self.statements.append(" ".join(statement.split())[:110])

    @contextlib.contextmanager
    def measure(self):
        self.count, self.statements = 0, []
        yield self


def in_process_launch(app, base_url: str, user: str, course: str, counter: QueryCounter, profile: bool = False):
    """The browser half (sandbox, login, auth) over HTTP against gunicorn; the tool's /lti/launch, the
    session check and the landing page in this process, counted (and profiled)."""
    browser = LtiBrowser(base_url)
    page = browser.get("/sandbox/launch", params={"user": user, "course": course, "kind": "resource",
                                                   "flavour": "canvas"})
    auth_page = browser.submit(page)
    [form] = forms(auth_page.text)
    client = app.test_client()
    for cookie in browser.http.cookies:
        client.set_cookie(cookie.name, cookie.value, domain="127.0.0.1", path=cookie.path or "/")
    figures = {}
    profiler = cProfile.Profile() if profile else None
    with counter.measure():
        if profiler:
            profiler.enable()
        launch = client.post("/lti/launch", data=form.fields, base_url=base_url)
        if profiler:
            profiler.disable()
        figures["launch"] = counter.count
        counter.launch_statements = list(counter.statements)
    assert launch.status_code == 302, launch.get_data(as_text=True)[:500]
    with counter.measure():
        check = client.get(launch.headers["Location"], base_url=base_url)
        figures["session-check"] = counter.count
    landing_url = check.headers["Location"]
    with counter.measure():
        landing = client.get(landing_url, base_url=base_url)
        figures["landing"] = counter.count
        statements = list(counter.statements)
    assert landing.status_code == 200, landing.get_data(as_text=True)[:500]
    return figures, statements, profiler, client, landing_url


def sync_course(app, context_id: str) -> int:
    from sqlalchemy import func, select

    from lti_tool.db import db
    from lti_tool.lti.models import Course, Membership
    from lti_tool.lti.roster import sync_roster

    with app.app_context():
        session = db.new_session()
        try:
            course = session.scalar(select(Course).where(Course.context_id == context_id))
            sync_roster(session, course)
            return session.scalar(select(func.count()).select_from(Membership)
                                  .where(Membership.course_id == course.id, Membership.active.is_(True)))
        finally:
            session.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=200, help="complete launches (default 200)")
    parser.add_argument("-c", "--concurrency", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument("--bulk", type=int, default=2000, help="members of the large course (default 2000)")
    parser.add_argument("--pg", default=os.environ.get("BENCH_DATABASE_URL", "postgresql://127.0.0.1:5432/test"),
                        help="a PostgreSQL database to connect to; the bench creates and drops its own")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/14")
    parser.add_argument("--top", type=int, default=25, help="profile lines to print")
    args = parser.parse_args()

    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    with throwaway_database(args.pg) as db_url, tempfile.TemporaryDirectory() as instance:
        env = {**os.environ, "LTI_TOOL_CONFIG": "development", "DATABASE_URL": db_url, "REDIS_URL": args.redis,
               "SANDBOX_ENABLED": "1", "LTI_TOOL_INSTANCE": instance, "SECRET_KEY": secrets.token_hex(16),
               # One address launches hundreds of times a minute here, as the same few people.
               "RATELIMIT_LOGIN_PER_BROWSER": "1000000 per minute",
               "RATELIMIT_LOGIN_PER_ADDRESS": "1000000 per minute"}
        import redis

        redis.Redis.from_url(args.redis).flushdb()      # db 14 is the bench's own: no stale tokens or keys
        print(f"database {db_url.rsplit('/', 1)[-1]}, redis {args.redis}, tool at {base_url}")
        flask_cli(env, "db", "upgrade")
        app = app_in_process(env)
        ensure_schema_matches_models(app)
        flask_cli(env, "sandbox", "setup", "--base-url", base_url)
        add_bench_courses(app, args.bulk)
        with gunicorn(env, port, args.workers):
            run_launches(base_url, args.n, args.concurrency, args.bulk)

            from lti_tool.db import db

            counter = QueryCounter(db.engine_for(app))
            in_process_launch(app, base_url, f"{BULK_COURSE}-user-{args.bulk - 1}", BULK_COURSE, counter)  # warm
            print("\n== one launch (POST /lti/launch of a new user), in process, warm; cProfile by cumulative ==")
            figures, _, profiler, _, _ = in_process_launch(app, base_url, f"{BULK_COURSE}-user-{args.bulk}",
                                                           BULK_COURSE, counter, profile=True)
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).strip_dirs().sort_stats("cumulative").print_stats(args.top)
            print("\n".join(line for line in out.getvalue().splitlines() if line.strip())[:12000])
            print(f"\nSQL queries of a first launch (new user): /lti/launch {figures['launch']}, "
                  f"session check {figures['session-check']}, landing page {figures['landing']}")
            figures, landing_statements, _, _, _ = in_process_launch(app, base_url, f"{BULK_COURSE}-user-{args.bulk}",
                                                                     BULK_COURSE, counter)
            print(f"SQL queries of a repeat launch:          /lti/launch {figures['launch']}, "
                  f"session check {figures['session-check']}, landing page {figures['landing']}")
            print("  the repeat launch's queries:")
            for statement in counter.launch_statements:
                print("    ", statement)
            print("  its landing page's queries (a learner's):")
            for statement in landing_statements:
                print("    ", statement)

            print("\n== landing page SQL queries by course size (facilitator, after a roster sync) ==")
            results = {}
            for context_id, instructor in ((SMALL_COURSE, f"{SMALL_COURSE}-user-1"),
                                           (BULK_COURSE, f"{BULK_COURSE}-user-1")):
                in_process_launch(app, base_url, instructor, context_id, counter)   # the course exists
                members = sync_course(app, context_id)
                figures, statements, _, client, landing_url = in_process_launch(app, base_url, instructor,
                                                                                context_id, counter)
                with counter.measure():
                    client.get(landing_url, base_url=base_url)
                    again = counter.count
                results[context_id] = (members, figures["landing"], again, statements)
                print(f"  {members:5d} members: landing page {figures['landing']} queries "
                      f"(reloaded: {again}); launch {figures['launch']}")
            small, large = results[SMALL_COURSE], results[BULK_COURSE]
            verdict = "does not grow" if large[2] <= small[2] else "GROWS"
            print(f"  → the landing page's query count {verdict} with the size of the course")
            print("  queries of the large course's landing page:")
            for statement in large[3]:
                print("    ", statement)


if __name__ == "__main__":
    main()
