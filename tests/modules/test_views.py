"""Module pages through real LTI launches from the sandbox LMS: authoring through the forms, a participant
working through a module, bad input refused with a message, file headers, the progress grid and CSV,
permissions across cohorts and courses, and deep linking of modules and items (Canvas and Moodle)."""
from __future__ import annotations

import re
from html import unescape

import jwt
import pytest
from sqlalchemy import event, select

from lti_tool.db import db
from lti_tool.grades.models import GradedComponent, ScoreDelivery
from lti_tool.lti.models import Course, Membership, ResourceLink, User
from lti_tool.modules.models import ItemCompletion, Module, ModuleItem, Reflection
from lti_tool.programs.models import Cohort, CohortFacilitator, CohortMember, Program, SeatStatus
from lti_tool.sandbox import services as sb
from tests.lti_client import forms

LEAD, FAC2 = "demo-facilitator-1", "demo-facilitator-2"
PDF = b"%PDF-1.4\n%%EOF\n"


def member(app, sub: str, course: str = "demo-course") -> Membership:
    with app.app_context():
        found = db.session.scalar(select(Membership).join(Membership.user).join(Membership.course)
                                  .where(User.sub == sub, Course.context_id == course))
        assert found is not None, f"{sub} has not launched into {course}"
        return found


def text_of(html: str) -> str:
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


@pytest.fixture
def demo(app, lti, _uploads):
    """Lead (named), FAC2 facilitates Alpha (participant-1), Beta has participant-3."""
    browsers = {name: lti(name) for name in (LEAD, FAC2, "demo-participant-1", "demo-participant-3")}
    lead, fac2 = member(app, LEAD), member(app, FAC2)
    p1, p3 = member(app, "demo-participant-1"), member(app, "demo-participant-3")
    with app.app_context():
        program = db.session.scalar(select(Program).where(Program.course_id == lead.course_id))
        program.settings = {"leads": [lead.id]}
        alpha, beta = Cohort(program=program, name="Alpha"), Cohort(program=program, name="Beta")
        db.session.add_all([alpha, beta])
        db.session.flush()
        db.session.add_all([CohortFacilitator(cohort_id=alpha.id, membership_id=fac2.id),
                            CohortMember(cohort_id=alpha.id, membership_id=p1.id, status=SeatStatus.active),
                            CohortMember(cohort_id=beta.id, membership_id=p3.id, status=SeatStatus.active)])
        db.session.commit()
        ids = {"alpha": alpha.id, "beta": beta.id, "cid": lead.course_id, "year": (program.starts_on, program.ends_on)}
    return browsers, ids


def create_module(browser, cid, cohort_id, title="Week 1", **fields):
    page = browser.get(f"/c/{cid}/modules/new")
    assert page.status_code == 200
    data = {"title": title, "overview": "Read, **watch**, reflect.", "cohort_ids": [cohort_id],
            "release_rule": "by_hand", "released": "y", "grade_mode": "none", "score_maximum": "100", **fields}
    saved = browser.submit(page, **data)
    return saved


def add_item(browser, cid, module_id, kind, **fields):
    page = browser.get(f"/c/{cid}/modules/{module_id}/items/new?kind={kind}")
    assert page.status_code == 200, page.text[:300]
    defaults = {"minutes": "10", "required": "y", "release": "with_module"}
    files = fields.pop("files", None)
    if files:
        form = forms(page.text)[0]
        data = {**form.fields, **defaults, **fields}
        return browser.post(page.url, data=data, files=files)
    return browser.submit(page, **{**defaults, **fields})


def module_id_of(app, title):
    with app.app_context():
        return db.session.scalar(select(Module.id).where(Module.title == title))


def items_of(app, module_id):
    with app.app_context():
        return [(i.id, i.title) for i in db.session.scalars(
            select(ModuleItem).where(ModuleItem.module_id == module_id).order_by(ModuleItem.position))]


