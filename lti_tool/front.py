"""The tool's front door at /: what it is and how to install it, and, where the sandbox LMS runs (`make run`),
the way into it. People use the tool from their course; nobody signs in here."""
from __future__ import annotations

from flask import Blueprint, current_app, render_template, url_for

bp = Blueprint("front", __name__)


@bp.route("/")
def index():
    """The root page: in development, links to the sandbox LMS and the help page; in production, what the
    tool is and how an LMS administrator installs it. Nothing about registered platforms (see /lti/help)."""
    sandbox_url = url_for("sandbox.course_page") if current_app.config.get("SANDBOX_ENABLED") else None
    return render_template(
        "front/index.html",
        sandbox_url=sandbox_url,
        description=current_app.config["LTI_TOOL_DESCRIPTION"],
        register_url=url_for("lti_registration.register", _external=True),
        canvas_json_url=url_for("lti_registration.canvas_json", _external=True),
        help_url=url_for("lti.help_page"),
    )
