"""The sandbox LMS's own tables. They live on their own declarative base (``SandboxBase``) with names
prefixed ``sandbox_``, so the tool's Alembic migrations never see them; ``init_app`` creates them."""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, MetaData, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from lti_tool.db import NAMING_CONVENTION, UTCDateTime, utcnow


class SandboxBase(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dt.datetime: UTCDateTime(), dict[str, Any]: JSON, list[str]: JSON}


class SandboxPlatform(SandboxBase):
    __tablename__ = "sandbox_platform"

    id: Mapped[int] = mapped_column(primary_key=True)
    base_url: Mapped[str] = mapped_column(String(512))
    issuer: Mapped[str] = mapped_column(String(512), unique=True)
    name: Mapped[str] = mapped_column(String(255), default="Sandbox LMS")
    guid: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    keys: Mapped[list[SandboxKey]] = relationship(back_populates="platform", order_by="SandboxKey.id")

    def url(self, path: str) -> str:
        """An absolute URL under the sandbox prefix (what the platform advertises in its messages)."""
        return self.issuer + path


class SandboxKey(SandboxBase):
    """The platform's RSA keys; the newest active one signs, retired ones stay published."""

    __tablename__ = "sandbox_key"

    id: Mapped[int] = mapped_column(primary_key=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("sandbox_platform.id", ondelete="CASCADE"), index=True)
    kid: Mapped[str] = mapped_column(String(128), unique=True)
    private_key_pem: Mapped[str] = mapped_column(Text)
    public_key_pem: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(default=True)
    published: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    platform: Mapped[SandboxPlatform] = relationship(back_populates="keys")


