"""Library writes: a resource and its versions (draft → submitted → approved, or returned with a note; an edit
to an approved resource waits while the approved version stays shown; every version kept), who is told, who
may do what, visibility, bad input refused with nothing stored, final products, carry-over to next year, and
``completion_counts``."""
from __future__ import annotations

import os

import pytest
from sqlalchemy import delete, func, select

from lti_tool.course import events
from lti_tool.course.notices import Notice
from lti_tool.db import db
from lti_tool.errors import Conflict, Forbidden, InvalidInput, NotFound
from lti_tool.library import queries, writes
from lti_tool.library.models import Collection, Resource, ResourceVersion, VersionStatus, Visibility
from lti_tool.lti.models import Course, CourseRole
from tests.factories import ProgramFactory
from tests.library.conftest import data, pdf_bytes, png_bytes, resource


def notices_of(session, w, who):
    return list(session.scalars(select(Notice.text).where(Notice.recipient_id == w.people[who].id)))


def test_a_submitted_resource_tells_the_cohorts_facilitator_and_approval_puts_it_in_the_library(session, world):
    w = world
    r = resource(session, w)
    assert r.pending_version.status is VersionStatus.submitted and r.approved_version is None
    assert r.pending_version.description_html == "<p>Use it <strong>weekly</strong>.</p>\n"
    assert any("waits for approval" in t for t in notices_of(session, w, "Fay"))
    assert notices_of(session, w, "Lena") == []                 # the cohort has a facilitator: they are told
    assert queries.waiting(session, w.access("Fay")) == [r]
    assert queries.search(session, w.access("Quinn"), queries.Search()).total == 0

    sent = []

    def listener(_session, **kw):
        sent.append(kw)

    events.progress_changed.connect(listener)
    try:
        writes.approve(session, w.access("Fay"), r)
    finally:
        events.progress_changed.disconnect(listener)   # only ours: the app's receivers stay connected
    assert sent == [{"program_id": w.program.id, "membership_ids": [w.people["Pat"].id]}]
    assert r.approved_version.status is VersionStatus.approved and r.pending_version is None
    assert r.title == "Exit ticket template" and [t.tag for t in r.tags] == ["assessment", "exit tickets"]
    assert any("was approved" in t for t in notices_of(session, w, "Pat"))
    found = queries.search(session, w.access("Quinn"), queries.Search(q="WEEKLY"))
    assert [x.id for x in found.rows] == [r.id]
    assert queries.completion_counts(session, w.program, [w.people["Pat"].id, w.people["Quinn"].id]) == {
        w.people["Pat"].id: (1, None), w.people["Quinn"].id: (0, None)}


def test_a_cohort_without_a_facilitator_tells_the_leads(session, world):
    resource(session, world, who="Sam", cohort="Math")
    assert any("waits for approval" in t for t in notices_of(session, world, "Lena"))
    assert notices_of(session, world, "Fay") == []


def test_returned_with_a_note_then_changed_and_approved_keeps_every_version(session, world):
    w = world
    r = resource(session, w)
    with pytest.raises(InvalidInput) as exc:
        writes.return_resource(session, w.access("Fay"), r, "  ")
    assert exc.value.field == "note"
    writes.return_resource(session, w.access("Fay"), r, "Add the grade band to the title.")
    first = r.pending_version
    assert first.status is VersionStatus.returned and first.review_note == "Add the grade band to the title."
    assert any("returned with a note" in t for t in notices_of(session, w, "Pat"))
    with pytest.raises(InvalidInput):
        writes.submit(session, w.access("Pat"), r)               # returned: change it first
    writes.save_resource(session, w.access("Pat"), r, data(title="Exit ticket template (K-5)"), submit=True)
    assert first.status is VersionStatus.withdrawn and r.pending_version.number == 2
    writes.approve(session, w.access("Fay"), r)
    assert [(v.number, v.status) for v in r.versions] == [(1, VersionStatus.withdrawn), (2, VersionStatus.approved)]
    assert r.versions[0].review_note == "Add the grade band to the title."


