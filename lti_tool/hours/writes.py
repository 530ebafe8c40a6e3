"""PD-hours changes: the program's conversion profile and certificate settings (leads), and the lines a lead
enters by hand (a reason is required; removing one keeps it, with who and why). Each function checks
permission, validates (``InvalidInput`` on the field concerned), changes, flushes, never commits."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from lti_tool.course import events
from lti_tool.course.access import Access
from lti_tool.db import utcnow
from lti_tool.errors import InvalidInput, NotFound
from lti_tool.hours.models import Category, HoursProfile, ManualLine, Rounding, Unit
from lti_tool.hours.permissions import require_manual_lead, require_profile_lead
from lti_tool.hours.queries import DEFAULT_PROFILE, get_manual_line
from lti_tool.lti.models import Membership

MAX_MINUTES = 100 * 60      # one manual line: at most 100 hours


def _text(value: str | None, limit: int) -> str:
    return (value or "").strip()[:limit]


def save_profile(session: Session, access: Access, *, unit: str, rounding: str, caps: dict[str, float | None],
                 reading_minutes: int, excused_percent: int, required_units: float | None = None,
                 provider: str = "", location: str = "", signer_name: str = "", signer_title: str = "",
                 certificates_enabled: bool = False, open_badges: bool = False) -> HoursProfile:
    """The program's unit, rounding, caps (category → percent of the credited total), credits and what its
    certificates say (leads only). Turning certificates on issues nothing by itself: each person's certificate
    is issued when they meet the completion rule (customcert #672)."""
    require_profile_lead(access)
    try:
        unit_value, rounding_value = Unit(unit), Rounding(rounding)
    except ValueError:
        raise InvalidInput("Choose a unit and a rounding from the lists.", "unit") from None
    clean_caps = {}
    for key, percent in (caps or {}).items():
        if percent is None or percent == "":
            continue
        try:
            category = Category(key)
        except ValueError:
            raise InvalidInput(f"“{key}” is not a category.", "caps") from None
        if not 0 <= float(percent) < 100:
            raise InvalidInput(f"A cap is a percentage from 0 to 99 ({category.label}).", f"cap_{key}")
        clean_caps[category.value] = float(percent)
    if reading_minutes is None or not 0 <= reading_minutes <= 24 * 60:
        raise InvalidInput("Give the minutes a reading credits, between 0 and 1440.", "reading_minutes")
    if excused_percent is None or not 0 <= excused_percent <= 100:
        raise InvalidInput("Give the share of an excused session that counts, from 0 to 100 %.", "excused_percent")
    if required_units is not None and not 0 < required_units <= 10000:
        raise InvalidInput("The minimum must be more than 0 (or leave it empty).", "required_units")
    profile = session.scalar(select(HoursProfile).where(HoursProfile.program_id == access.program.id))
    if profile is None:
        profile = HoursProfile(program_id=access.program.id, **DEFAULT_PROFILE)
        session.add(profile)
    profile.unit, profile.rounding, profile.caps = unit_value, rounding_value, clean_caps
    profile.reading_minutes, profile.excused_percent, profile.required_units = reading_minutes, excused_percent, \
        required_units
    profile.provider, profile.location = _text(provider, 200), _text(location, 200)
    profile.signer_name, profile.signer_title = _text(signer_name, 200), _text(signer_title, 200)
    profile.certificates_enabled, profile.open_badges = bool(certificates_enabled), bool(open_badges)
    session.flush()
    return profile


def add_manual_line(session: Session, access: Access, membership_id: int, *, category: str, on_date: dt.date,
                    minutes: int, title: str, reason: str) -> ManualLine:
    """A line entered by hand for one course member (leads only): never without a reason."""
    require_manual_lead(access)
    person = session.scalar(select(Membership).where(Membership.id == membership_id,
                                                     Membership.course_id == access.course_id))
    if person is None:
        raise NotFound("There is no such person in this course.")
    try:
        category_value = Category(category)
    except ValueError:
        raise InvalidInput("Choose what the line counts as.", "category") from None
    if on_date is None:
        raise InvalidInput("Give the date of the activity.", "on_date")
    if minutes is None or not 0 < minutes <= MAX_MINUTES:
        raise InvalidInput("Give the minutes, more than 0 and at most 6000 (100 hours).", "minutes")
    title, reason = _text(title, 200), _text(reason, 2000)
    if not title:
        raise InvalidInput("Say what the activity was, e.g. “State leadership conference”.", "title")
    if not reason:
        raise InvalidInput("Give the reason for this line: it is kept with it for audits.", "reason")
    line = ManualLine(program_id=access.program.id, membership_id=person.id, category=category_value,
                      on_date=on_date, minutes=minutes, title=title, reason=reason, entered_by_id=access.id)
    session.add(line)
    session.flush()
    events.progress_changed.send(session, program_id=access.program.id, membership_ids=[person.id])
    return line


def remove_manual_line(session: Session, access: Access, line_id: int, reason: str,
                       now: dt.datetime | None = None) -> ManualLine:
    """Take a manual line out of the ledger (leads only); the row stays, with who removed it and why."""
    require_manual_lead(access)
    line = get_manual_line(session, access, line_id)
    if line.removed_at is not None:
        raise InvalidInput("This line was already removed.")
    reason = _text(reason, 2000)
    if not reason:
        raise InvalidInput("Say why the line is removed.", "reason")
    line.removed_at, line.removed_by_id, line.removed_reason = now or utcnow(), access.id, reason
    session.flush()
    events.progress_changed.send(session, program_id=access.program.id, membership_ids=[line.membership_id])
    return line
