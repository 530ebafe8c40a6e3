"""The sandbox LMS's operations: platform and keys, demo data, id_tokens, tokens, AGS/NRPS data, faults.

Functions take the session first; they flush, the caller commits.
"""
from __future__ import annotations

import datetime as dt
import json
import secrets
import time
import uuid
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

import jwt
import requests
from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from lti_tool.db import utcnow
from lti_tool.lti import keys as tool_keys
from lti_tool.lti.keys import public_jwk
from lti_tool.sandbox.models import (
    SandboxAccessToken,
    SandboxCourse,
    SandboxEnrollment,
    SandboxFault,
    SandboxKey,
    SandboxLineItem,
    SandboxMessageHint,
    SandboxPlatform,
    SandboxRequestLog,
    SandboxResourceLink,
    SandboxResult,
    SandboxScore,
    SandboxTool,
    SandboxUsedJti,
    SandboxUser,
)

LIS = "http://purl.imsglobal.org/vocab/lis/v2/"
INSTRUCTOR = LIS + "membership#Instructor"
TEACHING_ASSISTANT = LIS + "membership/Instructor#TeachingAssistant"
LEARNER = LIS + "membership#Learner"
MENTOR = LIS + "membership#Mentor"
# Canvas sends the Test Student as an LTI system role (not a LIS one).
TEST_USER = "http://purl.imsglobal.org/vocab/lti/system/person#TestUser"

CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"
AGS_CLAIM = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
NRPS_CLAIM = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"
DL_CLAIM = "https://purl.imsglobal.org/spec/lti-dl/claim/"
SCOPE_LINEITEM = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"
SCOPE_LINEITEM_READONLY = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly"
SCOPE_RESULT_READONLY = "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly"
SCOPE_SCORE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
SCOPE_NRPS = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
AGS_SCOPES = [SCOPE_LINEITEM, SCOPE_LINEITEM_READONLY, SCOPE_RESULT_READONLY, SCOPE_SCORE]
ALL_SCOPES = [*AGS_SCOPES, SCOPE_NRPS]

CLIENT_ID = "sandbox-tool"
DEPLOYMENT_ID = "1"
DEMO_COURSE = "demo-course"
OTHER_COURSE = "other-course"
MESSAGE_HINT_SECONDS = 300
ACCESS_TOKEN_SECONDS = 3600
JWKS_TIMEOUT_SECONDS = 5.0


class SandboxError(Exception):
    """Something a request to the sandbox got wrong; the message says what (shown on a 400 page)."""


@dataclass
class DemoInfo:
    """What the tool needs to register the sandbox as a platform."""

    issuer: str
    client_id: str
    auth_login_url: str
    auth_token_url: str
    key_set_url: str
    deployment_id: str
    name: str = "Sandbox LMS"
    product_family: str = "sandbox"


# -- platform and keys ---------------------------------------------------------------------------------------

def _new_key(session: Session, platform: SandboxPlatform) -> SandboxKey:
    private, public = tool_keys.new_pem_pair()
    key = SandboxKey(platform=platform, kid=public_jwk(public)["kid"], private_key_pem=private,
                     public_key_pem=public)
    session.add(key)
    session.flush()
    return key


def ensure_platform(session: Session, base_url: str) -> SandboxPlatform:
    """The platform at ``base_url`` (issuer = base_url + "/sandbox") with its key pair, created once."""
    base_url = base_url.rstrip("/")
    issuer = base_url + "/sandbox"
    platform = session.scalar(select(SandboxPlatform).where(SandboxPlatform.issuer == issuer))
    if platform is None:
        platform = SandboxPlatform(base_url=base_url, issuer=issuer, name="Sandbox LMS",
                                   guid=f"sandbox-{uuid.uuid4().hex[:12]}")
        session.add(platform)
        session.flush()
        _new_key(session, platform)
    return platform


def first_platform(session: Session) -> SandboxPlatform | None:
    return session.scalar(select(SandboxPlatform).order_by(SandboxPlatform.id).limit(1))


def signing_key(session: Session, platform: SandboxPlatform) -> SandboxKey:
    key = session.scalar(select(SandboxKey).where(SandboxKey.platform_id == platform.id, SandboxKey.active)
                         .order_by(SandboxKey.id.desc()).limit(1))
    return key or _new_key(session, platform)


def rotate_platform_key(session: Session, platform: SandboxPlatform, keep_old: bool = True) -> SandboxKey:
    """Sign with a new key from now on; the old keys stay in the JWKS unless ``keep_old`` is false."""
    for old in session.scalars(select(SandboxKey).where(SandboxKey.platform_id == platform.id)):
        old.active = False
        old.published = keep_old
    return _new_key(session, platform)