def test_an_edit_to_an_approved_resource_waits_while_the_approved_version_stays_shown(session, world):
    w = world
    r = resource(session, w, approve=True)
    writes.save_resource(session, w.access("Pat"), r, data(title="Better exit tickets", tags="new"), submit=True)
    assert r.approved_version.title == "Exit ticket template" and r.title == "Exit ticket template"
    assert r.pending_version.title == "Better exit tickets"
    assert [x.id for x in queries.search(session, w.access("Quinn"), queries.Search(q="exit")).rows] == [r.id]
    assert queries.search(session, w.access("Quinn"), queries.Search(q="better")).total == 0
    writes.approve(session, w.access("Lena"), r)
    assert r.title == "Better exit tickets" and [t.tag for t in r.tags] == ["new"]
    assert [v.status for v in r.versions] == [VersionStatus.superseded, VersionStatus.approved]


def test_a_draft_is_changed_in_place_then_submitted(session, world):
    w = world
    r = writes.save_resource(session, w.access("Pat"), None, data(), cohort_id=w.cohorts["Literacy"].id)
    assert r.pending_version.status is VersionStatus.draft
    assert notices_of(session, w, "Fay") == []                   # a draft waits for nobody
    writes.save_resource(session, w.access("Pat"), r, data(title="Renamed"))
    assert len(r.versions) == 1 and r.pending_version.title == "Renamed"
    writes.submit(session, w.access("Pat"), r)
    assert r.pending_version.status is VersionStatus.submitted


def test_who_may_approve_edit_and_see(session, world):
    w = world
    r = resource(session, w)
    with pytest.raises(NotFound):
        writes.approve(session, w.access("Quinn"), r)            # not approved: only author and managers see it
    with pytest.raises(NotFound):
        writes.approve(session, w.access("Sam"), r)              # another cohort: it does not exist for him
    with pytest.raises(NotFound):
        queries.get_resource(session, w.access("Quinn"), r.id)   # not approved yet: only author and managers
    assert queries.get_resource(session, w.access("Fay"), r.id) is r
    writes.approve(session, w.access("Fay"), r)
    assert queries.get_resource(session, w.access("Quinn"), r.id) is r
    with pytest.raises(Forbidden):
        writes.return_resource(session, w.access("Quinn"), r, "No")   # sees it now, still may not review it
    with pytest.raises(Forbidden):
        writes.save_resource(session, w.access("Quinn"), r, data())
    with pytest.raises(NotFound):
        queries.get_resource(session, w.access("Sam"), r.id)     # cohort only, by default
    with pytest.raises(NotFound):
        writes.set_visibility(session, w.access("Sam"), r, "program")
    writes.set_visibility(session, w.access("Fay"), r, "program")
    assert queries.get_resource(session, w.access("Sam"), r.id) is r
    assert queries.get_resource(session, w.access("Oscar"), r.id) is r


def test_another_course_never_sees_a_resource(session, world):
    w = world
    r = resource(session, w, approve=True)
    writes.set_visibility(session, w.access("Lena"), r, "program")
    other_course = w.new_course("Other")
    ProgramFactory(course=other_course)
    w.person("Otto", CourseRole.facilitator, course=other_course)
    with pytest.raises(NotFound):
        queries.get_resource(session, w.access("Otto"), r.id)
    assert queries.search(session, w.access("Otto"), queries.Search()).total == 0


@pytest.mark.parametrize("changes, field", [
    ({"licence": ""}, "licence"),
    ({"may_share": False}, "may_share"),
    ({"url": "javascript:alert(1)"}, "url"),
    ({"url": "JaVaScRiPt:alert(1)"}, "url"),
    ({"url": "data:text/html,<script>"}, "url"),
    ({"title": " "}, "title"),
    ({"kind": "poster"}, "kind"),
    ({"tags": ", ".join(f"tag{i}" for i in range(3000))}, "tags"),
    ({"tags": "x" * 41}, "tags"),
    ({"url": ""}, "upload"),
    ({"kind": "link", "url": ""}, "url"),
])
def test_bad_input_is_refused_on_its_field_and_stores_nothing(session, world, _uploads, changes, field):
    w = world
    with pytest.raises(InvalidInput) as exc:
        writes.save_resource(session, w.access("Pat"), None, data(upload=("a.png", png_bytes()), **changes)
                             if field != "upload" else data(**changes), cohort_id=w.cohorts["Literacy"].id)
    assert exc.value.field == field
    assert session.scalar(select(func.count()).select_from(Resource)) == 0
    assert not _uploads.exists() or os.listdir(_uploads) == []


