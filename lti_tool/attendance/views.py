"""Attendance pages of a course (/c/<course_id>/attendance/...): the quick roll, the check-in screen and the
participant's check-in, the cohort page and grid, personal records, the program summary, CSV exports, the
Zoom/Teams import with its review, make-ups, and the lead's settings."""
from __future__ import annotations

import io

from flask import (Blueprint, Response, current_app, flash, jsonify, redirect, render_template, request, url_for)
from flask_login import current_user
from markupsafe import Markup
from wtforms import SelectChoice

from lti_tool.attendance import services
from lti_tool.attendance.forms import (ActionForm, CheckInForm, ImportForm, MakeUpAssignForm, MakeUpReviewForm,
                                       MakeUpSubmitForm, NewStatusForm, RequirementForm, SettingsForm, StatusForm)
from lti_tool.attendance.models import ExcusedPolicy, MakeUpStatus, StatusKind
from lti_tool.attendance.services import AttendanceError
from lti_tool.auth import require_course_role
from lti_tool.calendar.services import describe_time, program_zone, viewer_zone
from lti_tool.db import db, utcnow
from lti_tool.errors import DomainError, NotFound
from lti_tool.extensions import rate_limit
from lti_tool.lti.models import CourseRole, Membership
from lti_tool.programs.models import Program
from lti_tool.programs.services import ensure_program, is_lead

bp = Blueprint("attendance", __name__, url_prefix="/c/<int:course_id>/attendance")

# How status kinds look: a colour class that only repeats the written status.
KIND_CLASS = {StatusKind.present: "att-present", StatusKind.late: "att-late", StatusKind.excused: "att-excused",
              StatusKind.absent: "att-absent", StatusKind.made_up: "att-madeup"}
STATE_KIND = {"met": "success", "on_track": "info", "at_risk": "warning", "cannot_meet": "danger",
              "no_rule": "neutral"}


def _program(membership: Membership) -> Program:
    program = ensure_program(db.session, membership)
    if program is None:
        raise NotFound("This course's program is not set up yet. Come back once a facilitator has opened the tool.")
    services.ensure_statuses(db.session, program)
    db.session.commit()   # what ensure_* created is flushed already, so neither new nor dirty: always commit
    return program


def _when(program: Program, membership: Membership):
    program_tz, viewer_tz = program_zone(program), viewer_zone(program, membership.user)
    return lambda m: describe_time(m.starts_at, m.ends_at, program_tz, viewer_tz)


def _field_error(form, exc: AttendanceError) -> None:
    db.session.rollback()
    field = getattr(form, exc.field, None) if getattr(exc, "field", None) else None
    if field is not None and hasattr(field, "errors"):
        field.errors = [*field.errors, exc.message] if isinstance(field.errors, list) else [exc.message]
    else:
        form.form_errors.append(exc.message)