def platform_jwks(session: Session, platform: SandboxPlatform) -> dict:
    keys = session.scalars(select(SandboxKey).where(SandboxKey.platform_id == platform.id, SandboxKey.published)
                           .order_by(SandboxKey.id.desc()))
    return {"keys": [public_jwk(k.public_key_pem) for k in keys]}


def sign_jwt(session: Session, platform: SandboxPlatform, claims: dict, headers: dict | None = None,
             key: str | SandboxKey | None = None) -> str:
    """RS256 with the platform's signing key. ``headers`` override (bad kid/alg); ``key`` may be another
    SandboxKey or a PEM (a key the platform never published)."""
    if key is None:
        key = signing_key(session, platform)
    if isinstance(key, SandboxKey):
        pem, kid = key.private_key_pem, key.kid
    else:
        pem, kid = key, "unknown-kid"
    hdrs = {"kid": kid, "typ": "JWT"}
    hdrs.update(headers or {})
    alg = hdrs.pop("alg", "RS256")
    if alg == "none":
        return jwt.encode(claims, None, algorithm="none", headers=hdrs)
    if alg.startswith("HS"):
        return jwt.encode(claims, "not-the-platform-key-" + "x" * 32, algorithm=alg, headers=hdrs)
    return jwt.encode(claims, pem, algorithm=alg, headers=hdrs)


# -- tool registration, courses, users -----------------------------------------------------------------------

def _tool_path(endpoint: str, fallback: str) -> str:
    """The path of a tool endpoint (url_for needs a request; the URL map does not)."""
    try:
        from flask import current_app

        return current_app.url_map.bind("localhost").build(endpoint)
    except Exception:  # no app context, or the tool's blueprint is not registered (a bare test app)
        return fallback


def ensure_tool(session: Session, platform: SandboxPlatform, tool_base_url: str | None = None,
                client_id: str = CLIENT_ID, deployment_id: str = DEPLOYMENT_ID) -> SandboxTool:
    base = (tool_base_url or platform.base_url).rstrip("/")
    urls = dict(login_url=base + _tool_path("lti.login", "/lti/login"),
                launch_url=base + _tool_path("lti.launch", "/lti/launch"),
                jwks_url=base + _tool_path("lti.jwks", "/lti/jwks"))
    tool = session.scalar(select(SandboxTool).where(SandboxTool.platform_id == platform.id,
                                                    SandboxTool.client_id == client_id))
    if tool is None:
        tool = SandboxTool(platform_id=platform.id, client_id=client_id, deployment_id=deployment_id,
                           scopes=list(ALL_SCOPES), **urls)
        session.add(tool)
    else:
        for k, v in urls.items():
            setattr(tool, k, v)
    session.flush()
    return tool


def get_tool(session: Session, platform: SandboxPlatform, client_id: str = CLIENT_ID) -> SandboxTool | None:
    return session.scalar(select(SandboxTool).where(SandboxTool.platform_id == platform.id,
                                                    SandboxTool.client_id == client_id))


def add_user(session: Session, platform: SandboxPlatform, sub: str, name: str, email: str = "",
             given_name: str | None = None, family_name: str | None = None, picture: str = "") -> SandboxUser:
    """A person on the platform (created or updated)."""
    if given_name is None or family_name is None:
        parts = name.split(" ", 1)
        given_name = parts[0] if given_name is None else given_name
        family_name = (parts[1] if len(parts) > 1 else "") if family_name is None else family_name
    user = get_user(session, platform, sub)
    if user is None:
        user = SandboxUser(platform_id=platform.id, sub=sub)
        session.add(user)
    user.name, user.email, user.given_name, user.family_name, user.picture = (
        name, email, given_name, family_name, picture)
    session.flush()
    return user


def get_user(session: Session, platform: SandboxPlatform, sub: str) -> SandboxUser | None:
    return session.scalar(select(SandboxUser).where(SandboxUser.platform_id == platform.id, SandboxUser.sub == sub))


def get_course(session: Session, platform: SandboxPlatform, context_id: str) -> SandboxCourse | None:
    return session.scalar(select(SandboxCourse).where(SandboxCourse.platform_id == platform.id,
                                                      SandboxCourse.context_id == context_id))


def enroll(session: Session, course: SandboxCourse, user: SandboxUser, roles: Sequence[str],
           status: str = "Active") -> SandboxEnrollment:
    enrollment = get_enrollment(session, course, user.sub)
    if enrollment is None:
        enrollment = SandboxEnrollment(course_id=course.id, user_id=user.id)
        session.add(enrollment)
    enrollment.roles, enrollment.status = list(roles), status
    session.flush()
    return enrollment


