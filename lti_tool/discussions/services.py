"""Temporary: the names other slices import from ``discussions.services`` while the slices move onto the
course layer in parallel (issue 11). The book study lives in ``permissions``, ``writes``, ``queries`` and
``formats``; import from there. The lead removes this module once the branches are merged."""
from __future__ import annotations

import datetime as dt
from typing import Iterable

from sqlalchemy.orm import Session

from lti_tool.course.access import access_for
from lti_tool.discussions import writes
from lti_tool.discussions.models import Book, PostFirst, Reading
from lti_tool.discussions.permissions import Viewer, viewer_for  # noqa: F401 - temporary, for other slices
from lti_tool.discussions.queries import get_thread, thread_page  # noqa: F401 - temporary, for other slices
from lti_tool.discussions.writes import (  # noqa: F401 - temporary, for other slices
    create_post, delete_post, edit_post, open_due_threads, set_locked,
)
from lti_tool.lti.models import Membership
from lti_tool.programs.models import Program


def save_book(session: Session, actor: Membership, program: Program, *, title: str, author: str = "",
              edition: str = "", cover_url: str = "", link_url: str = "", cohort_ids: Iterable[int] = (),
              score_maximum: float = 100.0, book: Book | None = None) -> Book:
    """Temporary, for other slices: ``writes.save_book`` with the Access of ``actor``."""
    return writes.save_book(session, access_for(session, actor, program), title=title, author=author,
                            edition=edition, cover_url=cover_url, link_url=link_url, cohort_ids=cohort_ids,
                            score_maximum=score_maximum, book=book)


def save_reading(session: Session, actor: Membership, book: Book, *, label: str, starts_on: dt.date | None,
                 ends_on: dt.date | None, prompt: str = "", initial_posts_required: int = 1,
                 replies_required: int = 2, post_first: PostFirst = PostFirst.after_n_posts, post_first_n: int = 1,
                 anonymous_to_peers: bool = False, reading: Reading | None = None,
                 now: dt.datetime | None = None) -> Reading:
    """Temporary, for other slices: ``writes.save_reading`` with the Access of ``actor``."""
    return writes.save_reading(session, access_for(session, actor, book.program), book, label=label,
                               starts_on=starts_on, ends_on=ends_on, prompt=prompt,
                               initial_posts_required=initial_posts_required, replies_required=replies_required,
                               post_first=post_first, post_first_n=post_first_n,
                               anonymous_to_peers=anonymous_to_peers, reading=reading, now=now)
