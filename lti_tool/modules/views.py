"""Module pages of a course (/c/<course_id>/modules/...): the participant's checklist and "my week", a module and
its items, reflections, the facilitators' authoring pages (order with Move up / Move down buttons, copies,
uploads), the progress grid with its CSV, reflections to read, and the weekly budget. Deep linking offers
modules and single items."""
from __future__ import annotations

import datetime as dt

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from sqlalchemy import select
from wtforms import SelectChoice

from lti_tool.auth import require_course_role
from lti_tool.db import db
from lti_tool.discussions.models import Book, Reading, Thread
from lti_tool.errors import DomainError, NotFound
from lti_tool.lti import deep_linking
from lti_tool.lti.models import Course, CourseRole, Membership
from lti_tool.modules import book_study, services
from lti_tool.modules.forms import (ActionForm, CopyProgramForm, CopyToCohortForm, FeedbackForm, ImportProgramForm,
                                    ItemForm, ModuleForm, ReflectionForm, SettingsForm)
from lti_tool.modules.models import (CompletionRule, GradeMode, ItemKind, ItemRelease, Module, ModuleItem,
                                     ReflectionVisibility, ReleaseRule)
from lti_tool.modules.services import ModuleInputError
from lti_tool.modules.uploads import file_response
from lti_tool.programs.models import Cohort
from lti_tool.programs.services import ensure_program

bp = Blueprint("modules", __name__, url_prefix="/c/<int:course_id>/modules")

STATE_KIND = {"Done": "success", "Open": "info", "Locked": "neutral", "Overdue": "warning"}


def _viewer(membership: Membership) -> services.Viewer:
    program = ensure_program(db.session, membership)
    if program is None:
        raise NotFound("This course's program is not set up yet. Come back once a facilitator has opened the tool.")
    return services.viewer_for(db.session, membership, program)


def _ctx(viewer: services.Viewer, **kw) -> dict:
    return {"viewer": viewer, "program": viewer.program, "membership": viewer.membership,
            "course_id": viewer.program.course_id, "state_kind": STATE_KIND, "embed_url": services.embed_url,
            "say_date": services.say_date, **kw}


def _form_error(form, exc: DomainError) -> None:
    db.session.rollback()
    name = getattr(exc, "field", None)
    target = getattr(form, name, None) if name else None
    if target is not None and hasattr(target, "errors"):
        target.errors = [*list(target.errors), exc.message]
    else:
        form.form_errors.append(exc.message)


def _back(viewer, module_id: int | None = None):
    if module_id:
        return redirect(url_for("modules.module", course_id=viewer.program.course_id, module_id=module_id))
    return redirect(url_for("modules.index", course_id=viewer.program.course_id))


# ---- lists ----------------------------------------------------------------------------------------------------

@bp.get("/")
@require_course_role()
def index(membership):
    """Participants: the checklist of their modules and "my week"; facilitators: the modules they author."""
    viewer = _viewer(membership)
    modules = services.visible_modules(db.session, viewer)
    states = week = None
    if membership.role is CourseRole.participant:
        states = services.states_for(db.session, viewer, modules)
        week = services.my_week(db.session, viewer, modules, states)
    cohorts = {c.id: c for c in services.program_cohorts(db.session, viewer.program)}
    db.session.commit()   # the settings row, made at the first visit
    return render_template("modules/index.html", **_ctx(viewer, modules=modules, states=states, week=week,
                                                         cohorts=cohorts, action=ActionForm()))


@bp.post("/<int:module_id>/move")
@require_course_role(CourseRole.facilitator)
def move_module(membership, module_id: int):
    viewer = _viewer(membership)
    module = services.get_module(db.session, viewer, module_id)
    if ActionForm().validate_on_submit():
        direction = request.form.get("direction", "")
        if services.move_module(db.session, viewer, module, direction):
            db.session.commit()
            flash(f"Moved “{module.title}” {direction}.", "success")
    return redirect(url_for("modules.index", course_id=viewer.program.course_id) + f"#module-{module.id}")


# ---- module authoring -------------------------------------------------------------------------------------------

