"""What changes the grades: graded components (the LMS columns) and scores written to the outbox by the
features, a lead's column edits, a failed score retried, and "sync now" started. They flush, never commit;
what must reach the LMS goes once the caller has committed (``delivery``)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from lti_tool.course.access import Access
from lti_tool.db import utcnow
from lti_tool.errors import Conflict, InvalidInput, NotFound
from lti_tool.grades import delivery
from lti_tool.grades.models import ComponentKind, DeliveryStatus, GradedComponent, ScoreDelivery
from lti_tool.grades.queries import get_component
from lti_tool.jobs import Job, open_job
from lti_tool.lti.models import Course, CourseRole, Membership, ResourceLink


def _check_maximum(score_maximum: float | None) -> float:
    if score_maximum is None or score_maximum <= 0:
        raise InvalidInput("The maximum score must be more than 0.", field="score_maximum")
    return float(score_maximum)


def ensure_component(session: Session, course: Course, key: str, kind: ComponentKind, label: str,
                     score_maximum: float, *, tag: str = "", resource_link: ResourceLink | None = None) -> GradedComponent:
    """The component for ``key`` in this course, created or updated; a changed label or maximum is sent
    to the LMS column at the next delivery. Called by the features inside the change that scores come from."""
    score_maximum = _check_maximum(score_maximum)
    component = session.scalar(select(GradedComponent).where(GradedComponent.course_id == course.id,
                                                             GradedComponent.key == key))
    if component is None:
        component = GradedComponent(course_id=course.id, key=key, kind=kind)
        session.add(component)
    component.label = label[:255]
    component.score_maximum = score_maximum
    component.tag = tag or kind.value
    if resource_link is not None:
        component.resource_link = resource_link
    component.active = True
    session.flush()
    return component


def record_score(session: Session, component: GradedComponent, membership: Membership, score_given: float | None,
                 *, comment: str = "", activity_progress: str = "Completed",
                 grading_progress: str = "FullyGraded") -> ScoreDelivery | None:
    """Write ``membership``'s score to the outbox, in the caller's transaction. ``membership`` is the learner
    scored, not an acting party (the feature calling has checked its own permissions). Learners only; an
    unchanged score is not sent again; a newer score replaces an older one that has not gone yet."""
    if membership.role is not CourseRole.participant or membership.course_id != component.course_id:
        return None
    latest = session.scalar(
        select(ScoreDelivery)
        .where(ScoreDelivery.component_id == component.id, ScoreDelivery.membership_id == membership.id,
               ScoreDelivery.status != DeliveryStatus.superseded)
        .order_by(ScoreDelivery.scored_at.desc()).limit(1)
    )
    if latest is not None and latest.status is not DeliveryStatus.failed and \
            (latest.score_given, latest.score_maximum, latest.comment, latest.activity_progress,
             latest.grading_progress) == (score_given, component.score_maximum, comment, activity_progress,
                                          grading_progress):
        return None
    session.execute(
        update(ScoreDelivery)
        .where(ScoreDelivery.component_id == component.id, ScoreDelivery.membership_id == membership.id,
               ScoreDelivery.status == DeliveryStatus.pending)
        .values(status=DeliveryStatus.superseded)
        .execution_options(synchronize_session="fetch")
    )
    now = utcnow()
    scored_at = now if latest is None else max(now, latest.scored_at + dt.timedelta(milliseconds=1))
    row = ScoreDelivery(component_id=component.id, membership_id=membership.id, score_given=score_given,
                        score_maximum=component.score_maximum, comment=comment[:1000],
                        activity_progress=activity_progress, grading_progress=grading_progress,
                        scored_at=scored_at, next_attempt_at=now)
    session.add(row)
    session.flush()
    delivery.deliver_after_commit(session)
    return row


def update_component(session: Session, access: Access, component_id: int, *, label: str,
                     score_maximum: float | None) -> GradedComponent:
    """A lead renames a column or changes its maximum; once the caller commits, a worker brings the LMS
    column in step (if the queue is down, the next delivery or "sync now" does)."""
    component = get_component(session, access, component_id)
    access.require_lead("change a gradebook column")
    label = (label or "").strip()
    if not label:
        raise InvalidInput("Give the column a label: it is the column's name in the LMS gradebook.", field="label")
    component.label = label[:255]
    component.score_maximum = _check_maximum(score_maximum)
    component.sync_error = ""
    session.flush()
    delivery.sync_columns_after_commit(session, component.course_id)
    return component


def retry_delivery(session: Session, access: Access, delivery_id: int) -> ScoreDelivery:
    """Send a failed score again (due now, once the caller commits). Only the newest score of its person and
    column can be retried: an older one would be refused by the LMS as older than what it has."""
    access.require_staff("see what was sent to the LMS gradebook")
    row = session.get(ScoreDelivery, delivery_id)
    if row is None or row.component.course_id != access.course_id:
        raise NotFound("That score is not part of this course.")
    if row.status is not DeliveryStatus.failed:
        raise Conflict("That score has not failed, so there is nothing to retry.")
    newer = session.scalar(select(func.count()).select_from(ScoreDelivery).where(
        ScoreDelivery.component_id == row.component_id, ScoreDelivery.membership_id == row.membership_id,
        ScoreDelivery.status != DeliveryStatus.superseded, ScoreDelivery.scored_at > row.scored_at))
    if newer:
        raise Conflict("A newer score for this person and column exists; that one is what the LMS gets.")
    delivery.requeue(row, utcnow())
    session.flush()
    delivery.deliver_after_commit(session)
    return row


def request_sync(session: Session, access: Access) -> tuple[Job, bool]:
    """Start "sync now" for the course, or find the sync already under way: (job, is_new). A new job is
    enqueued once the caller commits; a queue that is down fails the job, not the request."""
    access.require_staff("send the grades to the LMS")
    return open_job(session, delivery.SYNC_JOB_KIND, access.course_id, access.membership.user_id,
                    delivery.run_sync)
