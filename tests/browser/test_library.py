"""The library in a real Chromium, launched from the sandbox LMS: a participant submits a resource with a PDF
(its first page previewed), a facilitator returns it with a note, the participant changes it, the facilitator
approves it; the search with its facets; a cohort's final product, and the showcase stepped through with the
buttons and the arrow keys. Each page: no serious/critical axe violations, nothing wider than 360 px,
screenshots at 360 and 1280 px."""
from __future__ import annotations

import re

import pytest

from lti_tool.course.access import access_for
from lti_tool.db import db
from lti_tool.library import writes
from tests.attendance.helpers import build, membership_of
from tests.browser.helpers import REFUSED_FORM, launch, look
from tests.library.conftest import pdf_bytes

FAC, P1, P2 = "demo-facilitator-1", "demo-participant-1", "demo-participant-2"


@pytest.fixture
def uploads(app, tmp_path):
    old = app.config.get("UPLOAD_DIR")
    app.config["UPLOAD_DIR"] = str(tmp_path / "uploads")
    yield
    app.config["UPLOAD_DIR"] = old


def setup(page, app, lti, live_server):
    course_id = launch(page, live_server.url, FAC)
    for sub in (P1, P2):
        lti(sub)
    return build(app, course_id, [P1], other_members=[P2])      # P1 in Principals (FAC), P2 in Coaches


def test_a_participant_submits_a_facilitator_returns_it_then_approves_it(page, person, app, lti, live_server,
                                                                        uploads, tmp_path):
    d = setup(page, app, lti, live_server)
    base = f"{live_server.url}/c/{d.course_id}/library"
    pdf = tmp_path / "Walkthrough plan.pdf"
    pdf.write_bytes(pdf_bytes("Walkthrough plan"))

    me = person()
    launch(me, live_server.url, P1)
    me.goto(f"{base}/new")
    me.get_by_label("Title").fill("Walkthrough <plan>")
    me.get_by_label("Type").select_option("template")
    me.get_by_label("Description").fill("Use it in **week 1**.")
    me.get_by_label("Tags").fill("walkthroughs, observation")
    me.get_by_label("File", exact=True).set_input_files(str(pdf))
    me.get_by_role("button", name="Submit for approval").click()
    # The licence was left out: the form comes back with what was typed and says what is missing.
    me.get_by_text("Choose a licence: it tells others").wait_for()
    assert me.get_by_label("Title").input_value() == "Walkthrough <plan>"
    assert "your file was not kept" in me.inner_text("main")
    look(me, "library-form-refused", allowed_console_errors=[REFUSED_FORM])
    me.get_by_label("Licence", exact=True).select_option("cc_by_sa")
    me.get_by_label("I may share this").check()
    me.get_by_label("File", exact=True).set_input_files(str(pdf))
    me.get_by_role("button", name="Submit for approval").click()
    me.get_by_text("was submitted").wait_for()
    resource_url = me.url

    page.goto(f"{base}/review")
    page.get_by_role("link", name="Walkthrough <plan>").click()
    page.get_by_role("heading", name="Review").wait_for()
    # The PDF's first page, as a PNG: wait for it to load (an image is not loaded when its heading shows).
    page.wait_for_function("() => { const i = document.querySelector('img.lib-preview');"
                           " return i && i.complete && i.naturalWidth > 100; }")
    look(page, "library-review")
    page.get_by_label("Note to the author").fill("Say which grades it is for.")
    page.get_by_role("button", name="Return with this note").click()
    page.get_by_text("Returned to the author").wait_for()

    me.goto(f"{base}/mine")
    me.get_by_text("Say which grades it is for.").wait_for()
    look(me, "library-mine-returned", allowed_console_errors=[REFUSED_FORM])     # the refused form, earlier
    me.goto(resource_url)
    me.get_by_role("link", name="Change it").click()
    me.get_by_label("Title").fill("Walkthrough plan (grades 6-8)")
    me.get_by_label("I may share this").check()
    me.get_by_role("button", name="Submit for approval").click()
    me.get_by_text("was submitted").wait_for()

    page.goto(resource_url)
    page.get_by_role("button", name="Approve").click()
    page.get_by_text("Approved: this version").wait_for()
    look(page, "library-resource-approved")

    me.goto(f"{base}/?q=walkthrough")
    me.get_by_role("link", name="Walkthrough plan (grades 6-8)").wait_for()
    me.get_by_role("link", name=re.compile(r"^Template")).click()          # the type facet
    me.get_by_text("1 resource for").wait_for()
    look(me, "library-search", allowed_console_errors=[REFUSED_FORM])


def test_the_showcase_steps_through_each_cohorts_product(page, app, lti, live_server, uploads):
    d = setup(page, app, lti, live_server)
    with app.app_context():
        s = db.session
        lead = access_for(s, membership_of(FAC, d.course_id))
        from lti_tool.programs.models import Cohort

        ids = []
        for n, cohort_id in enumerate((d.cohort_id, d.other_cohort_id)):
            r = writes.save_resource(s, lead, None, writes.ResourceInput(
                title=f"Resource {n + 1}", kind="toolkit", description="", tags="", url="https://example.org",
                licence="cc_by", may_share=True), cohort_id=cohort_id, submit=True)
            writes.approve(s, lead, r)
            ids.append(r.id)
            writes.save_product(s, lead, s.get(Cohort, cohort_id), title=f"Product {n + 1}",
                                introduction=f"What cohort {n + 1} *made*.", resource_ids=[r.id])
        s.commit()
    base = f"{live_server.url}/c/{d.course_id}/library"
    page.goto(f"{base}/showcase")
    slides = page.locator(".lib-slide")
    position = page.locator("[data-showcase-position]")
    position.filter(has_text="1 of 2").wait_for()
    assert slides.nth(0).is_visible() and not slides.nth(1).is_visible()
    assert page.get_by_role("button", name="← Previous").is_disabled()
    look(page, "library-showcase-1")
    page.get_by_role("button", name="Next →").click()
    position.filter(has_text="2 of 2").wait_for()
    assert slides.nth(1).is_visible() and not slides.nth(0).is_visible()
    assert page.get_by_role("button", name="Next →").is_disabled()
    page.keyboard.press("ArrowLeft")
    position.filter(has_text="1 of 2").wait_for()
    page.keyboard.press("End")
    position.filter(has_text="2 of 2").wait_for()
    # One slide per cohort, by cohort name: Coaches (the second cohort's product), then Principals.
    assert "What cohort 1 made." in slides.nth(1).inner_text() and "COACHES" in slides.nth(0).inner_text().upper()
    look(page, "library-showcase-2")
    page.goto(f"{base}/products/")
    look(page, "library-products")
