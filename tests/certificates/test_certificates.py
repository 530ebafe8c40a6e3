"""Certificates (G3.5–G3.9, G3.11): issued by a job when one person meets the completion rule (never in bulk,
never twice, never by switching certificates on), the PDF's content read back, the font check before issue,
frozen issues, re-issue and revoke with history, codes, the public verification, and the Open Badges 3.0
credential verified with the tool's published key."""
from __future__ import annotations

import datetime as dt

import jwt
import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from lti_tool.certificates import queries, writes
from lti_tool.certificates.models import Certificate, CertificateEvent, CertificateStatus, EventKind
from lti_tool.certificates.ob3 import credential_jwt
from lti_tool.certificates.pdf import FontMissing
from lti_tool.certificates.permissions import ALPHABET, grouped, normalise
from lti_tool.course.notices import Notice
from lti_tool.errors import Forbidden, InvalidInput
from lti_tool.hours import writes as hours
from lti_tool.lti.keys import jwks
from tests.certificates.conftest import pdf_text, send_met
from tests.hours.conftest import T0, mark, profile

BASE = "https://cop.example.edu"


def certificates(session, world, who="Pat") -> list[Certificate]:
    session.expire_all()
    return list(session.scalars(select(Certificate).where(Certificate.membership_id == world.people[who].id)
                                .order_by(Certificate.version)))


def attended(session, world, who="Pat", minutes=90):
    m = world.meeting(T0, world.cohorts["Literacy"], minutes=minutes, title="Kick-off")
    mark(session, world, m, who, "P")
    session.commit()


def test_meeting_the_rule_issues_that_persons_certificate_once_with_everything_on_it(session, enabled):
    w = enabled
    attended(session, w)
    hours.add_manual_line(session, w.access("Lena"), w.people["Pat"].id, category="other",
                          on_date=dt.date(2030, 11, 2), minutes=60, title="State conference", reason="Presented")
    session.commit()
    send_met(session, w, "Pat")
    (cert,) = certificates(session, w)
    assert certificates(session, w, "Quinn") == []                     # one person, never the whole program
    text = pdf_text(cert.pdf)
    for expected in ("Pat", "Leading Literacy", "2030–31", "State Leadership Academy", "Virtual", "Live sessions",
                     "Other (entered by a lead)", "2.5 clock hours", "Dr. Lena Ortiz", "Program director",
                     cert.data["code"], f"/verify/{cert.data['code']}"):
        assert expected in text, expected
    assert cert.data["total_units"] == "2.5" and cert.issued_by_id is None
    assert session.scalar(select(Notice.text).where(Notice.recipient_id == w.people["Pat"].id)).startswith(
        "Your certificate for Leading Literacy is ready")
    # The rule says "met" again (a recompute, a second job): nothing more.
    send_met(session, w, "Pat", old="at_risk")
    assert len(certificates(session, w)) == 1
    assert writes.issue_for_completion(session, w.program.id, w.people["Pat"].id, BASE) is None


def test_other_states_and_a_program_without_certificates_issue_nothing(session, world):
    w = world
    send_met(session, w, "Pat")                       # certificates are off: nothing
    assert certificates(session, w) == []
    profile(session, w)
    session.commit()
    for state in ("on_track", "at_risk", "cannot_meet"):
        send_met(session, w, "Pat", new=state)
    assert certificates(session, w) == []


def test_switching_certificates_on_never_issues_to_anyone_by_itself(session, world):
    """customcert #672: turning notifications on created certificates for every participant."""
    w = world
    for who in ("Pat", "Quinn", "Sam"):
        attended(session, w, who) if who != "Sam" else None
    profile(session, w, certificates_enabled=True)
    session.commit()
    assert session.scalar(select(func.count()).select_from(Certificate)) == 0


def test_the_receiver_enqueues_one_job_for_that_person_after_the_commit(session, enabled, idle_queue):
    from lti_tool.course import events

    events.completion_changed.send(session, program_id=enabled.program.id, membership_id=enabled.people["Pat"].id,
                                   old="on_track", new="met")
    assert idle_queue() == []                          # nothing before the commit
    session.commit()
    assert idle_queue() == [enabled.program.id]


