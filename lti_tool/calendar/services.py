"""Calendar operations: live sessions (one-off or from a recurrence rule), the program timeline with its
milestones, the viewer's time zone, and private iCal feeds. Functions take the session and the acting
membership; they check permissions, validate, flush (never commit) and raise domain errors."""
from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import icalendar
from dateutil import rrule
from sqlalchemy import or_, select
from sqlalchemy.orm import Session, joinedload

from lti_tool.calendar.models import CalendarToken, Meeting, MeetingKind, MeetingSeries
from lti_tool.db import utcnow
from lti_tool.errors import DomainError, Forbidden, NotFound
from lti_tool.lti.models import Membership, User
from lti_tool.programs.models import (Cohort, CohortFacilitator, CohortMember, Milestone, MilestoneKind, Program,
                                      SeatStatus)
from lti_tool.programs.services import can_manage_cohort, is_lead

MAX_SERIES_LENGTH = 120   # a weekly series over two years; more is almost certainly a mistake


class CalendarInputError(DomainError):
    """Input a person can correct; ``field`` names the form field the message belongs to."""

    status = 400
    title = "Please check the form"

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


# ---- time zones -------------------------------------------------------------------------------------------

@lru_cache(maxsize=1)
def timezone_names() -> list[str]:
    return sorted(n for n in available_timezones() if "/" in n and not n.startswith(("Etc/", "SystemV/")))


def get_zone(name: str, field: str | None = "timezone") -> ZoneInfo:
    """The ZoneInfo of an IANA name ("America/New_York"), or a clear error."""
    name = (name or "").strip()
    try:
        if not name or name not in available_timezones():
            raise ZoneInfoNotFoundError(name)
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise CalendarInputError(
            f"“{name}” is not a time zone we know. Use a name like America/New_York or Europe/Berlin.", field)


def program_zone(program: Program) -> ZoneInfo:
    try:
        return get_zone(program.timezone)
    except CalendarInputError:
        return ZoneInfo("UTC")


def viewer_zone(program: Program, user: User) -> ZoneInfo:
    """The viewer's chosen zone, else the program's."""
    if user.timezone:
        try:
            return get_zone(user.timezone)
        except CalendarInputError:
            pass
    return program_zone(program)


def set_user_timezone(session: Session, user: User, name: str) -> None:
    """Store the zone a person wants times shown in; an empty name means "the program's zone"."""
    name = (name or "").strip()
    if name:
        get_zone(name)
    user.timezone = name
    session.flush()


def local_to_utc(zone: ZoneInfo, day: dt.date, time: dt.time) -> dt.datetime:
    """Wall-clock time in ``zone`` → UTC. A time in the spring-forward gap moves forward by the gap."""
    return dt.datetime.combine(day, time).replace(tzinfo=zone).astimezone(dt.timezone.utc)


def _clock(t: dt.datetime) -> str:
    return f"{t.hour % 12 or 12}:{t.minute:02d}"


def _meridiem(t: dt.datetime) -> str:
    return "am" if t.hour < 12 else "pm"


def _day(t: dt.datetime) -> str:
    return f"{t:%a} {t.day} {t:%b}"


def _range(start: dt.datetime, end: dt.datetime, with_day: bool) -> str:
    """"Thu 10 Oct, 3:00–4:30 pm EDT" in the zone the datetimes carry."""
    prefix = f"{_day(start)}, " if with_day else ""
    if start.date() != end.date():
        return f"{prefix}{_clock(start)} {_meridiem(start)} – {_day(end)}, {_clock(end)} {_meridiem(end)} {end:%Z}"
    if _meridiem(start) == _meridiem(end):
        return f"{prefix}{_clock(start)}–{_clock(end)} {_meridiem(end)} {end:%Z}"
    return f"{prefix}{_clock(start)} {_meridiem(start)}–{_clock(end)} {_meridiem(end)} {end:%Z}"


