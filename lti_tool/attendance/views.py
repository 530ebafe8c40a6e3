"""Attendance pages of a course (/c/<course_id>/attendance/...): the quick roll, the check-in screen and the
participant's check-in, the cohort page and grid, personal records, the program summary, CSV exports, the
Zoom/Teams import with its review, make-ups, and the lead's settings.

Every page is loaded by ``program_page`` (``lti_tool.course.pages``). A cohort's pages are for those who
manage it: ``manager=True`` lets in leads and cohort facilitators (whatever their LMS role), and the queries
and writes then refuse a cohort they do not manage."""
from __future__ import annotations

import functools
import io
from typing import Callable

from flask import Blueprint, Response, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy.orm import Session
from wtforms import SelectChoice

from lti_tool.attendance import formats, queries, writes
from lti_tool.attendance.forms import (CheckInForm, ImportForm, MakeUpAssignForm, MakeUpReviewForm,
                                       MakeUpSubmitForm, MinutesForm, NewStatusForm, RequirementForm, SettingsForm,
                                       StatusForm)
from lti_tool.attendance.models import ExcusedPolicy, MakeUpStatus, StatusKind
from lti_tool.attendance.permissions import CheckInRefused, WrongCode
from lti_tool.calendar.models import Meeting
from lti_tool.course.access import Access
from lti_tool.course.csvfile import csv_response
from lti_tool.course.forms import ActionForm, form_status, saved, show_error
from lti_tool.course.pages import program_page
from lti_tool.db import db
from lti_tool.errors import DomainError, InvalidInput
from lti_tool.extensions import rate_limit
from lti_tool.programs.models import Cohort, Program
from lti_tool.programs.queries import get_cohort, managed_cohorts

bp = Blueprint("attendance", __name__, url_prefix="/c/<int:course_id>/attendance")

# How status kinds look: a colour class that only repeats the written status.
KIND_CLASS = {StatusKind.present: "att-present", StatusKind.late: "att-late", StatusKind.excused: "att-excused",
              StatusKind.absent: "att-absent", StatusKind.made_up: "att-madeup"}
STATE_KIND = {"met": "success", "on_track": "info", "at_risk": "warning", "cannot_meet": "danger",
              "no_rule": "neutral"}


def _first_visit(session: Session, program: Program) -> None:
    """The program's default statuses, made at the first visit of an attendance page (INSERT … ON CONFLICT, so
    that two first visits at once make them once); the page loader commits them with the program."""
    writes.create_default_statuses(session, program)


page = functools.partial(program_page, setup=[_first_visit])


def _render(template: str, access: Access, **context) -> str:
    return render_template(template, access=access, program=access.program, kind_class=KIND_CLASS,
                           state_kind=STATE_KIND, **context)


def _no_store(body) -> Response:
    response = Response(body)
    response.headers["Cache-Control"] = "no-store"
    return response


# ---- home and cohort pages -------------------------------------------------------------------------------------

@bp.route("/")
@page()
def home(access):
    """Those who manage cohorts: their cohorts; participants: their own record."""
    cohorts = managed_cohorts(db.session, access)
    if not cohorts and access.is_participant:
        return redirect(url_for(".person", course_id=access.course_id, membership_id=access.id))
    return _render("attendance/home.html", access, cohorts=cohorts)


@bp.route("/cohorts/<int:cohort_id>")
@page(manager=True)
def cohort(access, cohort_id):
    """A cohort's sessions (roll, check-in, import), its people with their standing (at risk flagged in words),
    and make-ups waiting for review."""
    cohort = get_cohort(db.session, access, cohort_id)
    grid = queries.cohort_grid(db.session, access, cohort)
    makeups = queries.makeups_to_review(db.session, access, cohort)
    return _render("attendance/cohort.html", access, cohort=cohort, grid=grid, makeups=makeups)


@bp.route("/cohorts/<int:cohort_id>/grid")
@page(manager=True)
def grid(access, cohort_id):
    cohort = get_cohort(db.session, access, cohort_id)
    grid = queries.cohort_grid(db.session, access, cohort)
    return _render("attendance/grid.html", access, cohort=cohort, grid=grid)


@bp.route("/cohorts/<int:cohort_id>/grid.csv")
@page(manager=True)
def grid_csv(access, cohort_id):
    cohort = get_cohort(db.session, access, cohort_id)
    grid = queries.cohort_grid(db.session, access, cohort)
    return csv_response(formats.grid_rows(grid, access.zone), f"attendance-{cohort.id}.csv")


# ---- quick roll -------------------------------------------------------------------------------------------------

