"""Forms of the module pages (Flask-WTF: CSRF on every one). Per-cohort dates are read by the view from
fields named opens_on_<cohort id> / due_on_<cohort id>, since the cohorts vary per program."""
from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (BooleanField, DecimalField, IntegerField, RadioField, SelectChoice, SelectField,
                     StringField, TextAreaField)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from lti_tool.course.forms import MultiCheckboxField
from lti_tool.modules.models import CompletionRule, GradeMode, ItemRelease, ReflectionVisibility, ReleaseRule


def _int(value) -> int:
    """An id from a select; anything else (an empty choice) is 0, "none"."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


class ModuleForm(FlaskForm):
    title = StringField("Title", validators=[DataRequired(message="Give the module a title."), Length(max=200)])
    overview = TextAreaField("Overview", validators=[Length(max=20000)],
                             description="Markdown: **bold**, *italic*, lists, links.")
    cohort_ids = MultiCheckboxField("Cohorts it is for", coerce=_int, validate_choice=False)
    release_rule = RadioField("It opens", default=ReleaseRule.by_hand.value,
                              choices=[SelectChoice(r.value, r.label) for r in ReleaseRule])
    released = BooleanField("Released now (when it opens by hand)")
    after_module_id = SelectField("Module to finish first", coerce=_int, validate_choice=False, default=0,
                                  description="Used when the module opens after another one is finished.")
    grade_mode = RadioField("Grade", default=GradeMode.none.value, choices=[SelectChoice(g.value, g.label) for g in GradeMode])
    score_maximum = DecimalField("Maximum score", default=100, places=0,
                                 validators=[Optional(), NumberRange(1, 10000, "Between 1 and 10,000.")])


class ItemForm(FlaskForm):
    title = StringField("Title", validators=[DataRequired(message="Give the item a title."), Length(max=200)])
    body = TextAreaField("Text", validators=[Length(max=50000)],
                         description="Markdown. For a reflection, the prompt participants answer.")
    url = StringField("Web address", validators=[Length(max=1024)])
    embed = BooleanField("Show the video in the page (YouTube or Vimeo)", default=True)
    upload = FileField("File", description="PDF, images, Office documents or plain text.")
    remove_file = BooleanField("Remove the uploaded file")
    reading_id = SelectField("Reading of the book study", coerce=_int, validate_choice=False, default=0)
    thread_id = SelectField("Thread of the book study", coerce=_int, validate_choice=False, default=0)
    minutes = IntegerField("Time estimate (minutes)", default=10,
                           validators=[InputRequired(message="Give a time estimate in minutes."),
                                       NumberRange(0, 600, "Between 0 and 600 minutes.")])
    required = BooleanField("Required to finish the module", default=True)
    completion_rule = SelectField("Done when", choices=[SelectChoice(r.value, r.label) for r in CompletionRule],
                                  validate_choice=False)
    release = RadioField("It opens", default=ItemRelease.with_module.value,
                         choices=[SelectChoice(r.value, r.label) for r in ItemRelease])
    reflection_visibility = RadioField("Who reads the reflections",
                                       default=ReflectionVisibility.private_to_facilitators.value,
                                       choices=[SelectChoice(v.value, v.label) for v in ReflectionVisibility])


class ReflectionForm(FlaskForm):
    body = TextAreaField("Your reflection", validators=[DataRequired(message="Write your reflection first."),
                                                         Length(max=20000)],
                         description="Markdown is fine.")


class FeedbackForm(FlaskForm):
    feedback = TextAreaField("Feedback", validators=[Length(max=10000)])
    mark = DecimalField("Mark", places=1, validators=[Optional()])


class CopyToCohortForm(FlaskForm):
    cohort_id = SelectField("Copy to cohort", coerce=_int, validate_choice=False)


class CopyProgramForm(FlaskForm):
    program_id = SelectField("Copy every module into", coerce=_int, validate_choice=False)
    match_cohorts = BooleanField("Give each module to the cohorts of the same name there, with its dates moved",
                                 default=True)
    shift_days = IntegerField("Move the dates by (days)", validators=[Optional(), NumberRange(-3660, 3660,
                              "Between -3,660 and 3,660 days.")],
                              description="Leave empty to move them by the distance between the two programs' "
                                          "start dates. A date that lands outside the year is left for you to set.")


class ImportProgramForm(CopyProgramForm):
    program_id = SelectField("Bring every module of", coerce=_int, validate_choice=False)


class SettingsForm(FlaskForm):
    weekly_budget_minutes = IntegerField("Weekly time budget (minutes)", default=120,
                                         validators=[InputRequired(message="Give the weekly budget in minutes."),
                                                     NumberRange(10, 2400, "Between 10 and 2400 minutes.")],
                                         description="What a participant is asked to spend on modules each week.")

