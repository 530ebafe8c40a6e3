"""Forms every feature uses: a service's ``InvalidInput`` shown where the person typed (on the field it names,
else on the form), the button-only ``ActionForm`` and the checkbox-list field.

Templates show form-level messages with the ``form_errors(form)`` macro of ``_macros.html``; field messages
are shown by the ``field`` macro.
"""
from __future__ import annotations

from typing import Any, Callable

from flask import flash, redirect, request
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import SelectMultipleField
from wtforms.widgets import CheckboxInput, ListWidget

from lti_tool.db import db
from lti_tool.errors import DomainError, InvalidInput


class ActionForm(FlaskForm):
    """A button that acts (move, mark done, revoke, sync…): its CSRF token is all it carries."""


class MultiCheckboxField(SelectMultipleField):
    """A choice of several, shown as a list of checkboxes (the ``field`` macro renders it as a fieldset)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def show_error(form, exc: DomainError, *, rollback: bool = True) -> None:
    """Undo the transaction the failed change began (nothing half-done is committed later), then put the
    message on ``form``: on the field ``exc.field`` names, or on the form as a whole."""
    if rollback:
        db.session.rollback()
    name = getattr(exc, "field", None)
    target = getattr(form, name, None) if name else None
    if target is not None and hasattr(target, "errors"):
        target.errors = [*list(target.errors or ()), exc.message]
    else:
        form.form_errors.append(exc.message)


def form_status(form: FlaskForm | None = None) -> int:
    """The status of a form page: shown again after a POST, it is a refused form (400); with ``form``, 400
    when that form carries errors (a page that holds several forms)."""
    if form is not None:
        return 400 if form.errors or form.form_errors else 200
    return 400 if request.method == "POST" else 200


def saved(form: FlaskForm, change: Callable[[], Any], message: str | Callable[[Any], str],
          target: str | Callable[[Any], str]) -> Response | None:
    """A posted form, the way every form page handles one: when the form is valid, ``change()`` (a write); then
    the commit, ``message`` flashed and a redirect to ``target`` (either may be a function of what ``change``
    returned). None when the form or the write refused it: the messages are on the form, nothing was saved, and
    the view shows the form again (with ``form_status()``)."""
    if not form.validate_on_submit():
        return None
    try:
        result = change()
    except InvalidInput as exc:
        show_error(form, exc)
        return None
    db.session.commit()
    flash(message(result) if callable(message) else message, "success")
    return redirect(target(result) if callable(target) else target)
