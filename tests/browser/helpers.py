"""Helpers for browser tests: accessibility checks with axe-core, screenshots to look at, a loopback server.

check_axe and screenshots take a Playwright Page or a Frame:
- axe: axe_playwright_python only calls ``.evaluate`` on what it is given, and a Frame has the same
  ``evaluate`` as a Page, so an iframe's document (an LMS page framing the tool) is checked *in place*,
  with its real cookies and size. axe.min.js ships inside the axe_playwright_python wheel: no network.
- screenshots: a Frame is captured through its page (the viewport belongs to the page); the frame's
  own element is screenshotted as well (``<name>-<width>-frame.png``).
"""
from __future__ import annotations

import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

SCREENSHOT_DIR = Path(__file__).resolve().parent / "screenshots"
SCREENSHOT_WIDTHS = (360, 1280)
BLOCKING_IMPACTS = ("serious", "critical")


def _page_of(target):
    """The Page that owns target (a Page, or a Frame)."""
    return target.page if hasattr(target, "parent_frame") else target


def axe_violations(target, context=None, options=None) -> list[dict]:
    """All axe-core violations on a Page or a Frame (each a dict: id, impact, help, nodes, ...)."""
    from axe_playwright_python.sync_playwright import Axe

    kwargs = {"context": context}
    if options is not None:
        kwargs["options"] = options
    results = Axe().run(target, **kwargs)
    return results.response["violations"]


def format_violations(violations: list[dict]) -> str:
    lines = []
    for v in violations:
        lines.append(f"- {v['id']} ({v['impact']}): {v['help']}  [{v.get('helpUrl', '')}]")
        for node in v["nodes"]:
            target = " ".join(str(t) for t in node.get("target", []))
            summary = (node.get("failureSummary") or "").replace("\n", " ")
            lines.append(f"    at {target}: {summary}")
    return "\n".join(lines)


def check_axe(target, name: str = "", *, impacts=BLOCKING_IMPACTS, context=None) -> list[dict]:
    """Run axe-core on a Page or Frame and fail the test on any serious or critical violation.

    Returns the full list of violations (milder ones included) so a test can look at those too.
    """
    import pytest

    violations = axe_violations(target, context=context)
    blocking = [v for v in violations if v.get("impact") in impacts]
    if blocking:
        url = getattr(target, "url", "")
        pytest.fail(f"axe: {len(blocking)} serious/critical violation(s) on {name or url} ({url}):\n"
                    + format_violations(blocking), pytrace=False)
    return violations


def screenshots(target, name: str, widths=SCREENSHOT_WIDTHS) -> list[Path]:
    """Save full-page PNGs at each width to tests/browser/screenshots/<name>-<width>.png.

    The viewport is resized for each shot and restored afterwards. For a Frame, the owning page is
    captured, plus the frame element alone (<name>-<width>-frame.png).
    """
    page = _page_of(target)
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    original = page.viewport_size or {"width": 1280, "height": 900}
    saved: list[Path] = []
    try:
        for width in widths:
            page.set_viewport_size({"width": width, "height": original["height"]})
            page.wait_for_timeout(50)  # let layout settle after the resize
            path = SCREENSHOT_DIR / f"{name}-{width}.png"
            page.screenshot(path=str(path), full_page=True)
            saved.append(path)
            if target is not page:
                frame_path = SCREENSHOT_DIR / f"{name}-{width}-frame.png"
                target.frame_element().screenshot(path=str(frame_path))
                saved.append(frame_path)
    finally:
        page.set_viewport_size(original)
    return saved


def horizontal_overflow(target) -> int:
    """How many CSS pixels the document is wider than its viewport (0 when nothing scrolls sideways)."""
    return target.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")


@contextmanager
def serve(wsgi_app, host: str = "127.0.0.1") -> Iterator[str]:
    """Serve a WSGI app on a free loopback port in a thread; yields its base URL (no trailing slash)."""
    from werkzeug.serving import make_server

    server = make_server(host, 0, wsgi_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)
