"""Who sees and changes what in the resource library, on top of the course's ``Access``.

- A resource belongs to its program: from another course or platform it does not exist (404).
- Its **author** sees every version of it and edits it; the **managers** of its cohort (the cohort's named
  facilitators and the leads; the leads alone for a resource of no cohort) see every version but the author's
  drafts (a draft is the author's own until submitted), edit it, approve it or return it with a note, and may
  publish it to the whole program.
- Anyone else sees only its approved version, and only while they may: the cohort's members (visibility
  "cohort", the default), everyone in the program (visibility "program"), or everyone in the program when it is
  part of a final product shared program-wide. Otherwise it does not exist for them (404, not 403: a stranger
  cannot learn that a cohort's resource is there).
- A cohort's members and managers contribute resources to it and curate its final product. A final product is
  seen by its cohort and its managers, and by everyone in the program once shared.
"""
from __future__ import annotations

from lti_tool.course.access import Access
from lti_tool.errors import Forbidden, NotFound
from lti_tool.library.models import Collection, Resource, ResourceVersion, VersionStatus, Visibility


def manages(access: Access, resource: Resource) -> bool:
    return access.in_program(resource.program_id) and access.manages(resource.cohort_id)


def is_author(access: Access, resource: Resource) -> bool:
    return resource.author_id is not None and resource.author_id == access.id


def only_a_draft(resource: Resource) -> bool:
    """Never approved, and its one version is a draft nobody was asked to review yet."""
    pending = resource.pending_version
    return resource.approved_version_id is None and (pending is None or pending.status is VersionStatus.draft)


def may_edit(access: Access, resource: Resource) -> bool:
    if not access.in_program(resource.program_id):
        return False
    return is_author(access, resource) or (manages(access, resource) and not only_a_draft(resource))


def may_see_version(access: Access, resource: Resource, version: ResourceVersion) -> bool:
    """Every version for the author; for the managers every version but a draft; the approved one for the
    others who may see the resource."""
    if is_author(access, resource):
        return True
    if may_edit(access, resource):
        return version.status is not VersionStatus.draft
    return version.id == resource.approved_version_id


def may_see_approved(access: Access, resource: Resource, in_shared_product: bool = False) -> bool:
    """Whether the approved version is for ``access`` (the caller checks there is one)."""
    if not access.in_program(resource.program_id):
        return False
    if may_edit(access, resource) or resource.visibility is Visibility.program or in_shared_product:
        return True
    return resource.cohort_id is not None and access.sees(resource.cohort_id)


def may_see(access: Access, resource: Resource, in_shared_product: bool = False) -> bool:
    if may_edit(access, resource):
        return True
    return resource.approved_version_id is not None and may_see_approved(access, resource, in_shared_product)


def require_seen(access: Access, resource: Resource, in_shared_product: bool = False) -> None:
    if not may_see(access, resource, in_shared_product):
        raise NotFound("There is no such resource in this program.")


def require_editor(access: Access, resource: Resource) -> None:
    if not may_edit(access, resource):
        # Someone who may see it learns they cannot change it; anyone else learns nothing.
        if may_see(access, resource):
            raise Forbidden("Only the resource's author and its cohort's facilitators can change it.")
        raise NotFound("There is no such resource in this program.")


def require_reviewer(access: Access, resource: Resource) -> None:
    if not manages(access, resource):
        if may_see(access, resource):
            raise Forbidden("Only this cohort's facilitators and the program's leads can approve or return it.")
        raise NotFound("There is no such resource in this program.")


def may_contribute(access: Access, cohort_id: int | None) -> bool:
    """Add a resource to a cohort (None: to the program, no cohort: leads only)."""
    if cohort_id is None:
        return access.lead
    return access.sees(cohort_id)


def may_see_product(access: Access, collection: Collection) -> bool:
    if not access.in_program(collection.program_id):
        return False
    if collection.shared or access.manages(collection.cohort_id):
        return True
    return collection.cohort_id is not None and access.sees(collection.cohort_id)


def may_curate(access: Access, collection_cohort_id: int | None) -> bool:
    if collection_cohort_id is None:
        return access.lead
    return access.sees(collection_cohort_id)
