"""Hygiene around launches: security headers and CSP frame-ancestors, request ids on every response and error
page, the friendly 500 page, CSRF on forms, production's refusal to start half-configured, the not-migrated
page, and launch logs free of tokens and personal data."""
from __future__ import annotations

import logging
import re
from html import unescape

import pytest

from lti_tool import ConfigurationError, create_app
from lti_tool.db import db
from lti_tool.lti.registry import PlatformSpec, add_platform, remove_platform
from tests.lti.helpers import drop, forge, throwaway_app  # noqa: F401


def _frame_ancestors(response) -> list[str]:
    csp = response.headers["Content-Security-Policy"]
    match = re.search(r"frame-ancestors ([^;]+)", csp)
    assert match, csp
    return match.group(1).split()


def test_csp_frame_ancestors_lists_the_registered_platforms(forge, app):
    browser = forge.browser()
    assert _frame_ancestors(browser.get("/lti/help")) == ["'self'", forge.live_server.url]
    with app.app_context():
        add_platform(db.session, PlatformSpec(
            issuer="https://canvas.instructure.com", client_id="10000000000001",
            auth_login_url="https://sso.canvaslms.com/api/lti/authorize_redirect",
            auth_token_url="https://sso.canvaslms.com/login/oauth2/token",
            key_set_url="https://sso.canvaslms.com/api/lti/security/jwks"))
        db.session.commit()
    ancestors = _frame_ancestors(browser.get("/lti/help"))
    assert set(ancestors) == {"'self'", forge.live_server.url, "https://sso.canvaslms.com"}
    with app.app_context():
        remove_platform(db.session, "https://canvas.instructure.com", "10000000000001")
        db.session.commit()
    assert "https://sso.canvaslms.com" not in _frame_ancestors(browser.get("/lti/help"))


def test_pages_carry_a_strict_csp_and_basic_security_headers(forge):
    page = forge.launch(user="demo-participant-1")
    csp = page.headers["Content-Security-Policy"]
    assert "script-src 'self';" in csp and "style-src 'self';" in csp and "'unsafe-inline'" not in csp
    assert "object-src 'none'" in csp
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert page.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"


def test_every_response_has_a_request_id_and_error_pages_show_it(forge):
    browser = forge.browser()
    ok = browser.get("/lti/help")
    assert re.fullmatch(r"[0-9a-f]{16}", ok.headers["X-Request-Id"])
    refused = forge.launch(browser, mutate=drop("sub"))
    request_id = refused.headers["X-Request-Id"]
    assert refused.status_code == 401 and request_id in refused.text
    missing = browser.get("/lti/no-course")
    assert missing.status_code == 401 and missing.headers["X-Request-Id"] in missing.text
    assert ok.headers["X-Request-Id"] != request_id


def test_a_proxys_request_id_is_kept_but_an_odd_one_is_replaced(forge):
    browser = forge.browser()
    kept = browser.get("/lti/no-course", headers={"X-Request-Id": "edge-4f2a.91"})
    assert kept.headers["X-Request-Id"] == "edge-4f2a.91" and "edge-4f2a.91" in kept.text
    odd = browser.get("/lti/no-course", headers={"X-Request-Id": "<script>alert(1)</script>"})
    assert re.fullmatch(r"[0-9a-f]{16}", odd.headers["X-Request-Id"])
    assert "<script>alert" not in odd.text


@pytest.fixture
def failing_app(app, throwaway_app, db_url):
    # `app` first: it builds the tables of this run's database, which the second app shares.
    app = throwaway_app(DATABASE_URL=db_url)

    @app.route("/boom")
    def boom():
        raise RuntimeError("secret internals: password=hunter2")

    return app


def test_unexpected_error_shows_the_friendly_page_with_the_request_id(failing_app, caplog):
    client = failing_app.test_client()
    with caplog.at_level(logging.ERROR, logger="lti_tool.errors"):
        response = client.get("/boom")
    assert response.status_code == 500
    page = response.get_data(as_text=True)
    request_id = response.headers["X-Request-Id"]
    assert "Something went wrong" in page and request_id in page
    assert "hunter2" not in page and "Traceback" not in page
    logged = [r for r in caplog.records if r.name == "lti_tool.errors"]
    assert logged and request_id in logged[0].getMessage() and logged[0].exc_info


