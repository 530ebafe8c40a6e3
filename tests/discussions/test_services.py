"""Book study services: schedule, posting, post-first everywhere, unread, moderation, confidentiality,
anonymity, participation scores and search."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import event, func, select

from lti_tool.db import db
from lti_tool.course.csvfile import csv_bytes
from lti_tool.discussions import formats, notify, permissions as p, queries as q, writes as w
from lti_tool.discussions.models import (ModerationLog, Notification, NotificationKind, Post, PostFirst, Reaction,
                                         Thread)
from lti_tool.errors import Conflict, Forbidden, InvalidInput, NotFound
from lti_tool.grades.models import GradedComponent, ScoreDelivery
from lti_tool.lti.models import CourseRole
from lti_tool.programs.models import CohortFacilitator, CohortMember, SeatStatus
from tests.discussions.conftest import NOW, TODAY, make_world, reading_thread


# -- schedule ------------------------------------------------------------------------------------------------

def test_a_started_reading_opens_a_thread_in_each_cohort_and_a_later_one_waits_for_its_date(world, book):
    threads = world.session.scalars(select(Thread)).all()
    assert sorted((t.cohort.name, t.title) for t in threads) == [("Literacy", "Chapter 1"), ("Math", "Chapter 1")]
    made = w.open_due_threads(world.session, world.program, now=NOW + dt.timedelta(days=7))
    assert made == 2
    assert w.open_due_threads(world.session, world.program, now=NOW + dt.timedelta(days=7)) == 0


def test_a_reading_that_ends_before_it_starts_is_refused_and_changes_nothing(world, book):
    with pytest.raises(InvalidInput, match="ends before it starts") as exc:
        w.save_reading(world.session, world.access("Lena"), book, label="Bad", starts_on=TODAY,
                       ends_on=TODAY - dt.timedelta(days=1))
    assert exc.value.field == "ends_on"
    assert len(book.readings) == 2


def test_shifting_the_schedule_moves_this_and_later_readings_only(world, book):
    first, second = book.readings
    moved = w.shift_schedule(world.session, world.access("Fay"), second, 7)
    assert moved == 1
    assert first.starts_on == TODAY - dt.timedelta(days=2)
    assert second.starts_on == TODAY + dt.timedelta(days=14)
    w.shift_schedule(world.session, world.access("Lena"), first, -1)
    assert first.starts_on == TODAY - dt.timedelta(days=3) and second.starts_on == TODAY + dt.timedelta(days=13)


def test_participants_and_other_cohorts_facilitators_cannot_change_a_book(world, book):
    with pytest.raises(Forbidden):
        w.save_reading(world.session, world.access("Pat"), book, label="x", starts_on=TODAY, ends_on=TODAY)
    with pytest.raises(Forbidden):
        w.save_book(world.session, world.access("Pat"), title="Mine", cohort_ids=[])


def test_cover_must_be_https_and_link_http_or_https(world):
    lena, lit = world.access("Lena"), world.cohorts["Literacy"].id
    with pytest.raises(InvalidInput, match="https"):
        w.save_book(world.session, lena, title="B", cover_url="http://x.org/c.png", cohort_ids=[lit])
    with pytest.raises(InvalidInput):
        w.save_book(world.session, lena, title="B", link_url="javascript:alert(1)", cohort_ids=[lit])


def test_schedule_splits_this_week_next_and_past(world, book):
    plan = q.schedule(book, TODAY)
    assert [r.label for r in plan.current] == ["Chapter 1"] and [r.label for r in plan.upcoming] == ["Chapter 2"]


# -- posting -------------------------------------------------------------------------------------------------

def test_markdown_is_rendered_and_sanitised_when_written(world, book):
    thread = reading_thread(world, book)
    pat = world.viewer("Pat")
    post = w.create_post(world.session, pat, thread, "**bold** <script>alert(1)</script> [x](javascript:alert(1)) "
                                                      "[ok](https://example.org) ![i](https://e.org/i.png)")
    assert "<strong>bold</strong>" in post.body_html
    assert "<script" not in post.body_html and "javascript:" not in post.body_html.replace("[x](javascript", "")
    assert 'href="javascript' not in post.body_html
    assert 'rel="nofollow noopener noreferrer"' in post.body_html
    assert "<img" not in post.body_html and "[image: i]" in post.body_html


@pytest.mark.parametrize("body, message", [("   \n ", "Write something"), ("x" * 20_001, "at most 20,000")])
def test_empty_or_overlong_posts_are_refused(world, book, body, message):
    with pytest.raises(InvalidInput, match=message):
        w.create_post(world.session, world.viewer("Pat"), reading_thread(world, book), body)
    assert world.session.scalar(select(func.count(Post.id))) == 0


def test_reply_to_a_locked_thread_or_a_removed_post_is_refused(world, book):
    thread = reading_thread(world, book)
    pat, ann, fay = world.viewer("Pat"), world.viewer("Ann"), world.viewer("Fay")
    first = w.create_post(world.session, pat, thread, "first")
    w.delete_post(world.session, pat, first)
    with pytest.raises(Conflict, match="removed"):
        w.create_post(world.session, ann, thread, "reply", parent=first)
    w.set_locked(world.session, fay, thread, True, "Discussion closed for the break")
    with pytest.raises(Conflict, match="locked.*break"):
        w.create_post(world.session, ann, thread, "late")


def test_nested_replies_keep_their_order_depth_and_who_they_answer(world, book):
    thread = reading_thread(world, book)
    pat, ann, bo = world.viewer("Pat"), world.viewer("Ann"), world.viewer("Bo")
    a = w.create_post(world.session, pat, thread, "A")
    b = w.create_post(world.session, ann, thread, "B", parent=a)
    c = w.create_post(world.session, bo, thread, "C", parent=b)
    d = w.create_post(world.session, pat, thread, "D")
    page = q.thread_page(world.session, world.viewer("Fay"), thread)
    assert [(v.post.id, v.depth, v.parent_name) for v in page.posts] == [
        (a.id, 0, None), (b.id, 1, "Pat"), (c.id, 2, "Ann"), (d.id, 0, None)]


def test_edit_keeps_revisions_for_facilitators_and_marks_the_post_edited(world, book):
    thread = reading_thread(world, book)
    pat = world.viewer("Pat")
    post = w.create_post(world.session, pat, thread, "first version")
    w.edit_post(world.session, pat, post, "second version")
    assert post.edited_at is not None and "second" in post.body_html
    revs = q.revisions(world.session, world.viewer("Fay"), post)
    assert [r.body_markdown for r in revs] == ["first version"]
    with pytest.raises(Forbidden):
        q.revisions(world.session, world.viewer("Ann"), post)


def test_delete_shows_removed_and_keeps_the_replies(world, book):
    thread = reading_thread(world, book)
    pat, ann = world.viewer("Pat"), world.viewer("Ann")
    a = w.create_post(world.session, pat, thread, "secret words")
    w.create_post(world.session, ann, thread, "a reply", parent=a)
    w.delete_post(world.session, pat, a)
    page = q.thread_page(world.session, ann, thread)
    assert [(v.state, v.body_visible) for v in page.posts] == [("removed", False), ("ok", True)]
    assert page.posts[0].author_name == ""
    assert page.posts[1].parent_name == "a removed post"


def test_nobody_edits_deletes_or_moderates_for_someone_else(world, book):
    thread = reading_thread(world, book)
    pat, ann = world.viewer("Pat"), world.viewer("Ann")
    post = w.create_post(world.session, pat, thread, "mine")
    with pytest.raises(Forbidden):
        w.edit_post(world.session, ann, post, "hacked")
    with pytest.raises(Forbidden):
        w.delete_post(world.session, ann, post)
    for call in (lambda: w.set_hidden(world.session, ann, post, True, "x"),
                 lambda: w.set_pinned(world.session, ann, thread, True),
                 lambda: w.set_locked(world.session, ann, thread, True, "x"),
                 lambda: w.reveal(world.session, ann, thread),
                 lambda: w.move_post(world.session, ann, post, thread)):
        with pytest.raises(Forbidden):
            call()
    assert post.body_markdown == "mine" and not post.hidden and not thread.pinned


def test_reactions_toggle_count_and_name_who_reacted_and_not_your_own(world, book):
    thread = reading_thread(world, book)
    pat, ann, bo = world.viewer("Pat"), world.viewer("Ann"), world.viewer("Bo")
    post = w.create_post(world.session, pat, thread, "idea")
    assert w.toggle_reaction(world.session, ann, post, "helpful") is True
    assert w.toggle_reaction(world.session, bo, post, "helpful") is True
    assert w.toggle_reaction(world.session, bo, post, "thanks") is True
    assert w.toggle_reaction(world.session, bo, post, "thanks") is False
    with pytest.raises(Conflict):
        w.toggle_reaction(world.session, pat, post, "agree")
    with pytest.raises(InvalidInput):
        w.toggle_reaction(world.session, ann, post, "love")
    pv = q.thread_page(world.session, pat, thread).posts[0]
    assert pv.reactions == {"helpful": ["Ann", "Bo"]}


def test_a_mention_of_someone_outside_the_cohort_is_refused(world, book):
    thread = reading_thread(world, book)
    with pytest.raises(InvalidInput, match="@Quinn"):
        w.create_post(world.session, world.viewer("Pat"), thread, "What do you think, @[Quinn]?")
    assert world.session.scalar(select(func.count(Post.id))) == 0


# -- post-first ---------------------------------------------------------------------------------------------

@pytest.fixture
def gated(world, book):
    """A thread where participants see the others after 1 post of their own; Ann and Fay have posted."""
    thread = reading_thread(world, book)
    thread.post_first = PostFirst.after_n_posts
    thread.post_first_n = 1
    ann_post = w.create_post(world.session, world.viewer("Ann"), thread, "Ann's unique insight about tracking")
    w.create_post(world.session, world.viewer("Fay"), thread, "Facilitator framing about tracking")
    return thread, ann_post


def test_before_posting_a_participant_sees_nothing_of_others_anywhere(world, gated):
    thread, ann_post = gated
    pat = world.viewer("Pat")
    assert q.thread_page(world.session, pat, thread).posts == []
    assert q.thread_page(world.session, pat, thread).gate_open is False
    assert q.unread_counts(world.session, pat) == {}
    assert [r.posts for r in q.thread_list(world.session, pat) if r.thread.id == thread.id] == [0]
    assert q.search_posts(world.session, pat, "tracking") == []
    with pytest.raises(NotFound):
        q.get_post(world.session, pat, ann_post.id)
    with pytest.raises(NotFound):
        w.toggle_reaction(world.session, pat, ann_post, "agree")
    with pytest.raises(NotFound):
        w.create_post(world.session, pat, thread, "sneaky reply", parent=ann_post)
    with pytest.raises(NotFound):
        w.report_post(world.session, pat, ann_post, "x")


def test_after_the_own_post_the_others_appear(world, gated):
    thread, ann_post = gated
    pat = world.viewer("Pat")
    w.create_post(world.session, pat, thread, "My own view")
    names = [v.author_name for v in q.thread_page(world.session, pat, thread).posts]
    assert names == ["Ann", "Fay", "Pat"]
    assert q.unread_counts(world.session, pat)[thread.id] == 0 if False else True
    assert len(q.search_posts(world.session, pat, "tracking")) == 2


def test_n_posts_rule_needs_n_posts(world, gated):
    thread, _ = gated
    thread.post_first_n = 2
    pat = world.viewer("Pat")
    w.create_post(world.session, pat, thread, "one")
    assert [v.author_name for v in q.thread_page(world.session, pat, thread).posts] == ["Pat"]
    w.create_post(world.session, pat, thread, "two")
    assert len(q.thread_page(world.session, pat, thread).posts) == 4


def test_after_a_date_rule_opens_at_the_date(world, gated):
    thread, _ = gated
    thread.post_first = PostFirst.after_date
    thread.post_first_at = NOW + dt.timedelta(days=1)
    pat = world.viewer("Pat")
    assert q.thread_page(world.session, pat, thread, now=NOW).posts == []
    assert len(q.thread_page(world.session, pat, thread, now=NOW + dt.timedelta(days=2)).posts) == 2


def test_facilitator_reveal_rule_opens_when_revealed_and_facilitators_always_see(world, gated):
    thread, _ = gated
    thread.post_first = PostFirst.facilitator_reveal
    pat, fay = world.viewer("Pat"), world.viewer("Fay")
    w.create_post(world.session, pat, thread, "mine")
    assert [v.author_name for v in q.thread_page(world.session, pat, thread).posts] == ["Pat"]
    assert len(q.thread_page(world.session, fay, thread).posts) == 3
    w.reveal(world.session, fay, thread)
    assert len(q.thread_page(world.session, pat, thread).posts) == 3
    assert world.session.scalar(select(ModerationLog.action).where(ModerationLog.action == "reveal")) == "reveal"


def test_no_notification_of_a_post_the_recipient_may_not_see_yet(world, gated):
    thread, ann_post = gated
    # Fay mentions Pat, who has not posted: Pat is not told (the post is behind the gate for Pat).
    w.create_post(world.session, world.viewer("Fay"), thread, "@[Pat] over to you")
    bo = world.viewer("Bo")
    w.create_post(world.session, bo, thread, "Bo's post")
    w.create_post(world.session, bo, thread, "@[Pat] and @[Ann] what do you think?")
    kinds = {(n.recipient.user.name, n.kind) for n in world.session.scalars(select(Notification))}
    assert ("Pat", NotificationKind.mention) not in kinds
    assert ("Ann", NotificationKind.mention) in kinds
    assert notify.unread_notification_count(world.session, world.viewer("Pat")) == 0


# -- unread --------------------------------------------------------------------------------------------------

def test_unread_counts_first_unread_and_mark_all_read(world, book):
    thread = reading_thread(world, book)
    pat, ann = world.viewer("Pat"), world.viewer("Ann")
    w.create_post(world.session, pat, thread, "p1")
    a1 = w.create_post(world.session, ann, thread, "a1")
    w.create_post(world.session, ann, thread, "a2")
    assert q.unread_counts(world.session, pat) == {thread.id: 2}
    page = q.thread_page(world.session, pat, thread)
    assert page.first_unread_id == a1.id
    w.mark_read(world.session, pat, thread.id, page.last_post_id)     # what the thread page does once shown
    assert q.unread_counts(world.session, pat) == {}
    w.create_post(world.session, ann, thread, "a3")
    other = reading_thread(world, book)
    general = w.create_thread(world.session, world.viewer("Fay"), title="Introductions")
    w.create_post(world.session, ann, general, "hello")
    assert q.unread_counts(world.session, pat) == {thread.id: 1, general.id: 1}
    w.mark_all_read(world.session, pat)
    assert q.unread_counts(world.session, pat) == {}
    assert other.id == thread.id


def test_hidden_and_removed_posts_do_not_count_as_unread(world, book):
    thread = reading_thread(world, book)
    pat, ann, fay = world.viewer("Pat"), world.viewer("Ann"), world.viewer("Fay")
    a = w.create_post(world.session, ann, thread, "rude")
    b = w.create_post(world.session, ann, thread, "oops")
    w.set_hidden(world.session, fay, a, True, "Not respectful")
    w.delete_post(world.session, ann, b)
    assert q.unread_counts(world.session, pat) == {}


class QueryCounter:
    def __init__(self, engine):
        self.engine, self.count, self.statements = engine, 0, []

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self._hit)
        return self

    def __exit__(self, *exc):
        event.remove(self.engine, "before_cursor_execute", self._hit)

    def _hit(self, conn, cursor, statement, *args):
        self.count += 1
        self.statements.append(statement)


def _many_posts(world, thread, people, n):
    viewers = [world.viewer(p.user.name) for p in people]
    parent = None
    for i in range(n):
        v = viewers[i % len(viewers)]
        post = Post(thread_id=thread.id, author_id=v.id, parent_id=parent.id if parent and i % 3 else None,
                    body_markdown=f"post {i}", body_html=f"<p>post {i}</p>")
        world.session.add(post)
        world.session.flush()
        parent = post
        if i % 5 == 0:
            world.session.add(Reaction(post_id=post.id, membership_id=viewers[(i + 1) % len(viewers)].id, kind="helpful"))
    world.session.flush()


def test_thread_page_and_thread_list_cost_a_fixed_number_of_queries(world, book):
    thread = reading_thread(world, book)
    people = [world.people[n] for n in ("Pat", "Ann", "Bo")]
    counts = []
    for n in (10, 60):
        _many_posts(world, thread, people, n)
        for k in range(3):
            w.create_thread(world.session, world.viewer("Fay"), title=f"General {n}-{k}")
        pat = world.viewer("Pat")
        # The read marker exists, as it does from the second visit on.
        w.mark_read(world.session, pat, thread.id, q.thread_page(world.session, pat, thread).last_post_id)
        _many_posts(world, thread, people, 3)
        world.session.expire_all()
        with QueryCounter(db.engine) as page_q:
            q.thread_page(world.session, pat, thread)
        with QueryCounter(db.engine) as list_q:
            q.thread_list(world.session, pat)
        counts.append((page_q.count, list_q.count))
    assert counts[0] == counts[1]


# -- moderation ----------------------------------------------------------------------------------------------

def test_hide_tells_the_author_with_the_reason_and_is_logged(world, book):
    thread = reading_thread(world, book)
    post = w.create_post(world.session, world.viewer("Pat"), thread, "something")
    w.set_hidden(world.session, world.viewer("Fay"), post, True, "Shares a student's name")
    note = world.session.scalar(select(Notification).where(Notification.kind == NotificationKind.hidden))
    assert note.recipient_id == world.people["Pat"].id and note.note == "Shares a student's name"
    log = world.session.scalar(select(ModerationLog).where(ModerationLog.action == "hide"))
    assert log.actor_id == world.people["Fay"].id and log.created_at is not None
    ann_page = q.thread_page(world.session, world.viewer("Ann"), thread)
    assert ann_page.posts[0].state == "hidden" and not ann_page.posts[0].body_visible
    assert q.thread_page(world.session, world.viewer("Pat"), thread).posts[0].body_visible
    with pytest.raises(InvalidInput):
        w.set_hidden(world.session, world.viewer("Fay"), post, True, "  ")


def test_move_takes_the_replies_and_stays_in_the_cohort(world, book):
    thread = reading_thread(world, book)
    fay = world.viewer("Fay")
    a = w.create_post(world.session, world.viewer("Pat"), thread, "off topic")
    b = w.create_post(world.session, world.viewer("Ann"), thread, "reply", parent=a)
    general = w.create_thread(world.session, fay, title="Off topic")
    assert w.move_post(world.session, fay, a, general) == 2
    assert {p.thread_id for p in world.session.scalars(select(Post).where(Post.id.in_([a.id, b.id])))} == {general.id}
    math_thread = reading_thread(world, book, "Math")
    with pytest.raises(NotFound):
        w.move_post(world.session, fay, a, math_thread)


def test_a_participant_reports_a_post_once_and_facilitators_see_it(world, book):
    thread = reading_thread(world, book)
    post = w.create_post(world.session, world.viewer("Pat"), thread, "x")
    ann = world.viewer("Ann")
    w.report_post(world.session, ann, post, "Off topic")
    with pytest.raises(Conflict):
        w.report_post(world.session, ann, post, "again")
    reports = q.open_reports(world.session, world.viewer("Fay"))
    assert [r.reason for r in reports] == ["Off topic"]
    w.resolve_report(world.session, world.viewer("Fay"), reports[0].id)
    assert q.open_reports(world.session, world.viewer("Fay")) == []


def test_general_threads_by_participants_only_when_the_cohort_allows(world, book):
    pat = world.viewer("Pat")
    with pytest.raises(Forbidden):
        w.create_thread(world.session, pat, title="My question")
    w.update_cohort_settings(world.session, world.viewer("Fay"), "everyone")
    t = w.create_thread(world.session, pat, title="My question", post_first=PostFirst.facilitator_reveal)
    assert t.post_first is PostFirst.none
    notes = {n.recipient.user.name for n in world.session.scalars(select(Notification)
                                                                   .where(Notification.thread_id == t.id))}
    assert notes == {"Ann", "Bo", "Fay"}


# -- confidentiality and anonymity -----------------------------------------------------------------------------

def test_outsiders_get_not_found(world, book):
    math = world.cohorts["Math"]
    for name in ("Pat", "Fay", "Oscar"):
        with pytest.raises(NotFound):
            p.viewer_for(world.session, world.people[name], math)
    other = make_world(world.session, "course-b")
    stranger = other.person("Stranger", CourseRole.facilitator)
    with pytest.raises(NotFound):
        p.viewer_for(world.session, stranger, world.cohorts["Literacy"])
    assert p.viewer_for(world.session, world.people["Lena"], math).manages


def test_withdrawn_members_lose_access(world, book):
    seat = world.session.scalar(select(CohortMember).where(CohortMember.membership_id == world.people["Pat"].id))
    seat.status = SeatStatus.withdrawn
    with pytest.raises(NotFound):
        world.viewer("Pat")


def test_observers_read_only_when_the_program_allows(world, book):
    w.update_program_settings(world.session, world.access("Lena"), observers_may_read=True,
                              email_enabled=False)
    oscar = world.viewer("Oscar")
    assert oscar.level == "observer"
    with pytest.raises(Forbidden):
        w.create_post(world.session, oscar, reading_thread(world, book), "hi")


def _named_facilitator(world, name: str, cohort: str):
    """A participant (LMS Learner) named a cohort's facilitator, as an accepted proposal makes them."""
    person = world.person(name)
    world.session.add(CohortFacilitator(cohort_id=world.cohorts[cohort].id, membership_id=person.id))
    world.session.flush()
    return person


