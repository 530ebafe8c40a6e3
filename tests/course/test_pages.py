"""The program-page decorator: one loader, one commit rule, the page's role checked on the Access."""
from __future__ import annotations

import datetime as dt

import pytest
from flask import Blueprint, g
from sqlalchemy import select

from lti_tool import create_app
from lti_tool.course.pages import program_page
from lti_tool.db import Base, db
from lti_tool.lti.models import CourseRole
from lti_tool.programs.models import Milestone, MilestoneKind, Program
from tests.factories import make_world


def _first_visit(session, program):
    if not session.scalar(select(Milestone.id).where(Milestone.program_id == program.id)):
        session.add(Milestone(program_id=program.id, kind=MilestoneKind.other, title="made once", on_date=dt.date(2026, 9, 1)))


bp = Blueprint("pages_test", __name__, url_prefix="/c/<int:course_id>/t")


@bp.route("/any")
@program_page(setup=[_first_visit])
def any_member(access):
    db.session.add(Milestone(program_id=access.program.id, kind=MilestoneKind.other, title="rolled back",
                             on_date=dt.date(2026, 9, 2)))
    db.session.rollback()          # a failed form: the view undoes its own change, never the loader's
    return f"zone={g.access.zone.key} lead={access.lead}"


@bp.route("/manager")
@program_page(manager=True)
def manager(access):
    return "manages " + ",".join(str(i) for i in sorted(access.managed))


@bp.route("/lead")
@program_page(lead=True)
def lead(access):
    return "lead"


@bp.route("/optional")
@program_page(optional=True)
def optional(access):
    return f"program={access.program is not None}"


@pytest.fixture
def page_app(tmp_path):
    app = create_app("testing", DATABASE_URL=f"sqlite:///{tmp_path / 'p.sqlite3'}", STATE_CACHE_DIR=str(tmp_path),
                     REDIS_URL="", SERVER_NAME=None, WTF_CSRF_ENABLED=False)
    app.register_blueprint(bp)
    Base.metadata.create_all(db.engine_for(app))
    from lti_tool.migrate import stamp_head

    stamp_head(app)
    return app


def _client(app, user_id: int):
    client = app.test_client()
    with client.session_transaction() as s:
        s["_user_id"] = str(user_id)
        s["_fresh"] = True
    return client


def test_a_participant_before_set_up_is_told_so_and_a_staff_members_first_visit_sets_it_up(page_app):
    with page_app.app_context():
        w = make_world(db.session)
        course = w.course
        db.session.delete(w.program)
        staff, pat = w.person("Staff", CourseRole.facilitator), w.person("Pat")
        db.session.commit()
        staff, pat, course_id = staff.user_id, pat.user_id, course.id
    # Requests outside the set-up's app context: each gets its own (and its own g).
    before = _client(page_app, pat).get(f"/c/{course_id}/t/any")
    assert before.status_code == 404 and "no Communities of Practice program yet" in before.text
    assert _client(page_app, pat).get(f"/c/{course_id}/t/optional").text == "program=False"
    first = _client(page_app, staff).get(f"/c/{course_id}/t/any")
    assert first.status_code == 200 and first.text == "zone=America/New_York lead=True"
    with page_app.app_context():
        program = db.session.scalar(select(Program).where(Program.course_id == course_id))
        titles = db.session.scalars(select(Milestone.title).where(Milestone.program_id == program.id)).all()
        assert titles == ["made once"], "the program and the first-visit defaults were committed by the loader"


def test_the_page_role_is_checked_on_the_access(page_app):
    with page_app.app_context():
        w = make_world(db.session)
        pat, sam = w.person("Pat"), w.person("Sam")
        cohort = w.cohort("A", facilitators=[pat], members=[sam])
        db.session.commit()
        ids, pat, sam = (w.course.id, cohort.id), pat.user_id, sam.user_id
    pat_client, sam_client = _client(page_app, pat), _client(page_app, sam)
    assert pat_client.get(f"/c/{ids[0]}/t/manager").text == f"manages {ids[1]}"
    assert pat_client.get(f"/c/{ids[0]}/t/lead").status_code == 403
    assert sam_client.get(f"/c/{ids[0]}/t/manager").status_code == 403
    assert sam_client.get(f"/c/{ids[0]}/t/any").status_code == 200
    assert sam_client.get(f"/c/{ids[0] + 1}/t/any").status_code == 403, "not a member of that course"


def test_a_staff_members_first_visit_to_a_page_without_first_visit_steps_keeps_the_program(page_app):
    """ensure_program flushes the program it makes: the loader must commit it even with nothing left pending."""
    with page_app.app_context():
        w = make_world(db.session)
        db.session.delete(w.program)
        staff = w.person("Staff", CourseRole.facilitator)
        db.session.commit()
        staff, course_id = staff.user_id, w.course.id
    assert _client(page_app, staff).get(f"/c/{course_id}/t/lead").text == "lead"
    with page_app.app_context():
        assert db.session.scalar(select(Program.id).where(Program.course_id == course_id)) is not None
