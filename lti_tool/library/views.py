"""Library pages of a course (/c/<course_id>/library/...): the search with its facets, a resource with its
versions (approve, return with a note, publish to the program), the resource form, "My resources", what waits
for a facilitator, the final products (curated by each cohort, the showcase in presentation mode, shared and
downloaded as a ZIP), and bringing last year's into this program. Deep linking offers resources and final
products to place in the LMS course."""
from __future__ import annotations

import tempfile

from flask import Blueprint, current_app, flash, redirect, render_template, request, send_file, url_for
from wtforms import SelectChoice

from lti_tool.course.access import Access, access_for
from lti_tool.course.forms import ActionForm, saved, show_error
from lti_tool.course.pages import program_page
from lti_tool.db import db
from lti_tool.errors import Conflict, InvalidInput, NotFound
from lti_tool.library import formats, permissions, queries, writes
from lti_tool.library.forms import CarryOverForm, ProductForm, ResourceForm, ReturnForm, ShareForm, VisibilityForm
from lti_tool.library.models import Licence, ResourceKind, VersionStatus
from lti_tool.lti import deep_linking
from lti_tool.lti.models import Course, Membership
from lti_tool.modules.queries import copy_targets
from lti_tool.modules.uploads import file_response

bp = Blueprint("library", __name__, url_prefix="/c/<int:course_id>/library")

STATUS_KIND = {VersionStatus.draft: "neutral", VersionStatus.submitted: "info", VersionStatus.approved: "success",
               VersionStatus.returned: "warning", VersionStatus.superseded: "neutral",
               VersionStatus.withdrawn: "neutral"}


def _render(template: str, access: Access, status: int = 200, **context):
    return render_template(template, access=access, program=access.program, status_kind=STATUS_KIND,
                           permissions=permissions, **context), status


# ---- the search ---------------------------------------------------------------------------------------------

@bp.get("/")
@program_page()
def index(access):
    search = queries.Search(q=request.args.get("q", "")[:200], kind=request.args.get("kind", ""),
                            tag=request.args.get("tag", "")[:40], cohort_id=request.args.get("cohort", type=int),
                            licence=request.args.get("licence", ""), page=request.args.get("page", 1, type=int))
    results = queries.search(db.session, access, search)
    return _render("library/index.html", access, results=results, kinds=list(ResourceKind), licences=list(Licence),
                   waiting=queries.waiting_count(db.session, access))


@bp.get("/mine")
@program_page()
def mine(access):
    return _render("library/mine.html", access, resources=queries.my_resources(db.session, access))


@bp.get("/review")
@program_page(manager=True)
def review(access):
    return _render("library/review.html", access, resources=queries.waiting(db.session, access),
                   action=ActionForm(), return_form=ReturnForm(formdata=None))


# ---- the resource form ------------------------------------------------------------------------------------------

def _upload_of(form: ResourceForm):
    data = form.upload.data
    if data is not None and getattr(data, "filename", ""):
        return data.filename, data.read()
    return None


def _input_of(form: ResourceForm, upload) -> writes.ResourceInput:
    return writes.ResourceInput(title=form.title.data or "", kind=form.kind.data or "",
                                description=form.description.data or "", tags=form.tags.data or "",
                                url=form.url.data or "", licence=form.licence.data or "",
                                may_share=bool(form.may_share.data), upload=upload,
                                remove_file=bool(form.remove_file.data))


def _form_page(access, form, resource, status=200):
    return _render("library/form.html", access, status, form=form, resource=resource)


def _save(access, form: ResourceForm, resource):
    """A posted resource form: saved (as a draft, or submitted), or shown again with what was typed."""
    submit = request.form.get("action") == "submit"
    upload = _upload_of(form)
    if form.validate_on_submit():
        try:
            saved = writes.save_resource(db.session, access, resource, _input_of(form, upload),
                                         cohort_id=form.cohort_id.data if resource is None else None, submit=submit)
        except InvalidInput as exc:
            show_error(form, exc)
            if upload is not None and exc.field != "upload":
                form.upload.errors = [*list(form.upload.errors or ()),
                                      "Nothing was saved, so your file was not kept: choose it again."]
        else:
            db.session.commit()
            flash(f"“{saved.pending_version.title}” was submitted: a facilitator will review it." if submit else
                  f"“{saved.pending_version.title}” was saved as a draft (only you and your facilitators see it).",
                  "success")
            return redirect(url_for(".resource", course_id=access.course_id, resource_id=saved.id))
    return _form_page(access, form, resource, 400)


