"""Library changes: a resource written and its versions (draft, submitted, approved, returned with a note), its
visibility, a cohort's final product, the sharing of the final products after the showcase, and bringing
approved resources and final products into next year's program. Each function checks permission, validates
(``InvalidInput`` naming the form field), changes, flushes, never commits. A file is checked and stored as
module uploads are (``modules/uploads.py``), after everything else was validated, so a refused form stores
nothing; a file a draft stops using is removed once that change is committed.

Approving a resource sends ``progress_changed`` for its author (contributions may count toward completion)."""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lti_tool.course import events, notices
from lti_tool.course.access import Access
from lti_tool.course.text import render_markdown
from lti_tool.db import utcnow
from lti_tool.errors import Conflict, InvalidInput, NotFound
from lti_tool.library import permissions, previews
from lti_tool.library.models import (Collection, CollectionItem, Licence, Resource, ResourceKind, ResourceTag,
                                     ResourceVersion, VersionStatus, Visibility)
from lti_tool.lti.models import CourseRole, Membership
from lti_tool.modules import uploads
from lti_tool.modules.queries import copy_targets
from lti_tool.programs.models import Cohort, CohortFacilitator, Program

MAX_TITLE = 200
MAX_DESCRIPTION = 20000
MAX_TAGS = 20
MAX_TAG_LENGTH = 40
MAX_URL = 2048
MAX_NOTE = 2000
MAX_ITEMS = 100
_TAG_SPLIT = re.compile(r"[,;\n]+")


@dataclass
class ResourceInput:
    """What the resource form carries (as typed)."""

    title: str = ""
    kind: str = ""
    description: str = ""
    tags: str = ""
    url: str = ""
    licence: str = ""
    may_share: bool = False
    upload: tuple[str, bytes] | None = None      # (file name, content) of a newly chosen file
    remove_file: bool = False


def parse_tags(text: str) -> list[str]:
    """Tags separated by commas (or semicolons, new lines), lower-cased, each once, in the order typed."""
    raw = [t.strip() for t in _TAG_SPLIT.split(text or "")]
    tags = list(dict.fromkeys(re.sub(r"\s+", " ", t).casefold() for t in raw if t.strip()))
    if len(tags) > MAX_TAGS:
        raise InvalidInput(f"Give at most {MAX_TAGS} tags (there are {len(tags):,}): keep the ones people would "
                           "search for.", "tags")
    long = next((t for t in tags if len(t) > MAX_TAG_LENGTH), None)
    if long is not None:
        raise InvalidInput(f"A tag is at most {MAX_TAG_LENGTH} characters (“{long[:MAX_TAG_LENGTH]}…” is longer): "
                           "separate tags with commas.", "tags")
    return tags


def check_url(url: str) -> str:
    url = (url or "").strip()
    if not url:
        return ""
    if len(url) > MAX_URL:
        raise InvalidInput(f"A link is at most {MAX_URL} characters.", "url")
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        raise InvalidInput("A link must be a web address starting with https:// (or http://).", "url")
    return url


@dataclass
class _Clean:
    title: str
    kind: ResourceKind
    description: str
    tags: list[str]
    url: str
    licence: Licence


def _validate(data: ResourceInput, has_file: bool) -> _Clean:
    """Every check but the file's own (that one stores it, so it comes last)."""
    title = (data.title or "").strip()
    if not title:
        raise InvalidInput("Give the resource a title.", "title")
    if len(title) > MAX_TITLE:
        raise InvalidInput(f"A title is at most {MAX_TITLE} characters.", "title")
    try:
        kind = ResourceKind(data.kind)
    except ValueError:
        raise InvalidInput("Choose what kind of resource it is.", "kind") from None
    description = data.description or ""
    if len(description) > MAX_DESCRIPTION:
        raise InvalidInput(f"A description is at most {MAX_DESCRIPTION:,} characters.", "description")
    tags = parse_tags(data.tags)
    url = check_url(data.url)
    try:
        licence = Licence(data.licence)
    except ValueError:
        raise InvalidInput("Choose a licence: it tells others what they may do with the resource.",
                           "licence") from None
    if not data.may_share:
        raise InvalidInput("Confirm that you may share this resource (you made it, or its licence allows it).",
                           "may_share")
    if kind is ResourceKind.link and not url:
        raise InvalidInput("A link resource needs its web address.", "url")
    if not url and not has_file:
        raise InvalidInput("Upload a file or give a link: a resource is one or the other (or both).", "upload")
    return _Clean(title, kind, description, tags, url, licence)


