"""The flask commands: platforms add/list/remove, keys rotate/list, db current, sandbox setup."""
from __future__ import annotations

import time

import pytest

from lti_tool.db import db
from lti_tool.lti import keys, registry

ISSUER = "https://moodle.example.edu"
ADD = ["platforms", "add", "--issuer", ISSUER, "--client-id", "abc123",
       "--auth-url", f"{ISSUER}/mod/lti/auth.php", "--token-url", f"{ISSUER}/mod/lti/token.php",
       "--jwks-url", f"{ISSUER}/mod/lti/certs.php", "--deployment-id", "4", "--deployment-id", "5",
       "--name", "Example Moodle"]


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def test_platforms_add_registers_platform_and_deployments(app, runner):
    result = runner.invoke(args=ADD)
    assert result.exit_code == 0, result.output
    assert "Registered platform" in result.output and "4, 5" in result.output
    with app.app_context():
        platform = registry.find_platform(db.session, ISSUER, "abc123")
        assert platform is not None and platform.name == "Example Moodle"
        assert platform.registered_by == "cli" and platform.auth_audience is None
        assert [d.deployment_id for d in platform.deployments] == ["4", "5"]
        assert platform.auth_token_url == f"{ISSUER}/mod/lti/token.php"


def test_platforms_add_twice_is_a_clear_error(runner):
    assert runner.invoke(args=ADD).exit_code == 0
    again = runner.invoke(args=ADD)
    assert again.exit_code != 0
    assert "already registered" in again.output
    assert "Traceback" not in again.output


def test_platforms_add_with_audience(app, runner):
    result = runner.invoke(args=[*ADD[:5], "other", *ADD[6:], "--audience", "https://auth.example.edu"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert registry.find_platform(db.session, ISSUER, "other").auth_audience == "https://auth.example.edu"


def test_platforms_list_shows_a_table(runner):
    assert "No active platforms" in runner.invoke(args=["platforms", "list"]).output
    runner.invoke(args=ADD)
    output = runner.invoke(args=["platforms", "list"]).output
    header, _rule, row = output.strip().splitlines()
    assert header.split() == ["id", "name", "issuer", "client_id", "deployments", "registered_by", "active"]
    assert ISSUER in row and "abc123" in row and "4,5" in row and "cli" in row and row.endswith("yes")


def test_platforms_remove_deactivates(app, runner):
    runner.invoke(args=ADD)
    result = runner.invoke(args=["platforms", "remove", "--issuer", ISSUER, "--client-id", "abc123"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert registry.find_platform(db.session, ISSUER, "abc123") is None  # inactive: not found for launches
        [platform] = registry.list_platforms(db.session)
        assert platform.active is False
    assert "No active platforms" in runner.invoke(args=["platforms", "list"]).output
    assert "no" in runner.invoke(args=["platforms", "list", "--all"]).output.splitlines()[-1]


def test_platforms_remove_unknown_is_a_clear_error(runner):
    result = runner.invoke(args=["platforms", "remove", "--issuer", ISSUER, "--client-id", "nope"])
    assert result.exit_code != 0
    assert "no platform" in result.output and "Traceback" not in result.output


def _published_kids(app) -> list[str]:
    response = app.test_client().get("/lti/jwks")
    assert response.status_code == 200
    return [k["kid"] for k in response.get_json()["keys"]]


def test_keys_rotate_keeps_old_key_published_for_the_grace_period(app, runner):
    [old_kid] = _published_kids(app)
    result = runner.invoke(args=["keys", "rotate", "--grace", "1"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        new_kid = keys.signing_key(db.session).kid
    assert new_kid != old_kid
    assert f"New signing key: {new_kid}" in result.output and "published until" in result.output
    assert set(_published_kids(app)) == {old_kid, new_kid}
    listing = runner.invoke(args=["keys", "list"]).output
    assert old_kid in listing and new_kid in listing and "signing" in listing and "retired" in listing
    time.sleep(1.2)
    assert _published_kids(app) == [new_kid]


def test_keys_rotate_uses_the_configured_grace(app, runner):
    _published_kids(app)
    result = runner.invoke(args=["keys", "rotate"])
    assert result.exit_code == 0, result.output
    assert f"({app.config['LTI_TOOL_KEY_GRACE_SECONDS']} s)" in result.output
    assert len(_published_kids(app)) == 2


def test_keys_rotate_on_a_fresh_install_creates_both_keys(app, runner):
    result = runner.invoke(args=["keys", "rotate", "--grace", "60"])
    assert result.exit_code == 0, result.output
    assert len(_published_kids(app)) == 2


def test_db_current_names_the_revision(runner):
    result = runner.invoke(args=["db", "current"])
    assert result.exit_code == 0, result.output
    assert "(head)" in result.output


def test_sandbox_setup_registers_the_sandbox_platform(app, runner):
    result = runner.invoke(args=["sandbox", "setup", "--base-url", "http://localhost:5000"])
    assert result.exit_code == 0, result.output
    again = runner.invoke(args=["sandbox", "setup", "--base-url", "http://localhost:5000"])
    assert again.exit_code == 0, again.output  # idempotent
    with app.app_context():
        [platform] = registry.list_platforms(db.session)
        assert platform.issuer == "http://localhost:5000/sandbox" and platform.registered_by == "sandbox"
        assert len(platform.deployments) == 1
