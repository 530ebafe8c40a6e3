"""Hardened LTI 1.3 login and launch on pylti1p3, and the blueprint: /lti/login, /lti/launch, /lti/jwks.

pylti1p3 2.0.0 leaves gaps (see the LTI brief, §1.7 and §1.11) that this module closes:
exp/iat required with a small leeway, RS256 only, aud/azp checked as the Security Framework says,
a nonce good for one launch, state bound to the browser and to the platform the login began with,
platform keys cached and refetched once on an unknown kid, timeouts on every fetch, and every refusal
a clear 4xx page instead of a bare Exception's 500.
"""
from __future__ import annotations

import hashlib
import logging
import time
from typing import Any
from urllib.parse import urlsplit

import jwt
import requests
from flask import (Blueprint, Response, abort, current_app, jsonify, make_response, redirect,
                   render_template, request, url_for)
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_user
from pylti1p3.contrib.flask import FlaskCookieService, FlaskMessageLaunch, FlaskOIDCLogin, FlaskRequest
from pylti1p3.exception import LtiException, OIDCException
from jwcrypto.jwk import JWK

from lti_tool.db import db
from lti_tool.errors import LaunchRefused
from lti_tool.extensions import csrf, rate_limit
from lti_tool.lti import deep_linking, identity, keys, storage
from lti_tool.lti.registry import DatabaseToolConf, find_deployment, find_platform
from lti_tool.web import cookie_attributes

log = logging.getLogger("lti_tool.launch")

bp = Blueprint("lti", __name__, url_prefix="/lti")

CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"
DL_SETTINGS_CLAIM = "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"
STORAGE_STATE_FIELD = "lti_storage_state"


class MalformedMessage(LtiException):
    """A message signed by a registered platform that lacks what its type needs. The sender is who it says
    it is, so this is a bad request (400) for the LMS administrator to fix, not a failed authentication."""


class IframeCookieService(FlaskCookieService):
    """pylti1p3's cookies (state, session-id) with the same iframe-friendly attributes as ours."""

    def update_response(self, response: Response) -> None:
        for key, data in self._cookie_data_to_set.items():
            response.set_cookie(key=key, value=data["value"], max_age=data["exp"], **cookie_attributes())


def _http() -> requests.Session:
    session = requests.Session()
    session.headers["User-Agent"] = "CommunitiesOfPractice-LTI/1.0"
    return session


class HardenedLogin(FlaskOIDCLogin):
    def __init__(self, tool_conf: DatabaseToolConf, launch_data_storage):
        req = FlaskRequest(request_is_secure=request.is_secure)
        super().__init__(req, tool_conf, cookie_service=IframeCookieService(req))
        self.set_launch_data_storage(launch_data_storage)
        self.set_launch_data_lifetime(current_app.config["LTI_LAUNCH_STATE_SECONDS"])

    def _prepare_redirect_url(self, launch_url: str) -> str:
        url = super()._prepare_redirect_url(launch_url)
        # Keep the state and nonce so the platform-storage page can hand them to the LMS frame.
        query = dict(p.split("=", 1) for p in urlsplit(url).query.split("&") if "=" in p)
        self.state = query.get("state", "")
        self.nonce = query.get("nonce", "")
        # Our own single-use nonce registry, global to every browser and worker: whatever storage the
        # launch uses (cookie-bound or platform storage), a nonce is accepted once.
        storage.cache().set("nonce:" + self.nonce, 1, timeout=current_app.config["LTI_LAUNCH_STATE_SECONDS"])
        return url


