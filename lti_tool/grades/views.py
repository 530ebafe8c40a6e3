"""The grade passback page: each graded component's LMS column, and per person what was sent, what is
pending and what failed (with the LMS's reason); "sync now" as a job with a progress bar, retrying one
failed score, and editing a column's label and maximum (leads). Course-wide pages for the course's staff."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from wtforms import SelectChoice

from lti_tool.course.access import Access
from lti_tool.course.forms import ActionForm, show_error
from lti_tool.course.pages import program_page
from lti_tool.db import db, utcnow
from lti_tool.errors import InvalidInput
from lti_tool.grades import queries, writes
from lti_tool.grades.forms import ComponentForm, FilterForm
from lti_tool.grades.models import DeliveryStatus

bp = Blueprint("grades", __name__, url_prefix="/c/<int:course_id>/grades")


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
            "status": status if status in queries.PASSBACK_STATES else None}


def _back(access: Access, **filters):
    return redirect(url_for("grades.status", course_id=access.course_id,
                            **{k: v for k, v in filters.items() if v is not None}))


@bp.route("/")
@program_page(staff=True)
def status(access: Access):
    filters = _filters()
    passback = queries.passback_page(db.session, access, person=filters["person"], state=filters["status"],
                                     page=request.args.get("page", 1, type=int))
    form = FilterForm(formdata=None, data={"person": filters["person"], "status": filters["status"] or ""})
    form.person.choices = [SelectChoice("", "Everyone")] + [SelectChoice(m.id, m.user.display_name)
                                                            for m in passback.people]
    return render_template("grades/status.html", access=access, course=passback.course, passback=passback,
                           filters=filters, form=form, action_form=ActionForm(),
                           describe_error=queries.describe_error, now=utcnow(), number=_number)


@bp.route("/sync", methods=["POST"])
@program_page(staff=True)
def sync(access: Access):
    form = ActionForm()
    if not form.validate_on_submit():
        flash("The form had expired; please press “Sync now” again.", "warning")
        return _back(access)
    job, _ = writes.request_sync(db.session, access)
    db.session.commit()
    return redirect(url_for("jobs.show", course_id=access.course_id, job_id=job.id,
                            next=url_for("grades.status", course_id=access.course_id)))


@bp.route("/deliveries/<int:delivery_id>/retry", methods=["POST"])
@program_page(staff=True)
def retry(access: Access, delivery_id: int):
    form = ActionForm()
    filters = _filters()
    if not form.validate_on_submit():
        flash("The form had expired; please press “Retry” again.", "warning")
        return _back(access, **filters)
    row = writes.retry_delivery(db.session, access, delivery_id)
    who = row.membership.user.display_name
    column = row.component.label
    db.session.commit()   # the after-commit hook queues the delivery
    db.session.refresh(row)
    if row.status is DeliveryStatus.sent:
        flash(f"{who}’s score for {column} was sent again and the LMS took it.", "success")
    elif row.status is DeliveryStatus.failed:
        flash(f"{who}’s score for {column} was sent again and the LMS refused it again: "
              f"{queries.describe_error(row)[0]}", "danger")
    else:
        flash(f"{who}’s score for {column} will be sent again in a moment.", "info")
    return _back(access, **filters)


@bp.route("/components/<int:component_id>", methods=["GET", "POST"])
@program_page(staff=True)
def edit_component(access: Access, component_id: int):
    component = queries.get_component(db.session, access, component_id)
    if request.method == "POST":
        access.require_lead("change a gradebook column")
    form = ComponentForm(obj=component) if request.method == "GET" else ComponentForm()
    if access.lead and form.validate_on_submit():
        try:
            writes.update_component(db.session, access, component.id, label=form.label.data,
                                    score_maximum=float(form.score_maximum.data))
        except InvalidInput as exc:
            show_error(form, exc)
        else:
            db.session.commit()   # the after-commit hook brings the LMS column in step
            flash(f"Saved “{component.label}”. The LMS column follows the new label and maximum.", "success")
            return redirect(url_for("grades.status", course_id=access.course_id))
    status_code = 400 if form.errors or form.form_errors else 200
    return render_template("grades/component.html", access=access, component=component, form=form,
                           state=queries.column_state(component, access.course), number=_number), status_code
