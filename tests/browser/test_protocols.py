"""The protocol runner in a real Chromium: a live Consultancy run with three people in their own browser contexts
(the facilitator, the presenter, a participant whose device clock is three hours wrong) who see the same phase
and the same clock (within a second: every page counts down from the server's remaining seconds), the presenter
refused by the server in the silent discussion, a participant's question reaching the others' pages by the poll;
an asynchronous run moved through its deadlines by the server's clock (the PROTOCOL_NOW hook). Each page: no
serious/critical axe violations, nothing wider than 360 px, screenshots at 360 and 1280 px."""
from __future__ import annotations

import datetime as dt
import re

from lti_tool.course.access import access_for
from lti_tool.db import db, utcnow
from lti_tool.protocols import writes
from lti_tool.protocols.queries import builtin_ref
from tests.attendance.helpers import membership_of
from tests.browser.helpers import launch, look
from tests.protocols.helpers import FAC, P1, P2, P3, P4, make_demo

# A device whose clock is three hours ahead: the run's clock must not care.
WRONG_CLOCK = """(() => { const shift = 3 * 3600 * 1000; const RealDate = Date;
  class ShiftedDate extends RealDate { constructor(...a) { super(...(a.length ? a : [RealDate.now() + shift])); } }
  ShiftedDate.now = () => RealDate.now() + shift; window.Date = ShiftedDate; })();"""


def seconds(text: str) -> int:
    m, s = text.strip().split(":")[-2:]
    return int(m) * 60 + int(s)


def clocks(*pages) -> list[int]:
    return [seconds(p.locator("#run-live [data-clock]").inner_text()) for p in pages]


def setup(page, app, lti, live_server):
    course_id = launch(page, live_server.url, FAC)
    for sub in (P1, P2, P3, P4):
        lti(sub)
    return make_demo(app, course_id)


def test_a_live_consultancy_on_three_screens_one_clock_and_the_presenter_silent_in_the_discussion(
        page, person, app, lti, live_server):
    d = setup(page, app, lti, live_server)
    base = live_server.url
    presenter, participant = person(), person()
    participant.context.add_init_script(WRONG_CLOCK)
    launch(presenter, base, P1)
    launch(participant, base, P2)
    for p in (page, presenter, participant):
        p.goto(base + d.run_url())
    presenter.get_by_role("heading", name="Not started yet").wait_for()
    assert participant.evaluate("new Date().getUTCHours()") == (dt.datetime.now(dt.timezone.utc).hour + 3) % 24

    page.get_by_role("button", name="Start the run").click()
    page.get_by_role("heading", name="Presenting the dilemma").wait_for()
    for p in (presenter, participant):          # the poll brings the others along within a few seconds
        p.get_by_role("heading", name="Presenting the dilemma").wait_for(timeout=8000)
    times = clocks(page, presenter, participant)
    assert max(times) - min(times) <= 1, times
    assert 590 <= min(times) <= 600
    participant.wait_for_timeout(2200)
    later = clocks(page, presenter, participant)
    assert max(later) - min(later) <= 1 and max(later) < min(times), (times, later)   # counting down together
    assert "you listen in this phase" in participant.locator("[data-you]").inner_text()
    assert presenter.locator("[data-post-section]").is_visible()                       # the presenter speaks now
    look(page, "protocols-live-facilitator")

    for _ in range(3):                            # on to the discussion
        page.get_by_role("button", name="Next phase").click()
        page.wait_for_load_state()
    page.get_by_role("heading", name="Discussion").wait_for()
    for p in (presenter, participant):
        p.get_by_role("heading", name="Discussion").wait_for(timeout=8000)
    times = clocks(page, presenter, participant)
    assert max(times) - min(times) <= 1, times
    assert "you listen and take notes in this phase" in presenter.locator("[data-you]").inner_text()
    assert not presenter.locator("[data-post-section]").is_visible()
    # Hidden in the page is not enough: the server refuses the presenter's post in this phase.
    token = presenter.locator("[data-post-section] input[name=csrf_token]").input_value()
    refused = presenter.request.post(base + d.run_url("/contributions"),
                                     form={"csrf_token": token, "position": "4", "body": "Let me explain"})
    assert refused.status == 403 and "the presenter listens and takes notes" in refused.text()
    look(presenter, "protocols-live-presenter-silent", allowed_console_errors=["status of 403"])

    participant.get_by_label("Your contribution").fill("What would it look like if **students** led them?")
    participant.get_by_role("button", name="Post").click()
    participant.get_by_text("students", exact=False).first.wait_for()
    assert "<strong>" not in participant.locator("#run-live").inner_text()
    page.locator("#run-live").get_by_text("What would it look like if").wait_for(timeout=8000)
    look(participant, "protocols-live-participant")

    projector = person()
    launch(projector, base, FAC)
    projector.goto(base + d.run_url("/projector"))
    projector.get_by_role("heading", name="Discussion").wait_for()
    assert abs(clocks(projector)[0] - clocks(page)[0]) <= 1
    look(projector, "protocols-projector")


