"""What the grade passback pages show: the course's columns and their LMS state, one cell per learner ×
column (newest score, last one sent), the counts by status, the sync under way, and an LMS error in words.
Each page is built in a fixed number of queries, whatever the size of the course."""
from __future__ import annotations

import json
import math
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload

from lti_tool.course.access import Access
from lti_tool.errors import NotFound
from lti_tool.grades.delivery import SYNC_JOB_KIND
from lti_tool.grades.models import DeliveryStatus, GradedComponent, ScoreDelivery
from lti_tool.jobs import Job, job_under_way
from lti_tool.lti.models import Course, CourseRole, Membership, User

PASSBACK_STATES = ("sent", "pending", "failed", "none")
PAGE_SIZE = 100


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


@dataclass
class PassbackPage:
    """The passback page: every column, the learners (for the person filter), one page of cells, the
    counts by status, and the "sync now" job under way."""
    course: Course
    components: list[GradedComponent]
    people: list[Membership]
    cells: list[PassbackCell]          # this page's
    cell_count: int                    # all pages'
    page: int
    pages: int
    summary: dict[str, int]
    running: Job | None

    def column_state(self, component: GradedComponent) -> tuple[str, str]:
        return column_state(component, self.course)


def passback_page(session: Session, access: Access, *, person: int | None = None, state: str | None = None,
                  page: int = 1) -> PassbackPage:
    """The passback page for staff (``PAGE_SIZE`` cells a page; a page past the end shows the last)."""
    access.require_staff("see what was sent to the LMS gradebook")
    course = access.course
    components, people, cells = passback_status(session, course, membership_id=person, state=state)
    pages = max(1, math.ceil(len(cells) / PAGE_SIZE))
    page = min(max(1, page), pages)
    return PassbackPage(course, components, people, cells[(page - 1) * PAGE_SIZE:page * PAGE_SIZE], len(cells),
                        page, pages, delivery_summary(session, course),
                        job_under_way(session, SYNC_JOB_KIND, course.id))


def get_component(session: Session, access: Access, component_id: int) -> GradedComponent:
    """A column of the viewer's course, for staff (404 for another course's)."""
    access.require_staff("see what was sent to the LMS gradebook")
    component = session.get(GradedComponent, component_id)
    if component is None or component.course_id != access.course_id:
        raise NotFound("That gradebook column is not part of this course.")
    return component


_STATUS_WORDS = {400: "bad request", 401: "not authorised", 403: "forbidden", 404: "not found",
                 409: "conflict", 422: "refused the data", 429: "too many requests", 500: "server error",
                 502: "bad gateway", 503: "unavailable", 504: "timed out"}


def describe_error(row: ScoreDelivery) -> tuple[str, str]:
    """A delivery's last error for people: the LMS's own message when its answer carries one (Canvas and
    Moodle answer JSON), and the raw text for the technical details."""
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
