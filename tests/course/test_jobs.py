"""The job queue belongs to the app that enqueues: building more apps in one process (tests, benchmarks)
rebinds nothing; work asked for after a commit waits for the outer commit and is dropped on rollback."""
from __future__ import annotations

from flask import current_app
from huey.storage import MemoryStorage
from sqlalchemy import select

from lti_tool import create_app
from lti_tool.db import db
from lti_tool.jobs import _Queue, after_commit, huey, task

ran_in: list[str] = []


@task()
def note_app() -> None:
    ran_in.append(current_app.config["WHICH"])


def _app(tmp_path, which: str, **config):
    return create_app("testing", DATABASE_URL=f"sqlite:///{tmp_path / which}.sqlite3", STATE_CACHE_DIR=str(tmp_path),
                      REDIS_URL="", SERVER_NAME=None, WHICH=which, **config)


def test_a_task_runs_in_the_app_that_enqueued_it_whatever_app_was_built_last(tmp_path):
    first = _app(tmp_path, "first")
    _app(tmp_path, "second")
    ran_in.clear()
    with first.app_context():
        note_app()
    assert ran_in == ["first"]


def test_each_app_keeps_its_own_queue(tmp_path):
    immediate = _app(tmp_path, "immediate")
    queued = _app(tmp_path, "queued", HUEY_IMMEDIATE=False, HUEY_SQLITE_PATH=str(tmp_path / "huey.sqlite3"))
    _app(tmp_path, "third")
    ran_in.clear()
    with queued.app_context():
        note_app()
        assert len(huey.pending()) == 1, "waits in the second app's SQLite queue for its worker"
    with immediate.app_context():
        note_app()
        assert huey.pending() == []
    assert ran_in == ["immediate"]


def test_after_commit_waits_for_the_outer_commit_runs_once_and_is_dropped_on_rollback(app):
    calls: list[str] = []
    with app.app_context():
        session = db.session
        with session.begin_nested():
            after_commit(session, "k", lambda: calls.append("first"))
            after_commit(session, "k", lambda: calls.append("second"))   # the same key: once
        assert calls == [], "a released savepoint is not the commit"
        session.commit()
        assert calls == ["second"]
        session.execute(select(1))                                        # a transaction under way...
        after_commit(session, "k", lambda: calls.append("lost"))
        session.rollback()                                                 # ...that is rolled back
        session.commit()
        assert calls == ["second"]


def test_a_queue_that_refuses_work_does_not_fail_the_commit(app, queue_down, caplog):
    with app.app_context():
        session = db.session
        after_commit(session, "k", note_app)
        session.commit()     # the change is saved; the failure is logged
    assert "after-commit work 'k' failed" in caplog.text


def test_the_idle_queue_fixture_is_a_queue_with_no_worker(app):
    # What other tests rely on: a non-immediate app queue holds the task until a worker takes it.
    saved = app.extensions["lti_tool.jobs"]
    app.extensions["lti_tool.jobs"] = _Queue(MemoryStorage("lti_tool"), False)
    try:
        ran_in.clear()
        with app.app_context():
            note_app()
            assert len(huey.pending()) == 1 and ran_in == []
    finally:
        app.extensions["lti_tool.jobs"] = saved
