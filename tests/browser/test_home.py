"""The program home of each role in a real Chromium, launched from the sandbox LMS into the demo program: no
serious/critical axe violations, nothing wider than a 360 px phone, and screenshots at 360 and 1280 px to
look at (tests/browser/screenshots/home-<role>-<width>.png)."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from lti_tool.db import db, utcnow
from lti_tool.programs.models import CohortMember, Program, Proposal, ProposalStatus, SeatStatus
from tests.browser.helpers import launch, look
from tests.programs.test_home import cohort_named, demo, member_of, name_only_lead  # noqa: F401 (demo: fixture)


@pytest.fixture
def busy_participant(app, demo):  # noqa: F811 (the demo fixture)
    """Participant 1 also waits for a seat in AI in Schools and was asked to change a proposal."""
    with app.app_context():
        me = member_of(db.session, "demo-participant-1")
        db.session.add(CohortMember(cohort_id=cohort_named(db.session, "AI in Schools").id, membership_id=me.id,
                                    status=SeatStatus.waitlisted, waitlisted_at=utcnow() + dt.timedelta(seconds=1)))
        db.session.add(Proposal(program_id=db.session.scalar(select(Program.id)), proposer_id=me.id,
                                title="Restorative practices", kind="topic", description="Circles.",
                                status=ProposalStatus.changes_requested, review_note="Say more about the format."))
        db.session.commit()
    return demo


@pytest.mark.parametrize("user, role", [
    ("demo-participant-1", "participant"),
    ("demo-facilitator-2", "facilitator"),
    ("demo-facilitator-1", "lead"),
    ("demo-observer-1", "observer"),
])
def test_each_roles_home_page_is_accessible_and_fits_a_phone(page, live_server, app, busy_participant, user, role):
    if role == "facilitator":
        name_only_lead(app)
    launch(page, live_server.url, user, lands_on=r"/c/(\d+)/$")     # the program home itself
    main = page.locator("main").inner_text()
    expected = {"participant": ["Next session", "What is due", "Triad 1", "3rd on the waiting list"],
                "facilitator": ["Take attendance", "AI in Schools", "on the waiting list"],
                "lead": ["To review", "2 applications", "Grade passback", "Program settings"],
                "observer": ["All cohorts", "Coming up on the timeline"]}[role]
    for words in expected:
        assert words in main, words
    nav = page.locator("nav.app-nav")
    assert nav.get_by_role("link", name="Home").get_attribute("aria-current") == "page"
    look(page, f"home-{role}")


def test_a_facilitator_opens_the_roster_of_a_cohort_on_the_home_page(page, live_server, app, demo):  # noqa: F811
    name_only_lead(app)
    launch(page, live_server.url, "demo-facilitator-2", lands_on=r"/c/(\d+)/$")
    card = page.locator("article", has=page.get_by_role("heading", name="AI in Schools"))
    names = card.locator(".app-names")
    assert not names.is_visible()
    card.get_by_text("Members (8)").click()
    assert names.is_visible() and "Katarzyna Nowak" in names.inner_text()
