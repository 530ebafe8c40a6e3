"""The sandbox LMS's pages and endpoints: course page, login initiation, OIDC auth, JWKS, OAuth2 token,
AGS, NRPS (Canvas and Moodle shapes), deep-linking return, gradebook and roster."""
from __future__ import annotations

import base64
import time
from urllib.parse import urlencode

from flask import Blueprint, Response, abort, current_app, g, jsonify, render_template, request
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from lti_tool.db import db
from lti_tool.sandbox import services as sb
from lti_tool.sandbox.models import (
    SandboxCourse,
    SandboxEnrollment,
    SandboxLineItem,
    SandboxPlatform,
    SandboxResult,
    SandboxTool,
)

bp = Blueprint("sandbox", __name__, url_prefix="/sandbox")

# Paths whose requests are logged and may carry injected faults (token, AGS, NRPS).
_SERVICE_MARKERS = ("/sandbox/token", "/sandbox/api/", "/sandbox/mod/lti/services.php/")
LINEITEM_TYPE = "application/vnd.ims.lis.v2.lineitem+json"
LINEITEMS_TYPE = "application/vnd.ims.lis.v2.lineitemcontainer+json"
RESULTS_TYPE = "application/vnd.ims.lis.v2.resultcontainer+json"
NRPS_TYPE = "application/vnd.ims.lti-nrps.v2.membershipcontainer+json"


def _is_service() -> bool:
    return any(request.path.startswith(m) for m in _SERVICE_MARKERS)


@bp.before_request
def _inject_fault():
    if not _is_service():
        return None
    session = db.new_session()
    try:
        fault = sb.take_fault(session, request.full_path)
        session.commit()
        if fault is None:
            return None
        fault_mode, retry_after, delay = fault.mode, fault.retry_after, fault.delay
    finally:
        session.close()
    if fault_mode == "timeout":
        time.sleep(delay or 0)
        return None
    if fault_mode == "429":
        response = jsonify(error="rate limited (injected fault)")
        response.status_code = 429
        response.headers["Retry-After"] = str(retry_after if retry_after is not None else 1)
        return response
    if fault_mode == "down":
        return Response(b"", status=503)
    response = jsonify(error="internal error (injected fault)")
    response.status_code = 500
    return response


@bp.after_request
def _log_service_request(response):
    if _is_service():
        session = db.new_session()
        try:
            sb.log_request(session, request.method, request.path, request.query_string.decode("latin-1"),
                           response.status_code)
            session.commit()
        finally:
            session.close()
    return response


def _base_url() -> str:
    return (current_app.config.get("SANDBOX_BASE_URL") or request.host_url).rstrip("/")


def _platform() -> SandboxPlatform:
    if "sandbox_platform" not in g:
        g.sandbox_platform = sb.first_platform(db.session) or sb.ensure_platform(db.session, _base_url())
    return g.sandbox_platform


def _tool() -> SandboxTool:
    tool = sb.get_tool(db.session, _platform())
    if tool is None:
        abort(_error_page("The sandbox has no tool registered. Run `flask sandbox setup` (or `make run`).", 404))
    return tool


def _error_page(message: str, status: int = 400) -> Response:
    response = Response(render_template("sandbox/error.html", message=message), status=status)
    return response


def _api_error(message: str, status: int) -> Response:
    response = jsonify(errors={"type": "error", "message": message})
    response.status_code = status
    return response


def _json(data, content_type: str, status: int = 200, link: str | None = None) -> Response:
    response = Response(sb.to_json(data), status=status, content_type=content_type)
    if link:
        response.headers["Link"] = f'<{link}>; rel="next"'
    return response


def _course_or_404(context_id: str):
    course = sb.get_course(db.session, _platform(), context_id)
    if course is None:
        abort(_error_page(f"There is no course {context_id!r} in the sandbox.", 404))
    return course


# -- pages ---------------------------------------------------------------------------------------------------

ROLE_GROUPS = (("Facilitators", "facilitator"), ("Participants", "participant"), ("Observers", "observer"),
               ("Test student", "test"))


def _group_of(roles: list[str]) -> str:
    if sb.TEST_USER in roles:
        return "test"
    if sb.INSTRUCTOR in roles or sb.TEACHING_ASSISTANT in roles:
        return "facilitator"
    if sb.MENTOR in roles:
        return "observer"
    return "participant"


def _people(course) -> dict[str, list]:
    groups: dict[str, list] = {key: [] for _, key in ROLE_GROUPS}
    for enrollment in sb.members(db.session, course):
        groups[_group_of(enrollment.roles)].append(enrollment)
    return groups


