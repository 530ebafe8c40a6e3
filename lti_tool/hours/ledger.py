"""The PD-hours ledger of a person, computed (pure): their lines (from ``sources``), the minutes of each
category, caps applied, and the totals converted to the program's unit with its rounding.

Why derived on read rather than stored: every line already is a record somewhere (an attendance record, a
module completion, a book-study post, a lead's manual line); a stored copy would be a second truth that a
correction must remember to update. Reading derives the lines in a fixed number of queries (see
``sources.lines_for``), so a corrected attendance record shows in the ledger on the very next read.
"""
from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field

from lti_tool.hours.models import CATEGORY_LABELS, Category, HoursProfile, Rounding, Unit


@dataclass(frozen=True)
class Line:
    """One ledger line: what it counts as, when, how many minutes, the record it comes from (``source`` and
    ``source_id``: "attendance" 12, "module_item" 5, "reading" 3, "manual" 7), in words how it was counted,
    and the page that shows that record (an endpoint and its arguments, so a job can build lines too)."""

    category: Category
    on_date: dt.date
    minutes: int
    title: str
    source: str
    source_id: int
    evidence: str = ""                     # "Present", "Checked in 12 min late", "Zoom/Teams report: 58 min"
    link: tuple[str, tuple] | None = None  # (endpoint, ((name, value), …)) for url_for

    @property
    def source_label(self) -> str:
        return SOURCE_LABELS.get(self.source, self.source.replace("_", " ").capitalize())


SOURCE_LABELS = {"attendance": "Attendance record", "make_up": "Approved make-up", "module_item": "Module item",
                 "reading": "Book-study reading", "manual": "Entered by a lead"}


@dataclass
class CategoryTotal:
    category: Category
    minutes: int                # before the cap
    credited: int               # after the cap
    cap_percent: float | None
    units: float = 0.0

    @property
    def capped(self) -> bool:
        return self.credited < self.minutes

    @property
    def label(self) -> str:
        return CATEGORY_LABELS[self.category]


@dataclass
class Ledger:
    lines: list[Line]
    categories: list[CategoryTotal]
    unit: Unit
    rounding: Rounding
    total_minutes: int = 0       # credited, after caps
    total_units: float = 0.0
    required_units: float | None = None
    by_category: dict[Category, CategoryTotal] = field(default_factory=dict)

    @property
    def unit_label(self) -> str:
        return self.unit.short

    @property
    def any_capped(self) -> bool:
        return any(c.capped for c in self.categories)

    @property
    def met_minimum(self) -> bool | None:
        if self.required_units is None:
            return None
        return self.total_units >= self.required_units


def round_units(value: float, rounding: Rounding) -> float:
    """Round *down* to the profile's step (an hour not fully earned is never printed), else two decimals.
    A tiny epsilon keeps 1.7 from becoming 1.6 through binary fractions."""
    step = rounding.step
    if step is None:
        return round(value, 2)
    return round(math.floor(value / step + 1e-9) * step, 4)


def to_units(minutes: int, unit: Unit, rounding: Rounding) -> float:
    """Minutes of contact time in the unit, rounded: 17 contact hours (1020 min) → 1.7 CEU."""
    return round_units(minutes / unit.minutes, rounding)


def apply_caps(minutes: dict[Category, int], caps: dict[Category, float]) -> dict[Category, int]:
    """Credited minutes per category when some may make at most a share of the credited total.

    A capped category c at its cap holds p_c × T, where T is the credited total; with B the categories held
    at their cap, T = (everything else) / (1 − Σ_B p). B grows until no other category exceeds its share:
    at most one round per capped category. A cap of 0 % credits nothing of that category."""
    binding: set[Category] = set()
    while True:
        share = sum(caps[c] for c in binding)
        free = sum(m for c, m in minutes.items() if c not in binding)
        total = free / (1 - share) if share < 1 else free
        over = {c for c, p in caps.items() if c not in binding and minutes.get(c, 0) > p * total + 1e-9}
        if not over:
            break
        binding |= over
    credited = dict(minutes)
    share = sum(caps[c] for c in binding)
    free = sum(m for c, m in minutes.items() if c not in binding)
    total = free / (1 - share) if share < 1 else free
    for c in binding:
        credited[c] = min(minutes.get(c, 0), int(math.floor(caps[c] * total + 1e-9)))
    return credited


def profile_caps(profile: HoursProfile) -> dict[Category, float]:
    """The profile's caps as fractions, for the categories it names (unknown names are ignored)."""
    caps = {}
    for key, percent in (profile.caps or {}).items():
        try:
            category = Category(key)
        except ValueError:
            continue
        if percent is not None and 0 <= float(percent) < 100:
            caps[category] = float(percent) / 100
    return caps


def build_ledger(lines: list[Line], profile: HoursProfile) -> Ledger:
    """The ledger of one person from their lines, in the order they happened."""
    unit, rounding = Unit(profile.unit or Unit.clock_hour), Rounding(profile.rounding or Rounding.down_quarter)
    lines = sorted(lines, key=lambda line: (line.on_date, line.category.value, line.source, line.source_id))
    raw: dict[Category, int] = {}
    for line in lines:
        raw[line.category] = raw.get(line.category, 0) + line.minutes
    caps = profile_caps(profile)
    credited = apply_caps(raw, caps)
    categories = [CategoryTotal(c, raw[c], credited[c], caps[c] * 100 if c in caps else None,
                                to_units(credited[c], unit, rounding))
                  for c in Category if c in raw]
    total = sum(credited.values())
    return Ledger(lines, categories, unit, rounding, total, to_units(total, unit, rounding),
                  profile.required_units, {c.category: c for c in categories})


def hours_text(minutes: int) -> str:
    """"2 h 30 min", "45 min": a duration as people say it."""
    hours, rest = divmod(int(minutes), 60)
    if hours and rest:
        return f"{hours} h {rest} min"
    return f"{hours} h" if hours else f"{rest} min"


def units_text(value: float) -> str:
    """1.7 → "1.7", 12.25 → "12.25", 3.0 → "3"."""
    return f"{value:.2f}".rstrip("0").rstrip(".")
