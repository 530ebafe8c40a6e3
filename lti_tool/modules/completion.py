"""An item done by a participant, recorded once, and the module's grade that follows it into the grade outbox
in the same transaction (``grades.writes.record_score``); the gradebook column of a placed module.

The writes record completions through here, and so does ``book_study.complete_discussion_items`` (a post in the
book study). This module reaches neither the book study's threads nor the discussions' writes: the post
signal (``course.events``) leads here, and the discussions' writes lead to that signal, so the import graph
stays one-way only if nothing here leads back to them.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from lti_tool.course import events
from lti_tool.db import utcnow
from lti_tool.grades.models import ComponentKind
from lti_tool.grades.writes import ensure_component, record_score
from lti_tool.lti.models import Course, CourseRole, Membership, ResourceLink
from lti_tool.modules.models import GradeMode, ItemCompletion, ItemKind, Module, ModuleItem, Reflection
from lti_tool.modules.queries import done_ids
from lti_tool.programs.models import Program


def complete_item(session: Session, item: ModuleItem, membership: Membership, how: str,
                  now: dt.datetime | None = None) -> bool:
    """Record a completion once; True when it is new. The module's score follows in the same transaction.
    (Takes the participant's membership: it records who, the caller has checked that they may.)"""
    exists = session.scalar(select(ItemCompletion.id).where(ItemCompletion.item_id == item.id,
                                                            ItemCompletion.membership_id == membership.id))
    if exists is not None:
        return False
    session.add(ItemCompletion(item_id=item.id, membership_id=membership.id, completed_at=now or utcnow(), how=how))
    session.flush()
    update_grade(session, item.module, membership)
    events.progress_changed.send(session, program_id=item.module.program_id, membership_ids=[membership.id])
    return True


def _placed_link(session: Session, course_id: int, module_id: int) -> ResourceLink | None:
    """The LMS link this module was placed as by deep linking, if any (its launches record the target)."""
    return session.scalar(select(ResourceLink).where(ResourceLink.course_id == course_id,
                                                     ResourceLink.target == f"module:{module_id}")
                          .order_by(ResourceLink.id).limit(1))


def ensure_module_component(session: Session, module: Module):
    """The module's gradebook column; tied to its placed resource link when there is one."""
    course = session.get(Course, module.program.course_id)
    return ensure_component(session, course, f"module:{module.id}", ComponentKind.module, module.title,
                            module.score_maximum, tag="module",
                            resource_link=_placed_link(session, course.id, module.id))


def _module_score(session: Session, module: Module, membership: Membership) -> float | None:
    if module.grade_mode is GradeMode.share_completed:
        required = [i.id for i in module.items if i.required]
        if not required:
            return None
        done = len(done_ids(session, membership.id, required))
        return round(module.score_maximum * done / len(required), 4)
    if module.grade_mode is GradeMode.reflection_mark:
        ids = [i.id for i in module.items if i.kind is ItemKind.reflection]
        if not ids:
            return None
        marks = list(session.scalars(select(Reflection.mark).where(
            Reflection.item_id.in_(ids), Reflection.membership_id == membership.id, Reflection.mark.is_not(None))))
        if not marks:
            return None
        return round(sum(marks) / len(ids), 4)
    return None


def update_grade(session: Session, module: Module, membership: Membership) -> None:
    """Send the participant's module score to the grade outbox, in the caller's transaction."""
    if not module.graded or membership.role is not CourseRole.participant:
        return
    score = _module_score(session, module, membership)
    if score is None:
        return
    component = ensure_module_component(session, module)
    complete = score >= module.score_maximum
    record_score(session, component, membership, score,
                 activity_progress="Completed" if complete else "InProgress",
                 grading_progress="FullyGraded" if complete or module.grade_mode is GradeMode.reflection_mark
                 else "Pending")


def tie_placed_link(session: Session, course_id: int, module_id: int) -> bool:
    """After a launch of a placed module: its gradebook column belongs to that resource link."""
    module = session.scalar(select(Module).join(Program).where(Module.id == module_id, Program.course_id == course_id))
    if module is None or not module.graded:
        return False
    component = ensure_module_component(session, module)
    return component.resource_link_id is not None
