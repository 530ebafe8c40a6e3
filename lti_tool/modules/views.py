"""Module pages of a course (/c/<course_id>/modules/...): the participant's checklist and "my week", a module and
its items, reflections, the facilitators' authoring pages (order with Move up / Move down buttons, copies,
uploads), the progress grid with its CSV, reflections to read, and the weekly budget. Deep linking offers
modules and single items."""
from __future__ import annotations

import datetime as dt

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from wtforms import SelectChoice

from lti_tool.course.forms import ActionForm, form_status, show_error
from lti_tool.course.pages import program_page
from lti_tool.db import db
from lti_tool.errors import Conflict, DomainError, InvalidInput, NotFound
from lti_tool.lti import deep_linking
from lti_tool.lti.models import Course, Membership
from lti_tool.modules import completion, formats, permissions, queries, threads, writes
from lti_tool.modules.forms import (CopyProgramForm, CopyToCohortForm, FeedbackForm, ImportProgramForm,
                                    ItemForm, ModuleForm, ReflectionForm, SettingsForm)
from lti_tool.modules.models import (CompletionRule, GradeMode, ItemKind, ItemRelease, Module, ModuleItem,
                                     ReflectionVisibility, ReleaseRule)
from lti_tool.modules.uploads import file_response

bp = Blueprint("modules", __name__, url_prefix="/c/<int:course_id>/modules")

STATE_KIND = {"Done": "success", "Open": "info", "Locked": "neutral", "Overdue": "warning"}


@bp.context_processor
def _page_context() -> dict:
    """What every module page's template uses: the viewer's access and the module predicates on it."""
    access = g.get("access")
    if access is None or access.program is None:
        return {}
    return {"access": access, "program": access.program, "course_id": access.course_id, "state_kind": STATE_KIND,
            "embed_url": queries.embed_url, "say_date": queries.say_date, "manages_module": permissions.manages,
            "edits_module": permissions.edits}


def _back(access, module_id: int | None = None):
    if module_id:
        return redirect(url_for("modules.module", course_id=access.course_id, module_id=module_id))
    return redirect(url_for("modules.index", course_id=access.course_id))


# ---- lists ----------------------------------------------------------------------------------------------------

@bp.get("/")
@program_page()
def index(access):
    """The checklist of the modules a participant takes and "my week"; the modules a facilitator manages."""
    modules = queries.visible_modules(db.session, access)
    states = queries.states_for(db.session, access, [m for m in modules if permissions.takes(access, m)])
    week = queries.my_week(db.session, access, modules, states) if access.is_participant else None
    cohorts = {c.id: c for c in queries.program_cohorts(db.session, access.program)}
    return render_template("modules/index.html", modules=modules, states=states, week=week, cohorts=cohorts,
                           action=ActionForm())


@bp.post("/<int:module_id>/move")
@program_page(lead=True)
def move_module(access, module_id: int):
    module = queries.get_module(db.session, access, module_id)
    if ActionForm().validate_on_submit():
        direction = request.form.get("direction", "")
        if writes.move_module(db.session, access, module, direction):
            db.session.commit()
            flash(f"Moved “{module.title}” {direction}.", "success")
    return redirect(url_for("modules.index", course_id=access.course_id) + f"#module-{module.id}")


# ---- module authoring -------------------------------------------------------------------------------------------

def _dates_from_form(access) -> dict[int, tuple[dt.date | None, dt.date | None]]:
    dates = {}
    for cohort in queries.program_cohorts(db.session, access.program):
        values = []
        for prefix in ("opens_on", "due_on"):
            raw = request.form.get(f"{prefix}_{cohort.id}", "").strip()
            try:
                values.append(dt.date.fromisoformat(raw) if raw else None)
            except ValueError:
                raise InvalidInput("Give dates as year-month-day, e.g. 2031-02-03.", f"{prefix}_{cohort.id}")
        dates[cohort.id] = (values[0], values[1])
    return dates


