"""The library tests' world: lead Lena, facilitator Fay of "Literacy" (Pat, Quinn), "Math" (Sam, no named
facilitator), an observer; another course (Other) on the same LMS with its own program, and uploads in a
temporary folder. ``resource`` writes one through the services."""
from __future__ import annotations

import io

import pytest

from lti_tool.library import writes
from tests.factories import World, literacy_world


def pdf_bytes(text: str = "Hello") -> bytes:
    """A small real PDF (WeasyPrint is a dependency anyway)."""
    from weasyprint import HTML

    return HTML(string=f"<p style='font-size:40px'>{text}</p>").write_pdf()


def png_bytes() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


@pytest.fixture(autouse=True)
def _uploads(app, tmp_path):
    old = app.config.get("UPLOAD_DIR")
    app.config["UPLOAD_DIR"] = str(tmp_path / "uploads")
    yield tmp_path / "uploads"
    app.config["UPLOAD_DIR"] = old


@pytest.fixture
def world(session) -> World:
    return literacy_world(session)


def data(**changes) -> writes.ResourceInput:
    fields = dict(title="Exit ticket template", kind="template", description="Use it **weekly**.",
                  tags="assessment, exit tickets", url="https://example.org/exit", licence="cc_by", may_share=True)
    fields.update(changes)
    return writes.ResourceInput(**fields)


def resource(session, w: World, who: str = "Pat", cohort: str = "Literacy", approve: bool = False, **changes):
    """A resource written by ``who`` in ``cohort`` and submitted (approved by the lead with ``approve``)."""
    r = writes.save_resource(session, w.access(who), None, data(**changes), cohort_id=w.cohorts[cohort].id,
                             submit=True)
    if approve:
        writes.approve(session, w.access("Lena"), r)
    return r