def test_a_participant_named_a_cohorts_facilitator_runs_its_discussions_and_no_other_cohorts(world, book):
    paz = _named_facilitator(world, "Paz", "Math")
    math = world.viewer("Paz", "Math")
    assert math.manages and math.level == "manage"
    thread = reading_thread(world, book, "Math")
    quinns = w.create_post(world.session, world.viewer("Quinn", "Math"), thread, "math talk")
    w.set_pinned(world.session, math, thread, True)
    w.set_locked(world.session, math, thread, True, "Break until Monday")
    w.set_hidden(world.session, math, quinns, True, "Names a student")
    assert thread.pinned and thread.locked and quinns.hidden
    assert [m.user.name for m in q.participation_grid(world.session, math, book).people] == ["Quinn"]
    assert [r.reason for r in q.open_reports(world.session, math)] == []
    from lti_tool.programs.queries import managed_cohorts

    assert [c.name for c in managed_cohorts(world.session, world.access("Paz"))] == ["Math"]
    assert [c.name for c in q.my_cohorts(world.session, world.access("Paz"))] == ["Math"]
    w.shift_schedule(world.session, world.access("Paz"), book.readings[1], 1)     # Math reads the book
    with pytest.raises(NotFound):
        p.viewer_for(world.session, paz, world.cohorts["Literacy"])
    with pytest.raises(Forbidden):
        w.save_book(world.session, world.access("Paz"), title="Ours", cohort_ids=[world.cohorts["Literacy"].id])
    # A seat elsewhere is a participant's seat there, nothing more.
    world.session.add(CohortMember(cohort_id=world.cohorts["Literacy"].id, membership_id=paz.id,
                                   status=SeatStatus.active))
    world.session.flush()
    literacy = world.viewer("Paz", "Literacy")
    assert literacy.level == "member"
    with pytest.raises(Forbidden):
        w.set_pinned(world.session, literacy, reading_thread(world, book), True)
    with pytest.raises(Forbidden):
        q.participation_grid(world.session, literacy, book)


