"""What the library pages show, in a fixed number of queries whatever the number of resources: the search with
its facets (one page of results, the count, one query per facet), the course-scoped loaders (404 for anything
of another program, or that the viewer may not see), what waits for a facilitator, the final products, and
``completion_counts`` for the completion rule."""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from sqlalchemy import exists, false, func, or_, select, true
from sqlalchemy.orm import Session, aliased, joinedload, selectinload

from lti_tool.course.access import Access
from lti_tool.errors import NotFound
from lti_tool.library import permissions
from lti_tool.library.models import (Collection, CollectionItem, Licence, Resource, ResourceKind, ResourceTag,
                                     ResourceVersion, VersionStatus, Visibility)
from lti_tool.lti.models import Membership
from lti_tool.programs.models import Cohort, Program
from lti_tool.programs.queries import get_cohort as programs_get_cohort

PER_PAGE = 20
TAG_FACETS = 25


def _program(access: Access) -> Program:
    if access.program is None:
        raise NotFound("This course has no Communities of Practice program yet.")
    return access.program


def in_shared_product():
    """SQL: the resource is part of a final product shared program-wide."""
    return exists().where(CollectionItem.resource_id == Resource.id, Collection.id == CollectionItem.collection_id,
                          Collection.shared.is_(True))


def visible_clause(access: Access):
    """SQL: the approved version of a resource of this program is for ``access`` (``permissions.may_see``)."""
    if access.lead:
        return true()
    visible = sorted(access.visible)
    return or_(Resource.visibility == Visibility.program,
               Resource.cohort_id.in_(visible) if visible else false(),
               Resource.author_id == access.id,
               in_shared_product())


# ---- loaders --------------------------------------------------------------------------------------------------

def get_resource(session: Session, access: Access, resource_id: int) -> Resource:
    """A resource of this program that ``access`` may see (404 otherwise), with its versions."""
    program = _program(access)
    resource = session.scalar(
        select(Resource).options(joinedload(Resource.cohort), joinedload(Resource.author).joinedload(Membership.user),
                                 joinedload(Resource.pending_version), joinedload(Resource.approved_version),
                                 selectinload(Resource.versions).joinedload(ResourceVersion.reviewed_by)
                                 .joinedload(Membership.user))
        .where(Resource.id == resource_id, Resource.program_id == program.id))
    if resource is None:
        raise NotFound("There is no such resource in this program.")
    shared = False
    if not permissions.may_edit(access, resource) and resource.visibility is not Visibility.program:
        shared = bool(session.scalar(select(in_shared_product()).where(Resource.id == resource.id)))
    permissions.require_seen(access, resource, shared)
    return resource


def get_version(session: Session, access: Access, resource_id: int, version_id: int) -> tuple[Resource,
                                                                                               ResourceVersion]:
    """One version of a resource, for those who may see it (``permissions.may_see_version``)."""
    resource = get_resource(session, access, resource_id)
    version = next((v for v in resource.versions if v.id == version_id), None)
    if version is None or not permissions.may_see_version(access, resource, version):
        raise NotFound("There is no such version of this resource.")
    return resource, version


def get_collection(session: Session, access: Access, collection_id: int) -> Collection:
    program = _program(access)
    collection = session.scalar(select(Collection).options(joinedload(Collection.cohort))
                                .where(Collection.id == collection_id, Collection.program_id == program.id))
    if collection is None or not permissions.may_see_product(access, collection):
        raise NotFound("There is no such final product in this program.")
    return collection


def get_cohort(session: Session, access: Access, cohort_id: int) -> Cohort:
    """A cohort of the course (``programs.queries.get_cohort``) whose library the viewer sees: they sit in it or
    manage it; for anyone else it does not exist here (404)."""
    cohort = programs_get_cohort(session, access, cohort_id)
    if not access.sees(cohort):
        raise NotFound("There is no such cohort in this course.")
    return cohort


# ---- the search -----------------------------------------------------------------------------------------------

@dataclass
class Search:
    q: str = ""
    kind: str = ""
    tag: str = ""
    cohort_id: int | None = None
    licence: str = ""
    page: int = 1

    def args(self, **changes) -> dict:
        """The query-string arguments of this search with ``changes`` (empty values left out)."""
        values = {"q": self.q, "kind": self.kind, "tag": self.tag, "cohort": self.cohort_id, "licence": self.licence}
        values.update(changes)
        return {k: v for k, v in values.items() if v not in (None, "")}


@dataclass
class Facet:
    value: str
    label: str
    count: int


