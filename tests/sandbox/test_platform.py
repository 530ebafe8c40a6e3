"""The sandbox LMS on its own: a bare Flask app with only the sandbox blueprint and a stub tool (its JWKS and
the login/launch URLs), driven with Flask's test client. Fast, and independent of the tool's own code."""
from __future__ import annotations

import re
import time
import uuid
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from flask import Flask, jsonify

from lti_tool import sandbox
from lti_tool.db import db
from lti_tool.lti.keys import new_pem_pair, public_jwk
from lti_tool.sandbox import services as sb

BASE = "http://localhost"
ISS = BASE + "/sandbox"
TOKEN_URL = ISS + "/token"


class _Forms(HTMLParser):
    def __init__(self):
        super().__init__()
        self.forms: list[dict] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.forms.append({"action": a.get("action"), "method": a.get("method"), "fields": {}, "attrs": a})
        elif tag == "input" and self.forms and a.get("name"):
            self.forms[-1]["fields"][a["name"]] = a.get("value") or ""


def first_form(html: str) -> dict:
    parser = _Forms()
    parser.feed(html)
    return parser.forms[0]


@pytest.fixture
def tool_key():
    private, public = new_pem_pair()
    return {"private": private, "jwk": public_jwk(public)}


@pytest.fixture
def sbx_app(tmp_path, tool_key, monkeypatch):
    app = Flask(__name__, template_folder="../../templates", static_folder="../../static")
    app.config.update(DATABASE_URL=f"sqlite:///{tmp_path / 'sandbox.sqlite3'}", SECRET_KEY="test", TESTING=True)
    db.init_app(app)
    sandbox.init_app(app)

    @app.route("/lti/jwks")
    def tool_jwks():
        return jsonify({"keys": [tool_key["jwk"]]})

    client = app.test_client()

    def fetch(url):  # the tool's JWKS, fetched "over HTTP" from the stub
        assert url == BASE + "/lti/jwks"
        return client.get("/lti/jwks").get_json()

    monkeypatch.setattr(sb, "fetch_tool_jwks", fetch)
    with app.app_context():
        sb.ensure_demo(db.session, BASE)
        db.session.commit()
    return app


@pytest.fixture
def client(sbx_app):
    return sbx_app.test_client()


@pytest.fixture
def session(sbx_app):
    with sbx_app.app_context():
        yield db.session


def assertion(tool_key, **overrides) -> str:
    now = int(time.time())
    claims = {"iss": sb.CLIENT_ID, "sub": sb.CLIENT_ID, "aud": TOKEN_URL, "iat": now, "exp": now + 300,
              "jti": uuid.uuid4().hex}
    claims.update(overrides)
    return jwt.encode(claims, tool_key["private"], algorithm="RS256", headers={"kid": tool_key["jwk"]["kid"]})


