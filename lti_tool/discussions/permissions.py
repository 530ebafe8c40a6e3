"""Who may do what in a cohort's book study, on top of the course's ``Access`` (lti_tool.course.access).

A person's **level** in a cohort's discussions:

- ``manage``: ``access.manages(cohort)`` (a program lead, or whoever is named the cohort's facilitator, whatever
  their LMS role): they moderate, see every post and who wrote it, and see the participation grid;
- ``member``: an active seat in the cohort: they post, and see the others' posts once the thread's post-first
  rule lets them;
- ``observer``: an LMS observer, when the program lets observers read: they read everything and post nothing.

Anyone else gets 404: a cohort's discussions do not exist outside it. Every read of posts goes through
``visible_posts``: post-first, hidden posts and the cohort boundary are decided there, once.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
from dataclasses import dataclass
from typing import Iterable

from flask import current_app, has_app_context
from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import Session, aliased

from lti_tool.course.access import Access, access_for, is_lead
from lti_tool.db import utcnow
from lti_tool.discussions.models import (
    Book, CohortDiscussionSettings, Post, PostFirst, ProgramDiscussionSettings, Thread,
)
from lti_tool.errors import Conflict, Forbidden, NotFound
from lti_tool.lti.models import Membership
from lti_tool.programs.models import Cohort, CohortFacilitator, Program

_AVATAR_URL = re.compile(r"https://[^\s\"'<>`]{1,1000}")


# -- settings that decide who may do what -------------------------------------------------------------------

def program_settings(session: Session, program: Program) -> ProgramDiscussionSettings:
    """The program's discussion settings (observers may read, email on), or the defaults (both off)."""
    found = session.scalar(select(ProgramDiscussionSettings).where(ProgramDiscussionSettings.program_id == program.id))
    return found or ProgramDiscussionSettings(program_id=program.id, observers_may_read=False, email_enabled=False)


def cohort_settings(session: Session, cohort: Cohort) -> CohortDiscussionSettings:
    """Who may start general threads in the cohort (default: its facilitators)."""
    found = session.scalar(select(CohortDiscussionSettings).where(CohortDiscussionSettings.cohort_id == cohort.id))
    return found or CohortDiscussionSettings(cohort_id=cohort.id, general_threads_by="facilitators")


# -- the viewer of a cohort's discussions --------------------------------------------------------------------

@dataclass(frozen=True)
class Viewer:
    """A course member looking at one cohort's discussions, with what they may do there."""

    access: Access
    cohort: Cohort
    level: str                    # "manage", "member" or "observer" (see the module's docstring)
    facilitators: frozenset[int]  # the cohort's named facilitators: never pseudonyms, always mentionable

    @property
    def membership(self) -> Membership:
        return self.access.membership

    @property
    def id(self) -> int:
        return self.access.id

    @property
    def manages(self) -> bool:
        return self.level == "manage"

    @property
    def is_member(self) -> bool:
        return self.level == "member"

    @property
    def sees_everything(self) -> bool:
        # Observers cannot post, so a post-first gate would hide everything from them for good.
        return self.level in ("manage", "observer")

    @property
    def may_post(self) -> bool:
        return self.level in ("manage", "member")

    def runs_cohort(self, membership: Membership) -> bool:
        """Whether ``membership`` manages this cohort (a named facilitator or a lead): peers see their name."""
        return membership.id in self.facilitators or is_lead(self.cohort.program, membership)


def level_in(session: Session, access: Access, cohort: Cohort) -> str | None:
    """``access``'s level in ``cohort``'s discussions, or None: they do not exist for them."""
    if access.program is None or cohort.program_id != access.program.id or not access.membership.active:
        return None
    if access.manages(cohort):
        return "manage"
    if access.sits_in(cohort):
        return "member"
    if access.is_observer and program_settings(session, access.program).observers_may_read:
        return "observer"
    return None


