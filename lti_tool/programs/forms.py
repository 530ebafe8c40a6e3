"""Forms of the program pages. Field-level checks live here; rules that need the database (capacity against
membership, duplicate names, windows) are the writes' and come back as messages on these fields."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (BooleanField, DateField, DateTimeLocalField, FieldList, FormField, IntegerField, RadioField,
                     SelectChoice, SelectField, SelectMultipleField, StringField, TextAreaField)
from wtforms import Form
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from lti_tool.programs.models import CohortKind, SignupMode

KIND_CHOICES = [SelectChoice(k.value, k.label) for k in CohortKind]
MODE_CHOICES = [SelectChoice(m.value, m.label) for m in SignupMode]
DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"]


class ProgramForm(FlaskForm):
    title = StringField("Program title", validators=[DataRequired(message="Give the program a title."),
                                                     Length(max=200)])
    year_label = StringField("Year", validators=[Optional(), Length(max=40)], description="For example 2026–27.")
    description = TextAreaField("Description", validators=[Optional()], render_kw={"rows": 4})
    timezone = StringField("Time zone", validators=[DataRequired(message="Give the program's time zone.")],
                           description="An IANA name such as America/New_York, America/Chicago or Europe/Berlin. "
                                       "Sign-up windows and sessions are entered in this zone.")
    starts_on = DateField("Program starts", validators=[Optional()])
    ends_on = DateField("Program ends", validators=[Optional()])
    proposals_open_at = DateTimeLocalField("Facilitator proposals open", format=DATETIME_FORMATS,
                                           validators=[Optional()])
    proposals_close_at = DateTimeLocalField("Facilitator proposal deadline", format=DATETIME_FORMATS,
                                            validators=[Optional()])
    lead_mode = RadioField("Who leads the program", default="all",
                           choices=[SelectChoice("all", "All facilitators of the course"),
                                    SelectChoice("named", "Only the facilitators named below")])
    leads = SelectMultipleField("Named leads", coerce=int, validators=[Optional()],
                                description="Used when only named facilitators lead. Hold Ctrl (⌘ on a Mac) "
                                            "to choose several.")

    def validate_leads(self, field):
        if self.lead_mode.data == "named" and not field.data:
            raise ValueError("Choose at least one lead, or let all facilitators lead.")


class CohortForm(FlaskForm):
    name = StringField("Cohort name", validators=[DataRequired(message="Give the cohort a name."),
                                                  Length(max=200)])
    kind = SelectField("Kind", choices=KIND_CHOICES, default=CohortKind.topic.value)
    description = TextAreaField("Description", validators=[Optional()], render_kw={"rows": 4},
                                description="Shown to participants choosing a cohort.")
    facilitators = SelectMultipleField("Facilitators", coerce=int,
                                       validators=[DataRequired(message="Choose at least one facilitator.")],
                                       description="Any member of the course. Hold Ctrl (⌘ on a Mac) to choose "
                                                   "several.")
    capacity = IntegerField("Capacity (seats)", default=20,
                            validators=[InputRequired(message="Give the number of seats."),
                                        NumberRange(min=1, max=1000, message="Capacity must be between 1 and 1000.")])
    signup_mode = RadioField("Sign-up", choices=MODE_CHOICES, default=SignupMode.open.value)
    signup_opens_at = DateTimeLocalField("Sign-up opens", format=DATETIME_FORMATS, validators=[Optional()])
    signup_closes_at = DateTimeLocalField("Sign-up closes", format=DATETIME_FORMATS, validators=[Optional()])


class QuestionEntry(Form):
    prompt = TextAreaField("Question", validators=[Optional(), Length(max=2000)], render_kw={"rows": 2})
    required = BooleanField("Required", default=True)


class QuestionsForm(FlaskForm):
    questions = FieldList(FormField(QuestionEntry), min_entries=1)


def application_form(questions, formdata=None):
    """A form with one answer box per application question of a cohort."""

    class ApplicationForm(FlaskForm):
        pass

    for question in questions:
        validators = [DataRequired(message="This question is required.")] if question.required else [Optional()]
        setattr(ApplicationForm, f"q{question.id}",
                TextAreaField(question.prompt, validators=validators + [Length(max=10000)], render_kw={"rows": 4}))
    return ApplicationForm(formdata=formdata) if formdata is not None else ApplicationForm()


class ReviewForm(FlaskForm):
    decision = RadioField("Decision", choices=[SelectChoice("accept", "Accept (gives a seat)"),
                                               SelectChoice("waitlist", "Wait-list"),
                                               SelectChoice("decline", "Decline")],
                          validators=[InputRequired(message="Choose a decision.")])
    note = TextAreaField("Note to the applicant", validators=[Optional(), Length(max=4000)], render_kw={"rows": 3},
                         description="The applicant sees this note with the decision.")


class PersonForm(FlaskForm):
    membership_id = SelectField("Person", coerce=int, validators=[InputRequired(message="Choose a person.")])


class SmallGroupForm(FlaskForm):
    name = StringField("Group name", validators=[DataRequired(message="Give the group a name."), Length(max=120)])
    members = SelectMultipleField("Members", coerce=int,
                                  validators=[DataRequired(message="Choose at least one member.")],
                                  description="Hold Ctrl (⌘ on a Mac) to choose several.")


class AutoGroupsForm(FlaskForm):
    size = IntegerField("People per group", default=3,
                        validators=[InputRequired(message="Give a group size."),
                                    NumberRange(min=2, max=50, message="A group has between 2 and 50 people.")],
                        description="Groups are balanced: sizes differ by at most one. Existing groups are "
                                    "replaced.")


class ProposalForm(FlaskForm):
    title = StringField("Cohort title", validators=[DataRequired(message="Give your proposed cohort a title."),
                                                    Length(max=200)])
    kind = SelectField("Kind", choices=KIND_CHOICES, default=CohortKind.topic.value)
    description = TextAreaField("Description", render_kw={"rows": 4},
                                validators=[DataRequired(message="Describe the cohort you propose.")])
    audience = TextAreaField("Audience", validators=[Optional()], render_kw={"rows": 2},
                             description="Who is it for? For example: principals of K–8 schools.")
    format = TextAreaField("Format", validators=[Optional()], render_kw={"rows": 2},
                           description="Virtual, in person, book study, protocols …")
    proposed_sessions = TextAreaField("Proposed sessions", validators=[Optional()], render_kw={"rows": 3},
                                      description="For example: second Thursday of each month, 3–4:30 p.m.")


class ProposalReviewForm(FlaskForm):
    decision = RadioField("Decision", choices=[SelectChoice("accept", "Accept (creates the cohort)"),
                                               SelectChoice("request_changes", "Ask for changes"),
                                               SelectChoice("decline", "Decline")],
                          validators=[InputRequired(message="Choose a decision.")])
    note = TextAreaField("Note to the proposer", validators=[Optional(), Length(max=4000)], render_kw={"rows": 3},
                         description="Required when asking for changes or declining.")