def test_a_tag_list_of_thousands_says_how_many(session, world):
    with pytest.raises(InvalidInput, match="at most 20 tags .there are 3,000."):
        writes.parse_tags(", ".join(f"t{i}" for i in range(3000)))
    assert writes.parse_tags("Math;  Grade 5 ,math\nK-2") == ["math", "grade 5", "k-2"]


@pytest.mark.parametrize("name, content, message", [
    ("run.exe", b"MZ\x90\x00", "cannot be uploaded"),
    ("page.html", b"<html><script>", "cannot be uploaded"),
    ("fake.pdf", b"<html>not a pdf", "not a PDF file"),
    ("big.pdf", b"%PDF-" + b"0" * (10 * 1024 * 1024), "the largest file allowed"),
])
def test_forbidden_and_oversized_files_are_refused(session, world, _uploads, name, content, message):
    with pytest.raises(InvalidInput, match=message) as exc:
        writes.save_resource(session, world.access("Pat"), None, data(upload=(name, content)),
                             cohort_id=world.cohorts["Literacy"].id)
    assert exc.value.field == "upload"
    assert not _uploads.exists() or os.listdir(_uploads) == []


def test_a_pdf_gets_a_first_page_preview_and_a_new_version_keeps_the_file(session, world, _uploads):
    w = world
    r = writes.save_resource(session, w.access("Pat"), None, data(url="", upload=("Plan.pdf", pdf_bytes())),
                             cohort_id=w.cohorts["Literacy"].id, submit=True)
    v1 = r.pending_version
    assert v1.file_content_type == "application/pdf" and v1.file_original_name == "Plan.pdf"
    assert v1.preview_stored_name.endswith(".png")
    with open(_uploads / v1.preview_stored_name, "rb") as fh:
        assert fh.read(8) == b"\x89PNG\r\n\x1a\n"
    writes.approve(session, w.access("Fay"), r)
    writes.save_resource(session, w.access("Pat"), r, data(url="", title="Plan v2"))
    assert r.pending_version.file_stored_name == v1.file_stored_name


def test_a_draft_that_replaces_its_file_removes_the_old_one_after_the_commit(session, world, _uploads):
    w = world
    r = writes.save_resource(session, w.access("Pat"), None, data(upload=("a.png", png_bytes())),
                             cohort_id=w.cohorts["Literacy"].id)
    old = r.pending_version.file_stored_name
    writes.save_resource(session, w.access("Pat"), r, data(upload=("b.png", png_bytes())))
    assert (_uploads / old).exists()
    session.commit()
    assert not (_uploads / old).exists() and (_uploads / r.pending_version.file_stored_name).exists()


def test_a_final_product_holds_approved_resources_of_its_cohort_or_the_program(session, world):
    w = world
    mine = resource(session, w, approve=True)
    maths = resource(session, w, who="Sam", cohort="Math", approve=True, title="Number talks")
    waiting = resource(session, w, title="Not yet")
    cohort = w.cohorts["Literacy"]
    with pytest.raises(InvalidInput):
        writes.save_product(session, w.access("Quinn"), cohort, title="Our toolkit", introduction="",
                            resource_ids=[mine.id, maths.id])
    with pytest.raises(InvalidInput):
        writes.save_product(session, w.access("Quinn"), cohort, title="Our toolkit", introduction="",
                            resource_ids=[waiting.id])
    with pytest.raises(NotFound):
        writes.save_product(session, w.access("Sam"), cohort, title="Theirs", introduction="", resource_ids=[])
    writes.set_visibility(session, w.access("Lena"), maths, "program")
    product = writes.save_product(session, w.access("Quinn"), cohort, title="Our toolkit",
                                  introduction="What we *made*.", resource_ids=[maths.id, mine.id])
    assert [i.resource_id for i in product.items] == [maths.id, mine.id]
    assert product.introduction_html == "<p>What we <em>made</em>.</p>\n"
    assert [c.id for c in queries.products(session, w.access("Sam"))] == []
    with pytest.raises(Forbidden):
        writes.share_products(session, w.access("Fay"), True)
    writes.share_products(session, w.access("Lena"), True)
    assert [c.id for c in queries.products(session, w.access("Sam"))] == [product.id]
    # Shared program-wide: its cohort-only resource is seen through it.
    assert queries.get_resource(session, w.access("Sam"), mine.id) is mine