def _roll_target(access: Access, meeting_id: int, required: bool = False) -> tuple[Meeting, Cohort | None]:
    """The session and the cohort whose roll is taken (``?cohort=``; None for a program-wide session when none
    is chosen, unless ``required``)."""
    meeting = queries.get_meeting(db.session, access, meeting_id)
    cohort_id = request.values.get("cohort", type=int)
    if meeting.cohort_id is None and not cohort_id:
        if required:
            raise InvalidInput("Choose the cohort whose roll you take.", "cohort")
        return meeting, None
    return meeting, queries.roll_cohort(db.session, access, meeting, cohort_id)


def _choose_cohort(access: Access, meeting: Meeting, endpoint: str) -> str:
    return _render("attendance/choose_cohort.html", access, meeting=meeting, endpoint=endpoint,
                   cohorts=managed_cohorts(db.session, access))


@bp.route("/meetings/<int:meeting_id>/roll", methods=["GET", "POST"])
@page(manager=True)
def roll(access, meeting_id):
    """The quick roll. With JavaScript each change is saved at once (see ``mark``); without it this form saves
    every row together."""
    meeting, cohort = _roll_target(access, meeting_id)
    if cohort is None:
        return _choose_cohort(access, meeting, ".roll")
    form = ActionForm()
    status_code = 200
    if request.method == "POST" and form.validate_on_submit():
        sheet = queries.roll_sheet(db.session, access, meeting, cohort)
        changed = 0
        try:
            for seat in sheet.members:
                key = request.form.get(f"status-{seat.membership_id}", "").strip()
                note = request.form.get(f"note-{seat.membership_id}")
                if not key:
                    continue
                record = sheet.records.get(seat.membership_id)
                before = (record.status_id, record.note) if record else None
                saved = writes.mark_attendance(db.session, access, meeting, cohort, seat.membership_id, key, note)
                changed += before != (saved.status_id, saved.note)
        except DomainError as exc:
            db.session.rollback()
            flash(f"Nothing was saved: {exc.message}", "error")
            status_code = 400
        else:
            db.session.commit()
            flash(f"Attendance saved ({changed} changed).", "success")
            return redirect(url_for(".roll", course_id=access.course_id, meeting_id=meeting.id, cohort=cohort.id))
    sheet = queries.roll_sheet(db.session, access, meeting, cohort)
    return _render("attendance/roll.html", access, meeting=meeting, cohort=cohort, sheet=sheet,
                   form=form), status_code


@bp.route("/meetings/<int:meeting_id>/mark", methods=["POST"])
@page(manager=True)
def mark(access, meeting_id):
    """One change from the quick roll (fetch with the CSRF header): answers JSON, or redirects without JS."""
    meeting, cohort = _roll_target(access, meeting_id, required=True)
    membership_id = request.form.get("membership_id", type=int)
    key = request.form.get("status", "")
    note = request.form.get("note")
    if membership_id is None:
        raise InvalidInput("Say whom to mark.", "membership_id")
    if key:
        record = writes.mark_attendance(db.session, access, meeting, cohort, membership_id, key, note)
    else:
        record = writes.set_note(db.session, access, meeting, cohort, membership_id, note or "")
    db.session.commit()
    if request.accept_mimetypes.best == "application/json" or request.headers.get("X-Requested-With"):
        return jsonify(ok=True, membership_id=membership_id, status=record.status.key, label=record.status.label,
                       note=record.note, marked_at=record.marked_at.isoformat())
    flash(f"Saved: {record.status.label}.", "success")
    return redirect(url_for(".roll", course_id=access.course_id, meeting_id=meeting.id, cohort=cohort.id))


# ---- self check-in ------------------------------------------------------------------------------------------------

def _checkin_url(access: Access, meeting: Meeting, code: str) -> str:
    return url_for(".check_in", course_id=access.course_id, meeting_id=meeting.id, code=code, _external=True)


@bp.route("/meetings/<int:meeting_id>/checkin/screen")
@page(manager=True)
def checkin_screen(access, meeting_id):
    """What the facilitator shows: the rotating code, its QR code, and who has checked in."""
    meeting, cohort = _roll_target(access, meeting_id)
    if cohort is None:
        return _choose_cohort(access, meeting, ".checkin_screen")
    return _render("attendance/checkin_screen.html", access, meeting=meeting, cohort=cohort,
                   screen=queries.checkin_screen(db.session, access, meeting, cohort),
                   arrivals=queries.checked_in(db.session, access, meeting, cohort))


