"""A small fake LMS for LTI Dynamic Registration, served on loopback in a thread.

Two flavours, as the real ones behave (see the LTI brief §3.9 and §4.6):
- ``moodle``: messages_supported as plain strings, a single-use registration token (a second use answers
  400 {"error": "token_already_used"}), and a deployment_id in the registration response;
- ``canvas``: messages_supported as objects with placements, no deployment_id in the response.
It checks the Bearer token and the posted JSON, and records every request it received.
"""
from __future__ import annotations

import json
import secrets
import threading
from dataclasses import dataclass, field
from typing import Any

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

REQUIRED_FIELDS = ("response_types", "initiate_login_uri", "redirect_uris", "client_name", "jwks_uri",
                   "token_endpoint_auth_method", "https://purl.imsglobal.org/spec/lti-tool-configuration")
TOOL_CONFIG = "https://purl.imsglobal.org/spec/lti-tool-configuration"


@dataclass
class Received:
    method: str
    path: str
    authorization: str
    body: Any = None


@dataclass
class FakePlatform:
    flavour: str = "moodle"                  # moodle or canvas
    issuer_override: str | None = None       # to serve a configuration naming another issuer
    token: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    received: list[Received] = field(default_factory=list)
    used_tokens: set[str] = field(default_factory=set)
    registrations: list[dict] = field(default_factory=list)
    refuse_registration: dict | None = None  # answer 400 with this body

    def __post_init__(self):
        self._server = make_server("127.0.0.1", 0, self._wsgi, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    # -- lifecycle
    def start(self) -> FakePlatform:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def issuer(self) -> str:
        return self.issuer_override or self.url

    @property
    def openid_configuration_url(self) -> str:
        if self.flavour == "moodle":
            return f"{self.url}/mod/lti/openid-configuration.php"
        return f"{self.url}/api/lti/security/openid-configuration"

    def registrations_posted(self) -> list[Received]:
        return [r for r in self.received if r.method == "POST"]

    # -- what it serves
    def configuration(self) -> dict:
        base = self.url
        if self.flavour == "moodle":
            return {
                "issuer": self.issuer,
                "token_endpoint": f"{base}/mod/lti/token.php",
                "token_endpoint_auth_methods_supported": ["private_key_jwt"],
                "token_endpoint_auth_signing_alg_values_supported": ["RS256"],
                "jwks_uri": f"{base}/mod/lti/certs.php",
                "authorization_endpoint": f"{base}/mod/lti/auth.php",
                "registration_endpoint": f"{base}/mod/lti/openid-registration.php",
                "scopes_supported": [
                    "https://purl.imsglobal.org/spec/lti-bo/scope/basicoutcome",
                    "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly",
                    "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly",
                    "https://purl.imsglobal.org/spec/lti-ags/scope/score",
                    "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem",
                    "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly",
                    "https://purl.imsglobal.org/spec/lti-ts/scope/toolsetting",
                    "openid",
                ],
                "response_types_supported": ["id_token"],
                "subject_types_supported": ["public", "pairwise"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "claims_supported": ["sub", "iss", "name", "given_name", "family_name", "email"],
                "https://purl.imsglobal.org/spec/lti-platform-configuration": {
                    "product_family_code": "moodle",
                    "version": "4.1.2 (Build: 20230306)",
                    "messages_supported": ["LtiResourceLinkRequest", "LtiDeepLinkingRequest"],
                    "placements": ["AddContentMenu"],
                    "variables": ["basic-lti-launch-request", "ContentItemSelectionRequest"],
                },
            }
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{base}/api/lti/authorize_redirect",
            "registration_endpoint": f"{base}/api/lti/registrations",
            "jwks_uri": f"{base}/api/lti/security/jwks",
            "token_endpoint": f"{base}/login/oauth2/token",
            "token_endpoint_auth_methods_supported": ["private_key_jwt"],
            "token_endpoint_auth_signing_alg_values_supported": ["RS256"],
            "scopes_supported": [
                "openid",
                "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem",
                "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly",
                "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly",
                "https://purl.imsglobal.org/spec/lti-ags/scope/score",
                "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly",
                "https://canvas.instructure.com/lti/public_jwk/scope/update",
                "https://canvas.instructure.com/lti/account_lookup/scope/show",
            ],
            "response_types_supported": ["id_token"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "claims_supported": ["sub", "picture", "email", "name", "given_name", "family_name", "locale"],
            "subject_types_supported": ["public"],
            "authorization_server": f"{base}",
            "https://purl.imsglobal.org/spec/lti-platform-configuration": {
                "product_family_code": "canvas",
                "version": "OpenSource",
                "messages_supported": [
                    {"type": "LtiResourceLinkRequest",
                     "placements": ["course_navigation", "account_navigation", "link_selection"]},
                    {"type": "LtiDeepLinkingRequest",
                     "placements": ["link_selection", "assignment_selection", "editor_button"]},
                ],
                "variables": ["Canvas.course.id", "Canvas.user.id"],
                "https://canvas.instructure.com/lti/account_name": "Example University",
                "https://canvas.instructure.com/lti/account_lti_guid": "abc123:canvas-lms",
            },
        }

    # -- the WSGI app
    def _wsgi(self, environ, start_response):
        request = Request(environ)
        response = self._handle(request)
        return response(environ, start_response)

    @staticmethod
    def _json(body: Any, status: int = 200) -> Response:
        return Response(json.dumps(body), status=status, mimetype="application/json")

    def _handle(self, request: Request) -> Response:
        auth = request.headers.get("Authorization", "")
        body = None
        if request.method == "POST":
            try:
                body = json.loads(request.get_data(as_text=True))
            except ValueError:
                body = request.get_data(as_text=True)
        self.received.append(Received(request.method, request.path, auth, body))
        config = self.configuration()
        if request.method == "GET" and request.path == self.openid_configuration_url[len(self.url):]:
            if auth != f"Bearer {self.token}":
                return self._json({"error": "unauthorized"}, 401)
            return self._json(config)
        if request.path == "/login/index.php":  # what a misconfigured LMS answers: its login page
            return Response("<!doctype html><title>Log in</title>", mimetype="text/html")
        if request.method == "POST" and request.path == config["registration_endpoint"][len(self.url):]:
            return self._register(auth, body)
        return self._json({"error": "not_found"}, 404)

    def _register(self, auth: str, body: Any) -> Response:
        if auth != f"Bearer {self.token}":
            return self._json({"error": "unauthorized"}, 401)
        if self.flavour == "moodle" and self.token in self.used_tokens:
            return self._json({"error": "token_already_used"}, 400)
        if self.refuse_registration is not None:
            return self._json(self.refuse_registration, 400)
        if not isinstance(body, dict):
            return self._json({"error": "invalid_client_metadata", "error_description": "not JSON"}, 400)
        missing = [k for k in REQUIRED_FIELDS if not body.get(k)]
        tool = body.get(TOOL_CONFIG) or {}
        missing += [f"{TOOL_CONFIG}.{k}" for k in ("domain", "target_link_uri") if not tool.get(k)]
        if missing:
            return self._json({"error": "invalid_client_metadata",
                               "error_description": "missing " + ", ".join(missing)}, 400)
        if "id_token" not in body["response_types"] or body["token_endpoint_auth_method"] != "private_key_jwt" \
                or not isinstance(body["redirect_uris"], list):
            return self._json({"error": "invalid_client_metadata"}, 400)
        self.used_tokens.add(self.token)
        client_id = secrets.token_hex(6) if self.flavour == "moodle" else f"1000000000{len(self.registrations) + 1:04d}"
        answer = dict(body, client_id=client_id)
        if self.flavour == "moodle":
            answer[TOOL_CONFIG] = dict(tool, deployment_id=str(len(self.registrations) + 7))
        self.registrations.append(answer)
        return self._json(answer)
