"""Calendar pages of a course (/c/<course_id>/calendar/...) and the public, token-guarded iCal feed."""
from __future__ import annotations

import re

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from wtforms import SelectChoice

from lti_tool.calendar import formats, queries, writes
from lti_tool.calendar.forms import (DeleteMeetingForm, MeetingForm, MilestoneForm, SeriesForm,
                                     TimezoneForm)
from lti_tool.calendar.models import Meeting, MeetingKind
from lti_tool.calendar.writes import Recurrence, Scope, SessionDetails
from lti_tool.course import zones
from lti_tool.course.access import Access
from lti_tool.course.forms import ActionForm, form_status, saved, show_error
from lti_tool.course.pages import program_page
from lti_tool.db import db, utcnow
from lti_tool.errors import InvalidInput
from lti_tool.lti.deep_linking import PlaceableItem, register_target
from lti_tool.programs.queries import get_cohort

bp = Blueprint("calendar", __name__, url_prefix="/c/<int:course_id>/calendar")
feed_bp = Blueprint("calendar_feed", __name__)
blueprints = (bp, feed_bp)


# ---- helpers ------------------------------------------------------------------------------------------------

def _cohort_choices(access: Access) -> list[SelectChoice]:
    """Where the viewer may add sessions: the whole program (leads) and the cohorts they manage."""
    choices = [SelectChoice(0, "The whole program (every cohort)")] if access.lead else []
    return choices + [SelectChoice(c.id, c.name) for c in queries.schedulable_cohorts(db.session, access)]


def _chosen_cohort(access: Access, form):
    return get_cohort(db.session, access, form.cohort_id.data) if form.cohort_id.data else None


def _details(form) -> SessionDetails:
    return SessionDetails(kind=MeetingKind(form.kind.data), title=form.title.data or "",
                          meeting_url=form.meeting_url.data or "", location=form.location.data or "",
                          agenda=form.agenda.data or "", cancelled=bool(getattr(form, "cancelled", None) and
                                                                        form.cancelled.data),
                          break_minutes=form.break_minutes.data or 0)


def _page_url(meeting: Meeting) -> str:
    return url_for("calendar.meeting", course_id=meeting.program.course_id, meeting_id=meeting.id, _external=True)


# ---- pages --------------------------------------------------------------------------------------------------

@bp.route("/")
@program_page()
def index(access: Access):
    """The sessions the viewer sees, upcoming first (or all with ?past=1), filterable by cohort."""
    show_past = request.args.get("past") == "1"
    page = queries.sessions_page(db.session, access, cohort_id=request.args.get("cohort", type=int) or None,
                                 since=None if show_past else utcnow())
    return render_template("calendar/index.html", access=access, program=access.program, page=page,
                           show_past=show_past)


@bp.route("/timeline")
@program_page()
def timeline(access: Access):
    """The program's year as its pages show it: a numbered list of dates, milestones and sessions."""
    return render_template("calendar/timeline.html", program=access.program, lead=access.lead,
                           entries=queries.timeline(db.session, access), confirm=ActionForm())


@bp.route("/sessions/new", methods=["GET", "POST"])
@program_page(manager=True)
def new_meeting(access: Access):
    form = MeetingForm()
    form.cohort_id.choices = _cohort_choices(access)
    if request.method == "GET" and request.args.get("cohort", type=int):
        form.cohort_id.data = request.args.get("cohort", type=int)
    done = saved(form, lambda: writes.create_meeting(db.session, access, _chosen_cohort(access, form), _details(form),
                                        form.day.data, form.start_time.data, form.end_time.data),
                 lambda meeting: f"The session “{meeting.title}” was added.",
                 lambda meeting: url_for("calendar.meeting", course_id=access.course_id, meeting_id=meeting.id))
    if done is not None:
        return done
    return render_template("calendar/meeting_form.html", program=access.program, form=form, meeting=None), \
        form_status(form)


