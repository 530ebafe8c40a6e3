"""Registrations in the database, and the pylti1p3 tool configuration that reads them.

Many platforms (issuer + client_id) with many deployments each. Canvas cloud uses one issuer for every
customer, so a registration is always looked up by issuer *and* client_id.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from flask import current_app
from pylti1p3.deployment import Deployment as LtiDeployment
from pylti1p3.registration import Registration
from pylti1p3.tool_config.abstract import ToolConfAbstract
from sqlalchemy import select
from sqlalchemy.orm import Session

from lti_tool.db import db
from lti_tool.errors import Conflict, NotFound
from lti_tool.lti import keys
from lti_tool.lti.models import Deployment, Platform


@dataclass
class PlatformSpec:
    issuer: str
    client_id: str
    auth_login_url: str
    auth_token_url: str
    key_set_url: str
    deployment_ids: tuple[str, ...] = ()
    name: str = ""
    auth_audience: str | None = None
    product_family: str = ""
    registered_by: str = "cli"
    registration_data: dict[str, Any] | None = None


def find_platform(session: Session, issuer: str, client_id: str | None) -> Platform | None:
    """The active registration for (issuer, client_id); with no client_id only an unambiguous issuer."""
    query = select(Platform).where(Platform.issuer == issuer, Platform.active.is_(True))
    if client_id:
        return session.scalar(query.where(Platform.client_id == client_id))
    found = session.scalars(query.limit(2)).all()
    return found[0] if len(found) == 1 else None


def find_deployment(session: Session, platform: Platform, deployment_id: str) -> Deployment | None:
    return session.scalar(
        select(Deployment).where(Deployment.platform_id == platform.id, Deployment.deployment_id == deployment_id)
    )


def add_deployment(session: Session, platform: Platform, deployment_id: str) -> Deployment:
    existing = find_deployment(session, platform, deployment_id)
    if existing:
        return existing
    deployment = Deployment(platform=platform, deployment_id=deployment_id)
    session.add(deployment)
    session.flush()
    return deployment


def add_platform(session: Session, spec: PlatformSpec, *, update: bool = False) -> Platform:
    """Register a platform (or, with ``update``, refresh an existing one) and its deployments."""
    platform = session.scalar(
        select(Platform).where(Platform.issuer == spec.issuer, Platform.client_id == spec.client_id)
    )
    if platform and not update:
        raise Conflict(f"{spec.issuer} with client_id {spec.client_id} is already registered")
    if platform is None:
        platform = Platform(issuer=spec.issuer, client_id=spec.client_id)
        session.add(platform)
    for field in ("auth_login_url", "auth_token_url", "key_set_url", "auth_audience", "product_family",
                  "registered_by", "registration_data"):
        setattr(platform, field, getattr(spec, field))
    platform.name = spec.name or platform.name or spec.issuer
    platform.active = True
    session.flush()
    for deployment_id in spec.deployment_ids:
        add_deployment(session, platform, deployment_id)
    _origins_cache.clear()
    return platform


def remove_platform(session: Session, issuer: str, client_id: str) -> None:
    platform = session.scalar(select(Platform).where(Platform.issuer == issuer, Platform.client_id == client_id))
    if platform is None:
        raise NotFound(f"no platform {issuer} with client_id {client_id}")
    # Users and courses hang off the platform; deactivating keeps their history.
    platform.active = False
    _origins_cache.clear()


def list_platforms(session: Session) -> list[Platform]:
    return list(session.scalars(select(Platform).order_by(Platform.id)))


_origins_cache: dict[str, tuple[float, list[str]]] = {}


def platform_origins() -> list[str]:
    """Origins of the registered LMSs, for CSP frame-ancestors (cached per process for a minute)."""
    cached = _origins_cache.get("origins")
    if cached and cached[0] > time.monotonic():
        return cached[1]
    origins = sorted({p.origin for p in db.session.scalars(select(Platform).where(Platform.active.is_(True)))})
    _origins_cache["origins"] = (time.monotonic() + 60, origins)
    return origins


def build_registration(session: Session, platform: Platform, *, with_tool_keys: bool = True) -> Registration:
    """A fresh pylti1p3 Registration (they are mutated with fetched key sets, so never shared).

    Validating a launch needs only the platform's side; the tool's keys (which cost a query) are set for
    service calls and deep-linking answers."""
    registration = (
        Registration()
        .set_issuer(platform.issuer)
        .set_client_id(platform.client_id)
        .set_auth_login_url(platform.auth_login_url)
        .set_auth_token_url(platform.auth_token_url)
        .set_auth_audience(platform.auth_audience)  # type: ignore[arg-type]
        .set_key_set_url(platform.key_set_url)
    )
    if with_tool_keys:
        key = keys.signing_key(session)
        registration.set_tool_private_key(key.private_key_pem).set_tool_public_key(key.public_key_pem)
    return registration


class DatabaseToolConf(ToolConfAbstract):
    """pylti1p3 configuration over the platform and deployment tables.

    Always "many clients per issuer": the library's default consults a class-level dict shared by every
    ToolConf in the process, which flips when any other config mentions the same issuer.
    """

    def __init__(self, session: Session):
        super().__init__()
        self.session = session
        self.platform: Platform | None = None
        self.deployment: Deployment | None = None
        self._platforms: dict[tuple[str, str | None], Platform | None] = {}

    def lookup(self, iss: str, client_id: str | None) -> Platform | None:
        """find_platform, once per (issuer, client_id) for the life of this launch or login."""
        key = (iss, client_id)
        if key not in self._platforms:
            self._platforms[key] = find_platform(self.session, iss, client_id)
        return self._platforms[key]

    def check_iss_has_one_client(self, iss: str) -> bool:
        return False

    def check_iss_has_many_clients(self, iss: str) -> bool:
        return True

    def find_registration_by_issuer(self, iss: str, *args, **kwargs) -> Registration | None:
        return self._registration(self.lookup(iss, None))

    def find_registration_by_params(self, iss: str, client_id: str, *args, **kwargs) -> Registration | None:
        return self._registration(self.lookup(iss, client_id))

    def _registration(self, platform: Platform | None) -> Registration | None:
        self.platform = platform
        # Login and launch validation never sign anything: no tool key needed.
        return build_registration(self.session, platform, with_tool_keys=False) if platform else None

    def find_deployment(self, iss: str, deployment_id: str) -> LtiDeployment | None:
        return None

    def find_deployment_by_params(self, iss: str, deployment_id: str, client_id: str, *args, **kwargs):
        platform = self.lookup(iss, client_id)
        if platform is None or not deployment_id:
            return None
        deployment = find_deployment(self.session, platform, deployment_id)
        if deployment is None and platform.registered_by == "dynamic" and \
                current_app.config["LTI_AUTO_REGISTER_DEPLOYMENTS"] and platform.product_family == "canvas":
            # Canvas dynamic registration tells us the deployment only at the first (signed) launch.
            deployment = add_deployment(self.session, platform, deployment_id)
        self.deployment = deployment
        return LtiDeployment().set_deployment_id(deployment_id) if deployment else None

    def get_jwks(self, iss: str | None = None, client_id: str | None = None, **kwargs):
        return keys.jwks(self.session)
