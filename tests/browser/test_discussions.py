"""The book study in a real Chromium: a participant posts (with a preview) and sees nobody else's posts until
the post-first rule is met; another replies to a reply and reacts; the facilitator pins the thread and hides a
post with a reason. Each page: no serious/critical axe violations, no CSP refusals, nothing wider than a
360 px phone, and screenshots at 360 and 1280 px to look at."""
from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import select

from lti_tool.db import db
from lti_tool.course.access import access_for
from lti_tool.discussions import queries as q, writes as w
from lti_tool.discussions.models import PostFirst, Thread
from lti_tool.lti.models import Membership, User
from lti_tool.programs.models import Cohort, CohortFacilitator, CohortMember, Program, SeatStatus
from tests.browser.helpers import launch, look


def write(page, text: str) -> None:
    page.get_by_label("Your post").fill(text)


def test_post_first_replies_reactions_and_moderation_in_a_browser(page, person, live_server, sandbox, app):
    base = live_server.url
    course_id = launch(page, base, "demo-facilitator-1")
    ann, bo, fay = person(), person(), person()
    launch(ann, base, "demo-participant-1")
    launch(bo, base, "demo-participant-2")
    launch(fay, base, "demo-facilitator-2")

    with app.app_context():
        session = db.session

        def member(sub):
            return session.scalar(select(Membership).join(User).where(User.sub == sub,
                                                                      Membership.course_id == course_id))
        lead = member("demo-facilitator-1")
        program = session.scalar(select(Program).where(Program.course_id == course_id))
        program.settings = {**(program.settings or {}), "leads": [lead.id]}
        cohort = Cohort(program_id=program.id, name="Equity leaders")
        session.add(cohort)
        session.flush()
        session.add(CohortFacilitator(cohort_id=cohort.id, membership_id=member("demo-facilitator-2").id))
        for sub in ("demo-participant-1", "demo-participant-2"):
            session.add(CohortMember(cohort_id=cohort.id, membership_id=member(sub).id, status=SeatStatus.active))
        session.flush()
        lead_access = access_for(session, lead, program)
        book = w.save_book(session, lead_access, title="Punished for Dreaming", author="Bettina Love",
                           cohort_ids=[cohort.id])
        today = q.program_today(program)
        reading = w.save_reading(session, lead_access, book, label="Chapter 1: Reform and its harms",
                                 starts_on=today - dt.timedelta(days=1), ends_on=today + dt.timedelta(days=6),
                                 prompt="Which **reform** have you seen up close? What did it change?",
                                 post_first=PostFirst.after_n_posts, post_first_n=1)
        w.save_reading(session, lead_access, book, label="Chapter 2", starts_on=today + dt.timedelta(days=7),
                       ends_on=today + dt.timedelta(days=13))
        thread_id = session.scalar(select(Thread.id).where(Thread.reading_id == reading.id))
        cohort_id = cohort.id
        session.commit()
    home = f"{base}/c/{course_id}/discussions/cohort/{cohort_id}"
    thread = f"{home}/threads/{thread_id}"

    # Ann: the cohort home, then her first post with a preview.
    ann.goto(home)
    assert "This week's reading" in ann.content()
    look(ann, "discussions-home-participant")
    ann.goto(thread)
    write(ann, "In my district **zero tolerance** meant more suspensions, not safer schools.")
    ann.get_by_role("button", name="Preview").click()
    ann.locator("#preview strong").wait_for()
    assert ann.locator("#preview strong").inner_text() == "zero tolerance"
    ann.get_by_role("button", name="Post", exact=True).click()
    ann.wait_for_url(re.compile(r"#post-\d+$"))

    # Bo sees the prompt and the rule, nothing of Ann's, until he posts.
    bo.goto(thread)
    assert "zero tolerance" not in bo.content()
    assert "after your own first post" in bo.locator("main").inner_text()
    look(bo, "discussions-thread-before-posting")
    write(bo, "We saw the same with test-based promotion.")
    bo.get_by_role("button", name="Post", exact=True).click()
    bo.wait_for_url(re.compile(r"#post-\d+$"))
    assert "zero tolerance" in bo.content()

    # Bo replies to Ann, Ann replies to Bo's reply (a reply to a reply), Bo reacts.
    bo.locator(".dsc-post").first.get_by_role("link", name=re.compile("^Reply")).click()
    write(bo, "Did suspensions fall once the policy changed?")
    bo.get_by_role("button", name="Post", exact=True).click()
    bo.wait_for_url(re.compile(r"#post-\d+$"))
    ann.goto(thread)
    ann.locator(".dsc-depth-1").get_by_role("link", name=re.compile("^Reply")).click()
    write(ann, "They did, by a third, within two years. ")
    editor = ann.get_by_label("Your post")
    editor.press("End")
    editor.press_sequentially("@Ben")
    option = ann.locator("#mention-list").get_by_role("option", name="Ben Carter")
    option.click()                                     # @mention completion from the cohort's people
    assert editor.input_value().endswith("@[Ben Carter] ")
    ann.get_by_role("button", name="Post", exact=True).click()
    ann.wait_for_url(re.compile(r"#post-\d+$"))
    assert ann.locator(".dsc-depth-2 .dsc-reply-to").inner_text().startswith("in reply to ")
    bo.goto(thread)
    helpful = bo.locator(".dsc-post").first.get_by_role("button", name=re.compile("^Helpful"))
    helpful.click()
    bo.locator(".dsc-post").first.locator("button[aria-pressed=true]").wait_for()
    assert bo.locator(".dsc-post").first.locator(".dsc-count").first.inner_text() == "1"
    look(bo, "discussions-thread-participant")

    # Fay pins the thread and hides Bo's reply with a reason.
    fay.goto(thread)
    fay.get_by_text("Facilitator tools").click()
    fay.get_by_role("button", name="Pin thread").click()
    fay.wait_for_load_state()
    assert "Thread pinned" in fay.content()
    fay.locator(".dsc-depth-1").get_by_role("link", name=re.compile("^Hide")).click()
    fay.get_by_label("Reason").fill("Please keep student data out of posts.")
    fay.get_by_role("button", name="Hide the post").click()
    fay.wait_for_url(re.compile(r"#post-\d+$"))
    assert "Hidden by a facilitator: Please keep student data out of posts." in fay.locator("main").inner_text()
    look(fay, "discussions-thread-facilitator")
    fay.goto(f"{home}/participation")
    look(fay, "discussions-participation-grid")
    bo.goto(f"{home}/notifications")
    assert "hid your post" in bo.content() and "mentioned you" in bo.content()
    look(bo, "discussions-notifications")
