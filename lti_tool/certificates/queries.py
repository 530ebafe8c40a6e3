"""What the certificate pages show, in a fixed number of queries: a person's certificates and history, the
leads' list (every version, the refusals, who may still be issued one by hand), the scoped loaders (404 for
anyone outside the viewer's reach), and the public verification of a code."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from lti_tool.certificates.models import Certificate, CertificateEvent, CertificateStatus, EventKind
from lti_tool.certificates.permissions import normalise, require_certificate_lead
from lti_tool.course.access import Access
from lti_tool.errors import NotFound
from lti_tool.hours.queries import seats_of
from lti_tool.lti.models import CourseRole, Membership
from lti_tool.programs.models import Cohort, CohortMember, Program, SeatStatus


def _program(access: Access) -> Program:
    if access.program is None:
        raise NotFound("This course has no Communities of Practice program yet.")
    return access.program


def get_certificate(session: Session, access: Access, certificate_id: int) -> Certificate:
    """A certificate of the viewer's program that they may see (404 for any other, whoever's it is)."""
    program = _program(access)
    cert = session.scalar(select(Certificate).options(joinedload(Certificate.membership).joinedload(Membership.user))
                          .where(Certificate.id == certificate_id, Certificate.program_id == program.id))
    if cert is None:
        raise NotFound("There is no such certificate here.")
    cohorts = [c.id for c in seats_of(session, program, [cert.membership_id])[cert.membership_id]]
    if not access.sees_person(cert.membership_id, cohorts):
        raise NotFound("There is no such certificate here.")
    return cert


def person_certificates(session: Session, program: Program, membership_id: int) -> list[Certificate]:
    """A person's certificates in the program, newest version first (call after checking who may see them)."""
    return list(session.scalars(select(Certificate).where(Certificate.program_id == program.id,
                                                          Certificate.membership_id == membership_id)
                                .order_by(Certificate.version.desc())))


def person_history(session: Session, access: Access, membership_id: int) -> list[CertificateEvent]:
    """Everything that happened to a person's certificates (leads)."""
    require_certificate_lead(access, "see certificate history")
    return list(session.scalars(select(CertificateEvent)
                                .options(joinedload(CertificateEvent.actor).joinedload(Membership.user),
                                         joinedload(CertificateEvent.certificate))
                                .where(CertificateEvent.program_id == _program(access).id,
                                       CertificateEvent.membership_id == membership_id)
                                .order_by(CertificateEvent.at, CertificateEvent.id)))


@dataclass
class LeadPage:
    certificates: list[Certificate]         # every version, newest first
    refusals: list[CertificateEvent]        # the latest "not issued" of each person without a valid certificate
    issuable: list[Membership]              # participants with a seat and no valid certificate


def lead_page(session: Session, access: Access) -> LeadPage:
    require_certificate_lead(access, "manage certificates")
    program = _program(access)
    certificates = list(session.scalars(
        select(Certificate).options(joinedload(Certificate.membership).joinedload(Membership.user))
        .where(Certificate.program_id == program.id).order_by(Certificate.issued_at.desc(), Certificate.id.desc())))
    valid = {c.membership_id for c in certificates if c.status is CertificateStatus.valid}
    refusals: dict[int, CertificateEvent] = {}
    for event in session.scalars(select(CertificateEvent)
                                 .options(joinedload(CertificateEvent.certificate))
                                 .where(CertificateEvent.program_id == program.id,
                                        CertificateEvent.kind == EventKind.refused)
                                 .order_by(CertificateEvent.at, CertificateEvent.id)):
        if event.membership_id not in valid:
            refusals[event.membership_id] = event
    seat_holders = (select(CohortMember.membership_id).join(Cohort, Cohort.id == CohortMember.cohort_id)
                    .where(Cohort.program_id == program.id, CohortMember.status == SeatStatus.active))
    seated = list(session.scalars(
        select(Membership).options(joinedload(Membership.user))
        .where(Membership.id.in_(seat_holders), Membership.active.is_(True),
               Membership.role == CourseRole.participant)))
    people = {m.id: m for m in seated}
    for event in refusals.values():
        event.person = people.get(event.membership_id)
    issuable = sorted((m for m in seated if m.id not in valid), key=lambda m: (m.user.display_name.lower(), m.id))
    return LeadPage(certificates, list(refusals.values()), issuable)


@dataclass
class VerifiedCertificate:
    """All the public verification page shows: no email, no course or person ids."""

    status: CertificateStatus
    data: dict
    newer: bool            # a newer version exists (this one is superseded)
    revoked_on: str


def verify(session: Session, code_text: str) -> VerifiedCertificate | None:
    """The certificate a code names, or None for an unknown, mistyped or guessed code (all look the same)."""
    code = normalise(code_text)
    if code is None:
        return None
    cert = session.scalar(select(Certificate).where(Certificate.code == code))
    if cert is None:
        return None
    newer = cert.status is CertificateStatus.superseded
    revoked_on = cert.revoked_at.date().isoformat() if cert.revoked_at else ""
    return VerifiedCertificate(cert.status, cert.data, newer, revoked_on)