def build_week(app, demo):
    browsers, ids = demo
    lead, cid = browsers[LEAD], ids["cid"]
    r = create_module(lead, cid, ids["alpha"]); assert r.status_code == 200, re.findall(r"Error:</span>[^<]*|Error:</strong>[^<]*", r.text)
    mid = module_id_of(app, "Week 1")
    assert add_item(lead, cid, mid, "page", title="Welcome", body="Hello *cohort*",
                    completion_rule="viewed").status_code == 200
    assert add_item(lead, cid, mid, "video", title="Watch the talk", url="https://youtu.be/dQw4w9WgXcQ", embed="y",
                    completion_rule="marked_done").status_code == 200
    assert add_item(lead, cid, mid, "reflection", title="Reflect", body="What struck you?",
                    completion_rule="reflection_submitted", release="after_previous",
                    reflection_visibility="private_to_facilitators").status_code == 200
    return mid


def test_a_participant_works_through_a_module_and_sees_the_next_item_unlock(app, demo):
    browsers, ids = demo
    cid, mid = ids["cid"], build_week(app, demo)
    (welcome, _), (video, _), (reflect, _) = items_of(app, mid)
    pat = browsers["demo-participant-1"]
    home = text_of(pat.get(f"/c/{cid}/modules/").text)
    assert "My week" in home and "Week 1" in home and "Opens after you finish “Watch the talk”" in home
    assert "0 of 3 done" in home

    assert "Hello" in pat.get(f"/c/{cid}/modules/items/{welcome}").text
    page = pat.get(f"/c/{cid}/modules/items/{video}")
    assert 'src="https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ"' in page.text and 'title="Video: Watch the talk"' in page.text
    assert "Opens after you finish “Watch the talk”" in text_of(page.text)
    locked = pat.get(f"/c/{cid}/modules/items/{reflect}")
    assert locked.status_code == 403 and "Opens after you finish “Watch the talk”" in text_of(locked.text)
    done = pat.submit(page, index=0)
    assert "is done" in text_of(done.text) and f"/items/{reflect}" in done.text   # the next item is a link now
    page = pat.get(f"/c/{cid}/modules/items/{reflect}")
    submitted = pat.submit(page, body="The talk made me rethink our *data* meetings.")
    assert "Your reflection is submitted" in submitted.text
    assert "3 of 3 required items done" in text_of(submitted.text)
    home = text_of(pat.get(f"/c/{cid}/modules/").text)
    assert "Finished" in home and "Nothing open is waiting for you" in home


def test_the_lead_reorders_items_with_move_buttons_and_duplicates_and_copies(app, demo):
    browsers, ids = demo
    cid, mid = ids["cid"], build_week(app, demo)
    lead = browsers[LEAD]
    (welcome, _), (video, _), (reflect, _) = items_of(app, mid)
    token = forms(lead.get(f"/c/{cid}/modules/{mid}").text)[0].fields["csrf_token"]
    moved = lead.post(f"/c/{cid}/modules/items/{reflect}/up", data={"csrf_token": token})
    assert moved.status_code == 200 and "Moved “Reflect” up" in moved.text and f"focus=up-{reflect}" in moved.url
    assert [t for _i, t in items_of(app, mid)] == ["Welcome", "Reflect", "Watch the talk"]
    dup = lead.post(f"/c/{cid}/modules/{mid}/duplicate", data={"csrf_token": token})
    assert "Copy of Week 1" in dup.text
    copied = lead.post(f"/c/{cid}/modules/{mid}/copy", data={"csrf_token": token, "cohort_id": ids["beta"]})
    assert "Week 1 (Beta)" in copied.text
    assert "Week 1 (Beta)" in browsers["demo-participant-3"].get(f"/c/{cid}/modules/").text


