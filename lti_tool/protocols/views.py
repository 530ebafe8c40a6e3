"""Protocol pages of a course (/c/<course_id>/protocols/...): the scripts (built-in and the program's, copied
and adapted by leads), making runs, a run's roles and problem of practice, the live page (phone-sized, with
the facilitator's controls), the projector view, the poll the pages make for the server's clock, posting a
contribution, the files, and the record as Markdown or PDF. A run and everything in it is 404 for anyone who
is not its member."""
from __future__ import annotations

import datetime as dt

from flask import Blueprint, Response, current_app, flash, jsonify, redirect, render_template, request, url_for

from lti_tool.course.access import Access
from lti_tool.course.forms import ActionForm, form_status, show_error
from lti_tool.course.pages import program_page
from lti_tool.course.zones import form_value, wall_clock_to_utc
from lti_tool.db import db, utcnow
from lti_tool.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound
from lti_tool.modules.uploads import file_response
from lti_tool.programs.models import Cohort, SmallGroup
from lti_tool.protocols import formats, queries, writes
from lti_tool.protocols.clock import state_of
from lti_tool.protocols.forms import (ContributionForm, ControlForm, CopyScriptForm, ProblemForm, RunForm, ScriptForm,
                                      deadlines_form, roles_form)
from lti_tool.protocols.library import Kind, Role
from lti_tool.protocols.permissions import may_control, require_problem_editor

bp = Blueprint("protocols", __name__, url_prefix="/c/<int:course_id>/protocols")


def now() -> dt.datetime:
    """The server's now: the one clock of every run (tests set ``PROTOCOL_NOW`` to move it)."""
    hook = current_app.config.get("PROTOCOL_NOW")
    return hook() if hook else utcnow()


def _render(template: str, access: Access, **context):
    return render_template(template, access=access, program=access.program, Role=Role, Kind=Kind, **context)


@bp.route("/")
@program_page()
def index(access):
    runs, at = queries.runs_for(db.session, access), now()
    return _render("protocols/index.html", access, runs=runs, states={r.id: state_of(r, r.phases, at) for r in runs},
                   scripts=queries.script_choices(db.session, access), copy_form=CopyScriptForm())


# -- scripts ------------------------------------------------------------------------------------------------

@bp.route("/scripts/builtin/<key>")
@program_page()
def builtin(access, key):
    return _render("protocols/script.html", access, script=queries.builtin_ref(key), copy_form=CopyScriptForm())


@bp.route("/scripts/<int:script_id>")
@program_page()
def script(access, script_id):
    ref = queries.script_ref(db.session, access, f"script:{script_id}")
    return _render("protocols/script.html", access, script=ref, copy_form=CopyScriptForm())


@bp.route("/scripts/copy", methods=["POST"])
@program_page(lead=True)
def copy(access):
    form = CopyScriptForm()
    if not form.validate_on_submit():
        raise InvalidInput("Choose the script to copy.")
    ref = queries.script_ref(db.session, access, form.source.data)
    copied = writes.copy_script(db.session, access, ref)
    db.session.commit()
    flash(f"“{copied.name}” is the program's own copy: adapt it below.", "success")
    return redirect(url_for(".edit_script", course_id=access.course_id, script_id=copied.id))


def _phases_of(form: ScriptForm) -> list[dict]:
    out = []
    for entry in form.phases:
        sub = entry.form
        if sub.remove.data:
            continue
        if not (sub.name.data or "").strip() and sub.minutes.data is None:
            continue                                      # the empty phase offered at the end, left empty
        out.append({"name": sub.name.data, "minutes": sub.minutes.data, "instructions": sub.instructions.data,
                    "roles": list(sub.roles.data or ()), "kind": sub.kind.data or ""})
    return out