def _store(upload: tuple[str, bytes]) -> tuple[uploads.StoredFile, str]:
    """The checked, stored file and the stored name of its preview ("" when it has none)."""
    stored = uploads.store_upload(*upload)
    preview = ""
    if stored.content_type == "application/pdf":
        png = previews.pdf_first_page_png(upload[1])
        if png is not None:
            try:
                preview = uploads.store_upload("preview.png", png).stored_name
            except uploads.UploadRefused:       # an installation that allows no PNG keeps no preview
                preview = ""
    return stored, preview


def _fill(version: ResourceVersion, clean: _Clean, data: ResourceInput) -> None:
    version.title, version.kind, version.licence = clean.title, clean.kind, clean.licence
    version.description, version.description_html = clean.description, render_markdown(clean.description)
    version.tags, version.url, version.may_share = clean.tags, clean.url, bool(data.may_share)


def _set_file(version: ResourceVersion, stored: uploads.StoredFile | None, preview: str) -> None:
    version.file_stored_name = stored.stored_name if stored else ""
    version.file_original_name = stored.original_name if stored else ""
    version.file_content_type = stored.content_type if stored else ""
    version.file_size = stored.size if stored else 0
    version.preview_stored_name = preview


def _copy_file(version: ResourceVersion, source: ResourceVersion) -> None:
    version.file_stored_name, version.file_original_name = source.file_stored_name, source.file_original_name
    version.file_content_type, version.file_size = source.file_content_type, source.file_size
    version.preview_stored_name = source.preview_stored_name


def _reviewers(session: Session, program: Program, cohort_id: int | None) -> list[int]:
    """Who is told a resource waits: the cohort's named facilitators, else the program's leads."""
    ids: list[int] = []
    if cohort_id is not None:
        ids = list(session.scalars(select(CohortFacilitator.membership_id).join(Membership)
                                   .where(CohortFacilitator.cohort_id == cohort_id, Membership.active.is_(True))))
    if not ids:
        named = (program.settings or {}).get("leads")
        query = select(Membership.id).where(Membership.course_id == program.course_id, Membership.active.is_(True),
                                            Membership.role == CourseRole.facilitator)
        if named:
            query = query.where(Membership.id.in_(named))
        ids = list(session.scalars(query))
    return ids


def _submitted(session: Session, access: Access, resource: Resource, version: ResourceVersion,
               now: dt.datetime) -> None:
    version.status, version.submitted_at = VersionStatus.submitted, now
    session.flush()
    who = access.user.display_name
    text = (f"{who} submitted “{version.title}” for the library: it waits for approval."
            if resource.approved_version_id is None else
            f"{who} changed “{version.title}”: the change waits for approval (the approved version stays shown).")
    notices.notify(session, [r for r in _reviewers(session, access.program, resource.cohort_id) if r != access.id],
                   key=f"library:waiting:{version.id}", kind="library", text=text,
                   url=f"/c/{access.course_id}/library/review", now=now)


def save_resource(session: Session, access: Access, resource: Resource | None, data: ResourceInput, *,
                  cohort_id: int | None = None, submit: bool = False, now: dt.datetime | None = None) -> Resource:
    """A new resource (``resource`` None, in ``cohort_id``) or a change to one, saved as a draft or submitted
    for approval. A draft is changed in place; any other state gets a new version (the earlier ones are kept):
    an approved resource stays shown as approved until the change is approved in turn."""
    now = now or utcnow()
    if access.program is None:
        raise NotFound("This course has no Communities of Practice program yet.")
    if resource is None:
        if cohort_id is not None:
            cohort = session.scalar(select(Cohort).where(Cohort.id == cohort_id,
                                                         Cohort.program_id == access.program.id))
            if cohort is None:
                raise InvalidInput("Choose one of your cohorts.", "cohort_id")
        if not permissions.may_contribute(access, cohort_id):
            raise InvalidInput("Choose one of your cohorts: you can add resources to the cohorts you are in.",
                               "cohort_id")
        base = None
    else:
        permissions.require_editor(access, resource)
        base = resource.pending_version or resource.approved_version
    editing_draft = base is not None and base is resource.pending_version and base.status is VersionStatus.draft
    keeps_file = base is not None and bool(base.file_stored_name) and not data.remove_file
    clean = _validate(data, data.upload is not None or keeps_file)
    stored, preview = _store(data.upload) if data.upload is not None else (None, "")   # last: nothing refused after
    if resource is None:
        resource = Resource(program_id=access.program.id, cohort_id=cohort_id, author_id=access.id,
                            visibility=Visibility.cohort)
        session.add(resource)
        session.flush()
    if editing_draft:
        version = base
        old_files = [version.file_stored_name, version.preview_stored_name] if (stored or data.remove_file) else []
    else:
        number = (session.scalar(select(func.max(ResourceVersion.number))
                                 .where(ResourceVersion.resource_id == resource.id)) or 0) + 1
        version = ResourceVersion(resource_id=resource.id, number=number, created_by_id=access.id, created_at=now)
        if keeps_file:
            _copy_file(version, base)
        old_files = []
        if resource.pending_version is not None:
            resource.pending_version.status = VersionStatus.withdrawn
    _fill(version, clean, data)
    if stored is not None:
        _set_file(version, stored, preview)
    elif data.remove_file:
        _set_file(version, None, "")
    if version.id is None:
        resource.versions.append(version)
        session.flush()
    resource.pending_version = version
    resource.pending_version_id = version.id
    if submit:
        _submitted(session, access, resource, version, now)
    session.flush()
    for name in old_files:       # a draft's replaced file: no other version has it (a new version copies names)
        if name and not _shared_file(session, name, version.id):
            uploads.remove_after_commit(session, name)
    return resource


