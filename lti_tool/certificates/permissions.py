"""Who may do what with certificates, on top of the course's ``Access``: a person's certificates are seen (and
downloaded) by that person and by those who may see their PD-hours ledger (leads, their cohort's
facilitators); for anyone else they do not exist (404). Issuing by hand, re-issuing and revoking are the
leads'. The verification page is public and shows only what ``queries.VerifiedCertificate`` holds.

The verification code is a credential of sorts (whoever holds it may read the certificate's public facts):
``new_code`` draws 80 random bits (16 Crockford base-32 characters, read in groups of four)."""
from __future__ import annotations

import re
import secrets

from lti_tool.course.access import Access

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"      # Crockford: no I, L, O, U
CODE_LENGTH = 16                                    # 80 bits
_READ_AS = str.maketrans({"O": "0", "I": "1", "L": "1"})


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def grouped(code: str) -> str:
    """"ABCD-EFGH-JKMN-PQRS": how a code is printed and read out."""
    return "-".join(code[i:i + 4] for i in range(0, len(code), 4))


def normalise(text: str) -> str | None:
    """A typed or scanned code as stored (case, hyphens, spaces and O/0, I/L/1 forgiven); None if it cannot be
    one."""
    code = re.sub(r"[\s\-–—.]+", "", (text or "").upper()).translate(_READ_AS)
    if len(code) != CODE_LENGTH or any(c not in ALPHABET for c in code):
        return None
    return code


def require_certificate_lead(access: Access, what: str = "issue, re-issue or revoke certificates") -> None:
    access.require_lead(what)
