"""What changes modules: authoring (modules, items, their order, release, copies within a program and from year
to year), a participant's work (opening, marking done, reflections) and a facilitator's feedback, and the weekly
budget. Completions and the module's grade that follows them are recorded by ``modules.completion``.

Each function takes the session and the acting ``Access``, checks permission (``modules.permissions``),
validates (``InvalidInput`` naming the form field), changes models and flushes; none commits. Files of items
are removed only once the change is committed (``uploads.remove_after_commit``).
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Iterable
from urllib.parse import parse_qs, urlsplit

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lti_tool.course.access import Access
from lti_tool.course.text import render_markdown
from lti_tool.db import utcnow
from lti_tool.discussions.models import Reading, Thread
from lti_tool.errors import Conflict, InvalidInput, NotFound
from lti_tool.lti.models import Membership
from lti_tool.modules import permissions, threads, uploads
from lti_tool.modules.completion import complete_item, ensure_module_component, update_grade
from lti_tool.modules.models import (
    CompletionRule, GradeMode, ItemKind, ItemRelease, Module, ModuleCohort, ModuleItem,
    ModuleSettings, Reflection, ReflectionVisibility, ReleaseRule,
)
from lti_tool.modules.queries import (
    ItemState, copy_targets, default_shift_days, item_state, program_cohorts,
    program_modules, require_reflection_reader, say_date, weekly_budget,
)
from lti_tool.programs.models import Cohort, Program


class ItemLocked(Conflict):
    title = "This item is not open yet"


# ---- settings --------------------------------------------------------------------------------------------------

def ensure_settings(session: Session, program: Program) -> ModuleSettings:
    """The program's settings row (made with the defaults when there is none)."""
    settings = session.scalar(select(ModuleSettings).where(ModuleSettings.program_id == program.id))
    if settings is None:
        settings = ModuleSettings(program_id=program.id, weekly_budget_minutes=weekly_budget(session, program))
        session.add(settings)
        session.flush()
    return settings


def update_settings(session: Session, access: Access, weekly_budget_minutes: int) -> ModuleSettings:
    """The weekly time a participant is asked for (the lead's choice)."""
    access.require_lead("change the weekly time budget")
    if not 10 <= int(weekly_budget_minutes) <= 2400:
        raise InvalidInput("Give a weekly budget between 10 and 2400 minutes.", "weekly_budget_minutes")
    settings = ensure_settings(session, access.program)
    settings.weekly_budget_minutes = int(weekly_budget_minutes)
    session.flush()
    return settings


# ---- modules -----------------------------------------------------------------------------------------------------

def _in_program_year(program: Program, day: dt.date) -> bool:
    return (not program.starts_on or day >= program.starts_on) and (not program.ends_on or day <= program.ends_on)


def _check_date(program: Program, day: dt.date | None, what: str, field_name: str) -> None:
    if day is None:
        return
    if not _in_program_year(program, day):
        start = say_date(program.starts_on) if program.starts_on else "the start"
        end = say_date(program.ends_on) if program.ends_on else "the end"
        raise InvalidInput(f"The {what} {say_date(day)} is outside the program year ({start} – {end}).",
                           field_name)


def _check_no_loop(module: Module | None, after: Module) -> None:
    seen: list[Module] = []
    current: Module | None = after
    while current is not None:
        if module is not None and current.id == module.id:
            chain = " → ".join(f"“{m.title}”" for m in [module, *seen])
            raise InvalidInput(f"That would make a loop: {chain} → “{module.title}”. Each module can only wait "
                               "for one that does not (in the end) wait for it.", "after_module_id")
        if current in seen:
            break
        seen.append(current)
        current = current.after_module if current.after_module_id else None


def _next_position(session: Session, model, where) -> int:
    return (session.scalar(select(func.max(model.position)).where(where)) or 0) + 1