@bp.route("/meetings/<int:meeting_id>/checkin/code")
@page(manager=True)
def checkin_code(access, meeting_id):
    meeting, cohort = _roll_target(access, meeting_id, required=True)
    screen = queries.checkin_screen(db.session, access, meeting, cohort)
    return _no_store(_render("attendance/_checkin_code.html", access, meeting=meeting, cohort=cohort, screen=screen))


@bp.route("/meetings/<int:meeting_id>/checkin/list")
@page(manager=True)
def checkin_list(access, meeting_id):
    meeting, cohort = _roll_target(access, meeting_id, required=True)
    arrivals = queries.checked_in(db.session, access, meeting, cohort)
    return _no_store(_render("attendance/_checkin_list.html", access, arrivals=arrivals))


@bp.route("/meetings/<int:meeting_id>/checkin/qr.svg")
@page(manager=True)
def checkin_qr(access, meeting_id):
    """The QR code of the check-in URL with the current code, as SVG (no JavaScript needed)."""
    import segno

    meeting, cohort = _roll_target(access, meeting_id, required=True)
    screen = queries.checkin_screen(db.session, access, meeting, cohort)
    out = io.BytesIO()
    segno.make(_checkin_url(access, meeting, screen.code), error="m").save(
        out, kind="svg", scale=6, border=2, xmldecl=False, svgclass=None, lineclass=None,
        title="QR code for checking in")
    return Response(out.getvalue(), mimetype="image/svg+xml", headers={"Cache-Control": "no-store"})


def _checkin_limit() -> str:
    return current_app.config.get("ATTENDANCE_CHECKIN_RATE_LIMIT", "10 per 5 minutes")


def _checkin_key() -> str:
    return f"attendance-checkin:{current_user.get_id() if current_user.is_authenticated else request.remote_addr}"


@bp.route("/meetings/<int:meeting_id>/checkin", methods=["GET", "POST"])
@rate_limit(_checkin_limit, key_func=_checkin_key, methods=["POST"], deduct_when=lambda r: r.status_code == 400,
            error_message="Too many wrong codes. Wait a few minutes, then type the code showing on the screen.")
@page()
def check_in(access, meeting_id):
    """A participant types (or scans) the code; they are marked under their own LMS identity."""
    meeting = queries.get_meeting(db.session, access, meeting_id)
    form = CheckInForm()
    if request.method == "GET" and request.args.get("code"):
        form.code.data = request.args["code"][:12]
    status_code = 200
    if form.validate_on_submit():
        try:
            record = writes.check_in(db.session, access, meeting, form.code.data)
        except (WrongCode, CheckInRefused) as exc:      # a wrong code goes on the code field, a refusal on the form
            show_error(form, exc)
            status_code = exc.status
        else:
            db.session.commit()
            flash(f"You are checked in: {record.status.label}.", "success")
            return redirect(url_for(".person", course_id=access.course_id, membership_id=access.id))
    elif request.method == "POST":
        status_code = 400
    return _render("attendance/check_in.html", access, meeting=meeting, form=form), status_code


# ---- personal record, summary -----------------------------------------------------------------------------------

@bp.route("/me")
@page()
def me(access):
    return redirect(url_for(".person", course_id=access.course_id, membership_id=access.id))


@bp.route("/people/<int:membership_id>")
@page()
def person(access, membership_id):
    record = queries.personal_record(db.session, access, membership_id)
    return _render("attendance/person.html", access, record=record, own=membership_id == access.id)


@bp.route("/people/<int:membership_id>.csv")
@page()
def person_csv(access, membership_id):
    record = queries.personal_record(db.session, access, membership_id)
    return csv_response(formats.personal_rows(record, access.zone), f"attendance-person-{membership_id}.csv")


def _history_page(access: Access, record_id: int, minutes_form: MinutesForm | None = None, status_code: int = 200):
    record, cohort = queries.record_for_manager(db.session, access, record_id)
    if minutes_form is None:
        minutes_form = MinutesForm(formdata=None, data={"minutes": record.minutes})
    return _render("attendance/history.html", access, record=record, cohort=cohort, minutes_form=minutes_form,
                   changes=queries.history(db.session, record)), status_code


@bp.route("/records/<int:record_id>/history")
@page(manager=True)
def record_history(access, record_id):
    return _history_page(access, record_id)


