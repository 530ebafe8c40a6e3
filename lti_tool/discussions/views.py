"""Book-study pages of a course: /c/<course_id>/discussions/... Thin handlers: load, check, act, commit once."""
from __future__ import annotations

import datetime as dt
import zoneinfo

from flask import Blueprint, Response, abort, flash, jsonify, redirect, render_template, request, url_for
from sqlalchemy import select
from wtforms import SelectChoice

from lti_tool.auth import require_course_role
from lti_tool.db import db, utcnow
from lti_tool.discussions import forms as f
from lti_tool.discussions import notify, services as s
from lti_tool.discussions.markdown import quote_markdown, render_markdown, safe
from lti_tool.discussions.models import Book, PostFirst, Reading, Thread
from lti_tool.errors import NotFound
from lti_tool.lti.deep_linking import PlaceableItem, register_target
from lti_tool.lti.models import Membership
from lti_tool.programs.models import Program
from lti_tool.programs.services import ensure_program, is_lead

bp = Blueprint("discussions", __name__, url_prefix="/c/<int:course_id>/discussions")


# -- helpers -----------------------------------------------------------------------------------------------

def _program(membership: Membership) -> Program:
    program = ensure_program(db.session, membership)
    if program is None:
        raise NotFound("This course's program is not set up yet. Come back once a facilitator has opened the tool.")
    return program


def _viewer(membership: Membership, cohort_id: int) -> s.Viewer:
    viewer = s.viewer_for_cohort_id(db.session, membership, cohort_id)
    s.open_due_threads(db.session, viewer.cohort.program)
    return viewer


def _zone(program: Program) -> zoneinfo.ZoneInfo:
    return s._program_zone(program)


def _form_error(form, exc: s.InvalidInput) -> None:
    target = getattr(form, exc.field, None) if exc.field else None
    if target is not None:
        target.errors = [*target.errors, exc.message]
    else:
        form.form_errors.append(exc.message)


def _local_to_utc(program: Program, value: dt.datetime | None) -> dt.datetime | None:
    return value.replace(tzinfo=_zone(program)).astimezone(dt.timezone.utc) if value else None


def _ctx(viewer: s.Viewer, **kw) -> dict:
    """What every cohort page shows: the cohort, the viewer, the notification count."""
    return dict(viewer=viewer, cohort=viewer.cohort, course_id=viewer.membership.course_id,
                unread_notes=notify.unread_notification_count(db.session, viewer), safe=safe,
                zone=_zone(viewer.cohort.program), **kw)


def _thread_url(viewer: s.Viewer, thread_id: int, **kw) -> str:
    return url_for("discussions.thread", course_id=viewer.membership.course_id, cohort_id=viewer.cohort.id,
                   thread_id=thread_id, **kw)


def _after_post_commit() -> None:
    """Per-event emails go from a background task once the change is committed (never in the request)."""
    if not notify.smtp_configured():
        return
    try:
        notify.send_event_emails_task()
    except Exception:  # noqa: BLE001 - the queue being down must not fail the post; the sweep sends it later
        import logging

        logging.getLogger(__name__).exception("could not enqueue notification emails")


# -- entry: the cohorts I can open ----------------------------------------------------------------------------

@bp.get("/")
@require_course_role()
def index(membership: Membership):
    program = _program(membership)
    s.open_due_threads(db.session, program)
    db.session.commit()
    cohorts = s.my_cohorts(db.session, membership, program)
    if len(cohorts) == 1 and not s.managed_cohorts(db.session, membership, program):
        return redirect(url_for(".cohort", course_id=membership.course_id, cohort_id=cohorts[0].id))
    books = list(db.session.scalars(select(Book).where(Book.program_id == program.id).order_by(Book.id)))
    can_add = bool(s.managed_cohorts(db.session, membership, program))
    settings_form = f.ProgramSettingsForm(obj=s.program_settings(db.session, program)) if is_lead(program, membership) else None
    return render_template("discussions/index.html", program=program, cohorts=cohorts, books=books, can_add=can_add,
                           settings_form=settings_form, course_id=membership.course_id)


@bp.post("/settings")
@require_course_role()
def program_settings(membership: Membership):
    program = _program(membership)
    form = f.ProgramSettingsForm()
    if form.validate_on_submit():
        s.update_program_settings(db.session, membership, program, observers_may_read=form.observers_may_read.data,
                                  email_enabled=form.email_enabled.data)
        db.session.commit()
        flash("Discussion settings saved.", "success")
    else:
        flash("The form expired; try again.", "danger")
    return redirect(url_for(".index", course_id=membership.course_id))


