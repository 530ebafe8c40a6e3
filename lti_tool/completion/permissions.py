"""Who sees and changes completion, on top of the course's ``Access``: a person's forecast is seen by that
person, by the leads, and by the facilitators of the cohort the person sits in; for anyone else it does not
exist (404). A cohort's list by risk is for those who manage it; the rule is the leads'."""
from __future__ import annotations

from typing import Iterable

from lti_tool.course.access import Access
from lti_tool.errors import NotFound


def may_see_forecast(access: Access, person_id: int, person_cohorts: Iterable[int]) -> bool:
    return person_id == access.id or access.lead or any(access.manages(c) for c in person_cohorts)


def require_forecast_viewer(access: Access, person_id: int, person_cohorts: Iterable[int]) -> None:
    if not may_see_forecast(access, person_id, person_cohorts):
        raise NotFound("There is no such person's record here.")


def require_rule_lead(access: Access) -> None:
    access.require_lead("change the completion rule")
