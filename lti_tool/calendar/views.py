"""Calendar pages of a course (/c/<course_id>/calendar/...) and the public, token-guarded iCal feed."""
from __future__ import annotations

import re

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from markupsafe import Markup
from sqlalchemy import func, select
from wtforms import SelectChoice

from lti_tool.auth import require_course_role
from lti_tool.calendar import services
from lti_tool.calendar.forms import (ConfirmForm, DeleteMeetingForm, MeetingForm, MilestoneForm, SeriesForm,
                                     TimezoneForm)
from lti_tool.calendar.models import Meeting, MeetingKind, MeetingSeries
from lti_tool.calendar.services import CalendarInputError, Recurrence, Scope, SessionDetails
from lti_tool.db import db, utcnow
from lti_tool.errors import Forbidden, NotFound
from lti_tool.lti.deep_linking import PlaceableItem, register_target
from lti_tool.lti.models import Membership
from lti_tool.programs.models import Cohort, Program
from lti_tool.programs.services import ensure_program, is_lead

bp = Blueprint("calendar", __name__, url_prefix="/c/<int:course_id>/calendar")
feed_bp = Blueprint("calendar_feed", __name__)
blueprints = (bp, feed_bp)


# ---- helpers ----------------------------------------------------------------------------------------------

def _program(membership: Membership) -> Program:
    program = ensure_program(db.session, membership)
    if program is None:
        raise NotFound("This course's program is not set up yet. Come back once a facilitator has opened the tool.")
    if db.session.new or db.session.dirty:
        db.session.commit()
    return program


def _zones(program: Program, membership: Membership):
    return services.program_zone(program), services.viewer_zone(program, membership.user)


def _when(program_tz, viewer_tz):
    """A session's time for templates: each zone's part wraps as a whole on narrow screens."""
    def when(m: Meeting) -> Markup:
        program_text, viewer_text = services.describe_time_parts(m.starts_at, m.ends_at, program_tz, viewer_tz)
        html = Markup('<span class="cal-t">{}</span>').format(program_text)
        if viewer_text:
            html += Markup(' <span class="cal-t">({})</span>').format(viewer_text)
        return html
    return when


def _cohort_choices(program: Program, membership: Membership) -> list[SelectChoice]:
    """Where ``membership`` may add sessions: the whole program (leads) and the cohorts they manage."""
    managed = services.managed_cohort_ids(db.session, program, membership)
    cohorts = db.session.scalars(select(Cohort).where(Cohort.program_id == program.id).order_by(Cohort.name))
    choices = [SelectChoice(0, "The whole program (every cohort)")] if is_lead(program, membership) else []
    choices += [SelectChoice(c.id, c.name) for c in cohorts if managed is None or c.id in managed]
    if not choices:
        raise Forbidden("Only cohort facilitators and the program's leads can add sessions.")
    return choices


def _form_error(form, exc: CalendarInputError) -> None:
    field = getattr(form, exc.field, None) if exc.field else None
    if field is not None:
        field.errors = [*field.errors, exc.message] if isinstance(field.errors, list) else [exc.message]
    else:
        form.form_errors.append(exc.message)


def _details(form) -> SessionDetails:
    return SessionDetails(kind=MeetingKind(form.kind.data), title=form.title.data or "",
                          meeting_url=form.meeting_url.data or "", location=form.location.data or "",
                          agenda=form.agenda.data or "", cancelled=bool(getattr(form, "cancelled", None) and
                                                                        form.cancelled.data))


# ---- pages ------------------------------------------------------------------------------------------------

@bp.route("/")
@require_course_role()
def index(membership):
    """The sessions the viewer sees, upcoming first (or all with ?past=1), filterable by cohort."""
    program = _program(membership)
    program_tz, viewer_tz = _zones(program, membership)
    show_past = request.args.get("past") == "1"
    cohort_id = request.args.get("cohort", type=int) or None
    visible = services.visible_cohort_ids(db.session, program, membership)
    query = select(Cohort).where(Cohort.program_id == program.id).order_by(Cohort.name)
    if visible is not None:
        query = query.where(Cohort.id.in_(visible or [-1]))
    cohorts = list(db.session.scalars(query))
    if cohort_id is not None and cohort_id not in {c.id for c in cohorts}:
        cohort_id = None
    meetings = services.list_meetings(db.session, program, membership, cohort_id=cohort_id,
                                      since=None if show_past else utcnow())
    managed = services.managed_cohort_ids(db.session, program, membership)
    lead = is_lead(program, membership)

    def can_manage(m: Meeting) -> bool:
        return lead or (m.cohort_id is not None and managed is not None and m.cohort_id in managed)

    months: list[tuple[str, list[Meeting]]] = []
    for m in meetings:
        label = f"{m.starts_at.astimezone(program_tz):%B %Y}"
        if not months or months[-1][0] != label:
            months.append((label, []))
        months[-1][1].append(m)
    return render_template(
        "calendar/index.html", membership=membership, program=program, months=months, cohorts=cohorts,
        cohort_id=cohort_id, show_past=show_past, when=_when(program_tz, viewer_tz), can_manage=can_manage,
        can_add=lead or bool(managed), lead=lead, program_tz=program_tz, viewer_tz=viewer_tz, count=len(meetings),
    )