def _dates_from_form(viewer, form) -> dict[int, tuple[dt.date | None, dt.date | None]]:
    dates = {}
    for cohort in services.program_cohorts(db.session, viewer.program):
        values = []
        for prefix in ("opens_on", "due_on"):
            raw = request.form.get(f"{prefix}_{cohort.id}", "").strip()
            try:
                values.append(dt.date.fromisoformat(raw) if raw else None)
            except ValueError:
                raise ModuleInputError("Give dates as year-month-day, e.g. 2031-02-03.", f"{prefix}_{cohort.id}")
        dates[cohort.id] = (values[0], values[1])
    return dates


def _module_form_page(viewer, form, module: Module | None, status: int = 200, date_errors: dict | None = None):
    cohorts = services.program_cohorts(db.session, viewer.program)
    choosable = [c for c in cohorts if viewer.lead or c.id in viewer.managed]
    form.cohort_ids.choices = [SelectChoice(c.id, c.name) for c in choosable]
    others = [m for m in services.program_modules(db.session, viewer.program) if module is None or m.id != module.id]
    form.after_module_id.choices = [SelectChoice(0, "— choose —")] + [SelectChoice(m.id, m.title) for m in others]
    links = {link.cohort_id: link for link in module.cohort_links} if module else {}
    return render_template("modules/module_form.html", **_ctx(viewer, form=form, module=module, cohorts=choosable,
                                                               links=links, date_errors=date_errors or {})), status


def _save_module(viewer, form, module: Module | None):
    try:
        dates = _dates_from_form(viewer, form)
        saved = services.save_module(
            db.session, viewer, module, title=form.title.data, overview=form.overview.data or "",
            cohort_ids=form.cohort_ids.data or [], release_rule=ReleaseRule(form.release_rule.data),
            released=form.released.data, after_module_id=form.after_module_id.data or None, dates=dates,
            grade_mode=GradeMode(form.grade_mode.data), score_maximum=float(form.score_maximum.data or 100))
    except DomainError as exc:
        field = getattr(exc, "field", "") or ""
        _form_error(form, exc)
        date_errors = {field: exc.message} if field.startswith(("opens_on_", "due_on_")) else {}
        if date_errors:
            form.form_errors.remove(exc.message)
        return _module_form_page(viewer, form, module, 400, date_errors)
    db.session.commit()
    flash(f"Saved the module “{saved.title}”.", "success")
    return _back(viewer, saved.id)


@bp.route("/new", methods=["GET", "POST"])
@require_course_role(CourseRole.facilitator)
def new_module(membership):
    viewer = _viewer(membership)
    if not (viewer.lead or viewer.managed):
        raise services.Forbidden("Only the program's leads and cohort facilitators write modules.")
    form = ModuleForm()
    if request.method == "GET" and len(viewer.managed) == 1:
        form.cohort_ids.data = list(viewer.managed)
    if request.method == "POST":
        _module_form_page(viewer, form, None)   # choices, for validation
        if form.validate():
            return _save_module(viewer, form, None)
        return _module_form_page(viewer, form, None, 400)
    return _module_form_page(viewer, form, None)


@bp.route("/<int:module_id>/edit", methods=["GET", "POST"])
@require_course_role(CourseRole.facilitator)
def edit_module(membership, module_id: int):
    viewer = _viewer(membership)
    module = services.get_module(db.session, viewer, module_id)
    services.require_editor(viewer, module)
    form = ModuleForm(obj=module if request.method == "GET" else None)
    if request.method == "GET":
        form.cohort_ids.data = module.cohort_ids
        form.release_rule.data = module.release_rule.value
        form.grade_mode.data = module.grade_mode.value
        form.after_module_id.data = module.after_module_id or 0
    if request.method == "POST":
        _module_form_page(viewer, form, module)
        if form.validate():
            return _save_module(viewer, form, module)
        return _module_form_page(viewer, form, module, 400)
    return _module_form_page(viewer, form, module)


