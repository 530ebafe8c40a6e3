"""Background work on Huey, and a Job row per long job so a page can show progress that survives a reload.

Embedded default: SQLite storage next to the database (``make run`` starts the consumer beside the web
server). Production: Redis (``flask --app wsgi worker``, as many as you like). Tests: immediate mode.
"""
from __future__ import annotations

import datetime as dt
import enum
import functools
import logging
import os
from typing import Any, Callable

from flask import Flask, current_app
from huey import MemoryHuey, RedisHuey, SqliteHuey
from huey.api import Huey
from sqlalchemy import JSON, Enum, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from lti_tool.db import Base, TimestampMixin, db, utcnow

log = logging.getLogger(__name__)


class JobStatus(str, enum.Enum):
    queued = "queued"
    running = "running"
    done = "done"
    failed = "failed"


class Job(TimestampMixin, Base):
    __tablename__ = "job"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(64))
    course_id: Mapped[int | None] = mapped_column(ForeignKey("course.id", ondelete="CASCADE"), index=True)
    started_by_id: Mapped[int | None] = mapped_column(ForeignKey("lti_user.id", ondelete="SET NULL"))
    status: Mapped[JobStatus] = mapped_column(Enum(JobStatus, native_enum=False, length=16), default=JobStatus.queued)
    done_count: Mapped[int] = mapped_column(default=0)
    total: Mapped[int | None]
    message: Mapped[str] = mapped_column(Text, default="")
    error: Mapped[str] = mapped_column(Text, default="")
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    started_at: Mapped[dt.datetime | None]
    finished_at: Mapped[dt.datetime | None]

    @property
    def percent(self) -> int:
        if self.status is JobStatus.done:
            return 100
        if not self.total:
            return 0
        return max(0, min(99, int(100 * self.done_count / self.total)))

    @property
    def finished(self) -> bool:
        return self.status in (JobStatus.done, JobStatus.failed)


# One Huey per process; its storage is chosen by init_app from the app's configuration.
huey: Huey = MemoryHuey("lti_tool", immediate=True)
_app: Flask | None = None


def init_app(app: Flask) -> None:
    global huey, _app
    _app = app
    if app.config.get("HUEY_IMMEDIATE"):
        huey.immediate = True
        return
    huey.immediate = False
    if app.config.get("REDIS_URL"):
        replacement: Huey = RedisHuey("lti_tool", url=app.config["REDIS_URL"])
    else:
        os.makedirs(os.path.dirname(app.config["HUEY_SQLITE_PATH"]), exist_ok=True)
        replacement = SqliteHuey("lti_tool", filename=app.config["HUEY_SQLITE_PATH"])
    huey.storage = replacement.storage

    @app.cli.command("worker")
    def worker():  # pragma: no cover - runs until stopped
        """Run the background-job consumer (Huey) for this app's configuration."""
        from huey.consumer import Consumer

        Consumer(huey, workers=2, worker_type="thread", periodic=True).run()


def task(**kwargs) -> Callable:
    """A Huey task that runs inside the app's context with its own database session."""

    def decorator(fn: Callable) -> Callable:
        @functools.wraps(fn)
        def run_in_app(*args, **kw):
            app = _app if _app is not None else current_app._get_current_object()
            with app.app_context():
                return fn(*args, **kw)

        return huey.task(**kwargs)(run_in_app)

    return decorator


def periodic(schedule) -> Callable:
    """A periodic Huey task (run by the consumer's scheduler) inside the app's context."""

    def decorator(fn: Callable) -> Callable:
        @functools.wraps(fn)
        def run_in_app(*args, **kw):
            app = _app if _app is not None else current_app._get_current_object()
            with app.app_context():
                return fn(*args, **kw)

        return huey.periodic_task(schedule)(run_in_app)

    return decorator


def start_job(session, kind: str, course_id: int | None, started_by_id: int | None, total: int | None = None) -> Job:
    job = Job(kind=kind, course_id=course_id, started_by_id=started_by_id, total=total)
    session.add(job)
    session.flush()
    return job


def report(job_id: int, *, done: int | None = None, total: int | None = None, message: str | None = None,
           status: JobStatus | None = None, error: str | None = None, result: dict | None = None) -> None:
    """Write progress in a separate short transaction, so a page sees it while the job still works."""
    session = db.new_session()
    try:
        job = session.get(Job, job_id)
        if job is None:
            return
        if done is not None:
            job.done_count = done
        if total is not None:
            job.total = total
        if message is not None:
            job.message = message
        if error is not None:
            job.error = error
        if result is not None:
            job.result = result
        if status is not None:
            job.status = status
            if status is JobStatus.running and job.started_at is None:
                job.started_at = utcnow()
            if status in (JobStatus.done, JobStatus.failed):
                job.finished_at = utcnow()
        session.commit()
    finally:
        session.close()


# -- the job progress view every feature can use ------------------------------------------------------------
# /c/<course_id>/jobs/<job_id>: a page (or, for htmx, the fragment it polls every second) with a <progress>
# bar and the job's message; JSON for Accept: application/json. Jobs of another course are 404.

from flask import Blueprint, abort, jsonify, render_template, request  # noqa: E402

from lti_tool.auth import require_course_role  # noqa: E402
from lti_tool.lti.models import CourseRole  # noqa: E402

bp = Blueprint("jobs", __name__, url_prefix="/c/<int:course_id>/jobs")


def _safe_next(value: str | None) -> str | None:
    """Only a path on this site (no scheme, no host) is followed back."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return None
    return value


def job_json(job: Job) -> dict[str, Any]:
    return {"id": job.id, "kind": job.kind, "status": job.status.value, "done": job.done_count, "total": job.total,
            "percent": job.percent, "finished": job.finished, "message": job.message, "error": job.error,
            "result": job.result,
            "started_at": job.started_at.isoformat() if job.started_at else None,
            "finished_at": job.finished_at.isoformat() if job.finished_at else None}


@bp.route("/<int:job_id>")
@require_course_role()
def show(membership, job_id: int):
    job = db.session.get(Job, job_id)
    if job is None or job.course_id != membership.course_id:
        abort(404, "There is no such job in this course.")
    if membership.role is not CourseRole.facilitator and job.started_by_id != membership.user_id:
        abort(403, "Only facilitators, or whoever started it, can follow this job.")
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    if best == "application/json":
        return jsonify(job_json(job))
    if request.headers.get("HX-Request"):
        return render_template("jobs/_fragment.html", job=job)
    return render_template("jobs/show.html", job=job, membership=membership,
                           back=_safe_next(request.args.get("next")))
