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

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, joinedload

from lti_tool.db import db, utcnow
from lti_tool.errors import DomainError
from huey import crontab

from lti_tool.jobs import enqueue_after_commit, periodic, task
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
    _deliver_after_commit(session)
    return delivery


def _deliver_after_commit(session: Session) -> None:
    # The outbox row is committed first; only then may a worker send it. A lost task loses nothing: the
    # periodic sweep finds every due row.
    enqueue_after_commit(session, "deliver_scores", deliver_scores_task)


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
    postponed: int = 0     # not tried: their LMS had just failed
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


# -- the passback page: what was sent, what is pending, what failed; sync now; editing a column ---------------

SYNC_JOB_KIND = "grade_sync"


def can_view_passback(membership: Membership) -> bool:
    """Facilitators (leads among them) see what went to the LMS; participants and observers do not."""
    return membership.active and membership.role is CourseRole.facilitator


def require_passback_viewer(membership: Membership) -> None:
    from lti_tool.errors import Forbidden

    if not can_view_passback(membership):
        raise Forbidden("Only the course's facilitators can see what was sent to the LMS gradebook.")


def can_edit_components(session: Session, membership: Membership) -> bool:
    """The program's leads (every facilitator while the program names none, or has no program yet)."""
    from lti_tool.programs.services import is_lead, program_for_course

    if not can_view_passback(membership):
        return False
    program = program_for_course(session, membership.course)
    return program is None or is_lead(program, membership)


def column_state(component: GradedComponent, course: Course) -> tuple[str, str]:
    """The LMS column's state in words and a badge kind: created, needs update, not yet created, error."""
    if not course.ags_lineitems_url:
        return "error", "The LMS did not offer grade passback (AGS) for this course."
    if component.sync_error:
        return "error", component.sync_error
    if not component.lineitem_url:
        return "not yet created", "Made in the LMS gradebook when its first score is sent."
    if not component.in_step:
        return "needs update", "The label or maximum changed; the LMS column is updated at the next delivery."
    return "created", ""


@dataclass
class PassbackCell:
    """One person × component: the newest row (its state) and the last score that reached the LMS."""
    membership: Membership
    component: GradedComponent
    current: ScoreDelivery | None = None
    last_sent: ScoreDelivery | None = None

    @property
    def state(self) -> str:
        if self.current is None:
            return "none"
        if self.current.status is DeliveryStatus.sending:
            return "pending"
        return self.current.status.value


PASSBACK_STATES = ("sent", "pending", "failed", "none")


def passback_status(session: Session, course: Course, *, membership_id: int | None = None,
                    state: str | None = None) -> tuple[list[GradedComponent], list[Membership], list[PassbackCell]]:
    """The course's components, its learners, and one cell per learner × component, in three queries
    whatever the size of the course (the newest row per cell and status comes from a window function)."""
    components = list(session.scalars(
        select(GradedComponent).where(GradedComponent.course_id == course.id, GradedComponent.active.is_(True))
        .order_by(GradedComponent.id)))
    # Learners, and anybody else who has a score row (a learner who left keeps their history).
    scored = (select(ScoreDelivery.membership_id)
              .join(GradedComponent, GradedComponent.id == ScoreDelivery.component_id)
              .where(GradedComponent.course_id == course.id))
    from lti_tool.lti.models import User

    people = list(session.scalars(
        select(Membership).join(Membership.user).options(joinedload(Membership.user))
        .where(Membership.course_id == course.id,
               ((Membership.role == CourseRole.participant) & Membership.active.is_(True)) | Membership.id.in_(scored))
        .order_by(User.family_name, User.given_name, User.name, Membership.id)))
    rank = func.row_number().over(
        partition_by=(ScoreDelivery.component_id, ScoreDelivery.membership_id,
                      ScoreDelivery.status == DeliveryStatus.sent),
        order_by=(ScoreDelivery.scored_at.desc(), ScoreDelivery.id.desc())).label("rank")
    newest = (select(ScoreDelivery.id, rank)
              .join(GradedComponent, GradedComponent.id == ScoreDelivery.component_id)
              .where(GradedComponent.course_id == course.id, ScoreDelivery.status != DeliveryStatus.superseded)
              .subquery())
    rows = session.scalars(select(ScoreDelivery).join(newest, newest.c.id == ScoreDelivery.id)
                           .where(newest.c.rank == 1))
    latest_sent: dict[tuple[int, int], ScoreDelivery] = {}
    latest_other: dict[tuple[int, int], ScoreDelivery] = {}
    for row in rows:
        target = latest_sent if row.status is DeliveryStatus.sent else latest_other
        target[(row.component_id, row.membership_id)] = row
    cells = []
    for person in people:
        if membership_id is not None and person.id != membership_id:
            continue
        for component in components:
            key = (component.id, person.id)
            sent, other = latest_sent.get(key), latest_other.get(key)
            current = other if other is not None and (sent is None or other.scored_at > sent.scored_at) else sent
            cell = PassbackCell(person, component, current, sent)
            if state and cell.state != state:
                continue
            cells.append(cell)
    return components, people, cells


