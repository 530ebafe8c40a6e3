"""What changes the calendar: live sessions (one-off or from a recurrence rule), the program's milestones,
a person's time zone and their private feed address. Operations take the acting party's ``Access`` where
they check permissions, validate (``InvalidInput`` names the field), flush and never commit."""
from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from dateutil import rrule
from sqlalchemy import select
from sqlalchemy.orm import Session

from lti_tool.calendar.models import CalendarToken, Meeting, MeetingKind, MeetingSeries
from lti_tool.calendar.queries import current_feed_token
from lti_tool.course import events, zones
from lti_tool.course.access import Access
from lti_tool.db import utcnow
from lti_tool.errors import InvalidInput
from lti_tool.lti.models import Membership, User
from lti_tool.programs.models import Cohort, Milestone, MilestoneKind

MAX_SERIES_LENGTH = 120   # a weekly series over two years; more is almost certainly a mistake


# ---- the viewer's time zone ---------------------------------------------------------------------------------

def set_user_timezone(session: Session, user: User, name: str) -> None:
    """Store the zone a person wants times shown in; an empty name means "the program's zone". Takes the
    User: the choice is theirs in every course, and nobody else's to make."""
    name = (name or "").strip()
    user.timezone = zones.check_timezone(name) if name else ""
    session.flush()


# ---- sessions -----------------------------------------------------------------------------------------------

@dataclass
class SessionDetails:
    """What a person types for a session (times are wall-clock times in the program's zone)."""

    kind: MeetingKind
    title: str
    meeting_url: str = ""
    location: str = ""
    agenda: str = ""
    cancelled: bool = False
    break_minutes: int = 0      # breaks and a non-working lunch: not contact time (PD hours)


def _clean_details(details: SessionDetails) -> SessionDetails:
    title = (details.title or "").strip()
    if not title:
        raise InvalidInput("Give the session a title.", "title")
    if not 0 <= (details.break_minutes or 0) <= 24 * 60:
        raise InvalidInput("Give the breaks in minutes, between 0 and 1440.", "break_minutes")
    url = (details.meeting_url or "").strip()
    if url:
        parts = urlsplit(url)
        if parts.scheme.lower() != "https" or not parts.netloc:
            raise InvalidInput("The meeting link must be a secure web address starting with https://.",
                               "meeting_url")
    return SessionDetails(kind=MeetingKind(details.kind), title=title[:200], meeting_url=url[:1024],
                          location=(details.location or "").strip()[:500],
                          agenda=(details.agenda or "").replace("\r\n", "\n").strip(), cancelled=details.cancelled,
                          break_minutes=details.break_minutes or 0)


def _times(zone: ZoneInfo, day: dt.date, start: dt.time, end: dt.time) -> tuple[dt.datetime, dt.datetime]:
    starts_at, ends_at = zones.local_to_utc(zone, day, start), zones.local_to_utc(zone, day, end)
    if ends_at <= starts_at:
        raise InvalidInput("The session ends before it starts: choose an end time after the start time.",
                           "end_time")
    return starts_at, ends_at


def _require_scheduler(access: Access, cohort: Cohort | None) -> None:
    """Sessions of a cohort: those who manage it; sessions of the whole program (``cohort`` None): the leads."""
    if cohort is not None:
        access.require_in_program(cohort.program_id, "cohort")
    access.require_manager(cohort, "add sessions")


def _schedule_changed(session: Session, program_id: int) -> None:
    """What is scheduled changes everyone's forecast (sessions still to come): the completion rule is worked out
    again for the whole program after the commit."""
    events.progress_changed.send(session, program_id=program_id, membership_ids=None)


