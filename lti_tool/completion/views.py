"""Completion pages of a course (/c/<course_id>/completion/...): a person's forecast with what they still need
("My progress" for a participant), a cohort sorted by risk for those who manage it, and the leads' rule builder
with its live preview, drafts, versions and gradebook settings."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for

from lti_tool.completion import queries, writes
from lti_tool.completion.forms import GROUPS, RuleForm, GradingForm
from lti_tool.completion.rules import STATE_LABELS, STATES
from lti_tool.course.access import Access
from lti_tool.course.forms import ActionForm, form_status, saved
from lti_tool.course.pages import program_page
from lti_tool.db import db
from lti_tool.errors import InvalidInput
from lti_tool.programs.queries import managed_cohorts

bp = Blueprint("completion", __name__, url_prefix="/c/<int:course_id>/completion")
STATE_BADGES = {"met": "success", "on_track": "info", "at_risk": "warning", "cannot_meet": "danger"}


def _render(template: str, access: Access, **context):
    return render_template(template, access=access, program=access.program, state_labels=STATE_LABELS,
                           state_badges=STATE_BADGES, states=STATES, **context)


def _cohort_arg() -> int | None:
    value = request.args.get("cohort", "")
    return int(value) if value.isdigit() else None


@bp.route("/")
@program_page()
def home(access):
    if access.managed:
        cohorts = managed_cohorts(db.session, access)
        if cohorts:
            return redirect(url_for(".cohort", course_id=access.course_id, cohort_id=cohorts[0].id))
        return redirect(url_for(".rule", course_id=access.course_id))
    return redirect(url_for(".person", course_id=access.course_id, membership_id=access.id))


@bp.route("/people/<int:membership_id>")
@program_page()
def person(access, membership_id):
    page = queries.person_page(db.session, access, membership_id)
    return _render("completion/person.html", access, page=page, own=membership_id == access.id)


@bp.route("/cohorts/<int:cohort_id>")
@program_page(manager=True)
def cohort(access, cohort_id):
    cohort = queries.managed_cohort(db.session, access, cohort_id)
    return _render("completion/cohort.html", access, page=queries.cohort_page(db.session, access, cohort),
                   cohorts=managed_cohorts(db.session, access))


def _rule_page(access: Access, cohort_id: int | None, form: RuleForm | None = None, status: int = 200):
    page = queries.rule_page(db.session, access, cohort_id)
    editable = True
    if form is None:
        form = RuleForm(formdata=None)
        shown = page.draft or (page.rule.current_version if page.rule else None)
        editable = form.fill(shown.tree if shown else None)
    form.set_choices(page.titles)
    grading = GradingForm(formdata=None, obj=page.rule) if page.rule else GradingForm(formdata=None)
    return _render("completion/rule.html", access, page=page, form=form, editable=editable, groups=GROUPS,
                   grading=grading, action=ActionForm(), cohort_id=cohort_id), status


@bp.route("/rule", methods=["GET", "POST"])
@program_page(lead=True)
def rule(access):
    cohort_id = _cohort_arg()
    if request.method == "GET":
        return _rule_page(access, cohort_id)
    form = RuleForm()
    form.set_choices(queries.module_titles(db.session, access.program))
    done = saved(form, lambda: writes.save_draft(db.session, access, cohort_id, form.tree(), form.note.data or ""),
                 "Draft saved. Check the preview below, then apply it.",
                 url_for(".rule", course_id=access.course_id, cohort=cohort_id) + "#draft")
    return done or _rule_page(access, cohort_id, form, form_status())


@bp.route("/rule/preview", methods=["POST"])
@program_page(lead=True)
def live_preview(access):
    """The builder's live preview (htmx, on every change): who would meet the rows as they stand, nothing saved."""
    cohort_id = _cohort_arg()
    form = RuleForm()
    form.set_choices(queries.module_titles(db.session, access.program))
    error, found = None, None
    if form.validate():
        try:
            tree = writes.check(db.session, access.program, cohort_id, form.tree())
            found = queries.preview(db.session, access.program, cohort_id, tree)
        except InvalidInput as exc:
            error = str(exc)
    else:
        error = "Check the numbers: each is a number from 0 to 10,000."
    db.session.rollback()
    return render_template("completion/_preview.html", preview=found, error=error, state_labels=STATE_LABELS,
                           state_badges=STATE_BADGES, states=STATES, live=True)


def _version_action(access: Access, version_id: int, change, message: str):
    version = queries.get_version(db.session, access, version_id)
    cohort_id = version.rule.cohort_id
    change(version.id)
    db.session.commit()
    flash(message, "success")
    return redirect(url_for(".rule", course_id=access.course_id, cohort=cohort_id))


@bp.route("/versions/<int:version_id>/apply", methods=["POST"])
@program_page(lead=True)
def apply(access, version_id):
    return _version_action(access, version_id, lambda vid: writes.apply_draft(db.session, access, vid),
                           "The new version of the rule applies now; everyone's standing has been worked out again.")


@bp.route("/versions/<int:version_id>/discard", methods=["POST"])
@program_page(lead=True)
def discard(access, version_id):
    return _version_action(access, version_id, lambda vid: writes.discard_draft(db.session, access, vid),
                           "Draft discarded; the rule in force is unchanged.")


@bp.route("/versions/<int:version_id>/restore", methods=["POST"])
@program_page(lead=True)
def restore(access, version_id):
    return _version_action(access, version_id, lambda vid: writes.restore_version(db.session, access, vid),
                           "That version is now the draft: check the preview, then apply it.")


@bp.route("/rule/grading", methods=["POST"])
@program_page(lead=True)
def grading(access):
    cohort_id = _cohort_arg()
    form = GradingForm()
    writes.set_grading(db.session, access, cohort_id, graded=bool(form.graded.data),
                       graded_criteria=bool(form.graded_criteria.data))
    db.session.commit()
    flash("Gradebook settings saved." + (" Scores go to the LMS through the grades outbox." if form.graded.data
                                          else ""), "success")
    return redirect(url_for(".rule", course_id=access.course_id, cohort=cohort_id))