@bp.post("/<int:module_id>/<any(duplicate, delete, release, withdraw):action>")
@require_course_role(CourseRole.facilitator)
def module_action(membership, module_id: int, action: str):
    viewer = _viewer(membership)
    module = services.get_module(db.session, viewer, module_id)
    if not ActionForm().validate_on_submit():
        flash("The form expired; please try again.", "danger")
        return _back(viewer, module.id)
    title = module.title
    if action == "duplicate":
        copy = services.duplicate_module(db.session, viewer, module)
        db.session.commit()
        flash(f"Made “{copy.title}”. It is not released yet.", "success")
        return _back(viewer, copy.id)
    if action == "delete":
        services.delete_module(db.session, viewer, module)
        db.session.commit()
        flash(f"Deleted “{title}”.", "success")
        return _back(viewer)
    services.set_released(db.session, viewer, module, action == "release")
    db.session.commit()
    flash(f"“{title}” is {'released' if action == 'release' else 'no longer released'}.", "success")
    return _back(viewer, module.id)


@bp.post("/<int:module_id>/copy")
@require_course_role(CourseRole.facilitator)
def copy_to_cohort(membership, module_id: int):
    viewer = _viewer(membership)
    module = services.get_module(db.session, viewer, module_id)
    form = CopyToCohortForm()
    if form.validate_on_submit():
        try:
            copy = services.copy_module_to_cohort(db.session, viewer, module, form.cohort_id.data)
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "danger")
            return _back(viewer, module.id)
        db.session.commit()
        flash(f"Copied to “{copy.title}”. It is not released yet.", "success")
        return _back(viewer, copy.id)
    flash("Choose a cohort to copy the module to.", "danger")
    return _back(viewer, module.id)


def _program_choice(program) -> str:
    """"Title · course (year)", leaving out what the title already says."""
    text = program.title
    if program.course.display_title not in text:
        text += f" · {program.course.display_title}"
    year = program.year_label or (f"from {services.say_date(program.starts_on)}" if program.starts_on else "")
    return text + (f" ({year})" if year and year not in text else "")


def _year_to_year_page(viewer, copy_form=None, import_form=None, status: int = 200):
    others = services.copy_targets(db.session, viewer.membership)
    copy_form = copy_form or CopyProgramForm(prefix="copy")
    import_form = import_form or ImportProgramForm(prefix="bring")
    choices = [SelectChoice(p.id, _program_choice(p)) for p, _m in others]
    copy_form.program_id.choices = import_form.program_id.choices = choices
    shifts = {p.id: services.default_shift_days(viewer.program, p) for p, _m in others}
    return render_template("modules/copy_program.html", **_ctx(viewer, copy_form=copy_form, import_form=import_form,
                                                                others=others, shifts=shifts,
                                                                choice_label=_program_choice)), status


def _copied_message(result: services.ProgramCopy, here: bool) -> str:
    n = len(result.modules)
    text = f"Copied {n} module{'s' if n != 1 else ''} {'from' if here else 'into'} “{(result.source if here else result.target).title}”. "
    if result.with_cohorts:
        text += (f"{result.with_cohorts} went to cohorts of the same name, their dates moved by "
                 f"{result.shift_days} days; ")
    text += "the others are for no cohort yet. Nothing is released until you release it."
    return text


@bp.route("/copy-program", methods=["GET", "POST"])
@require_course_role(CourseRole.facilitator)
def copy_program(membership):
    """Year to year: copy this program's modules into another program the lead leads, or bring them here."""
    viewer = _viewer(membership)
    if not viewer.lead:
        raise services.Forbidden("Only the program's leads copy its modules.")
    if request.method == "GET":
        return _year_to_year_page(viewer)
    return _copy_between_programs(viewer, CopyProgramForm(prefix="copy"), services.copy_program_modules, here=False)


@bp.post("/import-program")
@require_course_role(CourseRole.facilitator)
def import_program(membership):
    viewer = _viewer(membership)
    if not viewer.lead:
        raise services.Forbidden("Only the program's leads bring modules into it.")
    return _copy_between_programs(viewer, ImportProgramForm(prefix="bring"), services.import_program_modules,
                                  here=True)


