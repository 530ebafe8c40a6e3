"""Who may do what with a module, on top of the course's one rule (``lti_tool.course.access``).

A module is for one or more cohorts. Managing a cohort (lead, or named facilitator of it, whatever the LMS
role) is what counts, never the LMS role itself:

- a module is **seen** by the leads and by whoever manages or sits in one of its cohorts;
- it is **managed** (released, its progress and reflections read, copied to another cohort) by the leads and by
  whoever manages one of its cohorts; the progress and reflections they read are those of the cohorts they
  manage;
- it is **edited** (its settings, items and order changed, duplicated, deleted) by the leads, and by a cohort
  facilitator when every cohort it is for is one they facilitate;
- it is **taken** (worked through, completed, reflected on) by the LMS's participants holding a seat in one of
  its cohorts.
"""
from __future__ import annotations

from lti_tool.course.access import Access
from lti_tool.errors import Forbidden
from lti_tool.modules.models import Module


def sees(access: Access, module: Module) -> bool:
    return access.in_program(module.program_id) and (access.lead or bool(set(module.cohort_ids) & access.visible))


def manages(access: Access, module: Module) -> bool:
    return access.in_program(module.program_id) and (access.lead or bool(set(module.cohort_ids) & access.managed))


def edits(access: Access, module: Module) -> bool:
    return access.in_program(module.program_id) and (
        access.lead or (bool(module.cohort_ids) and set(module.cohort_ids) <= access.managed))


def takes(access: Access, module: Module) -> bool:
    return access.in_program(module.program_id) and access.is_participant and \
        bool(set(module.cohort_ids) & access.seats)


def managed_cohorts_of(access: Access, module: Module) -> set[int]:
    """The module's cohorts whose progress and reflections ``access`` reads."""
    return set(module.cohort_ids) if access.lead else set(module.cohort_ids) & access.managed


def require_author(access: Access) -> None:
    if not access.manages_any:
        raise Forbidden("Only the program's leads and cohort facilitators write modules.")


def require_editor(access: Access, module: Module) -> None:
    if not edits(access, module):
        raise Forbidden("Only the program's leads and the facilitators of every cohort this module is for "
                        "can change it.")


def require_manager(access: Access, module: Module, what: str) -> None:
    if not manages(access, module):
        raise Forbidden(f"Only this module's facilitators {what}.")


def require_taker(access: Access, module: Module) -> None:
    if not takes(access, module):
        raise Forbidden("Only participants of this module's cohorts work through it.")