# -- books and readings ------------------------------------------------------------------------------------

def _book_form(program: Program, membership: Membership, book: Book | None = None) -> f.BookForm:
    form = f.BookForm(obj=book)
    form.cohort_ids.choices = [SelectChoice(c.id, c.name) for c in s.managed_cohorts(db.session, membership, program)]
    if request.method == "GET":
        form.cohort_ids.data = [link.cohort_id for link in book.cohort_links] if book else \
            [c.value for c in form.cohort_ids.choices]
    return form


@bp.route("/books/new", methods=["GET", "POST"])
@require_course_role()
def new_book(membership: Membership):
    program = _program(membership)
    form = _book_form(program, membership)
    if not form.cohort_ids.choices:
        abort(403, "Only the program's leads and cohort facilitators can add a book.")
    if form.validate_on_submit():
        try:
            book = s.save_book(db.session, membership, program, title=form.title.data, author=form.author.data,
                               edition=form.edition.data, cover_url=form.cover_url.data, link_url=form.link_url.data,
                               cohort_ids=form.cohort_ids.data, score_maximum=form.score_maximum.data)
            db.session.commit()
            flash(f"“{book.title}” added. Now add its readings.", "success")
            return redirect(url_for(".book", course_id=membership.course_id, book_id=book.id))
        except s.InvalidInput as exc:
            db.session.rollback()
            _form_error(form, exc)
    return render_template("discussions/book_form.html", form=form, book=None, course_id=membership.course_id), \
        (400 if request.method == "POST" else 200)


@bp.route("/books/<int:book_id>/edit", methods=["GET", "POST"])
@require_course_role()
def edit_book(membership: Membership, book_id: int):
    book = s.get_book(db.session, membership, book_id)
    s.require_book_editor(db.session, membership, book)
    form = _book_form(book.program, membership, book)
    if form.validate_on_submit():
        try:
            s.save_book(db.session, membership, book.program, title=form.title.data, author=form.author.data,
                        edition=form.edition.data, cover_url=form.cover_url.data, link_url=form.link_url.data,
                        cohort_ids=form.cohort_ids.data, score_maximum=form.score_maximum.data, book=book)
            db.session.commit()
            flash("Book saved.", "success")
            return redirect(url_for(".book", course_id=membership.course_id, book_id=book.id))
        except s.InvalidInput as exc:
            db.session.rollback()
            _form_error(form, exc)
    return render_template("discussions/book_form.html", form=form, book=book, course_id=membership.course_id), \
        (400 if request.method == "POST" else 200)


@bp.route("/books/<int:book_id>", methods=["GET", "POST"])
@require_course_role()
def book(membership: Membership, book_id: int):
    """The schedule of a book; its editors add readings here."""
    book = s.get_book(db.session, membership, book_id)
    editor = s.can_edit_book(db.session, membership, book)
    if not editor and not any(c.id in {link.cohort_id for link in book.cohort_links}
                              for c in s.my_cohorts(db.session, membership, book.program)):
        raise NotFound("There is no such book in this course.")
    form = f.ReadingForm()
    if request.method == "POST":
        if not editor:
            abort(403)
        if form.validate_on_submit():
            try:
                s.save_reading(db.session, membership, book, label=form.label.data, starts_on=form.starts_on.data,
                               ends_on=form.ends_on.data, prompt=form.prompt.data or "",
                               initial_posts_required=form.initial_posts_required.data,
                               replies_required=form.replies_required.data,
                               post_first=PostFirst(form.post_first.data), post_first_n=form.post_first_n.data or 1,
                               anonymous_to_peers=form.anonymous_to_peers.data)
                db.session.commit()
                flash("Reading added to the schedule.", "success")
                return redirect(url_for(".book", course_id=membership.course_id, book_id=book.id))
            except s.InvalidInput as exc:
                db.session.rollback()
                _form_error(form, exc)
    today = s.program_today(book.program)
    return render_template("discussions/book.html", book=book, form=form, editor=editor,
                           plan=s.schedule(book, today), criteria=s.criteria_text, safe=safe,
                           shift_form=f.ShiftForm(), course_id=membership.course_id), \
        (400 if request.method == "POST" else 200)


