"""Forms of the protocol pages (Flask-WTF: CSRF on every one). A script's phases are a list of sub-forms
(``phases-0-name`` …); the roles form has one select per person, made for the run's roster."""
from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from wtforms import (BooleanField, DateTimeLocalField, FieldList, Form, FormField, HiddenField, IntegerField,
                     RadioField, SelectChoice, SelectField, StringField, TextAreaField)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from lti_tool.course.forms import MultiCheckboxField
from lti_tool.protocols.library import Kind, Role

ROLE_CHOICES = [SelectChoice(r.value, r.label) for r in Role]
KIND_CHOICES = [SelectChoice("", "Nothing (listening, reading, silent work)")] + [
    SelectChoice(k.value, f"{k.label}s") for k in Kind]


class PhaseForm(Form):
    """One phase of a script (a sub-form: the script form carries the CSRF token)."""

    name = StringField("Phase name", validators=[Length(max=120)])
    minutes = IntegerField("Minutes", validators=[Optional(), NumberRange(1, 1440, "At least 1 minute.")])
    instructions = TextAreaField("Instructions", validators=[Length(max=4000)], render_kw={"rows": 2})
    roles = MultiCheckboxField("Who may contribute", choices=ROLE_CHOICES, validate_choice=False)
    kind = SelectField("What it collects", choices=KIND_CHOICES, validate_choice=False)
    remove = BooleanField("Remove this phase")


class ScriptForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(message="Give the script a name."), Length(max=200)])
    description = TextAreaField("What it is for", validators=[Length(max=4000)], render_kw={"rows": 2})
    total_minutes = IntegerField("Total time (minutes)", validators=[Optional(), NumberRange(1, 1440, "At least 1.")],
                                 description="Change it to scale every phase: no phase is dropped, each keeps at "
                                             "least a minute.")
    version = HiddenField()
    phases = FieldList(FormField(PhaseForm), min_entries=0)
    add_phase = BooleanField("Add an empty phase at the end")


class CopyScriptForm(FlaskForm):
    source = HiddenField(validators=[DataRequired()])


class RunForm(FlaskForm):
    script = SelectField("Protocol", validate_choice=False)
    cohort_id = SelectField("Cohort", coerce=int, validate_choice=False)
    group = SelectField("Who", validate_choice=False, default="",
                        description="A run for the whole cohort, one small group, or one run for each small "
                                    "group (triads in parallel).")
    title = StringField("Title", validators=[Length(max=200)], description="Empty: the protocol's name.")
    mode = RadioField("How", default="live", choices=[SelectChoice("live", "Live: together, on one clock"),
                                                      SelectChoice("async", "Asynchronous: each phase over days, "
                                                                            "with deadlines")])
    total_minutes = IntegerField("Total time (minutes)", validators=[Optional(), NumberRange(1, 1440, "At least 1.")],
                                 description="Empty: the script's own. Shorter scales every phase down; none is "
                                             "dropped.")
    scheduled_for = DateTimeLocalField("Planned for (live)", validators=[Optional()])
    opens_at = DateTimeLocalField("First phase opens (asynchronous)", validators=[Optional()],
                                  description="In the program's time zone.")
    days_per_phase = IntegerField("Days for each phase (asynchronous)", default=2,
                                  validators=[Optional(), NumberRange(1, 60, "Between 1 and 60 days.")])


class ProblemForm(FlaskForm):
    problem_text = TextAreaField("Problem of practice", validators=[Length(max=20000)], render_kw={"rows": 6},
                                 description="Markdown: **bold**, lists, links. Only the run's members read it.")
    files = MultipleFileField("Add files", description="PDF, images, Office documents or plain text.")
    remove_file_ids = MultiCheckboxField("Remove files", coerce=int, validate_choice=False)


class ControlForm(FlaskForm):
    version = IntegerField(validators=[InputRequired()])
    minutes = IntegerField("Minutes to add", default=2, validators=[Optional(), NumberRange(1, 60, "1 to 60.")])


class ContributionForm(FlaskForm):
    position = IntegerField(validators=[InputRequired()])
    body = TextAreaField("Your contribution", validators=[DataRequired(message="Write something first."),
                                                          Length(max=5000)], render_kw={"rows": 3})


def roles_form(candidates, current: dict[int, str], formdata=None):
    """A form with one role select per candidate (``role_<membership id>``)."""

    class RolesForm(FlaskForm):
        pass

    choices = [SelectChoice("", "Not taking part")] + ROLE_CHOICES
    for c in candidates:
        setattr(RolesForm, f"role_{c.membership.id}", SelectField(
            c.name, choices=choices, validate_choice=False, default=current.get(c.membership.id, "")))
    form = RolesForm(formdata=formdata) if formdata is not None else RolesForm()
    return form


def deadlines_form(phases, zone, formdata=None):
    """A form with one deadline per phase (``closes_<position>``), in the program's zone."""
    from lti_tool.course.zones import form_value

    class DeadlinesForm(FlaskForm):
        pass

    for phase in phases:
        setattr(DeadlinesForm, f"closes_{phase.position}", DateTimeLocalField(
            f"{phase.position}. {phase.name} closes", default=form_value(zone, phase.closes_at),
            validators=[InputRequired(message="Give the deadline.")]))
    return DeadlinesForm(formdata=formdata) if formdata is not None else DeadlinesForm()