def create_meeting(session: Session, access: Access, cohort: Cohort | None, details: SessionDetails,
                   day: dt.date, start: dt.time, end: dt.time) -> Meeting:
    """One session of ``cohort`` (None: the whole program) on ``day`` from ``start`` to ``end`` (wall clock in
    the program's zone)."""
    _require_scheduler(access, cohort)
    details = _clean_details(details)
    starts_at, ends_at = _times(access.program_zone, day, start, end)
    meeting = Meeting(program=access.program, cohort=cohort, kind=details.kind, title=details.title,
                      starts_at=starts_at, ends_at=ends_at, meeting_url=details.meeting_url,
                      location=details.location, agenda=details.agenda, cancelled=details.cancelled,
                      break_minutes=details.break_minutes)
    session.add(meeting)
    session.flush()
    _schedule_changed(session, meeting.program_id)
    return meeting


class Frequency:
    weekly = "weekly"
    monthly_nth = "monthly_nth"        # "second Thursday of each month"
    monthly_date = "monthly_date"      # "the 15th of each month"


WEEKDAY_NAMES = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
NTH_NAMES = {1: "first", 2: "second", 3: "third", 4: "fourth", -1: "last"}


@dataclass
class Recurrence:
    frequency: str
    start_date: dt.date
    end_date: dt.date
    start_time: dt.time
    duration_minutes: int
    weekday: int = 0            # 0 = Monday
    nth: int = 1                # 1..4, or -1 for the last
    day_of_month: int = 1
    interval: int = 1           # every n weeks / months

    def rule(self) -> rrule.rrule:
        start = dt.datetime.combine(self.start_date, self.start_time)
        until = dt.datetime.combine(self.end_date, dt.time(23, 59, 59))
        common = {"dtstart": start, "until": until, "interval": max(1, self.interval)}
        if self.frequency == Frequency.weekly:
            return rrule.rrule(rrule.WEEKLY, byweekday=self.weekday, **common)
        if self.frequency == Frequency.monthly_nth:
            return rrule.rrule(rrule.MONTHLY, byweekday=rrule.weekday(self.weekday)(self.nth), **common)
        if self.frequency == Frequency.monthly_date:
            return rrule.rrule(rrule.MONTHLY, bymonthday=self.day_of_month, **common)
        raise InvalidInput("Choose how often the sessions repeat.", "frequency")

    def describe(self) -> str:
        day = WEEKDAY_NAMES[self.weekday]
        span = f"{self.start_date:%-d %b %Y} to {self.end_date:%-d %b %Y}"
        if self.frequency == Frequency.weekly:
            every = "week" if self.interval <= 1 else f"{self.interval} weeks"
            return f"Every {every} on {day}, {span}"
        if self.frequency == Frequency.monthly_nth:
            return f"The {NTH_NAMES.get(self.nth, self.nth)} {day} of each month, {span}"
        return f"Day {self.day_of_month} of each month, {span}"


def expand_recurrence(recurrence: Recurrence, zone: ZoneInfo) -> list[tuple[dt.datetime, dt.datetime]]:
    """The (start, end) UTC pairs of a rule. The rule runs on wall-clock times in ``zone``, so a 3 pm session
    stays at 3 pm local across daylight-saving changes."""
    if recurrence.end_date < recurrence.start_date:
        raise InvalidInput("The last date is before the first date.", "end_date")
    if not 5 <= recurrence.duration_minutes <= 24 * 60:
        raise InvalidInput("A session lasts between 5 minutes and 24 hours.", "duration_minutes")
    if recurrence.frequency == Frequency.monthly_nth and recurrence.nth not in NTH_NAMES:
        raise InvalidInput("Choose first, second, third, fourth or last.", "nth")
    if recurrence.frequency == Frequency.monthly_date and not 1 <= recurrence.day_of_month <= 31:
        raise InvalidInput("The day of the month is between 1 and 31.", "day_of_month")
    duration = dt.timedelta(minutes=recurrence.duration_minutes)
    pairs = []
    for local in recurrence.rule():
        if len(pairs) >= MAX_SERIES_LENGTH:
            raise InvalidInput(f"That makes more than {MAX_SERIES_LENGTH} sessions; choose a shorter period.",
                               "end_date")
        aware = local.replace(tzinfo=zone)
        # Adding the duration on the wall clock, then converting, keeps "3:00–4:30 pm" on DST days too.
        pairs.append((aware.astimezone(dt.timezone.utc), (aware + duration).astimezone(dt.timezone.utc)))
    if not pairs:
        raise InvalidInput("These settings give no dates between the first and the last date: "
                           "widen the period or change the day.", "start_date")
    return pairs


