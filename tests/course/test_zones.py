"""Time zones: one helper and the template filters that name the zone."""
import datetime as dt
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from flask import g, render_template_string

from lti_tool.course import zones
from lti_tool.errors import InvalidInput

UTC = dt.timezone.utc


def test_an_unknown_zone_is_an_error_on_the_field_that_says_what_to_type():
    with pytest.raises(InvalidInput) as err:
        zones.get_zone("Mars/Olympus")
    assert err.value.field == "timezone" and "America/New_York" in err.value.message


def test_the_viewer_zone_is_theirs_else_the_programs_else_utc():
    program = SimpleNamespace(timezone="America/Chicago")
    assert zones.viewer_zone(program, SimpleNamespace(timezone="Europe/Berlin")).key == "Europe/Berlin"
    assert zones.viewer_zone(program, SimpleNamespace(timezone="")).key == "America/Chicago"
    assert zones.viewer_zone(SimpleNamespace(timezone="Nowhere/Else"), SimpleNamespace(timezone="")).key == "UTC"


def test_wall_clock_input_in_the_spring_forward_gap_moves_forward():
    zone = ZoneInfo("America/New_York")
    assert zones.local_to_utc(zone, dt.date(2026, 3, 8), dt.time(2, 30)) == dt.datetime(2026, 3, 8, 7, 30, tzinfo=UTC)
    assert zones.form_value(zone, dt.datetime(2026, 7, 1, 19, 0, tzinfo=UTC)) == dt.datetime(2026, 7, 1, 15, 0)


def test_the_local_filter_shows_the_instant_in_the_viewers_zone_with_the_zone_named(app):
    access = SimpleNamespace(zone=ZoneInfo("America/Los_Angeles"), program_zone=ZoneInfo("America/New_York"))
    instant = dt.datetime(2026, 10, 15, 19, 0, tzinfo=UTC)
    with app.test_request_context():
        g.access = access
        html = render_template_string("{{ t|local }} / {{ t|local('date') }} / {{ t|timespan(e) }}", t=instant,
                                      e=instant + dt.timedelta(minutes=90))
    assert '<time datetime="2026-10-15T19:00:00+00:00" title="America/Los_Angeles">Thu 15 Oct 2026, 12:00 pm PDT</time>' in html
    assert "Thu 15 Oct 2026</time>" in html
    assert "Thu 15 Oct, 3:00–4:30 pm EDT" in html and "(12:00–1:30 pm PDT your time)" in html


def test_outside_a_program_page_the_filter_says_utc(app):
    with app.test_request_context():
        assert "UTC" in render_template_string("{{ t|local }}", t=dt.datetime(2026, 1, 2, 3, 4, tzinfo=UTC))
