"""Who may see and change the programs feature's own things, on top of ``lti_tool.course.access``: an
application is its applicant's and its cohort's managers'; a proposal is its proposer's and the leads'."""
from __future__ import annotations

from lti_tool.course.access import Access
from lti_tool.programs.models import Application, Proposal


def sees_application(access: Access, application: Application) -> bool:
    """The applicant, and whoever manages the cohort (they review it)."""
    return application.membership_id == access.id or access.manages(application.cohort)


def sees_proposal(access: Access, proposal: Proposal) -> bool:
    """The proposer, and the program's leads (they review it)."""
    return proposal.proposer_id == access.id or access.lead


def revises_proposal(access: Access, proposal: Proposal) -> bool:
    """Only the proposer edits a proposal."""
    return proposal.proposer_id == access.id
