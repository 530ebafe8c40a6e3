"""The book study through real LTI launches from the sandbox LMS: posting with post-first, replies, reactions,
moderation, bad input, CSRF on every form, injection, cross-cohort and cross-course ids, deep linking and
fixed query counts."""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import pytest
from sqlalchemy import event, select

from lti_tool.db import db
from lti_tool.course.access import access_for
from lti_tool.discussions import queries as q, writes as w
from lti_tool.discussions.models import Post, PostFirst, Thread
from lti_tool.lti.models import Course, Membership, User
from lti_tool.programs.models import Cohort, CohortFacilitator, CohortMember, Program, SeatStatus
from tests.lti_client import forms

LEAD, FAC = "demo-facilitator-1", "demo-facilitator-2"
P1, P2, P3 = "demo-participant-1", "demo-participant-2", "demo-participant-3"
OUTSIDER = "demo-participant-9"


def member(app, sub: str, course: str = "demo-course") -> Membership:
    with app.app_context():
        found = db.session.scalar(select(Membership).join(Membership.user).join(Membership.course)
                                  .where(User.sub == sub, Course.context_id == course))
        assert found is not None, f"{sub} has not launched into {course}"
        return found


def text_of(html: str) -> str:
    import html as html_lib

    return html_lib.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


@pytest.fixture
def lti(lti):
    """Launches that do not depend on the landing page (another feature's page) rendering."""
    def make(user=None, **kw):
        kw.setdefault("expect_ok", False)
        return lti(user, **kw)
    return make


@dataclass
class Setup:
    cid: int
    cohort_id: int
    other_cohort_id: int
    thread_id: int
    book_id: int
    reading_id: int

    @property
    def base(self) -> str:
        return f"/c/{self.cid}/discussions/cohort/{self.cohort_id}"

    @property
    def thread(self) -> str:
        return f"{self.base}/threads/{self.thread_id}"


@pytest.fixture
def setup(app, lti) -> Setup:
    """Lead launches (the program exists); cohort "Readers" (facilitator 2; participants 1–3) reads a book whose
    first chapter started yesterday, with post-first after 1 post; "Others" has participant 9."""
    for sub in (LEAD, FAC, P1, P2, P3, OUTSIDER):
        lti(sub)
    with app.app_context():
        session = db.session
        lead = session.get(Membership, member(app, LEAD).id)
        program = session.scalar(select(Program).where(Program.course_id == lead.course_id))
        readers = Cohort(program_id=program.id, name="Readers")
        others = Cohort(program_id=program.id, name="Others")
        session.add_all([readers, others])
        session.flush()
        session.add(CohortFacilitator(cohort_id=readers.id, membership_id=member(app, FAC).id))
        for sub in (P1, P2, P3):
            session.add(CohortMember(cohort_id=readers.id, membership_id=member(app, sub).id, status=SeatStatus.active))
        session.add(CohortMember(cohort_id=others.id, membership_id=member(app, OUTSIDER).id, status=SeatStatus.active))
        session.flush()
        lead_access = access_for(session, lead, program)
        book = w.save_book(session, lead_access, title="Punished for Dreaming", author="Bettina Love",
                           cohort_ids=[readers.id, others.id])
        today = q.program_today(program)
        reading = w.save_reading(session, lead_access, book, label="Chapter 1", starts_on=today - dt.timedelta(days=1),
                                 ends_on=today + dt.timedelta(days=6), prompt="What *struck* you?",
                                 post_first=PostFirst.after_n_posts, post_first_n=1)
        w.save_reading(session, lead_access, book, label="Chapter 2", starts_on=today + dt.timedelta(days=7),
                       ends_on=today + dt.timedelta(days=13))
        thread_id = session.scalar(select(Thread.id).where(Thread.cohort_id == readers.id,
                                                           Thread.reading_id == reading.id))
        result = Setup(lead.course_id, readers.id, others.id, thread_id, book.id, reading.id)
        session.commit()
    return result


def post(browser, setup: Setup, body: str, parent_id: int | None = None):
    page = browser.get(setup.thread)
    assert page.status_code == 200, page.text[:400]
    index = next(i for i, f in enumerate(forms(page.text)) if f.action.endswith("/posts"))
    return browser.submit(page, index=index, body=body, parent_id=str(parent_id or ""))


