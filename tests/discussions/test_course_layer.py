"""The book study on the shared course layer, through real launches: a participant named a cohort's
facilitator (as an accepted proposal makes) runs that cohort's discussions and nothing of another's; those
who run a cohort keep their names in its anonymous threads; times in the viewer's own zone; the participation
CSV through the one CSV writer; a job queue that is down fails no post."""
from __future__ import annotations

import csv
import io
import re

import pytest
from sqlalchemy import select

from lti_tool.db import db
from lti_tool.discussions.models import Post, Thread
from lti_tool.lti.models import Membership
from lti_tool.programs.models import CohortFacilitator
from tests.discussions.test_views import (  # noqa: F401  (lti and setup are fixtures)
    FAC, OUTSIDER, P1, last_post_id, lti, member, post, setup, text_of,
)
from tests.lti_client import forms

PROPOSER = "demo-participant-5"     # an LMS Learner whose proposal became the cohort "Others"


@pytest.fixture
def others(app, lti, setup) -> dict:
    """Participant 5 is named facilitator of "Others" (participant 9's cohort) and holds no seat in "Readers"."""
    lti(PROPOSER)
    with app.app_context():
        db.session.add(CohortFacilitator(cohort_id=setup.other_cohort_id, membership_id=member(app, PROPOSER).id))
        thread_id = db.session.scalar(select(Thread.id).where(Thread.cohort_id == setup.other_cohort_id))
        db.session.commit()
    base = f"/c/{setup.cid}/discussions/cohort/{setup.other_cohort_id}"
    return {"base": base, "thread_id": thread_id, "thread": f"{base}/threads/{thread_id}"}


def _post_in(browser, path: str, body: str):
    page = browser.get(path)
    assert page.status_code == 200, page.text[:300]
    index = next(i for i, f in enumerate(forms(page.text)) if f.action.endswith("/posts"))
    return browser.submit(page, index=index, body=body, parent_id="")


def _name(app, sub: str) -> str:
    with app.app_context():
        return db.session.get(Membership, member(app, sub).id).user.display_name


def test_a_participant_named_a_cohorts_facilitator_moderates_it_and_finds_no_other_cohort(app, lti, setup, others):
    nine = lti(OUTSIDER)
    assert _post_in(nine, others["thread"], "Our district piloted this last year.").status_code == 200
    pid = last_post_id(app)
    proposer = lti(PROPOSER)

    page = proposer.get(others["thread"])
    assert "Facilitator tools" in page.text
    pin = next(i for i, f in enumerate(forms(page.text)) if f.fields.get("action") == "pin")
    assert "Thread pinned" in proposer.submit(page, index=pin).text
    page = proposer.get(others["thread"])
    lock = next(i for i, f in enumerate(forms(page.text)) if f.fields.get("reason") is not None)
    locked = proposer.submit(page, index=lock, action="lock", reason="Paused until our session")
    assert "Locked:" in locked.text and "Paused until our session" in locked.text
    hide = proposer.get(f"{others['base']}/posts/{pid}/hide")
    hidden = proposer.submit(hide, index=len(forms(hide.text)) - 1, reason="Names a student")
    assert "Hidden by a facilitator: Names a student" in text_of(hidden.text)
    grid = proposer.get(f"{others['base']}/participation")
    assert grid.status_code == 200 and "<caption id=" in grid.text and _name(app, OUTSIDER) in grid.text
    csv_file = proposer.get(f"{others['base']}/participation/{setup.book_id}.csv")
    assert csv_file.status_code == 200 and _name(app, OUTSIDER) in csv_file.content.decode("utf-8-sig")
    assert proposer.get(f"{others['base']}/moderation").status_code == 200
    with app.app_context():
        thread = db.session.get(Thread, others["thread_id"])
        assert thread.pinned and thread.locked and db.session.get(Post, pid).hidden

    # Readers: no seat, not theirs to run. Nothing of it exists for them.
    token = proposer.csrf_token(others["thread"])
    readers_post = post(lti(P1), setup, "Readers only").status_code == 200 and last_post_id(app)
    for path in (setup.base, setup.thread, f"{setup.base}/moderation", f"{setup.base}/participation",
                 f"{setup.base}/participation/{setup.book_id}.csv", f"{setup.base}/posts/{readers_post}/hide",
                 f"{setup.base}/search?q=Readers"):
        assert proposer.get(path).status_code == 404, path
    assert proposer.post(f"{setup.thread}/moderate", data={"csrf_token": token, "action": "pin"}).status_code == 404
    with app.app_context():
        assert not db.session.get(Thread, setup.thread_id).pinned