@bp.route("/scripts/<int:script_id>/edit", methods=["GET", "POST"])
@program_page(lead=True)
def edit_script(access, script_id):
    script = queries.get_script(db.session, access, script_id)
    if request.method == "POST":
        form = ScriptForm()
        if form.validate_on_submit():
            phases = _phases_of(form)
            total = form.total_minutes.data
            # A changed total scales the phases; left as it was, the phases' own minutes (edited or not) count.
            scale_to = total if total and total != script.total_minutes else None
            try:
                saved = writes.save_script(db.session, access, script.id, name=form.name.data,
                                           description=form.description.data, phases=phases,
                                           total_minutes=scale_to,
                                           expected_version=int(form.version.data or 0) or None)
            except (InvalidInput, Conflict) as exc:
                if getattr(exc, "field", None) == "phases":
                    exc.field = None                  # about the phases as a whole: shown above the form
                show_error(form, exc)
            else:
                db.session.commit()
                if form.add_phase.data:
                    flash(f"Saved as version {saved.version}. Fill in the new phase below.", "success")
                    return redirect(url_for(".edit_script", course_id=access.course_id, script_id=saved.id,
                                            add=1))
                flash(f"“{saved.name}” saved as version {saved.version} ({saved.total_minutes} minutes).", "success")
                return redirect(url_for(".script", course_id=access.course_id, script_id=saved.id))
        status = 409 if any("Someone saved" in e for e in form.form_errors) else form_status()
        return _render("protocols/edit_script.html", access, script=script, form=form), status
    phases = [{"name": p.name, "minutes": p.minutes, "instructions": p.instructions, "roles": list(p.roles),
               "kind": p.kind} for p in script.phases]
    if request.args.get("add"):
        phases.append({"roles": [], "kind": ""})
    form = ScriptForm(formdata=None, data={"name": script.name, "description": script.description,
                                           "version": str(script.version), "total_minutes": script.total_minutes,
                                           "phases": phases})
    return _render("protocols/edit_script.html", access, script=script, form=form)


@bp.route("/scripts/<int:script_id>/archive", methods=["POST"])
@program_page(lead=True)
def archive_script(access, script_id):
    if not ActionForm().validate_on_submit():
        raise InvalidInput("The form expired: reload the page and try again.")
    archived = writes.archive_script(db.session, access, script_id)
    db.session.commit()
    flash(f"“{archived.name}” is archived: runs made from it keep their phases.", "success")
    return redirect(url_for(".index", course_id=access.course_id))


# -- making runs --------------------------------------------------------------------------------------------

def _run_form_choices(form: RunForm, access: Access) -> list[Cohort]:
    cohorts = [c for c in access.program.cohorts if access.manages(c)]
    form.script.choices = [(s.ref, f"{s.name} ({s.total_minutes} min)"
                            + ("" if s.script is None else f", the program's version {s.version}"))
                           for s in queries.script_choices(db.session, access)]
    form.cohort_id.choices = [(c.id, c.name) for c in cohorts]
    groups = [("", "The whole cohort")]
    for c in cohorts:
        if c.groups:
            groups.append((f"each:{c.id}", f"{c.name}: one run for each small group"))
            groups += [(f"group:{g.id}", f"{c.name}: {g.name}") for g in c.groups]
    form.group.choices = groups
    return cohorts


@bp.route("/runs/new", methods=["GET", "POST"])
@program_page(manager=True)
def new_run(access):
    form = RunForm() if request.method == "POST" else RunForm(formdata=None)
    cohorts = _run_form_choices(form, access)
    if request.method == "GET":
        form.script.data = request.args.get("script", "builtin:consultancy")
        form.opens_at.data = form_value(access.program_zone, now().replace(minute=0, second=0, microsecond=0)
                                        + dt.timedelta(hours=1))
    if request.method == "POST" and form.validate_on_submit():
        try:
            runs = _make_runs(access, form)
        except (InvalidInput, NotFound, Forbidden) as exc:
            if isinstance(exc, InvalidInput):
                show_error(form, exc)
            else:
                db.session.rollback()
                form.form_errors.append(exc.message)
                return _render("protocols/new_run.html", access, form=form, cohorts=cohorts), exc.status
        else:
            db.session.commit()
            if len(runs) == 1:
                flash("Run made. Check the roles, then start it when the group is ready.", "success")
                return redirect(url_for(".roles", course_id=access.course_id, run_id=runs[0].id))
            flash(f"{len(runs)} runs made, one for each small group.", "success")
            return redirect(url_for(".index", course_id=access.course_id))
    return _render("protocols/new_run.html", access, form=form, cohorts=cohorts), form_status()


def _make_runs(access: Access, form: RunForm):
    ref = queries.script_ref(db.session, access, form.script.data)
    group = form.group.data or ""
    zone = access.program_zone
    options = dict(title=form.title.data, mode=form.mode.data, total_minutes=form.total_minutes.data,
                   scheduled_for=wall_clock_to_utc(zone, form.scheduled_for.data),
                   opens_at=wall_clock_to_utc(zone, form.opens_at.data), days_per_phase=form.days_per_phase.data,
                   now=now())
    if group.startswith("each:"):
        return writes.create_group_runs(db.session, access, ref, cohort_id=int(group[5:]), **options)
    group_id = None
    cohort_id = form.cohort_id.data
    if group.startswith("group:") and group[6:].isdigit():
        g = db.session.get(SmallGroup, int(group[6:]))
        if g is None:
            raise NotFound("There is no such small group in this program.")
        group_id, cohort_id = g.id, g.cohort_id
    return [writes.create_run(db.session, access, ref, cohort_id=cohort_id, group_id=group_id, **options)]