@bp.route("/series/new", methods=["GET", "POST"])
@program_page(manager=True)
def new_series(access: Access):
    form = SeriesForm()
    form.cohort_id.choices = _cohort_choices(access)
    if form.validate_on_submit():
        recurrence = Recurrence(
            frequency=form.frequency.data, start_date=form.start_date.data, end_date=form.end_date.data,
            start_time=form.start_time.data, duration_minutes=form.duration_minutes.data,
            weekday=form.weekday.data, nth=form.nth.data, day_of_month=form.day_of_month.data or 1,
            interval=form.interval.data or 1)
        try:
            series, count = writes.create_series(db.session, access, _chosen_cohort(access, form), _details(form),
                                                 recurrence)
        except InvalidInput as exc:
            show_error(form, exc)
        else:
            db.session.commit()
            flash(f"{count} sessions were added: {series.description}.", "success")
            return redirect(url_for("calendar.index", course_id=access.course_id,
                                    cohort=form.cohort_id.data or None))
    return render_template("calendar/series_form.html", program=access.program, form=form), form_status(form)


@bp.route("/sessions/<int:meeting_id>")
@program_page()
def meeting(access: Access, meeting_id: int):
    meeting = queries.get_meeting(db.session, access, meeting_id)
    return render_template("calendar/meeting.html", program=meeting.program, meeting=meeting,
                           can_manage=access.manages(meeting.cohort))


@bp.route("/sessions/<int:meeting_id>.ics")
@program_page()
def meeting_ics(access: Access, meeting_id: int):
    meeting = queries.get_meeting(db.session, access, meeting_id)
    body = formats.meetings_to_ical([meeting], meeting.program, host=request.host.split(":")[0],
                                    name=meeting.program.title, page_url=_page_url)
    filename = re.sub(r"[^A-Za-z0-9]+", "-", meeting.title).strip("-")[:60] or "session"
    return Response(body, mimetype="text/calendar",
                    headers={"Content-Disposition": f'attachment; filename="{filename}.ics"'})


@bp.route("/sessions/<int:meeting_id>/edit", methods=["GET", "POST"])
@program_page()
def edit_meeting(access: Access, meeting_id: int):
    meeting = queries.get_meeting(db.session, access, meeting_id)
    access.require_manager(meeting.cohort, "change sessions")
    data = None
    if request.method == "GET":
        start = zones.form_value(access.program_zone, meeting.starts_at)
        end = zones.form_value(access.program_zone, meeting.ends_at)
        data = {"day": start.date(), "start_time": start.time(), "end_time": end.time()}
    form = MeetingForm(obj=meeting, data=data)
    del form.cohort_id   # a session stays with its cohort; the page names it
    if request.method == "GET":
        form.kind.data = meeting.kind.value
    if form.validate_on_submit():
        scope = form.scope.data if meeting.series_id else Scope.one
        try:
            changed = writes.update_meeting(db.session, access, meeting, _details(form), form.day.data,
                                            form.start_time.data, form.end_time.data, scope)
        except InvalidInput as exc:
            show_error(form, exc)
        else:
            db.session.commit()
            flash("The session was saved." if len(changed) == 1 else f"{len(changed)} sessions were saved.",
                  "success")
            return redirect(url_for("calendar.meeting", course_id=access.course_id, meeting_id=meeting_id))
    return render_template("calendar/meeting_form.html", program=access.program, form=form, meeting=meeting), \
        form_status(form)


@bp.route("/sessions/<int:meeting_id>/delete", methods=["GET", "POST"])
@program_page()
def delete_meeting(access: Access, meeting_id: int):
    meeting = queries.get_meeting(db.session, access, meeting_id)
    access.require_manager(meeting.cohort, "delete sessions")
    form = DeleteMeetingForm()
    if form.validate_on_submit():
        scope = form.scope.data if meeting.series_id else Scope.one
        try:
            count = writes.delete_meeting(db.session, access, meeting, scope)
        except InvalidInput as exc:
            show_error(form, exc)
        else:
            db.session.commit()
            flash("The session was deleted." if count == 1 else f"{count} sessions were deleted.", "success")
            return redirect(url_for("calendar.index", course_id=access.course_id))
    return render_template("calendar/delete.html", program=access.program, meeting=meeting, form=form)


# ---- milestones ---------------------------------------------------------------------------------------------