def get_enrollment(session: Session, course: SandboxCourse, sub: str) -> SandboxEnrollment | None:
    return session.scalar(select(SandboxEnrollment).join(SandboxUser)
                          .where(SandboxEnrollment.course_id == course.id, SandboxUser.sub == sub))


def default_link_id(context_id: str) -> str:
    return f"{context_id}-home"


def add_course(session: Session, platform: SandboxPlatform, context_id: str, title: str,
               members: Iterable[tuple[str, str, str, Sequence[str]]] = (), nrps_paging: str = "canvas",
               label: str = "") -> SandboxCourse:
    """A course (created or updated) with members ``(sub, name, email, roles)`` and its built-in link."""
    if nrps_paging not in ("canvas", "moodle"):
        raise ValueError("nrps_paging is 'canvas' or 'moodle'")
    course = get_course(session, platform, context_id)
    if course is None:
        course = SandboxCourse(platform_id=platform.id, context_id=context_id)
        session.add(course)
    course.title, course.label, course.nrps_paging = title, label or context_id.upper(), nrps_paging
    session.flush()
    if get_resource_link(session, course, default_link_id(context_id)) is None:
        session.add(SandboxResourceLink(course_id=course.id, resource_link_id=default_link_id(context_id),
                                        title="Communities of Practice", placed=False))
    for sub, name, email, roles in members:
        enroll(session, course, add_user(session, platform, sub, name, email), roles)
    session.flush()
    return course


def add_bulk_course(session: Session, platform: SandboxPlatform, context_id: str, n: int,
                    title: str | None = None, nrps_paging: str = "canvas", instructors: int = 1,
                    prefix: str | None = None) -> SandboxCourse:
    """A course of ``n`` members (the first ``instructors`` teach, the rest learn), inserted in bulk."""
    course = add_course(session, platform, context_id, title or f"Large course {context_id}",
                        nrps_paging=nrps_paging)
    prefix = prefix or f"{context_id}-user"
    subs = [f"{prefix}-{i}" for i in range(1, n + 1)]
    existing = set(session.scalars(select(SandboxUser.sub).where(SandboxUser.platform_id == platform.id,
                                                                 SandboxUser.sub.in_(subs))))
    rows = [dict(platform_id=platform.id, sub=s, name=f"Person {i}", given_name="Person", family_name=str(i),
                 email=f"{s}@example.edu", picture="") for i, s in enumerate(subs, 1) if s not in existing]
    for start in range(0, len(rows), 1000):
        session.execute(insert(SandboxUser), rows[start:start + 1000])
    ids = dict(session.execute(select(SandboxUser.sub, SandboxUser.id).where(
        SandboxUser.platform_id == platform.id, SandboxUser.sub.in_(subs))).all())
    enrolled = set(session.scalars(select(SandboxEnrollment.user_id).where(SandboxEnrollment.course_id == course.id)))
    enrol_rows = [dict(course_id=course.id, user_id=ids[s], status="Active",
                       roles=[INSTRUCTOR] if i < instructors else [LEARNER])
                  for i, s in enumerate(subs) if ids[s] not in enrolled]
    for start in range(0, len(enrol_rows), 1000):
        session.execute(insert(SandboxEnrollment), enrol_rows[start:start + 1000])
    session.flush()
    return course


def set_enrollment_status(session: Session, course: SandboxCourse, sub: str, status: str) -> SandboxEnrollment:
    """Active or Inactive (a concluded / deactivated enrollment)."""
    if status not in ("Active", "Inactive"):
        raise ValueError("status is 'Active' or 'Inactive'")
    enrollment = get_enrollment(session, course, sub)
    if enrollment is None:
        raise SandboxError(f"{sub} is not enrolled in {course.context_id}")
    enrollment.status = status
    session.flush()
    return enrollment


def remove_enrollment(session: Session, course: SandboxCourse, sub: str) -> None:
    enrollment = get_enrollment(session, course, sub)
    if enrollment is not None:
        session.delete(enrollment)
        session.flush()


def set_roles(session: Session, course: SandboxCourse, sub: str, roles: Sequence[str]) -> SandboxEnrollment:
    enrollment = get_enrollment(session, course, sub)
    if enrollment is None:
        raise SandboxError(f"{sub} is not enrolled in {course.context_id}")
    enrollment.roles = list(roles)
    session.flush()
    return enrollment


def members(session: Session, course: SandboxCourse) -> list[SandboxEnrollment]:
    return list(session.scalars(select(SandboxEnrollment).join(SandboxUser)
                                .where(SandboxEnrollment.course_id == course.id).order_by(SandboxEnrollment.id)))