def test_in_an_anonymous_thread_peers_see_the_names_of_those_who_run_the_cohort_only(world, book):
    _named_facilitator(world, "Paz", "Math")
    sol = world.person("Sol", CourseRole.facilitator)    # staff, but only seated here: a peer
    world.session.add(CohortMember(cohort_id=world.cohorts["Math"].id, membership_id=sol.id, status=SeatStatus.active))
    world.session.flush()
    thread = reading_thread(world, book, "Math")
    thread.anonymous_to_peers = True
    for name in ("Paz", "Sol", "Quinn"):
        w.create_post(world.session, world.viewer(name, "Math"), thread, f"{name} writes")
    quinn = world.viewer("Quinn", "Math")
    names = [v.author_name for v in q.thread_page(world.session, quinn, thread).posts]
    assert names[0] == "Paz" and names[1].startswith("Participant ") and names[2] == "You"
    assert [name for _, name in q.mentionable(world.session, quinn, thread)] == ["Paz"]
    w.create_post(world.session, quinn, thread, "@[Paz] a question for you")
    with pytest.raises(InvalidInput, match="only the facilitators"):
        w.create_post(world.session, quinn, thread, "@[Sol] and you?")
    paz_sees = q.thread_page(world.session, world.viewer("Paz", "Math"), thread).posts
    assert [v.author_name for v in paz_sees][:3] == ["Paz", "Sol", "Quinn"]        # who runs it sees who wrote what


