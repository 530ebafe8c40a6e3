"""The grade passback engine: graded components, scores recorded in the outbox, and their delivery.

Features call ``ensure_component`` and ``record_score`` inside the transaction that changed what the
score is computed from; a worker later calls ``deliver_pending_scores``. Several workers never deliver
the same row: a batch is claimed with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL (a conditional UPDATE on
SQLite, whose writers are serialised anyway) before anything is sent.
"""
from __future__ import annotations

import datetime as dt
import logging
import secrets
from dataclasses import dataclass, field

from sqlalchemy import event, func, select, update
from sqlalchemy.orm import Session, joinedload

from lti_tool.db import db, utcnow
from lti_tool.errors import DomainError
from huey import crontab

from lti_tool.jobs import periodic, task
from lti_tool.lti.models import Course, CourseRole, Membership, Platform, ResourceLink
from lti_tool.lti.services import LtiServices, ServiceError
from lti_tool.grades.models import ComponentKind, DeliveryStatus, GradedComponent, ScoreDelivery

log = logging.getLogger(__name__)

CLAIM_TIMEOUT = dt.timedelta(minutes=10)   # a worker that died mid-batch: its rows are taken up again
MAX_BACKOFF_SECONDS = 3600


class NoGradePassback(DomainError):
    status = 409
    title = "The LMS does not take grades from this course"


def ensure_component(session: Session, course: Course, key: str, kind: ComponentKind, label: str,
                     score_maximum: float, *, tag: str = "", resource_link: ResourceLink | None = None) -> GradedComponent:
    """The component for ``key`` in this course, created or updated; a changed label or maximum is sent
    to the LMS column at the next delivery."""
    if score_maximum <= 0:
        raise DomainError("The maximum score must be more than 0.")
    component = session.scalar(select(GradedComponent).where(GradedComponent.course_id == course.id,
                                                             GradedComponent.key == key))
    if component is None:
        component = GradedComponent(course_id=course.id, key=key, kind=kind)
        session.add(component)
    component.label = label[:255]
    component.score_maximum = float(score_maximum)
    component.tag = tag or kind.value
    if resource_link is not None:
        component.resource_link = resource_link
    component.active = True
    session.flush()
    return component


def record_score(session: Session, component: GradedComponent, membership: Membership, score_given: float | None,
                 *, comment: str = "", activity_progress: str = "Completed",
                 grading_progress: str = "FullyGraded") -> ScoreDelivery | None:
    """Write a score to the outbox, in the caller's transaction. Learners only; an unchanged score is not
    sent again; a newer score replaces an older one that has not gone yet."""
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
    delivery = ScoreDelivery(component_id=component.id, membership_id=membership.id, score_given=score_given,
                             score_maximum=component.score_maximum, comment=comment[:1000],
                             activity_progress=activity_progress, grading_progress=grading_progress,
                             scored_at=scored_at, next_attempt_at=now)
    session.add(delivery)
    session.flush()
    session.info["deliver_scores_after_commit"] = True
    return delivery


@event.listens_for(Session, "after_commit")
def _enqueue_delivery(session: Session) -> None:
    # The outbox row is committed; now a worker may send it. A lost task loses nothing: the periodic
    # sweep finds every due row.
    if session.info.pop("deliver_scores_after_commit", False):
        try:
            deliver_scores_task()
        except Exception:  # the queue being down must not undo the user's change
            log.exception("could not enqueue score delivery; the periodic sweep will send it")


@task(retries=0)
def deliver_scores_task() -> None:
    deliver_pending_scores()


@periodic(crontab(minute="*"))
def sweep_due_scores() -> None:
    """Every minute: whatever is due (retries after backoff, rows whose task was lost) is sent."""
    deliver_pending_scores()


@dataclass
class DeliveryReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    requests: int = 0
    errors: list[str] = field(default_factory=list)