_FACILITATORS = [("demo-facilitator-1", "Maya Okonkwo-Reyes", [INSTRUCTOR]),
                 ("demo-facilitator-2", "Tomás Lindqvist", [INSTRUCTOR, TEACHING_ASSISTANT])]
_PARTICIPANTS = [
    "Aisha Rahman", "Ben Carter", "Chloé Dubois", "Daniel Kim", "Elena Petrova", "Farid Haddad", "Grace O'Neill",
    "Hiroshi Tanaka", "Isabel Moreno", "Jamal Williams", "Katarzyna Nowak", "Liam Murphy", "Mei Chen",
    "Nkechi Adeyemi", "Oscar Johansson", "Priya Nair", "Quentin Moreau", "Rosa García", "Samuel Mensah",
    "Tara Sullivan", "Umar Farouk", "Valentina Rossi", "William Zhang", "Yasmin Al-Sayed",
]


def _email(name: str) -> str:
    import unicodedata

    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return ascii_name.lower().replace("'", "").replace(" ", ".") + "@example.edu"


def demo_members() -> list[tuple[str, str, str, list[str]]]:
    rows = [(sub, name, _email(name), roles) for sub, name, roles in _FACILITATORS]
    rows += [(f"demo-participant-{i}", name, _email(name), [LEARNER]) for i, name in enumerate(_PARTICIPANTS, 1)]
    rows.append(("demo-observer-1", "Ruth Abernathy", _email("Ruth Abernathy"), [MENTOR]))
    rows.append(("demo-test-student", "Test Student", "", [TEST_USER, LEARNER]))
    return rows


def demo_info(platform: SandboxPlatform, tool: SandboxTool) -> DemoInfo:
    return DemoInfo(issuer=platform.issuer, client_id=tool.client_id, auth_login_url=platform.url("/auth"),
                    auth_token_url=platform.url("/token"), key_set_url=platform.url("/jwks"),
                    deployment_id=tool.deployment_id)


def ensure_demo(session: Session, base_url: str, tool_base_url: str | None = None) -> DemoInfo:
    """The platform, the tool registration, the demo course and people, and a second course; idempotent."""
    platform = ensure_platform(session, base_url)
    tool = ensure_tool(session, platform, tool_base_url)
    add_course(session, platform, DEMO_COURSE, "Communities of Practice 2026–27 (demo)", demo_members(),
               label="COP-DEMO")
    add_course(session, platform, OTHER_COURSE, "Another course (cross-course checks)", [
        ("other-facilitator-1", "Jonas Berg", "jonas.berg@example.edu", [INSTRUCTOR]),
        ("other-participant-1", "Lena Fischer", "lena.fischer@example.edu", [LEARNER]),
        ("other-participant-2", "Marco Bianchi", "marco.bianchi@example.edu", [LEARNER]),
        # Someone in both courses: the tool must keep the two memberships apart.
        ("demo-participant-1", "Aisha Rahman", _email("Aisha Rahman"), [LEARNER]),
    ], label="OTHER")
    return demo_info(platform, tool)


# -- resource links, launches -------------------------------------------------------------------------------

def get_resource_link(session: Session, course: SandboxCourse, resource_link_id: str) -> SandboxResourceLink | None:
    return session.scalar(select(SandboxResourceLink).where(SandboxResourceLink.course_id == course.id,
                                                            SandboxResourceLink.resource_link_id == resource_link_id))


def placed_links(session: Session, course: SandboxCourse) -> list[SandboxResourceLink]:
    return list(session.scalars(select(SandboxResourceLink).where(SandboxResourceLink.course_id == course.id,
                                                                  SandboxResourceLink.placed)
                                .order_by(SandboxResourceLink.id)))


def add_resource_link(session: Session, course: SandboxCourse, title: str, url: str = "",
                      custom: dict | None = None, line_item: dict | None = None,
                      resource_link_id: str | None = None) -> SandboxResourceLink:
    """A placed link (as deep linking creates); ``line_item`` {scoreMaximum, label, tag, resourceId} adds one."""
    link = SandboxResourceLink(course_id=course.id, resource_link_id=resource_link_id or str(uuid.uuid4()),
                               title=title, url=url, custom=dict(custom or {}))
    session.add(link)
    session.flush()
    if line_item is not None:
        item = create_line_item(session, course, {
            "label": line_item.get("label") or title, "scoreMaximum": line_item.get("scoreMaximum", 100),
            "tag": line_item.get("tag"), "resourceId": line_item.get("resourceId"),
            "resourceLinkId": link.resource_link_id})
        link.line_item_id = item.id
    session.flush()
    return link