@dataclass
class Results:
    search: Search
    rows: list[Resource]
    total: int
    pages: int
    kinds: list[Facet] = field(default_factory=list)
    licences: list[Facet] = field(default_factory=list)
    cohorts: list[Facet] = field(default_factory=list)
    tags: list[Facet] = field(default_factory=list)


def words(text: str) -> list[str]:
    return [w for w in (text or "").casefold().split() if w][:10]


def _filters(access: Access, search: Search) -> list:
    program = _program(access)
    conds = [Resource.program_id == program.id, Resource.approved_version_id.is_not(None), visible_clause(access)]
    for word in words(search.q):
        conds.append(Resource.search_text.contains(word, autoescape=True))
    if search.kind in ResourceKind._value2member_map_:
        conds.append(Resource.kind == ResourceKind(search.kind))
    if search.licence in Licence._value2member_map_:
        conds.append(Resource.licence == Licence(search.licence))
    if search.cohort_id:
        conds.append(Resource.cohort_id == search.cohort_id)
    if search.tag:
        tagged = aliased(ResourceTag)      # the tag facet's own query reads ResourceTag too
        conds.append(exists().where(tagged.resource_id == Resource.id, tagged.tag == search.tag.casefold()))
    return conds


def search(session: Session, access: Access, search: Search) -> Results:
    """One page of the approved resources ``access`` may see that match ``search``, newest approval first, with
    the count and the facets (type, licence, cohort, tag) of everything matched: six queries, whatever the
    size of the library."""
    conds = _filters(access, search)
    total = session.scalar(select(func.count()).select_from(Resource).where(*conds)) or 0
    pages = max(1, math.ceil(total / PER_PAGE))
    page = min(max(search.page, 1), pages)
    search.page = page
    rows = list(session.scalars(
        select(Resource).where(*conds)
        .options(joinedload(Resource.cohort), joinedload(Resource.author).joinedload(Membership.user),
                 joinedload(Resource.approved_version), selectinload(Resource.tags))
        .order_by(Resource.approved_at.desc(), Resource.id.desc()).limit(PER_PAGE).offset((page - 1) * PER_PAGE)))
    results = Results(search, rows, total, pages)
    results.kinds = [Facet(k.value, k.label, n) for k, n in session.execute(
        select(Resource.kind, func.count()).where(*conds).group_by(Resource.kind).order_by(Resource.kind)) if k]
    results.licences = [Facet(lic.value, lic.label, n) for lic, n in session.execute(
        select(Resource.licence, func.count()).where(*conds).group_by(Resource.licence).order_by(Resource.licence))
        if lic]
    results.cohorts = [Facet(str(cid), name, n) for cid, name, n in session.execute(
        select(Cohort.id, Cohort.name, func.count()).select_from(Resource).join(Cohort, Cohort.id == Resource.cohort_id).where(*conds)
        .group_by(Cohort.id, Cohort.name).order_by(Cohort.name))]
    results.tags = [Facet(tag, tag, n) for tag, n in session.execute(
        select(ResourceTag.tag, func.count()).join(Resource, Resource.id == ResourceTag.resource_id).where(*conds)
        .group_by(ResourceTag.tag).order_by(func.count().desc(), ResourceTag.tag).limit(TAG_FACETS))]
    return results


# ---- the author's and the reviewers' lists ---------------------------------------------------------------------

def my_resources(session: Session, access: Access) -> list[Resource]:
    """Everything ``access`` wrote, whatever its state."""
    program = _program(access)
    return list(session.scalars(
        select(Resource).options(joinedload(Resource.cohort), joinedload(Resource.pending_version),
                                 joinedload(Resource.approved_version))
        .where(Resource.program_id == program.id, Resource.author_id == access.id)
        .order_by(Resource.updated_at.desc(), Resource.id.desc())))


def waiting(session: Session, access: Access) -> list[Resource]:
    """Resources whose pending version waits for a facilitator, in the cohorts ``access`` manages (a lead: all,
    the program's own resources too), oldest first."""
    program = _program(access)
    if not access.manages_any:
        return []
    scope = true() if access.lead else Resource.cohort_id.in_(sorted(access.managed))
    return list(session.scalars(
        select(Resource).join(ResourceVersion, ResourceVersion.id == Resource.pending_version_id)
        .options(joinedload(Resource.cohort), joinedload(Resource.author).joinedload(Membership.user),
                 joinedload(Resource.pending_version))
        .where(Resource.program_id == program.id, scope, ResourceVersion.status == VersionStatus.submitted)
        .order_by(ResourceVersion.submitted_at, Resource.id)))