class HardenedLaunch(FlaskMessageLaunch):
    def __init__(self, tool_conf: DatabaseToolConf, launch_data_storage, *, storage_verified: bool = False):
        req = FlaskRequest(request_is_secure=request.is_secure)
        super().__init__(req, tool_conf, cookie_service=IframeCookieService(req),
                         launch_data_storage=launch_data_storage, requests_session=_http())
        self.tool_conf = tool_conf
        self.leeway = current_app.config["LTI_JWT_LEEWAY_SECONDS"]
        self.storage_verified = storage_verified
        self._jwt_verify_options = {"verify_aud": False, "require": ["exp", "iat", "iss", "aud", "nonce"]}
        self._client_id_override: str | None = None

    # -- state: bound to this browser (cookie) or, without cookies, verified through LMS platform storage
    def validate_state(self):
        state = self._get_request_param("state")
        if not state:
            raise LtiException("Missing state param")
        if self.storage_verified:
            return self
        if self._cookie_service.get_cookie(state) != state:
            raise LtiException("The state does not belong to this browser (or the login is too old)")
        return self

    # -- aud and azp (Security Framework §5.1.3 steps 3-5); unknown issuers give a clean refusal
    def validate_registration(self):
        body = self._get_jwt_body()
        iss = body.get("iss")
        if not iss or not isinstance(iss, str):
            raise LtiException('"iss" is empty')
        aud = body.get("aud")
        audiences = aud if isinstance(aud, list) else [aud]
        if not audiences or not all(isinstance(a, str) and a for a in audiences):
            raise LtiException('"aud" is missing or malformed')
        mine = [a for a in audiences if self.tool_conf.lookup(iss, a) is not None]
        if not mine:
            raise LtiException("Unknown platform: the issuer and audience are not registered with this tool")
        if len(mine) != len(audiences):
            raise LtiException('"aud" contains audiences this tool does not trust')
        azp = body.get("azp")
        if len(audiences) > 1 and azp is None:
            raise LtiException('"azp" is required when "aud" has several values')
        if azp is not None and azp not in mine:
            raise LtiException('"azp" is not this tool\'s client_id')
        self._client_id_override = azp or mine[0]
        return super().validate_registration()

    def get_client_id(self) -> str:
        return self._client_id_override or super().get_client_id()

    # -- platform keys: shared cache, timeouts, one refetch when an unknown kid arrives
    def fetch_public_key(self, key_set_url: str, *, fresh: bool = False) -> dict:
        cache_key = "jwks:" + hashlib.sha256(key_set_url.encode()).hexdigest()
        cache = storage.cache()
        if not fresh:
            cached = cache.get(cache_key)
            if cached:
                return cached["keys"]
        try:
            resp = self._requests_session.get(key_set_url, timeout=current_app.config["LTI_HTTP_TIMEOUT_SECONDS"])
            resp.raise_for_status()
            key_set = resp.json()
            if not isinstance(key_set, dict) or not isinstance(key_set.get("keys"), list):
                raise ValueError("no keys")
        except (requests.RequestException, ValueError) as exc:
            raise LtiException(f"Could not fetch the platform's keys from {key_set_url}") from exc
        cache.set(cache_key, {"keys": key_set, "at": time.time()}, timeout=current_app.config["LTI_JWKS_CACHE_SECONDS"])
        return key_set

    def get_public_key(self) -> tuple[str, str]:
        header = self._jwt.get("header", {})
        kid, alg = header.get("kid"), header.get("alg")
        if not kid:
            raise LtiException("JWT KID not found")
        if alg != "RS256":
            raise LtiException("Only RS256-signed id_tokens are accepted")
        url = self._registration.get_key_set_url()
        if not url or not url.startswith(("http://", "https://")):
            raise LtiException("The platform has no usable JWKS URL")
        key_set = self.fetch_public_key(url)
        key = _find_key(key_set, kid)
        if key is None and self._may_refetch(url):
            key = _find_key(self.fetch_public_key(url, fresh=True), kid)
        if key is None:
            raise LtiException("Unable to find public key (unknown kid)")
        return JWK(**key).export_to_pem().decode(), "RS256"

    @staticmethod
    def _may_refetch(url: str) -> bool:
        # One refetch per URL every few seconds: a flood of forged kids cannot hammer the LMS.
        return storage.cache().add("jwks-refetch:" + hashlib.sha256(url.encode()).hexdigest(), 1, timeout=5)

    def validate_jwt_signature(self):
        public_key, _ = self.get_public_key()
        try:
            jwt.decode(self._get_id_token(), public_key, algorithms=["RS256"],
                       options=self._jwt_verify_options, leeway=self.leeway)
        except jwt.InvalidTokenError as exc:
            raise LtiException(f"Invalid id_token: {exc}") from exc
        return self

    def validate_message(self):
        body = self._get_jwt_body()
        roles = body.get(CLAIM + "roles")
        if roles is not None and not (isinstance(roles, list) and all(isinstance(r, str) for r in roles)):
            raise LtiException("The roles claim must be a list of strings")
        target_link_uri = body.get(CLAIM + "target_link_uri")
        if target_link_uri and not (isinstance(target_link_uri, str) and _own_url(target_link_uri)):
            raise LtiException("The target_link_uri claim does not point at this tool")
        if body.get(CLAIM + "message_type") == "LtiDeepLinkingRequest":
            _check_deep_linking_settings(body.get(DL_SETTINGS_CLAIM))
        return super().validate_message()

    # -- the state's platform, then the nonce, consumed only once everything else has passed
    def save_launch_data(self):
        state = self._get_request_param("state")
        params = self._session_service.get_state_params(state) or {}
        body = self._get_jwt_body()
        if params.get("iss") != body.get("iss") or params.get("client_id") != self.get_client_id():
            raise LtiException("The launch comes from another platform than the login it answers")
        if storage.take("nonce:" + str(body["nonce"])) is None:
            raise LtiException("This launch was already used (nonce replayed)")
        self._session_service.save_launch_data(self._launch_id, body)
        self.login_params = params
        return self