@bp.route("/new", methods=["GET", "POST"])
@program_page()
def new(access):
    cohorts = queries.contributable_cohorts(db.session, access)
    if not cohorts and not access.lead:
        raise NotFound("You are in no cohort yet, so there is nowhere to add a resource.")
    form = ResourceForm()
    form.cohort_id.choices = [SelectChoice(c.id, c.name) for c in cohorts]
    if access.lead:
        form.cohort_id.choices.append(SelectChoice(0, "No cohort: the whole program"))
    if request.method == "POST":
        if form.cohort_id.data == 0:
            form.cohort_id.data = None
        return _save(access, form, None)
    return _form_page(access, form, None)


@bp.route("/r/<int:resource_id>/edit", methods=["GET", "POST"])
@program_page()
def edit(access, resource_id):
    resource = queries.get_resource(db.session, access, resource_id)
    permissions.require_editor(access, resource)
    if request.method == "POST":
        return _save(access, ResourceForm(), resource)
    base = resource.pending_version or resource.approved_version
    form = ResourceForm(formdata=None, data={
        "title": base.title, "kind": base.kind.value, "description": base.description, "tags": ", ".join(base.tags),
        "url": base.url, "licence": base.licence.value, "may_share": base.may_share})
    return _form_page(access, form, resource)


# ---- a resource ----------------------------------------------------------------------------------------------

def _resource_page(access, resource, version=None, return_form=None, status=200):
    editor = permissions.may_edit(access, resource)
    pending = resource.pending_version
    shown = version or (pending if pending is not None and permissions.may_see_version(access, resource, pending)
                        else resource.approved_version)
    visibility_form = VisibilityForm(formdata=None, data={"visibility": resource.visibility.value})
    return _render("library/resource.html", access, status, resource=resource, version=shown, editor=editor,
                   reviewer=permissions.manages(access, resource), action=ActionForm(),
                   return_form=return_form or ReturnForm(formdata=None), visibility_form=visibility_form)


@bp.get("/r/<int:resource_id>")
@program_page()
def resource(access, resource_id):
    return _resource_page(access, queries.get_resource(db.session, access, resource_id))


@bp.get("/r/<int:resource_id>/v/<int:version_id>")
@program_page()
def version(access, resource_id, version_id):
    resource, version = queries.get_version(db.session, access, resource_id, version_id)
    return _resource_page(access, resource, version)


@bp.get("/r/<int:resource_id>/v/<int:version_id>/file")
@program_page()
def file(access, resource_id, version_id):
    _resource, version = queries.get_version(db.session, access, resource_id, version_id)
    if not version.file_stored_name:
        raise NotFound("This version has no file.")
    return file_response(version.file_stored_name, version.file_original_name, version.file_content_type)


@bp.get("/r/<int:resource_id>/v/<int:version_id>/preview.png")
@program_page()
def preview(access, resource_id, version_id):
    _resource, version = queries.get_version(db.session, access, resource_id, version_id)
    if not version.preview_stored_name:
        raise NotFound("This version has no preview.")
    return file_response(version.preview_stored_name, "preview.png", "image/png")


def _acted(access, resource, change, message: str):
    form = ActionForm()
    if not form.validate_on_submit():
        raise InvalidInput("The form had expired; press the button again.")
    try:
        change()
    except InvalidInput as exc:
        db.session.rollback()
        flash(exc.message, "error")
    else:
        db.session.commit()
        flash(message, "success")
    return redirect(url_for(".resource", course_id=access.course_id, resource_id=resource.id))


