"""The database: engine per app, one session per app context, the typed declarative Base and shared mixins."""
from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass

from flask import Flask, current_app, g
from sqlalchemy import DateTime, MetaData, create_engine, event, func
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker
from sqlalchemy.types import TypeDecorator

# Constraint names that Alembic can rely on, on SQLite and PostgreSQL alike.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def insert_ignoring_conflicts(session: Session, model, rows: list[dict] | dict,
                              index_elements: list[str] | None = None) -> int:
    """INSERT … ON CONFLICT DO NOTHING on PostgreSQL and SQLite: requests racing to create the same row are
    harmless, without a savepoint (pysqlite's are unreliable, and other features' after-commit hooks would see
    its release). ``rows`` is one row or a list of them; returns how many were inserted (counted from
    RETURNING: psycopg reports rowcount -1 for this statement through the ORM session)."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    statement = (insert(model).values(rows).on_conflict_do_nothing(index_elements=index_elements)
                 .returning(*model.__table__.primary_key.columns))
    return len(session.execute(statement).all())


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite drops the offset; we put it back)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; store times in UTC with tzinfo")
        return value.astimezone(dt.timezone.utc)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.timezone.utc)
        return value.astimezone(dt.timezone.utc)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dt.datetime: UTCDateTime()}


class TimestampMixin:
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, server_default=func.now())
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow, server_default=func.now())


def make_engine(url: str, echo: bool = False) -> Engine:
    if url.startswith("sqlite:///"):
        path = url[len("sqlite:///"):]
        if path and path != ":memory:":
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        engine = create_engine(url, echo=echo, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):
            # Foreign keys are off by default in SQLite; WAL lets the job consumer write while pages read.
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return create_engine(url, echo=echo, pool_pre_ping=True, pool_size=5, max_overflow=10)


@dataclass
class _State:
    engine: Engine
    factory: sessionmaker[Session]


class Database:
    """Holds each app's engine; ``db.session`` is the session of the current app context."""

    def init_app(self, app: Flask) -> None:
        engine = make_engine(app.config["DATABASE_URL"], app.config.get("DATABASE_ECHO", False))
        app.extensions["lti_tool.db"] = _State(engine, sessionmaker(engine, expire_on_commit=False))
        app.teardown_appcontext(self._teardown)

    @staticmethod
    def _state(app: Flask | None = None) -> _State:
        return (app or current_app).extensions["lti_tool.db"]

    @property
    def engine(self) -> Engine:
        return self._state().engine

    def engine_for(self, app: Flask) -> Engine:
        return self._state(app).engine

    @property
    def session(self) -> Session:
        if "db_session" not in g:
            g.db_session = self._state().factory()
        return g.db_session

    def new_session(self) -> Session:
        """A session outside the request's, for work that must commit on its own (jobs, outbox)."""
        return self._state().factory()

    @staticmethod
    def _teardown(exc: BaseException | None) -> None:
        session = g.pop("db_session", None)
        if session is not None:
            if exc is not None:
                session.rollback()
            session.close()


db = Database()