def _viewer(session: Session, access: Access, cohort: Cohort, level: str) -> Viewer:
    facilitators = frozenset(session.scalars(select(CohortFacilitator.membership_id)
                                             .where(CohortFacilitator.cohort_id == cohort.id)))
    return Viewer(access, cohort, level, facilitators)


def viewer_in(session: Session, access: Access, cohort: Cohort) -> Viewer:
    """The viewer of ``cohort``'s discussions, or 404."""
    level = level_in(session, access, cohort)
    if level is None:
        raise NotFound("There is no such discussion here.")
    return _viewer(session, access, cohort, level)


def viewer_or_none(session: Session, access: Access, cohort: Cohort, *, otherwise: str | None = None) -> Viewer | None:
    """The viewer, or None when the discussions do not exist for them (with ``otherwise``, a viewer of that
    level instead: e.g. the names an email shows someone who has left the cohort since)."""
    level = level_in(session, access, cohort) or otherwise
    return _viewer(session, access, cohort, level) if level is not None else None


def cohort_viewer(session: Session, access: Access, cohort_id: int) -> Viewer:
    """The viewer of the cohort ``cohort_id`` of ``access``'s program (404 for any other id)."""
    cohort = None
    if access.program is not None:
        cohort = session.scalar(select(Cohort).where(Cohort.id == cohort_id, Cohort.program_id == access.program.id))
    if cohort is None:
        raise NotFound("There is no such discussion here.")
    return viewer_in(session, access, cohort)


def viewer_for(session: Session, membership: Membership, cohort: Cohort) -> Viewer:
    """The viewer of ``membership`` in ``cohort``'s discussions, or 404 (for jobs and other features, which
    have a membership; pages have an Access and use ``viewer_in``)."""
    if membership.course_id != cohort.program.course_id:
        raise NotFound("There is no such discussion here.")
    return viewer_in(session, access_for(session, membership, cohort.program), cohort)


def require_manager(viewer: Viewer, what: str = "do this") -> None:
    if not viewer.manages:
        raise Forbidden(f"Only this cohort's facilitators and the program's leads can {what}.")


def may_start_thread(session: Session, viewer: Viewer) -> bool:
    """Those who manage the cohort start threads; its participants too when the cohort lets everyone."""
    if viewer.manages:
        return True
    return viewer.may_post and cohort_settings(session, viewer.cohort).general_threads_by == "everyone"


def require_author(viewer: Viewer, post: Post, what: str) -> None:
    """Only a post's author edits or deletes it, and never once it is removed."""
    if post.author_id != viewer.id:
        raise Forbidden(f"Only the author can {what} a post.")
    if post.deleted_at is not None:
        raise Conflict("This post has been removed.")


# -- books ------------------------------------------------------------------------------------------------

def can_edit_book(access: Access, book: Book) -> bool:
    """The program's leads, and the facilitators of a cohort reading the book."""
    if access.program is None or book.program_id != access.program.id:
        return False
    return access.lead or any(access.manages(link.cohort_id) for link in book.cohort_links)


def require_book_editor(access: Access, book: Book) -> None:
    if not can_edit_book(access, book):
        raise Forbidden("Only the program's leads and the facilitators of a cohort reading this book can change it.")


# -- the one place that decides which posts a viewer sees -----------------------------------------------------

