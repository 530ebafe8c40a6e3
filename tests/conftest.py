"""Shared fixtures: the app on a fresh database (SQLite, or PostgreSQL with TEST_DB=postgresql), a live
server on loopback that serves the tool and its sandbox LMS, and real LTI launches over HTTP."""
from __future__ import annotations

import itertools
import os
import secrets
import threading
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from sqlalchemy import text
from werkzeug.serving import make_server

from lti_tool import create_app
from lti_tool.db import Base, db
from tests.lti_client import LtiBrowser


def _postgres_database():
    """A throw-away PostgreSQL database per test run, so parallel runs never meet."""
    base = os.environ.get("TEST_DATABASE_URL", "postgresql://127.0.0.1:5432/test")
    name = f"cop_test_{os.getpid()}_{secrets.token_hex(3)}"
    admin = psycopg.connect(base, autocommit=True)
    admin.execute(f'CREATE DATABASE "{name}"')
    parts = urlsplit(base)
    url = urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, ""))

    def drop():
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()

    return url, drop


@pytest.fixture(scope="session", autouse=True)
def _rsa_key_pool():
    """Real RSA keys from a pool made once per test process: generating one costs about 50 ms, and nearly every
    test makes two (the tool's key at its first launch, the sandbox LMS's). Consecutive keys always differ (16 in
    turn), so a test that rotates keys or forges a token with a foreign key still gets distinct keys."""
    from lti_tool.lti import keys

    pool = itertools.cycle([keys.new_pem_pair() for _ in range(16)])
    original = keys.new_pem_pair
    keys.new_pem_pair = lambda: next(pool)
    yield
    keys.new_pem_pair = original


@pytest.fixture(scope="session")
def db_url(tmp_path_factory):
    if os.environ.get("TEST_DB") == "postgresql":
        url, drop = _postgres_database()
        yield url
        drop()
    else:
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"


@pytest.fixture(scope="session")
def app(db_url, tmp_path_factory):
    app = create_app(
        "testing",
        DATABASE_URL=db_url,
        STATE_CACHE_DIR=str(tmp_path_factory.mktemp("state")),
        REDIS_URL="",
        SERVER_NAME=None,
    )
    # Tables straight from the models (tests/test_migrations.py checks the migrations produce the same).
    Base.metadata.create_all(db.engine_for(app))
    from lti_tool.migrate import stamp_head

    stamp_head(app)
    return app


def _clean_tables(app) -> None:
    from lti_tool.sandbox.models import SandboxBase

    engine = db.engine_for(app)
    tables = list(reversed(Base.metadata.sorted_tables)) + list(reversed(SandboxBase.metadata.sorted_tables))
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # TRUNCATE costs about 5 ms a table whether it holds rows or not, and most tests touch a few of
            # the 60-odd tables: empty only those that hold rows, then restart every sequence that was used.
            probe = " UNION ALL ".join(f"SELECT '{t.name}' WHERE EXISTS (SELECT 1 FROM \"{t.name}\")" for t in tables)
            used = list(conn.execute(text(probe)).scalars())
            if used:
                names = ", ".join(f'"{name}"' for name in used)
                conn.execute(text(f"TRUNCATE {names} CASCADE"))
            for name in conn.execute(text("SELECT sequencename FROM pg_sequences WHERE last_value IS NOT NULL "
                                          "AND schemaname = current_schema()")).scalars():
                conn.execute(text(f'ALTER SEQUENCE "{name}" RESTART'))
        else:
            for table in tables:
                conn.execute(table.delete())
    from lti_tool.lti import storage

    with app.app_context():
        storage.cache().clear()
    from lti_tool.extensions import limiter_for

    limiter_for(app).reset()


@pytest.fixture(autouse=True)
def _fresh_data(request):
    """Every test starts with empty tables (only when it used the app)."""
    yield
    if "app" in request.fixturenames:
        _clean_tables(request.getfixturevalue("app"))


@pytest.fixture
def queue_down(app):
    """The app's job queue is a Redis server that is not there (a real connection refused on loopback):
    enqueueing fails as it does when production's Redis is down."""
    from huey.storage import RedisStorage

    from lti_tool.jobs import _Queue

    saved = app.extensions["lti_tool.jobs"]
    app.extensions["lti_tool.jobs"] = _Queue(RedisStorage("lti_tool", url="redis://127.0.0.1:9/0"), False)
    yield
    app.extensions["lti_tool.jobs"] = saved


@pytest.fixture
def idle_queue(app):
    """The app's job queue takes tasks but no worker has run them yet. Returns a function that lists the
    first argument (a job id) of every task waiting in it."""
    from huey.storage import MemoryStorage

    from lti_tool.jobs import _Queue, huey

    saved = app.extensions["lti_tool.jobs"]
    app.extensions["lti_tool.jobs"] = _Queue(MemoryStorage("lti_tool"), False)

    def waiting() -> list:
        with app.app_context():
            return [task.args[0] if task.args else None for task in huey.pending()]

    yield waiting
    app.extensions["lti_tool.jobs"] = saved


@pytest.fixture
def session(app):
    """A database session inside an app context, for service-level tests."""
    with app.app_context():
        yield db.session


class LiveServer:
    def __init__(self, app):
        self.app = app
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()


@pytest.fixture(scope="session")
def live_server(app):
    server = LiveServer(app)
    yield server
    server.stop()


@pytest.fixture
def sandbox(app, live_server):
    """The sandbox LMS with its demo course, registered in the tool as a platform (as `make run` does)."""
    from lti_tool.cli import register_sandbox

    with app.app_context():
        info = register_sandbox(db.session, live_server.url)
        db.session.commit()
    return info


@pytest.fixture
def lti(app, live_server, sandbox):
    """A factory of browsers that launch the tool from the sandbox over HTTP: lti("demo-facilitator-1")."""

    def make(user: str | None = None, **launch_args) -> LtiBrowser:
        browser = LtiBrowser(live_server.url)
        if user:
            browser.launch(user, **launch_args)
        return browser

    return make
