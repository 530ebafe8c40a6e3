"""Library pages through real LTI launches from the sandbox LMS: a participant adds a resource (a file or a link),
a facilitator returns it with a note then approves it, the search with its facets and pages, previews and
downloads served as module uploads are, the final product and its ZIP, the showcase, carry-over; and every
crossing of lines: another cohort's, course's or platform's resource (404), a participant approving (403),
CSRF refused, bad input answered 400 with what was typed shown again and nothing saved, what was typed escaped."""
from __future__ import annotations

import io
import re
import zipfile

import pytest
from sqlalchemy import func, select

from lti_tool.course.access import access_for
from lti_tool.db import db
from lti_tool.library import writes
from lti_tool.library.models import Collection, Resource, VersionStatus
from tests.attendance.helpers import build, membership_of
from tests.library.conftest import pdf_bytes
from tests.lti_client import forms

P1, P2, P4 = "demo-participant-1", "demo-participant-2", "demo-participant-4"
FAC = "demo-facilitator-1"


def course_of(response) -> int:
    return int(re.search(r"/c/(\d+)/", response.url).group(1))


@pytest.fixture
def demo(app, lti):
    fac = lti(FAC)
    course_id = course_of(fac.last)
    people = {sub: lti(sub) for sub in (P1, P2, P4)}
    d = build(app, course_id, [P1, P2], other_members=[P4])     # P1, P2 in Principals (fac); P4 in Coaches
    return d, fac, people


def lib(d, rest="") -> str:
    return f"/c/{d.course_id}/library{rest}"


def token_of(browser, path: str) -> str:
    return next(f.fields["csrf_token"] for f in forms(browser.get(path).text) if "csrf_token" in f.fields)


def fields(**changes) -> dict:
    values = {"title": "Exit ticket <template>", "kind": "template", "description": "Use it **weekly**.",
              "tags": "assessment, exit tickets", "url": "https://example.org/exit", "licence": "cc_by",
              "may_share": "y", "action": "submit"}
    values.update(changes)
    return {k: v for k, v in values.items() if v is not None}


def add(browser, d, files=None, **changes):
    token = token_of(browser, lib(d, "/new"))
    data = {"csrf_token": token, "cohort_id": str(d.cohort_id), **fields(**changes)}
    return browser.post(lib(d, "/new"), data, files=files)


def the_resource(app) -> Resource:
    with app.app_context():
        r = db.session.scalar(select(Resource).order_by(Resource.id.desc()))
        db.session.expunge_all()
        return r


def test_a_participant_submits_a_facilitator_returns_it_then_approves_it(app, demo):
    d, fac, people = demo
    me = people[P1]
    page = add(me, d)
    assert page.status_code == 200 and "was submitted" in page.text
    assert "Exit ticket &lt;template&gt;" in page.text and "<template>" not in page.text
    r = the_resource(app)
    assert people[P2].get(lib(d, f"/r/{r.id}")).status_code == 404          # not approved yet
    waiting = fac.get(lib(d, "/review"))
    assert "Exit ticket &lt;template&gt;" in waiting.text
    notices = fac.get(f"/c/{d.course_id}/notices/")
    assert "waits for approval" in notices.text

    page = fac.get(lib(d, f"/r/{r.id}"))
    returned = fac.post(lib(d, f"/r/{r.id}/return"), {"csrf_token": token_of(fac, lib(d, f"/r/{r.id}")), "note": ""})
    assert returned.status_code == 400 and "Say what the author should change" in returned.text
    returned = fac.post(lib(d, f"/r/{r.id}/return"), {"csrf_token": token_of(fac, lib(d, f"/r/{r.id}")),
                                                   "note": "Say which grades."})
    assert returned.status_code == 200 and "Returned to the author" in returned.text
    mine = me.get(lib(d, "/mine"))
    assert "Say which grades." in mine.text and "Returned with a note" in mine.text

    token = token_of(me, lib(d, f"/r/{r.id}/edit"))
    me.post(lib(d, f"/r/{r.id}/edit"), {"csrf_token": token, **fields(title="Exit ticket (grades 3-5)")})
    approve_token = token_of(fac, lib(d, f"/r/{r.id}"))
    assert people[P2].post(lib(d, f"/r/{r.id}/approve"), {"csrf_token": token_of(people[P2], lib(d, "/new"))}
                           ).status_code == 404
    done = fac.post(lib(d, f"/r/{r.id}/approve"), {"csrf_token": approve_token})
    assert done.status_code == 200 and "Approved" in done.text
    found = people[P2].get(lib(d, "/?q=grades"))
    assert "Exit ticket (grades 3-5)" in found.text
    versions = me.get(lib(d, f"/r/{r.id}"))
    assert "Version 1" in versions.text and "Say which grades." in versions.text
    assert people[P2].post(lib(d, f"/r/{r.id}/approve"), {"csrf_token": token_of(people[P2], lib(d, "/new"))}
                           ).status_code == 403                         # sees it now, still may not approve