@bp.route("/")
def course_page():
    platform = _platform()
    context_id = request.args.get("course", sb.DEMO_COURSE)
    course = sb.get_course(db.session, platform, context_id)
    courses = list(db.session.scalars(select(SandboxCourse).where(SandboxCourse.platform_id == platform.id)
                                      .order_by(SandboxCourse.id)))
    db.session.commit()
    if course is None:
        return render_template("sandbox/empty.html", platform=platform, context_id=context_id), 404
    people = _people(course)
    return render_template("sandbox/course.html", platform=platform, course=course, courses=courses,
                           people=people, groups=ROLE_GROUPS, links=sb.placed_links(db.session, course),
                           facilitators=people["facilitator"], tool=sb.get_tool(db.session, platform),
                           teaching_assistant=sb.TEACHING_ASSISTANT)


@bp.route("/launch")
def launch():
    """Step 1 of an LTI launch: a third-party-initiated login, posted by the browser to the tool."""
    platform, tool = _platform(), _tool()
    user_sub = request.args.get("user", "")
    context_id = request.args.get("course", sb.DEMO_COURSE)
    kind = request.args.get("kind", "resource")
    flavour = request.args.get("flavour", "canvas")
    link_id = request.args.get("link") or None
    if kind not in ("resource", "deeplink"):
        return _error_page("kind must be 'resource' or 'deeplink'.")
    if flavour not in ("canvas", "moodle", "generic"):
        return _error_page("flavour must be 'canvas', 'moodle' or 'generic'.")
    course = _course_or_404(context_id)
    if sb.get_user(db.session, platform, user_sub) is None or sb.get_enrollment(db.session, course, user_sub) is None:
        return _error_page(f"{user_sub!r} is not a person in {context_id!r}.", 404)
    link = None
    if kind == "resource":
        link = sb.get_resource_link(db.session, course, link_id or sb.default_link_id(context_id))
        if link is None:
            return _error_page(f"There is no resource link {link_id!r} in {context_id!r}.", 404)
    hint = sb.create_message_hint(db.session, tool, user_sub, context_id, kind, flavour,
                                  link.resource_link_id if link else None)
    fields = {"iss": platform.issuer, "login_hint": user_sub,
              "target_link_uri": (link.url if link and link.url else tool.launch_url),
              "lti_message_hint": hint.token, "client_id": tool.client_id, "lti_deployment_id": tool.deployment_id}
    if flavour == "canvas":
        fields.update(canvas_environment="prod", canvas_region="not_configured")
    db.session.commit()
    return render_template("sandbox/autosubmit.html", action=tool.login_url, fields=fields,
                           heading="Opening the tool…",
                           explanation="The LMS is starting an LTI 1.3 login with the tool.")


@bp.route("/auth", methods=["GET", "POST"])
def auth():
    """The OIDC authorization endpoint (step 2): checks the tool's request, answers with an id_token."""
    platform, tool = _platform(), _tool()
    p = request.values
    problems = []
    expected = {"scope": "openid", "response_type": "id_token", "response_mode": "form_post", "prompt": "none"}
    for name, value in expected.items():
        if p.get(name) != value:
            problems.append(f"{name} must be {value!r} (got {p.get(name)!r})")
    if p.get("client_id") != tool.client_id:
        problems.append(f"client_id {p.get('client_id')!r} is not the registered tool")
    if p.get("redirect_uri") != tool.launch_url:
        problems.append(f"redirect_uri {p.get('redirect_uri')!r} is not exactly the registered {tool.launch_url!r}")
    if not p.get("nonce"):
        problems.append("nonce is missing")
    hint = None
    if not problems:
        try:
            hint = sb.consume_message_hint(db.session, p.get("lti_message_hint", ""))
        except sb.SandboxError as exc:
            problems.append(str(exc))
    if hint is not None and p.get("login_hint") != hint.user_sub:
        problems.append("login_hint does not match the user of lti_message_hint")
    if hint is not None and hint.tool_id != tool.id:
        problems.append("lti_message_hint was issued for another tool")
    if problems:
        db.session.commit()  # a refused hint stays used
        return render_template("sandbox/error.html", message="The authorization request was refused.",
                               problems=problems), 400
    try:
        claims = sb.launch_claims_for_hint(db.session, platform, tool, hint, p["nonce"])
    except sb.SandboxError as exc:
        db.session.commit()
        return _error_page(str(exc))
    id_token = sb.sign_jwt(db.session, platform, claims)
    db.session.commit()
    fields = {"id_token": id_token}
    if p.get("state") is not None:
        fields["state"] = p["state"]
    return render_template("sandbox/autosubmit.html", action=tool.launch_url, fields=fields,
                           heading="Signing you in to the tool…",
                           explanation="The LMS is sending your signed launch to the tool.")


