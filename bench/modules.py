"""Module pages benchmark: the progress grid of a cohort (40 participants × 30 items by default) and a
participant's module page and checklist, each timed and with its SQL statements counted, next to the same
pages for a small cohort (5 × 3), so a count that grows with the rows shows at once. Prints figures; asserts
nothing about time.

    .venv/bin/python bench/modules.py [--participants 40] [--items 30] [--runs 20]
        [--pg postgresql://127.0.0.1:5432/test]     # default: a throw-away SQLite file

The pages are requested through Flask's test client, signed in as the facilitator or the participant.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench._common import bench_app, log_in, render_stats  # noqa: E402


def build(session, context: str, participants: int, items: int):
    from lti_tool.course.access import access_for
    from lti_tool.db import utcnow
    from lti_tool.lti.models import Course, CourseRole, Membership, Platform, User
    from lti_tool.modules import writes
    from lti_tool.modules.models import CompletionRule, ItemCompletion, ItemKind, ItemRelease, ReleaseRule
    from lti_tool.programs.models import Cohort, CohortFacilitator, CohortMember, Program, SeatStatus

    platform = Platform(issuer=f"https://{context}.example.edu", client_id="c", auth_login_url="https://x/a",
                        auth_token_url="https://x/t", key_set_url="https://x/k")
    course = Course(platform=platform, context_id=context, title=context)
    program = Program(course=course, title=context, timezone="America/New_York", settings={},
                      starts_on=dt.date.today() - dt.timedelta(days=60), ends_on=dt.date.today() + dt.timedelta(days=300))
    session.add_all([platform, course, program])
    session.flush()

    def person(name, role):
        m = Membership(user=User(platform=platform, sub=f"{context}-{name}", name=name), course=course, role=role,
                       lti_roles=[])
        session.add(m)
        return m

    lead = person("Lead", CourseRole.facilitator)
    fac = person("Facilitator", CourseRole.facilitator)
    people = [person(f"Participant {i:03d}", CourseRole.participant) for i in range(participants)]
    session.flush()
    program.settings = {"leads": [lead.id]}
    cohort = Cohort(program=program, name="Cohort")
    session.add(cohort)
    session.flush()
    session.add(CohortFacilitator(cohort_id=cohort.id, membership_id=fac.id))
    session.add_all([CohortMember(cohort_id=cohort.id, membership_id=p.id, status=SeatStatus.active) for p in people])
    session.flush()
    access = access_for(session, lead, program)
    first = writes.save_module(session, access, title="Before", cohort_ids=[cohort.id], released=True)
    writes.save_item(session, access, first, kind=ItemKind.page, title="Intro")
    module = writes.save_module(session, access, title="Week", cohort_ids=[cohort.id],
                                release_rule=ReleaseRule.after_module, after_module_id=first.id)
    for n in range(items):
        writes.save_item(session, access, module, kind=ItemKind.page, title=f"Item {n}", minutes=5,
                         completion_rule=CompletionRule.marked_done,
                         release=ItemRelease.after_previous if n % 3 == 2 else ItemRelease.with_module)
    now = utcnow()
    for i, p in enumerate(people):
        session.add(ItemCompletion(item_id=first.items[0].id, membership_id=p.id, completed_at=now, how="viewed"))
        for item in module.items[: (i * 7) % (items + 1)]:
            session.add(ItemCompletion(item_id=item.id, membership_id=p.id, completed_at=now, how="marked_done"))
    session.commit()
    return course.id, module.id, fac.user_id, people[0].user_id


def measure(app, user_id: int, path: str, runs: int) -> tuple[int, float, int]:
    """The SQL statements of one request, the median time (ms) and the size of the page."""
    client = app.test_client()
    log_in(client, user_id)
    statements, seconds = render_stats(app, client, path, runs)
    return statements, seconds * 1000, len(client.get(path).data)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--participants", type=int, default=40)
    parser.add_argument("--items", type=int, default=30)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--pg", default="")
    args = parser.parse_args()

    from lti_tool.db import db

    with bench_app(args.pg, "modules") as (app, _url):
        with app.app_context():
            small = build(db.session, "bench-small", 5, 3)
            big = build(db.session, "bench-big", args.participants, args.items)
        print(f"database: {'PostgreSQL' if args.pg else 'SQLite'}; median of {args.runs} requests each\n")
        print(f"{'page':42} {'size':>9} {'queries':>8} {'median ms':>10} {'bytes':>9}")
        for (cid, mid, fac_uid, par_uid), size in ((small, "5×3"), (big, f"{args.participants}×{args.items}")):
            pages = [("progress grid (facilitator)", fac_uid, f"/c/{cid}/modules/{mid}/progress"),
                     ("progress CSV (facilitator)", fac_uid, f"/c/{cid}/modules/{mid}/progress.csv"),
                     ("module page (participant)", par_uid, f"/c/{cid}/modules/{mid}"),
                     ("checklist and my week (participant)", par_uid, f"/c/{cid}/modules/"),
                     ("module page (facilitator)", fac_uid, f"/c/{cid}/modules/{mid}")]
            for name, uid, path in pages:
                queries, median, size_bytes = measure(app, uid, path, args.runs)
                print(f"{name:42} {size:>9} {queries:>8} {median:>10.1f} {size_bytes:>9}")


if __name__ == "__main__":
    main()
