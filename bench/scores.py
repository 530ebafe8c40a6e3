"""Score delivery benchmark: 1,000 learners' scores delivered by the worker to the sandbox LMS over HTTP.

A throw-away PostgreSQL database, the app (tool + sandbox LMS) served on loopback by werkzeug in a thread,
a bulk course of 1,000 learners in the sandbox with their tool memberships created directly, one graded
component, 1,000 scores recorded in the outbox; then the worker delivers them. Printed for 1, 2 and 4
concurrent workers: wall time, scores per second and the AGS requests the LMS saw (token, line item, score
POSTs, from the sandbox's request log). Then a failing LMS (500 for the first 50 score POSTs): every score
still arrives exactly once. It prints figures; it never asserts timings.

    .venv/bin/python bench/scores.py [-n 1000] [--workers 1,2,4] [--faults 50]
        [--pg postgresql://127.0.0.1:5432/test]

A worker here is what a Huey consumer thread runs for ``deliver_scores_task``: ``deliver_pending_scores()``,
each in its own thread with its own database session, claiming batches with FOR UPDATE SKIP LOCKED.
"""
from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import logging
import os
import sys
import threading
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._common import bench_app  # noqa: E402

COURSE = "bench-scores"


@contextlib.contextmanager
def serve(app):
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)


def set_up_course(app, base_url: str, n: int) -> int:
    """The sandbox course of n learners (and one instructor), the tool's course, users and memberships."""
    from sqlalchemy import insert, select

    from lti_tool.cli import register_sandbox
    from lti_tool.db import db
    from lti_tool.lti.models import Course, CourseRole, Membership, User
    from lti_tool.lti.registry import find_platform
    from lti_tool.lti.services import SCOPE_LINEITEM, SCOPE_RESULT_READ, SCOPE_SCORE
    from lti_tool.sandbox import services as sb

    with app.app_context():
        s = db.session
        info = register_sandbox(s, base_url)
        sandbox_platform = sb.first_platform(s)
        sandbox_course = sb.add_bulk_course(s, sandbox_platform, COURSE, n + 1, title="Bench: 1,000 learners")
        platform = find_platform(s, info.issuer, info.client_id)
        course = Course(platform_id=platform.id, context_id=COURSE, title="Bench: 1,000 learners",
                        ags_lineitems_url=sb.line_items_url(sandbox_platform, sandbox_course),
                        ags_scopes=[SCOPE_LINEITEM, SCOPE_RESULT_READ, SCOPE_SCORE])
        s.add(course)
        s.flush()
        subs = [f"{COURSE}-user-{i}" for i in range(2, n + 2)]        # user-1 is the instructor
        s.execute(insert(User), [dict(platform_id=platform.id, sub=sub, name=f"Person {i}",
                                      email=f"{sub}@example.edu") for i, sub in enumerate(subs, 2)])
        ids = s.scalars(select(User.id).where(User.platform_id == platform.id, User.sub.in_(subs))).all()
        s.execute(insert(Membership), [dict(user_id=uid, course_id=course.id, role=CourseRole.participant,
                                            lti_roles=[sb.LEARNER], source="roster") for uid in ids])
        s.commit()
        return course.id


def record_scores(app, course_id: int, key: str, label: str) -> tuple[int, float]:
    from sqlalchemy import select

    from lti_tool.db import db
    from lti_tool.grades import writes
    from lti_tool.grades.models import ComponentKind
    from lti_tool.lti.models import Course, Membership

    with app.app_context():
        s = db.session
        course = s.get(Course, course_id)
        component = writes.ensure_component(s, course, key, ComponentKind.module, label, 10)
        members = s.scalars(select(Membership).where(Membership.course_id == course_id)).all()
        started = time.perf_counter()
        for i, member in enumerate(members):
            writes.record_score(s, component, member, float(i % 11), comment="bench")
        s.commit()
        return len(members), time.perf_counter() - started


def reset_lms_counters(app) -> None:
    from lti_tool.db import db
    from lti_tool.lti import storage
    from lti_tool.sandbox import services as sb

    with app.app_context():
        sb.clear_request_log(db.session)
        db.session.commit()
        storage.cache().clear()     # each run starts without a cached token: its token requests are counted


def run_workers(app, workers: int, now: dt.datetime | None = None) -> list:
    from lti_tool.grades.delivery import deliver_pending_scores

    reports, errors = [], []

    def worker():
        try:
            with app.app_context():
                reports.append(deliver_pending_scores(now=now))
        except Exception as exc:  # shown below, the run goes on
            errors.append(repr(exc))

    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        print(f"  worker errors: {errors[:3]}")
    return reports


def lms_requests(app) -> Counter:
    from lti_tool.db import db
    from lti_tool.sandbox import services as sb

    counts: Counter = Counter()
    with app.app_context():
        for r in sb.request_log(db.session):
            if r.path.endswith("/token"):
                counts["token"] += 1
            elif r.path.endswith("/scores") and r.method == "POST":
                counts["score POST"] += 1
                if r.status >= 400:
                    counts["score POST refused/failed"] += 1
                    counts[f"score POST {r.status}"] += 1
            elif "/line_items" in r.path:
                counts[f"line item {r.method}"] += 1
            else:
                counts[f"other {r.method}"] += 1
    return counts


