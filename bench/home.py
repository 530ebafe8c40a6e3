"""The program home pages at two sizes: a lead's page for a program of 12 cohorts of 20 with a year of sessions
(10 per cohort plus program-wide ones), and for 2 cohorts of 5. Prints the median time of 20 renders with the
Flask test client (logged in as the lead) and the SQL statements of each page; the counts must not grow with
the size (no query per cohort, member or session). A cohort facilitator's and a participant's page are
measured the same way.

    .venv/bin/python bench/home.py                      # SQLite in a temporary folder
    .venv/bin/python bench/home.py --db postgresql://127.0.0.1:5432/test   # a throw-away database there

It never asserts timings; run it by hand and compare."""
from __future__ import annotations

import argparse
import datetime as dt
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


from bench._common import bench_app, log_in, render_stats  # noqa: E402
from lti_tool.db import db, utcnow  # noqa: E402

REPEAT = 20


def build(app, cohorts: int, members: int, tag: str) -> tuple[int, dict[str, int]]:
    """A program of ``cohorts`` cohorts of ``members`` (each with 3 waiting and 2 applications), 10 sessions per
    cohort over the year, a kick-off and a close-out, the milestones. Returns the course id and the user ids of
    a lead, a cohort facilitator and a participant."""
    from lti_tool.calendar.models import Meeting, MeetingKind
    from lti_tool.lti.models import Course, CourseRole, Membership, Platform, User
    from lti_tool.programs.models import (Application, ApplicationStatus, Cohort, CohortFacilitator, CohortMember,
                                          Milestone, MilestoneKind, Program, SeatStatus, SmallGroup,
                                          SmallGroupMember)

    with app.app_context():
        s = db.session
        now = utcnow()
        platform = Platform(issuer=f"https://bench-{tag}.example", client_id="c", auth_login_url="https://x/a",
                            auth_token_url="https://x/t", key_set_url="https://x/k")
        course = Course(platform=platform, context_id=f"bench-{tag}", title=f"Bench course {tag}",
                        roster_synced_at=now - dt.timedelta(hours=3))
        program = Program(course=course, title="Communities of Practice", year_label="2026–27",
                          timezone="America/New_York", settings={})
        s.add_all([platform, course, program])
        s.flush()

        def person(sub: str, name: str, role=CourseRole.participant) -> Membership:
            m = Membership(user=User(platform=platform, sub=f"{sub}-{tag}", name=name), course=course, role=role,
                           lti_roles=[])
            s.add(m)
            return m

        lead = person("lead", "Lead", CourseRole.facilitator)
        facilitator = person("fac", "Cohort Facilitator", CourseRole.facilitator)
        s.flush()
        program.settings = {"leads": [lead.id]}
        participant = None
        start = now - dt.timedelta(days=120)
        for c in range(cohorts):
            cohort = Cohort(program=program, name=f"Cohort {c + 1:02d}", capacity=members,
                            signup_opens_at=now - dt.timedelta(days=30), signup_closes_at=now + dt.timedelta(days=30))
            s.add(cohort)
            s.flush()
            s.add(CohortFacilitator(cohort_id=cohort.id, membership_id=(facilitator if c % 2 else lead).id))
            people = [person(f"p{c}-{i}", f"Participant {c:02d}-{i:02d}") for i in range(members + 5)]
            s.flush()
            participant = participant or people[0]
            for i, m in enumerate(people[:members]):
                s.add(CohortMember(cohort_id=cohort.id, membership_id=m.id, status=SeatStatus.active, joined_at=now))
            for i, m in enumerate(people[members:members + 3]):
                s.add(CohortMember(cohort_id=cohort.id, membership_id=m.id, status=SeatStatus.waitlisted,
                                   waitlisted_at=now - dt.timedelta(minutes=i)))
            for m in people[members + 3:]:
                s.add(Application(cohort_id=cohort.id, membership_id=m.id, status=ApplicationStatus.submitted,
                                  answers={}, submitted_at=now))
            s.add(SmallGroup(cohort_id=cohort.id, name="Triad 1",
                             members=[SmallGroupMember(membership_id=m.id) for m in people[:3]]))
            for k in range(10):
                starts = start + dt.timedelta(days=30 * k + c)
                s.add(Meeting(program=program, cohort_id=cohort.id, kind=MeetingKind.virtual,
                              title=f"Cohort {c + 1:02d}: session {k + 1}", starts_at=starts,
                              ends_at=starts + dt.timedelta(minutes=90), meeting_url="https://zoom.example.org/j/1"))
        for kind, days in ((MeetingKind.kickoff, -100), (MeetingKind.close_out, 200)):
            starts = now + dt.timedelta(days=days)
            s.add(Meeting(program=program, kind=kind, title=kind.label, starts_at=starts,
                          ends_at=starts + dt.timedelta(hours=2)))
        for i, kind in enumerate(MilestoneKind):
            s.add(Milestone(program=program, kind=kind, title=kind.value, on_date=(now + dt.timedelta(days=40 * i - 120)).date()))
        s.commit()
        return course.id, {"lead": lead.user_id, "facilitator": facilitator.user_id, "participant": participant.user_id}


MARKERS = {"lead": "To review", "facilitator": "Take attendance", "participant": "What is due"}


def measure(app, client, path: str, role: str) -> tuple[int, float]:
    return render_stats(app, client, path, REPEAT, expect=MARKERS[role])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="", help="PostgreSQL URL of a server database to make a throw-away DB in")
    args = parser.parse_args()
    with bench_app(args.db, "home") as (app, url):
        print(f"database: {url.split('@')[-1]}; median of {REPEAT} renders each")
        print(f"{'page':<17} {'program':<32} {'SQL statements':>15} {'median time':>12}")
        results = {}
        for cohorts, members in ((2, 5), (12, 20)):
            course_id, users = build(app, cohorts, members, f"{cohorts}x{members}")
            size = f"{cohorts} cohorts of {members}, {cohorts * 10 + 2} sessions"
            for role, user_id in users.items():
                client = app.test_client()
                log_in(client, user_id)
                statements, seconds = measure(app, client, f"/c/{course_id}/", role)
                results[(role, cohorts)] = statements
                print(f"{role + ' home':<17} {size:<32} {statements:>15} {seconds * 1000:>9.1f} ms")
        same = all(results[(r, 2)] == results[(r, 12)] for r in ("lead", "facilitator", "participant"))
        print("statement counts independent of size:", "yes" if same else "NO")


if __name__ == "__main__":
    main()
