"""`make run`'s sandbox setup builds a realistic demo program, once: cohorts, sessions, a book study and modules
with some progress."""
import datetime as dt

from sqlalchemy import func, select

from lti_tool.calendar.models import Meeting
from lti_tool.db import db
from lti_tool.discussions.models import Book, Notification, Post, Reading, Thread
from lti_tool.discussions.queries import schedule
from lti_tool.grades.models import GradedComponent, ScoreDelivery
from lti_tool.modules.models import (GradeMode, ItemCompletion, ItemKind, ItemThread, Module, ModuleItem,
                                     ModuleSettings, Reflection, ReflectionVisibility, ReleaseRule)
from lti_tool.programs.models import Application, Cohort, CohortMember, Program, SeatStatus
from lti_tool.attendance.models import AttendanceRecord
from lti_tool.certificates.models import Certificate, CertificateEvent
from lti_tool.hours.models import HoursProfile, ManualLine
from lti_tool.completion.models import CompletionRule, CompletionState, RuleVersion

DEMO_TABLES = [Program, Cohort, CohortMember, Meeting, Application, Book, Reading, Thread, Post, Notification, Module,
               ModuleItem, ItemThread, ItemCompletion, Reflection, GradedComponent, ScoreDelivery, AttendanceRecord,
               HoursProfile, ManualLine, Certificate, CertificateEvent, CompletionRule, RuleVersion, CompletionState]


def _counts():
    return {model.__name__: db.session.scalar(select(func.count()).select_from(model)) for model in DEMO_TABLES}


def _setup(app):
    result = app.test_cli_runner().invoke(args=["sandbox", "setup", "--base-url", "http://localhost:5000"])
    assert result.exit_code == 0, result.output


def _demo_program(app):
    with app.app_context():
        from lti_tool.demo import create_demo_program
        from lti_tool.lti.registry import find_platform
        from lti_tool.sandbox import services as sb

        platform_row = sb.first_platform(db.session)
        tool = sb.get_tool(db.session, platform_row)
        program = create_demo_program(db.session, find_platform(db.session, platform_row.issuer, tool.client_id))
        db.session.commit()
        return program.course_id


def test_sandbox_setup_creates_a_demo_program_once(app):
    _setup(app)
    with app.app_context():
        first = _counts()
    _setup(app)
    with app.app_context():
        assert _counts() == first     # the second run adds nothing
        assert db.session.scalar(select(func.count()).select_from(Program)) == 1
        assert db.session.scalar(select(func.count()).select_from(Cohort)) == 5
        assert db.session.scalar(select(func.count()).select_from(Meeting)) > 30
        assert db.session.scalar(select(func.count()).select_from(Application)) == 2
        assert db.session.scalar(select(func.count()).select_from(CohortMember)
                                 .where(CohortMember.status == SeatStatus.waitlisted)) == 2


def test_the_demo_has_a_book_study_with_readings_around_today_and_talk_in_this_weeks_thread(app):
    from lti_tool.demo import demo_today

    _setup(app)
    with app.app_context():
        program = db.session.scalar(select(Program))
        [book] = db.session.scalars(select(Book)).all()
        assert book.title.startswith("Street Data") and "Shane Safir" in book.author
        assert sorted(link.cohort.name for link in book.cohort_links) == ["Anti-Racist Curriculum",
                                                                          "Principals Role-Alike"]
        assert 4 <= len(book.readings) <= 6 and all(r.prompt_html for r in book.readings)
        assert all(program.starts_on <= r.starts_on <= r.ends_on <= program.ends_on for r in book.readings)
        plan = schedule(book, demo_today(program))
        assert len(plan.current) == 1 and plan.past and plan.upcoming
        [current] = plan.current
        principals = db.session.scalar(select(Cohort).where(Cohort.name == "Principals Role-Alike"))
        thread = db.session.scalar(select(Thread).where(Thread.cohort_id == principals.id,
                                                        Thread.reading_id == current.id))
        posts = db.session.scalars(select(Post).where(Post.thread_id == thread.id)).all()
        authors = {p.author.user.display_name for p in posts if p.author.role.value == "participant"}
        assert len(authors) >= 3 and any(p.parent_id for p in posts)
        assert any(p.author.role.value == "facilitator" for p in posts)
        assert db.session.scalar(select(func.count()).select_from(ScoreDelivery)) == 0   # nothing for the LMS