def describe_time_parts(starts_at: dt.datetime, ends_at: dt.datetime, program_tz: ZoneInfo,
                        viewer_tz: ZoneInfo) -> tuple[str, str | None]:
    """The program's time with its zone named, and the viewer's ("12:00–1:30 pm PDT your time") when their
    clock differs, else None."""
    ps, pe = starts_at.astimezone(program_tz), ends_at.astimezone(program_tz)
    vs, ve = starts_at.astimezone(viewer_tz), ends_at.astimezone(viewer_tz)
    if (vs.utcoffset(), vs.tzname()) == (ps.utcoffset(), ps.tzname()):
        return _range(ps, pe, True), None
    return _range(ps, pe, True), f"{_range(vs, ve, vs.date() != ps.date())} your time"


def describe_time(starts_at: dt.datetime, ends_at: dt.datetime, program_tz: ZoneInfo, viewer_tz: ZoneInfo) -> str:
    """"Thu 10 Oct, 3:00–4:30 pm EDT (12:00–1:30 pm PDT your time)"."""
    program_text, viewer_text = describe_time_parts(starts_at, ends_at, program_tz, viewer_tz)
    return program_text + (f" ({viewer_text})" if viewer_text else "")


# ---- who sees and manages what ----------------------------------------------------------------------------

def _require_same_course(program: Program, actor: Membership) -> None:
    if actor.course_id != program.course_id:
        raise NotFound("There is no such program in this course.")


def visible_cohort_ids(session: Session, program: Program, actor: Membership) -> set[int] | None:
    """The cohorts whose sessions ``actor`` sees: None means all of them (leads)."""
    if is_lead(program, actor):
        return None
    seats = select(CohortMember.cohort_id).join(Cohort, Cohort.id == CohortMember.cohort_id).where(
        Cohort.program_id == program.id, CohortMember.membership_id == actor.id,
        CohortMember.status == SeatStatus.active)
    facilitated = select(CohortFacilitator.cohort_id).join(Cohort, Cohort.id == CohortFacilitator.cohort_id).where(
        Cohort.program_id == program.id, CohortFacilitator.membership_id == actor.id)
    return set(session.scalars(seats.union(facilitated)))


def managed_cohort_ids(session: Session, program: Program, actor: Membership) -> set[int] | None:
    """The cohorts whose sessions ``actor`` may manage: None means all (leads), else those they facilitate."""
    if is_lead(program, actor):
        return None
    return set(session.scalars(select(CohortFacilitator.cohort_id).join(Cohort).where(
        Cohort.program_id == program.id, CohortFacilitator.membership_id == actor.id)))


def can_manage_meeting(session: Session, meeting: Meeting, actor: Membership) -> bool:
    if meeting.cohort is None:
        return is_lead(meeting.program, actor)
    return can_manage_cohort(session, meeting.cohort, actor)


def _require_manage_target(session: Session, program: Program, actor: Membership, cohort: Cohort | None) -> None:
    if cohort is None:
        if not is_lead(program, actor):
            raise Forbidden("Only the program's leads can add sessions for the whole program.")
    elif cohort.program_id != program.id:
        raise NotFound("There is no such cohort in this program.")
    elif not can_manage_cohort(session, cohort, actor):
        raise Forbidden("Only this cohort's facilitators and the program's leads can manage its sessions.")


def list_meetings(session: Session, program: Program, actor: Membership, *, cohort_id: int | None = None,
                  since: dt.datetime | None = None) -> list[Meeting]:
    """The sessions ``actor`` may see (program-wide ones and their cohorts'), in date order, in one query."""
    _require_same_course(program, actor)
    query = (select(Meeting).options(joinedload(Meeting.cohort))
             .where(Meeting.program_id == program.id).order_by(Meeting.starts_at, Meeting.id))
    visible = visible_cohort_ids(session, program, actor)
    if visible is not None:
        query = query.where(or_(Meeting.cohort_id.is_(None), Meeting.cohort_id.in_(visible or [-1])))
    if cohort_id is not None:
        query = query.where(Meeting.cohort_id == cohort_id)
    if since is not None:
        query = query.where(Meeting.ends_at >= since)
    return list(session.scalars(query).unique())


