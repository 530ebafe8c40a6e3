"""PD-hours and certificate pages at two sizes: the program ledger (and its CSV), one person's ledger and the
public verification page, for 10 participants × 5 sessions and for 40 participants × 30 sessions (every
session marked, 10 module items done each, 2 manual lines each, a book of 4 readings); then the time to issue a
certificate (ledger, font check, WeasyPrint PDF). Prints the time and the SQL statements of each page; the
statement counts must not grow with the size (no query per person, line or record).

    .venv/bin/python bench/hours.py                      # SQLite in a temporary folder
    .venv/bin/python bench/hours.py --db postgresql://127.0.0.1:5432/test   # a throw-away database there

It never asserts timings; run it by hand and compare."""
from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench._common import bench_app, bench_cohort, log_in, render_stats  # noqa: E402
from lti_tool.db import db, utcnow  # noqa: E402


def build(app, participants: int, sessions: int, tag: str):
    from lti_tool.attendance import writes as attendance
    from lti_tool.attendance.models import AttendanceRecord
    from lti_tool.calendar.models import Meeting, MeetingKind
    from lti_tool.course.access import access_for
    from lti_tool.discussions.models import Book, Reading
    from lti_tool.hours import writes as hours
    from lti_tool.hours.models import Category, ManualLine
    from lti_tool.modules.models import ItemCompletion, ItemKind, Module, ModuleItem

    with app.app_context():
        s = db.session
        course, program, lead, cohort, people = bench_cohort(s, tag, participants)
        start = utcnow() - dt.timedelta(days=7 * sessions)
        meetings = [Meeting(program=program, cohort=cohort, kind=MeetingKind.virtual, title=f"Session {i + 1}",
                            starts_at=start + dt.timedelta(days=7 * i), ends_at=start + dt.timedelta(days=7 * i, minutes=90),
                            break_minutes=10) for i in range(sessions)]
        s.add_all(meetings)
        statuses = attendance.ensure_statuses(s, program)
        module = Module(program=program, title="Module", released=True)
        s.add(module)
        s.flush()
        items = [ModuleItem(module_id=module.id, kind=ItemKind.page, title=f"Item {i}", minutes=20, position=i)
                 for i in range(10)]
        book = Book(program_id=program.id, title="Street Data")
        s.add_all([*items, book])
        s.flush()
        s.add_all([Reading(book_id=book.id, label=f"Chapter {i}", starts_on=dt.date(2030, 1, 1) + dt.timedelta(days=14 * i),
                           ends_on=dt.date(2030, 1, 10) + dt.timedelta(days=14 * i)) for i in range(4)])
        for i, meeting in enumerate(meetings):
            for j, person in enumerate(people):
                status = statuses[(i + j) % 4]
                s.add(AttendanceRecord(meeting_id=meeting.id, membership_id=person.id, status_id=status.id,
                                       marked_by_id=lead.id, minutes=attendance.evidence_minutes(meeting, status.kind)))
        for person in people:
            s.add_all([ItemCompletion(item_id=item.id, membership_id=person.id, completed_at=start, how="viewed")
                       for item in items])
            s.add_all([ManualLine(program_id=program.id, membership_id=person.id, category=Category.other,
                                  on_date=dt.date(2030, 3, k + 1), minutes=60, title="Conference", reason="On file",
                                  entered_by_id=lead.id) for k in range(2)])
        access = access_for(s, lead, program)
        hours.save_profile(s, access, unit="ceu", rounding="down_tenth", caps={"module": 20}, reading_minutes=60,
                           excused_percent=0, provider="Bench Academy", signer_name="Lead", certificates_enabled=True)
        s.commit()
        return course.id, people[0].id, lead.user_id, [p.id for p in people[:5]]


def issue_times(app, course_id: int, people: list[int]) -> list[float]:
    from sqlalchemy import select

    from lti_tool.certificates import writes
    from lti_tool.course.access import access_for
    from lti_tool.lti.models import CourseRole, Membership

    times = []
    with app.app_context():
        s = db.session
        lead = s.scalar(select(Membership).where(Membership.course_id == course_id,
                                                 Membership.role == CourseRole.facilitator))
        for membership_id in people:
            t0 = time.perf_counter()
            writes.issue_by_hand(s, access_for(s, lead), membership_id, "https://bench.example")
            s.commit()
            times.append(time.perf_counter() - t0)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="", help="PostgreSQL URL of a server database to make a throw-away DB in")
    args = parser.parse_args()
    with bench_app(args.db, "hours") as (app, url):
        print(f"database: {url.split('@')[-1]}")
        print(f"{'page':<16} {'size':<18} {'SQL statements':>15} {'median time':>12}")
        results = {}
        for participants, sessions in ((10, 5), (40, 30)):
            course_id, person_id, user_id, first_five = build(app, participants, sessions, f"{participants}x{sessions}")
            client = app.test_client()
            log_in(client, user_id)
            issued = issue_times(app, course_id, first_five)
            from sqlalchemy import select

            from lti_tool.certificates.models import Certificate

            with app.app_context():
                code = db.session.scalar(select(Certificate.code).where(Certificate.membership_id == person_id))
            for page, path in (("program ledger", f"/c/{course_id}/hours/program"),
                               ("program CSV", f"/c/{course_id}/hours/program.csv"),
                               ("person ledger", f"/c/{course_id}/hours/people/{person_id}"),
                               ("certificates", f"/c/{course_id}/certificates/"),
                               ("verify", f"/verify/{code}")):
                statements, seconds = render_stats(app, client, path, 5)
                results[(page, participants)] = statements
                print(f"{page:<16} {f'{participants} × {sessions}':<18} {statements:>15} {seconds * 1000:>9.1f} ms")
            print(f"{'issue (PDF)':<16} {f'{participants} × {sessions}':<18} {'':>15} "
                  f"{statistics.median(issued) * 1000:>9.1f} ms  (median of 5; first {issued[0] * 1000:.0f} ms)")
        pages = ("program ledger", "program CSV", "person ledger", "certificates", "verify")
        same = all(results[(p, 10)] == results[(p, 40)] for p in pages)
        print("statement counts independent of size:", "yes" if same else "NO")


if __name__ == "__main__":
    main()
