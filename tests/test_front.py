"""The root page (/) in both configurations: with the sandbox (development, `make run`) it leads to the
sandbox LMS and the help page; without (production) it says what the tool is and how to install it."""
from __future__ import annotations

import html

import pytest

from tests.lti.helpers import throwaway_app  # noqa: F401


def _page(client) -> str:
    response = client.get("/")
    assert response.status_code == 200, response.status_code
    assert response.mimetype == "text/html"
    return html.unescape(response.get_data(as_text=True))


def test_in_development_the_root_page_leads_to_the_sandbox_and_the_help_page(app):
    page = _page(app.test_client())
    assert "Communities of Practice" in page and "LTI 1.3 tool for Canvas and Moodle" in page
    assert 'href="/sandbox/"' in page and "Open the sandbox LMS" in page
    assert 'href="/lti/help"' in page


def test_in_production_the_root_page_says_what_the_tool_is_and_how_to_install_it(app, throwaway_app, db_url):
    production = throwaway_app(DATABASE_URL=db_url, SANDBOX_ENABLED=False, SERVER_NAME="cop.example.edu",
                               PREFERRED_URL_SCHEME="https")
    page = _page(production.test_client())
    assert "LTI 1.3 tool for Canvas and Moodle" in page and "Install it in your LMS" in page
    assert "https://cop.example.edu/lti/register" in page and "https://cop.example.edu/lti/canvas.json" in page
    assert "Site administration" in page and "Developer Keys" in page and 'href="/lti/help"' in page
    assert "sandbox" not in page.lower()
    assert production.test_client().get("/sandbox/").status_code == 404


@pytest.mark.parametrize("path", ["/", "/lti/help"])
def test_the_root_and_help_pages_need_no_session_and_send_the_usual_headers(app, path):
    response = app.test_client().get(path)
    assert response.status_code == 200
    assert "frame-ancestors" in response.headers["Content-Security-Policy"]
    assert "<script>" not in response.get_data(as_text=True)      # no inline scripts (CSP)
