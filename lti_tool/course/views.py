"""The Notices page of a course (/c/<course_id>/notices): a person's own notices, newest first."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for

from lti_tool.course import notices
from lti_tool.course.access import Access
from lti_tool.course.forms import ActionForm
from lti_tool.course.pages import program_page
from lti_tool.db import db

bp = Blueprint("notices", __name__, url_prefix="/c/<int:course_id>/notices")


@bp.get("/")
@program_page(optional=True)
def index(access: Access):
    return render_template("course/notices.html", access=access, form=ActionForm(),
                           notices=notices.recent(db.session, access.id))


@bp.post("/read")
@program_page(optional=True)
def read_all(access: Access):
    if ActionForm().validate_on_submit():
        notices.mark_all_read(db.session, access.id)
        db.session.commit()
    else:
        flash("The form had expired; press the button again.", "warning")
    return redirect(url_for(".index", course_id=access.course_id))