def test_a_vietnamese_name_renders_and_a_name_the_font_lacks_is_refused_with_a_clear_message(session, enabled):
    w = enabled
    pat = w.people["Pat"]
    pat.user.name, pat.user.given_name, pat.user.family_name = "Nguyễn Thị Hương", "", ""
    session.commit()
    send_met(session, w, "Pat")
    (cert,) = certificates(session, w)
    assert "Nguyễn Thị Hương" in pdf_text(cert.pdf)
    quinn = w.people["Quinn"]
    quinn.user.name, quinn.user.given_name, quinn.user.family_name = "ᏌᏊ ᎢᏳᎾᎵᏍᏔᏅ", "", ""
    session.commit()
    send_met(session, w, "Quinn")
    assert certificates(session, w, "Quinn") == []
    refusal = session.scalar(select(CertificateEvent).where(CertificateEvent.membership_id == quinn.id))
    assert refusal.kind is EventKind.refused
    assert "has no letter for “Ꮜ” (U+13CC)" in refusal.note and "Nothing was issued" in refusal.note
    lead_notice = session.scalar(select(Notice).where(Notice.recipient_id == w.people["Lena"].id))
    assert "No certificate was issued to ᏌᏊ ᎢᏳᎾᎵᏍᏔᏅ" in lead_notice.text
    with pytest.raises(FontMissing):
        writes.issue_by_hand(session, w.access("Lena"), quinn.id, BASE)


def test_an_issued_certificate_is_frozen_and_a_reissue_supersedes_it(session, enabled):
    w = enabled
    attended(session, w)
    send_met(session, w, "Pat")
    (first,) = certificates(session, w)
    pdf, data = first.pdf, dict(first.data)
    w.people["Pat"].user.name, w.people["Pat"].user.given_name, w.people["Pat"].user.family_name = "Patricia Q", "", ""
    attended(session, w, minutes=60)       # more hours after the issue (a second session)
    (first,) = certificates(session, w)
    assert first.pdf == pdf and first.data == data
    second = writes.reissue(session, w.access("Lena"), first.id, BASE, "Name corrected in the LMS")
    session.commit()
    first, second = certificates(session, w)
    assert (first.status, second.status, second.version) == (CertificateStatus.superseded, CertificateStatus.valid, 2)
    assert "Patricia Q" in pdf_text(second.pdf) and second.data["total_units"] == "2.5"
    assert queries.verify(session, first.data["code"]).status is CertificateStatus.superseded
    kinds = [e.kind for e in queries.person_history(session, w.access("Lena"), w.people["Pat"].id)]
    assert kinds == [EventKind.issued, EventKind.reissued]
    with pytest.raises(InvalidInput):
        writes.reissue(session, w.access("Lena"), first.id, BASE)      # only the valid version


def test_revoking_needs_a_lead_and_a_reason_and_the_verification_says_so(session, enabled):
    w = enabled
    attended(session, w)
    send_met(session, w, "Pat")
    (cert,) = certificates(session, w)
    with pytest.raises(Forbidden):
        writes.revoke(session, w.access("Fay"), cert.id, "No")
    with pytest.raises(InvalidInput):
        writes.revoke(session, w.access("Lena"), cert.id, " ")
    writes.revoke(session, w.access("Lena"), cert.id, "Attendance records were falsified")
    session.commit()
    found = queries.verify(session, cert.data["code"])
    assert found.status is CertificateStatus.revoked and found.revoked_on
    # A revoked certificate is not issued again automatically when the rule says "met" again.
    send_met(session, w, "Pat", old="at_risk")
    assert len(certificates(session, w)) == 1


def test_codes_carry_80_random_bits_read_in_groups_and_typing_slips_are_forgiven(session, enabled):
    w = enabled
    attended(session, w)
    send_met(session, w, "Pat")
    code = certificates(session, w)[0].code
    assert len(code) == 16 and set(code) <= set(ALPHABET)              # 16 × 5 bits
    assert grouped(code).count("-") == 3
    sloppy = grouped(code).lower().replace("0", "o").replace("1", "l")
    assert normalise(sloppy) == code and queries.verify(session, sloppy) is not None
    assert queries.verify(session, "AAAA-AAAA-AAAA-AAAA") is None
    assert queries.verify(session, code[:-1]) is None and queries.verify(session, "'; drop table--") is None


