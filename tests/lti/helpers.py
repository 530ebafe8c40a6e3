"""Forged launches over real HTTP: the tool's own /lti/login gives the state and nonce, the sandbox platform
builds and signs the id_token (mutated as a test needs), and the browser posts it to /lti/launch.

Test modules import the fixtures they use: ``from tests.lti.helpers import forge  # noqa: F401``.
"""
from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any, Callable

import pytest
import requests
from sqlalchemy import func, select

from lti_tool.db import db
from lti_tool.extensions import limiter_for
from lti_tool.lti.models import Course, Membership, Platform, User
from lti_tool.sandbox import services as sb
from tests.lti_client import LtiBrowser

CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"
LIS = "http://purl.imsglobal.org/vocab/lis/v2/"
INSTRUCTOR = LIS + "membership#Instructor"
LEARNER = LIS + "membership#Learner"
TEACHING_ASSISTANT = LIS + "membership/Instructor#TeachingAssistant"
MENTOR = LIS + "membership#Mentor"
CANVAS_TEST_USER = "http://purl.imsglobal.org/vocab/lti/system/person#TestUser"

Mutation = Callable[[dict], Any]


@dataclass
class Login:
    state: str
    nonce: str
    params: dict[str, str]


class Forger:
    """Builds forged (or merely hand-made) launches from the sandbox platform registered in the tool."""

    def __init__(self, app, live_server, info):
        self.app = app
        self.live_server = live_server
        self.info = info

    # -- browsers and the login half
    def browser(self) -> LtiBrowser:
        return LtiBrowser(self.live_server.url)

    def login(self, browser: LtiBrowser, user: str = "demo-facilitator-1", *, iss: str | None = None,
              client_id: str | None = "", **extra) -> Login:
        """POST /lti/login as the sandbox would; the tool's redirect carries the state and nonce."""
        params = browser.start_login(iss or self.info.issuer, user,
                                     self.info.client_id if client_id == "" else client_id, **extra)
        return Login(params["state"], params["nonce"], params)

    # -- the id_token half
    def claims(self, nonce: str, user: str = "demo-facilitator-1", course: str = "demo-course",
               client_id: str | None = None, **kw) -> dict:
        with self.app.app_context():
            platform = sb.first_platform(db.session)
            tool = sb.get_tool(db.session, platform, client_id or self.info.client_id)
            person = sb.get_user(db.session, platform, user)
            place = sb.get_course(db.session, platform, course)
            claims = sb.id_token_claims(db.session, platform, tool, person, place, nonce=nonce, **kw)
            db.session.commit()
        return claims

    def sign(self, claims: dict, headers: dict | None = None, key: Any = None) -> str:
        with self.app.app_context():
            platform = sb.first_platform(db.session)
            token = sb.sign_jwt(db.session, platform, claims, headers=headers, key=key)
            db.session.commit()
        return token

    def private_key_pem(self) -> str:
        with self.app.app_context():
            pem = sb.signing_key(db.session, sb.first_platform(db.session)).private_key_pem
            db.session.commit()
        return pem

    def launch(self, browser: LtiBrowser | None = None, mutate: Mutation | None = None, *,
               user: str = "demo-facilitator-1", course: str = "demo-course", headers: dict | None = None,
               login_extra: dict | None = None, **claims_kw) -> requests.Response:
        """A complete launch: tool login, claims for ``user`` in ``course``, ``mutate(claims)``, sign, post."""
        browser = browser or self.browser()
        login = self.login(browser, user, **(login_extra or {}))
        claims = self.claims(login.nonce, user, course, **claims_kw)
        if mutate is not None:
            mutate(claims)
        return browser.post_launch(self.sign(claims, headers), login.state)

    # -- what the database holds
    def count(self, model) -> int:
        with self.app.app_context():
            n = db.session.scalar(select(func.count()).select_from(model))
            db.session.commit()
        return n

    def counts(self) -> dict[str, int]:
        return {m.__name__: self.count(m) for m in (User, Course, Membership)}

    def user(self, sub: str, platform_id: int | None = None) -> User | None:
        with self.app.app_context():
            query = select(User).where(User.sub == sub)
            if platform_id is not None:
                query = query.where(User.platform_id == platform_id)
            found = db.session.scalar(query)
            if found is not None:
                db.session.expunge(found)
            db.session.commit()
        return found

    def membership(self, sub: str, context_id: str = "demo-course") -> Membership | None:
        with self.app.app_context():
            found = db.session.scalar(
                select(Membership).join(User, Membership.user_id == User.id)
                .join(Course, Membership.course_id == Course.id)
                .where(User.sub == sub, Course.context_id == context_id)
            )
            if found is not None:
                db.session.expunge(found)
            db.session.commit()
        return found

    def course_id(self, context_id: str) -> int:
        with self.app.app_context():
            cid = db.session.scalar(select(Course.id).where(Course.context_id == context_id))
            db.session.commit()
        assert cid is not None, f"no course {context_id}"
        return cid

    def platform_id(self) -> int:
        with self.app.app_context():
            pid = db.session.scalar(select(Platform.id).where(Platform.issuer == self.info.issuer,
                                                              Platform.client_id == self.info.client_id))
            db.session.commit()
        return pid


def drop(*names: str) -> Mutation:
    """A mutation removing claims (short names get the LTI claim prefix when not top-level)."""
    top = {"iss", "aud", "sub", "azp", "exp", "iat", "nonce", "name", "given_name", "family_name", "email",
           "picture"}

    def mutate(claims: dict) -> None:
        for name in names:
            claims.pop(name if name in top or name.startswith("http") else CLAIM + name, None)

    return mutate


def assert_signed_out(browser: LtiBrowser) -> None:
    """No logged-in session: the no-course page (any signed-in user may see it) answers 401."""
    response = browser.get("/lti/no-course")
    assert response.status_code == 401, response.text[:300]


def assert_refused(response: requests.Response, *fragments: str, status: int | tuple[int, ...] = (400, 401, 403)):
    statuses = (status,) if isinstance(status, int) else status
    assert response.status_code in statuses, (response.status_code, response.text[:800])
    assert "Something went wrong" not in response.text
    text = html.unescape(response.text).lower()
    for fragment in fragments:
        assert fragment.lower() in text, (fragment, _main_text(response.text))


def _main_text(html: str) -> str:
    start = html.find("<main")
    return html[start:start + 1200] if start >= 0 else html[:1200]


@pytest.fixture
def forge(app, live_server, sandbox) -> Forger:
    # Every test logs in a few times from 127.0.0.1: start each under the login rate limit.
    limiter_for(app).reset()
    return Forger(app, live_server, sandbox)


@pytest.fixture
def throwaway_app(tmp_path):
    """Builds extra apps (a route that fails, an empty database) without disturbing the session's app:
    each app has its own job queue and rate limiter, so building one changes nothing of the others."""
    from lti_tool import create_app

    def make(**overrides):
        config = dict(STATE_CACHE_DIR=str(tmp_path / "state"), REDIS_URL="", SERVER_NAME=None)
        config.update(overrides)
        return create_app("testing", **config)

    yield make