def _copy_between_programs(viewer, form: CopyProgramForm, copy, here: bool):
    """Run one of the two year-to-year copies from its form; the page again, with the reason, when refused."""
    page_form = {"import_form" if here else "copy_form": form}
    _year_to_year_page(viewer, **page_form)     # sets the choices
    if not form.validate_on_submit():
        return _year_to_year_page(viewer, **page_form, status=400)
    if form.program_id.data not in {c.value for c in form.program_id.choices}:
        form.program_id.errors = [*form.program_id.errors, "Choose one of the programs you lead."]
        return _year_to_year_page(viewer, **page_form, status=400)
    try:
        result = copy(db.session, viewer, form.program_id.data, shift_days=form.shift_days.data,
                      match_cohorts=form.match_cohorts.data)
    except DomainError as exc:
        _form_error(form, exc)
        return _year_to_year_page(viewer, **page_form, status=exc.status)
    db.session.commit()
    flash(_copied_message(result, here=here), "success")
    return _back(viewer)


@bp.route("/settings", methods=["GET", "POST"])
@require_course_role(CourseRole.facilitator)
def settings(membership):
    viewer = _viewer(membership)
    current = services.module_settings(db.session, viewer.program)
    form = SettingsForm(obj=current if request.method == "GET" else None)
    if form.validate_on_submit():
        try:
            services.update_settings(db.session, membership, viewer.program, form.weekly_budget_minutes.data)
        except DomainError as exc:
            _form_error(form, exc)
        else:
            db.session.commit()
            flash("Saved the weekly time budget.", "success")
            return _back(viewer)
    db.session.commit()
    return render_template("modules/settings.html", **_ctx(viewer, form=form)), \
        (400 if request.method == "POST" else 200)


# ---- a module ------------------------------------------------------------------------------------------------------

@bp.get("/<int:module_id>")
@require_course_role()
def module(membership, module_id: int):
    viewer = _viewer(membership)
    mod = services.get_module(db.session, viewer, module_id)
    state = None
    if membership.role is CourseRole.participant:
        state = services.states_for(db.session, viewer, [mod])[mod.id]
    cohorts = {c.id: c for c in services.program_cohorts(db.session, viewer.program)}
    copy_form = CopyToCohortForm()
    copy_form.cohort_id.choices = [SelectChoice(cid, cohorts[cid].name)
                                 for cid in sorted(viewer.managed, key=lambda c: cohorts[c].name)]
    return render_template("modules/module.html", **_ctx(viewer, module=mod, state=state, cohorts=cohorts,
                                                          action=ActionForm(), copy_form=copy_form,
                                                          item_kinds=list(ItemKind)))


# ---- items --------------------------------------------------------------------------------------------------------

def _discussion_choices(viewer) -> tuple[list, list]:
    """Readings and threads of the book study in this program."""
    readings = db.session.execute(select(Reading.id, Reading.label, Book.title).join(Book)
                                  .where(Book.program_id == viewer.program.id).order_by(Book.id, Reading.position)).all()
    threads = db.session.execute(select(Thread.id, Thread.title, Cohort.name).join(Cohort)
                                 .where(Cohort.program_id == viewer.program.id).order_by(Cohort.name, Thread.id)).all()
    return ([(r.id, f"{r.title}: {r.label}") for r in readings], [(t.id, f"{t.name}: {t.title}") for t in threads])


def _item_form_page(viewer, form, module, item, kind: ItemKind, status: int = 200):
    readings, threads = _discussion_choices(viewer)
    form.reading_id.choices = [SelectChoice(0, "— none —")] + [SelectChoice(*r) for r in readings]
    form.thread_id.choices = [SelectChoice(0, "— none —")] + [SelectChoice(*t) for t in threads]
    return render_template("modules/item_form.html", **_ctx(viewer, form=form, module=module, item=item, kind=kind,
                                                             has_readings=bool(readings))), status


