"""PD-hours files out: the rows of a person's ledger and of a program's ledger per person, written by
``lti_tool.course.csvfile`` (no cell ever runs as a formula). Each line says where it comes from, so a
participant can keep their own records (Texas) and an auditor can trace every minute."""
from __future__ import annotations

from lti_tool.hours.ledger import Ledger, units_text
from lti_tool.hours.queries import PersonLedger, ProgramLedger


def _unit(ledger: Ledger) -> str:
    return ledger.unit.short


def person_rows(page: PersonLedger) -> list[list]:
    ledger = page.ledger
    rows = [["Date", "Category", "Activity", "Minutes", "How it was counted", "Source", "Source id"]]
    for line in ledger.lines:
        rows.append([line.on_date.isoformat(), line.category.label, line.title, line.minutes, line.evidence,
                     line.source_label, line.source_id])
    rows.append([])
    rows.append(["Category", "Minutes", "Credited minutes", f"Credited ({_unit(ledger)})", "Capped"])
    for c in ledger.categories:
        rows.append([c.label, c.minutes, c.credited, units_text(c.units),
                     f"capped at {c.cap_percent:g} %" if c.capped else ""])
    rows.append(["Total", sum(c.minutes for c in ledger.categories), ledger.total_minutes,
                 units_text(ledger.total_units), ""])
    return rows


def program_rows(page: ProgramLedger) -> list[list]:
    unit = page.profile.unit.short
    header = ["Participant", "Email", "Cohorts"] + [f"{c.label} (min)" for c in page.categories] + \
        ["Credited minutes", f"Total ({unit})", "Capped"]
    rows = [header]
    for row in page.rows:
        ledger = row.ledger
        rows.append([row.person.user.display_name, row.person.user.email, ", ".join(c.name for c in row.cohorts),
                     *[ledger.by_category[c].credited if c in ledger.by_category else 0 for c in page.categories],
                     ledger.total_minutes, units_text(ledger.total_units), "yes" if ledger.any_capped else ""])
    return rows
