"""Certificates issued on eligibility, never on views and never in bulk: the completion rule tells
(``course.events.completion_changed``) that one person's state became "met"; after that transaction commits,
a job issues that one person's certificate (``writes.issue_for_completion``: never twice — the job checks,
and (program, person, version) is unique in the database, so two racing jobs cannot both write one)."""
from __future__ import annotations

import logging

from flask import current_app, has_request_context, request
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lti_tool.certificates import writes
from lti_tool.certificates.pdf import FontMissing
from lti_tool.db import db
from lti_tool.jobs import enqueue_after_commit, task

log = logging.getLogger(__name__)
MET = "met"


def base_url() -> str:
    """Where the verification URL points: the configured public address, else this request's."""
    configured = current_app.config.get("PUBLIC_BASE_URL") or ""
    if configured:
        return configured.rstrip("/")
    return request.host_url.rstrip("/") if has_request_context() else ""


def on_completion_changed(session: Session, *, program_id: int, membership_id: int, old: str | None, new: str,
                          **_ignored) -> None:
    """The receiver (connected in create_app): one person met the rule → their issue job, after the commit."""
    if new != MET or old == MET:
        return
    enqueue_after_commit(session, f"certificate:{program_id}:{membership_id}", issue_certificate_task, program_id,
                         membership_id, base_url())


@task(retries=2, retry_delay=60)
def issue_certificate_task(program_id: int, membership_id: int, base: str) -> int | None:
    """Issue one person's certificate if they have none (see ``writes.issue_for_completion``); the id or None."""
    session = db.session
    try:
        cert = writes.issue_for_completion(session, program_id, membership_id, base)
        session.commit()
    except FontMissing:
        session.commit()             # the refusal and the leads' notice
        return None
    except IntegrityError:
        session.rollback()           # another job issued it a moment ago
        log.info("certificate of %s in program %s was issued by another job", membership_id, program_id)
        return None
    return cert.id if cert is not None else None