def test_an_async_run_opens_and_closes_its_phases_on_the_servers_clock(page, person, app, lti, live_server):
    d = setup(page, app, lti, live_server)
    base = live_server.url
    with app.app_context():
        s = db.session
        lead = access_for(s, membership_of(FAC, d.course_id))
        start = utcnow().replace(microsecond=0)
        run = writes.create_run(s, lead, builtin_ref("chalk-talk"), cohort_id=d.cohort_id, mode="async",
                                title="Chalk talk: feedback", opens_at=start, days_per_phase=2,
                                roles={d.members[P1]: "participant", d.members[P2]: "participant",
                                       lead.id: "facilitator"})
        s.commit()
        run_id, closes = run.id, [p.closes_at for p in run.phases]
    url = f"{base}/c/{d.course_id}/protocols/runs/{run_id}"
    member = person()
    launch(member, base, P1)
    try:
        app.config["PROTOCOL_NOW"] = lambda: closes[0] + dt.timedelta(hours=1)      # phase 2 of 4
        member.goto(url)
        member.get_by_role("heading", name="Silent writing").wait_for()
        clock = member.locator("#run-live [data-clock]").inner_text()
        assert re.match(r"1 d 2[23]:\d\d:\d\d", clock), clock
        assert "This phase closes" in member.locator("#run-live").inner_text()
        member.get_by_label("Your contribution").fill("Feedback lands when it is specific.")
        member.get_by_role("button", name="Post").click()
        member.locator("#run-live").get_by_text("Feedback lands when it is specific.").wait_for()
        look(member, "protocols-async-member")
        # The deadline passes while the page is open: the server's clock moves the page on by itself.
        app.config["PROTOCOL_NOW"] = lambda: closes[1] + dt.timedelta(minutes=5)
        member.get_by_role("heading", name="Looking at the board").wait_for(timeout=8000)
        app.config["PROTOCOL_NOW"] = lambda: closes[-1] + dt.timedelta(minutes=1)
        member.goto(url)
        member.get_by_role("heading", name="Completed").wait_for()
        assert not member.locator("[data-post-section]").is_visible()
        page.goto(f"{base}/c/{d.course_id}/protocols/")
        look(page, "protocols-index-lead")
    finally:
        app.config["PROTOCOL_NOW"] = None


def test_the_facilitators_forms_scripts_new_run_roles_problem_and_deadlines(page, app, lti, live_server):
    d = setup(page, app, lti, live_server)
    base = live_server.url + d.url()
    page.goto(base + "/scripts/builtin/consultancy")
    page.get_by_role("heading", name="Consultancy").wait_for()
    look(page, "protocols-script")
    page.get_by_role("button", name="Copy and adapt").click()
    page.get_by_role("heading", name=re.compile("Edit “Consultancy \\(adapted\\)”")).wait_for()
    look(page, "protocols-script-edit")
    page.get_by_label("Total time (minutes)").fill("30")
    page.get_by_role("button", name="Save as a new version").click()
    page.get_by_text("saved as version 2 (30 minutes)").wait_for()
    page.goto(base + "/runs/new")
    look(page, "protocols-new-run")
    page.get_by_label("Protocol").select_option(label="Consultancy (adapted) (30 min), the program's version 2")
    page.get_by_label("Asynchronous: each phase over days, with deadlines").check()
    page.get_by_role("button", name="Make the run").click()
    page.get_by_role("heading", name=re.compile("Roles in")).wait_for()
    assert "Suggested presenter:" in page.inner_text("main")
    look(page, "protocols-roles")
    page.get_by_role("button", name="Save roles").click()
    page.get_by_role("link", name="Change the deadlines").click()
    page.get_by_role("heading", name=re.compile("Deadlines of")).wait_for()
    look(page, "protocols-deadlines")
    page.goto(live_server.url + d.run_url("/problem"))
    page.get_by_label("Problem of practice").fill("Our reading conferences stall after the first minute.")
    look(page, "protocols-problem")
    page.get_by_role("button", name="Save").click()
    page.get_by_text("Our reading conferences stall").wait_for()
