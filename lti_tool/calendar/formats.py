"""Sessions as iCalendar: one session's .ics download, and a person's private feed, found by its token (no
login: the long, random, revocable token in the URL is the key)."""
from __future__ import annotations

from typing import Iterable

import icalendar
from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from lti_tool.calendar.models import CalendarToken, Meeting
from lti_tool.calendar.queries import list_meetings
from lti_tool.course.access import Access, access_for
from lti_tool.course.zones import program_zone
from lti_tool.db import utcnow
from lti_tool.errors import NotFound
from lti_tool.lti.models import Membership
from lti_tool.programs.models import Program


def feed_for_token(session: Session, token: str) -> tuple[Access, list[Meeting]]:
    """Whose feed a URL is (their ``Access``: person, program, zones) and the sessions it shows, which are
    what that person sees in the calendar; a revoked or unknown token, or a person no longer in the course,
    is "not found"."""
    row = session.scalar(select(CalendarToken).options(
        joinedload(CalendarToken.membership).joinedload(Membership.course))
        .where(CalendarToken.token == token, CalendarToken.revoked_at.is_(None)))
    if row is None or not row.membership.active:
        raise NotFound("This calendar address is not valid any more. Get a new one from the Subscribe page.")
    access = access_for(session, row.membership)
    return access, list_meetings(session, access)


def meetings_to_ical(meetings: Iterable[Meeting], program: Program, *, host: str, name: str,
                     page_url=None) -> bytes:
    """An iCalendar document: stable UIDs per session, times in the program's zone (with its VTIMEZONE),
    STATUS:CANCELLED for cancelled sessions. ``page_url(meeting)`` gives the session's page, if any."""
    zone = program_zone(program)
    cal = icalendar.Calendar()
    cal.add("prodid", "-//Communities of Practice//Live sessions//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", name)
    cal.add("x-wr-timezone", zone.key)
    for meeting in meetings:
        event = icalendar.Event()
        event.add("uid", f"meeting-{meeting.id}@{host}")
        event.add("dtstamp", meeting.updated_at or utcnow())
        event.add("last-modified", meeting.updated_at or utcnow())
        event.add("dtstart", meeting.starts_at.astimezone(zone))
        event.add("dtend", meeting.ends_at.astimezone(zone))
        summary = meeting.title if meeting.cohort is None else f"{meeting.title} — {meeting.cohort.name}"
        event.add("summary", ("Cancelled: " if meeting.cancelled else "") + summary)
        event.add("categories", [meeting.kind.label])
        description = [meeting.agenda] if meeting.agenda else []
        if meeting.meeting_url:
            event.add("url", meeting.meeting_url)
            description.append(f"Join: {meeting.meeting_url}")
        elif page_url is not None:
            event.add("url", page_url(meeting))
        if page_url is not None:
            description.append(f"Session page: {page_url(meeting)}")
        if description:
            event.add("description", "\n\n".join(description))
        location = meeting.location or meeting.meeting_url
        if location:
            event.add("location", location)
        event.add("status", "CANCELLED" if meeting.cancelled else "CONFIRMED")
        cal.add_component(event)
    cal.add_missing_timezones()
    return cal.to_ical()
