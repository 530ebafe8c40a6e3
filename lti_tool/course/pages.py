"""The program-page decorator: every page of a course's program is loaded the same way.

``@program_page()`` on a view under ``/c/<course_id>/…``:

1. the signed-in user's active membership in that course (else 401 / 403, see ``lti_tool.auth``);
2. the course's program, created at a staff member's first visit (``ensure_program`` of the programs feature);
   participants before that get a page saying the program is not set up yet;
3. the feature's first-visit defaults (``setup``: e.g. attendance's statuses);
4. the ``Access`` (``lti_tool.course.access``), kept on ``g.access`` for the time-zone filters;
5. the page's role requirement (``lead``, ``manager``, ``staff``), then the view, called with ``access``.

The commit rule, the same for every page: what the loader created in 2 and 3 is committed by the loader
before the view runs, so a view that rolls back a failed form never undoes it; the view commits its own
change once, after its service succeeded.
"""
from __future__ import annotations

import functools
from typing import Callable, Iterable

from flask import g
from sqlalchemy.orm import Session

from lti_tool.auth import require_course_role
from lti_tool.course.access import Access, access_for
from lti_tool.db import db
from lti_tool.errors import Forbidden
from lti_tool.lti.models import Membership
from lti_tool.programs.models import Program

Setup = Callable[[Session, Program], object]


def load_access(membership: Membership, *, setup: Iterable[Setup] = (), optional: bool = False) -> Access:
    """Steps 2–4 above, for a membership already checked (views use ``program_page``)."""
    from lti_tool.programs.writes import ensure_program

    session = db.session
    program = ensure_program(session, membership)
    if program is not None:
        for step in setup:
            step(session, program)
    # Always: what was created may be pending, flushed, or written past the ORM (INSERT … ON CONFLICT), and
    # a COMMIT of a transaction that wrote nothing costs no statement.
    session.commit()
    access = access_for(session, membership, program, optional=optional)
    g.access = access
    return access


def program_page(*, lead: bool = False, manager: bool = False, staff: bool = False, optional: bool = False,
                 setup: Iterable[Setup] = ()) -> Callable:
    """Load a program page (see the module's docstring) and call the view with ``access=``.

    ``lead``: leads only; ``manager``: leads and cohort facilitators; ``staff``: the LMS's instructors;
    ``optional``: the page also shows before the program exists (``access.program`` is then None);
    ``setup``: the feature's first-visit defaults, ``fn(session, program)``, committed with the program.
    """
    steps = tuple(setup)

    def decorator(view: Callable) -> Callable:
        @require_course_role()
        @functools.wraps(view)
        def wrapper(*args, membership: Membership, **kwargs):
            access = load_access(membership, setup=steps, optional=optional)
            if lead:
                access.require_lead("open this page")
            if manager and not access.manages_any:
                raise Forbidden("Only the program's leads and cohort facilitators can open this page.")
            if staff:
                access.require_staff()
            return view(*args, access=access, **kwargs)

        return wrapper

    return decorator
