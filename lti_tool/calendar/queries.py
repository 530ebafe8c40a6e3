"""What the calendar pages show: the sessions a viewer sees (the program's and those of the cohorts they
manage or sit in), one session, the timeline of milestones and sessions, where they may add sessions, and
their feed address; each in a fixed number of queries, and 404 for anything they may not see."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, joinedload

from lti_tool.calendar.models import CalendarToken, Meeting
from lti_tool.course.access import Access
from lti_tool.errors import NotFound
from lti_tool.lti.models import Membership
from lti_tool.programs.models import Cohort, Milestone, Program


# ---- sessions -----------------------------------------------------------------------------------------------

def list_meetings(session: Session, access: Access, *, cohort_id: int | None = None,
                  since: dt.datetime | None = None) -> list[Meeting]:
    """The sessions the viewer sees (program-wide ones and those of the cohorts they manage or sit in), in date
    order, in one query."""
    query = (select(Meeting).options(joinedload(Meeting.cohort))
             .where(Meeting.program_id == access.program.id).order_by(Meeting.starts_at, Meeting.id))
    if not access.lead:
        query = query.where(or_(Meeting.cohort_id.is_(None), Meeting.cohort_id.in_(access.visible or [-1])))
    if cohort_id is not None:
        query = query.where(Meeting.cohort_id == cohort_id)
    if since is not None:
        query = query.where(Meeting.ends_at >= since)
    return list(session.scalars(query).unique())


def get_meeting(session: Session, access: Access, meeting_id: int) -> Meeting:
    """One session the viewer sees, with its cohort, program and series; any other id (another course, a cohort
    not theirs) is "not found"."""
    meeting = session.scalar(select(Meeting).options(joinedload(Meeting.cohort), joinedload(Meeting.program),
                                                     joinedload(Meeting.series))
                             .where(Meeting.id == meeting_id))
    if meeting is None or meeting.program.course_id != access.course_id:
        raise NotFound("There is no such session in this course.")
    if meeting.cohort_id is not None and not access.sees(meeting.cohort_id):
        raise NotFound("There is no such session in your cohorts.")
    return meeting


@dataclass
class SessionsPage:
    """The session list: the viewer's sessions by month (in the program's zone), the cohorts to filter by."""

    months: list[tuple[str, list[Meeting]]]
    cohorts: list[Cohort]
    cohort_id: int | None        # the cohort filtered on, if it is one of ``cohorts``
    count: int


def sessions_page(session: Session, access: Access, *, cohort_id: int | None, since: dt.datetime | None
                  ) -> SessionsPage:
    """The viewer's sessions (from ``since``, or all), of one cohort of theirs if ``cohort_id`` names one."""
    query = select(Cohort).where(Cohort.program_id == access.program.id).order_by(Cohort.name)
    if not access.lead:
        query = query.where(Cohort.id.in_(access.visible or [-1]))
    cohorts = list(session.scalars(query))
    if cohort_id not in {c.id for c in cohorts}:
        cohort_id = None
    meetings = list_meetings(session, access, cohort_id=cohort_id, since=since)
    months: list[tuple[str, list[Meeting]]] = []
    for m in meetings:
        label = f"{m.starts_at.astimezone(access.program_zone):%B %Y}"
        if not months or months[-1][0] != label:
            months.append((label, []))
        months[-1][1].append(m)
    return SessionsPage(months, cohorts, cohort_id, len(meetings))


def schedulable_cohorts(session: Session, access: Access) -> list[Cohort]:
    """The cohorts the viewer may add sessions for: every cohort for a lead, else those they facilitate."""
    query = select(Cohort).where(Cohort.program_id == access.program.id).order_by(Cohort.name)
    if not access.lead:
        query = query.where(Cohort.id.in_(access.managed or [-1]))
    return list(session.scalars(query))


# ---- milestones and the timeline ----------------------------------------------------------------------------

def list_milestones(session: Session, program: Program) -> list[Milestone]:
    return list(session.scalars(select(Milestone).where(Milestone.program_id == program.id)
                                .order_by(Milestone.on_date, Milestone.id)))


def get_milestone(session: Session, access: Access, milestone_id: int) -> Milestone:
    """A milestone of the viewer's program (404 for any other)."""
    milestone = session.get(Milestone, milestone_id)
    if milestone is None or access.program is None or milestone.program_id != access.program.id:
        raise NotFound("There is no such milestone in this course.")
    return milestone


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


def timeline(session: Session, access: Access) -> list[TimelineEntry]:
    """Milestones and the sessions the viewer sees, in date order, as the program pages number them."""
    zone = access.program_zone
    entries = [TimelineEntry(m.on_date, m.title, m.note, milestone=m)
               for m in list_milestones(session, access.program)]
    entries += [TimelineEntry(m.starts_at.astimezone(zone).date(), m.title, meeting=m)
                for m in list_meetings(session, access)]
    return sorted(entries, key=lambda e: e.sort_key)


# ---- feed addresses -----------------------------------------------------------------------------------------

def current_feed_token(session: Session, membership: Membership) -> CalendarToken | None:
    """The person's feed token in use, if any."""
    return session.scalar(select(CalendarToken).where(CalendarToken.membership_id == membership.id,
                                                      CalendarToken.revoked_at.is_(None))
                          .order_by(CalendarToken.id.desc()))


def has_revoked_token(session: Session, membership: Membership) -> bool:
    """Whether the person turned a feed address off (they then get a new one only when they ask)."""
    return session.scalar(select(CalendarToken.id).where(CalendarToken.membership_id == membership.id,
                                                         CalendarToken.revoked_at.is_not(None)).limit(1)) is not None