def gradebook_check(app, label: str, expected: int) -> str:
    from sqlalchemy import func, select

    from lti_tool.db import db
    from lti_tool.grades.models import ScoreDelivery
    from lti_tool.sandbox import services as sb

    with app.app_context():
        s = db.session
        course = sb.get_course(s, sb.first_platform(s), COURSE)
        items = [i for i in sb.line_items(s, course) if i.label == label]
        history = Counter(h.user_sub for i in items for h in sb.score_history(s, i))
        results = sum(len(sb.results(s, i)) for i in items)
        from lti_tool.grades.models import GradedComponent

        statuses = dict(s.execute(select(ScoreDelivery.status, func.count()).join(GradedComponent)
                                  .where(GradedComponent.label == label).group_by(ScoreDelivery.status)).all())
        twice = sum(1 for c in history.values() if c > 1)
        ok = len(items) == 1 and results == expected and len(history) == expected and twice == 0
        return (f"{'OK' if ok else 'MISMATCH'}: {len(items)} column, {results} results, {len(history)} learners "
                f"with a score, {twice} recorded twice; outbox: "
                + ", ".join(f"{k.value} {v}" for k, v in sorted(statuses.items(), key=lambda kv: kv[0].value)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=1000, help="learners (and scores)")
    parser.add_argument("--workers", default="1,2,4", help="concurrent workers per run, comma-separated")
    parser.add_argument("--faults", type=int, default=50, help="score POSTs answered 500 in the fault run")
    parser.add_argument("--pg", default=os.environ.get("TEST_DATABASE_URL", "postgresql://127.0.0.1:5432/test"))
    args = parser.parse_args()

    for name in ("werkzeug", "lti_tool", "huey", "alembic"):
        logging.getLogger(name).setLevel(logging.WARNING)
    # A throw-away database (dropped at the end) with the tables from the models, as the tests build them. Huey
    # is not immediate: its queue is SQLite in the bench's temporary folder and nobody consumes it, so recording
    # scores only fills the outbox; the workers below deliver it.
    with bench_app(args.pg, "scores", HUEY_IMMEDIATE=False) as (app, db_url):
        with serve(app) as base_url:
            started = time.perf_counter()
            course_id = set_up_course(app, base_url, args.n)
            print(f"Set-up: {args.n} learners in the sandbox and the tool in {time.perf_counter() - started:.1f} s "
                  f"(PostgreSQL {db_url.rsplit('/', 1)[-1]}, app on {base_url})")
            print()
            print(f"{'workers':>7}  {'recorded (s)':>16}  {'delivered':>9}  {'wall s':>7}  {'scores/s':>8}  "
                  f"{'token':>5}  {'line item':>9}  {'score POST':>10}  gradebook")
            for workers in [int(w) for w in args.workers.split(",")]:
                label = f"Bench module ({workers} worker{'s' if workers != 1 else ''})"
                reset_lms_counters(app)
                n, record_s = record_scores(app, course_id, f"bench:{workers}", label)
                started = time.perf_counter()
                reports = run_workers(app, workers)
                wall = time.perf_counter() - started
                sent = sum(r.sent for r in reports)
                counts = lms_requests(app)
                tokens = counts["token"]
                line_items = sum(v for k, v in counts.items() if k.startswith("line item"))
                print(f"{workers:>7}  {n:>6} in {record_s:5.1f} s  {sent:>9}  {wall:>7.2f}  "
                      f"{sent / wall:>8.0f}  {tokens:>5}  {line_items:>9}  {counts['score POST']:>10}  "
                      f"{gradebook_check(app, label, n)}")

            print()
            label = f"Bench module (LMS failing for the first {args.faults} score POSTs)"
            from lti_tool.db import db, utcnow
            from lti_tool.sandbox import services as sb

            reset_lms_counters(app)
            with app.app_context():
                sb.add_fault(db.session, "/scores", "500", times=args.faults)
                db.session.commit()
            n, _ = record_scores(app, course_id, "bench:faults", label)
            started = time.perf_counter()
            rounds, later = 0, utcnow()
            sent = retried = 0
            while True:   # the worker runs again as time passes (each round a few minutes later)
                reports = run_workers(app, 2, now=later)
                rounds += 1
                sent += sum(r.sent for r in reports)
                retried += sum(r.retried for r in reports)
                if not any(r.sent or r.retried or r.failed for r in reports) or rounds > 20:
                    break
                later += dt.timedelta(minutes=10)
            wall = time.perf_counter() - started
            counts = lms_requests(app)
            print(f"Fault run (2 workers; 500 for the first {args.faults} score POSTs): {sent} sent in {wall:.2f} s "
                  f"over {rounds} worker rounds, {retried} deliveries rescheduled after failed attempts; "
                  f"LMS saw {counts['token']} token, "
                  f"{sum(v for k, v in counts.items() if k.startswith('line item'))} line item, "
                  f"{counts['score POST']} score POSTs ({counts['score POST refused/failed']} answered with an error: "
                  + ", ".join(f"{k.split()[-1]} ×{v}" for k, v in sorted(counts.items()) if k[-3:].isdigit()) + ").")
            print(f"  gradebook: {gradebook_check(app, label, n)}")


if __name__ == "__main__":
    main()