@bp.route("/readings/<int:reading_id>/edit", methods=["GET", "POST"])
@require_course_role()
def edit_reading(membership: Membership, reading_id: int):
    reading = s.get_reading(db.session, membership, reading_id)
    s.require_book_editor(db.session, membership, reading.book)
    form = f.ReadingForm(obj=reading, prompt=reading.prompt_markdown)
    if request.method == "GET":
        form.post_first.data = reading.post_first.value
    if form.validate_on_submit():
        try:
            s.save_reading(db.session, membership, reading.book, label=form.label.data, starts_on=form.starts_on.data,
                           ends_on=form.ends_on.data, prompt=form.prompt.data or "",
                           initial_posts_required=form.initial_posts_required.data,
                           replies_required=form.replies_required.data, post_first=PostFirst(form.post_first.data),
                           post_first_n=form.post_first_n.data or 1, anonymous_to_peers=form.anonymous_to_peers.data,
                           reading=reading)
            db.session.commit()
            flash("Reading saved.", "success")
            return redirect(url_for(".book", course_id=membership.course_id, book_id=reading.book_id))
        except s.InvalidInput as exc:
            db.session.rollback()
            _form_error(form, exc)
    return render_template("discussions/reading_form.html", form=form, reading=reading,
                           course_id=membership.course_id), (400 if request.method == "POST" else 200)


@bp.post("/readings/<int:reading_id>/shift")
@require_course_role()
def shift(membership: Membership, reading_id: int):
    reading = s.get_reading(db.session, membership, reading_id)
    form = f.ShiftForm()
    if form.validate_on_submit():
        try:
            moved = s.shift_schedule(db.session, membership, reading, form.days.data)
            db.session.commit()
            flash(f"{moved} reading{'s' if moved != 1 else ''} moved by {form.days.data} days.", "success")
        except s.InvalidInput as exc:
            db.session.rollback()
            flash(exc.message, "danger")
    else:
        flash("Give a number of days between -366 and 366.", "danger")
    return redirect(url_for(".book", course_id=membership.course_id, book_id=reading.book_id))


# -- the cohort's discussion home ------------------------------------------------------------------------------

@bp.get("/cohort/<int:cohort_id>")
@require_course_role()
def cohort(membership: Membership, cohort_id: int):
    viewer = _viewer(membership, cohort_id)
    db.session.commit()
    program = viewer.cohort.program
    today = s.program_today(program)
    books = s.books_of_cohort(db.session, viewer.cohort)
    rows = s.thread_list(db.session, viewer)
    by_reading = {r.thread.reading_id: r for r in rows if r.thread.reading_id}
    plans = [s.schedule(b, today) for b in books]
    mine = {}
    if viewer.level == "member":
        for b in books:
            mine[b.id] = s.standings(db.session, b, [viewer.id], cohort_id=viewer.cohort.id)[viewer.id]
    settings = s.cohort_settings(db.session, viewer.cohort)
    can_start = viewer.manages or (viewer.may_post and settings.general_threads_by == "everyone")
    return render_template("discussions/cohort.html", **_ctx(
        viewer, plans=plans, rows=rows, by_reading=by_reading, mine=mine, can_start=can_start, today=today,
        criteria=s.criteria_text, total_unread=sum(r.unread for r in rows), action=f.ActionForm(),
        settings_form=f.CohortSettingsForm(general_threads_by=settings.general_threads_by) if viewer.manages else None))


@bp.post("/cohort/<int:cohort_id>/read-all")
@require_course_role()
def read_all(membership: Membership, cohort_id: int):
    viewer = _viewer(membership, cohort_id)
    if f.ActionForm().validate_on_submit():
        s.mark_all_read(db.session, viewer)
        db.session.commit()
        flash("Everything is marked as read.", "success")
    return redirect(url_for(".cohort", course_id=membership.course_id, cohort_id=cohort_id))


@bp.post("/cohort/<int:cohort_id>/settings")
@require_course_role()
def cohort_settings(membership: Membership, cohort_id: int):
    viewer = _viewer(membership, cohort_id)
    form = f.CohortSettingsForm()
    if form.validate_on_submit():
        s.update_cohort_settings(db.session, viewer, form.general_threads_by.data)
        db.session.commit()
        flash("Cohort discussion settings saved.", "success")
    else:
        s.require_manager(viewer)
        flash("Choose who may start threads.", "danger")
    return redirect(url_for(".cohort", course_id=membership.course_id, cohort_id=cohort_id))