def _save_item(viewer, form, module, item, kind: ItemKind):
    readings, threads = _discussion_choices(viewer)
    titles = dict(readings + threads)
    upload = None
    if form.upload.data and getattr(form.upload.data, "filename", ""):
        upload = (form.upload.data.filename, form.upload.data.read())
    linked = titles.get(form.thread_id.data or 0) or titles.get(form.reading_id.data or 0) or ""
    try:
        saved = services.save_item(
            db.session, viewer, module, item, kind=kind, title=form.title.data, body=form.body.data or "",
            url=form.url.data or "", embed=form.embed.data, minutes=form.minutes.data, required=form.required.data,
            completion_rule=next((r for r in CompletionRule if r.value == form.completion_rule.data), None),
            release=ItemRelease(form.release.data),
            reflection_visibility=ReflectionVisibility(form.reflection_visibility.data),
            reading_id=form.reading_id.data or None, thread_id=form.thread_id.data or None, linked_title=linked,
            upload=upload, remove_file=form.remove_file.data)
    except DomainError as exc:
        _form_error(form, exc)
        return _item_form_page(viewer, form, module, item, kind, 400)
    db.session.commit()
    flash(f"Saved “{saved.title}”.", "success")
    return redirect(url_for("modules.module", course_id=viewer.program.course_id, module_id=module.id)
                    + f"#item-{saved.id}")


@bp.route("/<int:module_id>/items/new", methods=["GET", "POST"])
@require_course_role(CourseRole.facilitator)
def new_item(membership, module_id: int):
    viewer = _viewer(membership)
    mod = services.get_module(db.session, viewer, module_id)
    services.require_editor(viewer, mod)
    try:
        kind = ItemKind(request.values.get("kind", "page"))
    except ValueError:
        raise NotFound("There is no such kind of item.") from None
    form = ItemForm()
    if request.method == "GET":
        form.completion_rule.data = {ItemKind.reflection: "reflection_submitted",
                                     ItemKind.discussion: "posted_in_thread"}.get(kind, "viewed")
    if request.method == "POST":
        _item_form_page(viewer, form, mod, None, kind)
        if form.validate():
            return _save_item(viewer, form, mod, None, kind)
        return _item_form_page(viewer, form, mod, None, kind, 400)
    return _item_form_page(viewer, form, mod, None, kind)


@bp.route("/items/<int:item_id>/edit", methods=["GET", "POST"])
@require_course_role(CourseRole.facilitator)
def edit_item(membership, item_id: int):
    viewer = _viewer(membership)
    item = services.get_item(db.session, viewer, item_id)
    services.require_editor(viewer, item.module)
    form = ItemForm(obj=item if request.method == "GET" else None)
    if request.method == "GET":
        form.embed.data = bool(item.video_provider) or item.kind is not ItemKind.video
        form.completion_rule.data = item.completion_rule.value
        form.release.data = item.release.value
        form.reflection_visibility.data = item.reflection_visibility.value
        form.reading_id.data, form.thread_id.data = item.reading_id or 0, item.thread_id or 0
    if request.method == "POST":
        _item_form_page(viewer, form, item.module, item, item.kind)
        if form.validate():
            return _save_item(viewer, form, item.module, item, item.kind)
        return _item_form_page(viewer, form, item.module, item, item.kind, 400)
    return _item_form_page(viewer, form, item.module, item, item.kind)


@bp.post("/items/<int:item_id>/<any(up, down, delete):action>")
@require_course_role(CourseRole.facilitator)
def item_action(membership, item_id: int, action: str):
    viewer = _viewer(membership)
    item = services.get_item(db.session, viewer, item_id)
    module_id, title = item.module_id, item.title
    if not ActionForm().validate_on_submit():
        flash("The form expired; please try again.", "danger")
        return _back(viewer, module_id)
    if action == "delete":
        services.delete_item(db.session, viewer, item)
        db.session.commit()
        flash(f"Deleted “{title}”.", "success")
        return _back(viewer, module_id)
    moved = services.move_item(db.session, viewer, item, action)
    db.session.commit()
    if moved:
        flash(f"Moved “{title}” {action}.", "success")
    # Focus comes back to the same button (static/js/modules.js), so Move up can be pressed again.
    # No #fragment here: scrolling to it would take the focus away from the button again.
    return redirect(url_for("modules.module", course_id=viewer.program.course_id, module_id=module_id,
                            focus=f"{action}-{item_id}"))


