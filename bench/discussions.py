"""Book-study pages at two sizes: a reading thread of 500 posts by 50 participants (nested replies, reactions)
and the thread list (cohort discussion home) of a cohort with 40 threads; the same at a small size (20 posts,
5 threads). Prints the median time of 20 renders with the Flask test client (a participant past the post-first
gate, and the cohort's facilitator) and the SQL statements of each page; the counts must not grow with size.

    .venv/bin/python bench/discussions.py                      # SQLite in a temporary folder
    .venv/bin/python bench/discussions.py --db postgresql://127.0.0.1:5432/test   # a throw-away database there

It never asserts timings; run it by hand and compare."""
from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


from bench._common import bench_app, log_in, render_stats  # noqa: E402
from lti_tool.db import db, utcnow  # noqa: E402

REPEAT = 20


def build(app, posts: int, people: int, threads: int, tag: str) -> dict:
    """A cohort of ``people`` participants and a facilitator reading a book; the first reading's thread holds
    ``posts`` posts (a third are replies, some to replies; every fifth has reactions); ``threads`` threads in
    all, each with a few posts. Returns ids for the URLs and the two users."""
    from lti_tool.course.access import access_for
    from lti_tool.discussions import queries as q, writes as w
    from lti_tool.discussions.models import Post, PostFirst, Reaction, ReadState, Thread
    from lti_tool.lti.models import Course, CourseRole, Membership, Platform, User
    from lti_tool.programs.models import Cohort, CohortFacilitator, CohortMember, Program, SeatStatus

    rng = random.Random(7)
    with app.app_context():
        session = db.session
        platform = Platform(issuer=f"https://bench-{tag}.example", client_id="c", auth_login_url="https://x/a",
                            auth_token_url="https://x/t", key_set_url="https://x/k")
        course = Course(platform=platform, context_id=f"bench-{tag}", title=f"Bench {tag}")
        program = Program(course=course, title="CoP", timezone="America/New_York", settings={})
        session.add_all([platform, course, program])
        session.flush()

        def person(i, role=CourseRole.participant):
            m = Membership(user=User(platform=platform, sub=f"p{i}-{tag}", name=f"Person {i:03d}",
                                     email=f"p{i}@example.edu"), course=course, role=role, lti_roles=[])
            session.add(m)
            return m

        facilitator = person(0, CourseRole.facilitator)
        members = [person(i) for i in range(1, people + 1)]
        session.flush()
        program.settings = {"leads": [facilitator.id]}
        cohort = Cohort(program_id=program.id, name="Readers", capacity=max(20, people))
        session.add(cohort)
        session.flush()
        session.add(CohortFacilitator(cohort_id=cohort.id, membership_id=facilitator.id))
        session.add_all([CohortMember(cohort_id=cohort.id, membership_id=m.id, status=SeatStatus.active)
                         for m in members])
        session.flush()
        facilitator_access = access_for(session, facilitator, program)
        book = w.save_book(session, facilitator_access, title="Punished for Dreaming", cohort_ids=[cohort.id],
                           score_maximum=0)
        today = q.program_today(program)
        reading = w.save_reading(session, facilitator_access, book, label="Chapter 1", starts_on=today - dt.timedelta(days=1),
                                 ends_on=today + dt.timedelta(days=6), prompt="What struck you?",
                                 post_first=PostFirst.after_n_posts, post_first_n=1)
        big = session.query(Thread).filter_by(reading_id=reading.id).one()
        all_threads = [big] + [Thread(cohort_id=cohort.id, title=f"General thread {k}", created_by_id=facilitator.id)
                               for k in range(threads - 1)]
        session.add_all(all_threads[1:])
        session.flush()
        now = utcnow()
        made = []
        for i in range(posts):
            author = members[i % len(members)] if i < len(members) else rng.choice(members)
            parent = rng.choice(made) if made and i >= len(members) and rng.random() < 0.35 else None
            made.append(Post(thread_id=big.id, author_id=author.id, parent_id=parent.id if parent else None,
                             body_markdown=f"Post {i} " + "words " * 60,
                             body_html=f"<p>Post {i} " + "words " * 60 + "</p>",
                             created_at=now - dt.timedelta(minutes=posts - i)))
            session.add(made[-1])
            if i % 50 == 0:
                session.flush()
        session.flush()
        for i, p in enumerate(made):
            if i % 5 == 0:
                for m in rng.sample(members, 3):
                    if m.id != p.author_id:
                        session.add(Reaction(post_id=p.id, membership_id=m.id, kind="helpful"))
        for t in all_threads[1:]:
            for j in range(3):
                session.add(Post(thread_id=t.id, author_id=members[j].id, body_markdown="x", body_html="<p>x</p>"))
        session.flush()
        viewer = members[0]
        # The participant has read half of the big thread.
        session.add(ReadState(membership_id=viewer.id, thread_id=big.id, last_read_post_id=made[posts // 2].id))
        session.commit()
        return {"course": course.id, "cohort": cohort.id, "thread": big.id,
                "users": {"participant": viewer.user_id, "facilitator": facilitator.user_id}}


def measure(app, client, path: str) -> tuple[int, float]:
    return render_stats(app, client, path, REPEAT)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="", help="PostgreSQL URL of a server database to make a throw-away DB in")
    args = parser.parse_args()
    with bench_app(args.db, "dsc") as (app, url):
        print(f"database: {url.split('@')[-1]}; median of {REPEAT} renders each")
        print(f"{'page':<40} {'size':<34} {'SQL statements':>15} {'median time':>12}")
        results = {}
        for posts, people, threads in ((20, 5, 5), (500, 50, 40)):
            ids = build(app, posts, people, threads, f"{posts}")
            base = f"/c/{ids['course']}/discussions/cohort/{ids['cohort']}"
            for role, user_id in ids["users"].items():
                client = app.test_client()
                log_in(client, user_id)
                if role == "participant":   # past the post-first gate: the whole thread is visible
                    with app.app_context():
                        from lti_tool.discussions.models import Post
                        from lti_tool.lti.models import Membership

                        m = db.session.query(Membership).filter_by(user_id=user_id).one()
                        assert db.session.query(Post).filter_by(thread_id=ids["thread"], author_id=m.id).count()
                for page, path in (("thread", f"{base}/threads/{ids['thread']}"), ("thread list (cohort home)", base)):
                    statements, seconds = measure(app, client, path)
                    results[(role, page, posts)] = statements
                    size = f"{posts} posts, {people} people" if page == "thread" else f"{threads} threads"
                    print(f"{role + ': ' + page:<40} {size:<34} {statements:>15} {seconds * 1000:>9.1f} ms")
        same = all(results[(r, p, 20)] == results[(r, p, 500)] for r, p, _ in results)
        print("statement counts independent of size:", "yes" if same else "NO")


if __name__ == "__main__":
    main()