@bp.route("/records/<int:record_id>/minutes", methods=["POST"])
@page(manager=True)
def record_minutes(access, record_id):
    """Correct the live minutes of a record (PD hours): the minutes attended, or when they left early."""
    record, _cohort = queries.record_for_manager(db.session, access, record_id)
    form = MinutesForm()
    if form.validate_on_submit():
        from lti_tool.course.zones import local_to_utc

        left_at = None
        if form.left_at.data is not None:
            day = record.meeting.starts_at.astimezone(access.program_zone).date()
            left_at = local_to_utc(access.program_zone, day, form.left_at.data)
        try:
            writes.set_minutes(db.session, access, record.id, minutes=form.minutes.data, left_at=left_at)
        except InvalidInput as exc:
            show_error(form, exc)
        else:
            db.session.commit()
            flash("Minutes saved.", "success")
            return redirect(url_for(".record_history", course_id=access.course_id, record_id=record.id))
    return _history_page(access, record_id, form, 400)


@bp.route("/summary")
@page(manager=True)
def summary(access):
    return _render("attendance/summary.html", access, rows=queries.program_summary(db.session, access))


@bp.route("/summary.csv")
@page(manager=True)
def summary_csv(access):
    rows = queries.program_summary(db.session, access)
    return csv_response(formats.summary_rows(rows), "attendance-summary.csv")


# ---- import -------------------------------------------------------------------------------------------------------

@bp.route("/meetings/<int:meeting_id>/import", methods=["GET", "POST"])
@page(manager=True)
def import_report(access, meeting_id):
    """Upload a Zoom or Teams participant report; the next page shows what would be saved."""
    meeting, cohort = _roll_target(access, meeting_id)
    if cohort is None:
        return _choose_cohort(access, meeting, ".import_report")
    form = ImportForm()
    if form.validate_on_submit():
        try:
            report = formats.parse_participant_report(form.file.data.read())
            review = formats.review_import(db.session, access, meeting, cohort, report)
        except InvalidInput as exc:
            show_error(form, exc)
        else:
            return _render("attendance/import_review.html", access, meeting=meeting, cohort=cohort, review=review,
                           confirm=ActionForm())
    return _render("attendance/import.html", access, meeting=meeting, cohort=cohort,
                   form=form), 400 if form.errors or form.form_errors else 200


@bp.route("/meetings/<int:meeting_id>/import/confirm", methods=["POST"])
@page(manager=True)
def import_confirm(access, meeting_id):
    meeting, cohort = _roll_target(access, meeting_id, required=True)
    form = ActionForm()
    if not form.validate_on_submit():
        raise InvalidInput("The form expired; upload the report again.")
    decisions, minutes = {}, {}
    for name, value in request.form.items():
        if name.startswith("status-") and name[7:].isdigit() and value:
            decisions[int(name[7:])] = value
        elif name.startswith("minutes-") and name[8:].isdigit() and value:
            try:
                minutes[int(name[8:])] = float(value)
            except ValueError:
                raise InvalidInput("The report's minutes were changed in the page; upload it again.") from None
    try:
        changed = writes.apply_import(db.session, access, meeting, cohort, decisions,
                                      {k: v for k, v in minutes.items() if k in decisions})
    except DomainError as exc:
        db.session.rollback()
        flash(f"Nothing was imported: {exc.message}", "error")
        return redirect(url_for(".import_report", course_id=access.course_id, meeting_id=meeting.id,
                                cohort=cohort.id))
    db.session.commit()
    flash(f"Imported {len(decisions)} people ({changed} changed).", "success")
    return redirect(url_for(".roll", course_id=access.course_id, meeting_id=meeting.id, cohort=cohort.id))


# ---- make-ups -------------------------------------------------------------------------------------------------------

@bp.route("/records/<int:record_id>/makeup", methods=["GET", "POST"])
@page(manager=True)
def assign_makeup(access, record_id):
    record, cohort = queries.record_for_manager(db.session, access, record_id)
    form = MakeUpAssignForm()
    done = saved(form, lambda: writes.assign_makeup(db.session, access, record_id, form.task.data, form.due_on.data, form.minutes.data),
                 "Make-up task given.",
                 url_for(".person", course_id=access.course_id, membership_id=record.membership_id))
    if done is not None:
        return done
    return _render("attendance/makeup_assign.html", access, record=record, cohort=cohort, form=form)