# -- a run --------------------------------------------------------------------------------------------------

def _loaded(access: Access, run_id: int):
    return queries.get_run(db.session, access, run_id)


def _page(access: Access, run_id: int, loaded=None):
    loaded = loaded or _loaded(access, run_id)
    return queries.run_page(db.session, loaded, now())


def _may_post(page, role: str) -> bool:
    phase = page.current
    return bool(page.state.open and phase is not None and phase.kind and role in phase.roles)


def _live_context(access: Access, page, contribution_form=None, error: str | None = None):
    role = page.loaded.role
    return dict(page=page, run=page.run, role=role, controls=may_control(access, page.run, role),
                may_post=_may_post(page, role), control_form=ControlForm(formdata=None, version=page.run.version),
                contribution_form=contribution_form or ContributionForm(formdata=None, position=page.state.position),
                error=error, poll_seconds=current_app.config["PROTOCOL_POLL_SECONDS"])


@bp.route("/runs/<int:run_id>")
@program_page()
def run(access, run_id):
    page = _page(access, run_id)
    return _render("protocols/run.html", access, **_live_context(access, page))


@bp.route("/runs/<int:run_id>/live")
@program_page()
def live(access, run_id):
    """The live part of the run's page (phase, clock, controls, record), fetched again when it changes."""
    page = _page(access, run_id)
    response = Response(render_template("protocols/_live.html", access=access, program=access.program, Role=Role,
                                        Kind=Kind, **_live_context(access, page)))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/runs/<int:run_id>/projector")
@program_page()
def projector(access, run_id):
    page = _page(access, run_id)
    return _render("protocols/projector.html", access, **_live_context(access, page))


@bp.route("/runs/<int:run_id>/state")
@program_page()
def state(access, run_id):
    """The poll of every run page: the server's now and the phase's end and remaining seconds, so each screen
    counts down from the server's clock whatever its own says. Fixed queries: the page loader's, the run with
    its phases, the viewer's role, and the count of contributions."""
    loaded = _loaded(access, run_id)
    at = now()
    run = loaded.run
    st = state_of(run, run.phases, at)
    phase = next((p for p in run.phases if p.position == st.position), None)
    may_post = bool(st.open and phase is not None and phase.kind and loaded.role in phase.roles)
    response = jsonify({
        "run": run.id, "version": run.version, "status": st.status, "position": st.position,
        "phases": len(run.phases), "phase": phase.name if phase else None,
        "server_now": at.isoformat(), "ends_at": st.ends_at.isoformat() if st.ends_at else None,
        "remaining": st.remaining, "overtime": st.overtime, "role": loaded.role, "may_post": may_post,
        "kind": phase.kind if phase else "", "contributions": queries.contribution_count(db.session, run.id),
    })
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/runs/<int:run_id>/control", methods=["POST"])
@program_page()
def control(access, run_id):
    loaded = _loaded(access, run_id)
    form = ControlForm()
    action = request.form.get("action", "")
    if not form.validate_on_submit():
        raise InvalidInput("The form was incomplete: reload the page and try again.")
    try:
        writes.control(db.session, access, loaded, action, form.version.data, now=now(), minutes=form.minutes.data or 2)
    except (Conflict, InvalidInput) as exc:
        db.session.rollback()
        page = _page(access, run_id)
        return _render("protocols/run.html", access, **_live_context(access, page, error=exc.message)), exc.status
    db.session.commit()
    return redirect(url_for(".run", course_id=access.course_id, run_id=run_id))


@bp.route("/runs/<int:run_id>/contributions", methods=["POST"])
@program_page()
def contribute(access, run_id):
    loaded = _loaded(access, run_id)
    form = ContributionForm()
    if form.validate_on_submit():
        try:
            writes.contribute(db.session, access, loaded, form.position.data, form.body.data, now=now())
        except DomainError as exc:
            if exc.status == 404:
                raise
            db.session.rollback()
            page = _page(access, run_id)
            # The text stays in the box: nothing typed is lost.
            return _render("protocols/run.html", access, **_live_context(access, page, form, exc.message)), exc.status
        db.session.commit()
        flash("Posted.", "success")
        return redirect(url_for(".run", course_id=access.course_id, run_id=run_id) + "#post")
    page = _page(access, run_id, loaded)
    return _render("protocols/run.html", access, **_live_context(access, page, form)), 400