# -- threads -----------------------------------------------------------------------------------------------

@bp.route("/cohort/<int:cohort_id>/threads/new", methods=["GET", "POST"])
@require_course_role()
def new_thread(membership: Membership, cohort_id: int):
    viewer = _viewer(membership, cohort_id)
    form = f.ThreadForm()
    if form.validate_on_submit():
        try:
            thread = s.create_thread(
                db.session, viewer, title=form.title.data, prompt=form.prompt.data or "",
                post_first=PostFirst(form.post_first.data), post_first_n=form.post_first_n.data or 1,
                post_first_at=_local_to_utc(viewer.cohort.program, form.post_first_at.data),
                anonymous_to_peers=form.anonymous_to_peers.data)
            db.session.commit()
            _after_post_commit()
            flash("Thread started.", "success")
            return redirect(_thread_url(viewer, thread.id))
        except s.InvalidInput as exc:
            db.session.rollback()
            _form_error(form, exc)
    elif request.method == "GET":
        if not viewer.manages and s.cohort_settings(db.session, viewer.cohort).general_threads_by != "everyone":
            abort(403, "In this cohort only the facilitators start threads.")
    return render_template("discussions/thread_form.html", **_ctx(viewer, form=form)), \
        (400 if request.method == "POST" else 200)


@bp.get("/cohort/<int:cohort_id>/threads/<int:thread_id>")
@require_course_role()
def thread(membership: Membership, cohort_id: int, thread_id: int):
    viewer = _viewer(membership, cohort_id)
    thread = s.get_thread(db.session, viewer, thread_id)
    page = s.thread_page(db.session, viewer, thread)
    db.session.commit()
    form = f.PostForm()
    reply_to = None
    target = request.args.get("reply_to", type=int) or request.args.get("quote", type=int)
    if target:
        reply_to = next((pv for pv in page.posts if pv.post.id == target and pv.state == "ok"), None)
        if reply_to is not None:
            form.parent_id.data = str(reply_to.post.id)
            if request.args.get("quote"):
                form.body.data = quote_markdown(reply_to.author_name, reply_to.post.body_markdown)
    settings_form = None
    if viewer.manages:
        settings_form = f.ThreadSettingsForm(post_first=thread.post_first.value, post_first_n=thread.post_first_n,
                                             anonymous_to_peers=thread.anonymous_to_peers,
                                             post_first_at=thread.post_first_at.astimezone(_zone(viewer.cohort.program))
                                             .replace(tzinfo=None) if thread.post_first_at else None)
    return render_template("discussions/thread.html", **_ctx(
        viewer, thread=thread, page=page, form=form, reply_to=reply_to, action=f.ActionForm(),
        reason_form=f.ReasonForm(), settings_form=settings_form,
        criteria=s.criteria_text(thread.reading) if thread.reading else ""))


def _post_form_page(viewer, thread, form, status=400):
    page = s.thread_page(db.session, viewer, thread, mark_read=False)
    return render_template("discussions/thread.html", **_ctx(
        viewer, thread=thread, page=page, form=form, reply_to=None, action=f.ActionForm(), reason_form=f.ReasonForm(),
        settings_form=None, criteria=s.criteria_text(thread.reading) if thread.reading else "")), status


@bp.post("/cohort/<int:cohort_id>/threads/<int:thread_id>/posts")
@require_course_role()
def create_post(membership: Membership, cohort_id: int, thread_id: int):
    viewer = _viewer(membership, cohort_id)
    thread = s.get_thread(db.session, viewer, thread_id)
    form = f.PostForm()
    if not form.validate_on_submit():
        if not form.errors.get("body"):
            abort(400, "The form expired; reload the page and try again.")
        return _post_form_page(viewer, thread, form)
    parent = s.get_post(db.session, viewer, int(form.parent_id.data)) if (form.parent_id.data or "").isdigit() else None
    try:
        post = s.create_post(db.session, viewer, thread, form.body.data or "", parent=parent)
    except s.InvalidInput as exc:
        db.session.rollback()
        _form_error(form, exc)
        return _post_form_page(viewer, thread, form)
    db.session.commit()
    _after_post_commit()
    flash("Your post is up.", "success")
    return redirect(_thread_url(viewer, thread.id, _anchor=f"post-{post.id}"))