def last_post_id(app) -> int:
    with app.app_context():
        return db.session.scalar(select(Post.id).order_by(Post.id.desc()).limit(1))


# -- the participant's path ------------------------------------------------------------------------------------

def test_post_first_hides_others_everywhere_until_the_participant_posts(app, lti, setup):
    ann = lti(P1)
    assert post(ann, setup, "Ann's *unique* insight about zero tolerance").status_code == 200
    bo = lti(P2)
    before = bo.get(setup.thread)
    assert "unique" not in before.text and "Aisha" not in text_of(before.text).split("Signed in as")[0]
    assert "You will see the others' posts after your own first post" in text_of(before.text)
    home = bo.get(setup.base)
    assert "unread" not in text_of(home.text).split("Threads")[1].split("Cohort discussion settings")[0]
    assert "0 results" in bo.get(f"{setup.base}/search", params={"q": "zero tolerance"}).text
    assert bo.get(f"{setup.base}/posts/{last_post_id(app)}/report").status_code == 404
    token = forms(before.text)[0].fields["csrf_token"]
    react = bo.post(f"{setup.base}/posts/{last_post_id(app)}/react", data={"csrf_token": token, "kind": "agree"},
                    headers={"HX-Request": "true"})
    assert react.status_code == 404 and "unique" not in react.text
    reply = bo.post(f"{setup.thread}/posts", data={"csrf_token": token, "body": "sneak",
                                                   "parent_id": str(last_post_id(app))})
    assert reply.status_code == 404

    after = post(bo, setup, "My own take")
    assert "<em>unique</em>" in after.text and "My own take" in after.text
    assert "1 result<" in bo.get(f"{setup.base}/search", params={"q": "zero tolerance"}).text


def test_reply_to_a_reply_shows_who_it_answers_and_quote_prefills(app, lti, setup):
    ann, bo = lti(P1), lti(P2)
    post(ann, setup, "First thought")
    first = last_post_id(app)
    post(bo, setup, "Bo's initial")
    post(bo, setup, "Replying to Ann", parent_id=first)
    reply = last_post_id(app)
    page = post(ann, setup, "Replying to Bo's reply", parent_id=reply)
    text = text_of(page.text)
    assert "in reply to Bo" not in text   # names come from the LMS: check the real ones
    with app.app_context():
        bo_name = db.session.get(Membership, member(app, P2).id).user.display_name
    assert f"in reply to {bo_name}" in text
    assert 'class="dsc-post dsc-depth-2' in page.text
    quoted = ann.get(setup.thread, params={"quote": reply})
    body = re.search(r'<textarea[^>]*name="body"[^>]*>(.*?)</textarea>', quoted.text, re.S).group(1)
    assert body.strip().startswith(f"&gt; {bo_name} wrote:") and "&gt; Replying to Ann" in body