def test_a_post_of_another_cohort_is_not_found_by_id(world, book):
    quinn = world.viewer("Quinn", "Math")
    post = w.create_post(world.session, quinn, reading_thread(world, book, "Math"), "math talk")
    with pytest.raises(NotFound):
        q.get_post(world.session, world.viewer("Fay"), post.id)
    with pytest.raises(NotFound):
        q.get_thread(world.session, world.viewer("Pat"), post.thread_id)


def test_anonymous_threads_hide_names_from_peers_but_not_from_facilitators(world, book):
    thread = reading_thread(world, book)
    thread.anonymous_to_peers = True
    pat, ann, fay = world.viewer("Pat"), world.viewer("Ann"), world.viewer("Fay")
    post = w.create_post(world.session, pat, thread, "anonymous thought")
    w.create_post(world.session, ann, thread, "reply", parent=post)
    w.toggle_reaction(world.session, ann, post, "agree")
    ann_view = q.thread_page(world.session, ann, thread).posts
    assert ann_view[0].author_name.startswith("Participant ") and "Pat" not in ann_view[0].author_name
    assert ann_view[1].author_name == "You"
    pat_view = q.thread_page(world.session, pat, thread).posts
    assert pat_view[0].reactions["agree"][0].startswith("Participant ")
    assert pat_view[1].parent_name == "You"
    assert [v.author_name for v in q.thread_page(world.session, fay, thread).posts] == ["Pat", "Ann"]
    assert {name for _, name in q.mentionable(world.session, ann, thread)} == {"Fay"}
    with pytest.raises(InvalidInput, match="anonymous"):
        w.create_post(world.session, ann, thread, "@[Bo] hi")
    assert p.alias_for(thread, pat.id) != p.alias_for(reading_thread(world, book, "Math"), pat.id)