@bp.route("/timeline")
@require_course_role()
def timeline(membership):
    """The program's year as its pages show it: a numbered list of dates, milestones and sessions."""
    program = _program(membership)
    program_tz, viewer_tz = _zones(program, membership)
    entries = services.timeline(db.session, program, membership)
    return render_template("calendar/timeline.html", membership=membership, program=program, entries=entries,
                           when=_when(program_tz, viewer_tz), lead=is_lead(program, membership),
                           labels=services.MILESTONE_LABELS, confirm=ConfirmForm())


@bp.route("/sessions/new", methods=["GET", "POST"])
@require_course_role()
def new_meeting(membership):
    program = _program(membership)
    form = MeetingForm()
    form.cohort_id.choices = _cohort_choices(program, membership)
    if request.method == "GET" and request.args.get("cohort", type=int):
        form.cohort_id.data = request.args.get("cohort", type=int)
    if form.validate_on_submit():
        try:
            cohort = services.get_cohort(db.session, program, form.cohort_id.data)
            meeting = services.create_meeting(db.session, membership, program, cohort, _details(form),
                                              form.day.data, form.start_time.data, form.end_time.data)
        except CalendarInputError as exc:
            db.session.rollback()
            _form_error(form, exc)
        else:
            db.session.commit()
            flash(f"The session “{meeting.title}” was added.", "success")
            return redirect(url_for("calendar.meeting", course_id=program.course_id, meeting_id=meeting.id))
    return render_template("calendar/meeting_form.html", membership=membership, program=program, form=form,
                           meeting=None), (400 if form.errors or form.form_errors else 200)


@bp.route("/series/new", methods=["GET", "POST"])
@require_course_role()
def new_series(membership):
    program = _program(membership)
    form = SeriesForm()
    form.cohort_id.choices = _cohort_choices(program, membership)
    if form.validate_on_submit():
        recurrence = Recurrence(
            frequency=form.frequency.data, start_date=form.start_date.data, end_date=form.end_date.data,
            start_time=form.start_time.data, duration_minutes=form.duration_minutes.data,
            weekday=form.weekday.data, nth=form.nth.data, day_of_month=form.day_of_month.data or 1,
            interval=form.interval.data or 1)
        try:
            cohort = services.get_cohort(db.session, program, form.cohort_id.data)
            series = services.create_series(db.session, membership, program, cohort, _details(form), recurrence)
        except CalendarInputError as exc:
            db.session.rollback()
            _form_error(form, exc)
        else:
            count = db.session.scalar(select(func.count(Meeting.id)).where(Meeting.series_id == series.id))
            db.session.commit()
            flash(f"{count} sessions were added: {series.description}.", "success")
            return redirect(url_for("calendar.index", course_id=program.course_id,
                                    cohort=form.cohort_id.data or None))
    return render_template("calendar/series_form.html", membership=membership, program=program, form=form), \
        (400 if form.errors or form.form_errors else 200)


@bp.route("/sessions/<int:meeting_id>")
@require_course_role()
def meeting(membership, meeting_id: int):
    meeting = services.get_meeting(db.session, membership, meeting_id)
    program = meeting.program
    program_tz, viewer_tz = _zones(program, membership)
    series = db.session.get(MeetingSeries, meeting.series_id) if meeting.series_id else None
    return render_template("calendar/meeting.html", membership=membership, program=program, meeting=meeting,
                           series=series, when=_when(program_tz, viewer_tz),
                           can_manage=services.can_manage_meeting(db.session, meeting, membership))