def _module_form_page(access, form, module: Module | None, status: int = 200, date_errors: dict | None = None):
    choosable = [c for c in queries.program_cohorts(db.session, access.program) if access.manages(c)]
    form.cohort_ids.choices = [SelectChoice(c.id, c.name) for c in choosable]
    others = [m for m in queries.program_modules(db.session, access.program) if module is None or m.id != module.id]
    form.after_module_id.choices = [SelectChoice(0, "— choose —")] + [SelectChoice(m.id, m.title) for m in others]
    links = {link.cohort_id: link for link in module.cohort_links} if module else {}
    return render_template("modules/module_form.html", form=form, module=module, cohorts=choosable, links=links,
                           date_errors=date_errors or {}), status


def _save_module(access, form, module: Module | None):
    try:
        saved = writes.save_module(
            db.session, access, module, title=form.title.data, overview=form.overview.data or "",
            cohort_ids=form.cohort_ids.data or [], release_rule=ReleaseRule(form.release_rule.data),
            released=form.released.data, after_module_id=form.after_module_id.data or None,
            dates=_dates_from_form(access), grade_mode=GradeMode(form.grade_mode.data),
            score_maximum=float(form.score_maximum.data or 100))
    except InvalidInput as exc:
        if (exc.field or "").startswith(("opens_on_", "due_on_")):   # a date of one cohort: shown beside it
            db.session.rollback()
            return _module_form_page(access, form, module, 400, {exc.field: exc.message})
        show_error(form, exc)
        return _module_form_page(access, form, module, 400)
    db.session.commit()
    flash(f"Saved the module “{saved.title}”.", "success")
    return _back(access, saved.id)


@bp.route("/new", methods=["GET", "POST"])
@program_page(manager=True)
def new_module(access):
    form = ModuleForm()
    if request.method == "GET" and len(access.managed) == 1:
        form.cohort_ids.data = list(access.managed)
    if request.method == "POST":
        _module_form_page(access, form, None)   # choices, for validation
        if form.validate():
            return _save_module(access, form, None)
        return _module_form_page(access, form, None, 400)
    return _module_form_page(access, form, None)


@bp.route("/<int:module_id>/edit", methods=["GET", "POST"])
@program_page(manager=True)
def edit_module(access, module_id: int):
    module = queries.get_module(db.session, access, module_id)
    permissions.require_editor(access, module)
    form = ModuleForm(obj=module if request.method == "GET" else None)
    if request.method == "GET":
        form.cohort_ids.data = module.cohort_ids
        form.release_rule.data = module.release_rule.value
        form.grade_mode.data = module.grade_mode.value
        form.after_module_id.data = module.after_module_id or 0
    if request.method == "POST":
        _module_form_page(access, form, module)
        if form.validate():
            return _save_module(access, form, module)
        return _module_form_page(access, form, module, 400)
    return _module_form_page(access, form, module)


@bp.post("/<int:module_id>/<any(duplicate, delete, release, withdraw):action>")
@program_page(manager=True)
def module_action(access, module_id: int, action: str):
    module = queries.get_module(db.session, access, module_id)
    title = module.title
    if action == "duplicate":
        copy = writes.duplicate_module(db.session, access, module)
        db.session.commit()
        flash(f"Made “{copy.title}”. It is not released yet.", "success")
        return _back(access, copy.id)
    if action == "delete":
        writes.delete_module(db.session, access, module)
        db.session.commit()
        flash(f"Deleted “{title}”.", "success")
        return _back(access)
    writes.set_released(db.session, access, module, action == "release")
    db.session.commit()
    flash(f"“{title}” is {'released' if action == 'release' else 'no longer released'}.", "success")
    return _back(access, module.id)


@bp.post("/<int:module_id>/copy")
@program_page(manager=True)
def copy_to_cohort(access, module_id: int):
    module = queries.get_module(db.session, access, module_id)
    form = CopyToCohortForm()
    if form.validate_on_submit():
        try:
            copy = writes.copy_module_to_cohort(db.session, access, module, form.cohort_id.data)
        except InvalidInput as exc:
            db.session.rollback()
            flash(exc.message, "danger")
            return _back(access, module.id)
        db.session.commit()
        flash(f"Copied to “{copy.title}”. It is not released yet.", "success")
        return _back(access, copy.id)
    flash("Choose a cohort to copy the module to.", "danger")
    return _back(access, module.id)


