"""Where modules meet the book study: the thread an item is discussed in, in each cohort.

A discussion item is discussed in
- the thread of a reading of the book (each cohort that reads the book has its own, opened on the reading's
  start date),
- a thread chosen by hand (for that thread's cohort; the module's other cohorts get a thread of their own), or
- a thread of its own, opened in each cohort the first time someone there needs it.

A reflection shared with the cohort is posted in its item's thread of its own, by its author, so the cohort
reads and answers it where they talk about everything else. Posting in the thread completes the discussion
items that point at it (``book_study.complete_discussion_items``, which receives ``course.events.post_created``),
and opening such an item completes it when the post came first (``writes.open_item``).

The writes use this module and it never uses them, so the import graph stays one-way. Functions take the
session, check nothing about the web request and never commit.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Iterable

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lti_tool.course.access import Access
from lti_tool.discussions import permissions as book_study_access, writes as book_study
from lti_tool.discussions.models import Book, BookCohort, Post, PostFirst, Reading, Thread
from lti_tool.errors import Conflict
from lti_tool.modules import permissions
from lti_tool.modules.models import ItemKind, ItemThread, ModuleItem, Reflection, ReflectionVisibility
from lti_tool.modules.queries import cohort_id_for, say_date
from lti_tool.programs.models import Cohort


@dataclass
class Place:
    """Where one cohort discusses an item: the thread, or why there is none (yet)."""

    cohort: Cohort
    thread: Thread | None
    reason: str = ""


def uses_thread(item: ModuleItem) -> bool:
    """Whether the item is discussed in (or posts into) the book study."""
    if item.kind is ItemKind.discussion:
        return bool(item.reading_id or item.thread_id or not item.url)
    if item.kind is ItemKind.reflection:
        return item.reflection_visibility is ReflectionVisibility.shared_to_cohort_thread
    return item.kind is ItemKind.reading and bool(item.reading_id)


def reading_of(session: Session, item: ModuleItem, program_id: int) -> Reading | None:
    """The item's reading, if it belongs to this program's book study (a copied module may point elsewhere)."""
    if not item.reading_id:
        return None
    reading = session.get(Reading, item.reading_id)
    if reading is None or reading.book.program_id != program_id:
        return None
    return reading


def _own_thread(session: Session, item: ModuleItem, cohort: Cohort, create: bool) -> Thread | None:
    query = (select(Thread).join(ItemThread, ItemThread.thread_id == Thread.id)
             .where(ItemThread.item_id == item.id, ItemThread.cohort_id == cohort.id))
    found = session.scalar(query)
    if found is not None or not create:
        return found
    title = item.title if item.kind is not ItemKind.reflection else f"Reflections: {item.title}"
    try:
        with session.begin_nested():
            thread = Thread(cohort_id=cohort.id, title=title[:300], prompt_markdown=item.body or "",
                            prompt_html=item.body_html or "", post_first=PostFirst.none, post_first_n=1)
            session.add(thread)
            session.flush()
            session.add(ItemThread(item_id=item.id, cohort_id=cohort.id, thread_id=thread.id))
            session.flush()
    except IntegrityError:      # another request opened it first: use theirs
        return session.scalar(query)
    return thread


def place_for(session: Session, item: ModuleItem, cohort: Cohort, *, create: bool = True,
              now: dt.datetime | None = None) -> Place:
    """The thread in which ``cohort`` discusses ``item``; with ``create``, a thread due to exist is opened."""
    if item.kind in (ItemKind.discussion, ItemKind.reading) and item.reading_id:
        reading = reading_of(session, item, cohort.program_id)
        if reading is not None:
            reads = session.scalar(select(BookCohort.id).where(BookCohort.book_id == reading.book_id,
                                                               BookCohort.cohort_id == cohort.id))
            if reads is None:
                return Place(cohort, None, f"{cohort.name} is not reading “{reading.book.title}” in the book study.")
            if create:
                book_study.open_due_threads(session, cohort.program, now)
            thread = session.scalar(select(Thread).where(Thread.cohort_id == cohort.id,
                                                         Thread.reading_id == reading.id))
            if thread is None:
                return Place(cohort, None, f"The thread of “{reading.label}” opens {say_date(reading.starts_on)}.")
            return Place(cohort, thread)
        if item.kind is ItemKind.reading:
            return Place(cohort, None, "This reading is no longer part of this program's book study.")
    if item.kind is ItemKind.reading:
        return Place(cohort, None)
    if item.kind is ItemKind.discussion and item.thread_id:
        thread = session.get(Thread, item.thread_id)
        if thread is not None and thread.cohort_id == cohort.id:
            return Place(cohort, thread)
    if not uses_thread(item):
        return Place(cohort, None, "This discussion takes place elsewhere.")
    return Place(cohort, _own_thread(session, item, cohort, create))


def cohort_for(session: Session, item: ModuleItem, seats: Iterable[int]) -> Cohort | None:
    cohort_id = cohort_id_for(item, seats)
    return session.get(Cohort, cohort_id) if cohort_id else None


def places_for_viewer(session: Session, access: Access, item: ModuleItem, now: dt.datetime | None = None
                      ) -> list[Place]:
    """The threads the viewer reaches from an item page: those of the module's cohorts they manage, by cohort
    name, and the one of the cohort they take it in; an observer none (they read the book study from its own
    pages)."""
    if not uses_thread(item):
        return []
    ids = set(item.module.cohort_ids) & access.managed
    taken = cohort_id_for(item, access.seats) if permissions.takes(access, item.module) else None
    if taken is not None:
        ids.add(taken)
    cohorts = session.scalars(select(Cohort).where(Cohort.id.in_(ids)).order_by(Cohort.name)) if ids else []
    return [place_for(session, item, c, now=now) for c in cohorts]


def posted_in_thread(session: Session, access: Access, item: ModuleItem) -> bool:
    """Whether the participant has a post (not removed) in the item's thread of their cohort."""
    cohort = cohort_for(session, item, access.seats)
    if cohort is None:
        return False
    place = place_for(session, item, cohort, create=False)
    if place.thread is None:
        return False
    return session.scalar(select(Post.id).where(Post.thread_id == place.thread.id, Post.author_id == access.id,
                                                Post.deleted_at.is_(None)).limit(1)) is not None


