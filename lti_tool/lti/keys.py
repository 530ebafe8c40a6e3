"""The tool's RSA keys: create, rotate, publish. The newest unretired key signs."""
from __future__ import annotations

import datetime as dt
import json

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwcrypto.jwk import JWK
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from lti_tool.db import utcnow
from lti_tool.lti.models import ToolKey


def new_pem_pair() -> tuple[str, str]:
    """A new 2048-bit RSA key pair as (private PKCS#8 PEM, public SubjectPublicKeyInfo PEM)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    return private, public


def public_jwk(public_pem: str) -> dict:
    """The public key as a JWK with kid = RFC 7638 thumbprint (what pylti1p3 puts in its JWT headers)."""
    jwk = JWK.from_pem(public_pem.encode())
    data = json.loads(jwk.export_public())
    data.update(kid=jwk.thumbprint(), alg="RS256", use="sig")
    return data


def create_key(session: Session) -> ToolKey:
    private, public = new_pem_pair()
    key = ToolKey(kid=public_jwk(public)["kid"], private_key_pem=private, public_key_pem=public)
    session.add(key)
    session.flush()
    return key


def signing_key(session: Session) -> ToolKey:
    """The key that signs now; created on first use so a fresh install needs no extra step."""
    key = session.scalar(
        select(ToolKey).where(ToolKey.retired_at.is_(None)).order_by(ToolKey.id.desc()).limit(1)
    )
    return key or create_key(session)


def rotate_keys(session: Session, grace: dt.timedelta) -> ToolKey:
    """Start signing with a new key; older keys stay published for ``grace`` (tokens in flight)."""
    now = utcnow()
    for old in session.scalars(select(ToolKey).where(ToolKey.retired_at.is_(None))):
        old.retired_at = now
        old.unpublish_after = now + grace
    return create_key(session)


def published_keys(session: Session) -> list[ToolKey]:
    now = utcnow()
    return list(
        session.scalars(
            select(ToolKey)
            .where(or_(ToolKey.unpublish_after.is_(None), ToolKey.unpublish_after > now))
            .order_by(ToolKey.id.desc())
        )
    )


def jwks(session: Session) -> dict:
    keys = published_keys(session) or [signing_key(session)]
    return {"keys": [public_jwk(k.public_key_pem) for k in keys]}
