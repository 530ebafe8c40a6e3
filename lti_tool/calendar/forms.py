"""Forms of the calendar: a session, a recurring series, a milestone, the viewer's time zone, deletes."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (BooleanField, DateField, IntegerField, RadioField, SelectChoice, SelectField, StringField,
                     TextAreaField, TimeField)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from lti_tool.calendar.models import MeetingKind
from lti_tool.calendar.writes import MILESTONE_LABELS, NTH_NAMES, WEEKDAY_NAMES, Frequency, Scope

KIND_CHOICES = [SelectChoice(k.value, k.label) for k in MeetingKind]
SCOPE_CHOICES = [SelectChoice(Scope.one, "Only this session (it leaves its series)"),
                 SelectChoice(Scope.future, "This session and the later ones of its series"),
                 SelectChoice(Scope.all, "Every session of its series")]


class _SessionFields(FlaskForm):
    cohort_id = SelectField("For", coerce=int, description="A cohort's session, or one for the whole program.")
    kind = SelectField("Kind of session", choices=KIND_CHOICES)
    title = StringField("Title", validators=[DataRequired(message="Give the session a title."), Length(max=200)])
    meeting_url = StringField("Meeting link", validators=[Optional(), Length(max=1024)],
                              description="A https:// link to the video room (Zoom, Teams, Meet…). Leave empty "
                                          "for an in-person session.")
    location = StringField("Place", validators=[Optional(), Length(max=500)],
                           description="For in-person sessions: the address or room.")
    agenda = TextAreaField("Agenda", validators=[Optional(), Length(max=10000)],
                           description="Plain text; line breaks are kept.")
    break_minutes = IntegerField("Breaks (minutes)", default=0,
                                 validators=[Optional(), NumberRange(0, 1440, "Between 0 and 1440.")],
                                 description="Breaks and a non-working lunch do not count toward PD hours.")


class MeetingForm(_SessionFields):
    day = DateField("Date", validators=[InputRequired(message="Choose the date.")])
    start_time = TimeField("Starts at", validators=[InputRequired(message="Choose the start time.")])
    end_time = TimeField("Ends at", validators=[InputRequired(message="Choose the end time.")])
    cancelled = BooleanField("Cancelled", description="The session stays in calendars, marked as cancelled.")
    scope = RadioField("Apply the change to", choices=SCOPE_CHOICES, default=Scope.one)


class SeriesForm(_SessionFields):
    frequency = SelectField("Repeats", choices=[
        SelectChoice(Frequency.monthly_nth, "Monthly on a weekday (the second Thursday…)"),
        SelectChoice(Frequency.monthly_date, "Monthly on a date (the 15th…)"),
        SelectChoice(Frequency.weekly, "Weekly"),
    ])
    nth = SelectField("Which week of the month", coerce=int,
                      choices=[SelectChoice(n, label.capitalize()) for n, label in NTH_NAMES.items()], default=2,
                      description="For monthly on the nth weekday.")
    weekday = SelectField("Weekday", coerce=int,
                          choices=[SelectChoice(n, name) for n, name in enumerate(WEEKDAY_NAMES)], default=3,
                          description="For weekly and monthly on the nth weekday.")
    day_of_month = IntegerField("Day of the month", validators=[Optional(), NumberRange(1, 31, "Between 1 and 31.")],
                                default=15, description="For monthly on a date.")
    interval = IntegerField("Every", validators=[Optional(), NumberRange(1, 12, "Between 1 and 12.")], default=1,
                            description="1 = every week or month, 2 = every other, …")
    start_date = DateField("First date", validators=[InputRequired(message="Choose the first date.")])
    end_date = DateField("Last date", validators=[InputRequired(message="Choose the last date.")])
    start_time = TimeField("Starts at", validators=[InputRequired(message="Choose the start time.")])
    duration_minutes = IntegerField("Length in minutes", default=90,
                                    validators=[InputRequired(message="Give the length in minutes."),
                                                NumberRange(5, 1440, "Between 5 minutes and 24 hours.")])


class DeleteMeetingForm(FlaskForm):
    scope = RadioField("Delete", choices=[SelectChoice(Scope.one, "Only this session"),
                                          SelectChoice(Scope.future, "This session and the later ones of its series"),
                                          SelectChoice(Scope.all, "Every session of its series")], default=Scope.one)


class MilestoneForm(FlaskForm):
    kind = SelectField("Kind", choices=[SelectChoice(k.value, label) for k, label in MILESTONE_LABELS.items()])
    title = StringField("Title", validators=[Optional(), Length(max=200)],
                        description="Leave empty to use the kind's name.")
    on_date = DateField("Date", validators=[InputRequired(message="Give the milestone a date.")])
    note = TextAreaField("Note", validators=[Optional(), Length(max=2000)],
                         description="Shown under the date, e.g. “Sign-ups remain open until kick-off”.")


class TimezoneForm(FlaskForm):
    timezone = StringField("Your time zone", validators=[Optional(), Length(max=64)],
                           description="An IANA name such as America/Los_Angeles. Leave empty to use the "
                                       "program's time zone.")


