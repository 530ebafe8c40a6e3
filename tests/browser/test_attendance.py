"""Attendance in a real Chromium: the quick roll by keyboard and by click (saved as it goes), self check-in with
the code read off the facilitator's screen (and the live list picking it up), and the grid. Each page: no
serious/critical axe violations, no CSP refusals, nothing wider than a 360 px phone, screenshots at 360 and
1280 px to look at."""
from __future__ import annotations

import re
from functools import partial

from sqlalchemy import select

from lti_tool.attendance.models import AttendanceRecord
from lti_tool.db import db
from tests.attendance.helpers import build
from tests.browser.helpers import REFUSED_FORM, launch, look as look_at

look = partial(look_at, allowed_console_errors=[REFUSED_FORM])

PARTICIPANTS = [f"demo-participant-{i}" for i in range(1, 7)]


def statuses(app, meeting_id) -> dict[int, str]:
    with app.app_context():
        return {r.membership_id: r.status.key for r in db.session.scalars(
            select(AttendanceRecord).where(AttendanceRecord.meeting_id == meeting_id))}


def setup(page, app, lti, live_server):
    course_id = launch(page, live_server.url, "demo-facilitator-1")
    for sub in PARTICIPANTS + ["demo-participant-7"]:
        lti(sub)
    return build(app, course_id, PARTICIPANTS, other_members=["demo-participant-7"])


def test_the_quick_roll_by_keyboard_and_click_saves_as_it_goes(page, app, lti, live_server):
    d = setup(page, app, lti, live_server)
    base = f"{live_server.url}/c/{d.course_id}/attendance"
    page.goto(f"{base}/meetings/{d.now_meeting}/roll")
    rows = page.locator(".att-row")
    assert rows.count() == len(PARTICIPANTS)
    # Rows are ordered by family name; take the first three as they appear.
    first, second, third = (int(rows.nth(i).get_attribute("data-member")) for i in range(3))
    # Keyboard: focus the first person's first status, type P; focus moves on; type A for the second.
    page.focus(f"#st-{first}-P")
    page.keyboard.press("p")
    page.keyboard.press("a")
    page.locator(f"#saved-{first}").filter(has_text="Saved: Present").wait_for()
    page.locator(f"#saved-{second}").filter(has_text="Saved: Absent").wait_for()
    # Click: "Late" for the third person, then a note.
    page.click(f"label[for=st-{third}-L]")
    page.locator(f"#saved-{third}").filter(has_text="Saved: Late").wait_for()
    page.fill(f"#note-{third}", "Joined at 3:20")
    page.press(f"#note-{third}", "Tab")
    page.locator(f"#saved-{third}").filter(has_text="(with note)").wait_for()
    assert statuses(app, d.now_meeting) == {first: "P", second: "A", third: "L"}
    assert page.locator("#roll-marked").inner_text() == "3"
    # Reloading shows what was saved: nothing is lost when the page closes.
    page.reload()
    assert page.is_checked(f"#st-{first}-P") and page.is_checked(f"#st-{third}-L")
    assert page.input_value(f"#note-{third}") == "Joined at 3:20"
    look(page, "attendance-roll")


def test_a_participant_checks_in_with_the_code_on_the_facilitators_screen(page, person, app, lti, live_server):
    d = setup(page, app, lti, live_server)
    base = f"{live_server.url}/c/{d.course_id}/attendance"
    page.goto(f"{base}/meetings/{d.now_meeting}/checkin/screen")
    code = page.locator(".att-code").get_attribute("data-code")
    assert re.fullmatch(r"\d{6}", code)
    assert page.locator("img.att-qr").evaluate("img => img.complete && img.naturalWidth > 0")
    look(page, "attendance-checkin-screen")

    participant = person()
    launch(participant, live_server.url, PARTICIPANTS[0])
    participant.goto(f"{base}/meetings/{d.now_meeting}/checkin")
    look(participant, "attendance-checkin-form")
    participant.fill("#code", "000000")
    participant.click("button[type=submit]")
    participant.locator(".invalid-feedback").filter(has_text="not the one showing now").wait_for()
    code = page.locator(".att-code").get_attribute("data-code")     # it may have turned over meanwhile
    participant.fill("#code", code)
    participant.click("button[type=submit]")
    participant.locator(".app-flash").filter(has_text="You are checked in").wait_for()
    look(participant, "attendance-my-record")
    assert statuses(app, d.now_meeting) == {d.members[PARTICIPANTS[0]]: "P"}
    # The facilitator's live list picks it up by itself (htmx polling every 3 s).
    page.locator("#checkin-list").filter(has_text="Aisha Rahman").wait_for(timeout=10000)
    assert "1 checked in" in page.locator("#checkin-list").inner_text()


def test_the_grid_reads_as_a_table_with_words_not_only_colour(page, app, lti, live_server):
    d = setup(page, app, lti, live_server)
    base = f"{live_server.url}/c/{d.course_id}/attendance"
    page.goto(f"{base}/meetings/{d.past_meetings[0]}/roll")
    for i, sub in enumerate(PARTICIPANTS):
        page.click(f"label[for=st-{d.members[sub]}-{'PLEAPP'[i]}]")
        page.locator(f"#saved-{d.members[sub]}").filter(has_text="Saved").wait_for()
    page.goto(f"{base}/cohorts/{d.cohort_id}/grid")
    table = page.locator("table.att-grid")
    assert "Attendance of Principals" in table.locator("caption").inner_text()
    assert table.locator("th[scope=row]").count() == len(PARTICIPANTS)
    cell = table.locator("tbody tr").first.locator("td").first
    assert cell.locator(".visually-hidden").inner_text() in {"Present", "Late", "Excused", "Absent"}
    look(page, "attendance-grid")
    page.goto(f"{base}/cohorts/{d.cohort_id}")
    look(page, "attendance-cohort")
