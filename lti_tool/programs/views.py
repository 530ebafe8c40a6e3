"""Program pages of a course: the landing page after a launch."""
from __future__ import annotations

from flask import Blueprint, render_template

from lti_tool.auth import require_course_role

bp = Blueprint("programs", __name__, url_prefix="/c/<int:course_id>")


@bp.route("/")
@require_course_role()
def home(membership):
    return render_template("programs/home.html", membership=membership, course=membership.course)
