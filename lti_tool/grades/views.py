"""The grade passback page: each graded component's LMS column, and per person what was sent, what is
pending and what failed (with the LMS's reason); "sync now" as a job with a progress bar, retrying one
failed score, and editing a column's label and maximum (leads)."""
from __future__ import annotations

import math
import zoneinfo

from flask import Blueprint, flash, redirect, render_template, request, url_for
from wtforms import SelectChoice

from lti_tool.auth import require_course_role
from lti_tool.db import db, utcnow
from lti_tool.errors import DomainError
from lti_tool.grades import services
from lti_tool.grades.forms import ActionForm, ComponentForm, FilterForm
from lti_tool.lti.models import CourseRole, Membership

bp = Blueprint("grades", __name__, url_prefix="/c/<int:course_id>/grades")

PAGE_SIZE = 100


def _zone(membership: Membership) -> zoneinfo.ZoneInfo:
    """The viewer's zone: their own choice, else the program's, else UTC."""
    from lti_tool.programs.services import program_for_course

    for name in (membership.user.timezone,
                 getattr(program_for_course(db.session, membership.course), "timezone", None)):
        if name:
            try:
                return zoneinfo.ZoneInfo(name)
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                continue
    return zoneinfo.ZoneInfo("UTC")


def _number(value) -> str:
    if value is None:
        return "—"
    return f"{value:g}"


def _filters() -> dict:
    """The page's filters, from the query string or from a form's hidden fields (after an action)."""
    source = request.form if request.method == "POST" else request.args
    person = source.get("person", "")
    status = source.get("status", "")
    return {"person": int(person) if person.isdigit() else None,
            "status": status if status in services.PASSBACK_STATES else None}


def _back(**filters):
    return redirect(url_for("grades.status", course_id=request.view_args["course_id"],
                            **{k: v for k, v in filters.items() if v is not None}))


@bp.route("/")
@require_course_role(CourseRole.facilitator)
def status(membership):
    course = membership.course
    filters = _filters()
    components, people, cells = services.passback_status(db.session, course, membership_id=filters["person"],
                                                         state=filters["status"])
    form = FilterForm(formdata=None, data={"person": filters["person"], "status": filters["status"] or ""})
    form.person.choices = [SelectChoice("", "Everyone")] + [SelectChoice(m.id, m.user.display_name) for m in people]
    pages = max(1, math.ceil(len(cells) / PAGE_SIZE))
    page = min(max(1, request.args.get("page", 1, type=int)), pages)
    zone = _zone(membership)
    return render_template(
        "grades/status.html", membership=membership, course=course, components=components, people=people,
        cells=cells[(page - 1) * PAGE_SIZE:page * PAGE_SIZE], cell_count=len(cells), page=page, pages=pages,
        filters=filters, form=form, action_form=ActionForm(),
        summary=services.delivery_summary(db.session, course),
        can_edit=services.can_edit_components(db.session, membership),
        column_state=lambda c: services.column_state(c, course),
        running=services.running_sync(db.session, course.id),
        describe_error=services.describe_error, zone=zone, local=lambda v: v.astimezone(zone) if v else None, now=utcnow(), number=_number)


@bp.route("/sync", methods=["POST"])
@require_course_role(CourseRole.facilitator)
def sync(membership):
    form = ActionForm()
    if not form.validate_on_submit():
        flash("The form had expired; please press “Sync now” again.", "warning")
        return _back()
    job, _ = services.request_sync(db.session, membership)
    db.session.commit()
    return redirect(url_for("jobs.show", course_id=membership.course_id, job_id=job.id,
                            next=url_for("grades.status", course_id=membership.course_id)))


@bp.route("/deliveries/<int:delivery_id>/retry", methods=["POST"])
@require_course_role(CourseRole.facilitator)
def retry(membership, delivery_id: int):
    form = ActionForm()
    filters = _filters()
    if not form.validate_on_submit():
        flash("The form had expired; please press “Retry” again.", "warning")
        return _back(**filters)
    row = services.retry_delivery(db.session, membership, delivery_id)
    who = row.membership.user.display_name
    column = row.component.label
    db.session.commit()   # the after-commit hook queues the delivery
    db.session.refresh(row)
    if row.status.value == "sent":
        flash(f"{who}’s score for {column} was sent again and the LMS took it.", "success")
    elif row.status.value == "failed":
        flash(f"{who}’s score for {column} was sent again and the LMS refused it again: {services.describe_error(row)[0]}", "danger")
    else:
        flash(f"{who}’s score for {column} will be sent again in a moment.", "info")
    return _back(**filters)


@bp.route("/components/<int:component_id>", methods=["GET", "POST"])
@require_course_role(CourseRole.facilitator)
def edit_component(membership, component_id: int):
    component = services.get_component(db.session, membership, component_id)
    can_edit = services.can_edit_components(db.session, membership)
    form = ComponentForm(obj=component) if request.method == "GET" else ComponentForm()
    if request.method == "POST" and not can_edit:
        from lti_tool.errors import Forbidden

        raise Forbidden("Only the program's leads can change a gradebook column.")
    if can_edit and form.validate_on_submit():
        try:
            services.update_component(db.session, membership, component.id, label=form.label.data,
                                      score_maximum=float(form.score_maximum.data))
        except DomainError as exc:
            db.session.rollback()
            form.form_errors.append(exc.message)
        else:
            db.session.commit()
            services.sync_columns_task(membership.course_id)
            flash(f"Saved “{component.label}”. The LMS column follows the new label and maximum.", "success")
            return redirect(url_for("grades.status", course_id=membership.course_id))
    state = services.column_state(component, membership.course)
    status_code = 400 if form.errors or form.form_errors else 200
    return render_template("grades/component.html", membership=membership, component=component, form=form,
                           can_edit=can_edit, state=state, number=_number), status_code