def _shared_file(session: Session, stored_name: str, except_version: int) -> bool:
    return session.scalar(select(func.count()).select_from(ResourceVersion).where(
        ResourceVersion.id != except_version,
        (ResourceVersion.file_stored_name == stored_name) | (ResourceVersion.preview_stored_name == stored_name))) > 0


def submit(session: Session, access: Access, resource: Resource, now: dt.datetime | None = None) -> ResourceVersion:
    """Send a draft (or a returned version, unchanged) for approval."""
    permissions.require_editor(access, resource)
    version = resource.pending_version
    if version is None or version.status not in (VersionStatus.draft, VersionStatus.returned):
        raise InvalidInput("There is no draft to submit: edit the resource first.")
    if version.status is VersionStatus.returned:
        raise InvalidInput("Change the resource as the note asks, then submit it again (edit it).")
    _submitted(session, access, resource, version, now or utcnow())
    return version


def _publish(session: Session, resource: Resource, version: ResourceVersion) -> None:
    """The resource row repeats what the library searches: the approved version's facts and tags."""
    resource.title, resource.kind, resource.licence = version.title, version.kind, version.licence
    resource.search_text = " ".join([version.title, version.description, " ".join(version.tags)]).casefold()
    resource.tags = [ResourceTag(tag=t[:MAX_TAG_LENGTH]) for t in dict.fromkeys(version.tags)]


def approve(session: Session, access: Access, resource: Resource, now: dt.datetime | None = None) -> ResourceVersion:
    """Approve the version waiting: the library shows it from now on (the version it replaces is kept)."""
    permissions.require_reviewer(access, resource)
    version = resource.pending_version
    if version is None or version.status is not VersionStatus.submitted:
        raise InvalidInput("Nothing of this resource waits for approval.")
    now = now or utcnow()
    if resource.approved_version is not None:
        resource.approved_version.status = VersionStatus.superseded
    version.status, version.reviewed_by_id, version.reviewed_at = VersionStatus.approved, access.id, now
    resource.approved_version, resource.approved_version_id = version, version.id
    resource.pending_version, resource.pending_version_id = None, None
    resource.approved_at = now
    _publish(session, resource, version)
    session.flush()
    if resource.author_id is not None:
        if resource.author_id != access.id:
            notices.notify(session, [resource.author_id], key=f"library:approved:{version.id}", kind="library",
                           text=f"“{version.title}” was approved: it is in the library.",
                           url=f"/c/{access.course_id}/library/r/{resource.id}", now=now)
        events.progress_changed.send(session, program_id=resource.program_id, membership_ids=[resource.author_id])
    return version


def return_resource(session: Session, access: Access, resource: Resource, note: str,
                    now: dt.datetime | None = None) -> ResourceVersion:
    """Send the waiting version back to its author with a note of what to change."""
    permissions.require_reviewer(access, resource)
    version = resource.pending_version
    if version is None or version.status is not VersionStatus.submitted:
        raise InvalidInput("Nothing of this resource waits for approval.")
    note = (note or "").strip()
    if not note:
        raise InvalidInput("Say what the author should change: the note is sent with the resource.", "note")
    if len(note) > MAX_NOTE:
        raise InvalidInput(f"A note is at most {MAX_NOTE:,} characters.", "note")
    now = now or utcnow()
    version.status, version.reviewed_by_id, version.reviewed_at, version.review_note = (
        VersionStatus.returned, access.id, now, note)
    session.flush()
    if resource.author_id is not None and resource.author_id != access.id:
        notices.notify(session, [resource.author_id], key=f"library:returned:{version.id}", kind="library",
                       text=f"“{version.title}” was returned with a note: change it and submit it again.",
                       url=f"/c/{access.course_id}/library/r/{resource.id}", now=now)
    return version