def save_module(session: Session, access: Access, module: Module | None = None, *, title: str, overview: str = "",
                cohort_ids: Iterable[int] = (), release_rule: ReleaseRule = ReleaseRule.by_hand,
                released: bool = False, after_module_id: int | None = None,
                dates: dict[int, tuple[dt.date | None, dt.date | None]] | None = None,
                grade_mode: GradeMode = GradeMode.none, score_maximum: float = 100.0) -> Module:
    """Create or change a module: its cohorts (with their dates), how it opens and whether it is graded. A
    cohort facilitator chooses only among the cohorts they facilitate."""
    program = access.program
    if module is not None:
        permissions.require_editor(access, module)
    else:
        permissions.require_author(access)
    title = (title or "").strip()
    if not title:
        raise InvalidInput("Give the module a title.", "title")
    if len(title) > 200:
        raise InvalidInput("A title can be at most 200 characters.", "title")
    chosen = {int(c) for c in cohort_ids}
    program_cohort_ids = set(session.scalars(select(Cohort.id).where(Cohort.program_id == program.id)))
    if chosen - program_cohort_ids:
        raise InvalidInput("Choose cohorts of this program.", "cohort_ids")
    if not access.lead:
        if not chosen:
            raise InvalidInput("Choose at least one of your cohorts.", "cohort_ids")
        if chosen - access.managed:
            raise InvalidInput("You can only choose cohorts you facilitate.", "cohort_ids")
    dates = dates or {}
    if release_rule is ReleaseRule.by_date:
        for cid in chosen:
            opens_on, due_on = dates.get(cid, (None, None))
            if opens_on is None:
                raise InvalidInput("Give each chosen cohort an opening date, or choose another way to open "
                                   "the module.", f"opens_on_{cid}")
    for cid in chosen:
        opens_on, due_on = dates.get(cid, (None, None))
        _check_date(program, opens_on, "opening date", f"opens_on_{cid}")
        _check_date(program, due_on, "due date", f"due_on_{cid}")
        if opens_on and due_on and due_on < opens_on:
            raise InvalidInput("The due date comes before the opening date.", f"due_on_{cid}")
    after = None
    if release_rule is ReleaseRule.after_module:
        after = session.get(Module, after_module_id) if after_module_id else None
        if after is None or after.program_id != program.id:
            raise InvalidInput("Choose the module that must be finished first.", "after_module_id")
        if module is not None and after.id == module.id:
            raise InvalidInput("A module cannot wait for itself.", "after_module_id")
        _check_no_loop(module, after)
    if grade_mode is not GradeMode.none and not 0 < float(score_maximum) <= 10000:
        raise InvalidInput("The maximum score is between 1 and 10,000.", "score_maximum")

    if module is None:
        module = Module(program_id=program.id, position=_next_position(session, Module, Module.program_id == program.id),
                        created_by_id=access.id)
        session.add(module)
    module.program = program
    module.title, module.overview, module.overview_html = title, overview or "", render_markdown(overview or "")
    module.release_rule, module.released = release_rule, bool(released)
    module.after_module = after
    module.grade_mode, module.score_maximum = grade_mode, float(score_maximum or 100)
    keep = {link.cohort_id: link for link in module.cohort_links}
    # A facilitator's edit leaves alone the cohorts of the module they do not facilitate (there are none,
    # since they may only edit modules wholly theirs), so the chosen set replaces the old one.
    module.cohort_links = [keep.get(cid) or ModuleCohort(cohort_id=cid) for cid in sorted(chosen)]
    for link in module.cohort_links:
        link.opens_on, link.due_on = dates.get(link.cohort_id, (None, None))
    session.flush()
    if module.graded:
        ensure_module_component(session, module)
    return module


def set_released(session: Session, access: Access, module: Module, released: bool) -> None:
    """Release a module that opens by hand (or withdraw the release)."""
    permissions.require_manager(access, module, "can release it")
    module.released = released
    session.flush()


def delete_module(session: Session, access: Access, module: Module) -> None:
    """Delete a module with its items; their files go once the deletion is committed."""
    permissions.require_editor(access, module)
    for item in module.items:
        uploads.remove_after_commit(session, item.file_stored_name)
    session.delete(module)
    session.flush()