def create_message_hint(session: Session, tool: SandboxTool, user_sub: str, context_id: str, kind: str,
                        flavour: str, link: str | None) -> SandboxMessageHint:
    hint = SandboxMessageHint(token=secrets.token_urlsafe(24), tool_id=tool.id, user_sub=user_sub,
                              context_id=context_id, kind=kind, flavour=flavour, link=link,
                              expires_at=utcnow() + dt.timedelta(seconds=MESSAGE_HINT_SECONDS))
    session.add(hint)
    session.flush()
    return hint


def consume_message_hint(session: Session, token: str) -> SandboxMessageHint:
    hint = session.get(SandboxMessageHint, token) if token else None
    if hint is None:
        raise SandboxError("lti_message_hint is missing or unknown.")
    if hint.used_at is not None:
        raise SandboxError("lti_message_hint was already used (a login can be answered once).")
    if hint.expires_at < utcnow():
        raise SandboxError("lti_message_hint has expired (it lives five minutes).")
    hint.used_at = utcnow()
    session.flush()
    return hint


def deep_linking_settings(platform: SandboxPlatform, course: SandboxCourse, flavour: str | None = None) -> dict:
    return_url = platform.url(f"/deep_link_return?course={course.context_id}&flavour={flavour or 'generic'}")
    if flavour == "canvas":  # assignment_selection
        return {"deep_link_return_url": return_url + "&modal=true&placement=assignment_selection",
                "accept_types": ["ltiResourceLink"], "accept_presentation_document_targets": ["iframe", "window"],
                "accept_media_types": "application/vnd.ims.lti.v1.ltilink",
                "accept_multiple": False, "auto_create": False}
    if flavour == "moodle":
        return {"deep_link_return_url": return_url, "accept_types": ["ltiResourceLink"],
                "accept_presentation_document_targets": ["frame", "iframe", "window"],
                "accept_copy_advice": False, "accept_multiple": True, "accept_unsigned": False,
                "auto_create": False, "can_confirm": False, "title": "Communities of Practice", "text": ""}
    return {"deep_link_return_url": return_url, "accept_types": ["ltiResourceLink"],
            "accept_presentation_document_targets": ["iframe", "window"], "accept_multiple": True,
            "auto_create": False, "data": "opaque-data-" + secrets.token_hex(8)}


def line_items_url(platform: SandboxPlatform, course: SandboxCourse) -> str:
    return platform.url(f"/api/courses/{course.context_id}/line_items")


def line_item_url(platform: SandboxPlatform, course: SandboxCourse, item: SandboxLineItem) -> str:
    return f"{line_items_url(platform, course)}/{item.id}"


def memberships_url(platform: SandboxPlatform, course: SandboxCourse) -> str:
    if course.nrps_paging == "moodle":
        return platform.url(f"/mod/lti/services.php/CourseSection/{course.context_id}/bindings/1/memberships")
    return platform.url(f"/api/courses/{course.context_id}/names_and_roles")


def id_token_claims(session: Session, platform: SandboxPlatform, tool: SandboxTool, user: SandboxUser,
                    course: SandboxCourse, *, nonce: str, message_type: str = "LtiResourceLinkRequest",
                    resource_link_id: str | None = None, target_link_uri: str | None = None,
                    custom: dict | None = None, dl_settings: dict | None = None,
                    flavour: str | None = None, roles: Sequence[str] | None = None) -> dict:
    """The claims a Canvas-like platform sends for ``user`` in ``course``."""
    now = int(time.time())
    if roles is None:
        enrollment = get_enrollment(session, course, user.sub)
        roles = enrollment.roles if enrollment else []
    claims: dict[str, Any] = {
        "iss": platform.issuer, "aud": tool.client_id, "azp": tool.client_id, "sub": user.sub,
        "iat": now, "exp": now + 300, "nonce": nonce,
        CLAIM + "version": "1.3.0", CLAIM + "message_type": message_type,
        CLAIM + "deployment_id": tool.deployment_id,
        CLAIM + "target_link_uri": target_link_uri or tool.launch_url,
        CLAIM + "context": {"id": course.context_id, "label": course.label, "title": course.title,
                            "type": ["http://purl.imsglobal.org/vocab/lis/v2/course#CourseOffering"]},
        CLAIM + "roles": list(roles),
        "name": user.name, "given_name": user.given_name, "family_name": user.family_name, "email": user.email,
        "picture": user.picture or platform.url(f"/avatar/{user.sub}.png"),
        "locale": "en",
        CLAIM + "launch_presentation": {"document_target": "iframe", "return_url": platform.url("/"),
                                        "locale": "en"},
        CLAIM + "tool_platform": {"product_family_code": "sandbox", "name": platform.name, "guid": platform.guid,
                                  "version": "1"},
        CLAIM + "custom": dict(custom or {}),
        NRPS_CLAIM: {"context_memberships_url": memberships_url(platform, course), "service_versions": ["2.0"]},
    }
    ags: dict[str, Any] = {"scope": list(AGS_SCOPES), "lineitems": line_items_url(platform, course)}
    if message_type == "LtiResourceLinkRequest":
        link = get_resource_link(session, course, resource_link_id or default_link_id(course.context_id))
        rl_id = resource_link_id or default_link_id(course.context_id)
        claims[CLAIM + "resource_link"] = {"id": rl_id, "title": link.title if link else "Communities of Practice"}
        if link is not None and link.line_item_id:
            ags["lineitem"] = f"{line_items_url(platform, course)}/{link.line_item_id}"
    elif message_type == "LtiDeepLinkingRequest":
        claims[DL_CLAIM + "deep_linking_settings"] = (
            dl_settings if dl_settings is not None else deep_linking_settings(platform, course, flavour))
    claims[AGS_CLAIM] = ags
    return claims