def set_visibility(session: Session, access: Access, resource: Resource, visibility: str) -> Resource:
    """Keep a resource to its cohort, or publish it to the whole program (its cohort's managers)."""
    permissions.require_reviewer(access, resource)
    try:
        value = Visibility(visibility)
    except ValueError:
        raise InvalidInput("Choose who sees the resource.", "visibility") from None
    if value is Visibility.program and resource.approved_version_id is None:
        raise InvalidInput("Approve the resource before publishing it to the whole program.")
    if value is Visibility.cohort and resource.cohort_id is None:
        raise InvalidInput("This resource belongs to no cohort, so it is for the whole program.")
    resource.visibility = value
    session.flush()
    return resource


# ---- final products --------------------------------------------------------------------------------------------

def save_product(session: Session, access: Access, cohort: Cohort, *, title: str, introduction: str,
                 resource_ids: list[int]) -> Collection:
    """A cohort's final product: its title, introduction and chosen resources, in the order given (its members
    and managers). Only approved resources of the cohort, or of the whole program, can be chosen."""
    access.require_in_program(cohort.program_id, "cohort")
    if not permissions.may_curate(access, cohort.id):
        raise NotFound("There is no such cohort in this program.")
    title = (title or "").strip()
    if not title:
        raise InvalidInput("Give the final product a title.", "title")
    if len(title) > MAX_TITLE:
        raise InvalidInput(f"A title is at most {MAX_TITLE} characters.", "title")
    if len(introduction or "") > MAX_DESCRIPTION:
        raise InvalidInput(f"The introduction is at most {MAX_DESCRIPTION:,} characters.", "introduction")
    ids = list(dict.fromkeys(int(i) for i in resource_ids))
    if len(ids) > MAX_ITEMS:
        raise InvalidInput(f"A final product holds at most {MAX_ITEMS} resources.", "resource_ids")
    allowed = set(session.scalars(select(Resource.id).where(
        Resource.id.in_(ids or [-1]), Resource.program_id == cohort.program_id,
        Resource.approved_version_id.is_not(None),
        (Resource.cohort_id == cohort.id) | (Resource.visibility == Visibility.program))))
    if set(ids) - allowed:
        raise InvalidInput("Choose approved resources of your cohort or of the whole program.", "resource_ids")
    collection = session.scalar(select(Collection).where(Collection.program_id == cohort.program_id,
                                                         Collection.cohort_id == cohort.id))
    if collection is None:
        collection = Collection(program_id=cohort.program_id, cohort_id=cohort.id, title=title)
        session.add(collection)
    before = {item.resource_id for item in collection.items}
    collection.title = title
    collection.introduction, collection.introduction_html = introduction or "", render_markdown(introduction or "")
    collection.items = [CollectionItem(resource_id=rid, position=n) for n, rid in enumerate(ids, start=1)]
    session.flush()
    changed = before ^ set(ids)
    if changed:
        # The authors whose resources went in or out: the completion rule's "final product" criterion.
        authors = session.scalars(select(Resource.author_id).where(Resource.id.in_(changed),
                                                                   Resource.author_id.is_not(None))).all()
        events.progress_changed.send(session, program_id=cohort.program_id, membership_ids=sorted(set(authors)))
    return collection


def share_products(session: Session, access: Access, shared: bool) -> int:
    """After the showcase: share every final product of the program with the whole program (or stop)."""
    access.require_lead("share the final products with the whole program")
    collections = list(session.scalars(select(Collection).where(Collection.program_id == access.program.id)))
    for collection in collections:
        collection.shared = bool(shared)
    session.flush()
    return len(collections)


# ---- next year's program ----------------------------------------------------------------------------------------

@dataclass
class CarryOver:
    resources: int
    products: int
    skipped: int        # already brought before


def _year_of(program: Program) -> str:
    if program.year_label:
        return program.year_label[:80]
    return str(program.starts_on.year) if program.starts_on else program.title[:80]


