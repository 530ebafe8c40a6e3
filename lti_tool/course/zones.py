"""Time zones: times are stored in UTC and shown in the viewer's zone with the zone named.

The viewer's zone is their own choice (``User.timezone``), else the program's, else UTC. Wall-clock input
(a date and time typed in a form) is read in the program's zone. Templates use the filters registered by
``init_app``: ``{{ instant|local }}`` and ``{{ starts_at|timespan(ends_at) }}``.
"""
from __future__ import annotations

import datetime as dt
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from flask import Flask, g, has_request_context
from markupsafe import Markup

from lti_tool.errors import InvalidInput

UTC = ZoneInfo("UTC")


@lru_cache(maxsize=1)
def timezone_names() -> list[str]:
    """The zones a person can choose from (IANA names with a region, no legacy aliases)."""
    return sorted(n for n in available_timezones() if "/" in n and not n.startswith(("Etc/", "SystemV/")))


@lru_cache(maxsize=1)
def _known() -> frozenset[str]:
    return frozenset(available_timezones())


def get_zone(name: str, field: str | None = "timezone") -> ZoneInfo:
    """The ZoneInfo of an IANA name ("America/New_York"), or an ``InvalidInput`` that says what to type."""
    name = (name or "").strip()
    try:
        if not name or name not in _known():
            raise ZoneInfoNotFoundError(name)
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(f"“{name}” is not a time zone we know. Use a name such as America/New_York or "
                           "Europe/Berlin.", field=field) from None


def check_timezone(name: str, field: str | None = "timezone") -> str:
    """A valid zone name, stripped (for storing)."""
    return get_zone(name, field).key


def _zone_or_utc(name: str | None) -> ZoneInfo | None:
    if not name:
        return None
    try:
        return get_zone(name)
    except InvalidInput:
        return None


def program_zone(program) -> ZoneInfo:
    """The program's zone (UTC if the stored name is no longer known)."""
    return _zone_or_utc(getattr(program, "timezone", None)) or UTC


def viewer_zone(program, user) -> ZoneInfo:
    """The viewer's chosen zone, else the program's, else UTC."""
    return _zone_or_utc(getattr(user, "timezone", None)) or program_zone(program)


def wall_clock_to_utc(zone: ZoneInfo, value: dt.datetime | None) -> dt.datetime | None:
    """A wall-clock time typed in ``zone`` (naive) → aware UTC. An aware value is only converted.
    A time in the spring-forward gap moves forward by the gap."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone)
    return value.astimezone(dt.timezone.utc)


def local_to_utc(zone: ZoneInfo, day: dt.date, time: dt.time) -> dt.datetime:
    """A date and a wall-clock time in ``zone`` → UTC."""
    return wall_clock_to_utc(zone, dt.datetime.combine(day, time))


def to_utc(program, local: dt.datetime | None) -> dt.datetime | None:
    """A wall-clock time entered in the program's zone → aware UTC."""
    return wall_clock_to_utc(program_zone(program), local)


def form_value(zone: ZoneInfo, value: dt.datetime | None) -> dt.datetime | None:
    """A stored instant as the naive wall-clock value a ``datetime-local`` input shows."""
    return value.astimezone(zone).replace(tzinfo=None) if value is not None else None


def local_date(zone: ZoneInfo, now: dt.datetime | None = None) -> dt.date:
    """Today's date in ``zone``."""
    return (now or dt.datetime.now(dt.timezone.utc)).astimezone(zone).date()


# ---- words -----------------------------------------------------------------------------------------------

def _clock(t: dt.datetime) -> str:
    return f"{t.hour % 12 or 12}:{t.minute:02d}"


def _meridiem(t: dt.datetime) -> str:
    return "am" if t.hour < 12 else "pm"


def _day(t: dt.datetime) -> str:
    return f"{t:%a} {t.day} {t:%b}"


FORMATS = {
    "datetime": lambda t: f"{_day(t)} {t.year}, {_clock(t)} {_meridiem(t)} {t:%Z}",
    "short": lambda t: f"{_day(t)}, {_clock(t)} {_meridiem(t)} {t:%Z}",
    "date": lambda t: f"{_day(t)} {t.year}",
    "day": lambda t: f"{t.day} {t:%b}",
    "time": lambda t: f"{_clock(t)} {_meridiem(t)} {t:%Z}",
    "seconds": lambda t: f"{t:%H:%M:%S} {t:%Z}",
    "iso": lambda t: f"{t:%Y-%m-%d %H:%M} {t:%Z}",
}


def describe_instant(value: dt.datetime, zone: ZoneInfo, style: str = "datetime") -> str:
    """"Thu 10 Oct 2026, 3:00 pm EDT": ``value`` in ``zone``, the zone named (styles: ``FORMATS``)."""
    return FORMATS[style](value.astimezone(zone))


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


# ---- template filters ------------------------------------------------------------------------------------

def request_zones() -> tuple[ZoneInfo, ZoneInfo]:
    """(program zone, viewer zone) of this request: from the page's access, else UTC for both."""
    access = g.get("access") if has_request_context() else None
    if access is None:
        return UTC, UTC
    return access.program_zone, access.zone


def local_filter(value: dt.datetime | None, style: str = "datetime") -> Markup:
    """``{{ instant|local }}``: a <time> element with the instant in the viewer's zone, the zone named."""
    if value is None:
        return Markup("")
    zone = request_zones()[1]
    return Markup('<time datetime="{}" title="{}">{}</time>').format(
        value.astimezone(dt.timezone.utc).isoformat(), zone.key, describe_instant(value, zone, style))


def timespan_filter(starts_at: dt.datetime, ends_at: dt.datetime) -> Markup:
    """``{{ m.starts_at|timespan(m.ends_at) }}``: a session's time in the program's zone, and the viewer's when
    their clock differs; each part wraps as a whole on narrow screens."""
    program_tz, viewer_tz = request_zones()
    program_text, viewer_text = describe_time_parts(starts_at, ends_at, program_tz, viewer_tz)
    html = Markup('<span class="app-t">{}</span>').format(program_text)
    if viewer_text:
        html += Markup(' <span class="app-t">({})</span>').format(viewer_text)
    return html


def init_app(app: Flask) -> None:
    app.add_template_filter(local_filter, "local")
    app.add_template_filter(timespan_filter, "timespan")
