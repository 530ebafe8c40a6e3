"""Who is asking: Flask-Login's user loading, the membership in the course of the URL, and role checks.

Pages of a course live under /c/<course_id>/. The course id in the URL is never trusted: the acting
user's membership in that course is loaded here, and a user with none (another course, another
platform) gets 403.
"""
from __future__ import annotations

import functools
from typing import Callable

from flask import Flask, abort, g, request
from flask_login import LoginManager, current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from lti_tool.db import db
from lti_tool.lti.models import CourseRole, Membership, User


def init_app(app: Flask, login_manager: LoginManager) -> None:
    login_manager.init_app(app)
    login_manager.session_protection = None  # the LMS iframe may change IP/UA hints; launches re-authenticate

    @login_manager.user_loader
    def _load_user(user_id: str) -> User | None:
        return db.session.get(User, int(user_id)) if user_id.isdigit() else None

    @login_manager.unauthorized_handler
    def _unauthorized():
        from lti_tool.errors import DomainError

        class NotSignedIn(DomainError):
            status = 401
            title = "Please open this tool from your course"

        raise NotSignedIn(
            "Your session has ended or was never started here. Open the tool again from your "
            "Canvas or Moodle course; if your browser blocks cookies inside the course page, "
            "the launch offers to open it in a new window."
        )


def current_membership() -> Membership | None:
    """The signed-in user's membership in the course of this request's URL, if the URL names one."""
    if "membership" in g:
        return g.membership
    membership = None
    course_id = (request.view_args or {}).get("course_id") if request else None
    if course_id is not None and current_user.is_authenticated:
        membership = db.session.scalar(
            select(Membership)
            .options(joinedload(Membership.course), joinedload(Membership.user))
            .where(Membership.user_id == current_user.id, Membership.course_id == course_id)
        )
    g.membership = membership
    return membership


def require_course_role(*roles: CourseRole) -> Callable:
    """Views under /c/<course_id>/: signed in, an active member of that course, with one of ``roles``.

    With no roles any active member passes. The membership is passed to the view as ``membership``.
    """

    def decorator(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            if not current_user.is_authenticated:
                from lti_tool.extensions import login_manager

                return login_manager.unauthorized()
            membership = current_membership()
            if membership is None or not membership.active:
                abort(403, "You are not a member of this course. Open the tool from the course it belongs to.")
            if roles and membership.role not in roles:
                abort(403, "Your role in this course does not allow this.")
            kwargs.pop("course_id", None)
            return view(*args, membership=membership, **kwargs)

        return wrapper

    return decorator
