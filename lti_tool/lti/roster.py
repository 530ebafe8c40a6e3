"""Roster sync from the LMS (NRPS) as a background job: new members appear, roles change, members who
left are marked inactive and keep their history. Re-running after a failure is safe: every page is an
upsert, and nobody is marked as gone unless a sync read the whole roster."""
from __future__ import annotations

import datetime as dt
import logging

from flask import current_app
from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from lti_tool.db import utcnow
from lti_tool.jobs import Job, JobStatus, job_session, open_job, report, task
from lti_tool.lti.identity import claim_text, map_role
from lti_tool.lti.models import Course, Membership, User
from lti_tool.lti.services import LtiServices, ServiceError

log = logging.getLogger(__name__)

JOB_KIND = "roster_sync"


def roster_is_stale(course: Course, now: dt.datetime | None = None) -> bool:
    if not course.nrps_url:
        return False
    if course.roster_synced_at is None:
        return True
    age = (now or utcnow()) - course.roster_synced_at
    return age.total_seconds() > current_app.config["ROSTER_MAX_AGE_SECONDS"]


def request_roster_sync(session: Session, course: Course, started_by_id: int | None) -> Job:
    """Start a sync (or return the one under way); it is enqueued once the caller commits."""
    return open_job(session, JOB_KIND, course.id, started_by_id, run_roster_sync)[0]


@task()
def run_roster_sync(job_id: int) -> None:
    with job_session(job_id) as (session, job):
        if job is None:
            return
        course = session.get(Course, job.course_id)
        if course is None or not course.nrps_url:
            report(job_id, status=JobStatus.failed, error="This course's LMS did not offer its roster "
                   "(no Names and Roles service), so there is nothing to sync.")
            return
        report(job_id, status=JobStatus.running, message="Reading the roster from the LMS…")
        read = [0]

        def progress(n: int) -> None:
            read[0] = n
            report(job_id, done=n, message=f"{n} members read so far…")

        try:
            counts = sync_roster(session, course, progress=progress)
        except ServiceError as exc:
            session.rollback()
            log.warning("roster sync failed for course %s: %s", course.id, exc)
            saved = (f" The {read[0]} members read before that were saved; nobody was marked as gone."
                     if read[0] else "")
            later = " Run the sync again when the LMS is reachable." if exc.transient else ""
            report(job_id, status=JobStatus.failed, error=f"{exc}.{saved}{later}")
            return
        except Exception:
            session.rollback()
            log.exception("roster sync crashed for course %s", course.id)
            report(job_id, status=JobStatus.failed, error="The roster sync stopped on an unexpected error "
                   "(it is in the server log). Members read so far were saved; nobody was marked as gone.")
            return
        report(job_id, status=JobStatus.done, done=counts["listed"], total=counts["listed"], result=counts,
               message=f"{counts['listed']} members: {counts['added']} new, {counts['changed']} changed, "
                       f"{counts['deactivated']} no longer in the course.")


def sync_roster(session: Session, course: Course, *, page_size: int | None = None, progress=None) -> dict[str, int]:
    """Read every page of the course's NRPS roster and upsert users and memberships, one page per
    transaction. Members not listed any more are marked inactive only after the last page."""
    if not course.nrps_url:
        raise ServiceError("This course's LMS did not offer its roster (no Names and Roles service)")
    page_size = page_size or int(current_app.config.get("ROSTER_PAGE_SIZE", 100))
    started = utcnow()
    services = LtiServices(session, course.platform)
    counts = {"listed": 0, "added": 0, "changed": 0, "deactivated": 0}
    for page in services.member_pages(course.nrps_url, limit=page_size):
        _apply_page(session, course, page.items, started, counts)
        session.commit()
        if progress:
            progress(counts["listed"])
    # Whoever the whole roster did not list has left, including people only a launch told us about
    # (but not someone whose first launch happened while this sync ran).
    result = session.execute(
        update(Membership)
        .where(Membership.course_id == course.id, Membership.active.is_(True),
               or_(Membership.roster_seen_at < started,
                   and_(Membership.roster_seen_at.is_(None), Membership.created_at < started)))
        .values(active=False)
        .execution_options(synchronize_session=False)
    )
    counts["deactivated"] = result.rowcount or 0
    course.roster_synced_at = started
    session.commit()
    return counts


def _apply_page(session: Session, course: Course, members: list[dict], seen_at: dt.datetime,
                counts: dict[str, int]) -> None:
    members = [m for m in members if isinstance(m, dict) and m.get("user_id")]
    subs = [str(m["user_id"]) for m in members]
    users = {u.sub: u for u in session.scalars(
        select(User).where(User.platform_id == course.platform_id, User.sub.in_(subs)))}
    memberships = {m.user_id: m for m in session.scalars(
        select(Membership).where(Membership.course_id == course.id,
                                 Membership.user_id.in_([u.id for u in users.values()])))} if users else {}
    for member in members:
        sub = str(member["user_id"])
        counts["listed"] += 1
        user = users.get(sub)
        if user is None:
            user = User(platform_id=course.platform_id, sub=sub)
            session.add(user)
            users[sub] = user
        # The roster may omit names and email (LMS privacy settings): keep what a launch told us.
        for field in ("name", "given_name", "family_name", "email"):
            value = claim_text(member.get(field))
            if value:
                setattr(user, field, value)
        picture = claim_text(member.get("picture"), 1024)
        if picture.startswith(("https://", "http://")):
            user.picture = picture
        roles = [r for r in member.get("roles") or [] if isinstance(r, str)]
        role, is_preview = map_role(roles)
        active = str(member.get("status", "Active")).lower() == "active"
        membership = memberships.get(user.id) if user.id else None
        if membership is None:
            membership = Membership(user=user, course=course, role=role, source="roster", lti_roles=roles,
                                    is_preview=is_preview, active=active)
            session.add(membership)
            counts["added"] += 1
        elif membership.role != role or membership.active != active or membership.lti_roles != roles:
            counts["changed"] += 1
        membership.lti_roles = roles
        membership.role = role
        membership.is_preview = is_preview
        membership.active = active
        membership.roster_seen_at = seen_at