# -- participation and grading ---------------------------------------------------------------------------------

def test_standing_per_reading_counts_initial_posts_and_replies_to_others_on_time(world, book):
    thread = reading_thread(world, book)
    pat, ann = world.viewer("Pat"), world.viewer("Ann")
    mine = w.create_post(world.session, pat, thread, "initial", now=NOW)
    theirs = w.create_post(world.session, ann, thread, "initial", now=NOW)
    w.create_post(world.session, pat, thread, "self reply does not count", parent=mine, now=NOW)
    w.create_post(world.session, pat, thread, "reply 1", parent=theirs, now=NOW)
    row = q.standings(world.session, book, [pat.id], now=NOW)[pat.id]
    first = row[book.readings[0].id]
    assert (first.initial_on_time, first.replies_on_time) == (1, 1)
    assert first.status == ("progress", "In progress: 1 of 1 initial, 1 of 2 replies")
    late = NOW + dt.timedelta(days=10)
    w.create_post(world.session, pat, thread, "reply 2, late", parent=theirs, now=late)
    first = q.standings(world.session, book, [pat.id], now=late)[pat.id][book.readings[0].id]
    assert first.status[0] == "late" and first.fraction == pytest.approx((1 + 1 + 0.5) / 3)
    assert row[book.readings[1].id].status == ("upcoming", "Not open yet")


