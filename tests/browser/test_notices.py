"""The Notices page in a real Chromium: a participant reads what the tool told them and marks it read with
the keyboard; axe, 360/1280 px, no console errors."""
from __future__ import annotations

from sqlalchemy import select

from lti_tool.course import notices
from lti_tool.db import db
from lti_tool.lti.models import Membership, User
from tests.browser.helpers import launch, look


def test_a_participant_reads_their_notices_and_marks_them_read(page, live_server, sandbox, app):
    base = live_server.url
    course_id = launch(page, base, "demo-participant-1")
    with app.app_context():
        me = db.session.scalar(select(Membership.id).join(User).where(User.sub == "demo-participant-1"))
        notices.notify(db.session, [me], key="t:1", kind="completion", url=f"/c/{course_id}/",
                       text="You are at risk of not meeting the program's completion rule: 2 sessions left.")
        notices.notify(db.session, [me], key="t:2", kind="library", text="Your resource “Data protocol” was approved.")
        db.session.commit()
    page.get_by_role("link", name="Notices").click()
    page.wait_for_url(f"{base}/c/{course_id}/notices/")
    assert page.get_by_text("New:").count() == 2
    look(page, "notices-unread")
    page.get_by_role("button", name="Mark all as read").focus()
    with page.expect_navigation():          # the form posts, then the page is shown again
        page.keyboard.press("Enter")
    assert page.get_by_text("New:").count() == 0 and page.get_by_text("was approved").is_visible()
    look(page, "notices-read")
