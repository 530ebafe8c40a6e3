"""Attendance pages at two sizes: the cohort grid and the quick roll for 10 participants × 5 sessions and for
40 participants × 30 sessions (every cell marked). Prints the time and the SQL statements of each page; the
statement counts must not grow with the size (no query per row or per cell).

    .venv/bin/python bench/attendance.py                      # SQLite in a temporary folder
    .venv/bin/python bench/attendance.py --db postgresql://127.0.0.1:5432/test   # a throw-away database there

It never asserts timings; run it by hand and compare."""
from __future__ import annotations

import argparse
import datetime as dt
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


from bench._common import bench_app, bench_cohort, log_in, render_stats  # noqa: E402
from lti_tool.db import db, utcnow  # noqa: E402


def build(app, participants: int, sessions: int, tag: str):
    from lti_tool.attendance import writes
    from lti_tool.attendance.models import AttendanceChange, AttendanceRecord
    from lti_tool.calendar.models import Meeting, MeetingKind
    from lti_tool.course.access import access_for

    with app.app_context():
        s = db.session
        course, program, lead, cohort, people = bench_cohort(s, tag, participants)
        start = utcnow() - dt.timedelta(days=7 * sessions // 2)
        meetings = [Meeting(program=program, cohort=cohort if i % 3 else None, kind=MeetingKind.virtual,
                            title=f"Session {i + 1}", starts_at=start + dt.timedelta(days=7 * i),
                            ends_at=start + dt.timedelta(days=7 * i, minutes=90)) for i in range(sessions)]
        s.add_all(meetings)
        statuses = writes.ensure_statuses(s, program)
        s.flush()
        for i, meeting in enumerate(meetings):
            for j, person in enumerate(people):
                status = statuses[(i + j) % 4]
                r = AttendanceRecord(meeting_id=meeting.id, membership_id=person.id, status_id=status.id,
                                     marked_by_id=lead.id)
                s.add(r)
        s.flush()
        for r in s.query(AttendanceRecord).all():
            s.add(AttendanceChange(record_id=r.id, changed_by_id=lead.id, to_status_id=r.status_id))
        writes.set_requirement(s, access_for(s, lead, program), None, min_sessions=max(1, sessions * 3 // 4))
        s.commit()
        return course.id, cohort.id, meetings[1].id, lead.user_id   # a cohort session (meetings[0] is program-wide)


def measure(app, client, path: str, repeat: int = 5) -> tuple[int, float]:
    return render_stats(app, client, path, repeat)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="", help="PostgreSQL URL of a server database to make a throw-away DB in")
    args = parser.parse_args()
    with bench_app(args.db, "attendance") as (app, url):
        print(f"database: {url.split('@')[-1]}")
        print(f"{'page':<12} {'size':<18} {'SQL statements':>15} {'median time':>12}")
        results = {}
        for participants, sessions in ((10, 5), (40, 30)):
            course_id, cohort_id, meeting_id, user_id = build(app, participants, sessions, f"{participants}x{sessions}")
            client = app.test_client()
            log_in(client, user_id)
            for page, path in (("grid", f"/c/{course_id}/attendance/cohorts/{cohort_id}/grid"),
                               ("quick roll", f"/c/{course_id}/attendance/meetings/{meeting_id}/roll?cohort={cohort_id}"),
                               ("cohort page", f"/c/{course_id}/attendance/cohorts/{cohort_id}"),
                               ("grid CSV", f"/c/{course_id}/attendance/cohorts/{cohort_id}/grid.csv")):
                statements, seconds = measure(app, client, path)
                results[(page, participants)] = statements
                print(f"{page:<12} {f'{participants} × {sessions}':<18} {statements:>15} {seconds * 1000:>9.1f} ms")
        same = all(results[(p, 10)] == results[(p, 40)] for p in ("grid", "quick roll", "cohort page", "grid CSV"))
        print("statement counts independent of size:", "yes" if same else "NO")


if __name__ == "__main__":
    main()