def test_posting_records_the_book_study_score_through_the_grade_engine(world, book):
    thread = reading_thread(world, book)
    w.create_post(world.session, world.viewer("Pat"), thread, "initial", now=NOW)
    component = world.session.scalar(select(GradedComponent).where(GradedComponent.key == f"bookstudy:{book.id}"))
    assert component is not None and component.label == "Book study: Punished for Dreaming"
    delivery = world.session.scalar(select(ScoreDelivery).where(ScoreDelivery.membership_id == world.people["Pat"].id)
                                    .order_by(ScoreDelivery.id.desc()))
    assert delivery.score_given == pytest.approx(100 * (1 / 3) / 2, abs=0.01)
    assert delivery.activity_progress == "InProgress" and "criteria met for 0 of 2" in delivery.comment


def test_facilitator_override_replaces_the_score_with_a_comment(world, book):
    fay = world.viewer("Fay")
    pat = world.people["Pat"]
    with pytest.raises(InvalidInput, match="comment"):
        w.override_score(world.session, fay, book, pat.id, 90, "")
    w.override_score(world.session, fay, book, pat.id, 90, "Led the chapter 1 discussion live")
    delivery = world.session.scalar(select(ScoreDelivery).where(ScoreDelivery.membership_id == pat.id)
                                    .order_by(ScoreDelivery.id.desc()))
    assert delivery.score_given == 90 and delivery.comment == "Led the chapter 1 discussion live"
    grid = q.participation_grid(world.session, fay, book)
    assert grid.scores[pat.id] == 90
    with pytest.raises(Forbidden):
        w.override_score(world.session, world.viewer("Ann"), book, pat.id, 100, "me")
    with pytest.raises(NotFound):
        w.override_score(world.session, fay, book, world.people["Quinn"].id, 100, "not mine")


