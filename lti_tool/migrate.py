"""Alembic, driven from the app's configuration: `flask --app wsgi db upgrade` and the not-migrated check."""
from __future__ import annotations

import os

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask

MIGRATIONS_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "migrations")


def alembic_config(app: Flask) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", MIGRATIONS_DIR)
    cfg.attributes["app"] = app
    return cfg


def upgrade(app: Flask, revision: str = "head") -> None:
    command.upgrade(alembic_config(app), revision)


def stamp_head(app: Flask) -> None:
    """Mark a database built from the models as up to date (tests)."""
    command.stamp(alembic_config(app), "head")


def pending_migrations(app: Flask) -> list[str]:
    """Revisions in migrations/ that the database has not applied yet (empty when up to date)."""
    from lti_tool.db import db

    script = ScriptDirectory.from_config(alembic_config(app))
    heads = set(script.get_heads())
    with db.engine_for(app).connect() as conn:
        current = set(MigrationContext.configure(conn).get_current_heads())
    if current == heads:
        return []
    return [rev.revision for rev in script.iterate_revisions(tuple(heads), tuple(current) or "base")]