def _program_choice(program) -> str:
    """"Title · course (year)", leaving out what the title already says."""
    text = program.title
    if program.course.display_title not in text:
        text += f" · {program.course.display_title}"
    year = program.year_label or (f"from {queries.say_date(program.starts_on)}" if program.starts_on else "")
    return text + (f" ({year})" if year and year not in text else "")


def _year_to_year_page(access, copy_form=None, import_form=None, status: int = 200):
    others = queries.copy_targets(db.session, access)
    copy_form = copy_form or CopyProgramForm(prefix="copy")
    import_form = import_form or ImportProgramForm(prefix="bring")
    choices = [SelectChoice(p.id, _program_choice(p)) for p, _m in others]
    copy_form.program_id.choices = import_form.program_id.choices = choices
    shifts = {p.id: queries.default_shift_days(access.program, p) for p, _m in others}
    return render_template("modules/copy_program.html", copy_form=copy_form, import_form=import_form, others=others,
                           shifts=shifts, choice_label=_program_choice), status


def _copied_message(result: writes.ProgramCopy, here: bool) -> str:
    n = len(result.modules)
    text = f"Copied {n} module{'s' if n != 1 else ''} {'from' if here else 'into'} “{(result.source if here else result.target).title}”. "
    if result.with_cohorts:
        text += (f"{result.with_cohorts} went to cohorts of the same name, their dates moved by "
                 f"{result.shift_days} days; ")
    text += "the others are for no cohort yet. Nothing is released until you release it."
    return text


@bp.route("/copy-program", methods=["GET", "POST"])
@program_page(lead=True)
def copy_program(access):
    """Year to year: copy this program's modules into another program the lead leads, or bring them here."""
    if request.method == "GET":
        return _year_to_year_page(access)
    return _copy_between_programs(access, CopyProgramForm(prefix="copy"), writes.copy_program_modules, here=False)


@bp.post("/import-program")
@program_page(lead=True)
def import_program(access):
    return _copy_between_programs(access, ImportProgramForm(prefix="bring"), writes.import_program_modules,
                                  here=True)


def _copy_between_programs(access, form: CopyProgramForm, copy, here: bool):
    """Run one of the two year-to-year copies from its form; the page again, with the reason, when refused."""
    page_form = {"import_form" if here else "copy_form": form}
    _year_to_year_page(access, **page_form)     # sets the choices
    if not form.validate_on_submit():
        return _year_to_year_page(access, **page_form, status=400)
    if form.program_id.data not in {c.value for c in form.program_id.choices}:
        form.program_id.errors = [*form.program_id.errors, "Choose one of the programs you lead."]
        return _year_to_year_page(access, **page_form, status=400)
    try:
        result = copy(db.session, access, form.program_id.data, shift_days=form.shift_days.data,
                      match_cohorts=form.match_cohorts.data)
    except DomainError as exc:      # bad input, nothing to copy (409), a program they no longer lead (404)
        show_error(form, exc)
        return _year_to_year_page(access, **page_form, status=exc.status)
    db.session.commit()
    flash(_copied_message(result, here=here), "success")
    return _back(access)


@bp.route("/settings", methods=["GET", "POST"])
@program_page(lead=True)
def settings(access):
    form = SettingsForm()
    if request.method == "GET":
        form.weekly_budget_minutes.data = queries.weekly_budget(db.session, access.program)
    if form.validate_on_submit():
        try:
            writes.update_settings(db.session, access, form.weekly_budget_minutes.data)
        except InvalidInput as exc:
            show_error(form, exc)
        else:
            db.session.commit()
            flash("Saved the weekly time budget.", "success")
            return _back(access)
    return render_template("modules/settings.html", form=form), form_status()


# ---- a module ------------------------------------------------------------------------------------------------------