def _claim(session: Session, now: dt.datetime, limit: int, course_id: int | None) -> list[ScoreDelivery]:
    """Take a batch of due rows for this worker and commit the claim before anything is sent."""
    # Rows whose worker died mid-send go back to the queue.
    session.execute(update(ScoreDelivery)
                    .where(ScoreDelivery.status == DeliveryStatus.sending, ScoreDelivery.claimed_at < now - CLAIM_TIMEOUT)
                    .values(status=DeliveryStatus.pending, claim=None))
    due = select(ScoreDelivery.id).where(ScoreDelivery.status == DeliveryStatus.pending,
                                         ScoreDelivery.next_attempt_at <= now)
    if course_id is not None:
        due = due.where(ScoreDelivery.component_id.in_(
            select(GradedComponent.id).where(GradedComponent.course_id == course_id)))
    due = due.order_by(ScoreDelivery.id).limit(limit)
    claim = secrets.token_hex(16)
    if session.bind.dialect.name == "postgresql":
        ids = list(session.scalars(due.with_for_update(skip_locked=True)))
        if ids:
            session.execute(update(ScoreDelivery).where(ScoreDelivery.id.in_(ids))
                            .values(status=DeliveryStatus.sending, claim=claim, claimed_at=now))
    else:
        session.execute(update(ScoreDelivery)
                        .where(ScoreDelivery.id.in_(due.scalar_subquery()), ScoreDelivery.status == DeliveryStatus.pending)
                        .values(status=DeliveryStatus.sending, claim=claim, claimed_at=now)
                        .execution_options(synchronize_session=False))
    session.commit()
    return list(session.scalars(
        select(ScoreDelivery).where(ScoreDelivery.claim == claim)
        .options(joinedload(ScoreDelivery.component).joinedload(GradedComponent.course).joinedload(Course.platform),
                 joinedload(ScoreDelivery.component).joinedload(GradedComponent.resource_link),
                 joinedload(ScoreDelivery.membership).joinedload(Membership.user))
        .order_by(ScoreDelivery.id)
    ).unique())


def deliver_pending_scores(*, course_id: int | None = None, now: dt.datetime | None = None, batch: int = 100,
                           progress=None) -> DeliveryReport:
    """Send every due score (optionally of one course) to its LMS; returns what happened."""
    report = DeliveryReport()
    session = db.new_session()
    services: dict[int, LtiServices] = {}
    try:
        while True:
            rows = _claim(session, now or utcnow(), batch, course_id)
            if not rows:
                break
            for row in rows:
                _deliver_one(session, services, row, report)
                session.commit()
                if progress:
                    progress(report)
    finally:
        report.requests = sum(s.requests_made + s.connector.token_requests for s in services.values())
        session.close()
    return report


def _deliver_one(session: Session, services: dict[int, LtiServices], row: ScoreDelivery, report: DeliveryReport) -> None:
    component = row.component
    course = component.course
    platform: Platform = course.platform
    client = services.get(platform.id)
    if client is None:
        client = services[platform.id] = LtiServices(session, platform)
    now = utcnow()
    body = _score_body(row)
    try:
        lineitem_url = ensure_line_item(session, client, component)
        # Keep the column's URL before sending (a crash now must not make a second column), and never hold
        # a database write lock while waiting on the LMS.
        session.commit()
        client.post_score(lineitem_url, body)
    except NoGradePassback as exc:
        _fail(row, str(exc), None, report)
        return
    except ServiceError as exc:
        if component.lineitem_url is None and component.lineitem_claimed_at is not None \
                and not isinstance(exc, ColumnBeingCreated):
            component.lineitem_claimed_at = None   # let the next attempt (any worker) create it
        if exc.status == 404 and component.lineitem_url:
            # The column was deleted in the LMS: make it again at the next attempt.
            component.lineitem_url = None
        if exc.transient or exc.status == 404:
            delay = exc.retry_after if exc.retry_after is not None else min(MAX_BACKOFF_SECONDS, 30 * 2 ** (row.attempts - 1))
            row.attempts += 1
            row.status = DeliveryStatus.pending
            row.claim = None
            row.next_attempt_at = now + dt.timedelta(seconds=delay)
            row.last_error = f"{exc} — will try again"
            row.last_status_code = exc.status
            report.retried += 1
            return
        _fail(row, f"{exc}: {exc.body[:300]}", exc.status, report)
        return
    row.attempts += 1
    row.status = DeliveryStatus.sent
    row.sent_at = now
    row.claim = None
    row.last_error = ""
    row.last_status_code = 200
    report.sent += 1


