"""The library's search page at 500 and at 5,000 approved resources (8 types, 9 licences, 3 cohorts, 3 tags each
from 60): the first page, a word search, a search narrowed by type and tag, and a page far down the results;
then a resource's page and the final products. Prints the time and the SQL statements of each page; the
statement counts must not grow with the size (a fixed number of queries per page, paginated).

    .venv/bin/python bench/library.py                      # SQLite in a temporary folder
    .venv/bin/python bench/library.py --db postgresql://127.0.0.1:5432/test   # a throw-away database there

It never asserts timings; run it by hand and compare."""
from __future__ import annotations

import argparse
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench._common import bench_app, bench_cohort, log_in, render_stats  # noqa: E402
from lti_tool.db import db, utcnow  # noqa: E402

WORDS = ("coaching", "literacy", "feedback", "observation", "equity", "data", "planning", "protocol", "rubric",
         "family", "math", "science", "reading", "writing", "leadership", "budget", "schedule", "culture")


def build(app, n: int, tag: str):
    from lti_tool.library.models import (Collection, CollectionItem, Licence, Resource, ResourceKind, ResourceTag,
                                         ResourceVersion, VersionStatus, Visibility)
    from lti_tool.programs.models import Cohort, CohortMember, SeatStatus

    rng = random.Random(n)
    kinds, licences = list(ResourceKind), list(Licence)
    tags = [f"{w}-{i}" for i, w in enumerate(WORDS * 4)][:60]
    with app.app_context():
        s = db.session
        course, program, lead, cohort, people = bench_cohort(s, tag, 30)
        others = [Cohort(program=program, name=f"Cohort {c}") for c in ("B", "C")]
        s.add_all(others)
        s.flush()
        s.add_all([CohortMember(cohort_id=others[0].id, membership_id=people[0].id, status=SeatStatus.active)])
        cohorts = [cohort, *others]
        now = utcnow()
        resources = []
        for i in range(n):
            words = " ".join(rng.sample(WORDS, 4))
            resources.append(Resource(program_id=program.id, cohort_id=cohorts[i % 3].id,
                                      author_id=people[i % len(people)].id,
                                      visibility=Visibility.program if i % 4 == 0 else Visibility.cohort,
                                      approved_at=now, title=f"Resource {i} {words.split()[0]}",
                                      kind=kinds[i % len(kinds)], licence=licences[i % len(licences)]))
        s.add_all(resources)
        s.flush()
        versions = []
        for r in resources:
            chosen = rng.sample(tags, 3)
            description = f"A {r.kind.label.lower()} about " + " ".join(rng.sample(WORDS, 6))
            versions.append(ResourceVersion(resource_id=r.id, number=1, status=VersionStatus.approved, title=r.title,
                                            kind=r.kind, description=description,
                                            description_html=f"<p>{description}</p>", tags=chosen,
                                            url="https://example.org", licence=r.licence, may_share=True,
                                            created_by_id=r.author_id, created_at=now))
            r.search_text = " ".join([r.title, description, *chosen]).casefold()
            r.tags = [ResourceTag(tag=t) for t in chosen]
        s.add_all(versions)
        s.flush()
        for r, v in zip(resources, versions):
            r.approved_version_id = v.id
        products = [Collection(program_id=program.id, cohort_id=c.id, title=f"{c.name} product",
                               introduction_html="<p>Ours</p>", shared=True,
                               items=[CollectionItem(resource_id=resources[j].id, position=j) for j in range(k, 60, 3)])
                    for k, c in enumerate(cohorts)]
        s.add_all(products)
        s.commit()
        return course.id, people[0].user_id, resources[2].id, tags[0]   # resources[2]: cohort C, in a shared product


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="", help="PostgreSQL URL of a server database to make a throw-away DB in")
    args = parser.parse_args()
    with bench_app(args.db, "library") as (app, url):
        print(f"database: {url.split('@')[-1]}")
        print(f"{'page':<22} {'resources':>9} {'SQL statements':>15} {'median time':>12}")
        results = {}
        for n in (500, 5000):
            course_id, user_id, resource_id, first_tag = build(app, n, str(n))
            client = app.test_client()
            log_in(client, user_id)
            base = f"/c/{course_id}/library"
            for page, path, expect in (("library, first page", f"{base}/", "resources"),
                                       ("search one word", f"{base}/?q=coaching", "for “coaching”"),
                                       ("search two words", f"{base}/?q=coaching+rubric", "resources"),
                                       ("type + tag", f"{base}/?kind=reading&tag={first_tag}", "resources"),
                                       ("page 40", f"{base}/?page=40", "resources"),
                                       ("a resource", f"{base}/r/{resource_id}", None),
                                       ("final products", f"{base}/products/", "Final products"),
                                       ("showcase", f"{base}/showcase", "Showcase")):
                statements, seconds = render_stats(app, client, path, 5, expect)
                results[(page, n)] = statements
                print(f"{page:<22} {n:>9} {statements:>15} {seconds * 1000:>9.1f} ms")
        same = all(results[(p, 500)] == results[(p, 5000)] for p, _n in results if _n == 500)
        print("statement counts independent of size:", "yes" if same else "NO")


if __name__ == "__main__":
    main()