@bp.get("/<int:module_id>")
@program_page()
def module(access, module_id: int):
    mod = queries.get_module(db.session, access, module_id)
    state = queries.states_for(db.session, access, [mod])[mod.id] if permissions.takes(access, mod) else None
    cohorts = {c.id: c for c in queries.program_cohorts(db.session, access.program)}
    copy_form = CopyToCohortForm()
    copy_form.cohort_id.choices = [SelectChoice(cid, cohorts[cid].name)
                                   for cid in sorted(access.managed, key=lambda c: cohorts[c].name)]
    return render_template("modules/module.html", module=mod, state=state, cohorts=cohorts, action=ActionForm(),
                           copy_form=copy_form, item_kinds=list(ItemKind))


# ---- items --------------------------------------------------------------------------------------------------------

def _item_form_page(access, form, module, item, kind: ItemKind, status: int = 200):
    readings, thread_choices = queries.book_study_choices(db.session, access)
    form.reading_id.choices = [SelectChoice(0, "— none —")] + [SelectChoice(*r) for r in readings]
    form.thread_id.choices = [SelectChoice(0, "— none —")] + [SelectChoice(*t) for t in thread_choices]
    return render_template("modules/item_form.html", form=form, module=module, item=item, kind=kind,
                           has_readings=bool(readings)), status


def _save_item(access, form, module, item, kind: ItemKind):
    readings, thread_choices = queries.book_study_choices(db.session, access)
    titles = dict(readings + thread_choices)
    upload = None
    if form.upload.data and getattr(form.upload.data, "filename", ""):
        upload = (form.upload.data.filename, form.upload.data.read())
    linked = titles.get(form.thread_id.data or 0) or titles.get(form.reading_id.data or 0) or ""
    try:
        saved = writes.save_item(
            db.session, access, module, item, kind=kind, title=form.title.data, body=form.body.data or "",
            url=form.url.data or "", embed=form.embed.data, minutes=form.minutes.data, required=form.required.data,
            completion_rule=next((r for r in CompletionRule if r.value == form.completion_rule.data), None),
            release=ItemRelease(form.release.data),
            reflection_visibility=ReflectionVisibility(form.reflection_visibility.data),
            reading_id=form.reading_id.data or None, thread_id=form.thread_id.data or None, linked_title=linked,
            upload=upload, remove_file=form.remove_file.data)
    except InvalidInput as exc:
        show_error(form, exc)
        return _item_form_page(access, form, module, item, kind, 400)
    db.session.commit()
    flash(f"Saved “{saved.title}”.", "success")
    return redirect(url_for("modules.module", course_id=access.course_id, module_id=module.id)
                    + f"#item-{saved.id}")


@bp.route("/<int:module_id>/items/new", methods=["GET", "POST"])
@program_page(manager=True)
def new_item(access, module_id: int):
    mod = queries.get_module(db.session, access, module_id)
    permissions.require_editor(access, mod)
    try:
        kind = ItemKind(request.values.get("kind", "page"))
    except ValueError:
        raise NotFound("There is no such kind of item.") from None
    form = ItemForm()
    if request.method == "GET":
        form.completion_rule.data = {ItemKind.reflection: "reflection_submitted",
                                     ItemKind.discussion: "posted_in_thread"}.get(kind, "viewed")
    if request.method == "POST":
        _item_form_page(access, form, mod, None, kind)
        if form.validate():
            return _save_item(access, form, mod, None, kind)
        return _item_form_page(access, form, mod, None, kind, 400)
    return _item_form_page(access, form, mod, None, kind)


@bp.route("/items/<int:item_id>/edit", methods=["GET", "POST"])
@program_page(manager=True)
def edit_item(access, item_id: int):
    item = queries.get_item(db.session, access, item_id)
    permissions.require_editor(access, item.module)
    form = ItemForm(obj=item if request.method == "GET" else None)
    if request.method == "GET":
        form.embed.data = bool(item.video_provider) or item.kind is not ItemKind.video
        form.completion_rule.data = item.completion_rule.value
        form.release.data = item.release.value
        form.reflection_visibility.data = item.reflection_visibility.value
        form.reading_id.data, form.thread_id.data = item.reading_id or 0, item.thread_id or 0
    if request.method == "POST":
        _item_form_page(access, form, item.module, item, item.kind)
        if form.validate():
            return _save_item(access, form, item.module, item, item.kind)
        return _item_form_page(access, form, item.module, item, item.kind, 400)
    return _item_form_page(access, form, item.module, item, item.kind)