def test_reactions_through_htmx_return_the_fragment_with_counts_and_names(app, lti, setup):
    ann, bo = lti(P1), lti(P2)
    post(ann, setup, "Helpful idea")
    pid = last_post_id(app)
    post(bo, setup, "mine")
    token = bo.csrf_token(setup.thread)
    fragment = bo.post(f"{setup.base}/posts/{pid}/react", data={"csrf_token": token, "kind": "helpful"},
                       headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and fragment.text.strip().startswith('<div class="dsc-reactions"')
    assert 'aria-pressed="true"' in fragment.text and "Who reacted" in fragment.text


def test_edit_and_delete_through_the_forms_and_others_cannot(app, lti, setup):
    ann, bo = lti(P1), lti(P2)
    post(ann, setup, "Version one")
    pid = last_post_id(app)
    edit = ann.get(f"{setup.base}/posts/{pid}/edit")
    saved = ann.submit(edit, index=len(forms(edit.text)) - 1, body="Version two")
    assert "Version two" in saved.text and "Edited" in saved.text
    post(bo, setup, "Bo")
    assert bo.get(f"{setup.base}/posts/{pid}/edit").status_code == 403
    token = bo.csrf_token(setup.thread)
    assert bo.post(f"{setup.base}/posts/{pid}/delete", data={"csrf_token": token}).status_code == 403
    token = ann.csrf_token(setup.thread)
    gone = ann.post(f"{setup.base}/posts/{pid}/delete", data={"csrf_token": token})
    assert "removed by its author" in gone.text and "Version two" not in gone.text


def test_preview_returns_the_sanitised_fragment(lti, setup):
    ann = lti(P1)
    token = ann.csrf_token(setup.thread)
    fragment = ann.post(f"{setup.base}/preview", data={"csrf_token": token,
                                                       "body": "**hi** <img src=x onerror=alert(1)> [x](javascript:alert(1))"})
    assert fragment.status_code == 200
    assert "<strong>hi</strong>" in fragment.text
    assert "<img" not in fragment.text and 'href="javascript' not in fragment.text


# -- bad input ------------------------------------------------------------------------------------------------

def test_an_empty_or_overlong_post_gets_a_message_and_saves_nothing(app, lti, setup):
    ann = lti(P1)
    empty = post(ann, setup, "   ")
    assert empty.status_code == 400 and "Write something before posting" in empty.text
    long = post(ann, setup, "x" * 20_001)
    assert long.status_code == 400 and "at most 20,000 characters" in long.text
    assert last_post_id(app) is None


def test_a_mention_outside_the_cohort_gets_a_message(app, lti, setup):
    with app.app_context():
        outsider = db.session.get(Membership, member(app, OUTSIDER).id).user.display_name
    page = post(lti(P1), setup, f"Hi @[{outsider}]")
    assert page.status_code == 400 and "not someone you can mention" in page.text and last_post_id(app) is None


def test_a_reply_to_a_locked_thread_is_refused(app, lti, setup):
    ann = lti(P1)
    token = ann.csrf_token(setup.thread)     # the reply form disappears once the thread is locked
    fac = lti(FAC)
    page = fac.get(setup.thread)
    index = next(i for i, f in enumerate(forms(page.text)) if f.fields.get("reason") is not None)
    locked = fac.submit(page, index=index, action="lock", reason="Closed until next session")
    assert "Locked:" in locked.text and "Closed until next session" in locked.text
    refused = ann.post(f"{setup.thread}/posts", data={"csrf_token": token, "body": "late"})
    assert refused.status_code == 409 and "locked" in refused.text


def test_a_reading_that_ends_before_it_starts_gets_a_message(app, lti, setup):
    lead = lti(LEAD)
    page = lead.get(f"/c/{setup.cid}/discussions/books/{setup.book_id}")
    index = len(forms(page.text)) - 1
    bad = lead.submit(page, index=index, label="Chapter 9", starts_on="2026-12-10", ends_on="2026-12-01",
                      initial_posts_required="1", replies_required="2", post_first="none", post_first_n="1")
    assert bad.status_code == 400 and "ends before it starts" in bad.text


# -- moderation -----------------------------------------------------------------------------------------------

def test_facilitator_pins_hides_with_reason_and_the_author_is_told(app, lti, setup):
    ann = lti(P1)
    post(ann, setup, "Regrettable words")
    pid = last_post_id(app)
    fac = lti(FAC)
    page = fac.get(setup.thread)
    pin_index = next(i for i, f in enumerate(forms(page.text)) if f.fields.get("action") == "pin")
    pinned = fac.submit(page, index=pin_index)
    assert "Thread pinned" in pinned.text
    hide = fac.get(f"{setup.base}/posts/{pid}/hide")
    hidden = fac.submit(hide, index=len(forms(hide.text)) - 1, reason="Names a student")
    assert "Hidden by a facilitator: Names a student" in text_of(hidden.text)
    notes = ann.get(f"{setup.base}/notifications")
    assert "hid your post" in notes.text and "Names a student" in notes.text
    assert "Pinned" in ann.get(setup.base).text
    log = fac.get(f"{setup.base}/moderation")
    assert "hide" in log.text and "Names a student" in log.text and "pin" in log.text


def test_participants_cannot_moderate(app, lti, setup):
    ann = lti(P1)
    post(ann, setup, "x")
    pid = last_post_id(app)
    token = ann.csrf_token(setup.thread)
    assert ann.post(f"{setup.thread}/moderate", data={"csrf_token": token, "action": "pin"}).status_code == 403
    assert ann.get(f"{setup.base}/posts/{pid}/hide").status_code == 403
    assert ann.get(f"{setup.base}/posts/{pid}/move").status_code == 403
    assert ann.get(f"{setup.base}/moderation").status_code == 403
    assert ann.get(f"{setup.base}/participation/{setup.book_id}.csv").status_code == 403


# -- CSRF, injection, confidentiality ------------------------------------------------------------------------------

def test_every_form_refuses_a_post_without_its_csrf_token(app, lti, setup):
    ann = lti(P1)
    post(ann, setup, "x")
    pid = last_post_id(app)
    fac = lti(FAC)
    b = setup.base
    for browser, path in [
        (ann, f"{setup.thread}/posts"), (ann, f"{b}/preview"), (ann, f"{b}/posts/{pid}/edit"),
        (ann, f"{b}/posts/{pid}/delete"), (fac, f"{b}/posts/{pid}/react"), (fac, f"{b}/posts/{pid}/report"),
        (fac, f"{setup.thread}/moderate"), (fac, f"{setup.thread}/settings"), (fac, f"{b}/posts/{pid}/hide"),
        (fac, f"{b}/posts/{pid}/move"), (fac, f"{b}/moderation"), (ann, f"{b}/read-all"), (fac, f"{b}/settings"),
        (ann, f"{b}/notifications/read"), (ann, f"{b}/notifications/preference"), (fac, f"{b}/threads/new"),
        (fac, f"{b}/participation/{setup.book_id}/override"),
        (fac, f"/c/{setup.cid}/discussions/books/{setup.book_id}"), (fac, f"/c/{setup.cid}/discussions/books/new"),
        (fac, f"/c/{setup.cid}/discussions/readings/{setup.reading_id}/shift"),
        (fac, f"/c/{setup.cid}/discussions/readings/{setup.reading_id}/edit"),
        (fac, f"/c/{setup.cid}/discussions/settings"),
    ]:
        response = browser.post(path, data={"body": "forged", "action": "pin", "reason": "r", "kind": "helpful",
                                            "title": "t", "days": "3", "general_threads_by": "everyone",
                                            "email_mode": "each", "membership_id": "1", "score": "1",
                                            "comment": "c", "label": "L", "starts_on": "2026-01-01",
                                            "ends_on": "2026-01-02"})
        assert response.status_code == 400 or "expired" in response.text or "Error" in response.text, path
    with app.app_context():
        assert db.session.scalar(select(Post.body_markdown).where(Post.id == pid)) == "x"
        assert not db.session.get(Thread, setup.thread_id).pinned


def test_script_in_bodies_titles_quotes_and_lms_names_never_runs(app, lti, setup):
    from lti_tool.sandbox import services as sb

    with app.app_context():
        platform = sb.first_platform(db.session)
        sb.add_user(db.session, platform, P3, name='<script>alert("name")</script>', email="p3@example.edu",
                    picture='https://evil.example/a.png" onerror="alert(1)')
        db.session.commit()
    evil = lti(P3)
    payload = ('<script>alert(1)</script> <img src=x onerror=alert(2)> [click](javascript:alert(3)) '
               '![x](javascript:alert(4)) <a href="javascript:alert(5)">a</a> "><svg onload=alert(6)>')
    page = post(evil, setup, payload)
    assert page.status_code == 200
    fac = lti(FAC)
    t = fac.get(f"{setup.base}/threads/new")
    fac.submit(t, index=len(forms(t.text)) - 1, title='<script>alert("title")</script>', prompt="[x](javascript:1)",
               post_first="none", post_first_n="1")
    for browser, path in [(fac, setup.thread), (fac, setup.base), (evil, setup.thread),
                          (fac, f"{setup.base}/search?q=alert"), (fac, f"{setup.thread}?quote={last_post_id(app)}")]:
        html = browser.get(path).text
        main = html.split('<main', 1)[1]
        assert "<script>alert" not in html and "<svg" not in main and "<img src=x" not in main, path
        assert not re.search(r'<[a-z]+[^>]*\s(href|src)\s*=\s*"?\s*javascript:', html, re.I), path
        assert not re.search(r'<[a-z]+[^>]*\son[a-z]+\s*=', main, re.I), path
    assert "&lt;script&gt;alert(&#34;name&#34;)&lt;/script&gt;" in fac.get(setup.thread).text or \
        "&lt;script&gt;alert(&quot;name&quot;)" in fac.get(setup.thread).text
    # The avatar was not https-only clean: it is shown escaped at most, never as an attribute break-out.
    assert 'onerror="alert(1)"' not in fac.get(setup.thread).text
    people = lti(P1).get(f"{setup.base}/people.json", params={"q": "script"})
    assert people.headers["Content-Type"].startswith("application/json")


def test_ids_of_another_cohort_or_course_are_not_found(app, lti, setup):
    outsider = lti(OUTSIDER)
    assert outsider.get(setup.thread).status_code == 404
    assert outsider.get(setup.base).status_code == 404
    ann = lti(P1)
    post(ann, setup, "confidential")
    pid = last_post_id(app)
    other_base = f"/c/{setup.cid}/discussions/cohort/{setup.other_cohort_id}"
    assert outsider.get(f"{other_base}/threads/{setup.thread_id}").status_code == 404
    assert outsider.get(f"{other_base}/posts/{pid}/report").status_code == 404
    assert "0 results" in outsider.get(f"{other_base}/search", params={"q": "confidential"}).text
    assert ann.get(other_base).status_code == 404
    stranger = lti("other-facilitator-1", course="other-course")
    other_cid = member(app, "other-facilitator-1", "other-course").course_id
    assert stranger.get(setup.thread).status_code == 403          # not a member of that course at all
    assert stranger.get(f"/c/{other_cid}/discussions/cohort/{setup.cohort_id}").status_code == 404
    assert stranger.get(f"/c/{other_cid}/discussions/books/{setup.book_id}").status_code == 404
    assert stranger.get(f"/c/{other_cid}/discussions/reading/{setup.reading_id}").status_code == 404
    both = lti(P1, course="other-course")        # in both courses: the other course's URLs lead nowhere
    assert both.get(f"/c/{other_cid}/discussions/cohort/{setup.cohort_id}/threads/{setup.thread_id}").status_code == 404


def test_observers_see_nothing_unless_the_program_allows(app, lti, setup):
    observer = lti("demo-observer-1")
    assert observer.get(setup.thread).status_code == 404
    lead = lti(LEAD)
    page = lead.get(f"/c/{setup.cid}/discussions/")
    index = next(i for i, f in enumerate(forms(page.text)) if f.action.endswith("/settings"))
    lead.submit(page, index=index, observers_may_read="y")
    view = observer.get(setup.thread)
    assert view.status_code == 200 and "Add a post" not in view.text


# -- participation, CSV, notifications badge -----------------------------------------------------------------

def test_participant_sees_where_they_stand_and_the_facilitator_the_grid_and_csv(app, lti, setup):
    ann = lti(P1)
    post(ann, setup, "initial")
    mine = ann.get(f"{setup.base}/participation")
    assert "In progress: 1 of 1 initial, 0 of 2 replies" in mine.text and "Not open yet" in mine.text
    fac = lti(FAC)
    grid = fac.get(f"{setup.base}/participation")
    assert "<caption id=" in grid.text and 'scope="row"' in grid.text and 'scope="col"' in grid.text
    csv_text = fac.get(f"{setup.base}/participation/{setup.book_id}.csv").content.decode("utf-8-sig")
    assert csv_text.splitlines()[0].startswith("Participant,Email,Chapter 1,Chapter 2,Score")


def test_mention_completion_lists_only_cohort_people(app, lti, setup):
    ann = lti(P1)
    names = [p["name"] for p in ann.get(f"{setup.base}/people.json").json()["people"]]
    with app.app_context():
        wanted = {db.session.get(Membership, member(app, sub).id).user.display_name for sub in (FAC, P2, P3)}
        outsider = db.session.get(Membership, member(app, OUTSIDER).id).user.display_name
    assert set(names) == wanted and outsider not in names


# -- deep linking ----------------------------------------------------------------------------------------------

def test_the_picker_offers_the_book_study_and_readings_and_a_placed_reading_opens_its_thread(app, lti, setup):
    from lti_tool.sandbox import services as sb

    browser = lti()
    picker = browser.launch(LEAD, kind="deeplink")
    assert "Book study: discussions home" in picker.text and "Reading: Chapter 1 (Punished for Dreaming)" in picker.text
    with app.app_context():
        platform = sb.first_platform(db.session)
        course = sb.get_course(db.session, platform, "demo-course")
        link = sb.add_resource_link(db.session, course, "Chapter 1", custom={"target": f"thread:{setup.reading_id}"})
        db.session.commit()
        link_id = link.resource_link_id
    landed = lti(P1, link=link_id)
    assert landed.last.url.endswith(setup.thread)


# -- query counts -----------------------------------------------------------------------------------------------

class QueryCounter:
    def __init__(self, engine):
        self.engine, self.count = engine, 0

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self._hit)
        return self

    def __exit__(self, *exc):
        event.remove(self.engine, "before_cursor_execute", self._hit)

    def _hit(self, *args):
        self.count += 1


