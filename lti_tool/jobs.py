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
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable, Iterator

from flask import Blueprint, Flask, current_app, has_app_context, jsonify, render_template, request
from huey.api import Huey
from huey.storage import MemoryStorage, RedisStorage, SqliteStorage
from sqlalchemy import JSON, Enum, ForeignKey, String, Text, event, select
from sqlalchemy.orm import Mapped, Session, mapped_column

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


class AppHuey(Huey):
    """One task registry for the process (tasks are declared at import time), with the queue of the app in
    whose context a task is enqueued: each ``create_app`` keeps its own storage and immediate mode on
    ``app.extensions``, so building a second app (tests, benchmarks) never rebinds the first one's queue.
    Outside any app context (the consumer's threads) the queue is the worker's, bound by ``run_worker``."""

    def __init__(self, name: str):
        self._fallback_immediate = True
        super().__init__(name, immediate=True)

    @staticmethod
    def _bound() -> _Queue | None:
        if has_app_context():
            return current_app.extensions.get("lti_tool.jobs")
        return _worker["queue"]

    @property
    def storage(self):
        bound = self._bound()
        return bound.storage if bound is not None else self._fallback_storage

    @storage.setter
    def storage(self, value) -> None:
        self._fallback_storage = value

    @property
    def _immediate(self) -> bool:
        bound = self._bound()
        return bound.immediate if bound is not None else self._fallback_immediate

    @_immediate.setter
    def _immediate(self, value: bool) -> None:
        self._fallback_immediate = value


@dataclass
class _Queue:
    storage: Any
    immediate: bool


# The app a consumer process runs its tasks in: set by ``run_worker`` only, never by create_app.
_worker: dict[str, Any] = {"app": None, "queue": None}
huey: Huey = AppHuey("lti_tool")


def init_app(app: Flask) -> None:
    """This app's queue: immediate (tests), Redis (production), or SQLite beside the database."""
    if app.config.get("HUEY_IMMEDIATE"):
        storage, immediate = MemoryStorage("lti_tool"), True
    elif app.config.get("REDIS_URL"):
        storage, immediate = RedisStorage("lti_tool", url=app.config["REDIS_URL"]), False
    else:
        os.makedirs(os.path.dirname(app.config["HUEY_SQLITE_PATH"]), exist_ok=True)
        storage, immediate = SqliteStorage("lti_tool", filename=app.config["HUEY_SQLITE_PATH"]), False
    app.extensions["lti_tool.jobs"] = _Queue(storage, immediate)

    @app.cli.command("worker")
    def worker():  # pragma: no cover - runs until stopped
        """Run the background-job consumer (Huey) for this app's configuration."""
        run_worker(app)


def run_worker(app: Flask, **options) -> None:  # pragma: no cover - runs until stopped
    """Consume this app's queue in this process: its tasks run in ``app``."""
    from huey.consumer import Consumer

    _worker.update(app=app, queue=app.extensions["lti_tool.jobs"])
    Consumer(huey, **{"workers": 2, "worker_type": "thread", "periodic": True, **options}).run()


def _in_app(fn: Callable) -> Callable:
    @functools.wraps(fn)
    def run_in_app(*args, **kw):
        # Immediate mode runs the task in the enqueuing app, a consumer in its worker's app; either way in a
        # fresh app context, so the task's db.session is its own and never the request's.
        app = current_app._get_current_object() if has_app_context() else _worker["app"]
        if app is None:
            raise RuntimeError("a task ran outside an app and no worker app is bound (see jobs.run_worker)")
        with app.app_context():
            return fn(*args, **kw)

    return run_in_app


def task(**kwargs) -> Callable:
    """A Huey task that runs inside the app's context."""
    return lambda fn: huey.task(**kwargs)(_in_app(fn))


def periodic(schedule) -> Callable:
    """A periodic Huey task (run by the consumer's scheduler) inside the app's context."""
    return lambda fn: huey.periodic_task(schedule)(_in_app(fn))


# -- after the commit ---------------------------------------------------------------------------------------

def after_commit(session: Session, key: str, fn: Callable[[], None]) -> None:
    """Run ``fn`` once the session's outer transaction has committed (a released savepoint is not the
    commit). One call per ``key`` however often it is asked for; dropped if the transaction rolls back.
    A failure of ``fn`` is logged, never raised: the change it follows is already saved."""
    session.info.setdefault("lti_tool.after_commit", {})[key] = fn


def pending_after_commit(session: Session, key: str) -> Callable[[], None] | None:
    """What ``after_commit`` holds for ``key`` in this transaction (None: nothing, or it was dropped with a
    rollback): a caller that gathers work for one call after the commit adds to it."""
    return session.info.get("lti_tool.after_commit", {}).get(key)


@event.listens_for(Session, "after_commit")
def _run_after_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return
    for key, fn in session.info.pop("lti_tool.after_commit", {}).items():
        try:
            fn()
        except Exception:  # noqa: BLE001 - the queue's own errors vary by backend (Redis down, a locked file)
            log.exception("after-commit work %r failed", key)