@bp.route("/runs/<int:run_id>/roles", methods=["GET", "POST"])
@program_page(manager=True)
def roles(access, run_id):
    loaded = _loaded(access, run_id)
    run = loaded.run
    access.require_manager(run.cohort_id, "give the roles of a protocol run")
    candidates = queries.candidates_for(db.session, access.program, run.cohort, run.group_id)
    current = {r.membership_id: r.role for r in run.roles}
    outside = [r for r in run.roles if r.membership_id not in {c.membership.id for c in candidates}]
    form = roles_form(candidates, current, request.form if request.method == "POST" else None)
    if request.method == "POST" and form.validate_on_submit():
        wanted = {c.membership.id: form[f"role_{c.membership.id}"].data or "" for c in candidates}
        try:
            writes.set_roles(db.session, access, loaded, wanted)
        except InvalidInput as exc:
            show_error(form, exc)
        else:
            db.session.commit()
            flash("Roles saved.", "success")
            return redirect(url_for(".run", course_id=access.course_id, run_id=run.id))
    suggested = queries.suggested_presenter(candidates)
    return _render("protocols/roles.html", access, run=run, form=form, candidates=candidates, suggested=suggested,
                   outside=outside), form_status()


@bp.route("/runs/<int:run_id>/deadlines", methods=["GET", "POST"])
@program_page(manager=True)
def deadlines(access, run_id):
    loaded = _loaded(access, run_id)
    run = loaded.run
    access.require_manager(run.cohort_id, "change the deadlines of a protocol run")
    if run.mode.value != "async":
        raise NotFound("A live run has no deadlines.")
    zone = access.program_zone
    form = deadlines_form(run.phases, zone, request.form if request.method == "POST" else None)
    if request.method == "POST" and form.validate_on_submit():
        closes = [wall_clock_to_utc(zone, form[f"closes_{p.position}"].data) for p in run.phases]
        try:
            writes.set_deadlines(db.session, access, loaded, closes, now=now())
        except (InvalidInput, Conflict) as exc:
            if getattr(exc, "field", None) == "deadlines":
                exc.field = None
            show_error(form, exc)
        else:
            db.session.commit()
            flash("Deadlines saved.", "success")
            return redirect(url_for(".run", course_id=access.course_id, run_id=run.id))
    return _render("protocols/deadlines.html", access, run=run, form=form, at=now()), form_status()


@bp.route("/runs/<int:run_id>/problem", methods=["GET", "POST"])
@program_page()
def problem(access, run_id):
    loaded = _loaded(access, run_id)
    run = loaded.run
    require_problem_editor(access, run, loaded.role)
    form = ProblemForm() if request.method == "POST" else ProblemForm(formdata=None, problem_text=run.problem_text)
    form.remove_file_ids.choices = [(f.id, f.original_name) for f in run.files]
    if request.method == "POST" and form.validate_on_submit():
        files = [(f.filename, f.read()) for f in (form.files.data or []) if getattr(f, "filename", "")]
        try:
            writes.attach_problem(db.session, access, loaded, form.problem_text.data, files,
                                  form.remove_file_ids.data or [])
        except InvalidInput as exc:
            exc.field = exc.field if exc.field != "upload" else "files"
            show_error(form, exc)
        else:
            db.session.commit()
            flash("Problem of practice saved.", "success")
            return redirect(url_for(".run", course_id=access.course_id, run_id=run.id))
    return _render("protocols/problem.html", access, run=run, form=form), form_status()


@bp.route("/runs/<int:run_id>/files/<int:file_id>")
@program_page()
def file(access, run_id, file_id):
    run = _loaded(access, run_id).run
    row = next((f for f in run.files if f.id == file_id), None)
    if row is None:
        raise NotFound("There is no such file in this run.")
    return file_response(row.stored_name, row.original_name, row.content_type)


def _record_name(run, ext: str) -> str:
    slug = "".join(c if c.isalnum() else "-" for c in run.title.lower()).strip("-")[:60] or "run"
    return f"protocol-{run.id}-{slug}.{ext}"


@bp.route("/runs/<int:run_id>/record.md")
@program_page()
def record_markdown(access, run_id):
    page = _page(access, run_id)
    response = Response(formats.record_markdown(page, access.zone), mimetype="text/markdown")
    response.headers["Content-Disposition"] = f'attachment; filename="{_record_name(page.run, "md")}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/runs/<int:run_id>/record.pdf")
@program_page()
def record_pdf(access, run_id):
    page = _page(access, run_id)
    response = Response(formats.record_pdf(page, access.zone), mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="{_record_name(page.run, "pdf")}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response

