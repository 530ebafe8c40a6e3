"""Who may do what in attendance, on top of the course's ``Access`` (``lti_tool.course.access``): a cohort's
attendance is taken and seen by those who manage the cohort (its named facilitators, whatever their LMS role,
and the leads); the settings by leads; a personal record by its person and those who manage their cohort; and
a participant checks in only with the code showing on the facilitator's screen.

The check-in code is here because it is a credential: knowing it now is what admits a check-in.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re

from flask import current_app

from lti_tool.attendance.models import AttendanceSettings
from lti_tool.calendar.models import Meeting
from lti_tool.course.access import Access
from lti_tool.db import utcnow
from lti_tool.errors import DomainError, Forbidden
from lti_tool.programs.models import Cohort

CODE_STEP_SECONDS = 30
CODE_DIGITS = 6


class CheckInRefused(DomainError):
    status = 403
    title = "Check-in refused"


class WrongCode(DomainError):
    """A wrong or expired code: answered 400, and counted by the rate limit. Shown on the form's code field."""

    status = 400
    title = "That code is not right"
    field = "code"


def require_cohort_manager(access: Access, cohort: Cohort) -> None:
    """Forbidden unless ``access`` manages ``cohort`` (lead, or named facilitator of it)."""
    access.require_manager(cohort, "take or see its attendance")


def require_settings_lead(access: Access) -> None:
    access.require_lead("change attendance settings")


def require_record_viewer(access: Access, person_id: int, cohort: Cohort | None) -> None:
    """A personal record is seen by its person, by those who manage the person's cohort, and by leads."""
    if person_id != access.id and not access.lead and not (cohort is not None and access.manages(cohort)):
        raise Forbidden("You can see your own attendance, and facilitators see their cohorts'.")


# ---- the rotating check-in code ---------------------------------------------------------------------------

def _code_key() -> bytes:
    secret = current_app.config.get("ATTENDANCE_CHECKIN_SECRET") or current_app.config["SECRET_KEY"]
    return hashlib.sha256(b"attendance-checkin:" + str(secret).encode()).digest()


def time_step(now: dt.datetime) -> int:
    return int(now.timestamp()) // CODE_STEP_SECONDS


def checkin_code(meeting_id: int, step: int) -> str:
    """The code of one meeting in one 30-second step: HMAC-SHA256(secret, meeting id, step), TOTP-style
    dynamic truncation to six digits."""
    digest = hmac.new(_code_key(), f"{meeting_id}:{step}".encode(), hashlib.sha256).digest()
    offset = digest[-1] & 0x0F
    number = int.from_bytes(digest[offset:offset + 4], "big") & 0x7FFFFFFF
    return str(number % 10 ** CODE_DIGITS).zfill(CODE_DIGITS)


def current_code(meeting: Meeting, now: dt.datetime | None = None) -> tuple[str, int]:
    """The code showing now and the seconds until it changes."""
    now = now or utcnow()
    return checkin_code(meeting.id, time_step(now)), CODE_STEP_SECONDS - int(now.timestamp()) % CODE_STEP_SECONDS


def require_code(meeting: Meeting, code: str, now: dt.datetime) -> None:
    """``WrongCode`` unless ``code`` is the one showing now or the one just before it (typing takes time)."""
    given = re.sub(r"\s+", "", code or "")
    step = time_step(now)
    if not given or not any(hmac.compare_digest(given, checkin_code(meeting.id, s)) for s in (step, step - 1)):
        raise WrongCode("That code is not the one showing now. Codes change every 30 seconds: "
                        "type the one on the screen.")


def checkin_window(settings: AttendanceSettings, meeting: Meeting) -> tuple[dt.datetime, dt.datetime]:
    return (meeting.starts_at - dt.timedelta(minutes=settings.checkin_opens_minutes),
            meeting.ends_at + dt.timedelta(minutes=settings.checkin_closes_minutes))


def checkin_open(settings: AttendanceSettings, meeting: Meeting, now: dt.datetime | None = None) -> bool:
    opens, closes = checkin_window(settings, meeting)
    return not meeting.cancelled and opens <= (now or utcnow()) <= closes