def _fail(row: ScoreDelivery, message: str, status: int | None, report: DeliveryReport) -> None:
    row.attempts += 1
    row.status = DeliveryStatus.failed
    row.claim = None
    row.last_error = message
    row.last_status_code = status
    report.failed += 1
    report.errors.append(message)


def _score_body(row: ScoreDelivery) -> dict:
    body = {
        "userId": row.membership.user.sub,
        "scoreMaximum": row.score_maximum,
        "activityProgress": row.activity_progress,
        "gradingProgress": row.grading_progress,
        "timestamp": row.scored_at.astimezone(dt.timezone.utc).isoformat(timespec="milliseconds"),
    }
    if row.score_given is not None:
        body["scoreGiven"] = row.score_given
    if row.comment:
        body["comment"] = row.comment
    return body


def ensure_line_item(session: Session, client: LtiServices, component: GradedComponent) -> str:
    """The component's LMS column: found by its resourceId before creating (so a crash between creating it
    and saving its URL never makes a second column), and updated when its label or maximum changed."""
    course = component.course
    if not course.ags_lineitems_url:
        raise NoGradePassback("The LMS did not offer grade passback (AGS) for this course; "
                              "check the tool's grade settings in the LMS.")
    item = {"label": component.label, "scoreMaximum": component.score_maximum, "resourceId": component.key,
            "tag": component.tag}
    if component.resource_link is not None:
        item["resourceLinkId"] = component.resource_link.resource_link_id
    if component.lineitem_url is None and _claim_column_creation(session, component):
        existing = client.line_items(course.ags_lineitems_url, resource_id=component.key)
        match = next((li for li in existing if li.get("resourceId") == component.key), None)
        if match is None:
            match = client.create_line_item(course.ags_lineitems_url, item)
        component.lineitem_url = match["id"]
        component.lineitem_claimed_at = None
        component.synced_label = match.get("label")
        component.synced_maximum = match.get("scoreMaximum")
    if not component.in_step:
        updated = client.update_line_item(component.lineitem_url, {**item, "id": component.lineitem_url})
        component.synced_label = updated.get("label", component.label)
        component.synced_maximum = updated.get("scoreMaximum", component.score_maximum)
    component.sync_error = ""
    return component.lineitem_url


class ColumnBeingCreated(ServiceError):
    """Another worker is creating this component's column right now; try this score again shortly."""


def _claim_column_creation(session: Session, component: GradedComponent) -> bool:
    """Take the right to create the column with a conditional UPDATE, committed before any HTTP call;
    a worker that loses the race retries its score a few seconds later (by then the column exists)."""
    now = utcnow()
    taken = session.execute(
        update(GradedComponent)
        .where(GradedComponent.id == component.id, GradedComponent.lineitem_url.is_(None),
               (GradedComponent.lineitem_claimed_at.is_(None)) |
               (GradedComponent.lineitem_claimed_at < now - CLAIM_TIMEOUT))
        .values(lineitem_claimed_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    session.commit()
    session.refresh(component)
    if taken:
        return True
    if component.lineitem_url:
        return False
    raise ColumnBeingCreated("The gradebook column is being created by another worker", retry_after=2)


def delivery_summary(session: Session, course: Course) -> dict[str, int]:
    """How many scores of the course are pending, sent, failed (one aggregate query)."""
    rows = session.execute(
        select(ScoreDelivery.status, func.count())
        .join(GradedComponent, GradedComponent.id == ScoreDelivery.component_id)
        .where(GradedComponent.course_id == course.id)
        .group_by(ScoreDelivery.status)
    ).all()
    summary = {s.value: 0 for s in DeliveryStatus}
    summary.update({status.value: count for status, count in rows})
    return summary