def launch_claims_for_hint(session: Session, platform: SandboxPlatform, tool: SandboxTool,
                           hint: SandboxMessageHint, nonce: str) -> dict:
    user = get_user(session, platform, hint.user_sub)
    course = get_course(session, platform, hint.context_id)
    if user is None or course is None:
        raise SandboxError("the user or course of this launch no longer exists.")
    if get_enrollment(session, course, user.sub) is None:
        raise SandboxError(f"{user.sub} is not enrolled in {course.context_id}.")
    if hint.kind == "deeplink":
        return id_token_claims(session, platform, tool, user, course, nonce=nonce,
                               message_type="LtiDeepLinkingRequest", flavour=hint.flavour)
    link = get_resource_link(session, course, hint.link or default_link_id(course.context_id))
    if link is None:
        raise SandboxError(f"no resource link {hint.link!r} in {course.context_id}.")
    return id_token_claims(session, platform, tool, user, course, nonce=nonce,
                           resource_link_id=link.resource_link_id, target_link_uri=link.url or None,
                           custom=link.custom)


# -- talking to the tool -----------------------------------------------------------------------------------

def fetch_tool_jwks(url: str) -> dict:
    """The tool's JWKS over HTTP, like a real LMS (tests may replace this function)."""
    response = requests.get(url, timeout=JWKS_TIMEOUT_SECONDS)
    response.raise_for_status()
    return response.json()