def share_reflection(session: Session, access: Access, item: ModuleItem, reflection: Reflection,
                     now: dt.datetime | None = None) -> Post:
    """Post (or update) the reflection in the cohort's thread of the item, as its author."""
    cohort = cohort_for(session, item, access.seats)
    if cohort is None:
        raise Conflict("You are not in a cohort this module is for, so the reflection cannot be shared.")
    place = place_for(session, item, cohort, now=now)
    if place.thread is None:
        raise Conflict(place.reason or "This reflection has no thread to be shared in.")
    viewer = book_study_access.viewer_for(session, access.membership, cohort)
    post = session.get(Post, reflection.post_id) if reflection.post_id else None
    if post is not None and post.deleted_at is None and post.thread_id == place.thread.id:
        return book_study.edit_post(session, viewer, post, reflection.body, now=now)
    post = book_study.create_post(session, viewer, place.thread, reflection.body, now=now)
    reflection.post_id = post.id
    session.flush()
    return post


def copied_reading_id(session: Session, item: ModuleItem, target_program_id: int) -> int | None:
    """The reading of the same book and label in another program (next year's book study), if there is one."""
    if not item.reading_id:
        return None
    reading = session.get(Reading, item.reading_id)
    if reading is None:
        return None
    if reading.book.program_id == target_program_id:
        return reading.id
    return session.scalar(select(Reading.id).join(Book).where(
        Book.program_id == target_program_id, Book.title == reading.book.title, Reading.label == reading.label)
        .order_by(Reading.id).limit(1))
