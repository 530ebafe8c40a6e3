"""The run's clock, pure: which phase is current, how many seconds are left, and what each role may do now,
computed from the stored run and its phases at a given instant (``now`` is always passed in, so the server is
the one clock and tests move time freely).

Live runs: the facilitator moves the run on; the current phase ends at ``phase_ends_at`` (running) or has
``paused_remaining`` seconds left (paused); a phase that runs over stays current, at 0 seconds, until the
facilitator advances. Asynchronous runs: each phase opens when the previous one closes, at the deadlines
stored on the phases; the state is read from those deadlines every time, so a late background job changes
nothing of what a page shows or of what the server accepts.

Also here, pure too: ``scale_minutes``, shortening or lengthening a script to a total without dropping a step.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Sequence

from lti_tool.errors import InvalidInput


def scale_minutes(minutes: Sequence[int], total: int) -> list[int]:
    """The phases' minutes scaled to ``total`` in proportion, each at least 1 and the sum exactly ``total``
    (largest remainder: the phases that lost most to rounding get the spare minutes, earlier ones first on a
    tie; the same total gives the same minutes back). Never drops a phase: a total shorter than one minute
    per phase is refused."""
    n = len(minutes)
    if n == 0:
        raise InvalidInput("This script has no phases: add a phase first.", "phases")
    if total < n:
        raise InvalidInput(f"The script has {n} phases, so it needs at least {n} minutes (one per phase); no "
                           "phase is ever dropped.", "total_minutes")
    weights = [max(int(m), 1) for m in minutes]
    exact = [w * total / sum(weights) for w in weights]
    out = [max(1, int(e)) for e in exact]
    while sum(out) < total:               # at most n - 1 rounds: each floor lost less than a minute
        i = max(range(n), key=lambda k: (exact[k] - out[k], -k))
        out[i] += 1
    while sum(out) > total:               # minutes given to phases raised to 1 come from the most over share
        i = max((k for k in range(n) if out[k] > 1), key=lambda k: (out[k] - exact[k], -k))
        out[i] -= 1
    return out


@dataclass(frozen=True)
class State:
    status: str                     # scheduled, running, paused, completed, cancelled
    position: int | None            # the current phase's position (None before the start and after the end)
    ends_at: dt.datetime | None     # when the current phase ends (None when paused, or not started)
    remaining: int | None           # whole seconds left in the current phase (0 once it ran over)
    overtime: bool = False

    @property
    def open(self) -> bool:
        """Contributions are taken (in the current phase only)."""
        return self.status in ("running", "paused") and self.position is not None


def _seconds(delta: dt.timedelta) -> int:
    return max(0, int(delta.total_seconds() + 0.999))       # 0.2 s left shows as 1, never 0 early


def state_of(run, phases: Sequence, now: dt.datetime) -> State:
    """The run's state at ``now`` (see the module's docstring)."""
    status = run.status.value if hasattr(run.status, "value") else run.status
    if status == "cancelled":
        return State("cancelled", None, None, None)
    mode = run.mode.value if hasattr(run.mode, "value") else run.mode
    if mode == "async":
        if status == "completed" and run.completed_at is not None and run.completed_at <= now:
            return State("completed", None, None, None)
        for phase in phases:
            if phase.opens_at is not None and phase.closes_at is not None and phase.opens_at <= now < phase.closes_at:
                return State("running", phase.position, phase.closes_at, _seconds(phase.closes_at - now))
        if phases and phases[0].opens_at is not None and now < phases[0].opens_at:
            return State("scheduled", None, phases[0].opens_at, None)
        return State("completed", None, None, None)
    if status in ("scheduled", "completed"):
        return State(status, None, None, None)
    if status == "paused":
        left = max(0, run.paused_remaining or 0)
        return State("paused", run.current_position, None, left, overtime=left == 0)
    ends_at = run.phase_ends_at
    left = _seconds(ends_at - now) if ends_at is not None else 0
    return State("running", run.current_position, ends_at, left, overtime=left == 0)
