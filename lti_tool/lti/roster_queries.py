"""What the roster page shows: one page of the course's members (active, or those the LMS no longer lists),
the counts of both, and the roster sync under way or the last one; in a fixed number of queries."""
from __future__ import annotations

import math
from dataclasses import dataclass

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session, contains_eager

from lti_tool.course.access import Access
from lti_tool.errors import NotFound
from lti_tool.jobs import Job, JobStatus
from lti_tool.lti import roster
from lti_tool.lti.models import Course, Membership, User

PER_PAGE = 50


@dataclass
class RosterPage:
    course: Course
    members: list[Membership]
    inactive: bool                 # showing those no longer in the LMS course
    active_count: int
    inactive_count: int
    page: int
    pages: int
    job: Job | None                # the sync under way, else the last one
    per_page: int = PER_PAGE


def latest_sync(session: Session, course_id: int) -> Job | None:
    """The sync under way, else the last one that finished (one query)."""
    running = case((Job.status.in_([JobStatus.queued, JobStatus.running]), 0), else_=1)
    return session.scalar(select(Job).where(Job.course_id == course_id, Job.kind == roster.JOB_KIND)
                          .order_by(running, Job.id.desc()).limit(1))


def roster_page(session: Session, access: Access, *, inactive: bool = False, page: int = 1) -> RosterPage:
    """The roster for staff: ``PER_PAGE`` members a page, by name (a page past the end shows the last)."""
    access.require_staff("see the course roster")
    course = access.course
    counts = session.execute(
        select(func.count().filter(Membership.active.is_(True)), func.count().filter(Membership.active.is_(False)))
        .where(Membership.course_id == course.id)).one()
    active_count, inactive_count = int(counts[0] or 0), int(counts[1] or 0)
    pages = max(1, math.ceil((inactive_count if inactive else active_count) / PER_PAGE))
    page = min(max(1, page), pages)
    members = list(session.scalars(
        select(Membership).join(Membership.user).options(contains_eager(Membership.user))
        .where(Membership.course_id == course.id, Membership.active.is_(not inactive))
        .order_by(func.lower(User.name), func.lower(User.family_name), User.sub, Membership.id)
        .limit(PER_PAGE).offset((page - 1) * PER_PAGE)))
    return RosterPage(course, members, inactive, active_count, inactive_count, page, pages,
                      latest_sync(session, course.id))


def get_sync(session: Session, access: Access, job_id: int) -> Job:
    """A roster sync of the viewer's course, for staff (404 for another course's, or another kind of job)."""
    access.require_staff("follow the roster sync")
    job = session.get(Job, job_id)
    if job is None or job.course_id != access.course_id or job.kind != roster.JOB_KIND:
        raise NotFound("There is no such roster sync in this course.")
    return job
