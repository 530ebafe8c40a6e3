"""How an LMS learns about the tool: the Canvas developer-key JSON, and LTI Dynamic Registration
(1EdTech LTI-DR 1.0, which pylti1p3 lacks) for Moodle 4.x/5.x and Canvas: /lti/register, /lti/canvas.json.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests
from flask import Blueprint, current_app, render_template, request
from sqlalchemy.orm import Session

from lti_tool.db import db
from lti_tool.errors import DomainError
from lti_tool.extensions import rate_limit
from lti_tool.lti.models import Platform
from lti_tool.lti.registry import PlatformSpec, add_platform

log = logging.getLogger("lti_tool.registration")

bp = Blueprint("lti_registration", __name__)

TOOL_ID = "communities-of-practice"
TOOL_CONFIGURATION = "https://purl.imsglobal.org/spec/lti-tool-configuration"
PLATFORM_CONFIGURATION = "https://purl.imsglobal.org/spec/lti-platform-configuration"
CANVAS = "https://canvas.instructure.com/lti/"

AGS_SCOPES = (
    "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem",
    "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly",
    "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly",
    "https://purl.imsglobal.org/spec/lti-ags/scope/score",
)
NRPS_SCOPE = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
SCOPES = (*AGS_SCOPES, NRPS_SCOPE)
CLAIMS = ("iss", "sub", "name", "given_name", "family_name", "email", "picture")

RESOURCE_LINK = "LtiResourceLinkRequest"
DEEP_LINKING = "LtiDeepLinkingRequest"

# Canvas variable substitutions; any a launch cannot fill arrive literally ("$Canvas...") and count as absent.
CANVAS_CUSTOM_FIELDS = {
    "canvas_course_id": "$Canvas.course.id",
    "canvas_user_id": "$Canvas.user.id",
    "canvas_user_sis_id": "$Canvas.user.sisid",
    "canvas_api_domain": "$Canvas.api.domain",
    "canvas_assignment_id": "$Canvas.assignment.id",
    "canvas_points_possible": "$Canvas.assignment.pointsPossible",
    "canvas_membership_roles": "$Canvas.membership.roles",
    "post_message_token": "$com.instructure.PostMessageToken",
}

SELECTION_WIDTH = 800
SELECTION_HEIGHT = 600
MAX_RESPONSE_BYTES = 1024 * 1024


class RegistrationError(DomainError):
    """Dynamic registration could not go on; the page says what happened and what to do."""

    status = 400
    title = "Registration could not be completed"

    def __init__(self, message: str, *, title: str | None = None, status: int | None = None,
                 details: list[str] | None = None):
        super().__init__(message)
        if title:
            self.title = title
        if status:
            self.status = status
        self.details = details or []


class TokenAlreadyUsed(RegistrationError):
    status = 409
    title = "This registration link was already used"


# -- what the tool says about itself ----------------------------------------------------------------------

@dataclass(frozen=True)
class ToolUrls:
    base: str
    login: str
    launch: str
    jwks: str
    logo: str | None = None

    @property
    def domain(self) -> str:
        return urlsplit(self.base).netloc

    @classmethod
    def from_base(cls, base: str, jwks_url: str | None = None, logo_url: str | None = None) -> ToolUrls:
        base = base.rstrip("/")
        return cls(base=base, login=f"{base}/lti/login", launch=f"{base}/lti/launch",
                   jwks=jwks_url or f"{base}/lti/jwks", logo=logo_url or None)


def _title_and_description(title: str | None, description: str | None) -> tuple[str, str]:
    config = current_app.config
    return title or config["LTI_TOOL_TITLE"], description or config["LTI_TOOL_DESCRIPTION"]


def canvas_developer_key(tool_base_url: str, jwks_url: str | None = None, *, title: str | None = None,
                         description: str | None = None, icon_url: str | None = None) -> dict[str, Any]:
    """The developer-key JSON Canvas reads with "Enter URL" (manual LTI 1.3 configuration).

    Every placement launches at the one redirect URI, /lti/launch; the launch routes on the message type.
    """
    urls = ToolUrls.from_base(tool_base_url, jwks_url, icon_url)
    title, description = _title_and_description(title, description)
    settings: dict[str, Any] = {
        "text": title,
        "selection_width": SELECTION_WIDTH,
        "selection_height": SELECTION_HEIGHT,
        "placements": [
            {
                "placement": "course_navigation",
                "message_type": RESOURCE_LINK,
                "text": title,
                "target_link_uri": urls.launch,
                "default": "enabled",
                "visibility": "members",
            },
            {
                "placement": "link_selection",
                "message_type": DEEP_LINKING,
                "text": f"Add {title} content",
                "target_link_uri": urls.launch,
                "selection_width": SELECTION_WIDTH,
                "selection_height": SELECTION_HEIGHT,
            },
            {
                "placement": "assignment_selection",
                "message_type": DEEP_LINKING,
                "text": f"{title} graded activity",
                "target_link_uri": urls.launch,
                "selection_width": SELECTION_WIDTH,
                "selection_height": SELECTION_HEIGHT,
            },
        ],
    }
    if urls.logo:
        settings["icon_url"] = urls.logo
    return {
        "title": title,
        "description": description,
        "oidc_initiation_url": urls.login,
        "target_link_uri": urls.launch,
        "public_jwk_url": urls.jwks,
        "scopes": list(SCOPES),
        "extensions": [
            {
                "domain": urls.domain,
                "tool_id": TOOL_ID,
                "platform": "canvas.instructure.com",
                "privacy_level": "public",
                "settings": settings,
            }
        ],
        "custom_fields": dict(CANVAS_CUSTOM_FIELDS),
    }


# -- the platform's OpenID configuration ------------------------------------------------------------------

@dataclass
class PlatformConfiguration:
    """The validated OpenID configuration of an LMS that wants to register the tool."""

    url: str
    data: dict[str, Any]
    issuer: str = ""
    authorization_endpoint: str = ""
    token_endpoint: str = ""
    jwks_uri: str = ""
    registration_endpoint: str = ""
    product_family: str = ""
    version: str = ""
    account_name: str = ""
    messages_supported: list[str] = field(default_factory=list)
    scopes_supported: list[str] | None = None

    @property
    def lti(self) -> dict[str, Any]:
        value = self.data.get(PLATFORM_CONFIGURATION)
        return value if isinstance(value, dict) else {}

    @property
    def is_canvas(self) -> bool:
        return self.product_family == "canvas"

    @property
    def product_name(self) -> str:
        names = {"canvas": "Canvas", "moodle": "Moodle"}
        return names.get(self.product_family, self.product_family or "an LTI platform")

    @property
    def display_name(self) -> str:
        host = urlsplit(self.issuer).netloc
        if self.account_name:
            return f"{self.account_name} ({self.product_name})"
        return f"{self.product_name} at {host}" if self.product_family else host

    def supports(self, message_type: str) -> bool:
        # A platform that lists nothing is taken to accept the two messages every LTI 1.3 platform knows.
        return not self.messages_supported or message_type in self.messages_supported

    def granted_scopes(self) -> list[str]:
        if self.scopes_supported is None:
            return list(SCOPES)
        return [s for s in SCOPES if s in self.scopes_supported]

    def services(self) -> list[str]:
        granted = set(self.granted_scopes())
        found = []
        if granted & set(AGS_SCOPES):
            found.append("Assignment and Grade Services (grades go back to the LMS gradebook)")
        if NRPS_SCOPE in granted:
            found.append("Names and Role Provisioning Services (course roster)")
        if self.supports(DEEP_LINKING):
            found.append("Deep Linking (place program pages in modules and assignments)")
        return found


def _http() -> requests.Session:
    session = requests.Session()
    session.headers["User-Agent"] = "CommunitiesOfPractice-LTI/1.0"
    session.headers["Accept"] = "application/json"
    return session


def _check_url(url: str, what: str) -> str:
    parts = urlsplit(url or "")
    allowed = ("https",) if current_app.config.get("ENV_NAME") == "production" else ("https", "http")
    if parts.scheme not in allowed or not parts.hostname:
        raise RegistrationError(
            f"The {what} {url!r} is not a usable {' or '.join(allowed)} URL.",
            title="The LMS sent an unusable address",
        )
    return url


def _read_json(response: requests.Response, what: str) -> Any:
    body = response.raw.read(MAX_RESPONSE_BYTES + 1, decode_content=True) if response.raw else response.content
    if len(body) > MAX_RESPONSE_BYTES:
        raise RegistrationError(f"The {what} is larger than {MAX_RESPONSE_BYTES // 1024} KB.",
                                title="The LMS answered with something unexpected")
    try:
        return json.loads(body.decode(response.encoding or "utf-8"))
    except (ValueError, UnicodeDecodeError):
        raise RegistrationError(
            f"The {what} is not valid JSON (HTTP {response.status_code}, "
            f"{response.headers.get('Content-Type', 'no content type')}).",
            title="The LMS answered with something unexpected",
        ) from None


def _error_text(body: Any) -> str:
    if isinstance(body, dict):
        parts = [str(body[k]) for k in ("error", "error_description", "message", "errors") if body.get(k)]
        if parts:
            return ": ".join(parts)
    return json.dumps(body)[:500] if body is not None else ""


def _token_used(text: str) -> bool:
    text = text.lower()
    return "already_used" in text or "already used" in text


def _raise_token_used(detail: str) -> None:
    raise TokenAlreadyUsed(
        "The LMS says this registration link has already been used. Each registration link works once: "
        "start the registration again in the LMS to get a fresh link.",
        details=[f"The LMS answered: {detail}"] if detail else [],
    )


def _request(method: str, url: str, what: str, token: str | None, **kwargs) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        with _http() as http:
            response = http.request(method, url, headers=headers, stream=True, allow_redirects=False,
                                    timeout=current_app.config["LTI_HTTP_TIMEOUT_SECONDS"], **kwargs)
            with response:
                if 300 <= response.status_code < 400:
                    raise RegistrationError(
                        f"Asking for the {what} at {url} was redirected (HTTP {response.status_code}); "
                        "the LMS must answer at the address it gave.",
                        title="The LMS answered with something unexpected")
                try:
                    body = _read_json(response, what)
                except RegistrationError:
                    if response.ok:
                        raise
                    body = None
                return response.status_code, body
    except requests.Timeout:
        raise RegistrationError(
            f"The LMS did not answer within {current_app.config['LTI_HTTP_TIMEOUT_SECONDS']:g} seconds "
            f"when asked for the {what} at {url}.", title="The LMS could not be reached") from None
    except requests.RequestException as exc:
        log.info("dynamic registration: %s %s failed: %s", method, url, exc)
        raise RegistrationError(
            f"The tool could not reach the LMS to get the {what} at {url}. Check that the LMS is reachable "
            "from the tool's server, then start the registration again.",
            title="The LMS could not be reached", details=[type(exc).__name__]) from None


def _strings(values: Any) -> list[str]:
    """messages_supported: plain strings (older Moodle) or {"type": ...} objects (Canvas, the spec)."""
    found = []
    for value in values if isinstance(values, list) else []:
        if isinstance(value, str):
            found.append(value)
        elif isinstance(value, dict) and isinstance(value.get("type"), str):
            found.append(value["type"])
    return found


def fetch_platform_configuration(openid_configuration_url: str,
                                 registration_token: str | None) -> PlatformConfiguration:
    """Fetch and validate the LMS's OpenID configuration (LTI-DR §3.4 and §3.5.1)."""
    if not openid_configuration_url:
        raise RegistrationError(
            "This address is for Dynamic Registration: paste it into your LMS (Moodle: Manage tools → "
            "Tool URL; Canvas: Developer Keys → LTI Registration). The LMS opens it with the "
            "openid_configuration and registration_token parameters this request lacks.",
            title="Start the registration from your LMS",
        )
    _check_url(openid_configuration_url, "OpenID configuration address")
    status, data = _request("GET", openid_configuration_url, "OpenID configuration", registration_token)
    if status != 200:
        detail = _error_text(data)
        if _token_used(detail):
            _raise_token_used(detail)
        raise RegistrationError(
            f"The LMS refused to give its OpenID configuration (HTTP {status}). The registration link may "
            "have expired: start the registration again in the LMS.",
            title="The LMS refused the request", details=[f"The LMS answered: {detail}"] if detail else [])
    if not isinstance(data, dict):
        raise RegistrationError("The OpenID configuration is not a JSON object.",
                                title="The LMS answered with something unexpected")
    required = ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri", "registration_endpoint")
    missing = [k for k in required if not isinstance(data.get(k), str) or not data.get(k)]
    if missing:
        raise RegistrationError(
            "The LMS's OpenID configuration lacks " + ", ".join(missing) + ".",
            title="The LMS's configuration is incomplete")
    for key in required:
        _check_url(data[key], key)
    expected_host = (urlsplit(openid_configuration_url).hostname or "").lower()
    issuer_host = (urlsplit(data["issuer"]).hostname or "").lower()
    if issuer_host != expected_host:
        raise RegistrationError(
            f"The configuration names the issuer {data['issuer']}, whose host is not {expected_host}, the host "
            "that served it. The LTI Dynamic Registration specification requires them to match, so the tool "
            "refuses this registration.",
            title="Registration refused: the issuer does not match", status=400)
    lti = data.get(PLATFORM_CONFIGURATION) if isinstance(data.get(PLATFORM_CONFIGURATION), dict) else {}
    scopes = data.get("scopes_supported")
    return PlatformConfiguration(
        url=openid_configuration_url,
        data=data,
        issuer=data["issuer"],
        authorization_endpoint=data["authorization_endpoint"],
        token_endpoint=data["token_endpoint"],
        jwks_uri=data["jwks_uri"],
        registration_endpoint=data["registration_endpoint"],
        product_family=str(lti.get("product_family_code") or "").lower(),
        version=str(lti.get("version") or ""),
        account_name=str(lti.get(CANVAS + "account_name") or ""),
        messages_supported=_strings(lti.get("messages_supported")),
        scopes_supported=[s for s in scopes if isinstance(s, str)] if isinstance(scopes, list) else None,
    )