def _swap(rows: list, index: int, direction: str) -> bool:
    other = index - 1 if direction == "up" else index + 1
    if not 0 <= other < len(rows):
        return False
    for position, row in enumerate(rows, start=1):
        row.position = position
    rows[index].position, rows[other].position = rows[other].position, rows[index].position
    return True


def move_module(session: Session, access: Access, module: Module, direction: str) -> bool:
    """Move a module one place up or down in the program's order (keyboard-operable buttons call this)."""
    access.require_lead("change the order of the program's modules")
    rows = list(session.scalars(select(Module).where(Module.program_id == access.program.id)
                                .order_by(Module.position, Module.id)))
    moved = _swap(rows, rows.index(module), direction)
    session.flush()
    return moved


# ---- items -------------------------------------------------------------------------------------------------------

VIDEO_HOSTS = {
    "youtube": ("youtube.com", "www.youtube.com", "m.youtube.com", "youtu.be", "www.youtube-nocookie.com",
                "youtube-nocookie.com"),
    "vimeo": ("vimeo.com", "www.vimeo.com", "player.vimeo.com"),
}
PROVIDER_NAMES = {"youtube": "YouTube", "vimeo": "Vimeo"}
_YOUTUBE_ID = re.compile(r"^[A-Za-z0-9_-]{6,20}$")
_VIMEO_ID = re.compile(r"^\d{3,12}$")


def allowed_video_providers() -> list[str]:
    """The players a video may be shown in the page with (``VIDEO_PROVIDERS``, a subset of ``VIDEO_HOSTS``)."""
    return [p.strip() for p in str(current_app.config.get("VIDEO_PROVIDERS", "youtube,vimeo")).split(",")
            if p.strip() in VIDEO_HOSTS]