def test_who_runs_a_cohort_keeps_their_name_in_its_anonymous_threads_and_can_be_mentioned(app, lti, setup, others):
    with app.app_context():
        db.session.get(Thread, others["thread_id"]).anonymous_to_peers = True
        db.session.commit()
    proposer_name = _name(app, PROPOSER)
    assert _post_in(lti(PROPOSER), others["thread"], "Start with one story each.").status_code == 200
    nine = lti(OUTSIDER)
    seen = _post_in(nine, others["thread"], "Mine: the bus driver's view.")     # past the post-first gate
    posts = text_of(seen.text).split("Posts", 1)[1]
    assert proposer_name in posts and not re.search(r"Participant [0-9A-F]{4}", posts)
    names = [p["name"] for p in nine.get(f"{others['base']}/people.json",
                                         params={"thread": others["thread_id"]}).json()["people"]]
    assert names == [proposer_name]
    mention = _post_in(nine, others["thread"], f"@[{proposer_name}] here is mine.")
    assert mention.status_code == 200 and "dsc-mention" in mention.text


def test_post_times_are_shown_in_the_viewers_own_zone_with_the_zone_named(app, lti, setup):
    ann = lti(P1)
    post(ann, setup, "When did I write this?")
    with app.app_context():
        db.session.get(Membership, member(app, P1).id).user.timezone = "Europe/Berlin"
        db.session.commit()
    page = ann.get(setup.thread)
    stamp = re.search(r'<time datetime="[^"]+" title="Europe/Berlin">([^<]+)</time>', page.text)
    assert stamp is not None and re.search(r"\bCES?T$", stamp.group(1)), page.text[:2000]
    assert re.search(r'title="America/New_York">[^<]+E[SD]T</time>', lti(FAC).get(setup.thread).text)


def test_the_participation_csv_is_never_cached_and_quotes_every_formula_start(app, lti, setup):
    from lti_tool.sandbox import services as sb

    with app.app_context():
        sb.add_user(db.session, sb.first_platform(db.session), P1, name="＝HYPERLINK(\"http://evil\")",
                    email="p1@example.edu")
        db.session.commit()
    post(lti(P1), setup, "initial")
    download = lti(FAC).get(f"{setup.base}/participation/{setup.book_id}.csv")
    assert download.headers["Cache-Control"] == "no-store"
    assert download.content.startswith("\ufeff".encode())
    cells = [cell for row in csv.reader(io.StringIO(download.content.decode("utf-8-sig"))) for cell in row]
    assert "'＝HYPERLINK(\"http://evil\")" in cells and not any(cell.startswith("＝") for cell in cells)


def test_a_post_is_saved_when_the_job_queue_is_down_and_its_emails_wait_for_the_sweep(app, lti, setup, monkeypatch,
                                                                                      queue_down, caplog):
    monkeypatch.setitem(app.config, "SMTP_HOST", "127.0.0.1")
    monkeypatch.setitem(app.config, "MAIL_FROM", "cop@example.edu")
    ann, fac = lti(P1), lti(FAC)
    post(ann, setup, "Mine")
    first = last_post_id(app)
    reply = post(fac, setup, "A reply while the queue is down", parent_id=first)
    assert reply.status_code == 200 and "Your post is up" in reply.text
    assert "notification emails wait for the sweep" in caplog.text
    with app.app_context():
        saved = db.session.get(Post, last_post_id(app))
        assert saved.body_markdown == "A reply while the queue is down" and saved.parent_id == first


def test_a_reading_that_has_started_gets_its_thread_at_the_first_page_visit_and_keeps_it(app, lti, setup):
    from lti_tool.discussions.models import Reading

    ann = lti(P1)
    with app.app_context():
        chapter_2 = db.session.scalar(select(Reading).where(Reading.label == "Chapter 2"))
        chapter_2.starts_on = db.session.scalar(select(Reading.starts_on).where(Reading.label == "Chapter 1"))
        db.session.commit()
        reading_id = chapter_2.id
    assert ann.get(f"/c/{setup.cid}/discussions/books/{setup.book_id}").status_code == 200   # a page that writes nothing
    with app.app_context():
        opened = db.session.scalars(select(Thread.cohort_id).where(Thread.reading_id == reading_id)).all()
    assert sorted(opened) == sorted([setup.cohort_id, setup.other_cohort_id])
