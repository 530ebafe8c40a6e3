"""The course roster as the LMS reports it (NRPS), for the course's staff: who is in the course, who left, when
the roster was last read, and a "Sync roster now" button whose background job shows its progress here."""
from __future__ import annotations

import logging

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for

from lti_tool.course.access import Access
from lti_tool.course.forms import ActionForm
from lti_tool.course.pages import program_page
from lti_tool.db import db
from lti_tool.jobs import QUEUE_DOWN, Job, JobStatus
from lti_tool.lti import roster
from lti_tool.lti.models import CourseRole, Membership
from lti_tool.lti.roster_queries import get_sync, roster_page

log = logging.getLogger(__name__)

bp = Blueprint("roster", __name__, url_prefix="/c/<int:course_id>/roster")

POLL_SECONDS = 2


def start_sync(session, membership: Membership) -> Job:
    """Start a roster sync of the member's course (or return the one under way) and commit: the job goes to
    the background worker then; a queue that cannot be reached fails the job with a message, not the request.
    Who may ask is the caller's check (staff: the page, or a staff member's launch)."""
    job = roster.request_roster_sync(session, membership.course, membership.user_id)
    session.commit()
    session.refresh(job)  # the worker (or immediate mode) wrote to it through its own session
    return job


def sync_at_launch(session, membership: Membership | None) -> Job | None:
    """After a staff member's launch has been committed: queue a roster sync when the course's roster is older
    than ROSTER_MAX_AGE_SECONDS. Never fails the launch; a sync already under way is left alone. (Staff are
    the LMS's instructors, ``Access.staff``; the launch has no Access yet, so its membership's role is read.)"""
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


@bp.route("/")
@program_page(staff=True)
def index(access: Access):
    """The roster: active members (or, with ?status=inactive, those no longer in the LMS course), 50 a page."""
    page = roster_page(db.session, access, inactive=request.args.get("status") == "inactive",
                       page=request.args.get("page", 1, type=int) or 1)
    return render_template("roster/index.html", access=access, course=page.course, roster=page, job=page.job,
                           form=ActionForm(), poll_seconds=POLL_SECONDS)


@bp.route("/sync", methods=["POST"])
@program_page(staff=True)
def sync(access: Access):
    form = ActionForm()
    back = redirect(url_for("roster.index", course_id=access.course_id))
    if not form.validate_on_submit():
        flash("The form had expired; press “Sync roster now” again.", "warning")
        return back
    if not access.course.nrps_url:
        flash("This course's LMS did not offer its roster (no Names and Roles service), so there is nothing to "
              "sync. Ask your LMS administrator to allow the tool to read the course roster.", "danger")
        return back
    job = start_sync(db.session, access.membership)
    if job.status is JobStatus.failed:
        flash("The roster sync could not start." if job.error == QUEUE_DOWN
              else "The roster sync stopped before the end; what happened is below.", "danger")
    elif job.finished:
        flash("The roster was synced.", "success")
    else:
        flash("The roster sync has started; it goes on if you leave this page.", "info")
    return back


@bp.route("/jobs/<int:job_id>")
@program_page(staff=True)
def progress(access: Access, job_id: int):
    """The progress fragment the roster page polls (htmx); a whole page when opened without htmx."""
    job = get_sync(db.session, access, job_id)
    context = dict(access=access, course=access.course, job=job, form=ActionForm(), poll_seconds=POLL_SECONDS)
    if request.headers.get("HX-Request"):
        # 286 tells htmx to stop polling: the job is over and the fragment shows its outcome.
        return render_template("roster/_job.html", **context), 286 if job.finished else 200
    return render_template("roster/job.html", **context)