def test_unexpected_error_answers_json_clients_in_json(failing_app):
    response = failing_app.test_client().get("/boom", headers={"Accept": "application/json"})
    assert response.status_code == 500
    assert response.json["request_id"] == response.headers["X-Request-Id"]
    assert "hunter2" not in response.get_data(as_text=True)


def test_form_post_without_csrf_token_is_refused(lti, forge):
    browser = lti("demo-facilitator-1", kind="deeplink")
    picker = browser.last
    assert picker.status_code == 200 and "/lti/deep-link/" in picker.url
    assert 'name="csrf_token"' in picker.text
    refused = browser.post(picker.url, {"target": "program"})
    assert refused.status_code == 400
    assert "this form has expired" in unescape(refused.text).lower() and "nothing was saved" in refused.text.lower()
    assert refused.headers["X-Request-Id"] in refused.text
    # The same form with its token goes through.
    accepted = browser.submit(picker, target="program")
    assert accepted.status_code == 200, accepted.text[:500]


@pytest.fixture
def clean_environment(monkeypatch):
    for name in ("SECRET_KEY", "DATABASE_URL", "REDIS_URL", "LTI_TOOL_CONFIG"):
        monkeypatch.delenv(name, raising=False)


def test_production_refuses_to_start_without_a_secret_key(clean_environment):
    with pytest.raises(ConfigurationError, match="SECRET_KEY"):
        create_app("production", DATABASE_URL="postgresql://db.example/cop", REDIS_URL="redis://cache.example/0")


def test_production_refuses_to_start_with_a_development_secret_key(clean_environment):
    with pytest.raises(ConfigurationError, match="SECRET_KEY"):
        create_app("production", SECRET_KEY="dev-only-not-secret", DATABASE_URL="postgresql://db.example/cop",
                   REDIS_URL="redis://cache.example/0")


def test_production_refuses_to_start_on_sqlite(clean_environment, tmp_path):
    with pytest.raises(ConfigurationError, match="PostgreSQL"):
        create_app("production", SECRET_KEY="s" * 40, DATABASE_URL=f"sqlite:///{tmp_path / 'x.sqlite3'}",
                   REDIS_URL="redis://cache.example/0")


def test_production_refuses_to_start_without_a_database_or_redis(clean_environment):
    with pytest.raises(ConfigurationError, match="DATABASE_URL") as refused:
        create_app("production", SECRET_KEY="s" * 40)
    assert "REDIS_URL" in str(refused.value)


def test_production_reads_its_secrets_from_the_environment(clean_environment, monkeypatch):
    monkeypatch.setenv("LTI_TOOL_CONFIG", "production")
    monkeypatch.setenv("DATABASE_URL", "sqlite:///nope.sqlite3")
    with pytest.raises(ConfigurationError, match="SECRET_KEY"):
        create_app()


def test_empty_database_shows_the_not_migrated_page(throwaway_app, tmp_path):
    app = throwaway_app(DATABASE_URL=f"sqlite:///{tmp_path / 'empty.sqlite3'}")
    client = app.test_client()
    for path in ("/lti/help", "/lti/login", "/c/1/"):
        response = client.get(path)
        assert response.status_code == 503, path
        page = unescape(response.get_data(as_text=True))
        assert "flask --app wsgi db upgrade" in page
        assert response.headers["X-Request-Id"] in page


def test_launch_logs_carry_no_token_or_personal_data(forge, caplog):
    caplog.set_level(logging.DEBUG)
    browser = forge.browser()
    login = forge.login(browser, "demo-participant-8")
    claims = forge.claims(login.nonce, "demo-participant-8")
    id_token = forge.sign(claims)
    assert browser.post_launch(id_token, login.state).status_code == 200
    assert browser.post_launch(id_token, login.state).status_code == 401  # a refusal is logged too
    forge.launch(mutate=drop("roles"), user="demo-participant-8")
    tool_lines = [r.getMessage() for r in caplog.records if r.name.startswith("lti_tool")]
    assert any("launch ok" in line for line in tool_lines)
    assert any("launch refused" in line for line in tool_lines)
    secrets = [claims["sub"], claims["email"], claims["name"], claims["given_name"], claims["family_name"],
               id_token, id_token.split(".")[1], login.nonce]
    everything = "\n".join(r.getMessage() for r in caplog.records)
    for secret in secrets:
        assert secret not in "\n".join(tool_lines), secret
    # Nor in the access log lines of the tool's own endpoints (the sandbox's own URLs may name users).
    for line in everything.splitlines():
        if "/lti/" in line:
            assert id_token not in line and claims["email"] not in line