def carry_over(session: Session, access: Access, source_program_id: int) -> CarryOver:
    """Bring the approved resources and the final products of an earlier program the same person leads into this
    one: copies (files too) that say where they came from in plain text, so they stay whole when the old course
    is deleted. Resources come for the whole program, final products shared; bringing them twice brings
    nothing new."""
    access.require_lead("bring resources from another year")
    source = next((p for p, _m in copy_targets(session, access) if p.id == source_program_id), None)
    if source is None or source.id == access.program.id:
        raise NotFound("You do not lead that program, so its resources cannot be brought here.")
    target = access.program
    year = _year_of(source)
    taken = set(session.scalars(select(Resource.origin_key).where(Resource.program_id == target.id,
                                                                  Resource.origin_key.is_not(None))))
    taken_products = set(session.scalars(select(Collection.origin_key).where(Collection.program_id == target.id,
                                                                             Collection.origin_key.is_not(None))))
    resources = list(session.scalars(
        select(Resource).where(Resource.program_id == source.id, Resource.approved_version_id.is_not(None))
        .order_by(Resource.id)))
    cohorts = {c.id: c.name for c in session.scalars(select(Cohort).where(Cohort.program_id == source.id))}
    authors = {m.id: m.user.display_name for m in session.scalars(
        select(Membership).where(Membership.id.in_([r.author_id for r in resources if r.author_id] or [-1])))}
    copies: dict[int, Resource] = {}
    existing = {key: rid for key, rid in session.execute(
        select(Resource.origin_key, Resource.id).where(Resource.program_id == target.id,
                                                       Resource.origin_key.is_not(None)))}
    skipped = 0
    now = utcnow()
    for resource in resources:
        key = resource.origin_key or f"resource:{source.id}:{resource.id}"
        if key in taken:
            skipped += 1
            continue
        approved = resource.approved_version
        copy = Resource(program_id=target.id, cohort_id=None, author_id=None, visibility=Visibility.program,
                        approved_at=now, origin_key=key,
                        origin_author=resource.origin_author or authors.get(resource.author_id, ""),
                        origin_cohort=resource.origin_cohort or cohorts.get(resource.cohort_id, ""),
                        origin_year=resource.origin_year or year)
        session.add(copy)
        session.flush()
        version = ResourceVersion(resource_id=copy.id, number=1, status=VersionStatus.approved, title=approved.title,
                                  kind=approved.kind, description=approved.description,
                                  description_html=approved.description_html, tags=list(approved.tags),
                                  url=approved.url, licence=approved.licence, may_share=approved.may_share,
                                  created_by_id=access.id, created_at=now, reviewed_by_id=access.id, reviewed_at=now,
                                  review_note=f"Brought from {year}.")
        if approved.file_stored_name:
            version.file_stored_name = uploads.copy_upload(approved.file_stored_name)
            if version.file_stored_name:
                version.file_original_name = approved.file_original_name
                version.file_content_type, version.file_size = approved.file_content_type, approved.file_size
                version.preview_stored_name = uploads.copy_upload(approved.preview_stored_name)
        session.add(version)
        session.flush()
        copy.approved_version, copy.approved_version_id = version, version.id
        _publish(session, copy, version)
        copies[resource.id] = copy
        taken.add(key)
    products = 0
    for collection in session.scalars(select(Collection).where(Collection.program_id == source.id)
                                      .order_by(Collection.id)):
        key = collection.origin_key or f"product:{source.id}:{collection.id}"
        if key in taken_products:
            skipped += 1
            continue
        item_ids = []
        for item in collection.items:
            old = item.resource
            mapped_id = copies[old.id].id if old.id in copies else existing.get(old.origin_key or
                                                                                f"resource:{source.id}:{old.id}")
            if mapped_id is not None:
                item_ids.append(mapped_id)
        cohort_name = collection.origin_cohort or cohorts.get(collection.cohort_id, "")
        session.add(Collection(program_id=target.id, cohort_id=None, title=collection.title,
                               introduction=collection.introduction, introduction_html=collection.introduction_html,
                               shared=True, origin_key=key, origin_cohort=cohort_name,
                               origin_year=collection.origin_year or year,
                               items=[CollectionItem(resource_id=rid, position=n)
                                      for n, rid in enumerate(dict.fromkeys(item_ids), start=1)]))
        taken_products.add(key)
        products += 1
    if not copies and not products:
        if skipped:
            raise Conflict(f"Everything approved in “{source.title}” was already brought here.")
        raise InvalidInput(f"“{source.title}” has no approved resources or final products to bring.", "program_id")
    session.flush()
    return CarryOver(len(copies), products, skipped)