def test_the_demo_has_three_modules_with_every_kind_of_item_and_some_progress(app):
    _setup(app)
    with app.app_context():
        modules = db.session.scalars(select(Module).order_by(Module.position)).all()
        assert [m.release_rule for m in modules] == [ReleaseRule.by_hand, ReleaseRule.by_date,
                                                     ReleaseRule.after_module]
        assert modules[0].released and modules[2].after_module_id == modules[1].id
        assert modules[2].grade_mode is GradeMode.share_completed
        assert len({link.opens_on for link in modules[1].cohort_links}) == 2     # a date per cohort
        assert db.session.scalar(select(ModuleSettings.weekly_budget_minutes)) == 120
        assert all(60 <= m.total_minutes <= 120 for m in modules)
        items = [i for m in modules for i in m.items]
        assert {i.kind for i in items} == set(ItemKind)
        readings = [i for i in items if i.kind is ItemKind.reading]
        assert any(i.reading_id for i in readings) and any(i.url and not i.reading_id for i in readings)
        [video] = [i for i in items if i.kind is ItemKind.video]
        assert video.video_provider == "youtube" and video.video_id
        assert {i.reflection_visibility for i in items if i.kind is ItemKind.reflection} == set(ReflectionVisibility)
        discussions = [i for i in items if i.kind is ItemKind.discussion]
        assert any(i.reading_id for i in discussions) and any(not (i.reading_id or i.url) for i in discussions)
        assert all(i.url for i in items if i.kind is ItemKind.resource)

        # A shared reflection is a post in its item's thread of the cohort; a private one has the facilitator's answer.
        shared = db.session.scalars(select(Reflection).join(Reflection.item).where(
            ModuleItem.reflection_visibility == ReflectionVisibility.shared_to_cohort_thread)).all()
        assert shared
        for reflection in shared:
            post = db.session.get(Post, reflection.post_id)
            assert post.body_markdown == reflection.body and post.author_id == reflection.membership_id
            assert db.session.scalar(select(ItemThread).where(ItemThread.item_id == reflection.item_id,
                                                              ItemThread.thread_id == post.thread_id))
        assert db.session.scalar(select(func.count()).select_from(Reflection)
                                 .where(Reflection.feedback_at.is_not(None))) >= 1
        done = db.session.execute(select(ItemCompletion.membership_id, func.count())
                                  .group_by(ItemCompletion.membership_id)).all()
        assert len([n for _m, n in done if n >= 3]) >= 3


def test_demo_today_stays_inside_the_program_year(app):
    from lti_tool.demo import demo_today

    _setup(app)
    with app.app_context():
        program = db.session.scalar(select(Program))
        noon = lambda day: dt.datetime.combine(day, dt.time(17), dt.timezone.utc)  # noqa: E731
        middle = program.starts_on + (program.ends_on - program.starts_on) / 2
        assert demo_today(program, noon(middle)) == middle
        assert program.starts_on < demo_today(program, noon(program.starts_on - dt.timedelta(days=400)))
        assert demo_today(program, noon(program.ends_on + dt.timedelta(days=400))) < program.ends_on


def test_a_participant_launching_into_the_demo_sees_their_cohort(app, lti, live_server):
    course_id = _demo_program(app)
    browser = lti("demo-participant-1")
    assert "Principals Role-Alike" in browser.last.text
    page = browser.get(f"/c/{course_id}/modules/")
    assert page.status_code == 200
    for title in ("Launching our community", "Street Data: listening below the surface", "small test of change"):
        assert title in page.text
    page = browser.get(f"/c/{course_id}/discussions/")
    assert page.status_code == 200 and "Street Data" in page.text
    with app.app_context():
        items = db.session.scalars(select(ModuleItem.id).join(Module).where(Module.position < 3)).all()
        principals = db.session.scalar(select(Cohort.id).where(Cohort.name == "Principals Role-Alike"))
        threads = db.session.scalars(select(Thread.id).where(Thread.cohort_id == principals)).all()
    for path in [*[f"/c/{course_id}/modules/items/{i}" for i in items],
                 *[f"/c/{course_id}/discussions/cohort/{principals}/threads/{t}" for t in threads]]:
        assert browser.get(path).status_code == 200, path


def test_a_facilitator_sees_the_demo_modules_book_study_and_reflections(app, lti, live_server):
    course_id = _demo_program(app)
    browser = lti("demo-facilitator-1")
    with app.app_context():
        modules = db.session.scalars(select(Module).order_by(Module.position)).all()
        items = [i.id for m in modules for i in m.items]
        book_id = db.session.scalar(select(Book.id))
        threads = db.session.execute(select(Thread.id, Thread.cohort_id)).all()
    for path in [f"/c/{course_id}/modules/", f"/c/{course_id}/discussions/",
                 f"/c/{course_id}/discussions/books/{book_id}",
                 *[f"/c/{course_id}/modules/{m.id}" for m in modules],
                 *[f"/c/{course_id}/modules/{m.id}/progress" for m in modules],
                 *[f"/c/{course_id}/modules/{m.id}/reflections" for m in modules],
                 *[f"/c/{course_id}/modules/items/{i}" for i in items],
                 *[f"/c/{course_id}/discussions/cohort/{c}/threads/{t}" for t, c in threads]]:
        assert browser.get(path).status_code == 200, path


def test_the_demo_has_pd_hours_from_the_roll_and_a_certificate(app):
    from lti_tool.hours.queries import ledgers_for

    _setup(app)
    with app.app_context():
        program = db.session.scalar(select(Program))
        cert = db.session.scalar(select(Certificate))
        assert cert is not None and cert.data["unit_label"] == "contact hours" and cert.pdf.startswith(b"%PDF")
        ledgers = ledgers_for(db.session, program, [cert.membership_id])
        assert ledgers[cert.membership_id].total_minutes > 0
        assert db.session.scalar(select(func.count()).select_from(ManualLine)) == 1



def test_the_demo_has_a_completion_rule_and_everyone_seated_has_a_standing(app):
    from lti_tool.completion.models import CompletionRule, CompletionState

    _setup(app)
    with app.app_context():
        rule = db.session.scalar(select(CompletionRule))
        assert rule is not None and rule.current_version is not None
        assert rule.current_version.tree["children"][0] == {"kind": "sessions", "n": 6, "id": "c1"}
        assert db.session.scalar(select(func.count()).select_from(CompletionState)) > 5