@bp.route("/sessions/<int:meeting_id>.ics")
@require_course_role()
def meeting_ics(membership, meeting_id: int):
    meeting = services.get_meeting(db.session, membership, meeting_id)
    body = services.meetings_to_ical([meeting], meeting.program, host=request.host.split(":")[0],
                                     name=meeting.program.title, page_url=_page_url)
    filename = re.sub(r"[^A-Za-z0-9]+", "-", meeting.title).strip("-")[:60] or "session"
    return Response(body, mimetype="text/calendar",
                    headers={"Content-Disposition": f'attachment; filename="{filename}.ics"'})


def _page_url(meeting: Meeting) -> str:
    return url_for("calendar.meeting", course_id=meeting.program.course_id, meeting_id=meeting.id, _external=True)


def _local_fields(meeting: Meeting) -> dict:
    zone = services.program_zone(meeting.program)
    start, end = meeting.starts_at.astimezone(zone), meeting.ends_at.astimezone(zone)
    return {"day": start.date(), "start_time": start.time().replace(tzinfo=None),
            "end_time": end.time().replace(tzinfo=None)}


@bp.route("/sessions/<int:meeting_id>/edit", methods=["GET", "POST"])
@require_course_role()
def edit_meeting(membership, meeting_id: int):
    meeting = services.get_meeting(db.session, membership, meeting_id)
    program = meeting.program
    if not services.can_manage_meeting(db.session, meeting, membership):
        raise Forbidden("Only this cohort's facilitators and the program's leads can change its sessions.")
    form = MeetingForm(obj=meeting, data=_local_fields(meeting) if request.method == "GET" else None)
    del form.cohort_id   # a session stays with its cohort; the page names it
    if request.method == "GET":
        form.kind.data = meeting.kind.value
    if form.validate_on_submit():
        scope = form.scope.data if meeting.series_id else Scope.one
        try:
            changed = services.update_meeting(db.session, membership, meeting, _details(form), form.day.data,
                                              form.start_time.data, form.end_time.data, scope)
        except CalendarInputError as exc:
            db.session.rollback()
            _form_error(form, exc)
        else:
            db.session.commit()
            flash("The session was saved." if len(changed) == 1 else f"{len(changed)} sessions were saved.",
                  "success")
            return redirect(url_for("calendar.meeting", course_id=program.course_id, meeting_id=meeting.id))
    return render_template("calendar/meeting_form.html", membership=membership, program=program, form=form,
                           meeting=meeting), (400 if form.errors or form.form_errors else 200)


@bp.route("/sessions/<int:meeting_id>/delete", methods=["GET", "POST"])
@require_course_role()
def delete_meeting(membership, meeting_id: int):
    meeting = services.get_meeting(db.session, membership, meeting_id)
    program = meeting.program
    if not services.can_manage_meeting(db.session, meeting, membership):
        raise Forbidden("Only this cohort's facilitators and the program's leads can delete its sessions.")
    form = DeleteMeetingForm()
    if form.validate_on_submit():
        scope = form.scope.data if meeting.series_id else Scope.one
        try:
            count = services.delete_meeting(db.session, membership, meeting, scope)
        except CalendarInputError as exc:
            db.session.rollback()
            _form_error(form, exc)
        else:
            db.session.commit()
            flash("The session was deleted." if count == 1 else f"{count} sessions were deleted.", "success")
            return redirect(url_for("calendar.index", course_id=program.course_id))
    program_tz, viewer_tz = _zones(program, membership)
    return render_template("calendar/delete.html", membership=membership, program=program, meeting=meeting,
                           form=form, when=_when(program_tz, viewer_tz))


# ---- milestones -------------------------------------------------------------------------------------------

@bp.route("/milestones/new", methods=["GET", "POST"])
@bp.route("/milestones/<int:milestone_id>/edit", methods=["GET", "POST"])
@require_course_role()
def edit_milestone(membership, milestone_id: int | None = None):
    program = _program(membership)
    milestone = services.get_milestone(db.session, membership, milestone_id) if milestone_id else None
    if not is_lead(program, membership):
        raise Forbidden("Only the program's leads can change its milestones.")
    form = MilestoneForm(obj=milestone)
    if request.method == "GET" and milestone is not None:
        form.kind.data = milestone.kind.value
    if form.validate_on_submit():
        args = (form.kind.data, form.title.data or "", form.on_date.data, form.note.data or "")
        try:
            if milestone is None:
                services.create_milestone(db.session, membership, program, *args)
            else:
                services.update_milestone(db.session, membership, milestone, *args)
        except CalendarInputError as exc:
            db.session.rollback()
            _form_error(form, exc)
        else:
            db.session.commit()
            flash("The milestone was saved.", "success")
            return redirect(url_for("calendar.timeline", course_id=program.course_id))
    return render_template("calendar/milestone_form.html", membership=membership, program=program, form=form,
                           milestone=milestone), (400 if form.errors or form.form_errors else 200)


