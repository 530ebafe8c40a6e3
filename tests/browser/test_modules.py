"""Modules in a real Chromium, launched from the sandbox LMS: a participant works through a module (a page, a
video, a reflection that unlocks after the video, their progress); a facilitator reorders items with the
keyboard only. Each page: no serious/critical axe violations, nothing wider than 360 px, screenshots."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from lti_tool.db import db
from lti_tool.lti.models import Membership, User
from lti_tool.course.access import access_for
from lti_tool.modules import writes
from lti_tool.modules.models import CompletionRule, ItemKind, ItemRelease, Module, ModuleItem, ReflectionVisibility
from lti_tool.programs.models import Cohort, CohortFacilitator, CohortMember, Program, SeatStatus
from tests.browser.helpers import launch, look


@pytest.fixture
def week(app, tmp_path):
    """After the lead's launch: cohort Alpha (facilitator-2; participant-1) and a module of four items."""
    app.config["UPLOAD_DIR"] = str(tmp_path / "uploads")

    def build():
        with app.app_context():
            s = db.session
            by_sub = {m.user.sub: m for m in s.scalars(select(Membership).join(User))}
            lead = by_sub["demo-facilitator-1"]
            program = s.scalar(select(Program).where(Program.course_id == lead.course_id))
            program.settings = {"leads": [lead.id]}
            alpha = Cohort(program=program, name="Alpha")
            s.add(alpha)
            s.flush()
            if "demo-facilitator-2" in by_sub:
                s.add(CohortFacilitator(cohort_id=alpha.id, membership_id=by_sub["demo-facilitator-2"].id))
            s.add_all([CohortMember(cohort_id=alpha.id, membership_id=by_sub["demo-participant-1"].id,
                                    status=SeatStatus.active)])
            s.flush()
            viewer = access_for(s, lead, program)
            module = writes.save_module(s, viewer, title="Week 1: Data meetings", released=True,
                                    overview="This week we look at **data meetings** that lead to action.",
                                    cohort_ids=[alpha.id])
            writes.save_item(s, viewer, module, kind=ItemKind.page, title="Welcome", minutes=5,
                         body="## Why this week\n\nMost data meetings end without a decision. Let's change that.")
            writes.save_item(s, viewer, module, kind=ItemKind.video, title="Watch the talk", minutes=20,
                         url="https://www.youtube.com/watch?v=dQw4w9WgXcQ", embed=True,
                         completion_rule=CompletionRule.marked_done)
            writes.save_item(s, viewer, module, kind=ItemKind.reflection, title="Reflect on your last meeting",
                         minutes=25, body="What decision came out of your last data meeting?",
                         release=ItemRelease.after_previous)
            writes.save_item(s, viewer, module, kind=ItemKind.reading, title="Read chapter 2", minutes=40,
                         url="https://example.org/chapter-2", completion_rule=CompletionRule.marked_done)
            s.commit()
            return module.id
    return build


def test_a_participant_works_through_a_module(page, person, live_server, sandbox, app, week):
    base = live_server.url
    cid = launch(page, base, "demo-facilitator-1")
    other = person()
    # No network here: the video player is answered by a stand-in page (an unanswered frame would hold up
    # the page's own navigations in headless Chromium).
    other.route("https://www.youtube-nocookie.com/**",
                lambda route: route.fulfill(status=200, content_type="text/html", body="<p>Video player</p>"))
    launch(other, base, "demo-participant-1")
    launch(person(), base, "demo-facilitator-2")
    mid = week()

    other.goto(f"{base}/c/{cid}/modules/")
    assert other.get_by_role("heading", name="My week").is_visible()
    assert "Opens after you finish “Watch the talk”" in other.inner_text("main")
    look(other, "modules-participant-checklist")

    other.get_by_role("link", name="Welcome").first.click()
    assert other.get_by_role("heading", name="Welcome", level=1).is_visible()
    other.get_by_role("link", name="Watch the talk").click()
    frame = other.locator("iframe[title='Video: Watch the talk']")
    assert frame.get_attribute("src") == "https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ"
    link = other.get_by_role("link", name=re.compile("Watch on Youtube"))
    assert link.get_attribute("target") == "_blank" and "noopener" in link.get_attribute("rel")
    assert "Locked" in other.inner_text(".mod-next")
    # The mouse, this time. Headless Chromium hit-tests a click made in the same frame as the scroll that
    # brought the button into view against the old layout when the page holds a cross-origin (out-of-process)
    # frame, so the click went nowhere about half the time; scrolling first and letting two frames paint fixes it.
    done = other.get_by_role("button", name="Mark as done")
    done.scroll_into_view_if_needed()
    other.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    with other.expect_navigation():
        done.click()
    assert "is done" in other.inner_text(".app-flashes")
    look(other, "modules-participant-video")
    with other.expect_navigation():
        other.locator(".mod-next a").press("Enter")      # the reflection is open now
    other.get_by_role("textbox", name="Your reflection").fill("We agreed on one action per grade level. It held for a week.")
    with other.expect_navigation():
        other.get_by_role("button", name="Submit my reflection").press("Enter")
    assert "Your reflection is submitted" in other.inner_text(".app-flashes")
    assert "3 of 4 required items done" in other.inner_text("main")
    look(other, "modules-participant-reflection")
    other.goto(f"{base}/c/{cid}/modules/{mid}")
    look(other, "modules-participant-module")