def test_an_edit_to_an_approved_resource_waits_and_its_versions_are_for_author_and_facilitators(app, demo):
    d, fac, people = demo
    add(people[P1], d)
    r = the_resource(app)
    fac.post(lib(d, f"/r/{r.id}/approve"), {"csrf_token": token_of(fac, lib(d, f"/r/{r.id}"))})
    token = token_of(people[P1], lib(d, f"/r/{r.id}/edit"))
    people[P1].post(lib(d, f"/r/{r.id}/edit"), {"csrf_token": token, **fields(title="Second thoughts")})
    assert "Exit ticket &lt;template&gt;" in people[P2].get(lib(d, f"/r/{r.id}")).text
    assert "Second thoughts" not in people[P2].get(lib(d, f"/r/{r.id}")).text
    with app.app_context():
        v1, v2 = [v.id for v in db.session.get(Resource, r.id).versions]
    assert people[P2].get(lib(d, f"/r/{r.id}/v/{v2}")).status_code == 404
    assert people[P2].get(lib(d, f"/r/{r.id}/v/{v1}")).status_code == 200   # the approved one
    assert "Second thoughts" in fac.get(lib(d, f"/r/{r.id}/v/{v2}")).text


def test_bad_input_is_refused_with_what_was_typed_shown_again(app, demo):
    d, _fac, people = demo
    me = people[P1]
    cases = [
        (dict(licence=""), "Choose a licence"),
        (dict(may_share=None), "Confirm that you may share"),
        (dict(url="javascript:alert(1)"), "must be a web address starting with https://"),
        (dict(tags=", ".join(f"tag{i}" for i in range(3000))), "at most 20 tags (there are 3,000)"),
    ]
    for changes, message in cases:
        page = add(me, d, **changes)
        assert page.status_code == 400, changes
        assert message in page.text, changes
        assert 'value="Exit ticket &lt;template&gt;"' in page.text                  # what was typed stays
        assert "Use it **weekly**." in page.text
    refused = add(me, d, files={"upload": ("run.exe", b"MZ\x90\x00", "application/octet-stream")})
    assert refused.status_code == 400 and "cannot be uploaded" in refused.text
    big = add(me, d, files={"upload": ("big.pdf", b"%PDF-" + b"0" * (10 * 1024 * 1024 + 1), "application/pdf")})
    assert big.status_code == 400 and "the largest file allowed is 10 MB" in big.text
    kept = add(me, d, licence="", files={"upload": ("plan.pdf", pdf_bytes(), "application/pdf")})
    assert "your file was not kept: choose it again" in kept.text
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Resource)) == 0
    assert me.post(lib(d, "/new"), {"cohort_id": str(d.cohort_id), **fields()}).status_code == 400   # no CSRF token
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Resource)) == 0


