"""PD-hours pages of a course (/c/<course_id>/hours/...): a person's ledger with where each line comes from
("My hours" for a participant, with their certificates), its CSV, the program's ledger per person for those who
manage cohorts (and its CSV), the lines a lead adds by hand, and the lead's profile settings."""
from __future__ import annotations

from decimal import Decimal

from flask import Blueprint, flash, redirect, render_template, request, url_for

from lti_tool.certificates.queries import person_certificates
from lti_tool.course.access import Access
from lti_tool.course.csvfile import csv_response
from lti_tool.course.forms import ActionForm, form_status, saved
from lti_tool.course.pages import program_page
from lti_tool.db import db
from lti_tool.errors import InvalidInput
from lti_tool.hours import formats, queries, writes
from lti_tool.hours.forms import CAPPED, ManualLineForm, ProfileForm, RemoveLineForm
from lti_tool.hours.ledger import hours_text, units_text

bp = Blueprint("hours", __name__, url_prefix="/c/<int:course_id>/hours")


def _render(template: str, access: Access, **context):
    return render_template(template, access=access, program=access.program, hours_text=hours_text,
                           units_text=units_text, **context)


@bp.route("/")
@program_page()
def home(access):
    if access.managed:
        return redirect(url_for(".program", course_id=access.course_id))
    return redirect(url_for(".person", course_id=access.course_id, membership_id=access.id))


@bp.route("/me")
@program_page()
def me(access):
    return redirect(url_for(".person", course_id=access.course_id, membership_id=access.id))


def _person_page(access: Access, membership_id: int, line_form=None, status: int = 200):
    page = queries.person_ledger(db.session, access, membership_id)
    return _render("hours/person.html", access, page=page, own=membership_id == access.id,
                   certificates=person_certificates(db.session, access.program, membership_id),
                   line_form=line_form or ManualLineForm(formdata=None), remove_form=RemoveLineForm(formdata=None),
                   action=ActionForm()), status


@bp.route("/people/<int:membership_id>")
@program_page()
def person(access, membership_id):
    return _person_page(access, membership_id)


@bp.route("/people/<int:membership_id>.csv")
@program_page()
def person_csv(access, membership_id):
    page = queries.person_ledger(db.session, access, membership_id)
    return csv_response(formats.person_rows(page), f"pd-hours-{membership_id}.csv")


@bp.route("/people/<int:membership_id>/lines", methods=["POST"])
@program_page(lead=True)
def add_line(access, membership_id):
    form = ManualLineForm()
    done = saved(form, lambda: writes.add_manual_line(
        db.session, access, membership_id, category=form.category.data, on_date=form.on_date.data,
        minutes=form.minutes.data, title=form.title.data, reason=form.reason.data), "Line added to the ledger.",
        url_for(".person", course_id=access.course_id, membership_id=membership_id))
    return done or _person_page(access, membership_id, line_form=form, status=400)


@bp.route("/lines/<int:line_id>/remove", methods=["POST"])
@program_page(lead=True)
def remove_line(access, line_id):
    line = queries.get_manual_line(db.session, access, line_id)
    form = RemoveLineForm()
    if not form.validate_on_submit():
        raise InvalidInput("Say why the line is removed.", "reason")
    writes.remove_manual_line(db.session, access, line.id, form.reason.data)
    db.session.commit()
    flash("Line removed from the ledger (it stays in the audit list).", "success")
    return redirect(url_for(".person", course_id=access.course_id, membership_id=line.membership_id))


@bp.route("/program")
@program_page(manager=True)
def program(access):
    return _render("hours/program.html", access, page=queries.program_ledger(db.session, access))


@bp.route("/program.csv")
@program_page(manager=True)
def program_csv(access):
    return csv_response(formats.program_rows(queries.program_ledger(db.session, access)), "pd-hours-program.csv")


def _caps_of(form: ProfileForm) -> dict[str, float | None]:
    caps = {}
    for category in CAPPED:
        value = getattr(form, f"cap_{category.value}").data
        caps[category.value] = float(value) if value is not None else None
    return caps


@bp.route("/settings", methods=["GET", "POST"])
@program_page(lead=True)
def settings(access):
    profile = queries.settings_profile(db.session, access)
    form = ProfileForm(obj=profile) if request.method == "POST" else ProfileForm(formdata=None, obj=profile)
    if request.method == "GET":
        form.unit.data, form.rounding.data = profile.unit.value, profile.rounding.value
        form.required_units.data = Decimal(str(profile.required_units)) if profile.required_units else None
        for category in CAPPED:
            value = (profile.caps or {}).get(category.value)
            getattr(form, f"cap_{category.value}").data = Decimal(str(value)) if value is not None else None
    if request.method == "POST":
        done = saved(form, lambda: writes.save_profile(
            db.session, access, unit=form.unit.data, rounding=form.rounding.data, caps=_caps_of(form),
            reading_minutes=form.reading_minutes.data, excused_percent=form.excused_percent.data,
            required_units=float(form.required_units.data) if form.required_units.data else None,
            provider=form.provider.data, location=form.location.data, signer_name=form.signer_name.data,
            signer_title=form.signer_title.data, certificates_enabled=form.certificates_enabled.data,
            open_badges=form.open_badges.data), "PD-hours settings saved.",
            url_for(".settings", course_id=access.course_id))
        if done is not None:
            return done
    return _render("hours/settings.html", access, form=form, capped=CAPPED), form_status()
