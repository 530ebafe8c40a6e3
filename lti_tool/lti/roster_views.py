"""The course roster as the LMS reports it (NRPS), for facilitators: who is in the course, who left, when the
roster was last read, and a "Sync roster now" button whose background job shows its progress here."""
from __future__ import annotations

import datetime as dt
import logging
import math
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from sqlalchemy import case, func, select
from sqlalchemy.orm import contains_eager

from lti_tool.auth import require_course_role
from lti_tool.db import db
from lti_tool.errors import NotFound
from lti_tool.jobs import QUEUE_DOWN, Job, JobStatus
from lti_tool.lti import roster
from lti_tool.lti.models import CourseRole, Membership, User

log = logging.getLogger(__name__)

bp = Blueprint("roster", __name__, url_prefix="/c/<int:course_id>/roster")

PER_PAGE = 50
POLL_SECONDS = 2


class SyncForm(FlaskForm):
    """The "Sync roster now" button: its CSRF token is all it carries."""


def start_sync(session, membership: Membership) -> Job:
    """Start a roster sync of the member's course (or return the one under way) and commit: the job goes to
    the background worker then; a queue that cannot be reached fails the job with a message, not the request."""
    job = roster.request_roster_sync(session, membership.course, membership.user_id)
    session.commit()
    session.refresh(job)  # the worker (or immediate mode) wrote to it through its own session
    return job


def sync_at_launch(session, membership: Membership | None) -> Job | None:
    """After a facilitator's launch has been committed: queue a roster sync when the course's roster is older
    than ROSTER_MAX_AGE_SECONDS. Never fails the launch; a sync already under way is left alone."""
    if not current_app.config.get("ROSTER_SYNC_AT_LAUNCH", True):
        return None
    if membership is None or membership.role is not CourseRole.facilitator or not membership.active:
        return None
    try:
        if not roster.roster_is_stale(membership.course):
            return None
        return start_sync(session, membership)
    except Exception:
        log.exception("could not start the launch-time roster sync of course %s", membership.course_id)
        session.rollback()
        return None


def _viewer_zone(membership: Membership) -> ZoneInfo:
    """The viewer's chosen zone, else the program's, else UTC (one query for the program's zone)."""
    from lti_tool.programs.models import Program

    names = [membership.user.timezone]
    if not names[0]:
        names.append(db.session.scalar(select(Program.timezone).where(Program.course_id == membership.course_id)))
    for name in names:
        if name:
            try:
                return ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                pass
    return ZoneInfo("UTC")


def _latest_job(course_id: int) -> Job | None:
    """The sync under way, else the last one that finished (one query)."""
    running = case((Job.status.in_([JobStatus.queued, JobStatus.running]), 0), else_=1)
    return db.session.scalar(select(Job).where(Job.course_id == course_id, Job.kind == roster.JOB_KIND)
                             .order_by(running, Job.id.desc()).limit(1))


def _job_or_404(course_id: int, job_id: int) -> Job:
    job = db.session.get(Job, job_id)
    if job is None or job.course_id != course_id or job.kind != roster.JOB_KIND:
        raise NotFound("There is no such roster sync in this course.")
    return job


def _local(value: dt.datetime | None, zone: ZoneInfo) -> dt.datetime | None:
    return value.astimezone(zone) if value is not None else None


@bp.route("/")
@require_course_role(CourseRole.facilitator)
def index(membership):
    """The roster: active members (or, with ?status=inactive, those no longer in the LMS course), 50 a page."""
    course = membership.course
    inactive = request.args.get("status") == "inactive"
    counts = db.session.execute(
        select(func.count().filter(Membership.active.is_(True)), func.count().filter(Membership.active.is_(False)))
        .where(Membership.course_id == course.id)).one()
    active_count, inactive_count = int(counts[0] or 0), int(counts[1] or 0)
    total = inactive_count if inactive else active_count
    pages = max(1, math.ceil(total / PER_PAGE))
    page = min(max(1, request.args.get("page", 1, type=int) or 1), pages)
    members = list(db.session.scalars(
        select(Membership).join(Membership.user).options(contains_eager(Membership.user))
        .where(Membership.course_id == course.id, Membership.active.is_(not inactive))
        .order_by(func.lower(User.name), func.lower(User.family_name), User.sub, Membership.id)
        .limit(PER_PAGE).offset((page - 1) * PER_PAGE)))
    zone = _viewer_zone(membership)
    return render_template(
        "roster/index.html", membership=membership, course=course, members=members, inactive=inactive,
        active_count=active_count, inactive_count=inactive_count, page=page, pages=pages, per_page=PER_PAGE,
        job=_latest_job(course.id), form=SyncForm(), zone=zone, local=lambda v: _local(v, zone),
        poll_seconds=POLL_SECONDS)


@bp.route("/sync", methods=["POST"])
@require_course_role(CourseRole.facilitator)
def sync(membership):
    form = SyncForm()
    if not form.validate_on_submit():
        flash("The form had expired; press “Sync roster now” again.", "warning")
        return redirect(url_for("roster.index", course_id=membership.course_id))
    if not membership.course.nrps_url:
        flash("This course's LMS did not offer its roster (no Names and Roles service), so there is nothing to "
              "sync. Ask your LMS administrator to allow the tool to read the course roster.", "danger")
        return redirect(url_for("roster.index", course_id=membership.course_id))
    job = start_sync(db.session, membership)
    if job.status is JobStatus.failed:
        flash("The roster sync could not start." if job.error == QUEUE_DOWN
              else "The roster sync stopped before the end; what happened is below.", "danger")
    elif job.finished:
        flash("The roster was synced.", "success")
    else:
        flash("The roster sync has started; it goes on if you leave this page.", "info")
    return redirect(url_for("roster.index", course_id=membership.course_id))


@bp.route("/jobs/<int:job_id>")
@require_course_role(CourseRole.facilitator)
def progress(membership, job_id: int):
    """The progress fragment the roster page polls (htmx); a whole page when opened without htmx."""
    job = _job_or_404(membership.course_id, job_id)
    zone = _viewer_zone(membership)
    context = dict(membership=membership, course=membership.course, job=job, form=SyncForm(), zone=zone,
                   local=lambda v: _local(v, zone), poll_seconds=POLL_SECONDS)
    if request.headers.get("HX-Request"):
        # 286 tells htmx to stop polling: the job is over and the fragment shows its outcome.
        return render_template("roster/_job.html", **context), 286 if job.finished else 200
    return render_template("roster/job.html", **context)
