"""AGS and NRPS clients that work from a background job, with no browser and no launch at hand.

Built from what the database keeps (the platform registration, the course's service URLs). They reuse an
access token until it expires (in the shared cache, so every worker shares it), time out, retry 429 and
5xx with backoff through urllib3's ``Retry`` (honouring Retry-After up to a limit), and follow paging
``Link`` headers exactly as given (pylti1p3 lower-cases them, which breaks Moodle's and Canvas's URLs).
"""
from __future__ import annotations

import hashlib
import json
import logging
import time
import uuid
from dataclasses import dataclass
from typing import Any, Iterator
from urllib.parse import urlencode, urlsplit, urlunsplit

import requests
from flask import current_app
from pylti1p3.service_connector import ServiceConnector
from requests.adapters import HTTPAdapter
from sqlalchemy.orm import Session
from urllib3.exceptions import ConnectTimeoutError, MaxRetryError, ReadTimeoutError
from urllib3.util.retry import Retry

from lti_tool.db import db
from lti_tool.lti import storage
from lti_tool.lti.models import Platform
from lti_tool.lti.registry import build_registration

log = logging.getLogger(__name__)

SCOPE_LINEITEM = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"
SCOPE_RESULT_READ = "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly"
SCOPE_SCORE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
SCOPE_NRPS = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"

LINEITEM_TYPE = "application/vnd.ims.lis.v2.lineitem+json"
LINEITEMS_TYPE = "application/vnd.ims.lis.v2.lineitemcontainer+json"
SCORE_TYPE = "application/vnd.ims.lis.v1.score+json"
RESULTS_TYPE = "application/vnd.ims.lis.v2.resultcontainer+json"
NRPS_TYPE = "application/vnd.ims.lti-nrps.v2.membershipcontainer+json"


class ServiceError(Exception):
    """The LMS refused or could not be reached. ``retry_after`` (seconds) when it asked us to wait."""

    def __init__(self, message: str, status: int | None = None, body: str = "", retry_after: float | None = None):
        super().__init__(message)
        self.status = status
        self.body = body[:2000]
        self.retry_after = retry_after

    @property
    def unavailable(self) -> bool:
        """The LMS as a whole did not serve us (no answer, outage, rate limit), whatever we sent."""
        return self.status is None or self.status == 429 or self.status >= 500

    @property
    def transient(self) -> bool:
        """Worth trying again later (outage, rate limit, timeout, expired token) rather than a refusal of the data."""
        return self.unavailable or self.status == 401


class _PoliteRetry(Retry):
    """Retry with backoff, honouring Retry-After; a wait longer than ``max_retry_after`` is not slept
    in-process: the 429 is returned so the caller can schedule the work for later."""

    max_retry_after = 120.0

    def new(self, **kw):
        retry = super().new(**kw)
        retry.max_retry_after = self.max_retry_after
        return retry

    def increment(self, method=None, url=None, response=None, error=None, _pool=None, _stacktrace=None):
        if response is not None:
            wait = self.get_retry_after(response)
            if wait is not None and wait > self.max_retry_after:
                raise MaxRetryError(_pool, url, "Retry-After too long")  # type: ignore[arg-type]
        return super().increment(method, url, response, error, _pool, _stacktrace)


def _session(idempotent: bool) -> requests.Session:
    cfg = current_app.config
    retry = _PoliteRetry(
        total=cfg["LTI_HTTP_RETRIES"], connect=cfg["LTI_HTTP_RETRIES"], read=cfg["LTI_HTTP_RETRIES"] if idempotent else 0,
        backoff_factor=cfg["LTI_HTTP_BACKOFF_FACTOR"], backoff_max=30,
        # A POST that may have been processed (5xx, read timeout) is only retried when repeating it is harmless.
        status_forcelist=(429, 500, 502, 503, 504) if idempotent else (429, 503),
        allowed_methods=None, respect_retry_after_header=True, raise_on_status=False,
    )
    retry.max_retry_after = float(cfg["LTI_HTTP_MAX_RETRY_AFTER"])
    session = requests.Session()
    session.headers["User-Agent"] = "CommunitiesOfPractice-LTI/1.0"
    adapter = HTTPAdapter(max_retries=retry, pool_maxsize=10)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


