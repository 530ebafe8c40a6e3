"""Registrations (platform, deployment), the tool's keys, and LMS identities: user, course, membership.

A person is (platform, sub) and a course is (platform, context id): nothing is shared across platforms.
"""
from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from flask_login import UserMixin
from sqlalchemy import JSON, Enum, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lti_tool.db import Base, TimestampMixin


class Platform(TimestampMixin, Base):
    """One LMS registration: an issuer and the client_id it gave us (Canvas cloud shares one issuer)."""

    __tablename__ = "platform"
    __table_args__ = (UniqueConstraint("issuer", "client_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    issuer: Mapped[str] = mapped_column(String(255))
    client_id: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(255), default="")
    product_family: Mapped[str] = mapped_column(String(64), default="")  # canvas, moodle, sandbox...
    auth_login_url: Mapped[str] = mapped_column(String(1024))
    auth_token_url: Mapped[str] = mapped_column(String(1024))
    auth_audience: Mapped[str | None] = mapped_column(String(1024))
    key_set_url: Mapped[str] = mapped_column(String(1024))
    # How it was registered: cli, dynamic, canvas_json; dynamic registrations keep what the LMS answered.
    registered_by: Mapped[str] = mapped_column(String(32), default="cli")
    registration_data: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    active: Mapped[bool] = mapped_column(default=True)

    deployments: Mapped[list[Deployment]] = relationship(
        back_populates="platform", cascade="all, delete-orphan", order_by="Deployment.id"
    )

    @property
    def origin(self) -> str:
        """Scheme and host of the LMS pages that frame us (for CSP frame-ancestors)."""
        from urllib.parse import urlsplit

        parts = urlsplit(self.auth_login_url or self.issuer)
        return f"{parts.scheme}://{parts.netloc}"

    def __repr__(self) -> str:
        return f"<Platform {self.id} {self.issuer} {self.client_id}>"


class Deployment(TimestampMixin, Base):
    __tablename__ = "deployment"
    __table_args__ = (UniqueConstraint("platform_id", "deployment_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("platform.id", ondelete="CASCADE"), index=True)
    deployment_id: Mapped[str] = mapped_column(String(255))
    platform: Mapped[Platform] = relationship(back_populates="deployments")


class ToolKey(TimestampMixin, Base):
    """The tool's RSA signing keys. The newest active key signs; retired keys stay published for a while."""

    __tablename__ = "tool_key"

    id: Mapped[int] = mapped_column(primary_key=True)
    kid: Mapped[str] = mapped_column(String(128), unique=True)
    private_key_pem: Mapped[str] = mapped_column(Text)
    public_key_pem: Mapped[str] = mapped_column(Text)
    retired_at: Mapped[dt.datetime | None]
    # After this the key is no longer published: nothing signed with it can still be in flight.
    unpublish_after: Mapped[dt.datetime | None]


class CourseRole(str, enum.Enum):
    facilitator = "facilitator"
    participant = "participant"
    observer = "observer"


class User(UserMixin, TimestampMixin, Base):
    __tablename__ = "lti_user"
    __table_args__ = (UniqueConstraint("platform_id", "sub"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("platform.id", ondelete="CASCADE"), index=True)
    sub: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(255), default="")
    given_name: Mapped[str] = mapped_column(String(255), default="")
    family_name: Mapped[str] = mapped_column(String(255), default="")
    email: Mapped[str] = mapped_column(String(255), default="")
    picture: Mapped[str] = mapped_column(String(1024), default="")
    last_launch_at: Mapped[dt.datetime | None]
    timezone: Mapped[str] = mapped_column(String(64), default="", server_default="")  # "" = the program's zone

    platform: Mapped[Platform] = relationship()

    @property
    def display_name(self) -> str:
        full = " ".join(p for p in (self.given_name, self.family_name) if p)
        return self.name or full or self.email or f"User {self.sub[:8]}"


class Course(TimestampMixin, Base):
    """An LMS course (LTI context). Service URLs from the latest launch are kept for background jobs."""

    __tablename__ = "course"
    __table_args__ = (UniqueConstraint("platform_id", "context_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("platform.id", ondelete="CASCADE"), index=True)
    deployment_id: Mapped[int | None] = mapped_column(ForeignKey("deployment.id", ondelete="SET NULL"))
    context_id: Mapped[str] = mapped_column(String(255))
    title: Mapped[str] = mapped_column(String(512), default="")
    label: Mapped[str] = mapped_column(String(255), default="")
    nrps_url: Mapped[str | None] = mapped_column(String(1024))
    ags_lineitems_url: Mapped[str | None] = mapped_column(String(1024))
    ags_scopes: Mapped[list[str] | None] = mapped_column(JSON)
    roster_synced_at: Mapped[dt.datetime | None]

    platform: Mapped[Platform] = relationship()
    deployment: Mapped[Deployment | None] = relationship()

    @property
    def display_title(self) -> str:
        return self.title or self.label or f"Course {self.context_id}"


class Membership(TimestampMixin, Base):
    """A user in a course: the raw LTI roles as sent, and our role derived from them."""

    __tablename__ = "membership"
    __table_args__ = (UniqueConstraint("user_id", "course_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("lti_user.id", ondelete="CASCADE"), index=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id", ondelete="CASCADE"), index=True)
    lti_roles: Mapped[list[str]] = mapped_column(JSON, default=list)
    role: Mapped[CourseRole] = mapped_column(Enum(CourseRole, native_enum=False, length=16))
    is_preview: Mapped[bool] = mapped_column(default=False)  # Canvas's Test Student
    active: Mapped[bool] = mapped_column(default=True)       # false once NRPS no longer lists them
    source: Mapped[str] = mapped_column(String(16), default="launch")  # launch or roster
    last_launch_at: Mapped[dt.datetime | None]
    roster_seen_at: Mapped[dt.datetime | None]  # the last roster sync that listed them

    user: Mapped[User] = relationship()
    course: Mapped[Course] = relationship()


class ResourceLink(TimestampMixin, Base):
    """A placement of the tool in a course (a Canvas module item, a Moodle activity)."""

    __tablename__ = "resource_link"
    __table_args__ = (UniqueConstraint("course_id", "resource_link_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id", ondelete="CASCADE"), index=True)
    resource_link_id: Mapped[str] = mapped_column(String(255))
    title: Mapped[str] = mapped_column(String(512), default="")
    ags_lineitem_url: Mapped[str | None] = mapped_column(String(1024))
    # What the link opens inside the tool, from the deep-linking custom parameters (e.g. "program").
    target: Mapped[str] = mapped_column(String(255), default="")

    course: Mapped[Course] = relationship()
