"""Previews of uploaded files that never run anything in the tool's origin.

- An image is shown with ``<img>`` from its download address, which answers with ``Content-Security-Policy:
  default-src 'none'; sandbox`` and ``nosniff`` (modules/uploads.py): an image element runs nothing.
- A PDF's first page is rendered **once, when the file is uploaded**, to a PNG by pypdfium2 (PDFium, the
  engine Chromium's own viewer uses, built without JavaScript support: pypdfium2 never runs a PDF's scripts),
  and that PNG is what pages show. The alternatives do not work here: the tool's CSP says ``object-src
  'none'`` (no ``<object>``/``<embed>``), and Chromium refuses to show a PDF in a sandboxed frame, which the
  file's own ``sandbox`` header makes every frame of it. Without pypdfium2 installed, a PDF simply has no
  preview (its download link stays).
"""
from __future__ import annotations

import io
import logging

log = logging.getLogger(__name__)

PREVIEW_WIDTH = 900          # pixels: sharp on a projector, small to store
PREVIEW_HEIGHT = 1600        # at most, whatever the page's shape (a 1-point-wide page is no memory bomb)
MAX_PAGE_POINTS = 5000       # a page larger than this (in PDF points) is not rendered


def pdf_first_page_png(data: bytes) -> bytes | None:
    """The first page of a PDF as a PNG, or None (no pypdfium2, an unreadable or empty PDF)."""
    try:
        import pypdfium2 as pdfium
    except ImportError:
        return None
    try:
        doc = pdfium.PdfDocument(data)
        try:
            if len(doc) == 0:
                return None
            page = doc[0]
            width, height = page.get_size()
            if not (0 < width <= MAX_PAGE_POINTS and 0 < height <= MAX_PAGE_POINTS):
                return None
            image = page.render(scale=min(PREVIEW_WIDTH / width, PREVIEW_HEIGHT / height)).to_pil()
            out = io.BytesIO()
            image.save(out, format="PNG", optimize=True)
            return out.getvalue()
        finally:
            doc.close()
    except Exception:   # a damaged PDF is still a file people may download; it just has no preview
        log.info("no preview for an uploaded PDF", exc_info=True)
        return None