class _TokenConnector(ServiceConnector):
    """pylti1p3's client-credentials grant (the signed client assertion), with the token kept in the
    shared cache until shortly before it expires, and a timeout."""

    def __init__(self, registration, platform_id: int):
        super().__init__(registration, _session(idempotent=False))
        self.platform_id = platform_id
        self.token_requests = 0

    def _cache_key(self, scopes) -> str:
        return "ags-token:%s:%s" % (self.platform_id, hashlib.sha256("|".join(sorted(scopes)).encode()).hexdigest())

    def get_access_token(self, scopes) -> str:
        key = self._cache_key(scopes)
        cached = storage.cache().get(key)
        if cached:
            return cached
        reg = self._registration
        now = int(time.time())
        claims = {"iss": reg.get_client_id(), "sub": reg.get_client_id(),
                  "aud": reg.get_auth_audience() or reg.get_auth_token_url(),
                  "iat": now - 5, "exp": now + 60, "jti": "cop-" + uuid.uuid4().hex}
        assertion = self.encode_jwt(claims, reg.get_tool_private_key(), {"kid": reg.get_kid()})
        self.token_requests += 1
        try:
            resp = self._requests_session.post(reg.get_auth_token_url(), data={
                "grant_type": "client_credentials",
                "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                "client_assertion": assertion, "scope": " ".join(sorted(scopes)),
            }, timeout=current_app.config["LTI_HTTP_TIMEOUT_SECONDS"])
        except requests.RequestException as exc:
            raise ServiceError(_unreachable("The LMS token endpoint", exc,
                                            current_app.config["LTI_HTTP_TIMEOUT_SECONDS"])) from exc
        if not resp.ok:
            raise ServiceError(f"The LMS refused the access token request ({resp.status_code})", resp.status_code,
                               resp.text, _retry_after(resp))
        try:
            data = resp.json()
            token = str(data["access_token"])
        except (ValueError, KeyError) as exc:
            raise ServiceError("The LMS token endpoint answered without an access token", resp.status_code,
                               resp.text) from exc
        try:
            expires_in = int(data.get("expires_in") or 3600)
        except (TypeError, ValueError):
            expires_in = 3600
        # Kept until shortly before the LMS lets it lapse (a fifth of its life, at most a minute, early),
        # so a short-lived token is never used after it expired.
        storage.cache().set(key, token, timeout=max(1, expires_in - min(60, expires_in // 5)))
        return token

    def forget(self, scopes) -> None:
        storage.cache().delete(self._cache_key(scopes))


@dataclass
class Page:
    items: list[dict[str, Any]]
    body: dict[str, Any]
    next_url: str | None


class LtiServices:
    """AGS and NRPS calls for one platform. Create one per job or request; it holds no launch data."""

    def __init__(self, session: Session, platform: Platform):
        self.platform = platform
        self.connector = _TokenConnector(_registration(platform), platform.id)
        self.http = _session(idempotent=True)
        self.http_once = _session(idempotent=False)
        self.requests_made = 0

    # -- plumbing
    def _call(self, method: str, url: str, scopes: list[str], *, body: Any = None, content_type: str | None = None,
              accept: str = "application/json", idempotent: bool = True) -> requests.Response:
        timeout = current_app.config["LTI_HTTP_TIMEOUT_SECONDS"]
        for attempt in (1, 2):
            token = self.connector.get_access_token(scopes)
            headers = {"Authorization": f"Bearer {token}", "Accept": accept}
            data = None
            if body is not None:
                headers["Content-Type"] = content_type or "application/json"
                data = json.dumps(body)
            http = self.http if idempotent else self.http_once
            try:
                self.requests_made += 1
                resp = http.request(method, url, data=data, headers=headers, timeout=timeout)
            except requests.RequestException as exc:
                raise ServiceError(_unreachable("The LMS", exc, timeout)) from exc
            if resp.status_code == 401 and attempt == 1:
                self.connector.forget(scopes)   # expired or revoked token: get a new one once
                continue
            if not resp.ok:
                retry_after = _retry_after(resp)
                raise ServiceError(f"The LMS answered {resp.status_code} to {method} {urlsplit(url).path}",
                                   resp.status_code, resp.text, retry_after)
            return resp
        raise AssertionError("unreachable")

    def _page(self, url: str, scopes: list[str], accept: str, key: str | None) -> Page:
        resp = self._call("GET", url, scopes, accept=accept)
        body = resp.json() if resp.content else []
        items = body if isinstance(body, list) else (body.get(key, []) if key else [])
        # requests parses Link headers without changing the URL's case (pylti1p3 lower-cases it).
        next_url = resp.links.get("next", {}).get("url")
        return Page(items=list(items), body=body if isinstance(body, dict) else {}, next_url=next_url)

    def _all(self, url: str, scopes: list[str], accept: str, key: str | None) -> list[dict]:
        items: list[dict] = []
        seen: set[str] = set()
        next_url: str | None = url
        while next_url and next_url not in seen:
            seen.add(next_url)
            page = self._page(next_url, scopes, accept, key)
            items.extend(page.items)
            next_url = page.next_url
        return items

    # -- NRPS
    def member_pages(self, memberships_url: str, *, limit: int = 100, rlid: str | None = None) -> Iterator[Page]:
        """Pages of the course roster. Moodle pages only when asked for a ``limit``; Canvas caps it at 50.
        Next-page URLs are used exactly as the LMS gives them."""
        params = {"limit": str(limit)}
        if rlid:
            params["rlid"] = rlid
        url: str | None = _with_query(memberships_url, params)
        seen: set[str] = set()
        while url and url not in seen:
            seen.add(url)
            page = self._page(url, [SCOPE_NRPS], NRPS_TYPE, "members")
            yield page
            url = page.next_url

    # -- AGS line items
    def line_items(self, lineitems_url: str, **filters: str) -> list[dict]:
        params = {k: v for k, v in filters.items() if v}
        return self._all(_with_query(lineitems_url, params), [SCOPE_LINEITEM],
                         LINEITEMS_TYPE, None)

    def create_line_item(self, lineitems_url: str, item: dict) -> dict:
        resp = self._call("POST", lineitems_url, [SCOPE_LINEITEM], body=item, content_type=LINEITEM_TYPE,
                          accept=LINEITEM_TYPE, idempotent=False)
        return resp.json()

    def update_line_item(self, lineitem_url: str, item: dict) -> dict:
        resp = self._call("PUT", lineitem_url, [SCOPE_LINEITEM], body=item, content_type=LINEITEM_TYPE,
                          accept=LINEITEM_TYPE)
        return resp.json()

    def get_line_item(self, lineitem_url: str) -> dict:
        return self._call("GET", lineitem_url, [SCOPE_LINEITEM], accept=LINEITEM_TYPE).json()

    def delete_line_item(self, lineitem_url: str) -> None:
        self._call("DELETE", lineitem_url, [SCOPE_LINEITEM])

    def post_score(self, lineitem_url: str, score: dict) -> None:
        """POST a score. Repeating the same score is harmless (the LMS keeps the latest), so it retries."""
        self._call("POST", _append_path(lineitem_url, "/scores"), [SCOPE_SCORE], body=score,
                   content_type=SCORE_TYPE, idempotent=True)

    def results(self, lineitem_url: str, user_id: str | None = None) -> list[dict]:
        url = _with_query(_append_path(lineitem_url, "/results"), {"user_id": user_id} if user_id else {})
        return self._all(url, [SCOPE_RESULT_READ], RESULTS_TYPE, None)


def _registration(platform: Platform):
    """The registration with the tool's signing key, read (or created, on a tool that never launched) and
    committed in a session of its own: the LMS checks our client assertion against the published JWKS,
    so a key left uncommitted in the caller's transaction could never be verified."""
    key_session = db.new_session()
    try:
        registration = build_registration(key_session, platform)
        key_session.commit()
        return registration
    finally:
        key_session.close()


def _unreachable(who: str, exc: requests.RequestException, timeout: float) -> str:
    """Say whether the LMS was slow (a timeout, possibly after retries) or could not be reached at all."""
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    if isinstance(exc, requests.Timeout) or isinstance(reason, (ReadTimeoutError, ConnectTimeoutError)):
        return f"{who} did not answer within {timeout:g} seconds (timeout)"
    return f"{who} could not be reached ({type(reason or exc).__name__})"


def _retry_after(resp: requests.Response) -> float | None:
    value = resp.headers.get("Retry-After")
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        from email.utils import parsedate_to_datetime
        import datetime as dt

        try:
            return max(0.0, (parsedate_to_datetime(value) - dt.datetime.now(dt.timezone.utc)).total_seconds())
        except (TypeError, ValueError):
            return None


def _with_query(url: str, params: dict[str, str]) -> str:
    if not params:
        return url
    parts = urlsplit(url)
    query = parts.query + ("&" if parts.query else "") + urlencode(params)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def _append_path(url: str, suffix: str) -> str:
    """Moodle's line item URLs carry a query string (?type_id=4): the suffix goes before it."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/") + suffix, parts.query, parts.fragment))
