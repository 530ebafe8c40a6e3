"""The durable score outbox: due rows are claimed, sent to their LMS through ``lti.services`` with retries,
and never lost nor sent twice; the periodic sweep, the LMS columns kept in step, and the "sync now" job.

The outbox row, not the task, is the record of what must reach the LMS (``writes.record_score`` writes it in
the caller's transaction). Several workers never deliver the same row: a batch is claimed with ``FOR UPDATE
SKIP LOCKED`` on PostgreSQL (a conditional UPDATE on SQLite, whose writers are serialised anyway) and the
claim is committed before anything is sent.
"""
from __future__ import annotations

import datetime as dt
import logging
import secrets
import time
from dataclasses import dataclass

from huey import crontab
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, joinedload

from lti_tool.db import db, utcnow
from lti_tool.errors import Conflict
from lti_tool.grades.models import DeliveryStatus, GradedComponent, ScoreDelivery
from lti_tool.jobs import JobStatus, enqueue_after_commit, job_session, periodic, report, task
from lti_tool.lti.models import Course, Membership, Platform
from lti_tool.lti.services import LtiServices, ServiceError

log = logging.getLogger(__name__)

CLAIM_TIMEOUT = dt.timedelta(minutes=10)   # a worker that died mid-batch: its rows are taken up again
MAX_BACKOFF_SECONDS = 3600
SYNC_JOB_KIND = "grade_sync"


class NoGradePassback(Conflict):
    title = "The LMS does not take grades from this course"


class ColumnBeingCreated(ServiceError):
    """Another worker is creating this component's column right now; try this score again shortly."""


# -- the tasks ----------------------------------------------------------------------------------------------

def deliver_after_commit(session: Session) -> None:
    """Have a worker send what is due once the caller's transaction has committed (the outbox row first,
    then the send). A lost task loses nothing: the periodic sweep finds every due row."""
    enqueue_after_commit(session, "deliver_scores", deliver_scores_task)


@task(retries=0)
def deliver_scores_task() -> None:
    deliver_pending_scores()


@periodic(crontab(minute="*"))
def sweep_due_scores() -> None:
    """Every minute: whatever is due (retries after backoff, rows whose task was lost) is sent."""
    deliver_pending_scores()


# -- claiming and delivering --------------------------------------------------------------------------------

@dataclass
class DeliveryReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    postponed: int = 0     # not tried: their LMS had just failed
    requests: int = 0

    @property
    def handled(self) -> int:
        return self.sent + self.retried + self.failed + self.postponed

    @property
    def waiting(self) -> int:
        """Scores that go again later: tried and rescheduled, or not tried because their LMS was down."""
        return self.retried + self.postponed


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
    # An LMS that is down (or asks us to slow down) gets one failed attempt per run, not one per waiting
    # score: its other rows wait, untried, until the time that attempt was rescheduled to.
    resting: dict[int, dt.datetime] = {}
    try:
        while True:
            rows = _claim(session, now or utcnow(), batch, course_id)
            if not rows:
                break
            only_resting = all(_platform_id(row) in resting for row in rows)
            for row in rows:
                platform_id = _platform_id(row)
                if platform_id in resting:
                    _postpone(row, resting[platform_id], report)
                else:
                    until = _deliver_one(session, services, row, report)
                    if until is not None:
                        resting[platform_id] = until
                session.commit()
                if progress:
                    progress(report)
            if only_resting:    # what is left waits for an LMS that is not answering
                break
    finally:
        report.requests = sum(s.requests_made + s.connector.token_requests for s in services.values())
        session.close()
    return report


def _platform_id(row: ScoreDelivery) -> int:
    return row.component.course.platform_id


def _postpone(row: ScoreDelivery, until: dt.datetime, report: DeliveryReport) -> None:
    """Put a claimed row back, untried, while its LMS is not answering (its attempts do not grow)."""
    row.status = DeliveryStatus.pending
    row.claim = None
    row.next_attempt_at = until
    row.last_error = "Not sent yet: the LMS was not answering — will try again"
    report.postponed += 1


def _deliver_one(session: Session, services: dict[int, LtiServices], row: ScoreDelivery,
                 report: DeliveryReport) -> dt.datetime | None:
    """Send one row. Returns when to try that LMS again if the LMS as a whole failed (outage, rate limit)."""
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
        return None
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
            return row.next_attempt_at if exc.unavailable else None
        _fail(row, f"{exc}: {exc.body[:300]}", exc.status, report)
        return None
    row.attempts += 1
    row.status = DeliveryStatus.sent
    row.sent_at = now
    row.claim = None
    row.last_error = ""
    row.last_status_code = 200
    report.sent += 1
    return None


def _fail(row: ScoreDelivery, message: str, status: int | None, report: DeliveryReport) -> None:
    row.attempts += 1
    row.status = DeliveryStatus.failed
    row.claim = None
    row.last_error = message
    row.last_status_code = status
    report.failed += 1


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


def requeue(row: ScoreDelivery, now: dt.datetime) -> None:
    """A failed row goes back to the queue, due at ``now``, its last error cleared."""
    row.status = DeliveryStatus.pending
    row.next_attempt_at = now
    row.claim = None
    row.last_error = ""
    row.last_status_code = None


# -- the LMS columns ----------------------------------------------------------------------------------------

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


