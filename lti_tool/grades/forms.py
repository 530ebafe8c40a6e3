"""Forms of the grade passback page: its filters (GET, nothing to protect), a column's label and maximum,
and the button-only forms (sync now, retry) that carry a CSRF token."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import DecimalField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange

STATE_CHOICES = [SelectChoice("", "Any status"), SelectChoice("sent", "Sent"), SelectChoice("pending", "Pending"),
                 SelectChoice("failed", "Failed"), SelectChoice("none", "No score yet")]


class FilterForm(FlaskForm):
    class Meta:
        csrf = False   # a GET filter changes nothing

    person = SelectField("Person", coerce=lambda v: int(v) if v not in (None, "") else None,
                         validate_choice=False)
    status = SelectField("Status", choices=STATE_CHOICES, validate_choice=False)


class ComponentForm(FlaskForm):
    label = StringField("Column label in the LMS gradebook",
                        validators=[DataRequired(message="Give the column a label."),
                                    Length(max=255, message="Keep the label under 255 characters.")])
    score_maximum = DecimalField("Maximum score", places=None,
                                 validators=[InputRequired(message="Give the maximum score."),
                                             NumberRange(min=0.01, max=100000,
                                                         message="The maximum must be more than 0 (at most 100000).")],
                                 description="Scores already in the LMS keep the maximum they were sent with; "
                                             "new scores use this one.")