def test_files_are_served_as_module_uploads_with_a_pdf_preview(app, demo):
    d, fac, people = demo
    add(people[P1], d, url="", files={"upload": ("Plan.pdf", pdf_bytes("Plan"), "application/pdf")})
    r = the_resource(app)
    fac.post(lib(d, f"/r/{r.id}/approve"), {"csrf_token": token_of(fac, lib(d, f"/r/{r.id}"))})
    with app.app_context():
        v = db.session.get(Resource, r.id).approved_version
        vid = v.id
    page = people[P2].get(lib(d, f"/r/{r.id}"))
    assert f"/v/{vid}/preview.png" in page.text and 'alt="First page of Plan.pdf"' in page.text
    preview = people[P2].get(lib(d, f"/r/{r.id}/v/{vid}/preview.png"))
    assert preview.content[:8] == b"\x89PNG\r\n\x1a\n" and preview.headers["Content-Type"] == "image/png"
    got = people[P2].get(lib(d, f"/r/{r.id}/v/{vid}/file"))
    assert got.content[:5] == b"%PDF-"
    assert got.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert got.headers["X-Content-Type-Options"] == "nosniff"
    assert people[P4].get(lib(d, f"/r/{r.id}/v/{vid}/file")).status_code == 404    # another cohort
    assert people[P4].get(lib(d, f"/r/{r.id}/v/{vid}/preview.png")).status_code == 404


def test_other_cohorts_courses_and_observers_see_nothing_until_published(app, demo, lti):
    d, fac, people = demo
    add(people[P1], d)
    r = the_resource(app)
    fac.post(lib(d, f"/r/{r.id}/approve"), {"csrf_token": token_of(fac, lib(d, f"/r/{r.id}"))})
    assert people[P4].get(lib(d, f"/r/{r.id}")).status_code == 404
    assert "Exit ticket" not in people[P4].get(lib(d, "/")).text
    stranger = lti("other-facilitator-1", course="other-course")
    other_id = course_of(stranger.last)
    assert stranger.get(f"/c/{other_id}/library/r/{r.id}").status_code == 404
    assert stranger.get(lib(d, f"/r/{r.id}")).status_code in (401, 403, 404)       # not a member of this course
    both = lti(P1, course="other-course")                                        # the author, in the other course
    assert both.get(f"/c/{other_id}/library/r/{r.id}").status_code == 404
    # P4 (other cohort) may not publish it; the facilitator may.
    assert people[P4].post(lib(d, f"/r/{r.id}/visibility"), {"csrf_token": token_of(people[P4], lib(d, "/new")),
                                                         "visibility": "program"}).status_code == 404
    fac.post(lib(d, f"/r/{r.id}/visibility"), {"csrf_token": token_of(fac, lib(d, f"/r/{r.id}")), "visibility": "program"})
    assert people[P4].get(lib(d, f"/r/{r.id}")).status_code == 200
    assert stranger.get(f"/c/{other_id}/library/?q=exit").text.count("Exit ticket") == 0


def test_search_facets_and_pages(app, demo):
    d, _fac, people = demo
    with app.app_context():
        s = db.session
        lead = access_for(s, membership_of(FAC, d.course_id))
        for i in range(25):
            r = writes.save_resource(s, lead, None, writes.ResourceInput(
                title=f"Resource {i:02d}", kind="video" if i % 5 == 0 else "reading", description="about coaching",
                tags="coaching" + (", math" if i % 2 else ""), url="https://example.org", licence="cc0",
                may_share=True), cohort_id=d.cohort_id, submit=True)
            writes.approve(s, lead, r)
        s.commit()
    me = people[P2]
    page = me.get(lib(d, "/?q=coaching"))
    assert "25 resources" in page.text and "Result pages" in page.text and "Video <span class=\"lib-count\">(5)" in page.text
    assert page.text.count('class="lib-card"') == 20
    second = me.get(lib(d, "/?q=coaching&page=2"))
    assert second.text.count('class="lib-card"') == 5
    videos = me.get(lib(d, "/?kind=video&tag=math"))
    assert "2 resources" in videos.text
    assert "0 resources" in me.get(lib(d, "/?q=%25")).text                      # LIKE wildcards are literal