@bp.get("/items/<int:item_id>")
@require_course_role()
def item(membership, item_id: int):
    viewer = _viewer(membership)
    it = services.get_item(db.session, viewer, item_id)
    try:
        services.open_item(db.session, viewer, it)
    except services.ItemLocked as exc:
        db.session.rollback()
        state = services.item_state(db.session, viewer, it)
        return render_template("modules/locked.html", **_ctx(viewer, item=it, module=it.module, state=state,
                                                              message=exc.message)), 403
    db.session.commit()
    return _item_page(viewer, it)


def _item_page(viewer, it: ModuleItem, form: ReflectionForm | None = None, status: int = 200):
    """The item as the viewer sees it; ``form`` keeps a reflection that could not be saved."""
    participant = viewer.membership.role is CourseRole.participant
    module_state = services.states_for(db.session, viewer, [it.module])[it.module_id] if participant else None
    state = next((s for s in module_state.items if s.item.id == it.id), None) if module_state else None
    reflections = services.reflections_on(db.session, viewer, it) if it.kind is ItemKind.reflection else []
    mine = next((r for r in reflections if r.membership_id == viewer.membership.id), None)
    form = form or ReflectionForm(obj=mine)
    places = book_study.places_for_viewer(db.session, viewer, it)
    db.session.commit()     # a thread due to exist may just have been opened
    reading = book_study.reading_of(db.session, it, viewer.program.id)
    next_state = None
    if module_state is not None:
        ids = [s.item.id for s in module_state.items]
        idx = ids.index(it.id)
        next_state = module_state.items[idx + 1] if idx + 1 < len(ids) else None
    return render_template("modules/item.html", **_ctx(viewer, item=it, module=it.module, state=state,
                                                        module_state=module_state, reflections=reflections,
                                                        mine=mine, form=form, action=ActionForm(), places=places,
                                                        reading=reading, next_state=next_state)), status


@bp.post("/items/<int:item_id>/done")
@require_course_role(CourseRole.participant)
def mark_done(membership, item_id: int):
    viewer = _viewer(membership)
    it = services.get_item(db.session, viewer, item_id)
    if ActionForm().validate_on_submit():
        try:
            services.mark_done(db.session, viewer, it)
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "danger")
        else:
            db.session.commit()
            flash(f"“{it.title}” is done.", "success")
    return redirect(url_for("modules.item", course_id=viewer.program.course_id, item_id=it.id))


@bp.post("/items/<int:item_id>/reflection")
@require_course_role(CourseRole.participant)
def reflect(membership, item_id: int):
    viewer = _viewer(membership)
    it = services.get_item(db.session, viewer, item_id)
    form = ReflectionForm()
    if not form.validate_on_submit():
        return _item_page(viewer, it, form, 400)
    try:
        services.submit_reflection(db.session, viewer, it, form.body.data)
    except services.ItemLocked as exc:
        db.session.rollback()
        state = services.item_state(db.session, viewer, it)
        return render_template("modules/locked.html", **_ctx(viewer, item=it, module=it.module, state=state,
                                                              message=exc.message)), 409
    except DomainError as exc:
        _form_error(form, exc)      # the text stays in the form; nothing was saved
        if not getattr(exc, "field", None):
            form.form_errors.clear()
            form.body.errors = [*list(form.body.errors), exc.message]
        return _item_page(viewer, it, form, exc.status)
    db.session.commit()
    shared = it.reflection_visibility is ReflectionVisibility.shared_to_cohort_thread
    flash("Your reflection is submitted" + (" and shared in your cohort's thread." if shared else "."), "success")
    return redirect(url_for("modules.item", course_id=viewer.program.course_id, item_id=it.id))


@bp.get("/items/<int:item_id>/file")
@require_course_role()
def item_file(membership, item_id: int):
    viewer = _viewer(membership)
    it = services.get_item(db.session, viewer, item_id)
    if membership.role is not CourseRole.facilitator:
        state = services.item_state(db.session, viewer, it)
        if membership.role is not CourseRole.participant or not state.open:
            raise NotFound("There is no such file here.")
    if not it.file_stored_name:
        raise NotFound("This item has no file.")
    return file_response(it.file_stored_name, it.file_original_name, it.file_content_type)