# -- the registration request ------------------------------------------------------------------------------

def registration_request(platform: PlatformConfiguration, urls: ToolUrls, *, title: str | None = None,
                         description: str | None = None) -> dict[str, Any]:
    """The tool's client registration (LTI-DR §3.6), with Canvas's placements when the LMS is Canvas."""
    title, description = _title_and_description(title, description)
    messages: list[dict[str, Any]] = []
    if platform.supports(RESOURCE_LINK):
        message: dict[str, Any] = {"type": RESOURCE_LINK, "target_link_uri": urls.launch, "label": title}
        if platform.is_canvas:
            message["placements"] = ["course_navigation"]
            message[CANVAS + "course_navigation/default_enabled"] = True
        messages.append(message)
    if platform.supports(DEEP_LINKING):
        message = {"type": DEEP_LINKING, "target_link_uri": urls.launch, "label": f"Add {title} content"}
        if platform.is_canvas:
            message["placements"] = ["link_selection", "assignment_selection"]
        messages.append(message)
    if urls.logo:
        for message in messages:
            message["icon_uri"] = urls.logo
    tool_configuration: dict[str, Any] = {
        "domain": urls.domain,
        "target_link_uri": urls.launch,
        "description": description,
        "claims": list(CLAIMS),
        "messages": messages,
        "custom_parameters": dict(CANVAS_CUSTOM_FIELDS) if platform.is_canvas else {},
    }
    if platform.is_canvas:
        tool_configuration[CANVAS + "privacy_level"] = "public"
        tool_configuration[CANVAS + "tool_id"] = TOOL_ID
    body: dict[str, Any] = {
        "application_type": "web",
        "response_types": ["id_token"],
        "grant_types": ["implicit", "client_credentials"],
        "initiate_login_uri": urls.login,
        "redirect_uris": [urls.launch],
        "client_name": title,
        "jwks_uri": urls.jwks,
        "token_endpoint_auth_method": "private_key_jwt",
        "scope": " ".join(platform.granted_scopes()),
        TOOL_CONFIGURATION: tool_configuration,
    }
    if urls.logo:
        body["logo_uri"] = urls.logo
    return body