def get_meeting(session: Session, actor: Membership, meeting_id: int) -> Meeting:
    """One session ``actor`` may see; any other id (another course, a cohort not theirs) is "not found"."""
    meeting = session.scalar(select(Meeting).options(joinedload(Meeting.cohort), joinedload(Meeting.program))
                             .where(Meeting.id == meeting_id))
    if meeting is None or meeting.program.course_id != actor.course_id:
        raise NotFound("There is no such session in this course.")
    if meeting.cohort_id is not None:
        visible = visible_cohort_ids(session, meeting.program, actor)
        if visible is not None and meeting.cohort_id not in visible:
            raise NotFound("There is no such session in your cohorts.")
    return meeting


def get_cohort(session: Session, program: Program, cohort_id: int | None) -> Cohort | None:
    if not cohort_id:
        return None
    cohort = session.get(Cohort, cohort_id)
    if cohort is None or cohort.program_id != program.id:
        raise CalendarInputError("Choose one of this program's cohorts.", "cohort_id")
    return cohort


# ---- sessions ---------------------------------------------------------------------------------------------

@dataclass
class SessionDetails:
    """What a person types for a session (times are wall-clock times in the program's zone)."""

    kind: MeetingKind
    title: str
    meeting_url: str = ""
    location: str = ""
    agenda: str = ""
    cancelled: bool = False


def _clean_details(details: SessionDetails) -> SessionDetails:
    title = (details.title or "").strip()
    if not title:
        raise CalendarInputError("Give the session a title.", "title")
    url = (details.meeting_url or "").strip()
    if url:
        parts = urlsplit(url)
        if parts.scheme.lower() != "https" or not parts.netloc:
            raise CalendarInputError("The meeting link must be a secure web address starting with https://.",
                                     "meeting_url")
    return SessionDetails(kind=MeetingKind(details.kind), title=title[:200], meeting_url=url[:1024],
                          location=(details.location or "").strip()[:500],
                          agenda=(details.agenda or "").replace("\r\n", "\n").strip(), cancelled=details.cancelled)


def _times(zone: ZoneInfo, day: dt.date, start: dt.time, end: dt.time) -> tuple[dt.datetime, dt.datetime]:
    starts_at, ends_at = local_to_utc(zone, day, start), local_to_utc(zone, day, end)
    if ends_at <= starts_at:
        raise CalendarInputError("The session ends before it starts: choose an end time after the start time.",
                                 "end_time")
    return starts_at, ends_at


def create_meeting(session: Session, actor: Membership, program: Program, cohort: Cohort | None,
                   details: SessionDetails, day: dt.date, start: dt.time, end: dt.time) -> Meeting:
    """One session on ``day`` from ``start`` to ``end`` (wall clock in the program's zone)."""
    _require_same_course(program, actor)
    _require_manage_target(session, program, actor, cohort)
    details = _clean_details(details)
    starts_at, ends_at = _times(program_zone(program), day, start, end)
    meeting = Meeting(program=program, cohort=cohort, kind=details.kind, title=details.title,
                      starts_at=starts_at, ends_at=ends_at, meeting_url=details.meeting_url,
                      location=details.location, agenda=details.agenda, cancelled=details.cancelled)
    session.add(meeting)
    session.flush()
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
        raise CalendarInputError("Choose how often the sessions repeat.", "frequency")

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
        raise CalendarInputError("The last date is before the first date.", "end_date")
    if not 5 <= recurrence.duration_minutes <= 24 * 60:
        raise CalendarInputError("A session lasts between 5 minutes and 24 hours.", "duration_minutes")
    if recurrence.frequency == Frequency.monthly_nth and recurrence.nth not in NTH_NAMES:
        raise CalendarInputError("Choose first, second, third, fourth or last.", "nth")
    if recurrence.frequency == Frequency.monthly_date and not 1 <= recurrence.day_of_month <= 31:
        raise CalendarInputError("The day of the month is between 1 and 31.", "day_of_month")
    duration = dt.timedelta(minutes=recurrence.duration_minutes)
    pairs = []
    for local in recurrence.rule():
        if len(pairs) >= MAX_SERIES_LENGTH:
            raise CalendarInputError(f"That makes more than {MAX_SERIES_LENGTH} sessions; choose a shorter period.",
                                     "end_date")
        aware = local.replace(tzinfo=zone)
        # Adding the duration on the wall clock, then converting, keeps "3:00–4:30 pm" on DST days too.
        pairs.append((aware.astimezone(dt.timezone.utc), (aware + duration).astimezone(dt.timezone.utc)))
    if not pairs:
        raise CalendarInputError("These settings give no dates between the first and the last date: "
                                 "widen the period or change the day.", "start_date")
    return pairs


