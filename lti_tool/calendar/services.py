"""Temporary, until the slices of issue 11 are merged: the time-zone helpers the other slices' branches still
import from here now live in ``lti_tool.course.zones``. The calendar itself is ``writes``, ``queries`` and
``formats``; neither calendar nor programs imports this module."""
from __future__ import annotations

from lti_tool.course.zones import (  # noqa: F401 - temporary, for other slices
    describe_time, get_zone, program_zone, timezone_names, viewer_zone,
)