@dataclass
class RegistrationOutcome:
    platform: Platform
    configuration: PlatformConfiguration
    client_id: str
    deployment_id: str | None


def register_tool(session: Session, openid_configuration_url: str, registration_token: str | None,
             urls: ToolUrls) -> RegistrationOutcome:
    """Run Dynamic Registration with the LMS and store the platform it creates (flushes; the caller commits)."""
    platform_config = fetch_platform_configuration(openid_configuration_url, registration_token)
    body = registration_request(platform_config, urls)
    status, answer = _request("POST", platform_config.registration_endpoint, "registration", registration_token,
                              json=body)
    detail = _error_text(answer)
    if status not in (200, 201):
        if _token_used(detail):
            _raise_token_used(detail)
        raise RegistrationError(
            f"The LMS refused the tool's registration (HTTP {status}).",
            title="The LMS refused the registration",
            details=[f"The LMS answered: {detail}"] if detail else [])
    if not isinstance(answer, dict) or not answer.get("client_id"):
        raise RegistrationError("The LMS accepted the registration but its answer has no client_id.",
                                title="The LMS answered with something unexpected",
                                details=[f"The LMS answered: {detail}"] if detail else [])
    client_id = str(answer["client_id"])
    answered_tool = answer.get(TOOL_CONFIGURATION) if isinstance(answer.get(TOOL_CONFIGURATION), dict) else {}
    deployment_id = answered_tool.get("deployment_id")
    deployment_id = str(deployment_id) if deployment_id not in (None, "") else None
    platform = add_platform(
        session,
        PlatformSpec(
            issuer=platform_config.issuer,
            client_id=client_id,
            auth_login_url=platform_config.authorization_endpoint,
            auth_token_url=platform_config.token_endpoint,
            key_set_url=platform_config.jwks_uri,
            deployment_ids=(deployment_id,) if deployment_id else (),
            name=platform_config.display_name,
            product_family=platform_config.product_family,
            registered_by="dynamic",
            registration_data={
                "openid_configuration_url": openid_configuration_url,
                "openid_configuration": platform_config.data,
                "registration_request": body,
                "registration_response": answer,
                "registered_at": dt.datetime.now(dt.timezone.utc).isoformat(),
            },
        ),
        update=True,
    )
    log.info("dynamic registration: %s client_id %s (%s), deployment %s", platform_config.issuer, client_id,
             platform_config.product_family or "unknown LMS", deployment_id or "learnt at first launch")
    return RegistrationOutcome(platform, platform_config, client_id, deployment_id)