@bp.route("/jwks")
def jwks():
    data = sb.platform_jwks(db.session, _platform())
    db.session.commit()
    return jsonify(data)


@bp.route("/avatar/<sub>.png")
def avatar(sub: str):
    # A 1×1 transparent PNG so the picture claim points at something real.
    png = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==")
    return Response(png, content_type="image/png")


@bp.route("/token", methods=["POST"])
def token():
    try:
        answer = sb.issue_access_token(db.session, _platform(), request.form.to_dict())
    except sb.SandboxError as exc:
        db.session.rollback()
        code = exc.args[1] if len(exc.args) > 1 else "invalid_request"
        response = jsonify(error=code, error_description=exc.args[0])
        response.status_code = 401 if code == "invalid_client" else 400
        return response
    db.session.commit()
    response = jsonify(answer)
    response.headers["Cache-Control"] = "no-store"
    return response


# -- AGS -----------------------------------------------------------------------------------------------------

def _require(*scopes: str):
    try:
        return sb.check_access_token(db.session, request.headers.get("Authorization"), scopes)
    except sb.SandboxError as exc:
        abort(_api_error(exc.args[0], exc.args[1]))


def _limit(default: int, maximum: int | None = None) -> int:
    try:
        limit = int(request.args.get("limit", default))
    except ValueError:
        limit = default
    limit = max(1, limit)
    return min(limit, maximum) if maximum else limit


def _page_number() -> int:
    try:
        return max(1, int(request.args.get("page", 1)))
    except ValueError:
        return 1


def _next_url(**params) -> str:
    args = request.args.to_dict()
    args.update({k: str(v) for k, v in params.items()})
    return request.base_url + "?" + urlencode(args)


def _json_body() -> dict:
    body = request.get_json(force=True, silent=True)
    if not isinstance(body, dict):
        abort(_api_error("the body must be a JSON object", 400))
    return body


@bp.route("/api/courses/<context_id>/line_items", methods=["GET", "POST"])
def line_items(context_id: str):
    platform = _platform()
    course = _course_or_404(context_id)
    if request.method == "POST":
        _require(sb.SCOPE_LINEITEM)
        try:
            item = sb.create_line_item(db.session, course, _json_body())
        except sb.SandboxError as exc:
            return _api_error(exc.args[0], exc.args[1])
        db.session.commit()
        return _json(sb.line_item_json(platform, course, item), LINEITEM_TYPE, 200)
    _require(sb.SCOPE_LINEITEM, sb.SCOPE_LINEITEM_READONLY)
    q = select(SandboxLineItem).where(SandboxLineItem.course_id == course.id)
    for arg, column in (("tag", SandboxLineItem.tag), ("resource_id", SandboxLineItem.resource_id),
                        ("resource_link_id", SandboxLineItem.resource_link_id)):
        if request.args.get(arg):
            q = q.where(column == request.args[arg])
    limit, page = _limit(10), _page_number()
    items = list(db.session.scalars(q.order_by(SandboxLineItem.id).offset((page - 1) * limit).limit(limit + 1)))
    link = _next_url(page=page + 1, limit=limit) if len(items) > limit else None
    data = [sb.line_item_json(platform, course, i) for i in items[:limit]]
    db.session.commit()
    return _json(data, LINEITEMS_TYPE, link=link)


def _line_item_or_404(course, item_id: int) -> SandboxLineItem:
    item = db.session.get(SandboxLineItem, item_id)
    if item is None or item.course_id != course.id:
        abort(_api_error("line item not found", 404))
    return item


