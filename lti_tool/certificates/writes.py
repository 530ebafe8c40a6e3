"""Certificate changes: issue (by the job when a person meets the completion rule, or by a lead's hand),
re-issue (a new version from today's name and hours; the old one superseded), revoke (with a reason). Each
writes the history, tells the person (a notice), and flushes without committing.

What a certificate says is frozen at issue: ``certificate_data`` builds the snapshot (name from the LMS,
program, provider, place, dates, hours by category in the profile's unit, signer, code, URL), the PDF is made
from it and both are stored; a later change of name or hours changes neither until a lead re-issues.
"""
from __future__ import annotations

import datetime as dt
import unicodedata
import zlib

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lti_tool.certificates.models import Certificate, CertificateEvent, CertificateStatus, EventKind
from lti_tool.certificates.pdf import FontMissing, render_pdf
from lti_tool.certificates.permissions import grouped, new_code, require_certificate_lead
from lti_tool.course.access import Access, is_lead
from lti_tool.course.notices import notify
from lti_tool.course.zones import program_zone
from lti_tool.db import utcnow
from lti_tool.errors import InvalidInput, NotFound
from lti_tool.hours.ledger import Ledger, units_text
from lti_tool.hours.models import HoursProfile
from lti_tool.hours.queries import ledgers_for, profile_of
from lti_tool.lti.models import CourseRole, Membership
from lti_tool.programs.models import Program

VERIFY_PATH = "/verify/"


def verify_url(base_url: str, code: str) -> str:
    return f"{(base_url or '').rstrip('/')}{VERIFY_PATH}{grouped(code)}"


def _date_text(day: dt.date) -> str:
    return f"{day.day} {day:%B %Y}"


def certificate_data(program: Program, person: Membership, profile: HoursProfile, ledger: Ledger, *, code: str,
                     version: int, base_url: str, now: dt.datetime) -> dict:
    """The snapshot a certificate prints and the verification page shows (JSON)."""
    days = [line.on_date for line in ledger.lines]
    starts = program.starts_on or (min(days) if days else None)
    ends = program.ends_on or (max(days) if days else None)
    if starts and ends:
        dates_text = f"{_date_text(starts)} – {_date_text(ends)}"
    else:
        dates_text = program.year_label or ""
    issued_on = now.astimezone(program_zone(program)).date()
    return {
        "name": unicodedata.normalize("NFC", person.user.display_name or ""),
        "program": program.title, "year": program.year_label or "",
        "provider": profile.provider or "", "location": profile.location or "Virtual",
        "starts_on": starts.isoformat() if starts else None, "ends_on": ends.isoformat() if ends else None,
        "dates_text": dates_text,
        "unit": ledger.unit.value, "unit_label": ledger.unit.short,
        "categories": [{"category": c.category.value, "label": c.label, "minutes": c.credited,
                        "units": units_text(c.units), "capped": c.capped,
                        "cap_percent": f"{c.cap_percent:g}" if c.cap_percent is not None else None}
                       for c in ledger.categories],
        "total_minutes": ledger.total_minutes, "total_units": units_text(ledger.total_units),
        "required_units": profile.required_units,
        "signer_name": profile.signer_name or "", "signer_title": profile.signer_title or "",
        "issued_on": issued_on.isoformat(), "issued_on_text": _date_text(issued_on),
        "code": grouped(code), "verify_url": verify_url(base_url, code), "version": version, "lang": "en",
        "open_badges": bool(profile.open_badges),
    }


def _leads_of(session: Session, program: Program) -> list[int]:
    staff = session.scalars(select(Membership).where(Membership.course_id == program.course_id,
                                                     Membership.active.is_(True),
                                                     Membership.role == CourseRole.facilitator))
    return [m.id for m in staff if is_lead(program, m)]


def _refuse(session: Session, program: Program, person: Membership, actor_id: int | None, message: str,
            now: dt.datetime) -> None:
    """Keep a refusal in the history and tell the leads (once per person and reason)."""
    session.add(CertificateEvent(program_id=program.id, membership_id=person.id, kind=EventKind.refused,
                                 actor_id=actor_id, note=message, at=now))
    notify(session, _leads_of(session, program), key=f"certificate-refused:{program.id}:{person.id}:{zlib.crc32(message.encode()):x}",
           kind="certificate", text=f"No certificate was issued to {person.user.display_name}: {message}",
           url=f"/c/{program.course_id}/certificates/", now=now)
    session.flush()


def _issue(session: Session, program: Program, person: Membership, *, actor_id: int | None, base_url: str,
           kind: EventKind, note: str = "", now: dt.datetime | None = None,
           replaces: Certificate | None = None) -> Certificate:
    now = now or utcnow()
    profile = profile_of(session, program)
    ledger = ledgers_for(session, program, [person.id], profile)[person.id]
    version = (session.scalar(select(func.max(Certificate.version)).where(
        Certificate.program_id == program.id, Certificate.membership_id == person.id)) or 0) + 1
    code = new_code()
    data = certificate_data(program, person, profile, ledger, code=code, version=version, base_url=base_url, now=now)
    try:
        pdf = render_pdf(data)
    except FontMissing as exc:
        _refuse(session, program, person, actor_id, exc.message, now)
        raise
    if replaces is not None:
        replaces.status, replaces.superseded_at = CertificateStatus.superseded, now
    cert = Certificate(program_id=program.id, membership_id=person.id, version=version, code=code, issued_at=now,
                       issued_by_id=actor_id, data=data, pdf=pdf)
    session.add(cert)
    session.flush()
    session.add(CertificateEvent(program_id=program.id, membership_id=person.id, certificate_id=cert.id, kind=kind,
                                 actor_id=actor_id, note=note, at=now))
    notify(session, [person.id], key=f"certificate:{cert.id}", kind="certificate",
           text=f"Your certificate for {program.title} is ready ({data['total_units']} {data['unit_label']}).",
           url=f"/c/{program.course_id}/hours/me", now=now)
    session.flush()
    return cert