def get_token(client, tool_key, scopes=sb.ALL_SCOPES, **overrides):
    return client.post("/sandbox/token", data={
        "grant_type": "client_credentials",
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": assertion(tool_key, **overrides), "scope": " ".join(scopes)})


@pytest.fixture
def bearer(client, tool_key):
    token = get_token(client, tool_key).get_json()["access_token"]
    return {"Authorization": f"Bearer {token}"}


# -- demo data and the id_token ------------------------------------------------------------------------------

def test_ensure_demo_is_idempotent_and_describes_the_registration(session):
    info = sb.ensure_demo(session, BASE)
    again = sb.ensure_demo(session, BASE)
    assert info == again
    assert info.issuer == ISS and info.client_id == "sandbox-tool" and info.deployment_id == "1"
    assert info.auth_login_url == ISS + "/auth" and info.key_set_url == ISS + "/jwks"
    assert info.auth_token_url == TOKEN_URL and info.product_family == "sandbox"
    platform = sb.ensure_platform(session, BASE)
    course = sb.get_course(session, platform, "demo-course")
    enrollments = sb.members(session, course)
    roles = [e.roles for e in enrollments]
    assert sum(sb.LEARNER in r and sb.TEST_USER not in r for r in roles) == 24
    assert sum(sb.INSTRUCTOR in r for r in roles) == 2
    assert [sb.INSTRUCTOR, sb.TEACHING_ASSISTANT] in roles
    assert [sb.MENTOR] in roles and [sb.TEST_USER, sb.LEARNER] in roles
    assert course.title == "Communities of Practice 2026–27 (demo)" and course.label == "COP-DEMO"
    assert sb.get_course(session, platform, "other-course") is not None


def test_id_token_claims_look_like_canvas(session):
    platform = sb.ensure_platform(session, BASE)
    tool = sb.get_tool(session, platform)
    course = sb.get_course(session, platform, "demo-course")
    user = sb.get_user(session, platform, "demo-participant-3")
    claims = sb.id_token_claims(session, platform, tool, user, course, nonce="n-1")
    assert claims["iss"] == ISS and claims["aud"] == "sandbox-tool" and claims["azp"] == "sandbox-tool"
    assert claims["exp"] - claims["iat"] == 300 and claims["nonce"] == "n-1"
    assert claims[sb.CLAIM + "roles"] == [sb.LEARNER]
    assert claims[sb.CLAIM + "resource_link"]["id"] == "demo-course-home"
    assert claims[sb.CLAIM + "context"]["id"] == "demo-course"
    assert claims[sb.AGS_CLAIM]["lineitems"] == ISS + "/api/courses/demo-course/line_items"
    assert claims[sb.NRPS_CLAIM]["context_memberships_url"] == ISS + "/api/courses/demo-course/names_and_roles"
    dl = sb.id_token_claims(session, platform, tool, user, course, nonce="n", message_type="LtiDeepLinkingRequest",
                            flavour="canvas")
    settings = dl[sb.DL_CLAIM + "deep_linking_settings"]
    assert settings["accept_multiple"] is False and "data" not in settings
    assert sb.CLAIM + "resource_link" not in dl
    generic = sb.id_token_claims(session, platform, tool, user, course, nonce="n",
                                 message_type="LtiDeepLinkingRequest")[sb.DL_CLAIM + "deep_linking_settings"]
    assert generic["data"].startswith("opaque-data-") and generic["accept_multiple"] is True
    moodle = sb.id_token_claims(session, platform, tool, user, course, nonce="n",
                                message_type="LtiDeepLinkingRequest", flavour="moodle")
    assert moodle[sb.DL_CLAIM + "deep_linking_settings"]["accept_presentation_document_targets"] == [
        "frame", "iframe", "window"]


def test_signed_tokens_verify_with_the_published_jwks_across_rotation(client, session):
    platform = sb.ensure_platform(session, BASE)
    old = sb.sign_jwt(session, platform, {"a": 1})
    sb.rotate_platform_key(session, platform)
    new = sb.sign_jwt(session, platform, {"a": 2})
    session.commit()
    keys = client.get("/sandbox/jwks").get_json()["keys"]
    assert len(keys) == 2 and all(k["alg"] == "RS256" and k["use"] == "sig" for k in keys)
    for token in (old, new):
        kid = jwt.get_unverified_header(token)["kid"]
        jwk = next(k for k in keys if k["kid"] == kid)
        assert jwt.decode(token, jwt.PyJWK(jwk).key, algorithms=["RS256"])["a"] in (1, 2)
    bad = sb.sign_jwt(session, platform, {"a": 3}, headers={"kid": "nope"})
    assert jwt.get_unverified_header(bad)["kid"] == "nope"


# -- the launch ----------------------------------------------------------------------------------------------

def test_launch_then_auth_produces_a_signed_id_token_for_the_tool(client, session):
    page = client.get("/sandbox/launch?user=demo-facilitator-2&course=demo-course&kind=resource&flavour=canvas")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "<script>" not in html and "sandbox-autosubmit.js" in html and "<noscript>" in html
    form = first_form(html)
    assert form["action"] == BASE + "/lti/login" and "data-autosubmit" in form["attrs"]
    f = form["fields"]
    assert f["iss"] == ISS and f["login_hint"] == "demo-facilitator-2" and f["client_id"] == "sandbox-tool"
    assert f["lti_deployment_id"] == "1" and f["canvas_environment"] and f["target_link_uri"] == BASE + "/lti/launch"
    auth = {"scope": "openid", "response_type": "id_token", "response_mode": "form_post", "prompt": "none",
            "client_id": "sandbox-tool", "redirect_uri": BASE + "/lti/launch", "login_hint": f["login_hint"],
            "lti_message_hint": f["lti_message_hint"], "nonce": "nonce-1", "state": "state-1"}
    answer = client.get("/sandbox/auth", query_string=auth)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    post = first_form(answer.get_data(as_text=True))
    assert post["action"] == BASE + "/lti/launch" and post["fields"]["state"] == "state-1"
    keys = client.get("/sandbox/jwks").get_json()["keys"]
    claims = jwt.decode(post["fields"]["id_token"], jwt.PyJWK(keys[0]).key, algorithms=["RS256"],
                        audience="sandbox-tool")
    assert claims["nonce"] == "nonce-1" and claims["sub"] == "demo-facilitator-2"
    assert sb.TEACHING_ASSISTANT in claims[sb.CLAIM + "roles"]
    # The message hint is single use.
    again = client.get("/sandbox/auth", query_string=auth)
    assert again.status_code == 400 and "already used" in again.get_data(as_text=True)


@pytest.mark.parametrize("change, reason", [
    ({"redirect_uri": BASE + "/lti/launch/"}, "redirect_uri"),
    ({"scope": "email"}, "scope"),
    ({"response_mode": "query"}, "response_mode"),
    ({"prompt": "login"}, "prompt"),
    ({"client_id": "someone-else"}, "client_id"),
    ({"nonce": ""}, "nonce"),
    ({"login_hint": "demo-participant-1"}, "login_hint"),
    ({"lti_message_hint": "forged"}, "lti_message_hint"),
])
def test_auth_refuses_a_bad_request_and_says_why(client, change, reason):
    f = first_form(client.get("/sandbox/launch?user=demo-participant-2").get_data(as_text=True))["fields"]
    auth = {"scope": "openid", "response_type": "id_token", "response_mode": "form_post", "prompt": "none",
            "client_id": "sandbox-tool", "redirect_uri": BASE + "/lti/launch", "login_hint": f["login_hint"],
            "lti_message_hint": f["lti_message_hint"], "nonce": "n", "state": "s", **change}
    answer = client.post("/sandbox/auth", data=auth)
    assert answer.status_code == 400
    assert reason in answer.get_data(as_text=True)


def test_course_page_lists_people_by_role_and_the_tool_frame(client):
    html = client.get("/sandbox/").get_data(as_text=True)
    assert 'name="tool-frame"' in html and 'title="Communities of Practice tool"' in html
    for heading in ("Facilitators", "Participants", "Observers", "Test student", "Add content (deep linking)"):
        assert heading in html
    assert html.count('target="tool-frame"') >= 28
    assert "/sandbox/gradebook" in html and "/sandbox/roster" in html
    assert "<script>" not in html


# -- OAuth2 tokens -------------------------------------------------------------------------------------------

def test_token_grants_the_allowed_scopes_and_refuses_a_reused_jti(client, tool_key):
    jti = uuid.uuid4().hex
    ok = get_token(client, tool_key, scopes=[sb.SCOPE_SCORE, "https://example.com/not-allowed"], jti=jti)
    assert ok.status_code == 200
    body = ok.get_json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600 and body["scope"] == sb.SCOPE_SCORE
    again = get_token(client, tool_key, jti=jti)
    assert again.status_code == 401 and "jti" in again.get_json()["error_description"]


def test_token_refuses_bad_assertions(client, tool_key):
    assert get_token(client, tool_key, scopes=["https://example.com/x"]).get_json()["error"] == "invalid_scope"
    assert get_token(client, tool_key, aud="https://elsewhere/token").status_code == 401
    assert get_token(client, tool_key, exp=int(time.time()) - 3600).status_code == 401
    other_private, _ = new_pem_pair()
    forged = jwt.encode({"iss": "sandbox-tool", "sub": "sandbox-tool", "aud": TOKEN_URL, "iat": int(time.time()),
                         "exp": int(time.time()) + 60, "jti": "x"}, other_private, algorithm="RS256",
                        headers={"kid": tool_key["jwk"]["kid"]})
    answer = client.post("/sandbox/token", data={
        "grant_type": "client_credentials", "client_assertion": forged, "scope": sb.SCOPE_SCORE,
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"})
    assert answer.status_code == 401


# -- AGS -----------------------------------------------------------------------------------------------------

LI = "/sandbox/api/courses/demo-course/line_items"


def test_line_items_are_created_listed_in_pages_and_filtered(client, bearer):
    assert client.get(LI).status_code == 401
    assert client.post(LI, json={"label": "No max"}, headers=bearer).status_code == 400
    for i in range(12):
        r = client.post(LI, json={"label": f"Session {i}", "scoreMaximum": 10, "tag": "attendance" if i % 2 else "x",
                                  "resourceId": f"r{i}"}, headers=bearer)
        assert r.status_code == 200 and r.get_json()["id"].startswith(ISS + LI[len("/sandbox"):])
    page1 = client.get(LI, headers=bearer)
    assert page1.content_type == "application/vnd.ims.lis.v2.lineitemcontainer+json"
    assert len(page1.get_json()) == 10
    nxt = re.match(r'<([^>]+)>; rel="next"', page1.headers["Link"]).group(1)
    page2 = client.get(nxt.replace(BASE, ""), headers=bearer)
    assert len(page2.get_json()) == 2 and "Link" not in page2.headers
    assert len(client.get(LI + "?tag=attendance", headers=bearer).get_json()) == 6
    assert [i["label"] for i in client.get(LI + "?resource_id=r3", headers=bearer).get_json()] == ["Session 3"]
    item_url = page1.get_json()[0]["id"].replace(BASE, "")
    assert client.put(item_url, json={"label": "Renamed", "scoreMaximum": 20}, headers=bearer).get_json()["label"] == "Renamed"
    assert client.delete(item_url, headers=bearer).status_code == 204
    assert client.get(item_url, headers=bearer).status_code == 404


def _score(user, ts, given=None, maximum=None, progress="FullyGraded"):
    body = {"userId": user, "activityProgress": "Completed", "gradingProgress": progress, "timestamp": ts}
    if given is not None:
        body["scoreGiven"] = given
    if maximum is not None:
        body["scoreMaximum"] = maximum
    return body


def test_scores_behave_like_canvas(client, bearer, session):
    item = client.post(LI, json={"label": "Attendance", "scoreMaximum": 10}, headers=bearer).get_json()["id"]
    scores = item.replace(BASE, "") + "/scores"
    ok = client.post(scores, json=_score("demo-participant-1", "2026-01-01T10:00:00.100+00:00", 7, 10),
                     headers=bearer, content_type="application/vnd.ims.lis.v1.score+json")
    assert ok.status_code == 200
    older = client.post(scores, json=_score("demo-participant-1", "2026-01-01T10:00:00.050+00:00", 8, 10),
                        headers=bearer)
    assert older.status_code == 400
    assert client.post(scores, json=_score("demo-participant-1", "2026-01-01T11:00:00Z", 8), headers=bearer).status_code == 422
    assert client.post(scores, json=_score("demo-facilitator-1", "2026-01-01T11:00:00Z", 8, 10), headers=bearer).status_code == 422
    assert client.post(scores, json={"userId": "demo-participant-1"}, headers=bearer).status_code == 400
    assert client.post(scores, json=_score("demo-participant-1", "2026-01-01T12:00:00Z", 9, 10), headers=bearer).status_code == 200
    results = client.get(item.replace(BASE, "") + "/results?user_id=demo-participant-1", headers=bearer)
    assert results.get_json()[0]["resultScore"] == 9 and results.get_json()[0]["userId"] == "demo-participant-1"
    platform = sb.ensure_platform(session, BASE)
    line_item = sb.line_items(session, sb.get_course(session, platform, "demo-course"))[0]
    assert len(sb.score_history(session, line_item, "demo-participant-1")) == 2
    gradebook = client.get("/sandbox/gradebook?course=demo-course").get_data(as_text=True)
    assert "Attendance" in gradebook and ">9" in gradebook.replace("\n", "").replace(" ", "")


def test_a_token_without_the_score_scope_cannot_post_scores(client, tool_key, bearer):
    item = client.post(LI, json={"label": "A", "scoreMaximum": 1}, headers=bearer).get_json()["id"]
    token = get_token(client, tool_key, scopes=[sb.SCOPE_LINEITEM_READONLY]).get_json()["access_token"]
    answer = client.post(item.replace(BASE, "") + "/scores", json=_score("demo-participant-1", "2026-01-01T10:00:00Z"),
                         headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 403


# -- NRPS ----------------------------------------------------------------------------------------------------

def _follow(client, url, headers):
    members, pages = [], 0
    while url:
        r = client.get(url.replace(BASE, ""), headers=headers)
        assert r.status_code == 200 and r.content_type == "application/vnd.ims.lti-nrps.v2.membershipcontainer+json"
        members += r.get_json()["members"]
        pages += 1
        link = r.headers.get("Link")
        url = re.match(r'<([^>]+)>; rel="next"', link).group(1) if link else None
    return members, pages


def test_nrps_canvas_pages_with_an_opaque_cursor(client, session, bearer):
    platform = sb.ensure_platform(session, BASE)
    sb.add_bulk_course(session, platform, "big", 120)
    session.commit()
    members, pages = _follow(client, ISS + "/api/courses/big/names_and_roles", bearer)
    assert len(members) == 120 and pages == 3
    assert len({m["user_id"] for m in members}) == 120
    first = client.get("/sandbox/api/courses/big/names_and_roles?limit=7", headers=bearer)
    assert len(first.get_json()["members"]) == 7
    cursor = parse_qs(urlsplit(re.match(r"<([^>]+)>", first.headers["Link"]).group(1)).query)["page"][0]
    assert cursor != cursor.lower()
    body = first.get_json()
    assert body["context"]["id"] == "big" and {"status", "roles", "name", "email"} <= set(body["members"][0])


def test_nrps_moodle_pages_only_when_asked_and_reflects_roster_changes(client, session, bearer):
    platform = sb.ensure_platform(session, BASE)
    course = sb.add_course(session, platform, "moodle-course", "Moodle course", [
        (f"m{i}", f"Person {i}", f"m{i}@example.edu", [sb.LEARNER]) for i in range(5)], nrps_paging="moodle")
    sb.set_enrollment_status(session, course, "m1", "Inactive")
    sb.remove_enrollment(session, course, "m2")
    tool = sb.get_tool(session, platform)
    user = sb.get_user(session, platform, "m0")
    url = sb.id_token_claims(session, platform, tool, user, course, nonce="n")[sb.NRPS_CLAIM]["context_memberships_url"]
    session.commit()
    assert "/CourseSection/moodle-course/bindings/1/memberships" in url
    everything = client.get(url.replace(BASE, ""), headers=bearer)
    assert "Link" not in everything.headers and len(everything.get_json()["members"]) == 4
    statuses = {m["user_id"]: m["status"] for m in everything.get_json()["members"]}
    assert statuses["m1"] == "Inactive" and "m2" not in statuses
    members, pages = _follow(client, url + "?limit=2", bearer)
    assert len(members) == 4 and pages == 2


# -- faults and the request log ------------------------------------------------------------------------------

def test_faults_are_injected_then_recover_and_requests_are_logged(client, session, bearer):
    sb.add_fault(session, "names_and_roles", "429", times=1, retry_after=3)
    sb.add_fault(session, "line_items", "down", times=2)
    session.commit()
    url = "/sandbox/api/courses/demo-course/names_and_roles"
    limited = client.get(url, headers=bearer)
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "3"
    assert client.get(url, headers=bearer).status_code == 200
    assert [client.get(LI, headers=bearer).status_code for _ in range(3)] == [503, 503, 200]
    log = sb.request_log(session, "names_and_roles")
    assert [r.status for r in log] == [429, 200]
    assert len(sb.request_log(session, "/sandbox/token")) == 1
    sb.add_fault(session, "line_items", "500", times=5)
    sb.clear_faults(session)
    session.commit()
    assert client.get(LI, headers=bearer).status_code == 200


def test_timeout_fault_delays_the_answer(client, session, bearer):
    sb.add_fault(session, "line_items", "timeout", delay=0.3)
    session.commit()
    started = time.monotonic()
    assert client.get(LI, headers=bearer).status_code == 200
    assert time.monotonic() - started >= 0.3


# -- deep linking --------------------------------------------------------------------------------------------

def _dl_response(tool_key, **overrides):
    now = int(time.time())
    claims = {"iss": "sandbox-tool", "aud": [ISS], "iat": now, "exp": now + 300, "nonce": uuid.uuid4().hex,
              sb.CLAIM + "message_type": "LtiDeepLinkingResponse", sb.CLAIM + "version": "1.3.0",
              sb.CLAIM + "deployment_id": "1",
              sb.DL_CLAIM + "content_items": [
                  {"type": "ltiResourceLink", "title": "Cohort A", "url": BASE + "/lti/launch",
                   "custom": {"target": "cohort", "cohort_id": "3"}},
                  {"type": "ltiResourceLink", "title": "Final product", "url": BASE + "/lti/launch",
                   "lineItem": {"scoreMaximum": 50, "label": "Final product"}},
                  {"type": "html", "html": "<p>ignored</p>"}]}
    claims.update(overrides)
    return jwt.encode(claims, tool_key["private"], algorithm="RS256", headers={"kid": tool_key["jwk"]["kid"]})


def test_deep_link_return_places_links_that_launch_with_their_custom_claim(client, session, tool_key, bearer):
    page = client.post("/sandbox/deep_link_return?course=demo-course", data={"JWT": _dl_response(tool_key)})
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Cohort A" in html and "Final product" in html and 'target="tool-frame"' in html
    platform = sb.ensure_platform(session, BASE)
    course = sb.get_course(session, platform, "demo-course")
    links = sb.placed_links(session, course)
    assert [link.title for link in links] == ["Cohort A", "Final product"]
    assert links[1].line_item is not None and links[1].line_item.score_maximum == 50
    assert links[1].line_item.resource_link_id == links[1].resource_link_id
    tool = sb.get_tool(session, platform)
    user = sb.get_user(session, platform, "demo-participant-1")
    claims = sb.id_token_claims(session, platform, tool, user, course, nonce="n",
                                resource_link_id=links[0].resource_link_id, custom=links[0].custom)
    assert claims[sb.CLAIM + "custom"] == {"target": "cohort", "cohort_id": "3"}
    graded = sb.id_token_claims(session, platform, tool, user, course, nonce="n",
                                resource_link_id=links[1].resource_link_id)
    assert graded[sb.AGS_CLAIM]["lineitem"].endswith(f"/line_items/{links[1].line_item_id}")
    # The full launch of a placed link sends its id and custom claim.
    f = first_form(client.get(f"/sandbox/launch?user=demo-participant-1&link={links[0].resource_link_id}")
                   .get_data(as_text=True))["fields"]
    answer = client.post("/sandbox/auth", data={
        "scope": "openid", "response_type": "id_token", "response_mode": "form_post", "prompt": "none",
        "client_id": "sandbox-tool", "redirect_uri": BASE + "/lti/launch", "login_hint": f["login_hint"],
        "lti_message_hint": f["lti_message_hint"], "nonce": "n2", "state": "s"})
    token = first_form(answer.get_data(as_text=True))["fields"]["id_token"]
    sent = jwt.decode(token, options={"verify_signature": False})
    assert sent[sb.CLAIM + "resource_link"]["id"] == links[0].resource_link_id
    assert sent[sb.CLAIM + "custom"]["target"] == "cohort"
    assert "Course content" in client.get("/sandbox/").get_data(as_text=True)


@pytest.mark.parametrize("overrides, reason", [
    ({"iss": "someone"}, "not valid"),
    ({"aud": "https://other.example"}, "not valid"),
    ({sb.CLAIM + "message_type": "LtiResourceLinkRequest"}, "message_type"),
    ({sb.CLAIM + "deployment_id": "2"}, "deployment_id"),
    ({"exp": int(time.time()) - 600}, "not valid"),
    ({"nonce": None}, "not valid"),
])
def test_deep_link_return_refuses_a_bad_jwt(client, tool_key, overrides, reason):
    token = _dl_response(tool_key, **{k: v for k, v in overrides.items() if v is not None})
    if overrides.get("nonce", "") is None:
        claims = jwt.decode(token, options={"verify_signature": False})
        claims.pop("nonce")
        token = jwt.encode(claims, tool_key["private"], algorithm="RS256", headers={"kid": tool_key["jwk"]["kid"]})
    page = client.post("/sandbox/deep_link_return?course=demo-course", data={"JWT": token})
    assert page.status_code == 400 and reason in page.get_data(as_text=True)


def test_bulk_course_of_five_thousand_is_quick(session):
    platform = sb.ensure_platform(session, BASE)
    started = time.monotonic()
    course = sb.add_bulk_course(session, platform, "huge", 5000)
    session.commit()
    assert len(sb.members(session, course)) == 5000
    assert time.monotonic() - started < 10


def test_roster_page_lists_everyone(client):
    html = client.get("/sandbox/roster?course=demo-course").get_data(as_text=True)
    assert "Maya Okonkwo-Reyes" in html and "Test Student" in html and "Observer" in html
