"""A service's ``InvalidInput`` shown where the person typed: on the field it names, else on the form.

Templates show form-level messages with the ``form_errors(form)`` macro of ``_macros.html``; field messages
are shown by the ``field`` macro.
"""
from __future__ import annotations

from lti_tool.db import db
from lti_tool.errors import DomainError


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