def test_final_product_showcase_share_and_zip(app, demo):
    d, fac, people = demo
    add(people[P1], d, url="", files={"upload": ("Plan.pdf", pdf_bytes(), "application/pdf")})
    r = the_resource(app)
    fac.post(lib(d, f"/r/{r.id}/approve"), {"csrf_token": token_of(fac, lib(d, f"/r/{r.id}"))})
    me = people[P2]
    path = lib(d, f"/products/cohort/{d.cohort_id}")
    bad = me.post(path, {"csrf_token": token_of(me, path), "title": "", "introduction": "Ours",
                         "resource_ids": str(r.id)})
    assert bad.status_code == 400 and "Give the final product a title" in bad.text and "Ours" in bad.text
    saved = me.post(path, {"csrf_token": token_of(me, path), "title": "Principals' <toolkit>",
                           "introduction": "What we *made*.", "resource_ids": str(r.id)})
    assert saved.status_code == 200 and "Principals&#39; &lt;toolkit&gt;" in saved.text
    assert "<em>made</em>" in saved.text
    assert people[P4].post(path, {"csrf_token": token_of(people[P4], lib(d, "/new")), "title": "x"}).status_code == 404
    with app.app_context():
        cid = db.session.scalar(select(Collection.id))
    assert people[P4].get(lib(d, f"/products/{cid}")).status_code == 404
    show = fac.get(lib(d, "/showcase"))
    assert "1 of 1" in show.text and "data-showcase" in show.text and "showcase.js" in show.text
    assert people[P2].post(lib(d, "/products/share"), {"csrf_token": token_of(me, lib(d, "/new")), "shared": "1"}
                           ).status_code == 403
    fac.post(lib(d, "/products/share"), {"csrf_token": token_of(fac, lib(d, "/products/")), "shared": "1"})
    assert people[P4].get(lib(d, f"/products/{cid}")).status_code == 200
    assert people[P4].get(lib(d, f"/r/{r.id}")).status_code == 200              # through the shared product
    archive = people[P4].get(lib(d, "/products.zip"))
    assert archive.headers["Content-Type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(archive.content)) as z:
        names = z.namelist()
        index = z.read("index.html").decode()
        pdf_name = next(n for n in names if n.endswith(".pdf"))
        assert z.read(pdf_name)[:5] == b"%PDF-"
    assert "Principals&#39; &lt;toolkit&gt;" in index and pdf_name in index and "<em>made</em>" in index
    assert all(not n.startswith("/") and ".." not in n for n in names)


def test_carry_over_page_is_for_leads(app, demo):
    d, fac, people = demo
    assert people[P1].get(lib(d, "/carry-over")).status_code == 403
    page = fac.get(lib(d, "/carry-over"))
    assert page.status_code == 200 and "You lead no program in another course" in page.text


def test_deep_linking_offers_approved_resources_and_products(app, demo):
    from lti_tool.library import views

    d, fac, people = demo
    add(people[P1], d)
    r = the_resource(app)
    with app.test_request_context():
        lead = membership_of(FAC, d.course_id)
        assert views._placeable_resources(lead.course, lead) == []           # not approved yet
        writes.approve(db.session, access_for(db.session, lead), db.session.get(Resource, r.id))
        db.session.commit()
        items = views._placeable_resources(lead.course, lead)
        assert [i.target for i in items] == [f"resource:{r.id}"]
        from lti_tool.lti.deep_linking import resolve_target

        assert resolve_target(d.course_id, f"resource:{r.id}") == f"/c/{d.course_id}/library/r/{r.id}"
        assert resolve_target(d.course_id, "resource:x") is None
        stranger = membership_of(P4, d.course_id)
        assert views._placeable_resources(stranger.course, stranger) == []   # what they see only
    with app.app_context():
        assert db.session.get(Resource, r.id).approved_version.status is VersionStatus.approved


def test_a_lead_brings_last_years_approved_resources_into_this_program(app, demo, lti):
    from lti_tool.lti.models import CourseRole
    from tests.factories import MembershipFactory

    d, fac, _people = demo
    other = lti("other-facilitator-1", course="other-course")         # last year's course, with its program
    other_id = course_of(other.last)
    with app.app_context():
        s = db.session
        last_year_lead = membership_of("other-facilitator-1", other_id)
        access = access_for(s, last_year_lead)
        access.program.year_label = "2025–26"
        r = writes.save_resource(s, access, None, writes.ResourceInput(
            title="Last year's <rubric>", kind="toolkit", url="https://example.org/rubric", licence="cc0",
            may_share=True), cohort_id=None, submit=True)
        writes.approve(s, access, r)
        # The same person leads both years: demo-facilitator-1 teaches last year's course too.
        MembershipFactory(user=membership_of(FAC, d.course_id).user, course=last_year_lead.course,
                          role=CourseRole.facilitator)
        s.commit()
        program_id = access.program.id
    page = fac.get(lib(d, "/carry-over"))
    assert page.status_code == 200 and f'value="{program_id}"' in page.text
    token = token_of(fac, lib(d, "/carry-over"))
    done = fac.post(lib(d, "/carry-over"), {"csrf_token": token, "program_id": str(program_id)})
    assert done.status_code == 200 and "Brought 1 resource and 0 final products" in done.text
    again = fac.post(lib(d, "/carry-over"), {"csrf_token": token_of(fac, lib(d, "/carry-over")),
                                             "program_id": str(program_id)})
    assert again.status_code == 400 and "already brought here" in again.text
    found = fac.get(lib(d, "/?q=rubric"))
    assert "Last year&#39;s &lt;rubric&gt;" in found.text and "From 2025–26" in found.text
    assert fac.post(lib(d, "/carry-over"), {"csrf_token": token_of(fac, lib(d, "/carry-over")),
                                            "program_id": "999999"}).status_code == 404   # none they lead


def test_every_page_of_a_resource_or_product_is_404_from_another_course_or_cohort(app, demo, lti):
    """Each view that loads a resource, a version, a file, a product or a cohort: 404 for the other cohort's
    participant in this course, for the other course's lead on their own course's URL, and for the author
    themselves in the other course."""
    d, fac, people = demo
    add(people[P1], d, files={"upload": ("Plan.pdf", pdf_bytes(), "application/pdf")})
    r = the_resource(app)
    fac.post(lib(d, f"/r/{r.id}/approve"), {"csrf_token": token_of(fac, lib(d, f"/r/{r.id}"))})
    path = lib(d, f"/products/cohort/{d.cohort_id}")
    people[P1].post(path, {"csrf_token": token_of(people[P1], path), "title": "Ours", "resource_ids": str(r.id)})
    with app.app_context():
        vid = db.session.get(Resource, r.id).approved_version_id
        cid = db.session.scalar(select(Collection.id))
    gets = [f"/r/{r.id}", f"/r/{r.id}/edit", f"/r/{r.id}/v/{vid}", f"/r/{r.id}/v/{vid}/file",
            f"/r/{r.id}/v/{vid}/preview.png", f"/products/{cid}", f"/products/cohort/{d.cohort_id}"]
    posts = [f"/r/{r.id}/submit", f"/r/{r.id}/approve", f"/r/{r.id}/return", f"/r/{r.id}/visibility",
             f"/products/cohort/{d.cohort_id}"]
    stranger = lti("other-facilitator-1", course="other-course")
    other_id = course_of(stranger.last)
    both = lti(P1, course="other-course")
    for who, course_id in ((people[P4], d.course_id), (stranger, other_id), (both, other_id)):
        base = f"/c/{course_id}/library"
        for rest in gets:
            assert who.get(base + rest).status_code == 404, (rest, course_id)
        if who is both:
            continue            # in no cohort there, so no form of the library to take a CSRF token from
        token = token_of(who, base + "/new")
        for rest in posts:
            assert who.post(base + rest, {"csrf_token": token, "note": "x", "visibility": "program",
                                          "title": "x"}).status_code == 404, (rest, course_id)
    # Leads' and facilitators' pages refuse a participant (403), and a stranger to the course gets nothing.
    token = token_of(people[P1], lib(d, "/new"))
    assert people[P1].get(lib(d, "/review")).status_code == 403
    assert people[P1].get(lib(d, "/carry-over")).status_code == 403
    assert people[P1].post(lib(d, "/products/share"), {"csrf_token": token, "shared": "1"}).status_code == 403
    for rest in ("/", "/mine", "/new", "/products/", "/showcase", "/products.zip", f"/r/{r.id}"):
        assert stranger.get(lib(d, rest)).status_code in (401, 403), rest