@bp.route("/milestones/<int:milestone_id>/delete", methods=["POST"])
@require_course_role()
def delete_milestone(membership, milestone_id: int):
    milestone = services.get_milestone(db.session, membership, milestone_id)
    form = ConfirmForm()
    if not form.validate_on_submit():
        raise Forbidden("The form has expired. Reload the page and try again.")
    services.delete_milestone(db.session, membership, milestone)
    db.session.commit()
    flash(f"The milestone “{milestone.title}” was deleted.", "success")
    return redirect(url_for("calendar.timeline", course_id=milestone.program.course_id))


# ---- the viewer's time zone and feeds ----------------------------------------------------------------------

@bp.route("/timezone", methods=["GET", "POST"])
@require_course_role()
def timezone(membership):
    program = _program(membership)
    form = TimezoneForm(data={"timezone": membership.user.timezone} if request.method == "GET" else None)
    if form.validate_on_submit():
        try:
            services.set_user_timezone(db.session, membership.user, form.timezone.data or "")
        except CalendarInputError as exc:
            db.session.rollback()
            _form_error(form, exc)
        else:
            db.session.commit()
            zone = membership.user.timezone or f"the program's zone ({program.timezone})"
            flash(f"Times are now shown in {zone}.", "success")
            return redirect(url_for("calendar.index", course_id=program.course_id))
    return render_template("calendar/timezone.html", membership=membership, program=program, form=form,
                           zones=services.timezone_names()), (400 if form.errors or form.form_errors else 200)


@bp.route("/subscribe")
@require_course_role()
def subscribe(membership):
    program = _program(membership)
    token = services.feed_token(db.session, membership)
    if token is None and not services.has_revoked_token(db.session, membership):
        token = services.feed_token(db.session, membership, create=True)   # the first visit makes one
        db.session.commit()
    feed_url = url_for("calendar_feed.feed", token=token.token, _external=True) if token else None
    webcal_url = re.sub(r"^https?://", "webcal://", feed_url) if feed_url else None
    return render_template("calendar/subscribe.html", membership=membership, program=program, feed_url=feed_url,
                           webcal_url=webcal_url, form=ConfirmForm())


@bp.route("/subscribe/regenerate", methods=["POST"])
@require_course_role()
def regenerate(membership):
    if not ConfirmForm().validate_on_submit():
        raise Forbidden("The form has expired. Reload the page and try again.")
    services.regenerate_feed_token(db.session, membership)
    db.session.commit()
    flash("You have a new calendar address. The old one no longer works: subscribe again with the new one.",
          "success")
    return redirect(url_for("calendar.subscribe", course_id=membership.course_id))


@bp.route("/subscribe/revoke", methods=["POST"])
@require_course_role()
def revoke(membership):
    if not ConfirmForm().validate_on_submit():
        raise Forbidden("The form has expired. Reload the page and try again.")
    services.revoke_feed_token(db.session, membership)
    db.session.commit()
    flash("Your calendar address was turned off. Calendars subscribed to it stop updating.", "success")
    return redirect(url_for("calendar.index", course_id=membership.course_id))


@feed_bp.route("/calendar/feed/<token>.ics")
def feed(token: str):
    """A person's sessions as iCalendar, for Google, Outlook or Apple Calendar to poll. No login: the
    token in the URL is the key, so it is long, random, and revocable."""
    membership, program, meetings = services.feed_for_token(db.session, token)
    body = services.meetings_to_ical(meetings, program, host=request.host.split(":")[0],
                                     name=f"{program.title}", page_url=_page_url)
    return Response(body, mimetype="text/calendar", headers={"Cache-Control": "private, max-age=300"})


# ---- deep linking -----------------------------------------------------------------------------------------

def _calendar_items(course, membership) -> list[PlaceableItem]:
    return [PlaceableItem("calendar", "Communities of Practice: calendar",
                          "Every live session of the program and its cohorts, with join links and a "
                          "calendar feed.")]


register_target("calendar", _calendar_items,
                lambda course_id, _ident: url_for("calendar.index", course_id=course_id))
