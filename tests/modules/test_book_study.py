"""Modules and the book study, on real discussion rows: shared reflections are posted in the cohort's thread,
discussion items complete when the participant posts, reading items point at the book's readings, and copies
into another program find that program's own book."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from lti_tool.discussions import permissions as dp, queries as dq, writes as dw
from lti_tool.discussions.models import Post, PostRevision, Thread
from lti_tool.errors import Conflict, InvalidInput, NotFound
from lti_tool.lti.models import CourseRole
from lti_tool.modules import queries, threads, writes
from lti_tool.modules.models import (CompletionRule, ItemCompletion, ItemKind, ItemRelease, ItemThread, Reflection,
                                     ReflectionVisibility)
from tests.factories import acting
from tests.modules.conftest import NOW, make_world, next_year_of

TODAY = NOW.date()


def _done(world, item, name) -> bool:
    return world.session.scalar(select(ItemCompletion.id).where(
        ItemCompletion.item_id == item.id, ItemCompletion.membership_id == world.people[name].id)) is not None


def _book(world, cohorts=("Literacy",), starts=TODAY - dt.timedelta(days=1)):
    lena = world.access("Lena")
    book = dw.save_book(world.session, lena, title="Street Data", author="Shane Safir",
                        cohort_ids=[world.cohorts[c].id for c in cohorts])
    reading = dw.save_reading(world.session, lena, book, label="Chapter 2", starts_on=starts,
                              ends_on=starts + dt.timedelta(days=7), prompt="What counts as data?", now=NOW)
    return book, reading


def _shared_reflection(world, cohorts=("Literacy", "Math")):
    module = world.module(cohorts=cohorts, items=(("reflection", "What did you notice?"),))
    item = module.items[0]
    writes.save_item(world.session, world.viewer("Lena"), module, item, kind=ItemKind.reflection, title=item.title,
                 body="Notice one **student** voice.", minutes=15,
                 reflection_visibility=ReflectionVisibility.shared_to_cohort_thread)
    return module, item


def test_a_shared_reflection_is_posted_in_its_cohorts_thread_and_updated_in_place(world):
    _module, item = _shared_reflection(world)
    pat = world.viewer("Pat")
    reflection = writes.submit_reflection(world.session, pat, item, "Maya asked *why* twice.", now=NOW)
    lit = world.cohorts["Literacy"]
    thread = world.session.scalar(select(Thread).join(ItemThread, ItemThread.thread_id == Thread.id)
                                  .where(ItemThread.item_id == item.id, ItemThread.cohort_id == lit.id))
    assert thread.title == "Reflections: What did you notice?" and "<strong>student</strong>" in thread.prompt_html
    post = world.session.get(Post, reflection.post_id)
    assert post.thread_id == thread.id and post.author_id == world.people["Pat"].id
    assert post.body_markdown == "Maya asked *why* twice." and "<em>why</em>" in post.body_html

    # The cohort reads it in the book study, with everything the discussions do (replies, notifications).
    quinn_in_lit = dp.viewer_for(world.session, world.people["Quinn"], lit)
    page = dq.thread_page(world.session, quinn_in_lit, thread, now=NOW)
    assert [p.post.id for p in page.posts] == [post.id]
    dw.create_post(world.session, quinn_in_lit, thread, "Same with Leo.", parent=post, now=NOW)

    # Changing the reflection edits the same post (its earlier text kept as a revision), no second post.
    writes.submit_reflection(world.session, pat, item, "Maya asked why three times.", now=NOW)
    assert world.session.get(Post, reflection.post_id).body_markdown == "Maya asked why three times."
    assert world.session.scalar(select(func.count(PostRevision.id)).where(PostRevision.post_id == post.id)) == 1
    assert world.session.scalar(select(func.count(Post.id)).where(Post.author_id == world.people["Pat"].id)) == 1

    # Sam, in Math, shares in Math's own thread; neither cohort reaches the other's.
    sam_post = world.session.get(Post, writes.submit_reflection(world.session, world.viewer("Sam"), item, "Numbers.",
                                                            now=NOW).post_id)
    assert sam_post.thread_id != thread.id and sam_post.thread.cohort_id == world.cohorts["Math"].id
    with pytest.raises(NotFound):
        dq.get_thread(world.session, dp.viewer_for(world.session, world.people["Sam"], world.cohorts["Math"]),
                      thread.id)
    with pytest.raises(NotFound):
        dp.viewer_for(world.session, world.people["Sam"], lit)


def test_a_private_reflection_is_posted_nowhere(world):
    module = world.module(items=(("reflection", "Private"),))
    reflection = writes.submit_reflection(world.session, world.viewer("Pat"), module.items[0], "Only Fay reads it.",
                                      now=NOW)
    assert reflection.post_id is None
    assert world.session.scalar(select(func.count(Post.id))) == 0
    assert world.session.scalar(select(func.count(Thread.id))) == 0


def test_a_shared_reflection_refused_by_a_locked_thread_saves_nothing(world):
    _module, item = _shared_reflection(world)
    lit = world.cohorts["Literacy"]
    place = threads.place_for(world.session, item, lit, now=NOW)
    dw.set_locked(world.session, dp.viewer_for(world.session, world.people["Fay"], lit), place.thread, True,
                  "Paused until Monday")
    with pytest.raises(Conflict, match="locked"):
        writes.submit_reflection(world.session, world.viewer("Pat"), item, "Written while it was locked.", now=NOW)
    world.session.rollback()    # what the view does: the reflection is not saved, the form keeps the text
    assert world.session.scalar(select(func.count(Reflection.id))) == 0


def test_a_discussion_item_of_its_own_opens_a_thread_per_cohort_and_is_done_by_posting(world):
    module = world.module(cohorts=("Literacy", "Math"), items=())
    item = writes.save_item(world.session, world.viewer("Lena"), module, kind=ItemKind.discussion,
                        title="Share a success", body="One thing that worked.", minutes=20)
    assert item.completion_rule is CompletionRule.posted_in_thread
    pat = world.viewer("Pat")
    [place] = threads.places_for_viewer(world.session, pat, item, now=NOW)
    assert place.cohort.name == "Literacy" and place.thread.title == "Share a success"
    assert not _done(world, item, "Pat")
    with pytest.raises(Conflict, match="Post in the thread first"):
        writes.mark_done(world.session, pat, item, now=NOW)

    lit_view = dp.viewer_for(world.session, world.people["Pat"], world.cohorts["Literacy"])
    dw.create_post(world.session, lit_view, place.thread, "Exit tickets!", now=NOW)
    assert _done(world, item, "Pat") and not _done(world, item, "Quinn")
    assert queries.states_for(world.session, pat, [module], now=NOW)[module.id].complete

    # The facilitator sees one thread per cohort they facilitate; the lead one per cohort of the module.
    assert [p.cohort.name for p in threads.places_for_viewer(world.session, world.viewer("Fay"), item)] == \
        ["Literacy"]
    lead_places = threads.places_for_viewer(world.session, world.viewer("Lena"), item)
    assert [p.cohort.name for p in lead_places] == ["Literacy", "Math"]
    assert len({p.thread.id for p in lead_places}) == 2
    # A facilitator's post completes nothing; a removed post no longer counts as having posted.
    lead_view = dp.viewer_for(world.session, world.people["Lena"], world.cohorts["Math"])
    dw.create_post(world.session, lead_view, lead_places[1].thread, "Welcome, Math!", now=NOW)
    assert world.session.scalar(select(func.count(ItemCompletion.id))) == 1
    quinn_view = dp.viewer_for(world.session, world.people["Quinn"], world.cohorts["Literacy"])
    quinn_post = dw.create_post(world.session, quinn_view, place.thread, "Me too.", now=NOW)
    assert threads.posted_in_thread(world.session, world.viewer("Quinn"), item)
    dw.delete_post(world.session, quinn_view, quinn_post, now=NOW)
    assert not threads.posted_in_thread(world.session, world.viewer("Quinn"), item)


def test_a_post_in_a_locked_items_thread_completes_it_when_it_opens(world):
    module = world.module(items=(("page", "Read first"),))
    first = module.items[0]
    first.completion_rule = CompletionRule.marked_done
    item = writes.save_item(world.session, world.viewer("Lena"), module, kind=ItemKind.discussion, title="Talk",
                        release=ItemRelease.after_previous)
    place = threads.place_for(world.session, item, world.cohorts["Literacy"], now=NOW)
    dw.create_post(world.session, dp.viewer_for(world.session, world.people["Pat"], world.cohorts["Literacy"]),
                   place.thread, "Early bird.", now=NOW)
    assert not _done(world, item, "Pat")       # still locked: it says why instead
    pat = world.viewer("Pat")
    writes.mark_done(world.session, pat, first, now=NOW)
    writes.open_item(world.session, pat, item, now=NOW)
    assert _done(world, item, "Pat")


def test_a_discussion_of_a_reading_uses_each_cohorts_thread_of_that_reading(world):
    book, reading = _book(world, cohorts=("Literacy",))
    module = world.module(cohorts=("Literacy", "Math"), items=())
    item = writes.save_item(world.session, world.viewer("Lena"), module, kind=ItemKind.discussion,
                        title="Discuss chapter 2", reading_id=reading.id, linked_title="Street Data: Chapter 2")
    place = threads.place_for(world.session, item, world.cohorts["Literacy"], now=NOW)
    assert place.thread.reading_id == reading.id and place.thread.cohort_id == world.cohorts["Literacy"].id
    dw.create_post(world.session, dp.viewer_for(world.session, world.people["Quinn"], world.cohorts["Literacy"]),
                   place.thread, "Data is more than numbers.", now=NOW)
    assert _done(world, item, "Quinn")
    math = threads.place_for(world.session, item, world.cohorts["Math"], now=NOW)
    assert math.thread is None and math.reason == "Math is not reading “Street Data” in the book study."


def test_a_reading_item_names_the_reading_and_its_thread_opens_on_the_start_date(world):
    _book_, later = _book(world, starts=TODAY + dt.timedelta(days=4))
    module = world.module(items=())
    item = writes.save_item(world.session, world.viewer("Lena"), module, kind=ItemKind.reading, title="Chapter 2",
                        reading_id=later.id)
    [place] = threads.places_for_viewer(world.session, world.viewer("Pat"), item, now=NOW)
    assert place.thread is None and place.reason == f"The thread of “Chapter 2” opens {queries.say_date(later.starts_on)}."
    [place] = threads.places_for_viewer(world.session, world.viewer("Pat"), item,
                                           now=NOW + dt.timedelta(days=4))
    assert place.thread is not None and place.thread.reading_id == later.id


def test_items_refuse_readings_and_threads_of_another_program_and_unverifiable_post_rules(world):
    other = make_world(world.session, "course-b")
    other_lead = other.person("Olga", CourseRole.facilitator)
    other.program.settings = {"leads": [other_lead.id]}
    other_cohort = other.cohort("Elsewhere")
    world.session.flush()
    foreign_book = dw.save_book(world.session, acting(world.session, other_lead), title="Theirs",
                                cohort_ids=[other_cohort.id])
    foreign = dw.save_reading(world.session, acting(world.session, other_lead), foreign_book, label="Ch 1",
                              starts_on=TODAY, ends_on=TODAY, now=NOW)
    module = world.module(items=())
    lena = world.viewer("Lena")
    with pytest.raises(InvalidInput, match="reading of this program"):
        writes.save_item(world.session, lena, module, kind=ItemKind.discussion, title="X", reading_id=foreign.id)
    foreign_thread = Thread(cohort_id=other_cohort.id, title="Their thread")
    world.session.add(foreign_thread)
    world.session.flush()
    with pytest.raises(InvalidInput, match="thread of this program"):
        writes.save_item(world.session, lena, module, kind=ItemKind.discussion, title="X", thread_id=foreign_thread.id)
    with pytest.raises(InvalidInput, match="cannot be checked for posts"):
        writes.save_item(world.session, lena, module, kind=ItemKind.discussion, title="X",
                     url="https://forum.example.org/t/1", completion_rule=CompletionRule.posted_in_thread)
    elsewhere = writes.save_item(world.session, lena, module, kind=ItemKind.discussion, title="Elsewhere",
                             url="https://forum.example.org/t/1", completion_rule=CompletionRule.marked_done)
    assert threads.places_for_viewer(world.session, world.viewer("Pat"), elsewhere) == []
    assert [i.title for i in module.items] == ["Elsewhere"]


def test_a_copy_into_another_program_points_at_that_programs_reading_of_the_same_book(world):
    _b, reading = _book(world)
    module = world.module(items=())
    lena = world.viewer("Lena")
    writes.save_item(world.session, lena, module, kind=ItemKind.reading, title="Chapter 2", reading_id=reading.id)
    chosen = threads.place_for(world.session, module.items[0], world.cohorts["Literacy"], now=NOW)
    writes.save_item(world.session, lena, module, kind=ItemKind.discussion, title="Talk", thread_id=chosen.thread.id)

    next_year, lena_next = next_year_of(world, "Literacy 2031")
    next_cohort = next_year.cohorts["Literacy 2031"]
    same = dw.save_book(world.session, acting(world.session, lena_next), title="Street Data",
                        cohort_ids=[next_cohort.id])
    same_reading = dw.save_reading(world.session, acting(world.session, lena_next), same, label="Chapter 2", starts_on=TODAY,
                                   ends_on=TODAY, now=NOW)
    [copy] = writes.copy_program_modules(world.session, lena, next_year.program.id).modules
    reading_copy, talk_copy = copy.items
    assert reading_copy.reading_id == same_reading.id
    assert talk_copy.thread_id is None      # a thread belongs to last year's cohort