@bp.post("/cohort/<int:cohort_id>/preview")
@require_course_role()
def preview(membership: Membership, cohort_id: int):
    """The rendered Markdown of the text being written (htmx swaps it in under the editor)."""
    _viewer(membership, cohort_id)
    form = f.PostForm()
    if not form.validate_on_submit() and not form.errors.get("body"):
        abort(400, "The form expired; reload the page.")
    body = form.body.data or ""
    return render_template("discussions/_preview.html", html=safe(render_markdown(body[:s._max_chars()])),
                           empty=not body.strip())


@bp.route("/cohort/<int:cohort_id>/posts/<int:post_id>/edit", methods=["GET", "POST"])
@require_course_role()
def edit_post(membership: Membership, cohort_id: int, post_id: int):
    viewer = _viewer(membership, cohort_id)
    post = s.get_post(db.session, viewer, post_id)
    if post.author_id != viewer.id:
        abort(403, "Only the author can edit a post.")
    form = f.PostForm(body=post.body_markdown)
    if form.validate_on_submit():
        try:
            s.edit_post(db.session, viewer, post, form.body.data or "")
            db.session.commit()
            flash("Post updated.", "success")
            return redirect(_thread_url(viewer, post.thread_id, _anchor=f"post-{post.id}"))
        except s.InvalidInput as exc:
            db.session.rollback()
            _form_error(form, exc)
    return render_template("discussions/post_edit.html", **_ctx(viewer, post=post, form=form)), \
        (400 if request.method == "POST" else 200)


@bp.post("/cohort/<int:cohort_id>/posts/<int:post_id>/delete")
@require_course_role()
def delete_post(membership: Membership, cohort_id: int, post_id: int):
    viewer = _viewer(membership, cohort_id)
    post = s.get_post(db.session, viewer, post_id)
    if f.ActionForm().validate_on_submit():
        s.delete_post(db.session, viewer, post)
        db.session.commit()
        flash("Your post was removed; replies to it stay.", "success")
    return redirect(_thread_url(viewer, post.thread_id, _anchor=f"post-{post.id}"))


@bp.post("/cohort/<int:cohort_id>/posts/<int:post_id>/react")
@require_course_role()
def react(membership: Membership, cohort_id: int, post_id: int):
    viewer = _viewer(membership, cohort_id)
    post = s.get_post(db.session, viewer, post_id)
    if not f.ActionForm().validate_on_submit():
        abort(400, "The form expired; reload the page.")
    s.toggle_reaction(db.session, viewer, post, request.form.get("kind", ""))
    db.session.commit()
    if request.headers.get("HX-Request"):
        page = s.thread_page(db.session, viewer, post.thread, mark_read=False)
        pv = next(p for p in page.posts if p.post.id == post.id)
        return render_template("discussions/_reactions.html", pv=pv, action=f.ActionForm(), **_ctx(viewer))
    return redirect(_thread_url(viewer, post.thread_id, _anchor=f"post-{post.id}"))


@bp.get("/cohort/<int:cohort_id>/posts/<int:post_id>/revisions")
@require_course_role()
def post_revisions(membership: Membership, cohort_id: int, post_id: int):
    viewer = _viewer(membership, cohort_id)
    post = s.get_post(db.session, viewer, post_id)
    revs = s.revisions(db.session, viewer, post)
    return render_template("discussions/revisions.html", **_ctx(viewer, post=post, revisions=revs))


@bp.route("/cohort/<int:cohort_id>/posts/<int:post_id>/report", methods=["GET", "POST"])
@require_course_role()
def report(membership: Membership, cohort_id: int, post_id: int):
    viewer = _viewer(membership, cohort_id)
    post = s.get_post(db.session, viewer, post_id)
    form = f.ReasonForm()
    if form.validate_on_submit():
        try:
            s.report_post(db.session, viewer, post, form.reason.data)
            db.session.commit()
            flash("Thank you. The facilitators have been told.", "success")
            return redirect(_thread_url(viewer, post.thread_id, _anchor=f"post-{post.id}"))
        except s.InvalidInput as exc:
            db.session.rollback()
            _form_error(form, exc)
    return render_template("discussions/report.html", **_ctx(viewer, post=post, form=form)), \
        (400 if request.method == "POST" else 200)


# -- moderation --------------------------------------------------------------------------------------------

