"""Request plumbing: request ids, iframe-friendly cookies, security headers, the migration check."""
from __future__ import annotations

import logging
import re
import secrets
import threading

from flask import Flask, g, render_template, request
from flask.sessions import SecureCookieSessionInterface

log = logging.getLogger(__name__)

_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")


class IframeSessionInterface(SecureCookieSessionInterface):
    """Cookies that survive inside an LMS iframe when served over https.

    On https: SameSite=None; Secure; Partitioned (CHIPS), so the cross-site launch POST and the pages
    after it keep the session. On plain http (local development, tests on loopback) browsers refuse
    SameSite=None without Secure, so Lax is used; the sandbox LMS is same-site there anyway.
    """

    def get_cookie_samesite(self, app: Flask):
        return "None" if request.is_secure else "Lax"

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(request.is_secure)

    def get_cookie_partitioned(self, app: Flask) -> bool:
        return bool(request.is_secure)


def cookie_attributes() -> dict:
    """The same attributes for the cookies we set ourselves (launch state, session id)."""
    secure = bool(request.is_secure)
    attrs = {"secure": secure, "httponly": True, "samesite": "None" if secure else "Lax", "path": "/"}
    if secure:
        attrs["partitioned"] = True
    return attrs


def _frame_ancestors() -> str:
    # Cached per process for a minute: registrations change rarely and this runs on every response.
    from sqlalchemy.exc import SQLAlchemyError

    from lti_tool.lti.registry import platform_origins

    try:
        origins = platform_origins()
    except SQLAlchemyError:  # an unmigrated database still gets its explanatory page
        origins = []
    return " ".join(["'self'", *origins])


def install_request_hooks(app: Flask) -> None:
    migration_checked = {"ok": False}
    lock = threading.Lock()

    @app.before_request
    def _request_id():
        # A proxy's id is kept so log lines can be matched up; anything odd is replaced, since it is
        # echoed in a header, on pages and in the logs.
        given = request.headers.get("X-Request-Id", "")
        g.request_id = given if _REQUEST_ID.fullmatch(given) else secrets.token_hex(8)

    @app.before_request
    def _require_migrated_database():
        if migration_checked["ok"] or request.endpoint == "static":
            return None
        with lock:
            from lti_tool.migrate import pending_migrations

            pending = pending_migrations(app)
            if not pending:
                migration_checked["ok"] = True
                return None
        log.error("database is not migrated: %s pending", pending)
        return render_template("errors/not_migrated.html", pending=pending), 503

    @app.after_request
    def _security_headers(response):
        response.headers["X-Request-Id"] = g.get("request_id", "")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        csp = (
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: https:; "
            "font-src 'self'; connect-src 'self'; form-action 'self' https: http:; base-uri 'none'; "
            "object-src 'none'; frame-src 'self' https://www.youtube-nocookie.com https://player.vimeo.com; "
            f"frame-ancestors {_frame_ancestors()}"
        )
        response.headers.setdefault("Content-Security-Policy", csp)
        if request.is_secure:
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        return response