@bp.route("/api/courses/<context_id>/line_items/<int:item_id>", methods=["GET", "PUT", "DELETE"])
def line_item(context_id: str, item_id: int):
    platform = _platform()
    course = _course_or_404(context_id)
    if request.method == "GET":
        _require(sb.SCOPE_LINEITEM, sb.SCOPE_LINEITEM_READONLY)
    else:
        _require(sb.SCOPE_LINEITEM)
    item = _line_item_or_404(course, item_id)
    if request.method == "DELETE":
        db.session.delete(item)
        db.session.commit()
        return Response(status=204)
    if request.method == "PUT":
        body = _json_body()
        if "label" in body:
            if not body["label"]:
                return _api_error("label must not be empty", 400)
            item.label = str(body["label"])
        if "scoreMaximum" in body:
            try:
                item.score_maximum = float(body["scoreMaximum"])
            except (TypeError, ValueError):
                return _api_error("scoreMaximum must be a number", 400)
        for key, attr in (("tag", "tag"), ("resourceId", "resource_id")):
            if key in body:
                setattr(item, attr, body[key])
        extra = dict(item.extra or {})
        extra.update({k: body[k] for k in ("startDateTime", "endDateTime") if k in body})
        item.extra = extra
    data = sb.line_item_json(platform, course, item)
    db.session.commit()
    return _json(data, LINEITEM_TYPE)


@bp.route("/api/courses/<context_id>/line_items/<int:item_id>/scores", methods=["POST"])
def scores(context_id: str, item_id: int):
    platform = _platform()
    course = _course_or_404(context_id)
    _require(sb.SCOPE_SCORE)
    item = _line_item_or_404(course, item_id)
    try:
        result = sb.record_score(db.session, course, item, _json_body())
    except sb.SandboxError as exc:
        db.session.rollback()
        return _api_error(exc.args[0], exc.args[1])
    url = f"{sb.line_item_url(platform, course, item)}/results/{result.id}"
    db.session.commit()
    return jsonify(resultUrl=url)


@bp.route("/api/courses/<context_id>/line_items/<int:item_id>/results", methods=["GET"])
def results(context_id: str, item_id: int):
    platform = _platform()
    course = _course_or_404(context_id)
    _require(sb.SCOPE_RESULT_READONLY)
    item = _line_item_or_404(course, item_id)
    q = select(SandboxResult).where(SandboxResult.line_item_id == item.id)
    if request.args.get("user_id"):
        q = q.where(SandboxResult.user_sub == request.args["user_id"])
    limit, page = _limit(10), _page_number()
    rows = list(db.session.scalars(q.order_by(SandboxResult.id).offset((page - 1) * limit).limit(limit + 1)))
    link = _next_url(page=page + 1, limit=limit) if len(rows) > limit else None
    item_url = sb.line_item_url(platform, course, item)
    data = []
    for r in rows[:limit]:
        entry = {"id": f"{item_url}/results/{r.id}", "scoreOf": item_url, "userId": r.user_sub}
        if r.score_given is not None:
            entry.update(resultScore=r.score_given, resultMaximum=r.score_maximum or item.score_maximum)
        if r.comment:
            entry["comment"] = r.comment
        data.append(entry)
    db.session.commit()
    return _json(data, RESULTS_TYPE, link=link)


# -- NRPS ----------------------------------------------------------------------------------------------------

def _encode_cursor(offset: int) -> str:
    # Opaque and mixed-case on purpose: tools must use the Link URL as given.
    return base64.urlsafe_b64encode(f"Off:{offset}:Sbx".encode()).decode().rstrip("=")


def _decode_cursor(value: str) -> int:
    try:
        text = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
        tag, offset, end = text.split(":")
        if tag != "Off" or end != "Sbx":
            raise ValueError
        return max(0, int(offset))
    except (ValueError, UnicodeDecodeError):
        abort(_api_error("invalid page cursor", 400))


def _member_json(enrollment) -> dict:
    user = enrollment.user
    return {"status": enrollment.status, "user_id": user.sub, "roles": list(enrollment.roles), "name": user.name,
            "given_name": user.given_name, "family_name": user.family_name, "email": user.email,
            "picture": user.picture or _platform().url(f"/avatar/{user.sub}.png")}


def _memberships(course, offset: int, limit: int | None):
    q = (select(SandboxEnrollment).options(joinedload(SandboxEnrollment.user))
         .where(SandboxEnrollment.course_id == course.id).order_by(SandboxEnrollment.id))
    if request.args.get("role"):
        role = request.args["role"]
        full = role if "://" in role else sb.LIS + "membership#" + role
        rows = [e for e in db.session.scalars(q) if full in e.roles]
        page = rows[offset:offset + limit + 1] if limit else rows[offset:]
    else:
        q = q.offset(offset)
        if limit:
            q = q.limit(limit + 1)
        page = list(db.session.scalars(q))
    more = bool(limit) and len(page) > limit
    return page[:limit] if limit else page, more


def _container(course, rows) -> dict:
    return {"id": request.base_url, "context": {"id": course.context_id, "label": course.label,
                                                "title": course.title},
            "members": [_member_json(e) for e in rows]}


