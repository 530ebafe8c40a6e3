"""Forms of the attendance pages (Flask-WTF: CSRF on every one)."""
from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (BooleanField, DateField, DecimalField, IntegerField, RadioField, SelectChoice, SelectField,
                     StringField, TextAreaField, TimeField)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from lti_tool.attendance.models import ExcusedPolicy, StatusKind


class StatusForm(FlaskForm):
    key = StringField("Key", validators=[DataRequired(message="Give a one-letter key."), Length(max=1)],
                      description="One letter, pressed on the quick roll.")
    label = StringField("Label", validators=[DataRequired(message="Give the status a label."), Length(max=60)])
    points = DecimalField("Points", places=2, validators=[InputRequired(message="Give the points (0 or more)."),
                                                          NumberRange(0, 10, "Between 0 and 10.")])
    active = BooleanField("Offered on the roll", default=True)


class NewStatusForm(StatusForm):
    kind = SelectField("Counts as", choices=[SelectChoice(k.value, k.label) for k in StatusKind],
                       description="What the requirement reads: attended (present, late), excused, absent, made up.")


class SettingsForm(FlaskForm):
    checkin_opens_minutes = IntegerField("Check-in opens (minutes before the start)", default=15,
                                         validators=[InputRequired(), NumberRange(0, 1440, "Between 0 and 1440.")])
    checkin_closes_minutes = IntegerField("Check-in closes (minutes after the end)", default=15,
                                          validators=[InputRequired(), NumberRange(0, 1440, "Between 0 and 1440.")])
    late_after_minutes = IntegerField("A check-in counts as late (minutes after the start)", default=10,
                                      validators=[InputRequired(), NumberRange(0, 1440, "Between 0 and 1440.")])
    grading_enabled = BooleanField("Send an “Attendance” score to the LMS gradebook", default=True)
    grade_mode = RadioField("The score is", default="requirement", choices=[
        SelectChoice("requirement", "Points earned over the number of sessions required (capped at 100%)"),
        SelectChoice("share", "Points earned over all scheduled sessions"),
    ])


class RequirementForm(FlaskForm):
    cohort_id = SelectField("For", coerce=int, description="A cohort's rule replaces the program's for that cohort.")
    min_sessions = IntegerField("Attend at least this many sessions", validators=[
        Optional(), NumberRange(1, 500, "Between 1 and 500.")],
        description="Counted over every scheduled session of the cohort and of the whole program. "
                    "Leave empty to remove the rule.")
    excused_policy = RadioField("Excused absences", default=ExcusedPolicy.reduces.value,
                                choices=[SelectChoice(p.value, p.label) for p in ExcusedPolicy])
    made_up_counts = BooleanField("An approved make-up counts as attended", default=True)


class CheckInForm(FlaskForm):
    code = StringField("Check-in code", validators=[DataRequired(message="Type the code on the screen."),
                                                    Length(max=12)],
                       description="Six digits, shown by your facilitator. It changes every 30 seconds.")


class ImportForm(FlaskForm):
    file = FileField("Participant report (CSV)", validators=[FileRequired(message="Choose the CSV file.")],
                     description="Zoom: Reports → Usage → Participants → Export. Teams: the meeting's Attendance "
                                 "report → Download.")


class MakeUpAssignForm(FlaskForm):
    task = TextAreaField("Make-up task", validators=[DataRequired(message="Describe the task."), Length(max=5000)],
                         default="Watch the recording and post a short reflection.")
    due_on = DateField("Due on", validators=[Optional()])
    minutes = IntegerField("PD minutes it credits once approved", validators=[Optional(), NumberRange(0, 1440,
                           "Between 0 and 1440.")], description="Empty: the session's time less its breaks.")


class MakeUpSubmitForm(FlaskForm):
    work = TextAreaField("Your work", validators=[DataRequired(message="Write your reflection or paste a link."),
                                                  Length(max=20000)],
                         description="Your reflection, or a link to where you posted it.")


class MakeUpReviewForm(FlaskForm):
    note = TextAreaField("Note to the participant", validators=[Optional(), Length(max=5000)],
                         description="Needed when you return the work.")


class MinutesForm(FlaskForm):
    """The live minutes of one record, for PD hours: the minutes attended, or the time they left."""

    minutes = IntegerField("Minutes attended", validators=[Optional(), NumberRange(0, 1440, "Between 0 and 1440.")])
    left_at = TimeField("Or: left early at", validators=[Optional()],
                        description="In the program's time zone; the minutes follow from it.")