@bp.post("/items/<int:item_id>/<any(up, down, delete):action>")
@program_page(manager=True)
def item_action(access, item_id: int, action: str):
    item = queries.get_item(db.session, access, item_id)
    module_id, title = item.module_id, item.title
    if action == "delete":
        writes.delete_item(db.session, access, item)
        db.session.commit()
        flash(f"Deleted “{title}”.", "success")
        return _back(access, module_id)
    moved = writes.move_item(db.session, access, item, action)
    db.session.commit()
    if moved:
        flash(f"Moved “{title}” {action}.", "success")
    # Focus comes back to the same button (static/js/modules.js), so Move up can be pressed again.
    # No #fragment here: scrolling to it would take the focus away from the button again.
    return redirect(url_for("modules.module", course_id=access.course_id, module_id=module_id,
                            focus=f"{action}-{item_id}"))


def _locked_page(access, it: ModuleItem, exc: writes.ItemLocked, status: int):
    db.session.rollback()
    state = queries.item_state(db.session, access, it)
    return render_template("modules/locked.html", item=it, module=it.module, state=state,
                           message=exc.message), status


@bp.get("/items/<int:item_id>")
@program_page()
def item(access, item_id: int):
    it = queries.get_item(db.session, access, item_id)
    try:
        writes.open_item(db.session, access, it)
    except writes.ItemLocked as exc:
        return _locked_page(access, it, exc, 403)
    db.session.commit()
    return _item_page(access, it)


def _item_page(access, it: ModuleItem, form: ReflectionForm | None = None, status: int = 200):
    """The item as the viewer sees it; ``form`` keeps a reflection that could not be saved."""
    taking = permissions.takes(access, it.module)
    module_state = queries.states_for(db.session, access, [it.module])[it.module_id] if taking else None
    state = next((s for s in module_state.items if s.item.id == it.id), None) if module_state else None
    reflections = queries.reflections_on(db.session, access, it) if it.kind is ItemKind.reflection else []
    mine = next((r for r in reflections if r.membership_id == access.id), None)
    form = form or ReflectionForm(obj=mine)
    places = threads.places_for_viewer(db.session, access, it)
    db.session.commit()     # a thread due to exist may just have been opened
    reading = threads.reading_of(db.session, it, access.program.id)
    next_state = None
    if module_state is not None:
        ids = [s.item.id for s in module_state.items]
        idx = ids.index(it.id)
        next_state = module_state.items[idx + 1] if idx + 1 < len(ids) else None
    return render_template("modules/item.html", item=it, module=it.module, taking=taking, state=state,
                           module_state=module_state, reflections=reflections, mine=mine, form=form,
                           action=ActionForm(), places=places, reading=reading, next_state=next_state), status


@bp.post("/items/<int:item_id>/done")
@program_page()
def mark_done(access, item_id: int):
    it = queries.get_item(db.session, access, item_id)
    if ActionForm().validate_on_submit():
        try:
            writes.mark_done(db.session, access, it)
        except Conflict as exc:     # locked, or not done by marking it
            db.session.rollback()
            flash(exc.message, "danger")
        else:
            db.session.commit()
            flash(f"“{it.title}” is done.", "success")
    return redirect(url_for("modules.item", course_id=access.course_id, item_id=it.id))


@bp.post("/items/<int:item_id>/reflection")
@program_page()
def reflect(access, item_id: int):
    it = queries.get_item(db.session, access, item_id)
    form = ReflectionForm()
    if not form.validate_on_submit():
        return _item_page(access, it, form, 400)
    try:
        writes.submit_reflection(db.session, access, it, form.body.data)
    except writes.ItemLocked as exc:
        return _locked_page(access, it, exc, 409)
    except (InvalidInput, Conflict) as exc:     # the text stays in the form; nothing was saved
        db.session.rollback()
        form.body.errors = [*list(form.body.errors), exc.message]
        return _item_page(access, it, form, exc.status)
    db.session.commit()
    shared = it.reflection_visibility is ReflectionVisibility.shared_to_cohort_thread
    flash("Your reflection is submitted" + (" and shared in your cohort's thread." if shared else "."), "success")
    return redirect(url_for("modules.item", course_id=access.course_id, item_id=it.id))


