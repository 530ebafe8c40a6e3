"""Who sees and changes completion, on top of the course's ``Access``: a person's forecast is seen as their other
records are (``Access.sees_person``: that person, the leads, the facilitators of the cohort the person sits in;
for anyone else it does not exist, 404). A cohort's list by risk is for those who manage it; the rule is the
leads'."""
from __future__ import annotations

from lti_tool.course.access import Access


def require_rule_lead(access: Access) -> None:
    access.require_lead("change the completion rule")