def test_a_facilitator_authors_and_reorders_with_the_keyboard(page, person, live_server, sandbox, app, week):
    base = live_server.url
    cid = launch(page, base, "demo-facilitator-1")
    launch(person(), base, "demo-participant-1")
    mid = week()
    page.goto(f"{base}/c/{cid}/modules/{mid}/items/new?kind=page")
    page.get_by_label("Title").fill("Before you start")
    page.get_by_label("Time estimate (minutes)").fill("5")
    look(page, "modules-item-form")
    page.get_by_role("button", name="Save the item").click()
    assert "Saved “Before you start”" in page.inner_text(".app-flashes")
    with app.app_context():
        last = db.session.scalar(select(ModuleItem.id).where(ModuleItem.title == "Before you start"))
    # Keyboard only: focus the new item's Move up button and press Enter twice.
    page.focus(f"#up-{last}")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.wait_for_url(re.compile(f"focus=up-{last}"))
    assert page.evaluate("document.activeElement.id") == f"up-{last}"
    with page.expect_navigation():
        page.keyboard.press("Enter")
    titles = page.locator(".mod-item h3").all_inner_texts()
    assert titles.index("Before you start") == 2
    look(page, "modules-facilitator-module")
    page.goto(f"{base}/c/{cid}/modules/{mid}/progress")
    assert page.locator("table caption").is_visible()
    look(page, "modules-progress-grid")
    page.goto(f"{base}/c/{cid}/modules/")
    look(page, "modules-facilitator-index")


def test_a_shared_reflection_lands_in_the_cohorts_thread_and_the_lead_sees_year_to_year(page, person, live_server,
                                                                                       sandbox, app, week):
    base = live_server.url
    cid = launch(page, base, "demo-facilitator-1")
    pat = person()
    launch(pat, base, "demo-participant-1")
    mid = week()
    with app.app_context():
        s = db.session
        module = s.get(Module, mid)
        lead = s.scalar(select(Membership).join(User).where(User.sub == "demo-facilitator-1"))
        viewer = access_for(s, lead, module.program)
        shared = writes.save_item(s, viewer, module, kind=ItemKind.reflection, title="Share one student's voice",
                              minutes=15, body="Whose voice surprised you this week?",
                              reflection_visibility=ReflectionVisibility.shared_to_cohort_thread)
        s.commit()
        shared_id = shared.id

    pat.goto(f"{base}/c/{cid}/modules/items/{shared_id}")
    pat.get_by_role("textbox", name="Your reflection").fill("Maya asked why we grade *effort*. I had no answer.")
    with pat.expect_navigation():
        pat.get_by_role("button", name="Submit my reflection").press("Enter")
    assert "shared in your cohort's thread" in pat.inner_text(".app-flashes")
    look(pat, "modules-participant-shared-reflection")
    with pat.expect_navigation():
        pat.get_by_role("link", name="Reflections: Share one student's voice").press("Enter")
    assert "Maya asked why we grade" in pat.inner_text("main")
    look(pat, "modules-reflection-in-thread")

    page.goto(f"{base}/c/{cid}/modules/{mid}/items/new?kind=discussion")
    assert page.get_by_role("group", name="Where the cohort discusses it").is_visible()
    look(page, "modules-discussion-item-form")
    from lti_tool.sandbox import services as sb

    with app.app_context():    # next year's course, where the lead has opened the tool once
        sb.add_course(db.session, sb.first_platform(db.session), "demo-course-2031", "CoP 2031–32",
                      [("demo-facilitator-1", "Maya Okonkwo-Reyes", "", [sb.INSTRUCTOR])])
        db.session.commit()
    launch(page, base, "demo-facilitator-1", "demo-course-2031")
    page.goto(f"{base}/c/{cid}/modules/copy-program")
    assert page.get_by_role("heading", name="Year to year", level=1).is_visible()
    assert page.get_by_label("Bring every module of").is_visible()
    look(page, "modules-year-to-year")