def create_series(session: Session, access: Access, cohort: Cohort | None, details: SessionDetails,
                  recurrence: Recurrence) -> tuple[MeetingSeries, int]:
    """A series of sessions from ``recurrence`` ("second Thursday of each month, October to May"), and how
    many sessions it made."""
    _require_scheduler(access, cohort)
    details = _clean_details(details)
    pairs = expand_recurrence(recurrence, access.program_zone)
    rule_text = str(recurrence.rule()).splitlines()[-1].removeprefix("RRULE:")
    series = MeetingSeries(program_id=access.program.id, rule=rule_text, description=recurrence.describe()[:255])
    session.add(series)
    session.flush()
    for starts_at, ends_at in pairs:
        session.add(Meeting(program=access.program, cohort=cohort, series_id=series.id, kind=details.kind,
                            title=details.title, starts_at=starts_at, ends_at=ends_at,
                            meeting_url=details.meeting_url, location=details.location, agenda=details.agenda,
                            break_minutes=details.break_minutes))
    session.flush()
    _schedule_changed(session, series.program_id)
    return series, len(pairs)


class Scope:
    one = "one"          # this session only (an edited one leaves its series)
    future = "future"    # this one and the later ones of its series
    all = "all"          # every session of its series


def _series_members(session: Session, meeting: Meeting, scope: str) -> list[Meeting]:
    if scope == Scope.one or meeting.series_id is None:
        return [meeting]
    query = select(Meeting).where(Meeting.series_id == meeting.series_id).order_by(Meeting.starts_at)
    if scope == Scope.future:
        query = query.where(Meeting.starts_at >= meeting.starts_at)
    elif scope != Scope.all:
        raise InvalidInput("Choose which sessions to change.", "scope")
    return list(session.scalars(query))


def update_meeting(session: Session, access: Access, meeting: Meeting, details: SessionDetails,
                   day: dt.date, start: dt.time, end: dt.time, scope: str = Scope.one) -> list[Meeting]:
    """Change one session (it leaves its series) or the series from here on / all of it. For a series the
    new clock times and details apply to each session; a changed date moves each one by as many days."""
    access.require_in_program(meeting.program_id, "session")
    access.require_manager(meeting.cohort, "change sessions")
    details = _clean_details(details)
    zone = zones.program_zone(meeting.program)
    new_start, new_end = _times(zone, day, start, end)
    shift = day - meeting.starts_at.astimezone(zone).date()
    targets = _series_members(session, meeting, scope)
    for target in targets:
        if target is meeting:
            target.starts_at, target.ends_at = new_start, new_end
        else:
            target_day = target.starts_at.astimezone(zone).date() + shift
            target.starts_at, target.ends_at = _times(zone, target_day, start, end)
        target.kind, target.title = details.kind, details.title
        target.meeting_url, target.location, target.agenda = details.meeting_url, details.location, details.agenda
        target.cancelled, target.break_minutes = details.cancelled, details.break_minutes
    if scope == Scope.one:
        meeting.series_id = None
    session.flush()
    _schedule_changed(session, meeting.program_id)
    return targets


