"""What one feature tells the others happened, so that a feature that depends on another is never depended
on back (the import graph stays one-way, tests/test_import_cycles.py).

The sender imports only this module. Receivers are connected in one place, ``create_app`` (the composition root,
which imports every feature anyway), so every process that has an app (web, worker, CLI) has every receiver,
whatever it imported. Receivers run in the sender's transaction and must not commit.
"""
from __future__ import annotations

from blinker import Namespace

_events = Namespace()

#: A post was written in a book-study thread: sent with the session as sender, ``post=`` and ``now=``.
#: Modules complete the discussion items the post answers.
post_created = _events.signal("post-created")


#: Something that counts toward a program's completion rule or PD hours changed for some people (an attendance
#: mark, a module item done, a post, an approved resource, a protocol run): sent with the session as sender,
#: ``program_id=`` and ``membership_ids=`` (None: everyone in the program, e.g. a session added to or taken off
#: the calendar). The completion rule is recomputed for them after the commit.
progress_changed = _events.signal("progress-changed")

#: A person's completion state changed (met, on track, at risk, can no longer meet): sent with the session as
#: sender, ``program_id=``, ``membership_id=``, ``old=`` and ``new=`` (state names, ``old`` None the first time).
#: Certificates are issued from it when ``new`` is "met".
completion_changed = _events.signal("completion-changed")
