"""Deep linking: the picker a teacher sees when placing the tool in Canvas or Moodle, and the signed answer.

Features offer what can be placed through ``register_target``: a kind ("program", later "cohort",
"thread", "module"), a function listing the course's items, and one resolving a placed item to a URL.
The placed link carries ``custom.target = "<kind>:<id>"`` so its launches open straight there.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from flask import Blueprint, abort, g, render_template, request, url_for
from flask_login import current_user, login_required
from pylti1p3.deep_link import DeepLink
from pylti1p3.deep_link_resource import DeepLinkResource
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from lti_tool.db import db
from lti_tool.lti import identity, storage
from lti_tool.lti.models import Course, CourseRole, Membership, Platform
from lti_tool.lti.registry import build_registration

bp = Blueprint("deep_linking", __name__, url_prefix="/lti/deep-link")

DL_CLAIM = "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"
CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"


@dataclass
class PlaceableItem:
    target: str                 # "program", "module:12"
    title: str
    description: str = ""
    group: str = "Program"
    score_maximum: float | None = None   # a graded item asks the LMS for a gradebook column
    line_item_tag: str = ""


@dataclass
class _Target:
    list_items: Callable[[Course, Membership], list[PlaceableItem]]
    resolve: Callable[[int, str], str | None]


_targets: dict[str, _Target] = {}


def register_target(kind: str, list_items, resolve) -> None:
    _targets[kind] = _Target(list_items, resolve)


def resolve_target(course_id: int, target: str) -> str | None:
    kind, _, ident = (target or "").partition(":")
    entry = _targets.get(kind)
    return entry.resolve(course_id, ident) if entry else None


def landing_url(result: identity.LaunchResult) -> str:
    """Where a resource-link launch lands: the deep-linked target if any, else the program home."""
    if result.course is None:
        return url_for("lti.no_course")
    target = result.custom.get("target") or (result.resource_link.target if result.resource_link else "")
    return resolve_target(result.course.id, target) or url_for("programs.home", course_id=result.course.id)


def _program_items(course: Course, membership: Membership) -> list[PlaceableItem]:
    return [PlaceableItem("program", "Communities of Practice: program home",
                          "The program's home page: cohorts, calendar and what comes next.")]


register_target("program", _program_items, lambda course_id, _ident: url_for("programs.home", course_id=course_id))


def may_place_content(membership: Membership | None) -> bool:
    """Placing content changes the LMS course, so it is for the people teaching it there: an active
    membership whose LTI roles name an instructor. Our facilitator role is wider (LMS administrators map
    to it), and an administrator who is not enrolled to teach is refused here."""
    return (membership is not None and membership.active and membership.role is CourseRole.facilitator
            and identity.is_course_instructor(membership.lti_roles or []))


def begin(platform: Platform, body: dict, result) -> str:
    """Keep what the answer needs (settings, deployment) server-side and send the teacher to the picker.

    The launch has already checked the settings carry a deep_link_return_url (lti.launch)."""
    if result.course is None or not may_place_content(result.membership):
        return url_for("deep_linking.refused")
    token = storage.new_session_id()
    storage.cache().set("deep-link:" + token, {
        "platform_id": platform.id, "deployment_id": result.deployment_id, "course_id": result.course.id,
        "user_id": result.user.id, "settings": body[DL_CLAIM],
    }, timeout=3600)
    return url_for("deep_linking.picker", token=token)


def _load(token: str) -> dict:
    data = storage.cache().get("deep-link:" + token)
    if data is None or not current_user.is_authenticated or data["user_id"] != current_user.id:
        abort(403, "This content picker has expired or belongs to someone else. Start again from the LMS.")
    return data


_REFUSED = ("Adding this tool's content to a course is for the course's instructors and teaching assistants, "
            "as the LMS lists them in this course. An LMS administrator role is not enough on its own: "
            "enrol in the course as a teacher to place content.")


@bp.route("/refused")
def refused():
    return render_template("lti/message.html", title="Only facilitators can add content", message=_REFUSED), 403


@bp.route("/<token>", methods=["GET", "POST"])
@login_required
def picker(token: str):
    data = _load(token)
    membership = db.session.scalar(
        select(Membership).options(joinedload(Membership.course), joinedload(Membership.user))
        .where(Membership.user_id == current_user.id, Membership.course_id == data["course_id"]))
    if not may_place_content(membership):
        abort(403, _REFUSED)
    course = membership.course
    g.membership = membership       # the page header shows who, in which course, with which role
    items = [item for entry in _targets.values() for item in entry.list_items(course, membership)]
    settings = data["settings"]
    multiple = settings.get("accept_multiple") in (True, "true")
    error = None
    if request.method == "POST":
        chosen = request.form.getlist("target")
        picked = [i for i in items if i.target in chosen]
        if not picked:
            error = "Choose at least one item to place in the course."
        elif len(picked) > 1 and not multiple:
            error = "This LMS accepts one item here: choose one."
        else:
            return _respond(data, picked)
    return render_template("lti/deep_link_picker.html", items=items, multiple=multiple, error=error,
                           course=course, token=token), (400 if error else 200)


def _respond(data: dict, picked: list[PlaceableItem]):
    platform = db.session.get(Platform, data["platform_id"])
    registration = build_registration(db.session, platform)
    settings = data["settings"]
    deep_link = DeepLink(registration, data["deployment_id"], settings)
    resources = []
    for item in picked:
        resource = (DeepLinkResource().set_url(url_for("lti.launch", _external=True))
                    .set_title(item.title).set_custom_params({"target": item.target}))
        if item.score_maximum is not None:
            from pylti1p3.lineitem import LineItem

            resource.set_lineitem(LineItem().set_score_maximum(item.score_maximum).set_label(item.title)
                                  .set_tag(item.line_item_tag or item.target).set_resource_id(item.target))
        resources.append(resource)
    message = deep_link.get_message_jwt(resources)
    # pylti1p3 sends "data": null when the request had none; strict platforms want it left out.
    if message.get("https://purl.imsglobal.org/spec/lti-dl/claim/data") is None:
        message.pop("https://purl.imsglobal.org/spec/lti-dl/claim/data", None)
    jwt_value = deep_link.encode_jwt(message)
    storage.take("deep-link:" + request.view_args["token"])
    db.session.commit()
    return render_template("lti/deep_link_return.html", return_url=settings["deep_link_return_url"], jwt=jwt_value)