@event.listens_for(Session, "after_soft_rollback")
def _drop_after_commit(session: Session, previous_transaction) -> None:
    # The outer transaction rolled back (a savepoint's rollback leaves it): what was asked for follows a
    # change that is gone.
    if previous_transaction.parent is None:
        session.info.pop("lti_tool.after_commit", None)


def enqueue_after_commit(session: Session, key: str, task_fn: Callable, *args,
                         on_error: Callable[[Exception], None] | None = None) -> None:
    """Enqueue ``task_fn(*args)`` once the rows it will read are committed. If the queue cannot take it,
    ``on_error`` says so where a person will see it (a job's row); the periodic sweeps pick up the rest."""

    def enqueue() -> None:
        try:
            task_fn(*args)
        except Exception as exc:
            if on_error is None:
                raise
            log.exception("could not enqueue %s", key)
            on_error(exc)

    after_commit(session, key, enqueue)


QUEUE_DOWN = ("The background job queue could not be reached, so nothing started. Try again in a few minutes; "
              "if it keeps happening, the tool's administrator should check that its worker is running.")
ABANDONED_AFTER = dt.timedelta(minutes=30)
ABANDONED = "This job stopped without finishing (no worker picked it up, or it was stopped). Run it again."


def _latest_open(session: Session, kind: str, course_id: int | None) -> Job | None:
    return session.scalar(select(Job).where(
        Job.course_id == course_id, Job.kind == kind, Job.status.in_([JobStatus.queued, JobStatus.running])
    ).order_by(Job.id.desc()).limit(1))


def _abandoned(job: Job, abandoned_after: dt.timedelta) -> bool:
    return job.updated_at < utcnow() - abandoned_after


def job_under_way(session: Session, kind: str, course_id: int | None,
                  abandoned_after: dt.timedelta = ABANDONED_AFTER) -> Job | None:
    """The job of ``kind`` queued or running for the course, if any, for a page to show (it writes nothing).
    One that no worker has touched for ``abandoned_after`` (no consumer running, a worker killed) is not under
    way: ``open_job`` marks it failed when someone starts the next."""
    job = _latest_open(session, kind, course_id)
    return None if job is None or _abandoned(job, abandoned_after) else job


def open_job(session: Session, kind: str, course_id: int | None, started_by_id: int | None, task_fn: Callable,
             *, total: int | None = None, abandoned_after: dt.timedelta = ABANDONED_AFTER) -> tuple[Job, bool]:
    """Start a job of ``kind`` for the course, or find the one under way: (job, is_new). A new job runs
    ``task_fn(job.id)`` once the caller commits; if the queue cannot take it, the job fails with
    ``QUEUE_DOWN`` instead of the request, and the next click starts afresh."""
    existing = _latest_open(session, kind, course_id)
    if existing is not None and _abandoned(existing, abandoned_after):
        existing.status, existing.error, existing.finished_at = JobStatus.failed, ABANDONED, utcnow()
        session.flush()
    elif existing is not None:
        return existing, False
    job = Job(kind=kind, course_id=course_id, started_by_id=started_by_id, total=total)
    session.add(job)
    session.flush()
    job_id = job.id
    enqueue_after_commit(session, f"job:{job_id}", task_fn, job_id,
                         on_error=lambda exc: report(job_id, status=JobStatus.failed, error=QUEUE_DOWN))
    return job, True


@contextmanager
def job_session(job_id: int) -> Iterator[tuple[Session, Job | None]]:
    """A job task's own session (closed at the end, whatever happens) and its row; the row is None when the job
    is gone or already finished, and the task then has nothing to do."""
    session = db.new_session()
    try:
        job = session.get(Job, job_id)
        yield session, (None if job is None or job.finished else job)
    finally:
        session.close()


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
# bar and the job's message; JSON for Accept: application/json. Jobs of another course are 404; within the
# course, the course's staff and whoever started the job follow it.

from lti_tool.course.access import Access  # noqa: E402 - the course layer imports the models this module's Job sits beside
from lti_tool.course.pages import program_page  # noqa: E402
from lti_tool.errors import Forbidden, NotFound  # noqa: E402

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


def get_job(session: Session, access: Access, job_id: int) -> Job:
    """A job of the viewer's course (404 for another course's) that they may follow: the course's staff, or
    whoever started it."""
    job = session.get(Job, job_id)
    if job is None or job.course_id != access.course_id:
        raise NotFound("There is no such job in this course.")
    if not access.staff and job.started_by_id != access.membership.user_id:
        raise Forbidden("Only the course's instructors, or whoever started it, can follow this job.")
    return job


@bp.route("/<int:job_id>")
@program_page(optional=True)
def show(access: Access, job_id: int):
    job = get_job(db.session, access, job_id)
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    if best == "application/json":
        return jsonify(job_json(job))
    if request.headers.get("HX-Request"):
        return render_template("jobs/_fragment.html", job=job)
    return render_template("jobs/show.html", job=job, back=_safe_next(request.args.get("next")))