def delete_meeting(session: Session, access: Access, meeting: Meeting, scope: str = Scope.one) -> int:
    """Delete one session, the later ones of its series, or the whole series; returns how many went."""
    access.require_in_program(meeting.program_id, "session")
    access.require_manager(meeting.cohort, "delete sessions")
    targets = _series_members(session, meeting, scope)
    series_id = meeting.series_id
    for target in targets:
        session.delete(target)
    session.flush()
    if series_id is not None and session.scalar(select(Meeting.id).where(Meeting.series_id == series_id)) is None:
        series = session.get(MeetingSeries, series_id)
        if series is not None:
            session.delete(series)
            session.flush()
    _schedule_changed(session, access.program.id)
    return len(targets)


# ---- milestones ---------------------------------------------------------------------------------------------

MILESTONE_LABELS = {
    MilestoneKind.proposals_open: "Facilitator proposals open",
    MilestoneKind.proposal_deadline: "Facilitator proposal deadline",
    MilestoneKind.offerings_final: "Offerings finalised",
    MilestoneKind.orientation: "Orientation",
    MilestoneKind.signup_opens: "Participant sign-up opens",
    MilestoneKind.signup_deadline: "Participant sign-up deadline",
    MilestoneKind.kickoff: "Kick-off",
    MilestoneKind.close_out: "Close-out",
    MilestoneKind.other: "Other",
}


def _clean_milestone(kind, title: str, on_date: dt.date | None, note: str) -> tuple[MilestoneKind, str, dt.date, str]:
    kind = MilestoneKind(kind)
    title = (title or "").strip() or MILESTONE_LABELS[kind]
    if on_date is None:
        raise InvalidInput("Give the milestone a date.", "on_date")
    return kind, title[:200], on_date, (note or "").replace("\r\n", "\n").strip()


def create_milestone(session: Session, access: Access, kind, title: str, on_date: dt.date | None,
                     note: str = "") -> Milestone:
    """A dated step of the program's year ("Facilitator proposal DEADLINE", "Participant sign-up deadline");
    leads only."""
    access.require_lead("change its milestones")
    kind, title, on_date, note = _clean_milestone(kind, title, on_date, note)
    milestone = Milestone(program_id=access.program.id, kind=kind, title=title, on_date=on_date, note=note)
    session.add(milestone)
    session.flush()
    return milestone


def update_milestone(session: Session, access: Access, milestone: Milestone, kind, title: str,
                     on_date: dt.date | None, note: str = "") -> Milestone:
    """Change a milestone of the program (leads only)."""
    access.require_in_program(milestone.program_id, "milestone")
    access.require_lead("change its milestones")
    milestone.kind, milestone.title, milestone.on_date, milestone.note = _clean_milestone(kind, title, on_date, note)
    session.flush()
    return milestone


def delete_milestone(session: Session, access: Access, milestone: Milestone) -> None:
    """Remove a milestone from the program's timeline (leads only)."""
    access.require_in_program(milestone.program_id, "milestone")
    access.require_lead("change its milestones")
    session.delete(milestone)
    session.flush()


# ---- feed addresses -----------------------------------------------------------------------------------------
# A feed address is a person's own: these take their Membership, and nobody else acts on it.

def issue_feed_token(session: Session, membership: Membership) -> CalendarToken:
    """The person's current feed token, made if they have none."""
    token = current_feed_token(session, membership)
    if token is None:
        token = CalendarToken(membership_id=membership.id, token=secrets.token_urlsafe(32))
        session.add(token)
        session.flush()
    return token


def revoke_feed_token(session: Session, membership: Membership) -> int:
    """Stop every feed URL of this person; calendars subscribed to them stop updating."""
    now = utcnow()
    tokens = list(session.scalars(select(CalendarToken).where(CalendarToken.membership_id == membership.id,
                                                              CalendarToken.revoked_at.is_(None))))
    for token in tokens:
        token.revoked_at = now
    session.flush()
    return len(tokens)


def regenerate_feed_token(session: Session, membership: Membership) -> CalendarToken:
    """A new feed URL; the old one stops working."""
    revoke_feed_token(session, membership)
    return issue_feed_token(session, membership)
