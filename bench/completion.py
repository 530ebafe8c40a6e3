"""Recomputing the completion rule for a program at two sizes: 20 participants × 6 criteria (one of each kind) and 200
participants × 40 criteria (over 12 sessions, all marked, 2 modules of 10 items, a book of 4 readings). Prints the
SQL statements and the time of a recompute of everyone (the first one, which writes every state, and one that finds
nothing new), of the cohort's page by risk and of one participant's forecast; the statement counts must not grow
with the size (no query per person or criterion).

    .venv/bin/python bench/completion.py                      # SQLite in a temporary folder
    .venv/bin/python bench/completion.py --db postgresql://127.0.0.1:5432/test   # a throw-away database there

It never asserts timings; run it by hand and compare."""
from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench._common import bench_app, bench_cohort, log_in, render_stats  # noqa: E402
from lti_tool.db import db, utcnow  # noqa: E402


def build(app, participants: int, criteria: int, tag: str):
    from lti_tool.attendance import writes as attendance
    from lti_tool.attendance.models import AttendanceRecord
    from lti_tool.calendar.models import Meeting, MeetingKind
    from lti_tool.completion import writes
    from lti_tool.completion.models import CompletionRule, RuleVersion
    from lti_tool.discussions.models import Book, BookCohort, Reading
    from lti_tool.modules.models import ItemCompletion, ItemKind, Module, ModuleCohort, ModuleItem

    with app.app_context():
        s = db.session
        course, program, lead, cohort, people = bench_cohort(s, tag, participants)
        start = utcnow() - dt.timedelta(days=7 * 8)
        meetings = [Meeting(program=program, cohort=cohort, kind=MeetingKind.virtual, title=f"Session {i + 1}",
                            starts_at=start + dt.timedelta(days=7 * i), ends_at=start + dt.timedelta(days=7 * i, minutes=90))
                    for i in range(12)]
        s.add_all(meetings)
        statuses = attendance.ensure_statuses(s, program)
        modules = [Module(program=program, title=f"Module {k}", released=True) for k in range(2)]
        book = Book(program_id=program.id, title="Street Data")
        s.add_all([*modules, book])
        s.flush()
        s.add_all([ModuleCohort(module_id=m.id, cohort_id=cohort.id) for m in modules])
        s.add(BookCohort(book_id=book.id, cohort_id=cohort.id))
        items = [ModuleItem(module_id=m.id, kind=ItemKind.page, title=f"Item {i}", position=i)
                 for m in modules for i in range(10)]
        s.add_all(items)
        s.add_all([Reading(book_id=book.id, label=f"Chapter {i}", starts_on=dt.date(2030, 1, 1) + dt.timedelta(days=14 * i),
                           ends_on=dt.date(2030, 1, 10) + dt.timedelta(days=14 * i)) for i in range(4)])
        s.flush()
        for i, meeting in enumerate(meetings[:8]):
            for j, person in enumerate(people):
                s.add(AttendanceRecord(meeting_id=meeting.id, membership_id=person.id,
                                       status_id=statuses[(i + j) % 4].id, marked_by_id=lead.id))
        for j, person in enumerate(people):
            s.add_all([ItemCompletion(item_id=item.id, membership_id=person.id, completed_at=start, how="viewed")
                       for item in items[: j % 20]])
        kinds = [("sessions", 6), ("points", 5), ("items", 8), ("modules", 1), ("readings", 2), ("posts", 3)]
        leaves = [{"kind": kinds[i % len(kinds)][0], "n": kinds[i % len(kinds)][1] + (i // len(kinds)) % (1 if kinds[i % len(kinds)][0] == "modules" else 3)}
                  for i in range(criteria)]
        tree = {"op": "all", "children": [leaves[0], {"op": "any", "children": leaves[1:]}]}
        rule = CompletionRule(program_id=program.id)
        s.add(rule)
        s.flush()
        version = RuleVersion(rule_id=rule.id, number=1, tree=writes.check(s, program, None, tree),
                              applied_at=utcnow())
        s.add(version)
        s.flush()
        rule.current_version_id = version.id
        s.commit()
        return course.id, program.id, cohort.id, people[0].id, lead.user_id


def counted(app, fn) -> tuple[int, float]:
    from sqlalchemy import event

    statements = []
    with app.app_context():
        engine = db.engine
        listener = lambda *a: statements.append(1)  # noqa: E731
        event.listen(engine, "before_cursor_execute", listener)
        try:
            t0 = time.perf_counter()
            fn(db.session)
            db.session.commit()
            seconds = time.perf_counter() - t0
        finally:
            event.remove(engine, "before_cursor_execute", listener)
    return len(statements), seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="", help="PostgreSQL URL of a server database to make a throw-away DB in")
    args = parser.parse_args()
    from lti_tool.completion import writes
    from lti_tool.programs.models import Program

    with bench_app(args.db, "completion") as (app, url):
        print(f"database: {url.split('@')[-1]}")
        print(f"{'what':<26} {'size':<22} {'SQL statements':>15} {'time':>12}")
        results = {}
        for participants, criteria in ((20, 6), (200, 40)):
            course_id, program_id, cohort_id, person_id, user_id = build(app, participants, criteria,
                                                                         f"{participants}x{criteria}")
            size = f"{participants} people × {criteria} criteria"
            for what in ("recompute (first)", "recompute (no change)"):
                n, seconds = counted(app, lambda s: writes.recompute(s, s.get(Program, program_id)))
                results[(what, participants)] = n
                print(f"{what:<26} {size:<22} {n:>15} {seconds * 1000:>9.1f} ms")
            client = app.test_client()
            log_in(client, user_id)
            for what, path in (("cohort page by risk", f"/c/{course_id}/completion/cohorts/{cohort_id}"),
                               ("a participant's forecast", f"/c/{course_id}/completion/people/{person_id}")):
                n, seconds = render_stats(app, client, path, 3)
                results[(what, participants)] = n
                print(f"{what:<26} {size:<22} {n:>15} {seconds * 1000:>9.1f} ms")
        same = all(results[(w, 20)] == results[(w, 200)] for w in ("recompute (no change)", "cohort page by risk",
                                                                    "a participant's forecast"))
        print("statement counts independent of size:",
              "yes" if same else "NO")


if __name__ == "__main__":
    main()