def _participant(session: Session, program: Program, membership_id: int) -> Membership:
    person = session.scalar(select(Membership).where(Membership.id == membership_id,
                                                     Membership.course_id == program.course_id))
    if person is None:
        raise NotFound("There is no such person in this course.")
    if person.role is not CourseRole.participant or not person.active:
        raise InvalidInput("Certificates are issued to the course's active participants.")
    return person


def _existing(session: Session, program: Program, membership_id: int) -> list[Certificate]:
    return list(session.scalars(select(Certificate).where(Certificate.program_id == program.id,
                                                          Certificate.membership_id == membership_id)
                                .order_by(Certificate.version.desc())))


def issue_for_completion(session: Session, program_id: int, membership_id: int, base_url: str,
                         now: dt.datetime | None = None) -> Certificate | None:
    """The job's issue for one person who met the completion rule: only when the program issues certificates,
    only to an active participant, only if they have never had one (a revoked one is not re-issued by itself:
    a lead revoked it for a reason), and only with the profile's minimum hours when it has one. Returns the
    new certificate, or None when there is nothing to issue. ``FontMissing`` is raised after the refusal is
    recorded (the caller commits it)."""
    program = session.get(Program, program_id)
    if program is None:
        return None
    profile = profile_of(session, program)
    if not profile.certificates_enabled:
        return None
    person = session.get(Membership, membership_id)
    if person is None or person.course_id != program.course_id or person.role is not CourseRole.participant \
            or not person.active:
        return None
    if _existing(session, program, membership_id):
        return None
    now = now or utcnow()
    if profile.required_units:
        ledger = ledgers_for(session, program, [person.id], profile)[person.id]
        if ledger.total_units < profile.required_units:
            _refuse(session, program, person, None,
                    f"they met the completion rule with {units_text(ledger.total_units)} {ledger.unit.short}, "
                    f"but the program requires {units_text(profile.required_units)}.", now)
            return None
    return _issue(session, program, person, actor_id=None, base_url=base_url, kind=EventKind.issued,
                  note="Issued automatically: the completion rule was met.", now=now)


def issue_by_hand(session: Session, access: Access, membership_id: int, base_url: str, note: str = "",
                  now: dt.datetime | None = None) -> Certificate:
    """A lead issues a person's certificate (one who has none valid; else re-issue it)."""
    require_certificate_lead(access)
    program = access.program
    person = _participant(session, program, membership_id)
    if any(c.status is CertificateStatus.valid for c in _existing(session, program, person.id)):
        raise InvalidInput("They already have a valid certificate: re-issue it to make a new version.")
    return _issue(session, program, person, actor_id=access.id, base_url=base_url, kind=EventKind.issued,
                  note=(note or "").strip()[:2000] or "Issued by a lead.", now=now)


def _lead_certificate(session: Session, access: Access, certificate_id: int) -> Certificate:
    require_certificate_lead(access)
    cert = session.scalar(select(Certificate).where(Certificate.id == certificate_id,
                                                    Certificate.program_id == access.program.id))
    if cert is None:
        raise NotFound("There is no such certificate here.")
    return cert


def reissue(session: Session, access: Access, certificate_id: int, base_url: str, reason: str = "",
            now: dt.datetime | None = None) -> Certificate:
    """A new version from today's name and hours (a corrected name, hours added); the old one is superseded
    and its verification page says so."""
    cert = _lead_certificate(session, access, certificate_id)
    if cert.status is not CertificateStatus.valid:
        raise InvalidInput("Only the valid version can be re-issued.")
    person = _participant(session, access.program, cert.membership_id)
    return _issue(session, access.program, person, actor_id=access.id, base_url=base_url, kind=EventKind.reissued,
                  note=(reason or "").strip()[:2000] or f"Re-issued; version {cert.version} superseded.", now=now,
                  replaces=cert)


def revoke(session: Session, access: Access, certificate_id: int, reason: str,
           now: dt.datetime | None = None) -> Certificate:
    """Revoke a certificate (with the reason, kept in its history); its verification page says "revoked"."""
    cert = _lead_certificate(session, access, certificate_id)
    if cert.status is CertificateStatus.revoked:
        raise InvalidInput("This certificate is already revoked.")
    reason = (reason or "").strip()[:2000]
    if not reason:
        raise InvalidInput("Give the reason for revoking it: it is kept in the certificate's history.", "reason")
    now = now or utcnow()
    cert.status, cert.revoked_at, cert.revoked_by_id, cert.revoke_reason = CertificateStatus.revoked, now, access.id, \
        reason
    session.add(CertificateEvent(program_id=cert.program_id, membership_id=cert.membership_id, certificate_id=cert.id,
                                 kind=EventKind.revoked, actor_id=access.id, note=reason, at=now))
    session.flush()
    return cert