def _csv(data: bytes, filename: str) -> Response:
    return Response(data, mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"})


def _common(program: Program, membership: Membership) -> dict:
    return {"program": program, "membership": membership, "lead": is_lead(program, membership),
            "kind_class": KIND_CLASS, "state_kind": STATE_KIND, "when": _when(program, membership),
            "zone": viewer_zone(program, membership.user)}


# ---- home and cohort pages -------------------------------------------------------------------------------------

@bp.route("/")
@require_course_role()
def home(membership):
    """Facilitators: their cohorts; participants: their own record."""
    program = _program(membership)
    cohorts = services.managed_cohorts(db.session, membership, program) \
        if membership.role is CourseRole.facilitator else []
    if not cohorts:
        if membership.role is CourseRole.participant:
            return redirect(url_for(".person", course_id=program.course_id, membership_id=membership.id))
    return render_template("attendance/home.html", cohorts=cohorts, **_common(program, membership))


@bp.route("/cohorts/<int:cohort_id>")
@require_course_role(CourseRole.facilitator)
def cohort(membership, cohort_id):
    """A cohort's sessions (roll, check-in, import), its people with their standing (at risk flagged in words),
    and make-ups waiting for review."""
    program = _program(membership)
    cohort = services.get_cohort(db.session, membership, cohort_id)
    grid = services.cohort_grid(db.session, membership, cohort)
    makeups = services.makeups_to_review(db.session, membership, cohort)
    now = utcnow()
    return render_template("attendance/cohort.html", cohort=cohort, grid=grid, makeups=makeups, now=now,
                           settings=services.get_settings(db.session, program), **_common(program, membership))


@bp.route("/cohorts/<int:cohort_id>/grid")
@require_course_role(CourseRole.facilitator)
def grid(membership, cohort_id):
    program = _program(membership)
    cohort = services.get_cohort(db.session, membership, cohort_id)
    grid = services.cohort_grid(db.session, membership, cohort)
    return render_template("attendance/grid.html", cohort=cohort, grid=grid, **_common(program, membership))


@bp.route("/cohorts/<int:cohort_id>/grid.csv")
@require_course_role(CourseRole.facilitator)
def grid_csv(membership, cohort_id):
    program = _program(membership)
    cohort = services.get_cohort(db.session, membership, cohort_id)
    grid = services.cohort_grid(db.session, membership, cohort)
    return _csv(services.to_csv(services.grid_rows(grid, viewer_zone(program, membership.user))),
                f"attendance-{cohort.id}.csv")


# ---- quick roll -------------------------------------------------------------------------------------------------

def _roll_target(membership, meeting_id):
    program = _program(membership)
    meeting = services.get_meeting(db.session, membership, meeting_id)
    cohort_id = request.values.get("cohort", type=int)
    if meeting.cohort_id is None and not cohort_id:
        return program, meeting, None
    return program, meeting, services.roll_cohort(db.session, membership, meeting, cohort_id)


def _choose_cohort(program, membership, meeting, endpoint):
    cohorts = services.managed_cohorts(db.session, membership, program)
    if not cohorts:
        raise services.Forbidden("Only cohort facilitators and the program's leads take attendance.")
    return render_template("attendance/choose_cohort.html", meeting=meeting, cohorts=cohorts, endpoint=endpoint,
                           **_common(program, membership))


@bp.route("/meetings/<int:meeting_id>/roll", methods=["GET", "POST"])
@require_course_role(CourseRole.facilitator)
def roll(membership, meeting_id):
    """The quick roll. With JavaScript each change is saved at once (see ``mark``); without it this form saves
    every row together."""
    program, meeting, cohort = _roll_target(membership, meeting_id)
    if cohort is None:
        return _choose_cohort(program, membership, meeting, ".roll")
    form = ActionForm()
    status_code = 200
    if request.method == "POST" and form.validate_on_submit():
        sheet = services.roll_sheet(db.session, membership, meeting, cohort)
        changed = 0
        try:
            for seat in sheet.members:
                key = request.form.get(f"status-{seat.membership_id}", "").strip()
                note = request.form.get(f"note-{seat.membership_id}")
                if not key:
                    continue
                record = sheet.records.get(seat.membership_id)
                before = (record.status_id, record.note) if record else None
                saved = services.mark_attendance(db.session, membership, meeting, cohort, seat.membership_id,
                                                 key, note)
                changed += before != (saved.status_id, saved.note)
        except DomainError as exc:
            db.session.rollback()
            flash(f"Nothing was saved: {exc.message}", "error")
            status_code = 400
        else:
            db.session.commit()
            flash(f"Attendance saved ({changed} changed).", "success")
            return redirect(url_for(".roll", course_id=program.course_id, meeting_id=meeting.id, cohort=cohort.id))
    sheet = services.roll_sheet(db.session, membership, meeting, cohort)
    return render_template("attendance/roll.html", meeting=meeting, cohort=cohort, sheet=sheet, form=form,
                           **_common(program, membership)), status_code


@bp.route("/meetings/<int:meeting_id>/mark", methods=["POST"])
@require_course_role(CourseRole.facilitator)
def mark(membership, meeting_id):
    """One change from the quick roll (fetch with the CSRF header): answers JSON, or redirects without JS."""
    program, meeting, cohort = _roll_target(membership, meeting_id)
    if cohort is None:
        raise AttendanceError("Choose the cohort whose roll you take.", "cohort")
    membership_id = request.form.get("membership_id", type=int)
    key = request.form.get("status", "")
    note = request.form.get("note")
    if membership_id is None:
        raise AttendanceError("Say whom to mark.", "membership_id")
    if key:
        record = services.mark_attendance(db.session, membership, meeting, cohort, membership_id, key, note)
    else:
        record = services.set_note(db.session, membership, meeting, cohort, membership_id, note or "")
    db.session.commit()
    if request.accept_mimetypes.best == "application/json" or request.headers.get("X-Requested-With"):
        return jsonify(ok=True, membership_id=membership_id, status=record.status.key, label=record.status.label,
                       note=record.note, marked_at=record.marked_at.isoformat())
    flash(f"Saved: {record.status.label}.", "success")
    return redirect(url_for(".roll", course_id=program.course_id, meeting_id=meeting.id, cohort=cohort.id))


# ---- self check-in ------------------------------------------------------------------------------------------------

@bp.route("/meetings/<int:meeting_id>/checkin/screen")
@require_course_role(CourseRole.facilitator)
def checkin_screen(membership, meeting_id):
    """What the facilitator shows: the rotating code, its QR code, and who has checked in."""
    program, meeting, cohort = _roll_target(membership, meeting_id)
    if cohort is None:
        return _choose_cohort(program, membership, meeting, ".checkin_screen")
    return render_template("attendance/checkin_screen.html", meeting=meeting, cohort=cohort,
                           **_code_context(program, meeting, cohort), **_list_context(membership, meeting, cohort),
                           **_common(program, membership))


def _code_context(program, meeting, cohort) -> dict:
    settings = services.get_settings(db.session, program)
    now = utcnow()
    code, seconds = services.current_code(meeting, now)
    opens, closes = services.checkin_window(settings, meeting)
    return {"code": code, "seconds": seconds, "step": services.time_step(now), "is_open": opens <= now <= closes
            and not meeting.cancelled, "opens": opens, "closes": closes, "settings": settings,
            "checkin_url": url_for(".check_in", course_id=program.course_id, meeting_id=meeting.id, code=code,
                                   _external=True)}


def _list_context(membership, meeting, cohort) -> dict:
    return {"arrivals": services.checked_in(db.session, membership, meeting, cohort)}


@bp.route("/meetings/<int:meeting_id>/checkin/code")
@require_course_role(CourseRole.facilitator)
def checkin_code(membership, meeting_id):
    program, meeting, cohort = _roll_target(membership, meeting_id)
    if cohort is None:
        raise AttendanceError("Choose the cohort.", "cohort")
    services.require_manager(db.session, membership, cohort)
    response = Response(render_template("attendance/_checkin_code.html", meeting=meeting, cohort=cohort,
                                        **_code_context(program, meeting, cohort), **_common(program, membership)))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/meetings/<int:meeting_id>/checkin/list")
@require_course_role(CourseRole.facilitator)
def checkin_list(membership, meeting_id):
    program, meeting, cohort = _roll_target(membership, meeting_id)
    if cohort is None:
        raise AttendanceError("Choose the cohort.", "cohort")
    response = Response(render_template("attendance/_checkin_list.html", meeting=meeting, cohort=cohort,
                                        **_list_context(membership, meeting, cohort), **_common(program, membership)))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/meetings/<int:meeting_id>/checkin/qr.svg")
@require_course_role(CourseRole.facilitator)
def checkin_qr(membership, meeting_id):
    """The QR code of the check-in URL with the current code, as SVG (no JavaScript needed)."""
    import segno

    program, meeting, cohort = _roll_target(membership, meeting_id)
    if cohort is None:
        raise AttendanceError("Choose the cohort.", "cohort")
    services.require_manager(db.session, membership, cohort)
    context = _code_context(program, meeting, cohort)
    out = io.BytesIO()
    segno.make(context["checkin_url"], error="m").save(out, kind="svg", scale=6, border=2, xmldecl=False,
                                                        svgclass=None, lineclass=None,
                                                        title="QR code for checking in")
    return Response(out.getvalue(), mimetype="image/svg+xml", headers={"Cache-Control": "no-store"})


def _checkin_limit() -> str:
    return current_app.config.get("ATTENDANCE_CHECKIN_RATE_LIMIT", "10 per 5 minutes")


def _checkin_key() -> str:
    return f"attendance-checkin:{current_user.get_id() if current_user.is_authenticated else request.remote_addr}"


@bp.route("/meetings/<int:meeting_id>/checkin", methods=["GET", "POST"])
@rate_limit(_checkin_limit, key_func=_checkin_key, methods=["POST"], deduct_when=lambda r: r.status_code == 400,
            error_message="Too many wrong codes. Wait a few minutes, then type the code showing on the screen.")
@require_course_role()
def check_in(membership, meeting_id):
    """A participant types (or scans) the code; they are marked under their own LMS identity."""
    program = _program(membership)
    meeting = services.get_meeting(db.session, membership, meeting_id)
    form = CheckInForm()
    if request.method == "GET" and request.args.get("code"):
        form.code.data = request.args["code"][:12]
    status_code = 200
    record = None
    if form.validate_on_submit():
        try:
            record = services.check_in(db.session, membership, meeting, form.code.data)
        except services.WrongCode as exc:
            _field_error(form, AttendanceError(exc.message, "code"))
            status_code = 400
        except services.CheckInRefused as exc:
            db.session.rollback()
            form.form_errors.append(exc.message)
            status_code = 403
        else:
            db.session.commit()
            flash(f"You are checked in: {record.status.label}.", "success")
            return redirect(url_for(".person", course_id=program.course_id, membership_id=membership.id))
    elif request.method == "POST":
        status_code = 400
    return render_template("attendance/check_in.html", meeting=meeting, form=form,
                           **_common(program, membership)), status_code


# ---- personal record, summary -----------------------------------------------------------------------------------

@bp.route("/me")
@require_course_role()
def me(membership):
    return redirect(url_for(".person", course_id=membership.course_id, membership_id=membership.id))


@bp.route("/people/<int:membership_id>")
@require_course_role()
def person(membership, membership_id):
    program = _program(membership)
    record = services.personal_record(db.session, membership, program, membership_id)
    settings = services.get_settings(db.session, program)
    now = utcnow()
    return render_template("attendance/person.html", record=record, own=membership_id == membership.id,
                           checkin_open=lambda m: services.checkin_open(settings, m, now),
                           **_common(program, membership))


@bp.route("/people/<int:membership_id>.csv")
@require_course_role()
def person_csv(membership, membership_id):
    program = _program(membership)
    record = services.personal_record(db.session, membership, program, membership_id)
    return _csv(services.to_csv(services.personal_rows(record, viewer_zone(program, membership.user))),
                f"attendance-person-{membership_id}.csv")


@bp.route("/records/<int:record_id>/history")
@require_course_role(CourseRole.facilitator)
def record_history(membership, record_id):
    program = _program(membership)
    record, cohort = services._record_for_manager(db.session, membership, record_id)
    return render_template("attendance/history.html", record=record, cohort=cohort,
                           changes=services.history(db.session, record), **_common(program, membership))


@bp.route("/summary")
@require_course_role(CourseRole.facilitator)
def summary(membership):
    program = _program(membership)
    rows = services.program_summary(db.session, membership, program)
    return render_template("attendance/summary.html", rows=rows, **_common(program, membership))


@bp.route("/summary.csv")
@require_course_role(CourseRole.facilitator)
def summary_csv(membership):
    program = _program(membership)
    rows = services.program_summary(db.session, membership, program)
    return _csv(services.to_csv(services.summary_rows(rows)), "attendance-summary.csv")


# ---- import -------------------------------------------------------------------------------------------------------

@bp.route("/meetings/<int:meeting_id>/import", methods=["GET", "POST"])
@require_course_role(CourseRole.facilitator)
def import_report(membership, meeting_id):
    """Upload a Zoom or Teams participant report; the next page shows what would be saved."""
    program, meeting, cohort = _roll_target(membership, meeting_id)
    if cohort is None:
        return _choose_cohort(program, membership, meeting, ".import_report")
    services.require_manager(db.session, membership, cohort)
    form = ImportForm()
    if form.validate_on_submit():
        try:
            report = services.parse_participant_report(form.file.data.read())
            review = services.review_import(db.session, membership, meeting, cohort, report)
        except AttendanceError as exc:
            _field_error(form, exc)
        else:
            db.session.rollback()   # nothing is saved before the review is confirmed
            return render_template("attendance/import_review.html", meeting=meeting, cohort=cohort, review=review,
                                   confirm=ActionForm(),
                                   statuses=services.active_statuses(db.session, program),
                                   **_common(program, membership))
    return render_template("attendance/import.html", meeting=meeting, cohort=cohort, form=form,
                           **_common(program, membership)), 400 if form.errors or form.form_errors else 200


@bp.route("/meetings/<int:meeting_id>/import/confirm", methods=["POST"])
@require_course_role(CourseRole.facilitator)
def import_confirm(membership, meeting_id):
    program, meeting, cohort = _roll_target(membership, meeting_id)
    if cohort is None:
        raise AttendanceError("Choose the cohort.", "cohort")
    form = ActionForm()
    if not form.validate_on_submit():
        raise AttendanceError("The form expired; upload the report again.")
    decisions = {}
    for name, value in request.form.items():
        if name.startswith("status-") and name[7:].isdigit() and value:
            decisions[int(name[7:])] = value
    try:
        changed = services.apply_import(db.session, membership, meeting, cohort, decisions)
    except DomainError as exc:
        db.session.rollback()
        flash(f"Nothing was imported: {exc.message}", "error")
        return redirect(url_for(".import_report", course_id=program.course_id, meeting_id=meeting.id,
                                cohort=cohort.id))
    db.session.commit()
    flash(f"Imported {len(decisions)} people ({changed} changed).", "success")
    return redirect(url_for(".roll", course_id=program.course_id, meeting_id=meeting.id, cohort=cohort.id))


# ---- make-ups -------------------------------------------------------------------------------------------------------

@bp.route("/records/<int:record_id>/makeup", methods=["GET", "POST"])
@require_course_role(CourseRole.facilitator)
def assign_makeup(membership, record_id):
    program = _program(membership)
    record, cohort = services._record_for_manager(db.session, membership, record_id)
    form = MakeUpAssignForm()
    if form.validate_on_submit():
        try:
            services.assign_makeup(db.session, membership, record_id, form.task.data, form.due_on.data)
        except AttendanceError as exc:
            _field_error(form, exc)
        else:
            db.session.commit()
            flash("Make-up task given.", "success")
            return redirect(url_for(".person", course_id=program.course_id, membership_id=record.membership_id))
    return render_template("attendance/makeup_assign.html", record=record, cohort=cohort, form=form,
                           **_common(program, membership))


@bp.route("/makeups/<int:makeup_id>", methods=["GET", "POST"])
@require_course_role()
def makeup(membership, makeup_id):
    """The participant hands in their work; the facilitator approves it or returns it with a note."""
    program = _program(membership)
    makeup, reviewer = services.get_makeup(db.session, membership, makeup_id)
    submit_form, review_form = MakeUpSubmitForm(prefix="work"), MakeUpReviewForm(prefix="review")
    if request.method == "POST":
        try:
            if reviewer and review_form.validate_on_submit():
                approve = request.form.get("decision") == "approve"
                services.review_makeup(db.session, membership, makeup, approve, review_form.note.data or "")
                db.session.commit()
                flash("Approved: the session now counts as made up." if approve else "Returned with your note.",
                      "success")
                return redirect(url_for(".makeup", course_id=program.course_id, makeup_id=makeup.id))
            if not reviewer and submit_form.validate_on_submit():
                services.submit_makeup(db.session, membership, makeup, submit_form.work.data)
                db.session.commit()
                flash("Your work was handed in.", "success")
                return redirect(url_for(".makeup", course_id=program.course_id, makeup_id=makeup.id))
        except AttendanceError as exc:
            _field_error(review_form if reviewer else submit_form, exc)
    return render_template("attendance/makeup.html", makeup=makeup, reviewer=reviewer, submit_form=submit_form,
                           review_form=review_form, MakeUpStatus=MakeUpStatus,
                           **_common(program, membership)), 400 if request.method == "POST" else 200


# ---- settings (leads) -------------------------------------------------------------------------------------------------

def _settings_page(program, membership, status_code=200, **forms):
    statuses = services.ensure_statuses(db.session, program)
    settings = services.get_settings(db.session, program)
    requirements = services.requirements_of(db.session, program)
    cohorts = services.managed_cohorts(db.session, membership, program)
    status_forms = forms.get("status_forms") or {
        s.id: StatusForm(prefix=f"s{s.id}", formdata=None, obj=s) for s in statuses}
    new_status = forms.get("new_status") or NewStatusForm(prefix="new", formdata=None)
    settings_form = forms.get("settings_form") or SettingsForm(formdata=None, obj=settings)
    requirement_form = forms.get("requirement_form") or RequirementForm(formdata=None)
    requirement_form.cohort_id.choices = ([SelectChoice(0, "The whole program")]
                                          + [SelectChoice(c.id, c.name) for c in cohorts])
    return render_template("attendance/settings.html", statuses=statuses, status_forms=status_forms,
                           new_status=new_status, settings_form=settings_form, requirement_form=requirement_form,
                           requirements=requirements, cohorts={c.id: c for c in cohorts},
                           **_common(program, membership)), status_code


@bp.route("/settings")
@require_course_role(CourseRole.facilitator)
def settings(membership):
    program = _program(membership)
    services._require_lead(program, membership)
    return _settings_page(program, membership)


@bp.route("/settings/statuses/<int:status_id>", methods=["POST"])
@require_course_role(CourseRole.facilitator)
def edit_status(membership, status_id):
    program = _program(membership)
    form = StatusForm(prefix=f"s{status_id}")
    if form.validate_on_submit():
        try:
            services.update_status(db.session, membership, program, status_id, key=form.key.data,
                                   label=form.label.data, points=float(form.points.data), active=form.active.data)
        except AttendanceError as exc:
            _field_error(form, exc)
        else:
            db.session.commit()
            flash("Status saved.", "success")
            return redirect(url_for(".settings", course_id=program.course_id))
    services._require_lead(program, membership)
    statuses = services.ensure_statuses(db.session, program)
    forms = {s.id: StatusForm(prefix=f"s{s.id}", formdata=None, obj=s) for s in statuses}
    forms[status_id] = form
    return _settings_page(program, membership, 400, status_forms=forms)


@bp.route("/settings/statuses/new", methods=["POST"])
@require_course_role(CourseRole.facilitator)
def new_status(membership):
    program = _program(membership)
    form = NewStatusForm(prefix="new")
    if form.validate_on_submit():
        try:
            services.add_status(db.session, membership, program, key=form.key.data, label=form.label.data,
                                kind=StatusKind(form.kind.data), points=float(form.points.data))
        except AttendanceError as exc:
            _field_error(form, exc)
        else:
            db.session.commit()
            flash("Status added.", "success")
            return redirect(url_for(".settings", course_id=program.course_id))
    services._require_lead(program, membership)
    return _settings_page(program, membership, 400, new_status=form)


@bp.route("/settings/general", methods=["POST"])
@require_course_role(CourseRole.facilitator)
def edit_settings(membership):
    program = _program(membership)
    form = SettingsForm()
    if form.validate_on_submit():
        try:
            services.update_settings(db.session, membership, program,
                                     checkin_opens_minutes=form.checkin_opens_minutes.data,
                                     checkin_closes_minutes=form.checkin_closes_minutes.data,
                                     late_after_minutes=form.late_after_minutes.data, grade_mode=form.grade_mode.data,
                                     grading_enabled=form.grading_enabled.data)
        except AttendanceError as exc:
            _field_error(form, exc)
        else:
            db.session.commit()
            flash("Settings saved.", "success")
            return redirect(url_for(".settings", course_id=program.course_id))
    services._require_lead(program, membership)
    return _settings_page(program, membership, 400, settings_form=form)


@bp.route("/settings/requirement", methods=["POST"])
@require_course_role(CourseRole.facilitator)
def edit_requirement(membership):
    program = _program(membership)
    form = RequirementForm()
    cohorts = services.managed_cohorts(db.session, membership, program)
    form.cohort_id.choices = [SelectChoice(0, "The whole program")] + [SelectChoice(c.id, c.name) for c in cohorts]
    if form.validate_on_submit():
        cohort = next((c for c in cohorts if c.id == form.cohort_id.data), None)
        try:
            services.set_requirement(db.session, membership, program, cohort, min_sessions=form.min_sessions.data,
                                     excused_policy=ExcusedPolicy(form.excused_policy.data),
                                     made_up_counts=form.made_up_counts.data)
        except AttendanceError as exc:
            _field_error(form, exc)
        else:
            db.session.commit()
            flash("Requirement saved." if form.min_sessions.data else "Requirement removed.", "success")
            return redirect(url_for(".settings", course_id=program.course_id))
    services._require_lead(program, membership)
    return _settings_page(program, membership, 400, requirement_form=form)


def status_cell(status, kind_class) -> Markup:
    return Markup('<span class="att-status {}"><span aria-hidden="true">{}</span>'
                  '<span class="visually-hidden">{}</span></span>').format(kind_class.get(status.kind, ""),
                                                                           status.key, status.label)