def create_series(session: Session, actor: Membership, program: Program, cohort: Cohort | None,
                  details: SessionDetails, recurrence: Recurrence) -> MeetingSeries:
    """A series of sessions from ``recurrence`` ("second Thursday of each month, October to May")."""
    _require_same_course(program, actor)
    _require_manage_target(session, program, actor, cohort)
    details = _clean_details(details)
    pairs = expand_recurrence(recurrence, program_zone(program))
    rule_text = str(recurrence.rule()).splitlines()[-1].removeprefix("RRULE:")
    series = MeetingSeries(program_id=program.id, rule=rule_text, description=recurrence.describe()[:255])
    session.add(series)
    session.flush()
    for starts_at, ends_at in pairs:
        session.add(Meeting(program=program, cohort=cohort, series_id=series.id, kind=details.kind,
                            title=details.title, starts_at=starts_at, ends_at=ends_at,
                            meeting_url=details.meeting_url, location=details.location, agenda=details.agenda))
    session.flush()
    return series


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
        raise CalendarInputError("Choose which sessions to change.", "scope")
    return list(session.scalars(query))


def update_meeting(session: Session, actor: Membership, meeting: Meeting, details: SessionDetails,
                   day: dt.date, start: dt.time, end: dt.time, scope: str = Scope.one) -> list[Meeting]:
    """Change one session (it leaves its series) or the series from here on / all of it. For a series the
    new clock times and details apply to each session; a changed date moves each one by as many days."""
    if not can_manage_meeting(session, meeting, actor):
        raise Forbidden("Only this cohort's facilitators and the program's leads can change its sessions.")
    details = _clean_details(details)
    zone = program_zone(meeting.program)
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
        target.cancelled = details.cancelled
    if scope == Scope.one:
        meeting.series_id = None
    session.flush()
    return targets


def delete_meeting(session: Session, actor: Membership, meeting: Meeting, scope: str = Scope.one) -> int:
    """Delete one session, the later ones of its series, or the whole series; returns how many went."""
    if not can_manage_meeting(session, meeting, actor):
        raise Forbidden("Only this cohort's facilitators and the program's leads can delete its sessions.")
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
    return len(targets)


def series_sizes(session: Session, meetings: Iterable[Meeting]) -> dict[int, int]:
    from sqlalchemy import func

    ids = {m.series_id for m in meetings if m.series_id}
    if not ids:
        return {}
    rows = session.execute(select(Meeting.series_id, func.count()).where(Meeting.series_id.in_(ids))
                           .group_by(Meeting.series_id))
    return {sid: n for sid, n in rows}


# ---- milestones and the timeline ---------------------------------------------------------------------------

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


def _require_lead(program: Program, actor: Membership) -> None:
    _require_same_course(program, actor)
    if not is_lead(program, actor):
        raise Forbidden("Only the program's leads can change its milestones.")


def list_milestones(session: Session, program: Program) -> list[Milestone]:
    return list(session.scalars(select(Milestone).where(Milestone.program_id == program.id)
                                .order_by(Milestone.on_date, Milestone.id)))


def get_milestone(session: Session, actor: Membership, milestone_id: int) -> Milestone:
    milestone = session.scalar(select(Milestone).options(joinedload(Milestone.program))
                               .where(Milestone.id == milestone_id))
    if milestone is None or milestone.program.course_id != actor.course_id:
        raise NotFound("There is no such milestone in this course.")
    return milestone


