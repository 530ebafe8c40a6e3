"""Open Badges 3.0 beside the PDF (optional per program): the issued certificate as an OpenBadgeCredential
signed as a VC-JWT (RS256) with the tool's signing key, whose public half the tool publishes in its JWKS
(/lti/jwks), so anyone can check it. Built from the frozen snapshot, like the PDF."""
from __future__ import annotations

import datetime as dt
import uuid

import jwt
from sqlalchemy.orm import Session

from lti_tool.certificates.models import Certificate
from lti_tool.lti.keys import signing_key

CONTEXT = ["https://www.w3.org/ns/credentials/v2",
           "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"]


def _date(value: str | None) -> str | None:
    return f"{value}T00:00:00Z" if value else None


def credential(cert: Certificate, issuer_url: str) -> dict:
    """The OpenBadgeCredential (the ``vc`` claim) of a certificate."""
    data = cert.data
    issued = cert.issued_at.astimezone(dt.timezone.utc).replace(microsecond=0)
    subject = {"type": ["AchievementSubject"], "name": data["name"],
               "creditsEarned": float(data["total_units"]),
               "achievement": {
                   "id": f"{issuer_url}/achievements/program-{cert.program_id}",
                   "type": ["Achievement"], "name": data["program"],
                   "description": f"Completion of {data['program']} ({data['unit_label']}).",
                   "criteria": {"narrative": "Met the program's completion rule; hours derived from attendance, "
                                             "module and book-study records."},
                   "creditsAvailable": float(data.get("required_units") or data["total_units"]),
               }}
    if data.get("starts_on"):
        subject["activityStartDate"] = _date(data["starts_on"])
    if data.get("ends_on"):
        subject["activityEndDate"] = _date(data["ends_on"])
    return {
        "@context": CONTEXT, "id": data["verify_url"], "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": {"id": issuer_url, "type": ["Profile"], "name": data.get("provider") or data["program"]},
        "validFrom": issued.isoformat().replace("+00:00", "Z"), "name": f"{data['program']}: certificate",
        "credentialSubject": subject,
    }


def credential_jwt(session: Session, cert: Certificate, issuer_url: str) -> str:
    """The credential as a compact JWS (VC-JWT, RS256) with the tool key's kid in its header."""
    key = signing_key(session)
    vc = credential(cert, issuer_url)
    claims = {"iss": issuer_url, "jti": f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, vc['id'])}",
              "nbf": int(cert.issued_at.timestamp()), "iat": int(cert.issued_at.timestamp()), "vc": vc}
    return jwt.encode(claims, key.private_key_pem, algorithm="RS256", headers={"kid": key.kid, "typ": "JWT"})