# ---- facilitators: progress and reflections ----------------------------------------------------------------------

@bp.get("/<int:module_id>/progress")
@require_course_role(CourseRole.facilitator)
def progress(membership, module_id: int):
    viewer = _viewer(membership)
    mod = services.get_module(db.session, viewer, module_id)
    grid = services.progress_grid(db.session, viewer, mod)
    return render_template("modules/progress.html", **_ctx(viewer, module=mod, grid=grid))


@bp.get("/<int:module_id>/progress.csv")
@require_course_role(CourseRole.facilitator)
def progress_csv(membership, module_id: int):
    viewer = _viewer(membership)
    mod = services.get_module(db.session, viewer, module_id)
    data = services.grid_csv(services.progress_grid(db.session, viewer, mod))
    return Response(data, mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="module-{mod.id}-progress.csv"',
                             "Cache-Control": "no-store"})


@bp.get("/<int:module_id>/reflections")
@require_course_role(CourseRole.facilitator)
def reflections(membership, module_id: int):
    viewer = _viewer(membership)
    mod = services.get_module(db.session, viewer, module_id)
    rows = services.module_reflections(db.session, viewer, mod)
    return render_template("modules/reflections.html", **_ctx(viewer, module=mod, rows=rows, action=ActionForm()))


@bp.post("/reflections/<int:reflection_id>/feedback")
@require_course_role(CourseRole.facilitator)
def feedback(membership, reflection_id: int):
    viewer = _viewer(membership)
    form = FeedbackForm()
    from lti_tool.modules.models import Reflection

    reflection = db.session.get(Reflection, reflection_id)
    if reflection is None or reflection.item.module.program_id != viewer.program.id:
        raise NotFound("There is no such reflection here.")
    module_id = reflection.item.module_id
    if form.validate_on_submit():
        try:
            services.give_feedback(db.session, viewer, reflection_id, form.feedback.data or "",
                                   float(form.mark.data) if form.mark.data is not None else None)
        except DomainError as exc:
            db.session.rollback()
            if exc.status == 404:
                raise
            flash(exc.message, "danger")
        else:
            db.session.commit()
            flash("Saved the feedback.", "success")
    else:
        flash("The mark must be a number.", "danger")
    return redirect(url_for("modules.reflections", course_id=viewer.program.course_id, module_id=module_id)
                    + f"#reflection-{reflection_id}")


# ---- deep linking ---------------------------------------------------------------------------------------------------

def _placeable_modules(course: Course, membership: Membership) -> list[deep_linking.PlaceableItem]:
    return [deep_linking.PlaceableItem(
        f"module:{m.id}", f"Module: {m.title}",
        f"{len(m.items)} item{'s' if len(m.items) != 1 else ''}, about {m.total_minutes} minutes"
        + (f"; graded out of {m.score_maximum:g}" if m.graded else ""),
        group="Modules", score_maximum=m.score_maximum if m.graded else None, line_item_tag="module")
        for m in services.placeable(db.session, course, membership)]


def _placeable_items(course: Course, membership: Membership) -> list[deep_linking.PlaceableItem]:
    return [deep_linking.PlaceableItem(f"item:{i.id}", f"{m.title}: {i.title}",
                                       f"{i.kind.label}, about {i.minutes} minutes", group="Module items")
            for m in services.placeable(db.session, course, membership) for i in m.items]


def _resolve_module(course_id: int, ident: str) -> str | None:
    if not ident.isdigit():
        return None
    # A placed graded module: its gradebook column belongs to the link just launched.
    if services.tie_placed_link(db.session, course_id, int(ident)):
        db.session.commit()
    return url_for("modules.module", course_id=course_id, module_id=int(ident))


def _resolve_item(course_id: int, ident: str) -> str | None:
    return url_for("modules.item", course_id=course_id, item_id=int(ident)) if ident.isdigit() else None


deep_linking.register_target("module", _placeable_modules, _resolve_module)
deep_linking.register_target("item", _placeable_items, _resolve_item)