def test_carry_over_brings_approved_resources_and_products_with_their_provenance(session, world, _uploads):
    w = world
    r = writes.save_resource(session, w.access("Pat"), None, data(upload=("Plan.pdf", pdf_bytes())),
                             cohort_id=w.cohorts["Literacy"].id, submit=True)
    writes.approve(session, w.access("Fay"), r)
    resource(session, w, title="Never approved")
    writes.save_product(session, w.access("Pat"), w.cohorts["Literacy"], title="Literacy toolkit",
                        introduction="Ours", resource_ids=[r.id])
    next_course = w.new_course("Next year")
    ProgramFactory(course=next_course, title="Leading Literacy 2031")
    lena_next = w.person("Lena next", CourseRole.facilitator, course=next_course, user=w.people["Lena"].user)
    source_id = w.program.id
    done = writes.carry_over(session, w.access("Lena next"), source_id)
    assert (done.resources, done.products, done.skipped) == (1, 1, 0)
    with pytest.raises(Conflict):
        writes.carry_over(session, w.access("Lena next"), source_id)
    with pytest.raises(NotFound):
        writes.carry_over(session, w.access("Lena next"), lena_next.id + 1000)     # no program they lead
    session.commit()
    # The old course goes; the copies keep who made them, where and when, and their own file.
    old_file = r.approved_version.file_stored_name
    session.execute(delete(Course).where(Course.id == w.course.id))
    session.commit()
    session.expire_all()
    os.remove(_uploads / old_file)
    copy = session.scalar(select(Resource).where(Resource.program_id != source_id))
    assert (copy.origin_author, copy.origin_cohort, copy.origin_year) == ("Pat", "Literacy", "2030–31")
    assert copy.visibility is Visibility.program and copy.approved_version.title == "Exit ticket template"
    assert (_uploads / copy.approved_version.file_stored_name).exists()
    product = session.scalar(select(Collection))
    assert product.shared and product.origin_cohort == "Literacy" and [i.resource_id for i in product.items] == [
        copy.id]
    assert session.scalar(select(func.count()).select_from(ResourceVersion)) == 1


def test_completion_counts_is_one_query_whatever_the_number_of_people(app, session, world):
    from sqlalchemy import event

    w = world
    resource(session, w, approve=True)
    resource(session, w, approve=True, title="Second")
    resource(session, w, who="Sam", cohort="Math", title="Waiting")
    ids = [m.id for m in w.people.values()]
    statements = []
    listener = lambda *a: statements.append(1)  # noqa: E731
    event.listen(db.engine_for(app), "before_cursor_execute", listener)
    try:
        counts = queries.completion_counts(session, w.program, ids)
    finally:
        event.remove(db.engine_for(app), "before_cursor_execute", listener)
    assert len(statements) == 1
    assert counts[w.people["Pat"].id] == (2, None) and counts[w.people["Sam"].id] == (0, None)
    assert set(counts) == set(ids)


def test_a_draft_is_the_authors_own_until_submitted(session, world):
    w = world
    r = writes.save_resource(session, w.access("Pat"), None, data(), cohort_id=w.cohorts["Literacy"].id)
    with pytest.raises(NotFound):
        queries.get_resource(session, w.access("Fay"), r.id)
    with pytest.raises(NotFound):
        writes.save_resource(session, w.access("Lena"), r, data())
    writes.submit(session, w.access("Pat"), r)
    assert queries.get_resource(session, w.access("Fay"), r.id) is r
    writes.approve(session, w.access("Fay"), r)
    draft = writes.save_resource(session, w.access("Pat"), r, data(title="Half-written")).pending_version
    assert queries.get_resource(session, w.access("Fay"), r.id) is r               # the approved version
    with pytest.raises(NotFound):
        queries.get_version(session, w.access("Fay"), r.id, draft.id)
    assert queries.get_version(session, w.access("Pat"), r.id, draft.id)[1] is draft


def test_a_pdf_of_an_odd_shape_gets_a_preview_of_bounded_size():
    from weasyprint import HTML
    from PIL import Image
    import io as _io

    from lti_tool.library import previews

    tall = HTML(string="<style>@page { size: 4pt 4000pt; margin: 0 }</style><p>x</p>").write_pdf()
    png = previews.pdf_first_page_png(tall)
    width, height = Image.open(_io.BytesIO(png)).size
    assert height <= previews.PREVIEW_HEIGHT and width <= previews.PREVIEW_WIDTH
    assert previews.pdf_first_page_png(b"%PDF-1.4 broken") is None