def _course_component(session: Session, course: Course, component_id: int) -> GradedComponent:
    from lti_tool.errors import NotFound

    component = session.get(GradedComponent, component_id)
    if component is None or component.course_id != course.id:
        raise NotFound("That gradebook column is not part of this course.")
    return component


def get_component(session: Session, actor: Membership, component_id: int) -> GradedComponent:
    require_passback_viewer(actor)
    return _course_component(session, actor.course, component_id)


def update_component(session: Session, actor: Membership, component_id: int, *, label: str,
                     score_maximum: float) -> GradedComponent:
    """A lead renames a column or changes its maximum; the LMS column follows at the next delivery (or
    at once when ``sync_columns`` runs)."""
    from lti_tool.errors import Forbidden

    component = get_component(session, actor, component_id)
    if not can_edit_components(session, actor):
        raise Forbidden("Only the program's leads can change a gradebook column.")
    label = (label or "").strip()
    if not label:
        raise DomainError("Give the column a label: it is the column's name in the LMS gradebook.")
    if score_maximum is None or score_maximum <= 0:
        raise DomainError("The maximum score must be more than 0.")
    component.label = label[:255]
    component.score_maximum = float(score_maximum)
    component.sync_error = ""
    session.flush()
    return component


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


def retry_delivery(session: Session, actor: Membership, delivery_id: int) -> ScoreDelivery:
    """Send a failed score again (due now). Only the newest score of its person and column can be retried:
    an older one would be refused by the LMS as older than what it has."""
    from lti_tool.errors import Conflict, NotFound

    require_passback_viewer(actor)
    row = session.get(ScoreDelivery, delivery_id)
    if row is None or row.component.course_id != actor.course_id:
        raise NotFound("That score is not part of this course.")
    if row.status is not DeliveryStatus.failed:
        raise Conflict("That score has not failed, so there is nothing to retry.")
    newer = session.scalar(select(func.count()).select_from(ScoreDelivery).where(
        ScoreDelivery.component_id == row.component_id, ScoreDelivery.membership_id == row.membership_id,
        ScoreDelivery.status != DeliveryStatus.superseded, ScoreDelivery.scored_at > row.scored_at))
    if newer:
        raise Conflict("A newer score for this person and column exists; that one is what the LMS gets.")
    _requeue(row, utcnow())
    session.flush()
    _deliver_after_commit(session)
    return row


def _requeue(row: ScoreDelivery, now: dt.datetime) -> None:
    row.status = DeliveryStatus.pending
    row.next_attempt_at = now
    row.claim = None
    row.last_error = ""
    row.last_status_code = None


def prepare_sync(session: Session, course_id: int, now: dt.datetime | None = None) -> int:
    """For "sync now": each person's newest failed score becomes pending again (an older failed one is
    superseded by it), every pending score of the course becomes due now. Returns how many are due."""
    now = now or utcnow()
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
        _requeue(row, now)
    session.execute(update(ScoreDelivery)
                    .where(ScoreDelivery.component_id.in_(in_course), ScoreDelivery.status == DeliveryStatus.pending,
                           ScoreDelivery.next_attempt_at > now)
                    .values(next_attempt_at=now)
                    .execution_options(synchronize_session=False))
    session.flush()
    return session.scalar(select(func.count()).select_from(ScoreDelivery).where(
        ScoreDelivery.component_id.in_(in_course), ScoreDelivery.status == DeliveryStatus.pending)) or 0


