"""Forms of the certificate pages (Flask-WTF: CSRF on every form that changes something)."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional


class ReissueForm(FlaskForm):
    reason = StringField("Why re-issue", validators=[Optional(), Length(max=2000)],
                         description="E.g. “Name corrected in the LMS”. The old version stays, marked superseded.")


class RevokeForm(FlaskForm):
    reason = TextAreaField("Reason", validators=[DataRequired(message="Give the reason for revoking it."),
                                                 Length(max=2000)],
                           description="Kept in the certificate's history; the verification page says “revoked”.")


class VerifyForm(FlaskForm):
    """The public page's code box: a GET form, nothing changes, so no CSRF token."""

    class Meta:
        csrf = False

    code = StringField("Verification code", validators=[DataRequired(message="Type the code on the certificate."),
                                                        Length(max=40)],
                       description="16 letters and digits, printed as four groups: ABCD-EFGH-JKMN-PQRS.")