def _add_posts(app, setup, n):
    with app.app_context():
        authors = [member(app, sub).id for sub in (P1, P2, P3)]
        for i in range(n):
            db.session.add(Post(thread_id=setup.thread_id, author_id=authors[i % 3], body_markdown=f"p{i}",
                                body_html=f"<p>p{i}</p>"))
        db.session.commit()


def test_the_thread_page_and_the_cohort_home_cost_the_same_queries_at_any_size(app, lti, setup):
    ann = lti(P1)
    post(ann, setup, "mine")
    counts = []
    for n in (5, 80):
        _add_posts(app, setup, n)
        ann.get(setup.thread)      # the read marker exists, as it does from the second visit on
        _add_posts(app, setup, 2)
        with QueryCounter(db.engine_for(app)) as thread_q:
            assert ann.get(setup.thread).status_code == 200
        with QueryCounter(db.engine_for(app)) as home_q:
            assert ann.get(setup.base).status_code == 200
        counts.append((thread_q.count, home_q.count))
    assert counts[0] == counts[1]


def test_every_page_renders_for_the_facilitator_and_the_lead(app, lti, setup):
    ann = lti(P1)
    post(ann, setup, "Version one")
    pid = last_post_id(app)
    edit = ann.get(f"{setup.base}/posts/{pid}/edit")
    ann.submit(edit, index=len(forms(edit.text)) - 1, body="Version two")
    fac, lead = lti(FAC), lti(LEAD)
    c = f"/c/{setup.cid}/discussions"
    for browser, path, marker in [
        (lead, f"{c}/", "Books"), (lead, f"{c}/books/new", "Add a book"), (lead, f"{c}/books/{setup.book_id}/edit", "Edit"),
        (lead, f"{c}/books/{setup.book_id}", "Reading schedule"), (lead, f"{c}/readings/{setup.reading_id}/edit", "Chapter 1"),
        (fac, setup.base, "This week's reading"), (fac, f"{setup.base}/threads/new", "Start a thread"),
        (fac, f"{setup.base}/moderation", "Moderation"), (fac, f"{setup.base}/notifications", "Notifications"),
        (fac, f"{setup.base}/search?q=version", "1 result<"), (fac, f"{setup.base}/posts/{pid}/revisions", "Version one"),
        (fac, f"{setup.base}/posts/{pid}/move", "Move"), (fac, f"{setup.base}/participation", "Participation"),
        (fac, f"{setup.base}/notifications/badge", "dsc-badge"), (ann, f"{setup.base}/participation", "Where you stand"),
    ]:
        page = browser.get(path)
        assert page.status_code == 200 and marker in page.text, path
    assert ann.get(f"{setup.base}/posts/{pid}/revisions").status_code == 403


def test_shifting_the_schedule_through_the_book_page(app, lti, setup):
    lead = lti(LEAD)
    page = lead.get(f"/c/{setup.cid}/discussions/books/{setup.book_id}")
    index = next(i for i, f in enumerate(forms(page.text)) if f.action.endswith("/shift"))
    with app.app_context():
        from lti_tool.discussions.models import Reading

        before = [r.starts_on for r in db.session.scalars(select(Reading).order_by(Reading.id))]
    moved = lead.submit(page, index=index, days="7")
    assert "2 readings moved by 7 days" in moved.text
    with app.app_context():
        after = [r.starts_on for r in db.session.scalars(select(Reading).order_by(Reading.id))]
    assert after == [d + dt.timedelta(days=7) for d in before]


def test_a_placed_book_study_link_opens_the_cohort_of_a_participant(app, lti, setup):
    from lti_tool.sandbox import services as sb

    with app.app_context():
        course = sb.get_course(db.session, sb.first_platform(db.session), "demo-course")
        link = sb.add_resource_link(db.session, course, "Book study", custom={"target": "bookstudy"})
        db.session.commit()
        link_id = link.resource_link_id
    landed = lti(P1, link=link_id)
    assert landed.last.url.endswith(setup.base)