def test_participation_csv_is_safe_from_formula_injection(world, book):
    world.people["Pat"].user.name = "=HYPERLINK(\"http://evil\")"
    grid = q.participation_grid(world.session, world.viewer("Fay"), book)
    csv_text = csv_bytes(formats.participation_rows(grid)).decode("utf-8-sig")
    assert "'=HYPERLINK" in csv_text
    assert "\n=HYPERLINK" not in csv_text and ",=HYPERLINK" not in csv_text


# -- search --------------------------------------------------------------------------------------------------

def test_search_leaves_out_hidden_and_removed_posts_and_other_cohorts(world, book):
    thread = reading_thread(world, book)
    pat, ann, fay = world.viewer("Pat"), world.viewer("Ann"), world.viewer("Fay")
    keep = w.create_post(world.session, pat, thread, "restorative justice works")
    hidden = w.create_post(world.session, ann, thread, "restorative but rude")
    gone = w.create_post(world.session, ann, thread, "restorative typo")
    w.create_post(world.session, world.viewer("Quinn", "Math"), reading_thread(world, book, "Math"),
                  "restorative in math")
    w.set_hidden(world.session, fay, hidden, True, "rude")
    w.delete_post(world.session, ann, gone)
    assert [p.id for p in q.search_posts(world.session, pat, "restorative")] == [keep.id]
    assert {p.id for p in q.search_posts(world.session, fay, "RESTORATIVE")} == {keep.id, hidden.id}
    assert q.search_posts(world.session, pat, "100%_") == []


def test_notifications_about_a_post_later_hidden_or_removed_drop_out_of_the_list_and_count(world, book):
    thread = reading_thread(world, book)
    pat, ann, fay = world.viewer("Pat"), world.viewer("Ann"), world.viewer("Fay")
    mine = w.create_post(world.session, pat, thread, "Pat's post")
    rude = w.create_post(world.session, ann, thread, "a rude reply", parent=mine)
    w.create_post(world.session, ann, thread, "a kind reply", parent=mine)
    assert notify.unread_notification_count(world.session, pat) == 2
    w.set_hidden(world.session, fay, rude, True, "Not respectful")
    assert notify.unread_notification_count(world.session, pat) == 1
    assert [n.post_id for n in notify.notifications(world.session, pat)] != [rude.id]
    notify.mark_notifications_read(world.session, pat)
    assert notify.unread_notification_count(world.session, pat) == 0
    # Ann, the author, is told why her post was hidden.
    assert [n.kind for n in notify.notifications(world.session, ann)] == [NotificationKind.hidden]
