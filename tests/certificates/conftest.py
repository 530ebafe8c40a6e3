"""The certificate tests use the PD-hours world (tests/hours/conftest.py) and read PDFs back with pypdfium2
(pypdf mis-reads WeasyPrint's CID fonts)."""
from __future__ import annotations

import pytest

from tests.hours.conftest import _fresh_rate_limits, world  # noqa: F401  (fixtures)


def pdf_text(data: bytes) -> str:
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(data)
    try:
        return "\n".join(doc[i].get_textpage().get_text_range() for i in range(len(doc)))
    finally:
        doc.close()


def send_met(session, world, who: str, old: str | None = "on_track", new: str = "met") -> None:
    """What the completion rule sends when a person's state changes (course.events), then the commit."""
    from lti_tool.course import events

    events.completion_changed.send(session, program_id=world.program.id, membership_id=world.people[who].id,
                                   old=old, new=new)
    session.commit()


@pytest.fixture
def enabled(session, world):
    from tests.hours.conftest import profile

    profile(session, world)
    session.commit()
    return world