# -- views ---------------------------------------------------------------------------------------------

def _tool_urls() -> ToolUrls:
    return ToolUrls.from_base(request.url_root, logo_url=current_app.config.get("LTI_TOOL_LOGO_URL"))


@bp.errorhandler(RegistrationError)
def _registration_error(exc: RegistrationError):
    return render_template("lti/register_error.html", status=exc.status, title=exc.title,
                           message=exc.message, details=exc.details), exc.status


@bp.after_request
def _framable_by_the_registering_lms(response):
    """The LMS shows these pages in its own frame before it is registered, so the usual frame-ancestors
    (registered LMSs only) would block them. Framing gains nothing here: anyone may start a registration."""
    if request.endpoint in ("lti_registration.register", "lti_registration.register_finish"):
        sources = "'self' https:" if current_app.config.get("ENV_NAME") == "production" else "'self' https: http:"
        csp = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: https:; "
               "font-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; object-src 'none'; "
               f"frame-ancestors {sources}")
        response.headers["Content-Security-Policy"] = csp
    return response


def _register_limit() -> str:
    return current_app.config["RATELIMIT_REGISTER"]


@bp.route("/lti/register", methods=["GET"], endpoint="register")
@rate_limit(_register_limit)
def register_start():
    openid_configuration_url = request.args.get("openid_configuration", "").strip()
    registration_token = request.args.get("registration_token", "").strip() or None
    platform_config = fetch_platform_configuration(openid_configuration_url, registration_token)
    return render_template(
        "lti/register_confirm.html",
        platform=platform_config,
        tool=_tool_urls(),
        openid_configuration=openid_configuration_url,
        registration_token=registration_token or "",
    )


@bp.route("/lti/register", methods=["POST"])
@rate_limit(_register_limit)
def register_finish():
    openid_configuration_url = request.form.get("openid_configuration", "").strip()
    registration_token = request.form.get("registration_token", "").strip() or None
    outcome = register_tool(db.session, openid_configuration_url, registration_token, _tool_urls())
    db.session.commit()
    return render_template("lti/register_done.html", outcome=outcome)


@bp.route("/lti/canvas.json")
def canvas_json():
    config = canvas_developer_key(request.url_root, icon_url=current_app.config.get("LTI_TOOL_LOGO_URL"))
    response = current_app.response_class(json.dumps(config, indent=2) + "\n", mimetype="application/json")
    response.headers["Cache-Control"] = "no-cache"
    return response
