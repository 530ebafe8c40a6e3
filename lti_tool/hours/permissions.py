"""Who sees and changes PD hours, on top of the course's ``Access``: a person's ledger is seen by that person,
by the leads, and by the facilitators of a cohort the person sits in; for anyone else it does not exist (404,
not 403: a participant cannot even learn whose ledgers there are). The conversion profile and the manual lines
are the leads'."""
from __future__ import annotations

from typing import Iterable

from lti_tool.course.access import Access


def require_ledger_viewer(access: Access, person_id: int, person_cohorts: Iterable[int]) -> None:
    access.require_sees_person(person_id, person_cohorts)


def require_profile_lead(access: Access) -> None:
    access.require_lead("change how PD hours are counted")


def require_manual_lead(access: Access) -> None:
    access.require_lead("add or remove PD-hours lines by hand")
