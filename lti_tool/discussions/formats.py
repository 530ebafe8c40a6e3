"""Files out of the book study: the participation grid as CSV (through ``lti_tool.course.csvfile``, so a
name or comment someone typed never runs as a spreadsheet formula)."""
from __future__ import annotations

from typing import Iterator, Sequence

from lti_tool.discussions.queries import Grid


def participation_rows(grid: Grid) -> Iterator[Sequence]:
    """A header, then per participant: name, email, where they stand in each reading, score, maximum, and the
    facilitator's comment if they set the score."""
    readings = sorted(grid.book.readings, key=lambda r: (r.starts_on, r.position))
    yield ["Participant", "Email", *[r.label for r in readings], "Score", "Maximum", "Override comment"]
    for m in grid.people:
        override = grid.overrides.get(m.id)
        yield [m.user.display_name, m.user.email, *[grid.rows[m.id][r.id].status[1] for r in readings],
               grid.scores[m.id], grid.book.score_maximum, override.comment if override else ""]


def participation_filename(grid: Grid, cohort_id: int) -> str:
    return f"book-study-{grid.book.id}-cohort-{cohort_id}.csv"