@bp.post("/r/<int:resource_id>/submit")
@program_page()
def submit(access, resource_id):
    resource = queries.get_resource(db.session, access, resource_id)
    return _acted(access, resource, lambda: writes.submit(db.session, access, resource),
                  "Submitted: a facilitator will review it.")


@bp.post("/r/<int:resource_id>/approve")
@program_page()
def approve(access, resource_id):
    resource = queries.get_resource(db.session, access, resource_id)
    permissions.require_reviewer(access, resource)
    return _acted(access, resource, lambda: writes.approve(db.session, access, resource),
                  "Approved: this version is the one the library shows.")


@bp.post("/r/<int:resource_id>/return")
@program_page()
def return_(access, resource_id):
    resource = queries.get_resource(db.session, access, resource_id)
    permissions.require_reviewer(access, resource)
    form = ReturnForm()
    done = saved(form, lambda: writes.return_resource(db.session, access, resource, form.note.data or ""),
                 "Returned to the author with your note.",
                 url_for(".resource", course_id=access.course_id, resource_id=resource.id))
    if done is not None:
        return done
    return _resource_page(access, queries.get_resource(db.session, access, resource_id), return_form=form, status=400)


@bp.post("/r/<int:resource_id>/visibility")
@program_page()
def visibility(access, resource_id):
    resource = queries.get_resource(db.session, access, resource_id)
    permissions.require_reviewer(access, resource)
    form = VisibilityForm()
    if not form.validate_on_submit():
        raise InvalidInput("The form had expired; choose again.")
    return _acted_with(access, resource, lambda: writes.set_visibility(db.session, access, resource,
                                                                       form.visibility.data or ""))


def _acted_with(access, resource, change):
    try:
        change()
    except InvalidInput as exc:
        db.session.rollback()
        flash(exc.message, "error")
    else:
        db.session.commit()
        flash(f"Now seen by: {resource.visibility.label.lower()}.", "success")
    return redirect(url_for(".resource", course_id=access.course_id, resource_id=resource.id))


# ---- final products -------------------------------------------------------------------------------------------

@bp.get("/products/")
@program_page()
def products(access):
    collections = queries.products(db.session, access)
    mine = queries.contributable_cohorts(db.session, access)
    return _render("library/products.html", access, collections=collections, cohorts=mine,
                   share_form=ShareForm(formdata=None), shared=any(c.shared for c in collections))


@bp.get("/products/<int:collection_id>")
@program_page()
def product(access, collection_id):
    collection = queries.get_collection(db.session, access, collection_id)
    return _render("library/product.html", access, collection=collection)


@bp.route("/products/cohort/<int:cohort_id>", methods=["GET", "POST"])
@program_page()
def curate(access, cohort_id):
    cohort = queries.get_cohort(db.session, access, cohort_id)
    if not permissions.may_curate(access, cohort.id):
        raise NotFound("There is no such cohort in this program.")
    existing = queries.product_of(db.session, access.program, cohort.id)
    choices = queries.curatable(db.session, access, cohort)
    if request.method == "POST":
        form = ProductForm()
    else:
        form = ProductForm(formdata=None, data={
            "title": existing.title if existing else f"{cohort.name}: final product",
            "introduction": existing.introduction if existing else "",
            "resource_ids": [i.resource_id for i in existing.items] if existing else []})
    chosen = set(form.resource_ids.data or [])
    # Chosen ones first, in their order, then the others by title.
    order = [i.resource_id for i in existing.items] if existing else []
    choices.sort(key=lambda r: (r.id not in chosen, order.index(r.id) if r.id in order else 0, r.title.casefold()))
    form.resource_ids.choices = [SelectChoice(r.id, r.title + (f" ({r.cohort.name})" if r.cohort else
                                                               " (whole program)")) for r in choices]
    status = 200
    if request.method == "POST":
        status = 400
        done = saved(form, lambda: writes.save_product(db.session, access, cohort, title=form.title.data or "",
                                        introduction=form.introduction.data or "",
                                        resource_ids=form.resource_ids.data or []),
                     lambda saved: "Final product saved.",
                     lambda saved: url_for(".product", course_id=access.course_id, collection_id=saved.id))
        if done is not None:
            return done
    return _render("library/curate.html", access, status, form=form, cohort=cohort, existing=existing)