class SandboxTool(SandboxBase):
    """The tool as registered on the platform side (a Canvas developer key / a Moodle tool type)."""

    __tablename__ = "sandbox_tool"
    __table_args__ = (UniqueConstraint("platform_id", "client_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("sandbox_platform.id", ondelete="CASCADE"), index=True)
    client_id: Mapped[str] = mapped_column(String(255))
    deployment_id: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(255), default="Communities of Practice")
    login_url: Mapped[str] = mapped_column(String(1024))
    launch_url: Mapped[str] = mapped_column(String(1024))   # the one registered redirect_uri
    jwks_url: Mapped[str] = mapped_column(String(1024))
    scopes: Mapped[list[str]] = mapped_column(JSON, default=list)

    platform: Mapped[SandboxPlatform] = relationship()


class SandboxCourse(SandboxBase):
    __tablename__ = "sandbox_course"
    __table_args__ = (UniqueConstraint("platform_id", "context_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("sandbox_platform.id", ondelete="CASCADE"), index=True)
    context_id: Mapped[str] = mapped_column(String(255))
    title: Mapped[str] = mapped_column(String(512), default="")
    label: Mapped[str] = mapped_column(String(255), default="")
    nrps_paging: Mapped[str] = mapped_column(String(16), default="canvas")  # canvas | moodle

    platform: Mapped[SandboxPlatform] = relationship()


class SandboxUser(SandboxBase):
    __tablename__ = "sandbox_user"
    __table_args__ = (UniqueConstraint("platform_id", "sub"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("sandbox_platform.id", ondelete="CASCADE"), index=True)
    sub: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(255), default="")
    given_name: Mapped[str] = mapped_column(String(255), default="")
    family_name: Mapped[str] = mapped_column(String(255), default="")
    email: Mapped[str] = mapped_column(String(255), default="")
    picture: Mapped[str] = mapped_column(String(1024), default="")


class SandboxEnrollment(SandboxBase):
    __tablename__ = "sandbox_enrollment"
    __table_args__ = (UniqueConstraint("course_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("sandbox_course.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("sandbox_user.id", ondelete="CASCADE"), index=True)
    roles: Mapped[list[str]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(16), default="Active")  # Active | Inactive

    course: Mapped[SandboxCourse] = relationship()
    user: Mapped[SandboxUser] = relationship()


class SandboxLineItem(SandboxBase):
    __tablename__ = "sandbox_line_item"

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("sandbox_course.id", ondelete="CASCADE"), index=True)
    label: Mapped[str] = mapped_column(String(512))
    score_maximum: Mapped[float]
    tag: Mapped[str | None] = mapped_column(String(255))
    resource_id: Mapped[str | None] = mapped_column(String(255))
    resource_link_id: Mapped[str | None] = mapped_column(String(255))
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)   # startDateTime, endDateTime, ...
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    course: Mapped[SandboxCourse] = relationship()


class SandboxResourceLink(SandboxBase):
    """A placement of the tool in a course; deep linking creates them."""

    __tablename__ = "sandbox_resource_link"
    __table_args__ = (UniqueConstraint("course_id", "resource_link_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("sandbox_course.id", ondelete="CASCADE"), index=True)
    resource_link_id: Mapped[str] = mapped_column(String(255))
    title: Mapped[str] = mapped_column(String(512), default="")
    url: Mapped[str] = mapped_column(String(1024), default="")
    custom: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    line_item_id: Mapped[int | None] = mapped_column(ForeignKey("sandbox_line_item.id", ondelete="SET NULL"))
    placed: Mapped[bool] = mapped_column(default=True)  # false for the course's built-in link
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    course: Mapped[SandboxCourse] = relationship()
    line_item: Mapped[SandboxLineItem | None] = relationship()


class SandboxResult(SandboxBase):
    """The current result of one user on one line item (what the gradebook shows)."""

    __tablename__ = "sandbox_result"
    __table_args__ = (UniqueConstraint("line_item_id", "user_sub"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    line_item_id: Mapped[int] = mapped_column(ForeignKey("sandbox_line_item.id", ondelete="CASCADE"), index=True)
    user_sub: Mapped[str] = mapped_column(String(255))
    score_given: Mapped[float | None]
    score_maximum: Mapped[float | None]
    activity_progress: Mapped[str] = mapped_column(String(32), default="")
    grading_progress: Mapped[str] = mapped_column(String(32), default="")
    comment: Mapped[str | None] = mapped_column(Text)
    timestamp: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class SandboxScore(SandboxBase):
    """Every score POST received, as sent (the history behind a result)."""

    __tablename__ = "sandbox_score"

    id: Mapped[int] = mapped_column(primary_key=True)
    line_item_id: Mapped[int] = mapped_column(ForeignKey("sandbox_line_item.id", ondelete="CASCADE"), index=True)
    user_sub: Mapped[str] = mapped_column(String(255))
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    timestamp: Mapped[dt.datetime]
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class SandboxMessageHint(SandboxBase):
    """The opaque lti_message_hint of one login initiation: single use, five minutes."""

    __tablename__ = "sandbox_message_hint"

    token: Mapped[str] = mapped_column(String(64), primary_key=True)
    tool_id: Mapped[int] = mapped_column(ForeignKey("sandbox_tool.id", ondelete="CASCADE"))
    user_sub: Mapped[str] = mapped_column(String(255))
    context_id: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(16))
    flavour: Mapped[str] = mapped_column(String(16))
    link: Mapped[str | None] = mapped_column(String(255))
    expires_at: Mapped[dt.datetime]
    used_at: Mapped[dt.datetime | None]


class SandboxAccessToken(SandboxBase):
    __tablename__ = "sandbox_access_token"

    token: Mapped[str] = mapped_column(String(128), primary_key=True)
    tool_id: Mapped[int] = mapped_column(ForeignKey("sandbox_tool.id", ondelete="CASCADE"))
    scopes: Mapped[list[str]] = mapped_column(JSON)
    expires_at: Mapped[dt.datetime]


class SandboxUsedJti(SandboxBase):
    __tablename__ = "sandbox_used_jti"
    __table_args__ = (UniqueConstraint("client_id", "jti"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[str] = mapped_column(String(255))
    jti: Mapped[str] = mapped_column(String(255))
    expires_at: Mapped[dt.datetime]


class SandboxFault(SandboxBase):
    """An injected failure for requests whose path contains ``path_contains``."""

    __tablename__ = "sandbox_fault"

    id: Mapped[int] = mapped_column(primary_key=True)
    path_contains: Mapped[str] = mapped_column(String(512))
    mode: Mapped[str] = mapped_column(String(16))  # 500 | 429 | timeout | down
    remaining: Mapped[int] = mapped_column(default=1)
    retry_after: Mapped[int | None]
    delay: Mapped[float | None]


class SandboxRequestLog(SandboxBase):
    __tablename__ = "sandbox_request_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    method: Mapped[str] = mapped_column(String(8))
    path: Mapped[str] = mapped_column(String(1024))
    query: Mapped[str] = mapped_column(String(2048), default="")
    status: Mapped[int]
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
