"""What the book study tells modules: a participant's post in a thread completes the discussion items it
answers. ``complete_discussion_items`` receives ``lti_tool.course.events.post_created`` (connected by
``create_app``).

It uses the item states and the completions and nothing in the package uses it; it never reaches the
discussions' writes (which send the signal), so the import graph stays one-way. The threads themselves (where
each cohort discusses an item, shared reflections) are in ``modules.threads``.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from lti_tool.course.access import access_for
from lti_tool.discussions.models import Post, Thread
from lti_tool.lti.models import CourseRole
from lti_tool.modules.completion import complete_item
from lti_tool.modules.models import CompletionRule, ItemKind, ItemThread, Module, ModuleCohort, ModuleItem
from lti_tool.modules.queries import cohort_id_for, item_state


def items_discussed_in(session: Session, thread: Thread) -> list[ModuleItem]:
    """Discussion items, done by posting, whose thread in ``thread``'s cohort is ``thread``."""
    own = select(ItemThread.item_id).where(ItemThread.thread_id == thread.id)
    where = [ModuleItem.id.in_(own), ModuleItem.thread_id == thread.id]
    if thread.reading_id is not None:
        where.append(ModuleItem.reading_id == thread.reading_id)
    return list(session.scalars(
        select(ModuleItem).join(Module).join(ModuleCohort, ModuleCohort.module_id == Module.id)
        .where(ModuleCohort.cohort_id == thread.cohort_id, ModuleItem.kind == ItemKind.discussion,
               ModuleItem.completion_rule == CompletionRule.posted_in_thread, or_(*where))))


def complete_discussion_items(session: Session, post: Post, now: dt.datetime | None = None, **_) -> None:
    """A participant's post completes the open discussion items it answers, in the cohort they take them in
    (a locked one is completed when it is opened, see ``writes.open_item``). Runs in the sender's transaction."""
    author = post.author
    if author.role is not CourseRole.participant:
        return
    items = items_discussed_in(session, post.thread)
    if not items:
        return
    access = access_for(session, author, post.thread.cohort.program)
    for item in items:
        if post.thread.cohort_id != cohort_id_for(item, access.seats):
            continue   # they meet this item in another of their cohorts
        if item_state(session, access, item, now).open:
            complete_item(session, item, author, CompletionRule.posted_in_thread.value, now)
