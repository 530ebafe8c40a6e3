"""A validated launch → User, Course, Membership (roles mapped), refreshed at every launch."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from lti_tool.db import utcnow
from lti_tool.lti.models import Course, CourseRole, Deployment, Membership, Platform, ResourceLink, User
from lti_tool.lti.registry import add_deployment, find_deployment

CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"
AGS_CLAIM = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
NRPS_CLAIM = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"
LIS = "http://purl.imsglobal.org/vocab/lis/v2/"

_FACILITATOR = {"Instructor", "TeachingAssistant", "Administrator"}
# The LMS's own administrators (Canvas account and site admins, Moodle site admins): system and institution
# roles, not roles in a course.
LMS_ADMIN_ROLES = frozenset({
    LIS + "system/person#Administrator", LIS + "system/person#SysAdmin",
    LIS + "institution/person#Administrator",
})
TEST_USER = "http://purl.imsglobal.org/vocab/lti/system/person#TestUser"  # Canvas's Test Student
# The LIS v2 spelling too, which some platforms (and our sandbox) send.
TEST_USERS = {TEST_USER, LIS + "system/person#TestUser"}


def _context_role(uri: str) -> str | None:
    """'Instructor' for membership#Instructor, the short form, or the TA sub-role; None for others."""
    if uri.startswith(LIS + "membership#"):
        return uri.split("#", 1)[1]
    if uri.startswith(LIS + "membership/"):
        return uri.rsplit("#", 1)[-1]  # membership/Instructor#TeachingAssistant → TeachingAssistant
    if "/" not in uri and "#" not in uri and ":" not in uri:
        return uri  # short names: "Instructor", "Learner"
    return None


def map_role(lti_roles: Iterable[str]) -> tuple[CourseRole, bool]:
    """Our role from the LTI roles, and whether this is an LMS preview user (Canvas's Test Student).

    facilitator: Instructor, TeachingAssistant, Administrator (course, system or institution admin)
    participant: Learner; observer: Mentor and anything else, including no roles at all.
    """
    roles = [r for r in lti_roles if isinstance(r, str)]
    context_roles = {_context_role(r) for r in roles} - {None}
    is_preview = any(r in TEST_USERS for r in roles)
    if context_roles & _FACILITATOR or any(r in LMS_ADMIN_ROLES for r in roles):
        return CourseRole.facilitator, is_preview
    if "Learner" in context_roles:
        return CourseRole.participant, is_preview
    return CourseRole.observer, is_preview


def is_course_instructor(lti_roles: Iterable[str]) -> bool:
    """Whether the LMS lists this person as teaching the course: the context role Instructor (full or short
    name) or one of its sub-roles (TeachingAssistant...). Institution and system roles, administrators
    included, are not roles in the course."""
    return any(isinstance(r, str) and (r in (LIS + "membership#Instructor", "Instructor")
                                       or r.startswith(LIS + "membership/Instructor#"))
               for r in lti_roles)


def administered_platform(session: Session, user: User) -> Platform | None:
    """The platform ``user`` administers, if their latest launch carried an LMS administrator role.

    The latest launch decides: system and institution roles are not about the course, so the most recent
    launch is the LMS's latest word, and a role the LMS takes away is gone at the next launch. Only the
    user's own platform: a person is (platform, sub), and nothing is shared across platforms.
    """
    roles = session.scalar(
        select(Membership.lti_roles)
        .where(Membership.user_id == user.id, Membership.active.is_(True), Membership.last_launch_at.is_not(None))
        .order_by(Membership.last_launch_at.desc(), Membership.id.desc()).limit(1))
    if not roles or not any(r in LMS_ADMIN_ROLES for r in roles):
        return None
    return session.get(Platform, user.platform_id)


def claim_text(value: Any, limit: int = 255) -> str:
    """A text claim of a launch or a roster (NRPS) member, trimmed to ``limit``; "" when absent or not text.
    Canvas sends unresolved substitutions literally ("$Canvas.user.sisid"): they count as absent."""
    if not isinstance(value, str) or value.startswith("$"):
        return ""
    return value.strip()[:limit]


