"""Sign-up in a real Chromium, launched from the sandbox LMS: a participant takes a seat in an open cohort, the
next one finds it full and joins the waiting list with their position shown, an applicant is refused for a
missing answer and then applies, and a facilitator reviews the application. Each page: no serious/critical
axe violations, nothing wider than a 360 px phone, and screenshots at 360 and 1280 px to look at."""
from __future__ import annotations

import re
from functools import partial

from sqlalchemy import select

from lti_tool.db import db
from lti_tool.lti.models import Membership, User
from lti_tool.programs import writes
from tests.browser.helpers import REFUSED_FORM, launch, look as look_at
from tests.factories import acting

look = partial(look_at, allowed_console_errors=[REFUSED_FORM])


def test_sign_up_waiting_list_application_and_review(page, person, live_server, sandbox, app):
    base = live_server.url
    course_id = launch(page, base, "demo-facilitator-1")        # creates the program
    facilitator = person()
    launch(facilitator, base, "demo-facilitator-2")
    participants = [person() for _ in range(3)]
    for n, p in enumerate(participants, 1):
        launch(p, base, f"demo-participant-{n}")

    with app.app_context():
        s = db.session

        def member(sub):
            return s.scalar(select(Membership).join(User).where(User.sub == sub, Membership.course_id == course_id))
        lead, fac = member("demo-facilitator-1"), member("demo-facilitator-2")
        writes.update_program(s, acting(s, lead), title="Communities of Practice 2026–27", year_label="2026–27",
                              description="Cohorts of school leaders who meet monthly and learn from each other.",
                              timezone="America/New_York", leads=[lead.id])
        principals = writes.create_cohort(
            s, acting(s, lead), name="New principals", kind="role_alike", capacity=1, facilitator_ids=[lead.id],
            description="First- and second-year principals sharing what works in their buildings.")
        equity = writes.create_cohort(
            s, acting(s, lead), name="Anti-racist curriculum", kind="topic", capacity=12,
            signup_mode="application", facilitator_ids=[fac.id],
            description="A year-long book study and curriculum audit, by application.")
        writes.set_questions(s, acting(s, lead), equity, [("Why do you want to join this cohort?", True),
                                                          ("What would you like to bring to the group?", False)])
        s.commit()
        principals_id, equity_id = principals.id, equity.id

    # 1. Open sign-up: the first participant takes the only seat.
    first, second, applicant = participants
    first.goto(f"{base}/c/{course_id}/cohorts/{principals_id}")
    first.get_by_role("button", name="Sign up").click()
    first.wait_for_load_state("load")
    assert "You have a seat in New principals" in first.locator(".app-flashes").inner_text()
    assert "You are a member" in first.locator(".app-your-place").inner_text()
    look(first, "signup-open-member")

    # 2. The cohort is full: the next one joins the waiting list and sees their position.
    second.goto(f"{base}/c/{course_id}/cohorts/{principals_id}")
    assert "1 of 1 seats taken · full" in second.locator(".app-fill").inner_text()
    second.get_by_role("button", name="Join the waiting list").click()
    second.wait_for_load_state("load")
    assert "You are 1st on the waiting list" in second.locator(".app-your-place").inner_text()
    look(second, "signup-full-waitlisted")
    second.goto(f"{base}/c/{course_id}/")
    assert "You are 1st on the waiting list" in second.locator(".app-cohort-list").inner_text()
    look(second, "signup-program-home")

    # 3. Application: a missing required answer is refused on the form, then the application goes through.
    applicant.goto(f"{base}/c/{course_id}/cohorts/{equity_id}")
    applicant.get_by_role("link", name="Apply").click()
    applicant.get_by_role("button", name="Send application").click()
    applicant.wait_for_load_state("load")
    assert "This question is required" in applicant.locator("form").inner_text()
    look(applicant, "signup-apply-missing-answer")
    applicant.get_by_label("Why do you want to join this cohort?").fill(
        "Our school is rewriting its ELA units and I want peers to push my thinking.")
    applicant.get_by_role("button", name="Send application").click()
    applicant.wait_for_load_state("load")
    assert "Under review" in applicant.locator("main").inner_text()

    # 4. The cohort's facilitator (a TA in the LMS) reviews it.
    facilitator.goto(f"{base}/c/{course_id}/cohorts/{equity_id}/applications")
    assert "Aisha Rahman" not in facilitator.locator("main").inner_text()   # participant 1 did not apply
    look(facilitator, "signup-applications-list")
    facilitator.get_by_role("link", name=re.compile("^Review the application")).first.click()
    facilitator.wait_for_load_state("load")
    assert "push my thinking" in facilitator.locator(".app-answers").inner_text()
    facilitator.get_by_label("Accept (gives a seat)").check()
    facilitator.get_by_label("Note to the applicant").fill("Welcome! Our kick-off is on October 12.")
    look(facilitator, "signup-application-review")
    facilitator.get_by_role("button", name="Save decision").click()
    facilitator.wait_for_load_state("load")
    assert "Decision saved" in facilitator.locator(".app-flashes").inner_text()

    # 5. The applicant sees the decision and the note.
    applicant.reload()
    main = applicant.locator("main").inner_text()
    assert "Accepted" in main and "Welcome! Our kick-off is on October 12." in main
    look(applicant, "signup-application-decided")

    # 6. The lead's view of the full cohort: members, waiting list, add or invite.
    page.goto(f"{base}/c/{course_id}/cohorts/{principals_id}")
    waiting = page.locator("ol.app-people").inner_text()
    assert len(page.locator("ol.app-people li").all()) == 1 and waiting.strip()
    look(page, "signup-cohort-manager")


def test_lead_pages_for_setting_up_the_program_are_accessible_and_fit_a_phone(page, person, live_server, sandbox,
                                                                              app):
    base = live_server.url
    course_id = launch(page, base, "demo-facilitator-1")
    participants = [person() for _ in range(5)]
    for n, p in enumerate(participants, 1):
        launch(p, base, f"demo-participant-{n}")
    with app.app_context():
        s = db.session
        lead = s.scalar(select(Membership).join(User).where(User.sub == "demo-facilitator-1",
                                                            Membership.course_id == course_id))
        cohort = writes.create_cohort(s, acting(s, lead), name="Assistant principals", capacity=20,
                                      signup_mode="invitation", facilitator_ids=[lead.id])
        for m in s.scalars(select(Membership).join(User).where(
                Membership.course_id == course_id, User.sub.in_([f"demo-participant-{n}" for n in range(1, 6)]))):
            writes.add_member(s, acting(s, lead), cohort, m.id)
        s.commit()
        cohort_id = cohort.id

    page.goto(f"{base}/c/{course_id}/program")
    page.get_by_label("Time zone").fill("Mars/Olympus")
    page.get_by_role("button", name="Save program").click()
    page.wait_for_load_state("load")
    assert "is not a time zone we know" in page.locator("form").inner_text()
    look(page, "signup-program-form-error")

    page.goto(f"{base}/c/{course_id}/cohorts/new")
    page.get_by_label("Cohort name").fill("Assistant principals")
    page.get_by_role("button", name="Create cohort").click()
    page.wait_for_load_state("load")
    assert "There is already a cohort called" in page.locator("form").inner_text()
    look(page, "signup-cohort-form-error")

    page.goto(f"{base}/c/{course_id}/cohorts/{cohort_id}/groups")
    page.get_by_label("People per group").fill("2")
    page.get_by_role("button", name="Make groups").click()
    page.wait_for_load_state("load")
    assert "groups were made" in page.locator(".app-flashes").inner_text()
    look(page, "signup-small-groups")