def parse_video(url: str) -> tuple[str, str]:
    """(provider, id) for a YouTube or Vimeo address, else ("", "")."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    path = [p for p in parts.path.split("/") if p]
    if host in VIDEO_HOSTS["youtube"]:
        if host == "youtu.be" and path:
            vid = path[0]
        elif path[:1] == ["watch"]:
            vid = (parse_qs(parts.query).get("v") or [""])[0]
        elif len(path) >= 2 and path[0] in ("embed", "shorts", "live", "v"):
            vid = path[1]
        else:
            vid = ""
        return ("youtube", vid) if _YOUTUBE_ID.match(vid or "") else ("", "")
    if host in VIDEO_HOSTS["vimeo"]:
        vid = next((p for p in path if _VIMEO_ID.match(p)), "")
        return ("vimeo", vid) if vid else ("", "")
    return "", ""


def _check_url(url: str, field_name: str = "url") -> str:
    url = (url or "").strip()
    if not url:
        return ""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InvalidInput("Give a full web address starting with https://", field_name)
    if len(url) > 1024:
        raise InvalidInput("That address is too long (at most 1024 characters).", field_name)
    return url


_DEFAULT_RULE = {ItemKind.reflection: CompletionRule.reflection_submitted,
                 ItemKind.discussion: CompletionRule.posted_in_thread}


def save_item(session: Session, access: Access, module: Module, item: ModuleItem | None = None, *, kind: ItemKind,
              title: str, body: str = "", url: str = "", embed: bool = False, minutes: int = 10,
              required: bool = True, completion_rule: CompletionRule | None = None,
              release: ItemRelease = ItemRelease.with_module,
              reflection_visibility: ReflectionVisibility = ReflectionVisibility.private_to_facilitators,
              reading_id: int | None = None, thread_id: int | None = None, linked_title: str = "",
              upload: tuple[str, bytes] | None = None, remove_file: bool = False) -> ModuleItem:
    """Create or change an item. Nothing is changed (and no file is kept) when anything is refused; a file
    the item no longer uses is removed once the change is committed."""
    permissions.require_editor(access, module)
    if item is not None and item.module_id != module.id:
        raise NotFound("There is no such item in this module.")
    if item is not None:
        kind = item.kind   # an item keeps its kind
    title = (title or "").strip()
    if not title:
        raise InvalidInput("Give the item a title.", "title")
    if len(title) > 200:
        raise InvalidInput("A title can be at most 200 characters.", "title")
    if not 0 <= int(minutes) <= 600:
        raise InvalidInput("The time estimate is between 0 and 600 minutes.", "minutes")
    url = _check_url(url)
    provider, video_id = "", ""
    if kind is ItemKind.video:
        if not url:
            raise InvalidInput("Give the video's web address.", "url")
        if embed:
            provider, video_id = parse_video(url)
            if provider not in allowed_video_providers():
                names = " or ".join(PROVIDER_NAMES[p] for p in allowed_video_providers())
                raise InvalidInput(f"Only {names} videos can be shown in the page. Give a {names} address, or "
                                   "untick “Show the video in the page” to link to it instead.", "url")
    if kind is ItemKind.reading and not url and not reading_id:
        raise InvalidInput("Give the reading's web address, or choose a reading of the book study.", "url")
    if reading_id:
        reading = session.get(Reading, reading_id)
        if reading is None or reading.book.program_id != module.program_id or \
                kind not in (ItemKind.reading, ItemKind.discussion):
            raise InvalidInput("Choose a reading of this program's book study.", "reading_id")
    if thread_id:
        thread = session.get(Thread, thread_id)
        if thread is None or thread.cohort.program_id != module.program_id or kind is not ItemKind.discussion:
            raise InvalidInput("Choose a thread of this program's book study.", "thread_id")
        if reading_id:
            raise InvalidInput("Choose either a reading's threads or one thread, not both.", "thread_id")
    if kind is ItemKind.reflection and not (body or "").strip():
        raise InvalidInput("Write the reflection prompt.", "body")
    rule = completion_rule or _DEFAULT_RULE.get(kind, CompletionRule.viewed)
    if rule is CompletionRule.reflection_submitted and kind is not ItemKind.reflection:
        raise InvalidInput("“Reflection submitted” fits only reflection items.", "completion_rule")
    if rule is CompletionRule.posted_in_thread and kind is not ItemKind.discussion:
        raise InvalidInput("“Posted in the thread” fits only discussion items.", "completion_rule")
    if rule is CompletionRule.posted_in_thread and url and not (reading_id or thread_id):
        raise InvalidInput("A discussion held elsewhere cannot be checked for posts: choose “Done when opened” "
                           "or “Done when marked done”, or leave the web address empty to discuss it in the "
                           "book study.", "completion_rule")
    has_file = bool(item and item.file_stored_name and not remove_file)
    if kind is ItemKind.resource and not url and not upload and not has_file:
        raise InvalidInput("Upload a file or give a web address for this resource.", "upload")

    stored = None
    if upload is not None:
        if kind is not ItemKind.resource:
            raise InvalidInput("Only resource items take a file.", "upload")
        stored = uploads.store_upload(*upload)     # refused uploads raise before anything changes
    new = item is None
    if item is None:
        item = ModuleItem(kind=kind, position=_next_position(session, ModuleItem, ModuleItem.module_id == module.id))
    old_file = item.file_stored_name if (stored or remove_file) else ""
    item.title, item.body, item.body_html = title, body or "", render_markdown(body or "")
    item.url, item.video_provider, item.video_id = url, provider, video_id
    item.minutes, item.required, item.completion_rule, item.release = int(minutes), bool(required), rule, release
    item.reflection_visibility = reflection_visibility
    item.reading_id, item.thread_id, item.linked_title = reading_id, thread_id, (linked_title or "")[:300]
    if stored is not None:
        item.file_stored_name, item.file_original_name = stored.stored_name, stored.original_name
        item.file_content_type, item.file_size = stored.content_type, stored.size
    elif remove_file:
        item.file_stored_name = item.file_original_name = item.file_content_type = ""
        item.file_size = 0
    if new:
        with session.no_autoflush:
            module.items.append(item)
    session.flush()
    uploads.remove_after_commit(session, old_file)
    return item


def move_item(session: Session, access: Access, item: ModuleItem, direction: str) -> bool:
    """Move an item one place up or down in its module."""
    module = item.module
    permissions.require_editor(access, module)
    rows = sorted(module.items, key=lambda i: (i.position, i.id))
    moved = _swap(rows, rows.index(item), direction)
    session.flush()
    session.expire(module, ["items"])
    return moved


def delete_item(session: Session, access: Access, item: ModuleItem) -> None:
    """Delete an item; its file goes once the deletion is committed."""
    permissions.require_editor(access, item.module)
    uploads.remove_after_commit(session, item.file_stored_name)
    item.module.items.remove(item)
    session.delete(item)
    session.flush()


# ---- copies ------------------------------------------------------------------------------------------------------

def _clone(session: Session, module: Module, program: Program, *, title: str, cohort_links: list[ModuleCohort],
           creator: Membership, keep_after: bool = True) -> Module:
    copy = Module(program_id=program.id, title=title[:200], overview=module.overview,
                  overview_html=module.overview_html,
                  position=_next_position(session, Module, Module.program_id == program.id),
                  release_rule=module.release_rule, released=False,
                  after_module_id=module.after_module_id if keep_after else None,
                  grade_mode=module.grade_mode, score_maximum=module.score_maximum, created_by_id=creator.id)
    copy.cohort_links = cohort_links
    same_program = program.id == module.program_id
    for item in module.items:
        stored = uploads.copy_upload(item.file_stored_name)
        # Another program has its own book study: the same book's reading if it has one; no chosen thread.
        reading_id = item.reading_id if same_program else threads.copied_reading_id(session, item, program.id)
        thread_id = item.thread_id if same_program else None
        copy.items.append(ModuleItem(
            position=item.position, kind=item.kind, title=item.title, body=item.body, body_html=item.body_html,
            url=item.url, video_provider=item.video_provider, video_id=item.video_id, minutes=item.minutes,
            required=item.required, completion_rule=item.completion_rule, release=item.release,
            reflection_visibility=item.reflection_visibility, reading_id=reading_id, thread_id=thread_id,
            linked_title=item.linked_title, file_stored_name=stored,
            file_original_name=item.file_original_name if stored else "",
            file_content_type=item.file_content_type if stored else "", file_size=item.file_size if stored else 0))
    session.add(copy)
    session.flush()
    return copy


def duplicate_module(session: Session, access: Access, module: Module) -> Module:
    """A copy for the same cohorts, not released, titled "Copy of …"."""
    permissions.require_editor(access, module)
    links = [ModuleCohort(cohort_id=link.cohort_id, opens_on=link.opens_on, due_on=link.due_on)
             for link in module.cohort_links]
    return _clone(session, module, access.program, title=f"Copy of {module.title}", cohort_links=links,
                  creator=access.membership)


def copy_module_to_cohort(session: Session, access: Access, module: Module, cohort_id: int) -> Module:
    """A copy of a module for one other cohort (one the facilitator facilitates, or any for a lead)."""
    permissions.require_manager(access, module, "can copy it")
    cohort = session.get(Cohort, cohort_id)
    if cohort is None or cohort.program_id != access.program.id:
        raise InvalidInput("Choose a cohort of this program.", "cohort_id")
    if not access.manages(cohort):
        raise InvalidInput("You can only copy a module to a cohort you facilitate.", "cohort_id")
    first = module.cohort_links[0] if module.cohort_links else None
    link = ModuleCohort(cohort_id=cohort.id, opens_on=first.opens_on if first else None,
                        due_on=first.due_on if first else None)
    return _clone(session, module, access.program, title=f"{module.title} ({cohort.name})", cohort_links=[link],
                  creator=access.membership)


@dataclass
class ProgramCopy:
    source: Program
    target: Program
    modules: list[Module]
    shift_days: int
    with_cohorts: int      # copies given to a cohort of the same name


def copy_program_modules(session: Session, access: Access, target_program_id: int, *, shift_days: int | None = None,
                         match_cohorts: bool = True) -> ProgramCopy:
    """Copy every module of this program into another program the same person leads (next year's course)."""
    access.require_lead("copy the program's modules")
    found = next(((p, m) for p, m in copy_targets(session, access) if p.id == target_program_id), None)
    if found is None:
        raise NotFound("You do not lead that program, so modules cannot be copied there.")
    target, target_lead = found
    return _copy_program(session, access.program, target, target_lead, shift_days, match_cohorts)


def import_program_modules(session: Session, access: Access, source_program_id: int, *,
                           shift_days: int | None = None, match_cohorts: bool = True) -> ProgramCopy:
    """Bring every module of an earlier program the same person leads (last year's course) into this one."""
    access.require_lead("bring modules into the program")
    source = next((p for p, _m in copy_targets(session, access) if p.id == source_program_id), None)
    if source is None:
        raise NotFound("You do not lead that program, so its modules cannot be brought here.")
    return _copy_program(session, source, access.program, access.membership, shift_days, match_cohorts)


def _copy_program(session: Session, source: Program, target: Program, creator: Membership, shift_days: int | None,
                  match_cohorts: bool) -> ProgramCopy:
    """Copies of every module of ``source`` in ``target``, in order, with their items, files, grading and
    "after module" chains. With ``match_cohorts`` a copy is for the target's cohorts of the same names, its
    dates moved by ``shift_days`` (default: the distance between the programs' start dates); a date that
    lands outside the target's year is left for the lead to set, and a module by date with no date left
    opens by hand. Copying the same modules twice is refused."""
    if shift_days is None:
        shift_days = default_shift_days(source, target)
    if not -3660 <= shift_days <= 3660:
        raise InvalidInput("Move the dates by at most ten years (3,660 days).", "shift_days")
    modules = program_modules(session, source)
    if not modules:
        raise InvalidInput(f"“{source.title}” has no modules to copy.", "program_id")
    present = set(session.scalars(select(Module.title).where(Module.program_id == target.id)))
    if all(m.title in present for m in modules):
        raise Conflict(f"“{target.title}” already has these modules (same titles), so nothing was copied again.")
    source_names = {c.id: c.name.casefold() for c in program_cohorts(session, source)}
    target_cohorts = {c.name.casefold(): c for c in program_cohorts(session, target)} if match_cohorts else {}

    def moved(day: dt.date | None) -> dt.date | None:
        if day is None:
            return None
        day = day + dt.timedelta(days=shift_days)
        return day if _in_program_year(target, day) else None

    copies: dict[int, Module] = {}
    with_cohorts = 0
    for module in modules:
        links: list[ModuleCohort] = []
        for link in module.cohort_links:
            cohort = target_cohorts.get(source_names.get(link.cohort_id, ""))
            if cohort is None or any(existing.cohort_id == cohort.id for existing in links):
                continue
            opens, due = moved(link.opens_on), moved(link.due_on)
            if opens and due and due < opens:
                due = None
            links.append(ModuleCohort(cohort_id=cohort.id, opens_on=opens, due_on=due))
        rule = module.release_rule
        if rule is ReleaseRule.by_date and not any(link.opens_on for link in links):
            rule = ReleaseRule.by_hand
        copy = _clone(session, module, target, title=module.title, cohort_links=links, creator=creator,
                      keep_after=False)
        copy.release_rule = rule
        copies[module.id] = copy
        with_cohorts += bool(links)
    for module in modules:
        if module.after_module_id in copies:
            copies[module.id].after_module_id = copies[module.after_module_id].id
    if session.scalar(select(ModuleSettings.id).where(ModuleSettings.program_id == target.id)) is None:
        session.add(ModuleSettings(program_id=target.id, weekly_budget_minutes=weekly_budget(session, source)))
    session.flush()
    return ProgramCopy(source, target, list(copies.values()), shift_days, with_cohorts)


# ---- a participant's work ----------------------------------------------------------------------------------------

def _require_open(session: Session, access: Access, item: ModuleItem, now: dt.datetime | None) -> ItemState:
    permissions.require_taker(access, item.module)
    state = item_state(session, access, item, now)
    if not state.open:
        raise ItemLocked(f"“{item.title}” is locked, so nothing was saved. {state.reason}")
    return state


def open_item(session: Session, access: Access, item: ModuleItem, now: dt.datetime | None = None) -> ItemState:
    """Someone opens an item. For a participant who takes the module it is refused while locked, and an item
    done "when opened" is done now; anyone else who sees it (its facilitators) just reads it."""
    if not permissions.takes(access, item.module):
        return ItemState(item, open=True)
    state = _require_open(session, access, item, now)
    if item.completion_rule is CompletionRule.viewed and not state.done:
        complete_item(session, item, access.membership, CompletionRule.viewed.value, now)
        state.done = True
    elif item.completion_rule is CompletionRule.posted_in_thread and not state.done \
            and threads.posted_in_thread(session, access, item):   # they posted while the item was still locked
        complete_item(session, item, access.membership, CompletionRule.posted_in_thread.value, now)
        state.done = True
    return state


def mark_done(session: Session, access: Access, item: ModuleItem, now: dt.datetime | None = None) -> ItemState:
    """A participant marks an open item done (a discussion item: once they have posted in its thread)."""
    state = _require_open(session, access, item, now)
    if item.completion_rule is CompletionRule.posted_in_thread:
        if not threads.posted_in_thread(session, access, item):
            raise Conflict("Post in the thread first; this item is done once you have posted there.")
    elif item.completion_rule is not CompletionRule.marked_done:
        raise Conflict(f"“{item.title}” is not done by marking it: {item.completion_rule.label.lower()}.")
    complete_item(session, item, access.membership, item.completion_rule.value, now)
    state.done = True
    return state


def submit_reflection(session: Session, access: Access, item: ModuleItem, body: str,
                      now: dt.datetime | None = None) -> Reflection:
    """A participant's response to a reflection prompt (editable until a facilitator has given feedback)."""
    if item.kind is not ItemKind.reflection:
        raise InvalidInput("This item does not ask for a reflection.")
    _require_open(session, access, item, now)
    body = (body or "").strip()
    if len(body) < 2:
        raise InvalidInput("Write your reflection before submitting it.", "body")
    if len(body) > 20000:
        raise InvalidInput("A reflection can be at most 20,000 characters.", "body")
    reflection = session.scalar(select(Reflection).where(Reflection.item_id == item.id,
                                                         Reflection.membership_id == access.id))
    if reflection is not None and reflection.feedback_at is not None:
        raise Conflict("Your facilitator has already answered this reflection, so it can no longer be changed.")
    if reflection is None:
        reflection = Reflection(item_id=item.id, membership_id=access.id, body=body, submitted_at=now or utcnow())
        session.add(reflection)
    reflection.body, reflection.body_html = body, render_markdown(body)
    reflection.submitted_at = now or utcnow()
    session.flush()
    if item.reflection_visibility is ReflectionVisibility.shared_to_cohort_thread:
        threads.share_reflection(session, access, item, reflection, now)
    if item.completion_rule is CompletionRule.reflection_submitted:
        complete_item(session, item, access.membership, CompletionRule.reflection_submitted.value, now)
    return reflection


def give_feedback(session: Session, access: Access, reflection: Reflection, feedback: str, mark: float | None,
                  now: dt.datetime | None = None) -> Reflection:
    """A facilitator's answer (and mark) to a reflection of someone in a cohort they manage; the module's
    grade follows."""
    module = reflection.item.module
    require_reflection_reader(session, access, reflection)
    feedback = (feedback or "").strip()
    if not feedback and mark is None:
        raise InvalidInput("Write some feedback or give a mark.", "feedback")
    if mark is not None and not 0 <= mark <= module.score_maximum:
        raise InvalidInput(f"A mark is between 0 and {module.score_maximum:g}.", "mark")
    reflection.feedback, reflection.mark = feedback[:10000], mark
    reflection.feedback_by_id, reflection.feedback_at = access.id, now or utcnow()
    session.flush()
    update_grade(session, module, reflection.membership)
    return reflection