@bp.post("/cohort/<int:cohort_id>/threads/<int:thread_id>/moderate")
@require_course_role()
def moderate_thread(membership: Membership, cohort_id: int, thread_id: int):
    viewer = _viewer(membership, cohort_id)
    thread = s.get_thread(db.session, viewer, thread_id)
    s.require_manager(viewer)
    action = request.form.get("action", "")
    form = f.ActionForm()
    if not form.validate_on_submit():
        abort(400, "The form expired; reload the page.")
    try:
        if action in ("pin", "unpin"):
            s.set_pinned(db.session, viewer, thread, action == "pin")
        elif action in ("lock", "unlock"):
            s.set_locked(db.session, viewer, thread, action == "lock", request.form.get("reason", ""))
        elif action == "reveal":
            s.reveal(db.session, viewer, thread)
        else:
            abort(400)
        db.session.commit()
        flash({"pin": "Thread pinned.", "unpin": "Thread unpinned.", "lock": "Thread locked.",
               "unlock": "Thread unlocked.", "reveal": "Everyone now sees the others' posts."}[action], "success")
    except s.InvalidInput as exc:
        db.session.rollback()
        flash(exc.message, "danger")
    return redirect(_thread_url(viewer, thread.id))


@bp.post("/cohort/<int:cohort_id>/threads/<int:thread_id>/settings")
@require_course_role()
def thread_settings(membership: Membership, cohort_id: int, thread_id: int):
    viewer = _viewer(membership, cohort_id)
    thread = s.get_thread(db.session, viewer, thread_id)
    s.require_manager(viewer)
    form = f.ThreadSettingsForm()
    if form.validate_on_submit():
        try:
            s.update_thread_settings(db.session, viewer, thread, post_first=PostFirst(form.post_first.data),
                                     post_first_n=form.post_first_n.data or 1,
                                     post_first_at=_local_to_utc(viewer.cohort.program, form.post_first_at.data),
                                     anonymous_to_peers=form.anonymous_to_peers.data)
            db.session.commit()
            flash("Thread settings saved.", "success")
        except s.InvalidInput as exc:
            db.session.rollback()
            flash(exc.message, "danger")
    else:
        flash("Check the thread settings: " + "; ".join(e for errs in form.errors.values() for e in errs), "danger")
    return redirect(_thread_url(viewer, thread.id))


@bp.route("/cohort/<int:cohort_id>/posts/<int:post_id>/hide", methods=["GET", "POST"])
@require_course_role()
def hide_post(membership: Membership, cohort_id: int, post_id: int):
    viewer = _viewer(membership, cohort_id)
    s.require_manager(viewer)
    post = s.get_post(db.session, viewer, post_id)
    form = f.ReasonForm()
    if request.method == "POST" and request.form.get("unhide"):
        if f.ActionForm().validate_on_submit():
            s.set_hidden(db.session, viewer, post, False)
            db.session.commit()
            flash("The post is shown again.", "success")
        return redirect(_thread_url(viewer, post.thread_id, _anchor=f"post-{post.id}"))
    if form.validate_on_submit():
        s.set_hidden(db.session, viewer, post, True, form.reason.data)
        db.session.commit()
        flash("Post hidden; its author has been told why.", "success")
        return redirect(_thread_url(viewer, post.thread_id, _anchor=f"post-{post.id}"))
    return render_template("discussions/hide.html", **_ctx(viewer, post=post, form=form)), \
        (400 if request.method == "POST" else 200)


@bp.route("/cohort/<int:cohort_id>/posts/<int:post_id>/move", methods=["GET", "POST"])
@require_course_role()
def move_post(membership: Membership, cohort_id: int, post_id: int):
    viewer = _viewer(membership, cohort_id)
    s.require_manager(viewer)
    post = s.get_post(db.session, viewer, post_id)
    form = f.MoveForm()
    form.thread_id.choices = [SelectChoice(t.id, t.title) for t in db.session.scalars(
        select(Thread).where(Thread.cohort_id == viewer.cohort.id, Thread.id != post.thread_id).order_by(Thread.title))]
    if form.validate_on_submit():
        target = s.get_thread(db.session, viewer, form.thread_id.data)
        moved = s.move_post(db.session, viewer, post, target)
        db.session.commit()
        flash(f"Moved {moved} post{'s' if moved != 1 else ''} to “{target.title}”.", "success")
        return redirect(_thread_url(viewer, target.id, _anchor=f"post-{post_id}"))
    return render_template("discussions/move.html", **_ctx(viewer, post=post, form=form)), \
        (400 if request.method == "POST" else 200)