def test_two_issues_of_the_same_version_cannot_both_be_written(session, enabled):
    w = enabled
    attended(session, w)
    send_met(session, w, "Pat")
    (cert,) = certificates(session, w)
    session.add(Certificate(program_id=cert.program_id, membership_id=cert.membership_id, version=1,
                            code="Z" * 16, data={}, pdf=b""))
    with pytest.raises(IntegrityError):
        session.flush()
    session.rollback()


def test_issue_by_hand_is_for_leads_and_refuses_a_second_valid_one(session, enabled):
    w = enabled
    with pytest.raises(Forbidden):
        writes.issue_by_hand(session, w.access("Fay"), w.people["Pat"].id, BASE)
    cert = writes.issue_by_hand(session, w.access("Lena"), w.people["Pat"].id, BASE)
    assert cert.issued_by_id == w.people["Lena"].id
    with pytest.raises(InvalidInput):
        writes.issue_by_hand(session, w.access("Lena"), w.people["Pat"].id, BASE)
    with pytest.raises(InvalidInput):
        writes.issue_by_hand(session, w.access("Lena"), w.people["Fay"].id, BASE)      # not a participant


def test_a_minimum_of_hours_not_reached_is_refused_and_told_to_the_leads(session, world):
    w = world
    profile(session, w, unit="pdp", rounding="down_whole", required_units=150)
    attended(session, w)
    send_met(session, w, "Pat")
    assert certificates(session, w) == []
    note = session.scalar(select(CertificateEvent.note).where(CertificateEvent.membership_id == w.people["Pat"].id))
    assert "1 PDPs" in note and "requires 150" in note


def test_the_open_badges_credential_verifies_with_the_tools_published_key(session, world):
    w = world
    profile(session, w, open_badges=True, unit="ceu", rounding="down_tenth")
    w.program.starts_on, w.program.ends_on = dt.date(2030, 9, 1), dt.date(2031, 6, 30)
    for i in range(2):
        m = w.meeting(T0 + dt.timedelta(days=i), w.cohorts["Literacy"], minutes=510, title=f"Day {i + 1}")
        mark(session, w, m, "Pat", "P")
    session.commit()
    send_met(session, w, "Pat")
    (cert,) = certificates(session, w)
    assert cert.data["total_units"] == "1.7"                           # 17 contact hours
    token = credential_jwt(session, cert, BASE)
    header = jwt.get_unverified_header(token)
    public = next(k for k in jwks(session)["keys"] if k["kid"] == header["kid"])
    claims = jwt.decode(token, jwt.PyJWK(public).key, algorithms=["RS256"], options={"verify_aud": False})
    vc = claims["vc"]
    assert "OpenBadgeCredential" in vc["type"] and claims["iss"] == BASE
    subject = vc["credentialSubject"]
    assert subject["creditsEarned"] == 1.7 and subject["achievement"]["creditsAvailable"] == 1.7
    assert subject["activityStartDate"] == "2030-09-01T00:00:00Z" and subject["activityEndDate"] == "2031-06-30T00:00:00Z"
    assert subject["name"] == "Pat" and "email" not in str(claims)
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB"), jwt.PyJWK(public).key,
                   algorithms=["RS256"])


def test_the_pdf_is_tagged_with_its_language_and_looks_like_a_certificate(session, enabled, tmp_path):
    import pypdfium2 as pdfium
    import pypdfium2.raw as raw

    w = enabled
    attended(session, w)
    send_met(session, w, "Pat")
    (cert,) = certificates(session, w)
    doc = pdfium.PdfDocument(cert.pdf)
    assert raw.FPDFCatalog_IsTagged(doc.raw)                          # PDF/UA-1: a structure tree
    assert len(doc) == 1
    page = doc[0]
    width, height = page.get_size()
    assert width > height                                              # A4 landscape
    image = page.render(scale=1).to_pil()
    image.save(tmp_path / "certificate.png")
    # Mostly white paper with dark ink on it (the frame, the name, the QR code): not blank, not a black box.
    grey = image.convert("L")
    histogram = grey.histogram()
    dark = sum(histogram[:128]) / (grey.width * grey.height)
    assert 0.01 < dark < 0.3
    doc.close()