def test_bad_input_gets_a_clear_message_and_changes_nothing(app, demo):
    browsers, ids = demo
    cid, mid = ids["cid"], build_week(app, demo)
    lead = browsers[LEAD]
    before = items_of(app, mid)
    refused = add_item(lead, cid, mid, "video", title="Elsewhere", url="https://videos.example.com/1", embed="y")
    assert refused.status_code == 400 and "Only YouTube or Vimeo videos can be shown" in text_of(refused.text)
    big = add_item(lead, cid, mid, "resource", title="Big", files={"upload": ("big.pdf", PDF + b"0" * (10 * 1024 * 1024))})
    assert big.status_code == 400 and "largest file allowed is 10 MB" in text_of(big.text)
    html = add_item(lead, cid, mid, "resource", title="Page", files={"upload": ("x.html", b"<html></html>")})
    assert html.status_code == 400 and "cannot be uploaded" in text_of(html.text)
    assert items_of(app, mid) == before
    starts, ends = ids["year"]
    late = create_module(lead, cid, ids["alpha"], title="Late", release_rule="by_date",
                         **{f"opens_on_{ids['alpha']}": ends.replace(year=ends.year + 1).isoformat()})
    assert late.status_code == 400 and "outside the program year" in text_of(late.text)
    assert module_id_of(app, "Late") is None
    create_module(lead, cid, ids["alpha"], title="Week 2", release_rule="after_module", after_module_id=mid)
    week2 = module_id_of(app, "Week 2")
    page = lead.get(f"/c/{cid}/modules/{mid}/edit")
    loop = lead.submit(page, release_rule="after_module", after_module_id=str(week2))
    assert loop.status_code == 400 and "That would make a loop" in text_of(loop.text)
    # a reflection sent to a locked item
    (_w, _), (_v, _), (reflect, _) = before
    pat = browsers["demo-participant-1"]
    csrf = pat.csrf_token(f"/c/{cid}/modules/items/{_v}")
    sent = pat.post(f"/c/{cid}/modules/items/{reflect}/reflection", data={"csrf_token": csrf, "body": "Early"})
    assert sent.status_code == 409 and "locked, so nothing was saved" in text_of(sent.text)
    with app.app_context():
        assert db.session.scalar(select(Reflection.id)) is None


def test_uploaded_files_are_served_with_safe_headers_only_to_those_who_may_see_them(app, demo):
    browsers, ids = demo
    cid, mid = ids["cid"], build_week(app, demo)
    lead = browsers[LEAD]
    add_item(lead, cid, mid, "resource", title="Toolkit", files={"upload": ("Toolkit.pdf", PDF)})
    add_item(lead, cid, mid, "resource", title="Notes", files={"upload": ("notes.txt", b"plain notes")})
    items = dict((t, i) for i, t in items_of(app, mid))
    pat = browsers["demo-participant-1"]
    pdf = pat.get(f"/c/{cid}/modules/items/{items['Toolkit']}/file")
    assert pdf.status_code == 200 and pdf.content == PDF
    assert pdf.headers["Content-Disposition"].startswith("inline") and pdf.headers["Content-Type"] == "application/pdf"
    assert pdf.headers["X-Content-Type-Options"] == "nosniff"
    assert pdf.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"
    txt = pat.get(f"/c/{cid}/modules/items/{items['Notes']}/file")
    assert txt.headers["Content-Disposition"].startswith("attachment")
    assert browsers["demo-participant-3"].get(f"/c/{cid}/modules/items/{items['Notes']}/file").status_code == 404
    with app.app_context():
        stored = db.session.get(ModuleItem, items["Toolkit"]).file_stored_name
    assert "Toolkit" not in stored
    assert pat.get(f"/static/{stored}").status_code == 404