@bp.route("/cohort/<int:cohort_id>/moderation", methods=["GET", "POST"])
@require_course_role()
def moderation(membership: Membership, cohort_id: int):
    viewer = _viewer(membership, cohort_id)
    s.require_manager(viewer)
    if request.method == "POST" and f.ActionForm().validate_on_submit():
        s.resolve_report(db.session, viewer, request.form.get("report_id", type=int) or 0)
        db.session.commit()
        flash("Report closed.", "success")
        return redirect(url_for(".moderation", course_id=membership.course_id, cohort_id=cohort_id))
    return render_template("discussions/moderation.html", **_ctx(
        viewer, reports=s.open_reports(db.session, viewer), log=s.moderation_log(db.session, viewer),
        action=f.ActionForm()))


# -- search, mentions, notifications ---------------------------------------------------------------------------

@bp.get("/cohort/<int:cohort_id>/search")
@require_course_role()
def search(membership: Membership, cohort_id: int):
    viewer = _viewer(membership, cohort_id)
    q = request.args.get("q", "")
    results = s.search_posts(db.session, viewer, q)
    return render_template("discussions/search.html", **_ctx(viewer, q=q, results=results, shown_name=s.shown_name))


@bp.get("/cohort/<int:cohort_id>/people.json")
@require_course_role()
def people(membership: Membership, cohort_id: int):
    """Names for @mention completion: the cohort's people the viewer may mention (no peers in anonymous threads)."""
    viewer = _viewer(membership, cohort_id)
    thread = s.get_thread(db.session, viewer, request.args.get("thread", type=int) or 0) \
        if request.args.get("thread") else None
    q = (request.args.get("q") or "").strip().lower()
    names = [name for _, name in s.mentionable(db.session, viewer, thread) if q in name.lower()][:20]
    return jsonify(people=[{"name": n, "insert": f"@[{n}]"} for n in names])


@bp.get("/cohort/<int:cohort_id>/notifications")
@require_course_role()
def notifications(membership: Membership, cohort_id: int):
    viewer = _viewer(membership, cohort_id)
    notes = notify.notifications(db.session, viewer)
    pref = notify.preference(db.session, membership)
    return render_template("discussions/notifications.html", **_ctx(
        viewer, notes=notes, shown_name=s.shown_name, action=f.ActionForm(),
        pref_form=f.PreferenceForm(email_mode=pref.email_mode.value),
        email_available=notify.email_enabled_for(db.session, viewer.cohort.program)))


@bp.post("/cohort/<int:cohort_id>/notifications/read")
@require_course_role()
def notifications_read(membership: Membership, cohort_id: int):
    viewer = _viewer(membership, cohort_id)
    if f.ActionForm().validate_on_submit():
        notify.mark_notifications_read(db.session, viewer)
        db.session.commit()
        flash("Notifications marked as read.", "success")
    return redirect(url_for(".notifications", course_id=membership.course_id, cohort_id=cohort_id))


@bp.post("/cohort/<int:cohort_id>/notifications/preference")
@require_course_role()
def notification_preference(membership: Membership, cohort_id: int):
    _viewer(membership, cohort_id)
    form = f.PreferenceForm()
    if form.validate_on_submit():
        notify.set_preference(db.session, membership, form.email_mode.data)
        db.session.commit()
        flash("Email choice saved.", "success")
    else:
        flash("Choose how to be emailed.", "danger")
    return redirect(url_for(".notifications", course_id=membership.course_id, cohort_id=cohort_id))


@bp.get("/cohort/<int:cohort_id>/notifications/badge")
@require_course_role()
def notification_badge(membership: Membership, cohort_id: int):
    viewer = _viewer(membership, cohort_id)
    return render_template("discussions/_badge.html", **_ctx(viewer))


# -- participation -----------------------------------------------------------------------------------------

@bp.get("/cohort/<int:cohort_id>/participation")
@require_course_role()
def participation(membership: Membership, cohort_id: int):
    viewer = _viewer(membership, cohort_id)
    books = s.books_of_cohort(db.session, viewer.cohort)
    if viewer.manages:
        grids = [s.participation_grid(db.session, viewer, b) for b in books]
        return render_template("discussions/grid.html", **_ctx(viewer, grids=grids, override_form=f.OverrideForm()))
    if viewer.level != "member":
        raise NotFound("There is nothing to show here.")
    mine = {b.id: s.standings(db.session, b, [viewer.id], cohort_id=viewer.cohort.id)[viewer.id] for b in books}
    return render_template("discussions/standing.html", **_ctx(viewer, books=books, mine=mine,
                                                               criteria=s.criteria_text,
                                                               score=s.computed_score))


