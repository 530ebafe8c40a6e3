"""Conversion profiles (G3.4): units, rounding always down, caps per category applied and shown — pure
functions, no database."""
from __future__ import annotations

import datetime as dt

from lti_tool.hours.ledger import Line, apply_caps, build_ledger, round_units, to_units, units_text
from lti_tool.hours.models import Category, HoursProfile, Rounding, Unit

DAY = dt.date(2030, 10, 10)


def line(category: Category, minutes: int, n: int = 1) -> Line:
    return Line(category, DAY, minutes, f"{category.value} {n}", "manual", n)


def test_seventeen_contact_hours_are_one_point_seven_ceu():
    assert to_units(17 * 60, Unit.ceu, Rounding.down_tenth) == 1.7
    # A CEU is never rounded up: 16 h 59 min is still 1.6.
    assert to_units(17 * 60 - 1, Unit.ceu, Rounding.down_tenth) == 1.6
    assert units_text(to_units(17 * 60, Unit.ceu, Rounding.down_tenth)) == "1.7"


def test_fifty_minute_contact_hours_and_quarter_rounding():
    assert to_units(100, Unit.contact_hour_50, Rounding.none) == 2.0
    assert to_units(100, Unit.clock_hour, Rounding.down_quarter) == 1.5      # 1 h 40 min → 1.5
    assert round_units(2.99, Rounding.down_half) == 2.5
    assert round_units(2.999, Rounding.down_whole) == 2.0


def test_a_150_pdp_profile_is_met_at_150_clock_hours_and_not_before():
    profile = HoursProfile(unit=Unit.pdp, rounding=Rounding.down_whole, caps={}, required_units=150)
    short = build_ledger([line(Category.live, 149 * 60 + 59)], profile)
    assert short.total_units == 149 and short.met_minimum is False
    met = build_ledger([line(Category.live, 100 * 60), line(Category.module, 50 * 60, 2)], profile)
    assert met.total_units == 150 and met.met_minimum is True and met.unit_label == "PDPs"


def test_a_20_percent_cap_on_independent_study_is_applied_and_shown_as_capped():
    profile = HoursProfile(unit=Unit.cpe, rounding=Rounding.none, caps={"module": 20})
    ledger = build_ledger([line(Category.live, 8 * 60), line(Category.module, 10 * 60, 2)], profile)
    module = ledger.by_category[Category.module]
    # Modules may make at most 20 % of the credited total: 8 h live → 2 h of modules (2 / 10 = 20 %).
    assert module.minutes == 600 and module.credited == 120 and module.capped
    assert module.cap_percent == 20
    assert ledger.total_minutes == 600 and ledger.total_units == 10.0
    assert not ledger.by_category[Category.live].capped and ledger.any_capped


def test_a_cap_not_reached_changes_nothing_and_two_caps_share_the_total():
    assert apply_caps({Category.live: 600, Category.module: 60}, {Category.module: 0.2}) == \
        {Category.live: 600, Category.module: 60}
    credited = apply_caps({Category.live: 600, Category.module: 600, Category.book_study: 600},
                          {Category.module: 0.2, Category.book_study: 0.1})
    total = sum(credited.values())
    assert credited[Category.module] <= 0.2 * total + 1 and credited[Category.book_study] <= 0.1 * total + 1
    assert credited[Category.live] == 600 and abs(total - 600 / 0.7) < 2


def test_lines_are_kept_in_date_order_with_their_source():
    profile = HoursProfile(unit=Unit.clock_hour, rounding=Rounding.down_quarter, caps={})
    later = Line(Category.live, DAY + dt.timedelta(days=3), 90, "Later", "attendance", 2)
    sooner = Line(Category.module, DAY, 30, "Sooner", "module_item", 9)
    ledger = build_ledger([later, sooner], profile)
    assert [l.title for l in ledger.lines] == ["Sooner", "Later"]
    assert ledger.lines[0].source_label == "Module item" and ledger.total_units == 2.0
