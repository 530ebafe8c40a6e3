"""The protocol runner's poll (GET /c/<course>/protocols/runs/<run>/state, asked by every open run page every
PROTOCOL_POLL_SECONDS): its SQL statements and time for each of 20 viewers of one live run (and of a run of 5, to
show the count does not grow with the viewers or the contributions), then how many requests per second one
gunicorn sync worker answers, and so how many viewers polling every 2 s one worker holds.

    .venv/bin/python bench/protocols.py                      # SQLite in a temporary folder
    .venv/bin/python bench/protocols.py --db postgresql://127.0.0.1:5432/test   # a throw-away database there
    .venv/bin/python bench/protocols.py --seconds 10 --clients 8

It never asserts timings; run it by hand and compare."""
from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench._common import bench_app, bench_cohort, log_in, render_stats  # noqa: E402
from lti_tool.db import db  # noqa: E402


def build(app, viewers: int, tag: str, contributions: int):
    """A live Consultancy run in its discussion for a cohort of ``viewers`` (one presents, the others take part),
    with ``contributions`` posted: (course id, run id, user ids of the viewers)."""
    from lti_tool.course.access import access_for
    from lti_tool.protocols import writes
    from lti_tool.protocols.queries import builtin_ref, get_run

    with app.app_context():
        s = db.session
        course, program, lead, cohort, people = bench_cohort(s, tag, viewers)
        lead_access = access_for(s, lead, program)
        run = writes.create_run(s, lead_access, builtin_ref("consultancy"), cohort_id=cohort.id)
        for _ in range(4):
            loaded = get_run(s, access_for(s, lead, program), run.id)
            writes.control(s, access_for(s, lead, program), loaded, "start" if run.status.value == "scheduled"
                           else "advance", run.version)
        for i in range(contributions):
            who = people[1 + i % (viewers - 1)]
            writes.contribute(s, access_for(s, who, program), get_run(s, access_for(s, who, program), run.id), 4,
                              f"Feedback {i}")
        s.commit()
        return course.id, run.id, [p.user_id for p in people]


def poll_stats(app, course_id: int, run_id: int, user_ids: list[int]) -> tuple[set[int], float]:
    """Each viewer's poll: the statement counts seen (one value when fixed) and the median time."""
    counts, times = set(), []
    for user_id in user_ids:
        client = app.test_client()
        log_in(client, user_id)
        statements, seconds = render_stats(app, client, f"/c/{course_id}/protocols/runs/{run_id}/state", 3,
                                           expect='"phase":"Discussion"')
        counts.add(statements)
        times.append(seconds)
    return counts, statistics.median(times)


def session_cookie(app, user_id: int) -> tuple[str, str]:
    """The signed session cookie a launch would leave for ``user_id`` (Flask-Login's keys)."""
    serializer = app.session_interface.get_signing_serializer(app)
    return app.config["SESSION_COOKIE_NAME"], serializer.dumps({"_user_id": str(user_id), "_fresh": True})


def worker_throughput(db_url: str, tmp: str, path: str, cookie: tuple[str, str], seconds: float,
                      clients: int) -> tuple[float, float, int]:
    """Start gunicorn with one sync worker on ``db_url`` and hammer ``path`` from ``clients`` threads for
    ``seconds``: (requests/s, median latency in ms, errors)."""
    import requests

    port = 18000 + os.getpid() % 1000
    env = dict(os.environ, LTI_TOOL_CONFIG="testing", DATABASE_URL=db_url, STATE_CACHE_DIR=os.path.join(tmp, "gstate"),
               HUEY_SQLITE_PATH=os.path.join(tmp, "ghuey.sqlite3"), REDIS_URL="", RATELIMIT_ENABLED="false")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    server = subprocess.Popen([os.path.join(os.path.dirname(sys.executable), "gunicorn"), "--workers", "1",
                               "--worker-class", "sync", "--bind", f"127.0.0.1:{port}", "--log-level", "warning",
                               "wsgi:app"], cwd=root, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                if requests.get(base + path, cookies=dict([cookie]), timeout=10).status_code == 200:
                    break
            except requests.RequestException:
                pass
            time.sleep(0.1)
        else:
            raise RuntimeError("gunicorn did not answer the poll")
        done, errors, latencies = [0], [0], []
        lock = threading.Lock()
        stop = time.perf_counter() + seconds

        def hammer():
            http = requests.Session()
            http.cookies.set(*cookie)
            while time.perf_counter() < stop:
                t0 = time.perf_counter()
                ok = http.get(base + path, timeout=10).status_code == 200
                with lock:
                    latencies.append(time.perf_counter() - t0)
                    done[0] += 1
                    errors[0] += 0 if ok else 1

        threads = [threading.Thread(target=hammer) for _ in range(clients)]
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - t0
        return done[0] / elapsed, statistics.median(latencies) * 1000, errors[0]
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="", help="PostgreSQL URL of a server database to make a throw-away DB in")
    parser.add_argument("--seconds", type=float, default=8.0, help="how long to load the gunicorn worker")
    parser.add_argument("--clients", type=int, default=6, help="threads polling at once")
    args = parser.parse_args()
    with bench_app(args.db, "protocols") as (app, url):
        print(f"database: {url.split('@')[-1]}")
        print(f"{'run':<34} {'SQL statements per poll':>24} {'median time':>12}")
        results = {}
        for viewers, contributions in ((5, 3), (20, 60)):
            course_id, run_id, users = build(app, viewers, f"v{viewers}", contributions)
            counts, seconds = poll_stats(app, course_id, run_id, users)
            results[viewers] = (course_id, run_id, users, counts)
            label = f"{viewers} viewers, {contributions} contributions"
            print(f"{label:<34} {', '.join(map(str, sorted(counts))):>24} {seconds * 1000:>9.1f} ms")
        same = len(results[5][3] | results[20][3]) == 1
        print("statement count the same for every viewer and size:", "yes" if same else "NO")
        course_id, run_id, users, _ = results[20]
        path = f"/c/{course_id}/protocols/runs/{run_id}/state"
        tmp = tempfile.mkdtemp(prefix="bench-protocols-gunicorn-")
        try:
            rps, latency, errors = worker_throughput(url, tmp, path, session_cookie(app, users[1]),
                                                     args.seconds, args.clients)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        poll = app.config["PROTOCOL_POLL_SECONDS"]
        print(f"one gunicorn sync worker, {args.clients} clients for {args.seconds:.0f} s: {rps:.0f} polls/s, "
              f"median {latency:.1f} ms, {errors} errors")
        print(f"viewers one worker holds polling every {poll} s: about {int(rps * poll)}")


if __name__ == "__main__":
    main()
