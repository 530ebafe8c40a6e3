"""Files out of modules: the progress grid as CSV (through ``course.csvfile``, so no cell runs as a formula)."""
from __future__ import annotations

from flask import Response

from lti_tool.course.csvfile import csv_response
from lti_tool.modules.queries import ProgressGrid


def progress_rows(grid: ProgressGrid) -> list[list]:
    """A header, then one row per participant: their name, email and cohort, each item's state in words, the
    required items done and the percentage."""
    rows: list[list] = [["Participant", "Email", "Cohort", *[i.title for i in grid.module.items], "Required done",
                         "Percent"]]
    for row in grid.rows:
        user = row.membership.user
        rows.append([user.display_name, user.email, row.cohort_name, *[s.label for s in row.state.items],
                     f"{row.state.done_count}/{len(row.state.required)}", row.state.percent])
    return rows


def progress_download(grid: ProgressGrid) -> Response:
    return csv_response(progress_rows(grid), f"module-{grid.module.id}-progress.csv")
