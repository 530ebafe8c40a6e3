"""The Alembic migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""
from __future__ import annotations

import os

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from lti_tool import create_app
from lti_tool.db import Base, db
from lti_tool.migrate import pending_migrations, upgrade
from tests.conftest import _postgres_database


@pytest.fixture
def empty_database_url(tmp_path):
    if os.environ.get("TEST_DB") == "postgresql":
        url, drop = _postgres_database()
        yield url
        drop()
    else:
        yield f"sqlite:///{tmp_path / 'migrated.sqlite3'}"


def test_upgrade_builds_the_schema_of_the_models(empty_database_url, tmp_path):
    app = create_app("testing", DATABASE_URL=empty_database_url, STATE_CACHE_DIR=str(tmp_path / "state"),
                     SANDBOX_ENABLED=False)
    assert pending_migrations(app), "an empty database has migrations to apply"
    upgrade(app)
    assert pending_migrations(app) == []
    engine = db.engine_for(app)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    assert diff == [], f"models and migrations differ: {diff}"
    assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())
    engine.dispose()


def test_an_unmigrated_database_gets_a_clear_page_not_a_crash(empty_database_url, tmp_path):
    app = create_app("testing", DATABASE_URL=empty_database_url, STATE_CACHE_DIR=str(tmp_path / "state"),
                     SANDBOX_ENABLED=False)
    response = app.test_client().get("/lti/help")
    assert response.status_code == 503
    assert b"flask --app wsgi db upgrade" in response.data
    db.engine_for(app).dispose()