@bp.route("/makeups/<int:makeup_id>", methods=["GET", "POST"])
@page()
def makeup(access, makeup_id):
    """The participant hands in their work; the facilitator approves it or returns it with a note."""
    makeup, reviewer = queries.get_makeup(db.session, access, makeup_id)
    submit_form, review_form = MakeUpSubmitForm(prefix="work"), MakeUpReviewForm(prefix="review")
    if request.method == "POST":
        try:
            if reviewer and review_form.validate_on_submit():
                approve = request.form.get("decision") == "approve"
                writes.review_makeup(db.session, access, makeup, approve, review_form.note.data or "")
                db.session.commit()
                flash("Approved: the session now counts as made up." if approve else "Returned with your note.",
                      "success")
                return redirect(url_for(".makeup", course_id=access.course_id, makeup_id=makeup.id))
            if not reviewer and submit_form.validate_on_submit():
                writes.submit_makeup(db.session, access, makeup, submit_form.work.data)
                db.session.commit()
                flash("Your work was handed in.", "success")
                return redirect(url_for(".makeup", course_id=access.course_id, makeup_id=makeup.id))
        except InvalidInput as exc:
            show_error(review_form if reviewer else submit_form, exc)
    return _render("attendance/makeup.html", access, makeup=makeup, reviewer=reviewer, submit_form=submit_form,
                   review_form=review_form, MakeUpStatus=MakeUpStatus), form_status()


# ---- settings (leads) ----------------------------------------------------------------------------------------------

def _cohort_choices(cohorts: list[Cohort]) -> list[SelectChoice]:
    return [SelectChoice(0, "The whole program")] + [SelectChoice(c.id, c.name) for c in cohorts]


def _settings_page(access: Access, status_code: int = 200, *, edited: tuple[int, StatusForm] | None = None,
                   new_status: NewStatusForm | None = None, settings_form: SettingsForm | None = None,
                   requirement_form: RequirementForm | None = None):
    """The settings page, with the form that failed (if any) showing what was typed and its errors."""
    data = queries.settings_page(db.session, access)
    status_forms = {s.id: StatusForm(prefix=f"s{s.id}", formdata=None, obj=s) for s in data.statuses}
    if edited is not None:
        status_forms[edited[0]] = edited[1]
    requirement_form = requirement_form or RequirementForm(formdata=None)
    requirement_form.cohort_id.choices = _cohort_choices(data.cohorts)
    return _render("attendance/settings.html", access, statuses=data.statuses, status_forms=status_forms,
                   new_status=new_status or NewStatusForm(prefix="new", formdata=None),
                   settings_form=settings_form or SettingsForm(formdata=None, obj=data.settings),
                   requirement_form=requirement_form, requirements=data.requirements,
                   cohorts={c.id: c for c in data.cohorts}), status_code


def _settings_change(access: Access, form, change: Callable[[], object], message: str, **failed):
    """A settings form posted: ``change()`` (a write) when the form is valid, committed, then back to the
    settings page; else the page again with the form's errors (``failed`` names the form for ``_settings_page``)."""
    done = saved(form, lambda: change(),
                 message,
                 url_for(".settings", course_id=access.course_id))
    if done is not None:
        return done
    return _settings_page(access, 400, **failed)


@bp.route("/settings")
@page(lead=True)
def settings(access):
    return _settings_page(access)


@bp.route("/settings/statuses/<int:status_id>", methods=["POST"])
@page(lead=True)
def edit_status(access, status_id):
    form = StatusForm(prefix=f"s{status_id}")
    return _settings_change(access, form, lambda: writes.update_status(
        db.session, access, status_id, key=form.key.data, label=form.label.data, points=float(form.points.data),
        active=form.active.data), "Status saved.", edited=(status_id, form))


@bp.route("/settings/statuses/new", methods=["POST"])
@page(lead=True)
def new_status(access):
    form = NewStatusForm(prefix="new")
    return _settings_change(access, form, lambda: writes.add_status(
        db.session, access, key=form.key.data, label=form.label.data, kind=StatusKind(form.kind.data),
        points=float(form.points.data)), "Status added.", new_status=form)


@bp.route("/settings/general", methods=["POST"])
@page(lead=True)
def edit_settings(access):
    form = SettingsForm()
    return _settings_change(access, form, lambda: writes.update_settings(
        db.session, access, checkin_opens_minutes=form.checkin_opens_minutes.data,
        checkin_closes_minutes=form.checkin_closes_minutes.data, late_after_minutes=form.late_after_minutes.data,
        grade_mode=form.grade_mode.data, grading_enabled=form.grading_enabled.data), "Settings saved.",
        settings_form=form)


@bp.route("/settings/requirement", methods=["POST"])
@page(lead=True)
def edit_requirement(access):
    form = RequirementForm()
    cohorts = managed_cohorts(db.session, access)
    form.cohort_id.choices = _cohort_choices(cohorts)
    return _settings_change(access, form, lambda: writes.set_requirement(
        db.session, access, next((c for c in cohorts if c.id == form.cohort_id.data), None),
        min_sessions=form.min_sessions.data, excused_policy=ExcusedPolicy(form.excused_policy.data),
        made_up_counts=form.made_up_counts.data),
        "Requirement saved." if form.min_sessions.data else "Requirement removed.", requirement_form=form)