def _clean_milestone(kind, title: str, on_date: dt.date | None, note: str) -> tuple[MilestoneKind, str, dt.date, str]:
    kind = MilestoneKind(kind)
    title = (title or "").strip() or MILESTONE_LABELS[kind]
    if on_date is None:
        raise CalendarInputError("Give the milestone a date.", "on_date")
    return kind, title[:200], on_date, (note or "").replace("\r\n", "\n").strip()


def create_milestone(session: Session, actor: Membership, program: Program, kind, title: str,
                     on_date: dt.date | None, note: str = "") -> Milestone:
    """A dated step of the program's year ("Facilitator proposal DEADLINE", "Participant sign-up deadline")."""
    _require_lead(program, actor)
    kind, title, on_date, note = _clean_milestone(kind, title, on_date, note)
    milestone = Milestone(program_id=program.id, kind=kind, title=title, on_date=on_date, note=note)
    session.add(milestone)
    session.flush()
    return milestone


def update_milestone(session: Session, actor: Membership, milestone: Milestone, kind, title: str,
                     on_date: dt.date | None, note: str = "") -> Milestone:
    _require_lead(milestone.program, actor)
    milestone.kind, milestone.title, milestone.on_date, milestone.note = _clean_milestone(kind, title, on_date, note)
    session.flush()
    return milestone


def delete_milestone(session: Session, actor: Membership, milestone: Milestone) -> None:
    _require_lead(milestone.program, actor)
    session.delete(milestone)
    session.flush()


@dataclass
class TimelineEntry:
    on_date: dt.date            # in the program's zone
    title: str
    note: str = ""
    milestone: Milestone | None = None
    meeting: Meeting | None = None

    @property
    def sort_key(self):
        start = self.meeting.starts_at if self.meeting else None
        # On one day, milestones (deadlines) come before the sessions of that day.
        return (self.on_date, 0 if self.milestone else 1, start or dt.datetime.min.replace(tzinfo=dt.timezone.utc))


def timeline(session: Session, program: Program, actor: Membership) -> list[TimelineEntry]:
    """Milestones and the sessions ``actor`` sees, in date order, as the program pages number them."""
    zone = program_zone(program)
    entries = [TimelineEntry(m.on_date, m.title, m.note, milestone=m) for m in list_milestones(session, program)]
    entries += [TimelineEntry(m.starts_at.astimezone(zone).date(), m.title, meeting=m)
                for m in list_meetings(session, program, actor)]
    return sorted(entries, key=lambda e: e.sort_key)


# ---- iCal feeds -------------------------------------------------------------------------------------------

def _active_token(session: Session, membership: Membership) -> CalendarToken | None:
    return session.scalar(select(CalendarToken).where(CalendarToken.membership_id == membership.id,
                                                      CalendarToken.revoked_at.is_(None))
                          .order_by(CalendarToken.id.desc()))


def feed_token(session: Session, membership: Membership, create: bool = False) -> CalendarToken | None:
    """The person's current feed token (made on first ask when ``create``)."""
    token = _active_token(session, membership)
    if token is None and create:
        token = CalendarToken(membership_id=membership.id, token=secrets.token_urlsafe(32))
        session.add(token)
        session.flush()
    return token


def has_revoked_token(session: Session, membership: Membership) -> bool:
    return session.scalar(select(CalendarToken.id).where(CalendarToken.membership_id == membership.id,
                                                         CalendarToken.revoked_at.is_not(None)).limit(1)) is not None


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
    return feed_token(session, membership, create=True)  # type: ignore[return-value]


def feed_for_token(session: Session, token: str) -> tuple[Membership, Program, list[Meeting]]:
    """The membership and the sessions a feed URL shows; a revoked or unknown token is "not found"."""
    row = session.scalar(select(CalendarToken).options(
        joinedload(CalendarToken.membership).joinedload(Membership.course))
        .where(CalendarToken.token == token, CalendarToken.revoked_at.is_(None)))
    if row is None or not row.membership.active:
        raise NotFound("This calendar address is not valid any more. Get a new one from the Subscribe page.")
    program = session.scalar(select(Program).where(Program.course_id == row.membership.course_id))
    if program is None:
        raise NotFound("This course has no program.")
    return row.membership, program, list_meetings(session, program, row.membership)


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
