"""Temporary, for the other slices' branches while issue 11 is split in parallel: the names that
``programs.home`` and ``lti_tool.demo`` import from here, with their signatures. The modules feature lives in
``permissions``, ``queries``, ``writes``, ``formats`` and ``threads``; nothing in it imports this module. The
lead removes it after the merge, pointing those imports at the new modules.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from lti_tool.course.access import Access, access_for
from lti_tool.lti.models import Membership
from lti_tool.modules import queries, writes
from lti_tool.modules.queries import states_for, visible_modules  # noqa: F401 - temporary, for other slices
from lti_tool.modules.writes import (  # noqa: F401 - temporary, for other slices
    mark_done, open_item, save_item, save_module, submit_reflection,
)
from lti_tool.programs.models import Program


def viewer_for(session: Session, actor: Membership, program: Program) -> Access:
    """Temporary, for other slices: the viewer is now the course's ``Access``."""
    return access_for(session, actor, program)


def update_settings(session: Session, actor: Membership, program: Program, weekly_budget_minutes: int):
    """Temporary, for other slices: ``writes.update_settings`` with the old arguments."""
    return writes.update_settings(session, access_for(session, actor, program), weekly_budget_minutes)


def give_feedback(session: Session, viewer: Access, reflection_id: int, feedback: str, mark: float | None,
                  now: dt.datetime | None = None):
    """Temporary, for other slices: ``writes.give_feedback`` with the reflection's id."""
    reflection = queries.get_reflection(session, viewer, reflection_id)
    return writes.give_feedback(session, viewer, reflection, feedback, mark, now=now)
