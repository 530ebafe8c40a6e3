"""Forms of the PD-hours pages (Flask-WTF: CSRF on every one)."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, DecimalField, IntegerField, SelectChoice, SelectField, StringField, \
    TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from lti_tool.hours.models import Category, Rounding, Unit

#: The categories a cap can be set on (a lead's own lines are not capped).
CAPPED = [c for c in Category if c is not Category.other]


class ProfileForm(FlaskForm):
    unit = SelectField("Unit on certificates and totals", choices=[SelectChoice(u.value, u.label) for u in Unit])
    rounding = SelectField("Rounding", choices=[SelectChoice(r.value, r.label) for r in Rounding],
                           description="Always down: an hour not fully earned is never printed. CEUs: tenths.")
    reading_minutes = IntegerField("Minutes credited per reading whose discussion criteria were met", default=60,
                                   validators=[InputRequired(), NumberRange(0, 1440, "Between 0 and 1440.")])
    excused_percent = IntegerField("Share of an excused session that counts (%)", default=0,
                                   validators=[InputRequired(), NumberRange(0, 100, "Between 0 and 100.")])
    required_units = DecimalField("Minimum for a certificate (in the unit; optional)", places=2,
                                  validators=[Optional(), NumberRange(0.01, 10000, "More than 0.")],
                                  description="E.g. 150 for a 150-PDP renewal. Empty: the completion rule alone.")
    provider = StringField("Provider", validators=[Optional(), Length(max=200)],
                           description="The organisation that offers the program, as printed on certificates.")
    location = StringField("Location", default="Virtual", validators=[Optional(), Length(max=200)])
    signer_name = StringField("Signed by", validators=[Optional(), Length(max=200)])
    signer_title = StringField("Signer's title", validators=[Optional(), Length(max=200)])
    certificates_enabled = BooleanField("Issue a certificate to each participant who meets the completion rule",
                                        description="Turning this on issues nothing by itself: each certificate is "
                                                    "issued when that person meets the rule.")
    open_badges = BooleanField("Also offer an Open Badges 3.0 credential (signed) beside the PDF")


def add_cap_fields() -> type[ProfileForm]:
    for category in CAPPED:
        setattr(ProfileForm, f"cap_{category.value}", DecimalField(
            f"{category.label}: at most (% of the total)", places=0,
            validators=[Optional(), NumberRange(0, 99, "From 0 to 99, or empty for no cap.")]))
    return ProfileForm


add_cap_fields()


class ManualLineForm(FlaskForm):
    category = SelectField("Counts as", choices=[SelectChoice(c.value, c.label) for c in Category],
                           default=Category.other.value)
    title = StringField("Activity", validators=[DataRequired(message="Say what the activity was."), Length(max=200)])
    on_date = DateField("Date", validators=[InputRequired(message="Give the date.")])
    minutes = IntegerField("Minutes", validators=[InputRequired(message="Give the minutes."),
                                                  NumberRange(1, 6000, "Between 1 and 6000.")])
    reason = TextAreaField("Reason", validators=[DataRequired(message="Give the reason (kept for audits)."),
                                                 Length(max=2000)],
                           description="Kept with the line, with your name, for audits.")


class RemoveLineForm(FlaskForm):
    reason = StringField("Why remove it", validators=[DataRequired(message="Say why."), Length(max=2000)])