def visible_posts(viewer: Viewer, scope: Thread | Cohort, *, columns: Iterable = (), content_only: bool = False,
                  now: dt.datetime | None = None) -> Select:
    """A SELECT of the posts ``viewer`` may see in a thread or a whole cohort (joined to Thread).

    Post-first: until a thread's rule is met, a participant sees only their own posts. ``content_only``
    also drops removed posts, and hidden ones (except from facilitators and the author): use it for
    anything that counts, searches, notifies or exports.
    """
    now = now or utcnow()
    cols = list(columns) or [Post]
    stmt = select(*cols).select_from(Post).join(Thread, Post.thread_id == Thread.id) \
        .where(Thread.cohort_id == viewer.cohort.id)
    if isinstance(scope, Thread):
        stmt = stmt.where(Post.thread_id == scope.id)
    elif scope.id != viewer.cohort.id:
        return stmt.where(False)
    if content_only:
        stmt = stmt.where(Post.deleted_at.is_(None))
        if not viewer.manages:
            stmt = stmt.where(or_(Post.hidden.is_(False), Post.author_id == viewer.id))
    if not viewer.sees_everything:
        mine = aliased(Post)
        my_posts = (select(func.count(mine.id))
                    .where(mine.thread_id == Thread.id, mine.author_id == viewer.id, mine.deleted_at.is_(None))
                    .correlate(Thread).scalar_subquery())
        stmt = stmt.where(or_(
            Post.author_id == viewer.id,
            Thread.post_first == PostFirst.none,
            and_(Thread.post_first == PostFirst.after_n_posts, my_posts >= Thread.post_first_n),
            and_(Thread.post_first == PostFirst.after_date, Thread.post_first_at.is_not(None),
                 Thread.post_first_at <= now),
            and_(Thread.post_first == PostFirst.facilitator_reveal, Thread.revealed.is_(True)),
        ))
    return stmt


def can_see_post(session: Session, viewer: Viewer, post: Post, *, content_only: bool = True) -> bool:
    return session.scalar(visible_posts(viewer, post.thread, columns=[Post.id], content_only=content_only)
                          .where(Post.id == post.id)) is not None


def others_visible(session: Session, viewer: Viewer, thread: Thread, now: dt.datetime | None = None) -> bool:
    """Whether the post-first gate of ``thread`` is open for ``viewer`` (always, for facilitators)."""
    if viewer.sees_everything or thread.post_first is PostFirst.none:
        return True
    if thread.post_first is PostFirst.after_date:
        return thread.post_first_at is not None and thread.post_first_at <= (now or utcnow())
    if thread.post_first is PostFirst.facilitator_reveal:
        return thread.revealed
    mine = session.scalar(select(func.count(Post.id)).where(Post.thread_id == thread.id, Post.author_id == viewer.id,
                                                           Post.deleted_at.is_(None)))
    return (mine or 0) >= thread.post_first_n


# -- names: anonymity to peers -----------------------------------------------------------------------------

def alias_for(thread: Thread, membership_id: int) -> str:
    """A stable pseudonym per thread and person; unlinkable across threads (keyed with the app secret)."""
    secret = current_app.config.get("SECRET_KEY", "") if has_app_context() else ""
    digest = hmac.new((secret or "k").encode(), f"thread:{thread.id}:{membership_id}".encode(),
                      hashlib.sha256).hexdigest()
    return f"Participant {digest[:4].upper()}"


def _anonymous_to(viewer: Viewer, thread: Thread | None) -> bool:
    return thread is not None and thread.anonymous_to_peers and not viewer.manages


def shown_name(viewer: Viewer, thread: Thread | None, membership: Membership | None) -> str:
    """The name ``viewer`` sees for ``membership`` in ``thread``: a pseudonym for peers in anonymous threads
    (those who run the cohort keep their names)."""
    if membership is None:
        return "Someone"
    if membership.id == viewer.id:
        return "You" if _anonymous_to(viewer, thread) else membership.user.display_name
    if _anonymous_to(viewer, thread) and not viewer.runs_cohort(membership):
        return alias_for(thread, membership.id)
    return membership.user.display_name


def shows_avatar(viewer: Viewer, thread: Thread | None, membership: Membership) -> bool:
    picture = membership.user.picture or ""
    if not _AVATAR_URL.fullmatch(picture):   # https only, and nothing that could end an attribute
        return False
    return not (_anonymous_to(viewer, thread) and membership.id != viewer.id and not viewer.runs_cohort(membership))


def may_mention(viewer: Viewer, thread: Thread | None, membership: Membership) -> bool:
    """In an anonymous thread a peer can mention only those who run the cohort (a name would unmask a peer)."""
    return membership.id != viewer.id and (not _anonymous_to(viewer, thread) or viewer.runs_cohort(membership))