@bp.get("/showcase")
@program_page()
def showcase(access):
    collections = [c for c in queries.products(db.session, access) if c.cohort_id is not None]
    return _render("library/showcase.html", access, collections=collections)


@bp.post("/products/share")
@program_page(lead=True)
def share(access):
    form = ShareForm()
    if not form.validate_on_submit():
        raise InvalidInput("The form had expired; press the button again.")
    shared = form.shared.data == "1"
    n = writes.share_products(db.session, access, shared)
    db.session.commit()
    flash(f"{n} final product{'s' if n != 1 else ''} "
          + ("shared with the whole program." if shared else "seen by their own cohorts only again."), "success")
    return redirect(url_for(".products", course_id=access.course_id))


@bp.get("/products.zip")
@program_page()
def products_zip(access):
    collections = queries.products(db.session, access)
    if not collections:
        raise NotFound("There are no final products to download yet.")
    out = tempfile.TemporaryFile()          # closed (and gone) once the response is sent
    formats.products_zip(access.program.title, collections, current_app.config["UPLOAD_DIR"], out)
    out.seek(0)
    response = send_file(out, mimetype="application/zip", as_attachment=True, download_name="final-products.zip")
    response.headers["Cache-Control"] = "private, no-store"
    return response


# ---- next year's program -----------------------------------------------------------------------------------------

@bp.route("/carry-over", methods=["GET", "POST"])
@program_page(lead=True)
def carry_over(access):
    targets = [p for p, _m in copy_targets(db.session, access)]
    form = CarryOverForm()
    form.program_id.choices = [SelectChoice(p.id, f"{p.title} ({p.course.display_title})") for p in targets]
    status = 200
    if request.method == "POST":
        status = 400
        if form.validate_on_submit():
            try:
                done = writes.carry_over(db.session, access, form.program_id.data or 0)
            except (InvalidInput, Conflict) as exc:
                db.session.rollback()
                form.program_id.errors = [*list(form.program_id.errors or ()), exc.message]
            else:
                db.session.commit()
                flash(f"Brought {done.resources} resource{'s' if done.resources != 1 else ''} and {done.products} "
                      f"final product{'s' if done.products != 1 else ''}"
                      + (f" ({done.skipped} already here)" if done.skipped else "") + ".", "success")
                return redirect(url_for(".index", course_id=access.course_id))
    return _render("library/carry.html", access, status, form=form, targets=targets)


# ---- deep linking -----------------------------------------------------------------------------------------------

def _placeable_resources(course: Course, membership: Membership) -> list[deep_linking.PlaceableItem]:
    access = access_for(db.session, membership, optional=True)
    return [deep_linking.PlaceableItem(f"resource:{r.id}", f"Resource: {r.title}",
                                       f"{r.kind.label if r.kind else ''}, from the library", group="Library")
            for r in queries.placeable_resources(db.session, access)]


def _placeable_products(course: Course, membership: Membership) -> list[deep_linking.PlaceableItem]:
    access = access_for(db.session, membership, optional=True)
    return [deep_linking.PlaceableItem(f"product:{c.id}", f"Final product: {c.title}",
                                       f"{len(c.items)} resource{'s' if len(c.items) != 1 else ''}",
                                       group="Final products")
            for c in queries.placeable_products(db.session, access)]


def _resolve(endpoint: str, arg: str):
    def resolve(course_id: int, ident: str) -> str | None:
        # The page's own loader decides who may see it (404 for anyone else, another course's ids included).
        return url_for(endpoint, course_id=course_id, **{arg: int(ident)}) if ident.isdigit() else None
    return resolve


deep_linking.register_target("resource", _placeable_resources, _resolve("library.resource", "resource_id"))
deep_linking.register_target("product", _placeable_products, _resolve("library.product", "collection_id"))