def _check_deep_linking_settings(settings: Any) -> None:
    """The picker's answer is a form the browser posts to deep_link_return_url: without one (pylti1p3 does
    not check it) a teacher would choose content that can never reach the LMS."""
    if not isinstance(settings, dict) or not settings:
        raise MalformedMessage(
            'The LMS sent a deep linking request without its "deep_linking_settings" claim, so the tool cannot '
            "send the content you choose back to the course. Ask your LMS administrator to check how the tool "
            "is configured for content selection (deep linking).")
    return_url = settings.get("deep_link_return_url")
    parts = urlsplit(return_url) if isinstance(return_url, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
        raise MalformedMessage(
            'The LMS sent a deep linking request without a usable "deep_link_return_url" (the http or https '
            "address the chosen content goes back to), so the tool cannot place anything in the course. Ask your "
            "LMS administrator to check how the tool is configured for content selection (deep linking).")


def _find_key(key_set: dict, kid: str) -> dict | None:
    for key in key_set.get("keys", []):
        if key.get("kid") == kid and key.get("kty") == "RSA" and key.get("alg", "RS256") == "RS256":
            return key
    return None


def _storage_for_request(*, bind_to_browser: bool):
    backend = storage.cache()
    store = storage.BrowserBoundStorage(backend)
    if not bind_to_browser:
        # Platform-storage launches: no cookies; the random state is the key and the LMS frame binds it.
        store._session_cookie_name = None  # type: ignore[assignment]
        store.get_session_cookie_name = lambda: None  # type: ignore[method-assign]
    return store


def _refuse(message: str, reason: Exception | None = None, status: int = 401):
    log.info("launch refused: %s (%s)", message, type(reason).__name__ if reason else "-")
    err = LaunchRefused(message)
    err.status = status
    raise err


def _param(name: str) -> str:
    value = request.values.get(name, "")
    return value if isinstance(value, str) else ""


def _deployment_may_launch(platform, deployment_id: str) -> bool:
    """Known, or learnt at its first launch (Canvas dynamic registration, as DatabaseToolConf allows)."""
    if find_deployment(db.session, platform, deployment_id) is not None:
        return True
    return (platform.registered_by == "dynamic" and platform.product_family == "canvas"
            and current_app.config["LTI_AUTO_REGISTER_DEPLOYMENTS"])


def _text_claim(body: dict, name: str) -> str:
    value = body.get(name)
    return value if isinstance(value, str) else ""


def _own_url(url: str) -> bool:
    root = urlsplit(request.url_root)
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and parts.netloc == root.netloc


def _login_browser_key() -> str:
    """One person in one browser: the client address with the issuer and login_hint the LMS sent."""
    person = hashlib.sha256(f"{_param('iss')}\0{_param('login_hint')}".encode()).hexdigest()[:32]
    return f"login:{get_remote_address()}:{person}"


def _login_address_key() -> str:
    return f"login:{get_remote_address()}"


@bp.route("/login", methods=["GET", "POST"])
@csrf.exempt
@rate_limit(lambda: current_app.config["RATELIMIT_LOGIN_PER_BROWSER"], key_func=_login_browser_key,
            scope="browser",
            error_message="This browser has started too many sign-ins to the tool in the last minute. "
                          "Wait a minute, then open the tool again from your course.")
@rate_limit(lambda: current_app.config["RATELIMIT_LOGIN_PER_ADDRESS"], key_func=_login_address_key,
            scope="address",
            error_message="Too many sign-ins to the tool came from your network in the last minute. "
                          "Wait a minute, then open the tool again from your course.")
def login():
    """OIDC third-party-initiated login: check the platform, then send the browser to its auth endpoint."""
    iss, login_hint, client_id = _param("iss"), _param("login_hint"), _param("client_id")
    target = _param("target_link_uri")
    if not iss or not login_hint:
        _refuse("The login request is missing the issuer or login_hint.", status=400)
    platform = find_platform(db.session, iss, client_id or None)
    if platform is None:
        _refuse("This LMS is not registered with the tool (unknown issuer or client_id). "
                "Ask your LMS administrator to install it (see the tool's help page).", status=400)
    if target and not _own_url(target):
        _refuse("The target_link_uri does not point at this tool.", status=400)
    deployment_id = _param("lti_deployment_id")
    if deployment_id and not _deployment_may_launch(platform, deployment_id):
        _refuse("This deployment of the tool is not registered here. Ask your LMS administrator to register "
                "the deployment id (see the tool's help page).", status=400)
    storage_target = _param("lti_storage_target")
    use_cookies = not storage_target
    try:
        oidc = HardenedLogin(DatabaseToolConf(db.session), _storage_for_request(bind_to_browser=True))
        oidc.pass_params_to_launch({"iss": platform.issuer, "client_id": platform.client_id,
                                    "platform_id": platform.id, "target_link_uri": target})
        redirect_obj = oidc.get_redirect_object(url_for("lti.launch", _external=True))
    except (LtiException, OIDCException) as exc:
        _refuse(f"The login could not start: {exc}", exc, status=400)
    log.info("login started platform=%s storage=%s", platform.id, "platform" if storage_target else "cookie")
    if use_cookies:
        return redirect_obj.do_redirect()
    # Canvas with third-party cookies possibly blocked: store the state in the LMS's frame first.
    # The state and nonce were also saved without the browser namespace, so the launch can find them.
    unbound = _storage_for_request(bind_to_browser=False)
    ttl = current_app.config["LTI_LAUNCH_STATE_SECONDS"]
    unbound.set_value("lti1p3-nonce-" + oidc.nonce, True, exp=ttl)
    unbound.set_value("lti1p3-" + oidc.state, oidc._state_params, exp=ttl)
    response = make_response(render_template(
        "lti/platform_storage.html", mode="put", state=oidc.state, nonce=oidc.nonce,
        storage_target=storage_target, platform_origin=platform.origin,
        redirect_url=redirect_obj.get_redirect_url(),
    ))
    oidc._cookie_service.update_response(response)
    return response


@bp.route("/launch", methods=["POST"])
@csrf.exempt
def launch():
    """The one registered redirect URI: validate the id_token, upsert the identity, log in, redirect."""
    state = _param("state")
    storage_target = _param("lti_storage_target")
    has_cookie = bool(state) and request.cookies.get("lti1p3-" + state) == state
    if not has_cookie and storage_target and state and not request.form.get(STORAGE_STATE_FIELD):
        # No cookie came back: ask the LMS frame for the state we stored at login, then post again.
        platform_origin = ""
        try:
            # Unverified, only to know which LMS frame to ask: claims of any JSON type may arrive here.
            unverified = jwt.decode(_param("id_token"), options={"verify_signature": False})
            iss, azp, aud = (_text_claim(unverified, name) for name in ("iss", "azp", "aud"))
            platform = (find_platform(db.session, iss, None) or find_platform(db.session, iss, azp or aud or None)
                        if iss else None)
            platform_origin = platform.origin if platform else ""
        except jwt.InvalidTokenError:
            pass
        if not platform_origin:
            _refuse("The launch could not be matched to a registered LMS.")
        return render_template("lti/platform_storage.html", mode="get", state=state,
                               storage_target=storage_target, platform_origin=platform_origin,
                               id_token=_param("id_token"))
    storage_verified = bool(storage_target) and request.form.get(STORAGE_STATE_FIELD) == state and bool(state)
    tool_conf = DatabaseToolConf(db.session)
    try:
        message = HardenedLaunch(tool_conf, _storage_for_request(bind_to_browser=not storage_verified),
                                 storage_verified=storage_verified)
        message.validate()
        body = message.get_launch_data()
    except MalformedMessage as exc:
        db.session.rollback()
        _refuse(str(exc), exc, status=400)
    except LtiException as exc:
        db.session.rollback()
        _refuse(_explain(str(exc)), exc)
    except Exception as exc:  # pylti1p3 raises bare Exception on some malformed input
        db.session.rollback()
        log.warning("launch refused by an unexpected error: %s", type(exc).__name__)
        _refuse("The launch message could not be read.", exc)
    platform = tool_conf.platform
    assert platform is not None
    result = identity.record_launch(db.session, platform, body, tool_conf.deployment)
    db.session.commit()
    login_user(result.user)
    log.info("launch ok platform=%s deployment=%s course=%s user=%s role=%s type=%s",
             platform.id, result.deployment_id, result.course.id if result.course else "-",
             result.user.id, result.membership.role.value if result.membership else "-", result.message_type)
    from lti_tool.lti.roster_views import sync_at_launch  # a stale roster is re-read in the background

    sync_at_launch(db.session, result.membership)
    if result.message_type == "LtiDeepLinkingRequest":
        next_url = deep_linking.begin(platform, body, result)
    else:
        next_url = deep_linking.landing_url(result)
    token = storage.new_session_id()
    storage.cache().set("continue:" + token, {"user_id": result.user.id, "next": next_url}, timeout=300)
    return redirect(url_for("lti.session_check", t=token))


_EXPLAINED = {
    # pylti1p3's terse messages, said so that an LMS administrator knows what to look at.
    "State not found": "The launch did not start in this browser, or it took too long. Open the tool again from the course.",
    "Invalid Nonce": "This launch was not started by the tool, or it was already used. Open the tool again from the course.",
    "Missing %s cookie": "Your browser did not send back the cookie the launch needs. Open the tool again from the course.",
    '"nonce" is empty': 'The launch message has no "nonce" claim: it is not an LTI 1.3 launch.',
    "JWT must contain 3 parts": "The id_token is not a JWT: it is not an LTI 1.3 launch.",
    "Invalid JWT format": "The id_token is not a JWT: it is not an LTI 1.3 launch.",
    "Missing id_token": "The launch has no id_token: it is not an LTI 1.3 launch.",
    "Must have a user (sub)": 'The launch message does not name the user (the "sub" claim is missing).',
    "deployment_id is not set": 'The launch message has no "deployment_id" claim.',
    "Unable to find deployment": "This deployment of the tool is not registered here. Ask your LMS administrator to "
                                 "register the deployment id (see the tool's help page).",
    "Missing Roles Claim": 'The launch message has no "roles" claim.',
    "Incorrect version": 'The launch message is not LTI 1.3.0 (its "version" claim is missing or wrong).',
    "Invalid message type": 'The launch message has no "message_type" claim this tool handles.',
    "Missing Resource Link Id": "The launch message has no resource link id (the \"resource_link\" claim).",
    "Signature has expired": 'The launch message has expired (its "exp" time has passed). Open the tool again '
                             "from the course; if this repeats, the LMS's clock may be wrong.",
    "not yet valid": 'The launch message is dated in the future (its "iat" time is not yet valid); the clocks of the '
                     "LMS and the tool disagree.",
}


def _explain(message: str) -> str:
    for key, text in _EXPLAINED.items():
        if key in message:
            return text
    return f"The launch was refused: {message}."


@bp.route("/session-check")
def session_check():
    """After a launch: if the session cookie came back, go on; if the browser blocks it, offer a new window."""
    token = request.args.get("t", "")
    data = storage.cache().get("continue:" + token) if token else None
    if data is None:
        abort(400, "This link has expired. Open the tool again from your course.")
    if current_user.is_authenticated and current_user.id == data["user_id"]:
        storage.take("continue:" + token)
        return redirect(data["next"])
    return render_template(
        "lti/message.html", title="Open the tool in a new window",
        message="Your browser blocks the cookies this tool needs inside the course page. "
                "Open it in a new window to continue; you stay signed in to your LMS.",
        action_url=url_for("lti.continue_launch", t=token), action_label="Open in a new window",
        action_target="_blank",
    )


@bp.route("/continue")
def continue_launch():
    """The new-window half of the cookie fallback: a single-use token signs in and goes on."""
    data = storage.take("continue:" + request.args.get("t", ""))
    if data is None:
        abort(400, "This link has expired or was already used. Open the tool again from your course.")
    from lti_tool.lti.models import User

    user = db.session.get(User, data["user_id"])
    if user is None:
        abort(400, "This link is no longer valid.")
    login_user(user)
    return redirect(data["next"])


@bp.route("/jwks")
def jwks():
    payload = keys.jwks(db.session)
    db.session.commit()  # the first call creates the key
    response = jsonify(payload)
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


@bp.route("/no-course")
def no_course():
    if not current_user.is_authenticated:
        abort(401, "Open the tool from your course.")
    return render_template(
        "lti/message.html", title="Open the tool from a course",
        message=f"You are signed in as {current_user.display_name}, but this launch did not come from a course. "
                "Communities of Practice lives inside a course: open it from the course's navigation or a module.",
    )


@bp.route("/help")
def help_page():
    """How to install the tool: its own URLs and the steps for anyone, no session needed. A platform's
    registration (issuer, client id, deployments) only to that platform's LMS administrator, signed in
    through a launch from it; `flask --app wsgi platforms list` shows every platform on the server."""
    platform = identity.administered_platform(db.session, current_user) if current_user.is_authenticated else None
    endpoints = {
        "login_url": url_for("lti.login", _external=True),
        "launch_url": url_for("lti.launch", _external=True),
        "jwks_url": url_for("lti.jwks", _external=True),
        "canvas_json_url": url_for("lti_registration.canvas_json", _external=True),
        "register_url": url_for("lti_registration.register", _external=True),
        "deep_link_url": url_for("lti.launch", _external=True),
    }
    response = make_response(render_template("lti/help.html", endpoints=endpoints,
                                             platforms=[platform] if platform else None))
    if platform is not None:  # one administrator's page: no shared cache may keep it for the next visitor
        response.headers["Cache-Control"] = "private, no-store"
    return response