def test_participants_and_facilitators_see_only_their_cohorts_and_nothing_across_courses(app, demo, lti):
    browsers, ids = demo
    cid, mid = ids["cid"], build_week(app, demo)
    (welcome, _), _v, _r = items_of(app, mid)
    other = browsers["demo-participant-3"]                     # in Beta, not Alpha
    assert "Week 1" not in other.get(f"/c/{cid}/modules/").text
    assert other.get(f"/c/{cid}/modules/{mid}").status_code == 404
    assert other.get(f"/c/{cid}/modules/items/{welcome}").status_code == 404
    fac2 = browsers[FAC2]                                      # facilitates Alpha
    assert fac2.get(f"/c/{cid}/modules/{mid}/progress").status_code == 200
    beta_module = create_module(browsers[LEAD], cid, ids["beta"], title="Beta week")
    bid = module_id_of(app, "Beta week")
    assert fac2.get(f"/c/{cid}/modules/{bid}").status_code == 404
    assert fac2.get(f"/c/{cid}/modules/{bid}/progress").status_code == 404
    assert browsers["demo-participant-1"].get(f"/c/{cid}/modules/{mid}/progress").status_code == 403
    outsider = lti("other-facilitator-1", course="other-course")
    other_cid = member(app, "other-facilitator-1", "other-course").course_id
    assert outsider.get(f"/c/{other_cid}/modules/{mid}").status_code == 404
    assert outsider.get(f"/c/{other_cid}/modules/items/{welcome}/file").status_code == 404
    assert outsider.get(f"/c/{cid}/modules/{mid}").status_code == 403       # not a member of that course
    assert lti("demo-observer-1").get(f"/c/{cid}/modules/{mid}").status_code == 404


def test_the_progress_grid_and_csv_and_reflections_for_the_facilitator(app, demo):
    browsers, ids = demo
    cid, mid = ids["cid"], build_week(app, demo)
    (welcome, _), _v, _r = items_of(app, mid)
    browsers["demo-participant-1"].get(f"/c/{cid}/modules/items/{welcome}")
    grid = browsers[FAC2].get(f"/c/{cid}/modules/{mid}/progress")
    assert "<caption" in grid.text and 'scope="col"' in grid.text and 'scope="row"' in grid.text
    assert "✓ Done" in grid.text and "Locked" in grid.text
    csv = browsers[FAC2].get(f"/c/{cid}/modules/{mid}/progress.csv")
    assert csv.headers["Content-Type"].startswith("text/csv") and "Done" in csv.text
    assert browsers[FAC2].get(f"/c/{cid}/modules/{mid}/reflections").status_code == 200


def placed_links(app):
    with app.app_context():
        platform = sb.first_platform(db.session)
        return [(link.resource_link_id, link.title, link.custom)
                for link in sb.placed_links(db.session, sb.get_course(db.session, platform, "demo-course"))]


@pytest.mark.parametrize("flavour", ["canvas", "moodle"])
def test_a_graded_module_is_placed_by_deep_linking_and_its_launch_opens_it_with_the_line_item_tied(app, demo, lti,
                                                                                                  flavour):
    browsers, ids = demo
    cid = ids["cid"]
    create_module(browsers[LEAD], cid, ids["alpha"], title="Graded week", grade_mode="share_completed",
                  score_maximum="10")
    mid = module_id_of(app, "Graded week")
    add_item(browsers[LEAD], cid, mid, "page", title="Only page", completion_rule="viewed")
    [(item_id, _t)] = items_of(app, mid)
    placer = lti()
    picker = placer.launch(LEAD, kind="deeplink", flavour=flavour)
    assert "Module: Graded week" in picker.text and "Graded week: Only page" in picker.text
    response = placer.submit(picker, target=f"module:{mid}")
    claims = jwt.decode(forms(response.text)[0].fields["JWT"], options={"verify_signature": False})
    [content] = claims["https://purl.imsglobal.org/spec/lti-dl/claim/content_items"]
    assert content["custom"] == {"target": f"module:{mid}"} and content["lineItem"]["scoreMaximum"] == 10
    assert placer.submit(response).status_code == 200
    [(link_id, _title, custom)] = placed_links(app)
    pat = lti("demo-participant-1", link=link_id, flavour=flavour)
    assert pat.last.url.endswith(f"/c/{cid}/modules/{mid}") and "Graded week" in pat.last.text
    with app.app_context():
        component = db.session.scalar(select(GradedComponent).where(GradedComponent.key == f"module:{mid}"))
        link = db.session.get(ResourceLink, component.resource_link_id)
        assert link.resource_link_id == link_id and link.target == f"module:{mid}"
    pat.get(f"/c/{cid}/modules/items/{item_id}")
    with app.app_context():
        delivery = db.session.scalar(select(ScoreDelivery))
        assert delivery.score_given == 10 and delivery.component.resource_link.resource_link_id == link_id

    # a single item placed the same way opens that item
    picker = placer.launch(LEAD, kind="deeplink", flavour=flavour)
    placer.submit(placer.submit(picker, target=f"item:{item_id}"))
    item_link = [l for l, _t, c in placed_links(app) if c == {"target": f"item:{item_id}"}][0]
    pat = lti("demo-participant-1", link=item_link, flavour=flavour)
    assert pat.last.url.endswith(f"/c/{cid}/modules/items/{item_id}")