def waiting_count(session: Session, access: Access) -> int:
    program = _program(access)
    if not access.manages_any:
        return 0
    scope = true() if access.lead else Resource.cohort_id.in_(sorted(access.managed))
    return session.scalar(select(func.count()).select_from(Resource)
                          .join(ResourceVersion, ResourceVersion.id == Resource.pending_version_id)
                          .where(Resource.program_id == program.id, scope,
                                 ResourceVersion.status == VersionStatus.submitted)) or 0


def contributable_cohorts(session: Session, access: Access) -> list[Cohort]:
    """The cohorts ``access`` may add a resource to (those they sit in or manage)."""
    program = _program(access)
    ids = sorted(access.visible)
    if not ids:
        return []
    return list(session.scalars(select(Cohort).where(Cohort.program_id == program.id, Cohort.id.in_(ids))
                                .order_by(Cohort.name)))


# ---- final products ---------------------------------------------------------------------------------------------

def products(session: Session, access: Access) -> list[Collection]:
    """The final products ``access`` may see, by cohort name (then those brought from other years), with their
    resources and each resource's approved version: three queries."""
    program = _program(access)
    collections = list(session.scalars(
        select(Collection).outerjoin(Cohort, Cohort.id == Collection.cohort_id)
        .options(joinedload(Collection.cohort),
                 selectinload(Collection.items).joinedload(CollectionItem.resource)
                 .joinedload(Resource.approved_version))
        .where(Collection.program_id == program.id)
        .order_by(Cohort.name.is_(None), Cohort.name, Collection.title, Collection.id)))
    return [c for c in collections if permissions.may_see_product(access, c)]


def product_of(session: Session, program: Program, cohort_id: int) -> Collection | None:
    return session.scalar(select(Collection).options(selectinload(Collection.items))
                          .where(Collection.program_id == program.id, Collection.cohort_id == cohort_id))


def curatable(session: Session, access: Access, cohort: Cohort) -> list[Resource]:
    """Approved resources a cohort may put in its final product: its own, and the program-wide ones."""
    program = _program(access)
    return list(session.scalars(
        select(Resource).options(joinedload(Resource.cohort))
        .where(Resource.program_id == program.id, Resource.approved_version_id.is_not(None),
               or_(Resource.cohort_id == cohort.id, Resource.visibility == Visibility.program))
        .order_by(Resource.title, Resource.id)))


# ---- for other features ------------------------------------------------------------------------------------------

def completion_counts(session: Session, program: Program, membership_ids) -> dict[int, tuple[int, int | None]]:
    """For each membership: (resources of theirs approved in ``program`` so far, None: no upper limit on more).
    One query, whatever the number of people."""
    ids = list(dict.fromkeys(membership_ids))
    out: dict[int, tuple[int, int | None]] = {mid: (0, None) for mid in ids}
    if not ids:
        return out
    for author_id, n in session.execute(
            select(Resource.author_id, func.count()).where(Resource.program_id == program.id,
                                                           Resource.author_id.in_(ids),
                                                           Resource.approved_version_id.is_not(None))
            .group_by(Resource.author_id)):
        out[author_id] = (n, None)
    return out


def final_product_counts(session: Session, program: Program, membership_ids) -> dict[int, tuple[int, None]]:
    """For each membership: (resources of theirs in a cohort's final product of ``program``, None: no upper limit).
    One query; the completion rule's "final product" criterion."""
    ids = list(dict.fromkeys(membership_ids))
    out: dict[int, tuple[int, None]] = {mid: (0, None) for mid in ids}
    if not ids:
        return out
    for author_id, n in session.execute(
            select(Resource.author_id, func.count(func.distinct(Resource.id)))
            .join(CollectionItem, CollectionItem.resource_id == Resource.id)
            .join(Collection, Collection.id == CollectionItem.collection_id)
            .where(Collection.program_id == program.id, Resource.author_id.in_(ids),
                   Resource.approved_version_id.is_not(None))
            .group_by(Resource.author_id)):
        out[author_id] = (n, None)
    return out


def placeable_resources(session: Session, access: Access, limit: int = 200) -> list[Resource]:
    """Approved resources an instructor may place in the LMS course (what they see), newest first."""
    if access.program is None:
        return []
    return list(session.scalars(
        select(Resource).where(Resource.program_id == access.program.id, Resource.approved_version_id.is_not(None),
                               visible_clause(access))
        .order_by(Resource.approved_at.desc(), Resource.id.desc()).limit(limit)))


def placeable_products(session: Session, access: Access) -> list[Collection]:
    if access.program is None:
        return []
    return [c for c in session.scalars(select(Collection).options(joinedload(Collection.cohort))
                                       .where(Collection.program_id == access.program.id)
                                       .order_by(Collection.title, Collection.id))
            if permissions.may_see_product(access, c)]
