"""Roster sync benchmark: a 5,000-member course read from the sandbox LMS over HTTP on loopback, paged as
Canvas pages it (50 at most, an opaque cursor) and as Moodle does (limit/from), into a throw-away PostgreSQL
database. Prints the time, members/s, the number of NRPS requests and the SQL queries per page of members;
it never asserts timings.

    .venv/bin/python bench/roster.py [--members 5000] [--page-size 100] [--pg postgresql://127.0.0.1:5432/test]

The sync runs as the background job does (request_roster_sync, then the run_roster_sync task inline, with its
progress written to the Job row), in this process; the app, sandbox LMS included, is served by werkzeug in a
thread. SQL queries are counted only on the job's thread, so the sandbox's own queries are left out.
"""
from __future__ import annotations

import argparse
import contextlib
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._common import bench_app  # noqa: E402


@contextlib.contextmanager
def served(app):
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)


class QueryCounter:
    """Statements sent by one thread (the job's), not by the server threads answering as the LMS."""

    def __init__(self, engine):
        self.engine, self.count, self.thread = engine, 0, threading.get_ident()

    def _listener(self, *args):
        if threading.get_ident() == self.thread:
            self.count += 1

    def __enter__(self):
        from sqlalchemy import event

        event.listen(self.engine, "before_cursor_execute", self._listener)
        return self

    def __exit__(self, *exc):
        from sqlalchemy import event

        event.remove(self.engine, "before_cursor_execute", self._listener)


def run_sync(app, course_id: int) -> dict:
    from lti_tool.db import db
    from lti_tool.jobs import Job
    from lti_tool.lti.models import Course
    from lti_tool.lti.roster import request_roster_sync, run_roster_sync

    with app.app_context():
        session = db.new_session()
        job = request_roster_sync(session, session.get(Course, course_id), None)
        session.commit()
        job_id = job.id
        session.close()
        with QueryCounter(db.engine) as queries:
            started = time.perf_counter()
            run_roster_sync(job_id)
            elapsed = time.perf_counter() - started
        session = db.new_session()
        job = session.get(Job, job_id)
        outcome = dict(status=job.status.value, message=job.error or job.message, result=job.result or {})
        session.close()
    return dict(elapsed=elapsed, queries=queries.count, **outcome)


def nrps_requests(app, path_part: str) -> int:
    from lti_tool.db import db
    from lti_tool.sandbox import services as sb

    with app.app_context():
        session = db.new_session()
        n = len([r for r in sb.request_log(session, path_part) if r.method == "GET"])
        sb.clear_request_log(session)
        session.commit()
        session.close()
    return n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=5000)
    parser.add_argument("--page-size", type=int, default=100,
                        help="ROSTER_PAGE_SIZE, the limit the tool asks for (Canvas caps it at 50)")
    parser.add_argument("--pg", default="postgresql://127.0.0.1:5432/test")
    args = parser.parse_args()

    from lti_tool.cli import register_sandbox
    from lti_tool.db import db
    from lti_tool.lti import registry
    from lti_tool.lti.models import Course
    from lti_tool.sandbox import services as sb

    # A throw-away database (dropped at the end) with the tables straight from the models, as the test suite
    # builds them (the migrations may lag while features are being built), marked as migrated so the app serves.
    with bench_app(args.pg, "roster", ROSTER_PAGE_SIZE=args.page_size) as (app, _url):
        import logging

        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        with served(app) as base_url:
            with app.app_context():
                session = db.session
                info = register_sandbox(session, base_url)
                platform = registry.find_platform(session, info.issuer, info.client_id)
                sb_platform = sb.first_platform(session)
                deployment = registry.find_deployment(session, platform, sb.DEPLOYMENT_ID)
                courses = {}
                for paging in ("canvas", "moodle"):
                    started = time.perf_counter()
                    sb_course = sb.add_bulk_course(session, sb_platform, f"bench-{paging}", args.members,
                                                   nrps_paging=paging)
                    course = Course(platform_id=platform.id, deployment=deployment, context_id=sb_course.context_id,
                                    title=sb_course.title, nrps_url=sb.memberships_url(sb_platform, sb_course))
                    session.add(course)
                    session.commit()
                    courses[paging] = course.id
                    print(f"set-up: sandbox course bench-{paging} with {args.members} members "
                          f"({time.perf_counter() - started:.1f} s)")
                sb.clear_request_log(session)
                session.commit()

            print(f"\nRoster sync of {args.members} members, PostgreSQL, app on loopback, "
                  f"ROSTER_PAGE_SIZE={args.page_size}")
            header = (f"{'paging':8} {'run':17} {'time':>8} {'members/s':>10} {'NRPS GETs':>10} {'SQL':>7} "
                      f"{'SQL/page':>9}  outcome")
            print(header)
            print("-" * len(header))
            for paging, course_id in courses.items():
                part = "names_and_roles" if paging == "canvas" else "/memberships"
                for run in ("first (all new)", "again (no change)"):
                    figures = run_sync(app, course_id)
                    pages = nrps_requests(app, part)
                    listed = figures["result"].get("listed", 0)
                    rate = listed / figures["elapsed"] if figures["elapsed"] else 0
                    per_page = figures["queries"] / pages if pages else 0
                    print(f"{paging:8} {run:17} {figures['elapsed']:7.2f}s {rate:10.0f} {pages:10d} "
                          f"{figures['queries']:7d} {per_page:9.1f}  {figures['status']}: {figures['message']}")


if __name__ == "__main__":
    main()