def count_queries(app, fn) -> int:
    statements = []
    engine = db.engine_for(app)

    def before(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", before)
    try:
        fn()
    finally:
        event.remove(engine, "before_cursor_execute", before)
    return len(statements)


def test_the_module_page_and_grid_cost_the_same_queries_with_more_items(app, demo):
    browsers, ids = demo
    cid, mid = ids["cid"], build_week(app, demo)
    pat, fac = browsers["demo-participant-1"], browsers[FAC2]
    small = (count_queries(app, lambda: pat.get(f"/c/{cid}/modules/{mid}")),
             count_queries(app, lambda: fac.get(f"/c/{cid}/modules/{mid}/progress")))
    for n in range(5):
        add_item(browsers[LEAD], cid, mid, "page", title=f"More {n}", completion_rule="viewed")
    big = (count_queries(app, lambda: pat.get(f"/c/{cid}/modules/{mid}")),
           count_queries(app, lambda: fac.get(f"/c/{cid}/modules/{mid}/progress")))
    assert small == big


def test_a_shared_reflection_and_a_discussion_item_live_in_the_cohorts_book_study_thread(app, demo):
    from lti_tool.discussions.models import Post, Thread

    browsers, ids = demo
    lead, pat, cid = browsers[LEAD], browsers["demo-participant-1"], ids["cid"]
    create_module(lead, cid, ids["alpha"], title="Talk week")
    mid = module_id_of(app, "Talk week")
    form = lead.get(f"/c/{cid}/modules/{mid}/items/new?kind=discussion")
    assert "Where the cohort discusses it" in text_of(form.text)
    assert add_item(lead, cid, mid, "reflection", title="Notice", body="What did you **notice**?",
                    completion_rule="reflection_submitted",
                    reflection_visibility="shared_to_cohort_thread").status_code == 200
    assert add_item(lead, cid, mid, "discussion", title="Share a success", body="One thing that worked.",
                    completion_rule="posted_in_thread").status_code == 200
    (reflect, _), (talk, _) = items_of(app, mid)

    page = pat.get(f"/c/{cid}/modules/items/{reflect}")
    assert "Your cohort's thread" in text_of(page.text) and "Reflections: Notice" in page.text
    shared = pat.submit(page, body="Maya asked <b>why</b> twice.")
    assert "shared in your cohort's thread" in text_of(shared.text)
    with app.app_context():
        post = db.session.scalar(select(Post).join(Thread).where(Thread.title == "Reflections: Notice"))
        thread_url = f"/c/{cid}/discussions/cohort/{ids['alpha']}/threads/{post.thread_id}"
        assert post.body_markdown == "Maya asked <b>why</b> twice." and "<b>" not in post.body_html
    thread_page = pat.get(thread_url)
    assert thread_page.status_code == 200 and "Maya asked &lt;b&gt;why&lt;/b&gt; twice." in thread_page.text
    assert browsers["demo-participant-3"].get(thread_url).status_code == 404     # Beta's participant

    # The discussion item: the link leads to the cohort's own thread; posting there ticks the item.
    item_page = pat.get(f"/c/{cid}/modules/items/{talk}")
    link = re.search(r'href="(/c/\d+/discussions/cohort/\d+/threads/\d+)">Share a success<', item_page.text)
    assert link, text_of(item_page.text)
    discussion = pat.get(link.group(1))
    index = next(i for i, f in enumerate(forms(discussion.text)) if f.action.endswith("/posts"))
    posted = pat.submit(discussion, index=index, body="Exit tickets!")
    assert posted.status_code == 200
    assert "2 of 2 required items done" in text_of(pat.get(f"/c/{cid}/modules/items/{talk}").text)

    # A reflection that the thread refuses (a locked thread) is not saved, and the text stays in the form.
    with app.app_context():
        db.session.get(Thread, post.thread_id).locked = True
        db.session.commit()
    again = pat.get(f"/c/{cid}/modules/items/{reflect}")
    refused = pat.submit(again, body="A second thought, kept.")
    assert refused.status_code == 409 and "thread is locked" in text_of(refused.text)
    assert "A second thought, kept." in refused.text
    with app.app_context():
        assert db.session.scalar(select(Reflection.body)) == "Maya asked <b>why</b> twice."


def test_the_lead_brings_last_years_modules_into_next_years_course(app, demo, lti):
    browsers, ids = demo
    lead, cid = browsers[LEAD], ids["cid"]
    build_week(app, demo)
    with app.app_context():    # next year's course on the same LMS: the same lead, a cohort named Alpha again
        platform = sb.first_platform(db.session)
        sb.add_course(db.session, platform, "demo-course-2031", "Communities of Practice 2031–32",
                      [(LEAD, "Lead", "", [sb.INSTRUCTOR])])
        db.session.commit()
    nxt = lti(LEAD, course="demo-course-2031")
    next_cid = member(app, LEAD, "demo-course-2031").course_id
    with app.app_context():
        program = db.session.scalar(select(Program).where(Program.course_id == next_cid))
        db.session.add(Cohort(program=program, name="Alpha"))
        db.session.commit()

    page = nxt.get(f"/c/{next_cid}/modules/copy-program")
    assert page.status_code == 200 and "Bring modules into" in text_of(page.text)
    index = next(i for i, f in enumerate(forms(page.text)) if f.action.endswith("/import-program"))
    with app.app_context():
        source = db.session.scalar(select(Program.id).where(Program.course_id == cid))
    unchosen = nxt.submit(page, index=index)
    assert unchosen.status_code == 400 and "Choose one of the programs you lead" in text_of(unchosen.text)
    brought = nxt.submit(page, index=index, **{"bring-program_id": str(source), "bring-shift_days": "364"})
    assert brought.status_code == 200, text_of(brought.text)[:400]
    assert "Copied 1 module from" in text_of(brought.text) and "1 went to cohorts of the same name" in text_of(brought.text)
    with app.app_context():
        copy = db.session.scalar(select(Module).where(Module.program_id == program.id))
        assert copy.title == "Week 1" and [link.cohort.name for link in copy.cohort_links] == ["Alpha"]
        assert [i.title for i in copy.items] == ["Welcome", "Watch the talk", "Reflect"] and not copy.released
    again = nxt.submit(nxt.get(f"/c/{next_cid}/modules/copy-program"), index=index,
                       **{"bring-program_id": str(source)})
    assert again.status_code == 409 and "already has these modules" in text_of(again.text)
    # Last year's side shows next year's program as a place to copy to; a participant gets neither page.
    assert "Communities of Practice 2031–32" in lead.get(f"/c/{cid}/modules/copy-program").text
    assert browsers["demo-participant-1"].get(f"/c/{cid}/modules/copy-program").status_code == 403


def test_a_participant_named_facilitator_of_a_cohort_authors_and_follows_its_modules_and_no_others(app, demo):
    """Issue 11, point 1: a participant whose proposal became a cohort facilitates it (a CohortFacilitator row)
    and gets the facilitator's answer on the module pages for that cohort, and only for that one."""
    browsers, ids = demo
    cid, alpha_week = ids["cid"], build_week(app, demo)       # Alpha: participant-1 takes it
    p1, p3 = member(app, "demo-participant-1"), member(app, "demo-participant-3")
    with app.app_context():
        gamma = Cohort(program_id=db.session.get(Cohort, ids["beta"]).program_id, name="Gamma")
        db.session.add(gamma)
        db.session.add(CohortFacilitator(cohort_id=ids["beta"], membership_id=p1.id))
        db.session.commit()
        gamma_id, p3_name = gamma.id, db.session.get(Membership, p3.id).user.display_name
    pat, beta_member = browsers["demo-participant-1"], browsers["demo-participant-3"]

    # Authoring, for the cohort they facilitate only.
    assert "New module" in pat.get(f"/c/{cid}/modules/").text
    page = pat.get(f"/c/{cid}/modules/new")
    assert page.status_code == 200 and "Beta" in text_of(page.text) and "Gamma" not in text_of(page.text)
    refused = create_module(pat, cid, ids["alpha"], title="Not mine")
    assert refused.status_code == 400 and "You can only choose cohorts you facilitate" in text_of(refused.text)
    assert create_module(pat, cid, ids["beta"], title="Beta week").status_code == 200
    bid = module_id_of(app, "Beta week")
    assert add_item(pat, cid, bid, "reflection", title="Reflect", body="What did you try?",
                    completion_rule="reflection_submitted").status_code == 200
    [(reflect, _)] = items_of(app, bid)
    assert pat.get(f"/c/{cid}/modules/{bid}/edit").status_code == 200

    # Beta's participant works through it; their facilitator follows the progress and answers the reflection.
    item_page = beta_member.get(f"/c/{cid}/modules/items/{reflect}")
    assert beta_member.submit(item_page, body="Exit tickets, twice a week.").status_code == 200
    grid = pat.get(f"/c/{cid}/modules/{bid}/progress")
    assert grid.status_code == 200 and p3_name in text_of(grid.text) and "✓ Done" in grid.text
    assert f"{p3_name}," in pat.get(f"/c/{cid}/modules/{bid}/progress.csv").text
    reading = pat.get(f"/c/{cid}/modules/{bid}/reflections")
    assert reading.status_code == 200 and "Exit tickets, twice a week." in text_of(reading.text)
    with app.app_context():
        reflection_id = db.session.scalar(select(Reflection.id))
    answered = pat.post(f"/c/{cid}/modules/reflections/{reflection_id}/feedback",
                        data={"csrf_token": forms(reading.text)[0].fields["csrf_token"], "feedback": "Good plan."})
    assert "Saved the feedback" in text_of(answered.text)
    with app.app_context():
        assert db.session.get(Reflection, reflection_id).feedback_by_id == p1.id

    # Alpha's module: they take it as a participant there, and may neither change it nor read its progress.
    assert pat.get(f"/c/{cid}/modules/{alpha_week}").status_code == 200
    for path in (f"{alpha_week}/edit", f"{alpha_week}/progress", f"{alpha_week}/progress.csv",
                 f"{alpha_week}/reflections", f"{alpha_week}/items/new?kind=page"):
        assert pat.get(f"/c/{cid}/modules/{path}").status_code == 403, path
    # Gamma's module: not theirs at all.
    create_module(browsers[LEAD], cid, gamma_id, title="Gamma week")
    gid = module_id_of(app, "Gamma week")
    for path in (f"{gid}", f"{gid}/edit", f"{gid}/progress", f"{gid}/reflections"):
        assert pat.get(f"/c/{cid}/modules/{path}").status_code == 404, path
    token = forms(pat.get(f"/c/{cid}/modules/{bid}").text)[0].fields["csrf_token"]
    assert pat.post(f"/c/{cid}/modules/{gid}/release", data={"csrf_token": token}).status_code == 404
    assert pat.post(f"/c/{cid}/modules/{alpha_week}/release", data={"csrf_token": token}).status_code == 403
    # A participant who facilitates nothing still gets no facilitator page.
    assert beta_member.get(f"/c/{cid}/modules/new").status_code == 403
    assert beta_member.get(f"/c/{cid}/modules/{bid}/progress").status_code == 403