@bp.route("/api/courses/<context_id>/names_and_roles")
def names_and_roles(context_id: str):
    """Canvas style: 50 per page at most, an opaque cursor in Link rel="next"."""
    course = _course_or_404(context_id)
    _require(sb.SCOPE_NRPS)
    limit = _limit(50, 50)
    offset = _decode_cursor(request.args["page"]) if request.args.get("page") else 0
    rows, more = _memberships(course, offset, limit)
    link = _next_url(page=_encode_cursor(offset + limit)) if more else None
    data = _container(course, rows)
    db.session.commit()
    return _json(data, NRPS_TYPE, link=link)


@bp.route("/mod/lti/services.php/CourseSection/<context_id>/bindings/<binding>/memberships")
def moodle_memberships(context_id: str, binding: str):
    """Moodle style: everything at once unless ``limit`` is given, then ``limit`` and ``from``."""
    course = _course_or_404(context_id)
    _require(sb.SCOPE_NRPS)
    limit = _limit(0) if request.args.get("limit") else None
    try:
        offset = max(0, int(request.args.get("from", 0)))
    except ValueError:
        return _api_error("from must be a number", 400)
    rows, more = _memberships(course, offset, limit)
    link = _next_url(limit=limit, **{"from": offset + (limit or 0)}) if more else None
    data = _container(course, rows)
    db.session.commit()
    return _json(data, NRPS_TYPE, link=link)


# -- deep linking --------------------------------------------------------------------------------------------

@bp.route("/deep_link_return", methods=["POST"])
def deep_link_return():
    platform, tool = _platform(), _tool()
    course = _course_or_404(request.args.get("course", sb.DEMO_COURSE))
    token = request.form.get("JWT", "")
    if not token:
        return _error_page("The deep-linking response has no JWT field.")
    try:
        claims = sb.verify_tool_jwt(tool, token, audience=platform.issuer, issuer=tool.client_id,
                                    required=("exp", "iat", "nonce", "aud", "iss"))
        problems = []
        if claims.get(sb.CLAIM + "message_type") != "LtiDeepLinkingResponse":
            problems.append("message_type must be LtiDeepLinkingResponse")
        if claims.get(sb.CLAIM + "version") != "1.3.0":
            problems.append("version must be 1.3.0")
        if claims.get(sb.CLAIM + "deployment_id") != tool.deployment_id:
            problems.append(f"deployment_id must be {tool.deployment_id!r}")
        items = claims.get(sb.DL_CLAIM + "content_items", [])
        if not isinstance(items, list):
            problems.append("content_items must be a list")
        if problems:
            raise sb.SandboxError("; ".join(problems))
    except sb.SandboxError as exc:
        return render_template("sandbox/error.html", message="The deep-linking response was refused.",
                               problems=[str(exc)]), 400
    placed = []
    for item in items:
        if not isinstance(item, dict) or item.get("type") != "ltiResourceLink":
            continue
        line_item = item.get("lineItem") if isinstance(item.get("lineItem"), dict) else None
        custom = item.get("custom") if isinstance(item.get("custom"), dict) else {}
        placed.append(sb.add_resource_link(db.session, course, title=item.get("title") or "Untitled",
                                           url=item.get("url") or "", custom=custom, line_item=line_item))
    people = _people(course)
    db.session.commit()
    return render_template("sandbox/placed.html", platform=platform, course=course, placed=placed,
                           message=claims.get(sb.DL_CLAIM + "msg"), error=claims.get(sb.DL_CLAIM + "errormsg"),
                           people=people, groups=ROLE_GROUPS)


# -- gradebook and roster ------------------------------------------------------------------------------------

@bp.route("/gradebook")
def gradebook():
    course = _course_or_404(request.args.get("course", sb.DEMO_COURSE))
    items = sb.line_items(db.session, course)
    learners = [e for e in sb.members(db.session, course) if sb.LEARNER in e.roles]
    cells = {}
    for item in items:
        for r in sb.results(db.session, item):
            cells[(item.id, r.user_sub)] = r
    db.session.commit()
    return render_template("sandbox/gradebook.html", platform=_platform(), course=course, items=items,
                           learners=learners, cells=cells)


@bp.route("/roster")
def roster():
    course = _course_or_404(request.args.get("course", sb.DEMO_COURSE))
    enrollments = sb.members(db.session, course)
    db.session.commit()
    return render_template("sandbox/roster.html", platform=_platform(), course=course, enrollments=enrollments,
                           group_of=_group_of, groups=dict((k, v) for v, k in ROLE_GROUPS))