@bp.get("/items/<int:item_id>/file")
@program_page()
def item_file(access, item_id: int):
    it = queries.get_item(db.session, access, item_id)
    if not permissions.manages(access, it.module):
        if not permissions.takes(access, it.module) or not queries.item_state(db.session, access, it).open:
            raise NotFound("There is no such file here.")
    if not it.file_stored_name:
        raise NotFound("This item has no file.")
    return file_response(it.file_stored_name, it.file_original_name, it.file_content_type)


# ---- facilitators: progress and reflections ----------------------------------------------------------------------

@bp.get("/<int:module_id>/progress")
@program_page(manager=True)
def progress(access, module_id: int):
    mod = queries.get_module(db.session, access, module_id)
    grid = queries.progress_grid(db.session, access, mod)
    return render_template("modules/progress.html", module=mod, grid=grid)


@bp.get("/<int:module_id>/progress.csv")
@program_page(manager=True)
def progress_csv(access, module_id: int):
    mod = queries.get_module(db.session, access, module_id)
    return formats.progress_download(queries.progress_grid(db.session, access, mod))


@bp.get("/<int:module_id>/reflections")
@program_page(manager=True)
def reflections(access, module_id: int):
    mod = queries.get_module(db.session, access, module_id)
    rows = queries.module_reflections(db.session, access, mod)
    return render_template("modules/reflections.html", module=mod, rows=rows, action=ActionForm())


@bp.post("/reflections/<int:reflection_id>/feedback")
@program_page(manager=True)
def feedback(access, reflection_id: int):
    reflection = queries.get_reflection(db.session, access, reflection_id)
    module_id = reflection.item.module_id
    form = FeedbackForm()
    if form.validate_on_submit():
        try:
            writes.give_feedback(db.session, access, reflection, form.feedback.data or "",
                                 float(form.mark.data) if form.mark.data is not None else None)
        except InvalidInput as exc:
            db.session.rollback()
            flash(exc.message, "danger")
        else:
            db.session.commit()
            flash("Saved the feedback.", "success")
    else:
        flash("The mark must be a number.", "danger")
    return redirect(url_for("modules.reflections", course_id=access.course_id, module_id=module_id)
                    + f"#reflection-{reflection_id}")


# ---- deep linking ---------------------------------------------------------------------------------------------------

def _placeable_modules(course: Course, membership: Membership) -> list[deep_linking.PlaceableItem]:
    return [deep_linking.PlaceableItem(
        f"module:{m.id}", f"Module: {m.title}",
        f"{len(m.items)} item{'s' if len(m.items) != 1 else ''}, about {m.total_minutes} minutes"
        + (f"; graded out of {m.score_maximum:g}" if m.graded else ""),
        group="Modules", score_maximum=m.score_maximum if m.graded else None, line_item_tag="module")
        for m in queries.placeable(db.session, membership)]


def _placeable_items(course: Course, membership: Membership) -> list[deep_linking.PlaceableItem]:
    return [deep_linking.PlaceableItem(f"item:{i.id}", f"{m.title}: {i.title}",
                                       f"{i.kind.label}, about {i.minutes} minutes", group="Module items")
            for m in queries.placeable(db.session, membership) for i in m.items]


def _resolve_module(course_id: int, ident: str) -> str | None:
    if not ident.isdigit():
        return None
    # A placed graded module: its gradebook column belongs to the link just launched.
    if completion.tie_placed_link(db.session, course_id, int(ident)):
        db.session.commit()
    return url_for("modules.module", course_id=course_id, module_id=int(ident))


def _resolve_item(course_id: int, ident: str) -> str | None:
    return url_for("modules.item", course_id=course_id, item_id=int(ident)) if ident.isdigit() else None


deep_linking.register_target("module", _placeable_modules, _resolve_module)
deep_linking.register_target("item", _placeable_items, _resolve_item)