@bp.get("/cohort/<int:cohort_id>/participation/<int:book_id>.csv")
@require_course_role()
def participation_csv(membership: Membership, cohort_id: int, book_id: int):
    viewer = _viewer(membership, cohort_id)
    book = s.get_book(db.session, membership, book_id)
    if viewer.cohort.id not in {link.cohort_id for link in book.cohort_links}:
        raise NotFound("This cohort does not read that book.")
    grid = s.participation_grid(db.session, viewer, book)
    return Response(s.participation_csv(grid), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="book-study-{book.id}-cohort-{cohort_id}.csv"'})


@bp.post("/cohort/<int:cohort_id>/participation/<int:book_id>/override")
@require_course_role()
def override(membership: Membership, cohort_id: int, book_id: int):
    viewer = _viewer(membership, cohort_id)
    book = s.get_book(db.session, membership, book_id)
    form = f.OverrideForm()
    if form.validate_on_submit() and (form.membership_id.data or "").isdigit():
        try:
            s.override_score(db.session, viewer, book, int(form.membership_id.data), form.score.data,
                             form.comment.data or "")
            db.session.commit()
            flash("Score saved and queued for the gradebook.", "success")
        except s.InvalidInput as exc:
            db.session.rollback()
            flash(exc.message, "danger")
    else:
        flash("Check the score: " + "; ".join(e for errs in form.errors.values() for e in errs), "danger")
    return redirect(url_for(".participation", course_id=membership.course_id, cohort_id=cohort_id))


# -- deep linking: the book study and each reading's thread -------------------------------------------------

def _bookstudy_items(course, membership) -> list[PlaceableItem]:
    items = [PlaceableItem("bookstudy", "Book study: discussions home",
                           "The reading schedule and the cohort's discussion threads.", group="Book study")]
    readings = db.session.execute(select(Reading, Book).join(Book).join(Program)
                                  .where(Program.course_id == course.id)
                                  .order_by(Book.id, Reading.starts_on, Reading.position)).all()
    items += [PlaceableItem(f"thread:{r.id}", f"Reading: {r.label} ({b.title})",
                            f"{r.starts_on:%d %b} – {r.ends_on:%d %b %Y}", group="Book study") for r, b in readings]
    return items


def _resolve_bookstudy(course_id: int, _ident: str) -> str | None:
    return url_for("discussions.index", course_id=course_id)


def _resolve_reading(course_id: int, ident: str) -> str | None:
    if not ident.isdigit():
        return None
    found = db.session.scalar(select(Reading.id).join(Book).join(Program)
                              .where(Reading.id == int(ident), Program.course_id == course_id))
    return url_for("discussions.reading_thread", course_id=course_id, reading_id=found) if found else None


register_target("bookstudy", _bookstudy_items, _resolve_bookstudy)
register_target("thread", lambda course, membership: [], _resolve_reading)


@bp.get("/reading/<int:reading_id>")
@require_course_role()
def reading_thread(membership: Membership, reading_id: int):
    """A placed reading link: the viewer's cohort's thread for it (or the cohort home before it opens)."""
    reading = s.get_reading(db.session, membership, reading_id)
    program = reading.book.program
    s.open_due_threads(db.session, program)
    db.session.commit()
    cohorts = [c for c in s.my_cohorts(db.session, membership, program)
               if c.id in {link.cohort_id for link in reading.book.cohort_links}]
    if not cohorts:
        raise NotFound("You are not in a cohort that reads this book.")
    cohort = cohorts[0]
    thread_id = db.session.scalar(select(Thread.id).where(Thread.cohort_id == cohort.id, Thread.reading_id == reading.id))
    if thread_id is None:
        flash(f"The discussion of {reading.label} opens on {reading.starts_on:%a %d %b %Y}.", "info")
        return redirect(url_for(".cohort", course_id=membership.course_id, cohort_id=cohort.id))
    return redirect(url_for(".thread", course_id=membership.course_id, cohort_id=cohort.id, thread_id=thread_id))
