"""`make run`'s sandbox setup builds a realistic demo program, once."""
from sqlalchemy import func, select

from lti_tool.calendar.models import Meeting
from lti_tool.db import db
from lti_tool.programs.models import Application, Cohort, CohortMember, Program, SeatStatus


def test_sandbox_setup_creates_a_demo_program_once(app):
    runner = app.test_cli_runner()
    for _ in range(2):
        result = runner.invoke(args=["sandbox", "setup", "--base-url", "http://localhost:5000"])
        assert result.exit_code == 0, result.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Program)) == 1
        assert db.session.scalar(select(func.count()).select_from(Cohort)) == 5
        assert db.session.scalar(select(func.count()).select_from(Meeting)) > 30
        assert db.session.scalar(select(func.count()).select_from(Application)) == 2
        assert db.session.scalar(select(func.count()).select_from(CohortMember)
                                 .where(CohortMember.status == SeatStatus.waitlisted)) == 2


def test_a_participant_launching_into_the_demo_sees_their_cohort(app, lti, live_server):
    with app.app_context():
        from lti_tool.demo import create_demo_program
        from lti_tool.lti.registry import find_platform
        from lti_tool.sandbox import services as sb

        platform_row = sb.first_platform(db.session)
        tool = sb.get_tool(db.session, platform_row)
        create_demo_program(db.session, find_platform(db.session, platform_row.issuer, tool.client_id))
        db.session.commit()
    page = lti("demo-participant-1").last
    assert "Principals Role-Alike" in page.text
