"""The background sweep of asynchronous runs (every five minutes): reminders before a phase closes and the
completion of runs past their last deadline (``writes.sweep_async_runs``). A sweep that runs late changes
nothing that pages show or the server accepts: the state is read from the deadlines."""
from __future__ import annotations

import datetime as dt

from flask import current_app
from huey import crontab

from lti_tool.db import db
from lti_tool.jobs import periodic
from lti_tool.protocols.writes import sweep_async_runs


def run_sweep(now: dt.datetime | None = None) -> dict[str, int]:
    """One sweep in a session of its own, committed."""
    session = db.new_session()
    try:
        hours = float(current_app.config.get("PROTOCOL_REMINDER_HOURS", 24))
        result = sweep_async_runs(session, now, remind_before=dt.timedelta(hours=hours))
        session.commit()
        return result
    finally:
        session.close()


@periodic(crontab(minute="*/5"))
def sweep_protocol_runs() -> dict[str, int]:
    return run_sweep()