def sync_columns(session: Session, course_id: int) -> int:
    """Bring every created column of the course in step with its label and maximum; returns how many
    were updated. A failure is kept on the component and shown on the passback page."""
    components = list(session.scalars(
        select(GradedComponent).where(GradedComponent.course_id == course_id, GradedComponent.active.is_(True),
                                      GradedComponent.lineitem_url.is_not(None))
        .options(joinedload(GradedComponent.course).joinedload(Course.platform),
                 joinedload(GradedComponent.resource_link))))
    stale = [c for c in components if not c.in_step]
    if not stale:
        return 0
    client = LtiServices(session, stale[0].course.platform)
    updated = 0
    for component in stale:
        try:
            ensure_line_item(session, client, component)
            updated += 1
        except (ServiceError, NoGradePassback) as exc:
            component.sync_error = f"The LMS column could not be updated: {exc}"
        session.commit()
    return updated


@task(retries=0)
def sync_columns_task(course_id: int) -> None:
    session = db.new_session()
    try:
        sync_columns(session, course_id)
    finally:
        session.close()


def sync_columns_after_commit(session: Session, course_id: int) -> None:
    """Have a worker bring the course's columns in step once the caller's change is committed. If the queue
    cannot take it, the columns follow at the next delivery or "sync now" (the page shows "needs update")."""
    enqueue_after_commit(session, f"sync_columns:{course_id}", sync_columns_task, course_id)


# -- "sync now" ---------------------------------------------------------------------------------------------

def prepare_sync(session: Session, course_id: int) -> int:
    """For "sync now": each person's newest failed score becomes pending again (an older failed one is
    superseded by it), every pending score of the course becomes due now. Returns how many are due."""
    now = utcnow()
    in_course = select(GradedComponent.id).where(GradedComponent.course_id == course_id)
    failed = list(session.scalars(
        select(ScoreDelivery).where(ScoreDelivery.component_id.in_(in_course),
                                    ScoreDelivery.status == DeliveryStatus.failed)
        .order_by(ScoreDelivery.scored_at.desc(), ScoreDelivery.id.desc())))
    newest_other = {(c, m): t for c, m, t in session.execute(
        select(ScoreDelivery.component_id, ScoreDelivery.membership_id, func.max(ScoreDelivery.scored_at))
        .where(ScoreDelivery.component_id.in_(in_course),
               ScoreDelivery.status.in_([DeliveryStatus.sent, DeliveryStatus.pending, DeliveryStatus.sending]))
        .group_by(ScoreDelivery.component_id, ScoreDelivery.membership_id))}
    seen: set[tuple[int, int]] = set()
    for row in failed:
        key = (row.component_id, row.membership_id)
        other = newest_other.get(key)
        if key in seen or (other is not None and other >= row.scored_at):
            continue   # a newer score exists: the old failure no longer matters
        seen.add(key)
        requeue(row, now)
    session.execute(update(ScoreDelivery)
                    .where(ScoreDelivery.component_id.in_(in_course), ScoreDelivery.status == DeliveryStatus.pending,
                           ScoreDelivery.next_attempt_at > now)
                    .values(next_attempt_at=now)
                    .execution_options(synchronize_session=False))
    session.flush()
    return session.scalar(select(func.count()).select_from(ScoreDelivery).where(
        ScoreDelivery.component_id.in_(in_course), ScoreDelivery.status == DeliveryStatus.pending)) or 0


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


@task(retries=0)
def run_sync(job_id: int) -> None:
    """The "sync now" job: failed scores again, pending ones now, columns in step, progress on the Job."""
    with job_session(job_id) as (session, job):
        if job is None:
            return
        course_id = job.course_id
        due = prepare_sync(session, course_id)
        session.commit()
        report(job_id, status=JobStatus.running, done=0, total=due,
               message=f"Sending {_plural(due, 'score')} to the LMS…" if due else "Checking the gradebook columns…")
        last = [0.0]

        def progress(r: DeliveryReport) -> None:
            done = r.handled
            if time.monotonic() - last[0] < 0.25 and done < due:
                return   # a progress write per score would cost more than the scores
            last[0] = time.monotonic()
            report(job_id, done=min(done, due) if due else done,
                   message=f"{done} of {due} handled: {r.sent} sent, {r.waiting} to retry, {r.failed} failed.")

        try:
            result = deliver_pending_scores(course_id=course_id, progress=progress)
            columns = sync_columns(session, course_id)
        except Exception:
            log.exception("grade sync crashed for course %s", course_id)
            report(job_id, status=JobStatus.failed, error="The sync stopped on an unexpected error (it is in the "
                   "server log). Scores not sent yet are still waiting and will be sent later.")
            return
        parts = [f"{result.sent} sent"]
        if result.waiting:
            parts.append(f"{result.waiting} will be tried again later (the LMS did not answer)")
        if result.failed:
            parts.append(f"{result.failed} refused by the LMS (see why on the passback page)")
        if columns:
            parts.append(f"{_plural(columns, 'column')} updated")
        report(job_id, status=JobStatus.done, done=due, total=due,
               result={"sent": result.sent, "retried": result.retried, "postponed": result.postponed,
                       "failed": result.failed, "requests": result.requests, "columns": columns},
               message="Sync finished: " + ", ".join(parts) + ".")