@dataclass
class LaunchResult:
    user: User
    course: Course | None
    membership: Membership | None
    deployment_id: str
    message_type: str
    resource_link: ResourceLink | None = None
    custom: dict[str, str] = field(default_factory=dict)


def record_launch(session: Session, platform: Platform, body: dict[str, Any],
                  deployment: Deployment | None = None) -> LaunchResult:
    """Upsert the person, the course and the membership of a validated launch. Flushes, never commits."""
    now = utcnow()
    deployment_id = str(body.get(CLAIM + "deployment_id"))
    if deployment is None or deployment.deployment_id != deployment_id:
        deployment = find_deployment(session, platform, deployment_id) or add_deployment(session, platform, deployment_id)

    user = session.scalar(select(User).where(User.platform_id == platform.id, User.sub == str(body["sub"])))
    if user is None:
        user = User(platform_id=platform.id, sub=str(body["sub"]))
        session.add(user)
    # Names, email and picture refresh at every launch; the LMS may stop sending them (privacy settings).
    user.name = claim_text(body.get("name"))
    user.given_name = claim_text(body.get("given_name"))
    user.family_name = claim_text(body.get("family_name"))
    user.email = claim_text(body.get("email"))
    picture = claim_text(body.get("picture"), 1024)
    user.picture = picture if picture.startswith("https://") or picture.startswith("http://") else ""
    user.last_launch_at = now

    lti_roles = [r for r in body.get(CLAIM + "roles") or [] if isinstance(r, str)]
    role, is_preview = map_role(lti_roles)
    raw_custom = body.get(CLAIM + "custom")
    custom = {str(k): str(v) for k, v in raw_custom.items()
              if isinstance(v, (str, int, float))} if isinstance(raw_custom, dict) else {}

    context = body.get(CLAIM + "context") or {}
    course = membership = link = None
    if isinstance(context, dict) and context.get("id"):
        course = session.scalar(
            select(Course).where(Course.platform_id == platform.id, Course.context_id == str(context["id"]))
        )
        if course is None:
            course = Course(platform_id=platform.id, context_id=str(context["id"]))
            session.add(course)
        course.deployment = deployment
        course.title = claim_text(context.get("title"), 512) or course.title
        course.label = claim_text(context.get("label")) or course.label
        nrps = body.get(NRPS_CLAIM) or {}
        if isinstance(nrps, dict) and nrps.get("context_memberships_url"):
            course.nrps_url = str(nrps["context_memberships_url"])
        ags = body.get(AGS_CLAIM) or {}
        if isinstance(ags, dict):
            if ags.get("lineitems"):
                course.ags_lineitems_url = str(ags["lineitems"])
            if isinstance(ags.get("scope"), list):
                course.ags_scopes = [str(s) for s in ags["scope"]]
        session.flush()

        membership = session.scalar(
            select(Membership).where(Membership.user_id == user.id, Membership.course_id == course.id)
        ) if user.id else None
        if membership is None:
            membership = Membership(user=user, course=course, role=role)
            session.add(membership)
        membership.lti_roles = lti_roles
        membership.role = role
        membership.is_preview = is_preview
        membership.active = True
        membership.last_launch_at = now

        resource_link = body.get(CLAIM + "resource_link") or {}
        if isinstance(resource_link, dict) and resource_link.get("id"):
            link = session.scalar(select(ResourceLink).where(
                ResourceLink.course_id == course.id, ResourceLink.resource_link_id == str(resource_link["id"])))
            if link is None:
                link = ResourceLink(course=course, resource_link_id=str(resource_link["id"]))
                session.add(link)
            link.title = claim_text(resource_link.get("title"), 512)
            if isinstance(ags, dict) and ags.get("lineitem"):
                link.ags_lineitem_url = str(ags["lineitem"])
            if custom.get("target"):
                link.target = custom["target"][:255]
    session.flush()
    return LaunchResult(user=user, course=course, membership=membership, deployment_id=deployment.deployment_id,
                        message_type=str(body.get(CLAIM + "message_type")), resource_link=link, custom=custom)