def verify_tool_jwt(tool: SandboxTool, token: str, *, audience: str, issuer: str | None = None,
                    required: Sequence[str] = ("exp", "iat")) -> dict:
    """Check a JWT the tool signed: its kid against the tool's JWKS, RS256, aud, iss, exp/iat."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise SandboxError(f"not a JWT: {exc}") from exc
    if header.get("alg") != "RS256":
        raise SandboxError(f"alg must be RS256, not {header.get('alg')!r}.")
    kid = header.get("kid")
    if not kid:
        raise SandboxError("the JWT header has no kid.")
    try:
        keys = fetch_tool_jwks(tool.jwks_url).get("keys", [])
    except (requests.RequestException, ValueError) as exc:
        raise SandboxError(f"could not fetch the tool's JWKS from {tool.jwks_url}: {exc}") from exc
    jwk = next((k for k in keys if k.get("kid") == kid), None)
    if jwk is None:
        raise SandboxError(f"kid {kid!r} is not in the tool's JWKS.")
    try:
        return jwt.decode(token, jwt.PyJWK(jwk, algorithm="RS256").key, algorithms=["RS256"], audience=audience,
                          issuer=issuer, leeway=60, options={"require": list(required)})
    except jwt.PyJWTError as exc:
        raise SandboxError(f"the JWT is not valid: {exc}") from exc


# -- OAuth2 tokens -------------------------------------------------------------------------------------------

def issue_access_token(session: Session, platform: SandboxPlatform, form: dict) -> dict:
    """client_credentials with a JWT client assertion; returns the token response or raises
    ``SandboxError`` whose args[1] is the OAuth error code."""
    if form.get("grant_type") != "client_credentials":
        raise SandboxError("grant_type must be client_credentials", "unsupported_grant_type")
    if form.get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer":
        raise SandboxError("client_assertion_type must be jwt-bearer", "invalid_request")
    assertion = form.get("client_assertion") or ""
    try:
        unverified = jwt.decode(assertion, options={"verify_signature": False})
    except jwt.PyJWTError as exc:
        raise SandboxError(f"client_assertion is not a JWT: {exc}", "invalid_client") from exc
    client_id = unverified.get("sub") or ""
    tool = get_tool(session, platform, client_id)
    if tool is None:
        raise SandboxError(f"unknown client {client_id!r}", "invalid_client")
    try:
        claims = verify_tool_jwt(tool, assertion, audience=platform.url("/token"), issuer=tool.client_id,
                                 required=("exp", "iat", "jti", "sub", "iss", "aud"))
    except SandboxError as exc:
        raise SandboxError(str(exc), "invalid_client") from exc
    if claims["sub"] != tool.client_id:
        raise SandboxError("sub must be the client_id", "invalid_client")
    now = utcnow()
    session.execute(delete(SandboxUsedJti).where(SandboxUsedJti.expires_at < now - dt.timedelta(minutes=5)))
    seen = session.scalar(select(SandboxUsedJti).where(SandboxUsedJti.client_id == tool.client_id,
                                                       SandboxUsedJti.jti == str(claims["jti"])))
    if seen is not None:
        raise SandboxError("jti was already used", "invalid_client")
    session.add(SandboxUsedJti(client_id=tool.client_id, jti=str(claims["jti"]),
                               expires_at=dt.datetime.fromtimestamp(claims["exp"], dt.timezone.utc)))
    requested = (form.get("scope") or "").split()
    granted = [s for s in dict.fromkeys(requested) if s in (tool.scopes or ALL_SCOPES)]
    if not granted:
        raise SandboxError("none of the requested scopes is allowed", "invalid_scope")
    token = SandboxAccessToken(token=secrets.token_urlsafe(32), tool_id=tool.id, scopes=granted,
                               expires_at=now + dt.timedelta(seconds=ACCESS_TOKEN_SECONDS))
    session.add(token)
    session.flush()
    return {"access_token": token.token, "token_type": "Bearer", "expires_in": ACCESS_TOKEN_SECONDS,
            "scope": " ".join(granted)}


def check_access_token(session: Session, header: str | None, any_of: Sequence[str]) -> SandboxAccessToken:
    """The token of an ``Authorization: Bearer`` header carrying one of ``any_of``; raises SandboxError
    with args[1] = HTTP status (401 no/bad token, 403 wrong scope)."""
    if not header or not header.lower().startswith("bearer "):
        raise SandboxError("a Bearer access token is required", 401)
    token = session.get(SandboxAccessToken, header.split(" ", 1)[1].strip())
    if token is None or token.expires_at < utcnow():
        raise SandboxError("the access token is unknown or expired", 401)
    if not set(token.scopes) & set(any_of):
        raise SandboxError("the access token lacks the scope for this call", 403)
    return token


# -- line items and scores ----------------------------------------------------------------------------------

def create_line_item(session: Session, course: SandboxCourse, body: dict) -> SandboxLineItem:
    if not body.get("label"):
        raise SandboxError("label is required", 400)
    try:
        maximum = float(body["scoreMaximum"])
    except (KeyError, TypeError, ValueError):
        raise SandboxError("scoreMaximum is required and must be a number", 400) from None
    if maximum <= 0:
        raise SandboxError("scoreMaximum must be greater than 0", 400)
    extra = {k: body[k] for k in ("startDateTime", "endDateTime", "gradesReleased") if k in body}
    item = SandboxLineItem(course_id=course.id, label=str(body["label"]), score_maximum=maximum,
                           tag=body.get("tag"), resource_id=body.get("resourceId"),
                           resource_link_id=body.get("resourceLinkId"), extra=extra)
    session.add(item)
    session.flush()
    return item


def line_item_json(platform: SandboxPlatform, course: SandboxCourse, item: SandboxLineItem) -> dict:
    data = {"id": line_item_url(platform, course, item), "label": item.label, "scoreMaximum": item.score_maximum}
    for key, value in (("tag", item.tag), ("resourceId", item.resource_id),
                       ("resourceLinkId", item.resource_link_id)):
        if value is not None:
            data[key] = value
    data.update(item.extra or {})
    return data


def parse_timestamp(value: Any) -> dt.datetime:
    if not isinstance(value, str):
        raise ValueError("not a string")
    parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        raise ValueError("no time zone")
    return parsed.astimezone(dt.timezone.utc)


def learner_subs(session: Session, course: SandboxCourse) -> set[str]:
    rows = session.execute(select(SandboxUser.sub, SandboxEnrollment.roles).join(SandboxEnrollment)
                           .where(SandboxEnrollment.course_id == course.id)).all()
    return {sub for sub, roles in rows if LEARNER in (roles or [])}


def record_score(session: Session, course: SandboxCourse, item: SandboxLineItem, body: dict):
    """Store a score as Canvas does: the history row and the current result."""
    missing = [k for k in ("userId", "activityProgress", "gradingProgress", "timestamp") if not body.get(k)]
    if missing:
        raise SandboxError("missing: " + ", ".join(missing), 400)
    try:
        timestamp = parse_timestamp(body["timestamp"])
    except ValueError:
        raise SandboxError("timestamp is not an ISO 8601 date-time with a zone", 400) from None
    if body.get("scoreGiven") is not None and body.get("scoreMaximum") is None:
        raise SandboxError("ScoreMaximum not supplied when ScoreGiven present.", 422)
    user_sub = str(body["userId"])
    if user_sub not in learner_subs(session, course):
        raise SandboxError("User not found in course or is not a student", 422)
    result = session.scalar(select(SandboxResult).where(SandboxResult.line_item_id == item.id,
                                                        SandboxResult.user_sub == user_sub))
    if result is not None and timestamp < result.timestamp:
        raise SandboxError("Provided timestamp of " + body["timestamp"] + " before last updated time", 400)
    if result is not None and timestamp == result.timestamp:
        # The same score sent again (a retry after a timeout): absorbed, as it changes nothing.
        return result
    session.add(SandboxScore(line_item_id=item.id, user_sub=user_sub, body=body, timestamp=timestamp))
    if result is None:
        result = SandboxResult(line_item_id=item.id, user_sub=user_sub, timestamp=timestamp)
        session.add(result)
    result.timestamp = timestamp
    result.updated_at = utcnow()
    result.activity_progress = body["activityProgress"]
    result.grading_progress = body["gradingProgress"]
    if "comment" in body:
        result.comment = body.get("comment")
    # Canvas grades only FullyGraded / PendingManual scores; the others leave the grade alone.
    if body["gradingProgress"] in ("FullyGraded", "PendingManual"):
        given = body.get("scoreGiven")
        result.score_given = float(given) if given is not None else None
        result.score_maximum = float(body["scoreMaximum"]) if given is not None else None
    session.flush()
    return result


def results(session: Session, item: SandboxLineItem) -> list:
    return list(session.scalars(select(SandboxResult).where(SandboxResult.line_item_id == item.id)
                                .order_by(SandboxResult.id)))


def score_history(session: Session, item: SandboxLineItem, user_sub: str | None = None) -> list:
    q = select(SandboxScore).where(SandboxScore.line_item_id == item.id)
    if user_sub:
        q = q.where(SandboxScore.user_sub == user_sub)
    return list(session.scalars(q.order_by(SandboxScore.id)))


def line_items(session: Session, course: SandboxCourse) -> list[SandboxLineItem]:
    return list(session.scalars(select(SandboxLineItem).where(SandboxLineItem.course_id == course.id)
                                .order_by(SandboxLineItem.id)))


# -- faults and the request log ----------------------------------------------------------------------------

FAULT_MODES = ("500", "429", "timeout", "down")


def add_fault(session: Session, path_contains: str, mode: str, times: int = 1, retry_after: int | None = None,
              delay: float | None = None) -> SandboxFault:
    """The next ``times`` requests whose path contains ``path_contains`` fail in ``mode``."""
    if mode not in FAULT_MODES:
        raise ValueError(f"mode is one of {FAULT_MODES}")
    fault = SandboxFault(path_contains=path_contains, mode=mode, remaining=times, retry_after=retry_after,
                         delay=delay)
    session.add(fault)
    session.flush()
    return fault


def clear_faults(session: Session) -> None:
    session.execute(delete(SandboxFault))
    session.flush()


def take_fault(session: Session, path: str) -> SandboxFault | None:
    """The first live fault matching ``path``, with one use taken from it."""
    for fault in session.scalars(select(SandboxFault).where(SandboxFault.remaining > 0).order_by(SandboxFault.id)):
        if fault.path_contains in path:
            fault.remaining -= 1
            session.flush()
            return fault
    return None


def log_request(session: Session, method: str, path: str, query: str, status: int) -> None:
    session.add(SandboxRequestLog(method=method, path=path, query=query[:2048], status=status))
    session.flush()


def request_log(session: Session, path_contains: str | None = None) -> list[SandboxRequestLog]:
    q = select(SandboxRequestLog).order_by(SandboxRequestLog.id)
    if path_contains:
        q = q.where(SandboxRequestLog.path.contains(path_contains, autoescape=True))
    return list(session.scalars(q))


def clear_request_log(session: Session) -> None:
    session.execute(delete(SandboxRequestLog))
    session.flush()


def to_json(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False)