@bp.route("/milestones/new", methods=["GET", "POST"])
@bp.route("/milestones/<int:milestone_id>/edit", methods=["GET", "POST"])
@program_page(lead=True)
def edit_milestone(access: Access, milestone_id: int | None = None):
    milestone = queries.get_milestone(db.session, access, milestone_id) if milestone_id else None
    form = MilestoneForm(obj=milestone)
    if request.method == "GET" and milestone is not None:
        form.kind.data = milestone.kind.value
    if form.validate_on_submit():
        args = (form.kind.data, form.title.data or "", form.on_date.data, form.note.data or "")
        try:
            if milestone is None:
                writes.create_milestone(db.session, access, *args)
            else:
                writes.update_milestone(db.session, access, milestone, *args)
        except InvalidInput as exc:
            show_error(form, exc)
        else:
            db.session.commit()
            flash("The milestone was saved.", "success")
            return redirect(url_for("calendar.timeline", course_id=access.course_id))
    return render_template("calendar/milestone_form.html", program=access.program, form=form,
                           milestone=milestone), form_status(form)


@bp.route("/milestones/<int:milestone_id>/delete", methods=["POST"])
@program_page(lead=True)
def delete_milestone(access: Access, milestone_id: int):
    milestone = queries.get_milestone(db.session, access, milestone_id)
    title = milestone.title
    writes.delete_milestone(db.session, access, milestone)
    db.session.commit()
    flash(f"The milestone “{title}” was deleted.", "success")
    return redirect(url_for("calendar.timeline", course_id=access.course_id))


# ---- the viewer's time zone and feeds -----------------------------------------------------------------------

@bp.route("/timezone", methods=["GET", "POST"])
@program_page()
def timezone(access: Access):
    program = access.program
    form = TimezoneForm(data={"timezone": access.user.timezone} if request.method == "GET" else None)
    if form.validate_on_submit():
        try:
            writes.set_user_timezone(db.session, access.user, form.timezone.data or "")
        except InvalidInput as exc:
            show_error(form, exc)
        else:
            db.session.commit()
            zone = access.user.timezone or f"the program's zone ({program.timezone})"
            flash(f"Times are now shown in {zone}.", "success")
            return redirect(url_for("calendar.index", course_id=access.course_id))
    return render_template("calendar/timezone.html", program=program, form=form,
                           zones=zones.timezone_names()), form_status(form)


@bp.route("/subscribe")
@program_page()
def subscribe(access: Access):
    token = queries.current_feed_token(db.session, access.membership)
    if token is None and not queries.has_revoked_token(db.session, access.membership):
        token = writes.issue_feed_token(db.session, access.membership)   # the first visit makes one
        db.session.commit()
    feed_url = url_for("calendar_feed.feed", token=token.token, _external=True) if token else None
    webcal_url = re.sub(r"^https?://", "webcal://", feed_url) if feed_url else None
    return render_template("calendar/subscribe.html", program=access.program, feed_url=feed_url,
                           webcal_url=webcal_url, form=ActionForm())


@bp.route("/subscribe/regenerate", methods=["POST"])
@program_page()
def regenerate(access: Access):
    writes.regenerate_feed_token(db.session, access.membership)
    db.session.commit()
    flash("You have a new calendar address. The old one no longer works: subscribe again with the new one.",
          "success")
    return redirect(url_for("calendar.subscribe", course_id=access.course_id))


@bp.route("/subscribe/revoke", methods=["POST"])
@program_page()
def revoke(access: Access):
    writes.revoke_feed_token(db.session, access.membership)
    db.session.commit()
    flash("Your calendar address was turned off. Calendars subscribed to it stop updating.", "success")
    return redirect(url_for("calendar.index", course_id=access.course_id))


@feed_bp.route("/calendar/feed/<token>.ics")
def feed(token: str):
    """A person's sessions as iCalendar, for Google, Outlook or Apple Calendar to poll. No login: the
    token in the URL is the key, so it is long, random, and revocable."""
    owner, meetings = formats.feed_for_token(db.session, token)
    body = formats.meetings_to_ical(meetings, owner.program, host=request.host.split(":")[0],
                                    name=owner.program.title, page_url=_page_url)
    return Response(body, mimetype="text/calendar", headers={"Cache-Control": "private, max-age=300"})


# ---- deep linking -------------------------------------------------------------------------------------------

def _calendar_items(course, membership) -> list[PlaceableItem]:
    return [PlaceableItem("calendar", "Communities of Practice: calendar",
                          "Every live session of the program and its cohorts, with join links and a "
                          "calendar feed.")]


register_target("calendar", _calendar_items,
                lambda course_id, _ident: url_for("calendar.index", course_id=course_id))
