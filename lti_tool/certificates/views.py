"""Certificate pages: the leads' list (/c/<course_id>/certificates/: every version, refusals, issue by hand,
re-issue, revoke, a person's history), the download of the frozen PDF and of the Open Badges credential by
those who may see it, and the public verification page (/verify/<code>: no launch, rate-limited, only the
certificate's public facts; an unknown code and a guessed one get the same "not found")."""
from __future__ import annotations

from flask import Blueprint, Response, current_app, flash, redirect, render_template, request, url_for

from lti_tool.certificates import queries, writes
from lti_tool.certificates.forms import ReissueForm, RevokeForm, VerifyForm
from lti_tool.certificates.issuing import base_url
from lti_tool.certificates.models import CertificateStatus
from lti_tool.certificates.ob3 import credential_jwt
from lti_tool.certificates.pdf import FontMissing
from lti_tool.certificates.permissions import normalise
from lti_tool.course.access import Access
from lti_tool.course.forms import ActionForm, show_error
from lti_tool.course.pages import program_page
from lti_tool.db import db
from lti_tool.errors import DomainError, InvalidInput, NotFound
from lti_tool.extensions import rate_limit

bp = Blueprint("certificates", __name__, url_prefix="/c/<int:course_id>/certificates")
verify_bp = Blueprint("certificates_verify", __name__, url_prefix="/verify")

STATUS_KIND = {CertificateStatus.valid: "success", CertificateStatus.superseded: "warning",
               CertificateStatus.revoked: "danger"}


def _render(template: str, access: Access, **context):
    return render_template(template, access=access, program=access.program, status_kind=STATUS_KIND, **context)


def _back(access: Access):
    return redirect(url_for(".index", course_id=access.course_id))


@bp.route("/")
@program_page(lead=True)
def index(access):
    return _render("certificates/index.html", access, page=queries.lead_page(db.session, access),
                   action=ActionForm(), reissue_form=ReissueForm(formdata=None))


def _issuing(access: Access, form, make, message) -> Response:
    """Run an issue or re-issue (``make()``) from a lead's button and go back to the list: a refusal because the
    font lacks a character of the name is committed (it stays in the history, the leads are told) and shown;
    any other refusal leaves nothing behind."""
    if not form.validate_on_submit():
        raise InvalidInput("The form had expired; press the button again.")
    try:
        cert = make()
    except FontMissing as exc:
        db.session.commit()
        flash(exc.message, "error")
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "error")
    else:
        db.session.commit()
        flash(message(cert), "success")
    return _back(access)


@bp.route("/issue", methods=["POST"])
@program_page(lead=True)
def issue(access):
    membership_id = request.form.get("membership_id", type=int)
    return _issuing(access, ActionForm(), lambda: writes.issue_by_hand(db.session, access, membership_id or 0,
                                                                       base_url()),
                    lambda cert: f"Certificate issued to {cert.data['name']} (code {cert.data['code']}).")


@bp.route("/<int:certificate_id>/reissue", methods=["POST"])
@program_page(lead=True)
def reissue(access, certificate_id):
    form = ReissueForm()
    return _issuing(access, form, lambda: writes.reissue(db.session, access, certificate_id, base_url(),
                                                         form.reason.data or ""),
                    lambda cert: f"Version {cert.version} issued; the previous version is marked superseded.")


@bp.route("/<int:certificate_id>/revoke", methods=["GET", "POST"])
@program_page(lead=True)
def revoke(access, certificate_id):
    cert = queries.get_certificate(db.session, access, certificate_id)
    form = RevokeForm()
    status = 200
    if form.validate_on_submit():
        try:
            writes.revoke(db.session, access, cert.id, form.reason.data)
        except InvalidInput as exc:
            show_error(form, exc)
        else:
            db.session.commit()
            flash("Certificate revoked.", "success")
            return _back(access)
    if request.method == "POST":
        status = 400
    return _render("certificates/revoke.html", access, cert=cert, form=form), status


@bp.route("/people/<int:membership_id>/history")
@program_page(lead=True)
def history(access, membership_id):
    events = queries.person_history(db.session, access, membership_id)
    from lti_tool.hours.queries import get_person

    person, _cohorts = get_person(db.session, access, membership_id)
    return _render("certificates/history.html", access, person=person, events=events)


def _file(body: bytes, mimetype: str, filename: str) -> Response:
    return Response(body, mimetype=mimetype, headers={
        "Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "private, no-store",
        "Content-Security-Policy": "default-src 'none'; sandbox", "X-Content-Type-Options": "nosniff"})


@bp.route("/<int:certificate_id>.pdf")
@program_page()
def download(access, certificate_id):
    """The PDF as issued (frozen), for its owner and those who may see their ledger."""
    cert = queries.get_certificate(db.session, access, certificate_id)
    return _file(cert.pdf, "application/pdf", f"certificate-{cert.data['code']}.pdf")


@bp.route("/<int:certificate_id>/credential.jwt")
@program_page()
def credential(access, certificate_id):
    """The Open Badges 3.0 credential (VC-JWT), when the program offered it at issue."""
    cert = queries.get_certificate(db.session, access, certificate_id)
    if not cert.data.get("open_badges") or cert.status is CertificateStatus.revoked:
        raise NotFound("This certificate has no Open Badges credential.")
    # The issuer is the address printed on the certificate when it was issued, whatever serves this request.
    issuer = cert.data["verify_url"].split(writes.VERIFY_PATH)[0] or base_url()
    token = credential_jwt(db.session, cert, issuer)
    db.session.commit()                   # a fresh install's first signing key
    return _file(token.encode(), "application/vc+jwt", f"credential-{cert.data['code']}.jwt")


# ---- the public verification page ---------------------------------------------------------------------------

def _verify_limit() -> str:
    return current_app.config.get("CERTIFICATE_VERIFY_RATE_LIMIT", "30 per minute")


def _verify_page(code_text: str | None):
    form = VerifyForm(formdata=None, data={"code": code_text or ""})
    found = queries.verify(db.session, code_text) if code_text else None
    status = 200 if found is not None or not code_text else 404
    response = Response(render_template("certificates/verify.html", form=form, found=found, asked=bool(code_text),
                                        current_membership=None, status_kind=STATUS_KIND), status=status)
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@verify_bp.route("/")
@rate_limit(_verify_limit)
def verify_form():
    """A box to type a code; ``?code=`` (a QR or a link) goes to the certificate's page."""
    code = request.args.get("code", "")
    if code:
        normal = normalise(code)
        return redirect(url_for(".verify", code=normal or code[:40]))
    return _verify_page(None)


@verify_bp.route("/<path:code>")
@rate_limit(_verify_limit)
def verify(code):
    return _verify_page(code[:40])
