"""Domain errors raised by writes and loaders, and the one place that turns them (and everything else) into pages."""
from __future__ import annotations

import logging

from flask import Flask, current_app, g, jsonify, make_response, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)


class DomainError(Exception):
    """Base of the errors writes and loaders raise; ``status`` is the HTTP status a view answers with."""

    status = 400
    title = "That could not be done"

    def __init__(self, message: str | None = None):
        super().__init__(message or self.title)
        self.message = message or self.title


class NotFound(DomainError):
    status = 404
    title = "Not found"


class Forbidden(DomainError):
    status = 403
    title = "Not allowed"


class Conflict(DomainError):
    status = 409
    title = "Conflict"


class InvalidInput(DomainError):
    """Input a person can correct. ``field`` names the form field the message belongs to (None: the form as
    a whole); ``lti_tool.course.forms.show_error`` puts it there."""

    status = 400
    title = "Please check what you entered"

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


class LaunchRefused(DomainError):
    """An LTI launch or login that fails validation. Nothing is written and no session is created."""

    status = 401
    title = "This launch was refused"


def _wants_json() -> bool:
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]


def _page(status: int, title: str, message: str):
    if _wants_json():
        return jsonify(error=title, message=message, request_id=g.get("request_id")), status
    return render_template("errors/error.html", status=status, title=title, message=message), status


def _too_many_requests(exc: HTTPException):
    """A rate limit (lti_tool.extensions) was hit: say so, and tell the browser when to try again."""
    from lti_tool.extensions import retry_after_seconds

    body, status = _page(429, "Too many requests", exc.description or "Wait a minute, then try again.")
    response = make_response(body, status)
    retry_after = retry_after_seconds()
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return response


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def _domain_error(exc: DomainError):
        return _page(exc.status, exc.title, exc.message)

    @app.errorhandler(CSRFError)
    def _form_expired(exc: CSRFError):
        # CSRFProtect checks every POST before any view runs, so no view handles a missing or stale token.
        return _page(400, "This form has expired",
                     "Nothing was saved. Go back, reload the page and try again (forms expire after some hours, "
                     "or when the tool was opened again from the LMS).")

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        if exc.code == 429:
            return _too_many_requests(exc)
        if exc.code == 413:
            limit = (current_app.config.get("MAX_CONTENT_LENGTH") or 0) // (1024 * 1024)
            return _page(413, "The file is too large",
                         f"Nothing was saved: a form can send at most {limit} MB. Go back (the browser keeps what "
                         f"you typed), choose a smaller file or a link to it, and send the form again.")
        return _page(exc.code or 500, exc.name, exc.description or "")

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        log.exception("unexpected error (request %s)", g.get("request_id"))
        return _page(500, "Something went wrong",
                     "The error has been logged. If you contact support, give them the request id below.")