def running_sync(session: Session, course_id: int):
    """The "sync now" job under way, if any (an abandoned one is marked failed: ``jobs.job_under_way``)."""
    from lti_tool.jobs import job_under_way

    return job_under_way(session, SYNC_JOB_KIND, course_id)


def request_sync(session: Session, actor: Membership):
    """Start "sync now" for the actor's course, or find the sync already under way: (job, is_new). A new job
    is enqueued once the caller commits; a queue that is down fails the job, not the request."""
    from lti_tool.jobs import open_job

    require_passback_viewer(actor)
    return open_job(session, SYNC_JOB_KIND, actor.course_id, actor.user_id, run_sync)


@task(retries=0)
def run_sync(job_id: int) -> None:
    """The "sync now" job: failed scores again, pending ones now, columns in step, progress on the Job."""
    import time

    from lti_tool.jobs import Job, JobStatus, report

    session = db.new_session()
    try:
        job = session.get(Job, job_id)
        if job is None or job.finished:
            return
        course_id = job.course_id
        due = prepare_sync(session, course_id)
        session.commit()
        report(job_id, status=JobStatus.running, done=0, total=due,
               message=f"Sending {due} score{'s' if due != 1 else ''} to the LMS…" if due else
               "Checking the gradebook columns…")
        last = [0.0]

        def progress(r: DeliveryReport) -> None:
            done = r.sent + r.retried + r.failed
            if time.monotonic() - last[0] < 0.25 and done < due:
                return   # a progress write per score would cost more than the scores
            last[0] = time.monotonic()
            report(job_id, done=min(done, due) if due else done,
                   message=f"{done} of {due} handled: {r.sent} sent, {r.retried} to retry, {r.failed} failed.")

        try:
            result = deliver_pending_scores(course_id=course_id, progress=progress)
            columns = sync_columns(session, course_id)
        except Exception:
            log.exception("grade sync crashed for course %s", course_id)
            report(job_id, status=JobStatus.failed, error="The sync stopped on an unexpected error (it is in the "
                   "server log). Scores not sent yet are still waiting and will be sent later.")
            return
        parts = [f"{result.sent} sent"]
        if result.retried:
            parts.append(f"{result.retried} will be tried again later (the LMS did not answer)")
        if result.failed:
            parts.append(f"{result.failed} refused by the LMS (see why on the passback page)")
        if columns:
            parts.append(f"{columns} column{'s' if columns != 1 else ''} updated")
        report(job_id, status=JobStatus.done, done=due, total=due,
               result={"sent": result.sent, "retried": result.retried, "failed": result.failed,
                       "requests": result.requests, "columns": columns},
               message="Sync finished: " + ", ".join(parts) + ".")
    finally:
        session.close()


_STATUS_WORDS = {400: "bad request", 401: "not authorised", 403: "forbidden", 404: "not found",
                 409: "conflict", 422: "refused the data", 429: "too many requests", 500: "server error",
                 502: "bad gateway", 503: "unavailable", 504: "timed out"}


def describe_error(row: ScoreDelivery) -> tuple[str, str]:
    """A delivery's last error for people: the LMS's own message when its answer carries one (Canvas and
    Moodle answer JSON), and the raw text for the technical details."""
    import json

    raw = (row.last_error or "").strip()
    if not raw:
        return "", ""
    message = ""
    start = raw.find("{")
    if start >= 0:
        try:
            data = json.loads(raw[start:])
        except ValueError:
            data = None
        candidates = [data]
        while candidates and not message:
            item = candidates.pop(0)
            if isinstance(item, str) and item.strip():
                message = item.strip()
            elif isinstance(item, dict):
                candidates += [item[k] for k in ("message", "errors", "error", "detail", "error_description")
                               if k in item]
            elif isinstance(item, list):
                candidates += item
    if not message:
        message = raw.split(" — ")[0]
        if row.last_status_code:
            words = _STATUS_WORDS.get(row.last_status_code, "")
            message = f"the LMS answered {row.last_status_code}" + (f" ({words})" if words else "")
    return message, raw
