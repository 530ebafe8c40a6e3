"""Book-study pages of a course: /c/<course_id>/discussions/... Thin handlers: load, check, act, commit once.

Every page is a program page (``lti_tool.course.pages``) whose loader first opens the threads of readings
that have started (``writes.open_started_threads``); cohort pages then take the viewer of that cohort
(``permissions.cohort_viewer``: 404 outside it)."""
from __future__ import annotations

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from wtforms import SelectChoice

from lti_tool.course.csvfile import csv_response
from lti_tool.course.forms import ActionForm, form_status, saved, show_error
from lti_tool.course.pages import program_page
from lti_tool.course.text import safe
from lti_tool.course.zones import form_value, wall_clock_to_utc
from lti_tool.db import db
from lti_tool.discussions import forms as f
from lti_tool.discussions import formats, notify, queries as q, writes as w
from lti_tool.discussions.markdown import quote_markdown, render_post
from lti_tool.discussions.models import PostFirst
from lti_tool.discussions.permissions import (
    Viewer, cohort_viewer, may_start_thread, require_author, require_book_editor, require_manager, shown_name,
)
from lti_tool.errors import InvalidInput
from lti_tool.lti.deep_linking import PlaceableItem, register_target
from lti_tool.programs.queries import managed_cohorts

bp = Blueprint("discussions", __name__, url_prefix="/c/<int:course_id>/discussions")

# The one rule of every book-study page: the loader opens the threads that are due before the view runs.
OPEN_THREADS = (w.open_started_threads,)


# -- helpers -----------------------------------------------------------------------------------------------

def _ctx(viewer: Viewer, **kw) -> dict:
    """What every cohort page shows: the cohort, the viewer, the notification count."""
    return dict(viewer=viewer, cohort=viewer.cohort, course_id=viewer.access.course_id,
                unread_notes=notify.unread_notification_count(db.session, viewer), **kw)


def _thread_url(viewer: Viewer, thread_id: int, **kw) -> str:
    return url_for("discussions.thread", course_id=viewer.access.course_id, cohort_id=viewer.cohort.id,
                   thread_id=thread_id, **kw)


def _post_first_at(viewer: Viewer, form):
    """The datetime-local field, typed in the program's zone (the form says so)."""
    return wall_clock_to_utc(viewer.access.program_zone, form.post_first_at.data)


# -- entry: the cohorts I can open ----------------------------------------------------------------------------

@bp.get("/")
@program_page(setup=OPEN_THREADS)
def index(access):
    page = q.index_page(db.session, access)
    if len(page.cohorts) == 1 and not access.manages_any:
        return redirect(url_for(".cohort", course_id=access.course_id, cohort_id=page.cohorts[0].id))
    settings_form = f.ProgramSettingsForm(obj=page.settings) if page.settings is not None else None
    return render_template("discussions/index.html", cohorts=page.cohorts, books=page.books,
                           can_add=page.can_add, settings_form=settings_form, course_id=access.course_id)


@bp.post("/settings")
@program_page(lead=True, setup=OPEN_THREADS)
def program_settings(access):
    form = f.ProgramSettingsForm()
    if form.validate_on_submit():
        w.update_program_settings(db.session, access, observers_may_read=form.observers_may_read.data,
                                  email_enabled=form.email_enabled.data)
        db.session.commit()
        flash("Discussion settings saved.", "success")
    else:
        flash("The form expired; try again.", "danger")
    return redirect(url_for(".index", course_id=access.course_id))


# -- books and readings ------------------------------------------------------------------------------------

def _book_form(access, book=None) -> f.BookForm:
    form = f.BookForm(obj=book)
    form.cohort_ids.choices = [SelectChoice(c.id, c.name) for c in managed_cohorts(db.session, access)]
    if request.method == "GET":
        form.cohort_ids.data = [link.cohort_id for link in book.cohort_links] if book else \
            [c.value for c in form.cohort_ids.choices]
    return form


def _save_book(access, form, book=None):
    return w.save_book(db.session, access, title=form.title.data, author=form.author.data, edition=form.edition.data,
                       cover_url=form.cover_url.data, link_url=form.link_url.data, cohort_ids=form.cohort_ids.data,
                       score_maximum=form.score_maximum.data, book=book)


@bp.route("/books/new", methods=["GET", "POST"])
@program_page(manager=True, setup=OPEN_THREADS)
def new_book(access):
    form = _book_form(access)
    done = saved(form, lambda: _save_book(access, form),
                 lambda book: f"“{book.title}” added. Now add its readings.",
                 lambda book: url_for(".book", course_id=access.course_id, book_id=book.id))
    if done is not None:
        return done
    return render_template("discussions/book_form.html", form=form, book=None, course_id=access.course_id), form_status()


@bp.route("/books/<int:book_id>/edit", methods=["GET", "POST"])
@program_page(setup=OPEN_THREADS)
def edit_book(access, book_id: int):
    book = q.get_book(db.session, access, book_id)
    require_book_editor(access, book)
    form = _book_form(access, book)
    done = saved(form, lambda: _save_book(access, form, book),
                 "Book saved.",
                 url_for(".book", course_id=access.course_id, book_id=book.id))
    if done is not None:
        return done
    return render_template("discussions/book_form.html", form=form, book=book, course_id=access.course_id), form_status()


def _save_reading(access, form, book, reading=None):
    return w.save_reading(db.session, access, book, label=form.label.data, starts_on=form.starts_on.data,
                          ends_on=form.ends_on.data, prompt=form.prompt.data or "",
                          initial_posts_required=form.initial_posts_required.data,
                          replies_required=form.replies_required.data, post_first=PostFirst(form.post_first.data),
                          post_first_n=form.post_first_n.data or 1, anonymous_to_peers=form.anonymous_to_peers.data,
                          reading=reading)


@bp.route("/books/<int:book_id>", methods=["GET", "POST"])
@program_page(setup=OPEN_THREADS)
def book(access, book_id: int):
    """The schedule of a book; its editors add readings here."""
    page = q.book_page(db.session, access, book_id)
    form = f.ReadingForm()
    if request.method == "POST":
        require_book_editor(access, page.book)
        done = saved(form, lambda: _save_reading(access, form, page.book),
                     "Reading added to the schedule.",
                     url_for(".book", course_id=access.course_id, book_id=page.book.id))
        if done is not None:
            return done
    return render_template("discussions/book.html", book=page.book, form=form, editor=page.editor, plan=page.plan,
                           criteria=q.criteria_text, shift_form=f.ShiftForm(), course_id=access.course_id), form_status()


@bp.route("/readings/<int:reading_id>/edit", methods=["GET", "POST"])
@program_page(setup=OPEN_THREADS)
def edit_reading(access, reading_id: int):
    reading = q.get_reading(db.session, access, reading_id)
    require_book_editor(access, reading.book)
    form = f.ReadingForm(obj=reading, prompt=reading.prompt_markdown)
    if request.method == "GET":
        form.post_first.data = reading.post_first.value
    done = saved(form, lambda: _save_reading(access, form, reading.book, reading),
                 "Reading saved.",
                 url_for(".book", course_id=access.course_id, book_id=reading.book_id))
    if done is not None:
        return done
    return render_template("discussions/reading_form.html", form=form, reading=reading,
                           course_id=access.course_id), form_status()


@bp.post("/readings/<int:reading_id>/shift")
@program_page(setup=OPEN_THREADS)
def shift(access, reading_id: int):
    reading = q.get_reading(db.session, access, reading_id)
    book_id = reading.book_id
    form = f.ShiftForm()
    if form.validate_on_submit():
        try:
            moved = w.shift_schedule(db.session, access, reading, form.days.data)
            db.session.commit()
            flash(f"{moved} reading{'s' if moved != 1 else ''} moved by {form.days.data} days.", "success")
        except InvalidInput as exc:
            db.session.rollback()
            flash(exc.message, "danger")
    else:
        flash("Give a number of days between -366 and 366.", "danger")
    return redirect(url_for(".book", course_id=access.course_id, book_id=book_id))


# -- the cohort's discussion home ------------------------------------------------------------------------------

@bp.get("/cohort/<int:cohort_id>")
@program_page(setup=OPEN_THREADS)
def cohort(access, cohort_id: int):
    viewer = cohort_viewer(db.session, access, cohort_id)
    page = q.cohort_page(db.session, viewer)
    settings_form = f.CohortSettingsForm(general_threads_by=page.general_threads_by) if viewer.manages else None
    return render_template("discussions/cohort.html", **_ctx(
        viewer, plans=page.plans, rows=page.rows, by_reading=page.by_reading, mine=page.mine,
        can_start=page.can_start, criteria=q.criteria_text, total_unread=page.total_unread,
        action=ActionForm(), settings_form=settings_form))


@bp.post("/cohort/<int:cohort_id>/read-all")
@program_page(setup=OPEN_THREADS)
def read_all(access, cohort_id: int):
    viewer = cohort_viewer(db.session, access, cohort_id)
    if ActionForm().validate_on_submit():
        w.mark_all_read(db.session, viewer)
        db.session.commit()
        flash("Everything is marked as read.", "success")
    return redirect(url_for(".cohort", course_id=access.course_id, cohort_id=cohort_id))


@bp.post("/cohort/<int:cohort_id>/settings")
@program_page(setup=OPEN_THREADS)
def cohort_settings(access, cohort_id: int):
    viewer = cohort_viewer(db.session, access, cohort_id)
    require_manager(viewer, "change who starts threads")
    form = f.CohortSettingsForm()
    if form.validate_on_submit():
        w.update_cohort_settings(db.session, viewer, form.general_threads_by.data)
        db.session.commit()
        flash("Cohort discussion settings saved.", "success")
    else:
        flash("Choose who may start threads.", "danger")
    return redirect(url_for(".cohort", course_id=access.course_id, cohort_id=cohort_id))


# -- threads -----------------------------------------------------------------------------------------------

@bp.route("/cohort/<int:cohort_id>/threads/new", methods=["GET", "POST"])
@program_page(setup=OPEN_THREADS)
def new_thread(access, cohort_id: int):
    viewer = cohort_viewer(db.session, access, cohort_id)
    form = f.ThreadForm()
    done = saved(form, lambda: w.create_thread(
            db.session, viewer, title=form.title.data, prompt=form.prompt.data or "",
            post_first=PostFirst(form.post_first.data), post_first_n=form.post_first_n.data or 1,
            post_first_at=_post_first_at(viewer, form), anonymous_to_peers=form.anonymous_to_peers.data),
                 "Thread started.",
                 lambda thread: _thread_url(viewer, thread.id))
    if done is not None:
        return done
    elif request.method == "GET" and not may_start_thread(db.session, viewer):
        abort(403, "In this cohort only the facilitators start threads.")
    return render_template("discussions/thread_form.html", **_ctx(viewer, form=form)), form_status()


def _thread_page(viewer: Viewer, thread, form, page, reply_to=None, settings_form=None):
    return render_template("discussions/thread.html", **_ctx(
        viewer, thread=thread, page=page, form=form, reply_to=reply_to, action=ActionForm(),
        settings_form=settings_form,
        criteria=q.criteria_text(thread.reading) if thread.reading else ""))


@bp.get("/cohort/<int:cohort_id>/threads/<int:thread_id>")
@program_page(setup=OPEN_THREADS)
def thread(access, cohort_id: int, thread_id: int):
    viewer = cohort_viewer(db.session, access, cohort_id)
    thread = q.get_thread(db.session, viewer, thread_id)
    page = q.thread_page(db.session, viewer, thread)
    w.mark_read(db.session, viewer, thread.id, page.last_post_id)
    db.session.commit()
    form = f.PostForm()
    reply_to = None
    target = request.args.get("reply_to", type=int) or request.args.get("quote", type=int)
    if target:
        reply_to = page.post_view(target)
        if reply_to is not None and reply_to.state != "ok":
            reply_to = None
        if reply_to is not None:
            form.parent_id.data = str(reply_to.post.id)
            if request.args.get("quote"):
                form.body.data = quote_markdown(reply_to.author_name, reply_to.post.body_markdown)
    settings_form = None
    if viewer.manages:
        settings_form = f.ThreadSettingsForm(post_first=thread.post_first.value, post_first_n=thread.post_first_n,
                                             anonymous_to_peers=thread.anonymous_to_peers,
                                             post_first_at=form_value(access.program_zone, thread.post_first_at))
    return _thread_page(viewer, thread, form, page, reply_to, settings_form)


@bp.post("/cohort/<int:cohort_id>/threads/<int:thread_id>/posts")
@program_page(setup=OPEN_THREADS)
def create_post(access, cohort_id: int, thread_id: int):
    viewer = cohort_viewer(db.session, access, cohort_id)
    thread = q.get_thread(db.session, viewer, thread_id)
    form = f.PostForm()
    if not form.validate_on_submit():
        if not form.errors.get("body"):
            abort(400, "The form expired; reload the page and try again.")
        return _thread_page(viewer, thread, form, q.thread_page(db.session, viewer, thread)), 400
    parent = q.get_post(db.session, viewer, int(form.parent_id.data)) if (form.parent_id.data or "").isdigit() else None
    try:
        post = w.create_post(db.session, viewer, thread, form.body.data or "", parent=parent)
    except InvalidInput as exc:
        show_error(form, exc)
        return _thread_page(viewer, thread, form, q.thread_page(db.session, viewer, thread)), 400
    db.session.commit()
    flash("Your post is up.", "success")
    return redirect(_thread_url(viewer, thread.id, _anchor=f"post-{post.id}"))


@bp.post("/cohort/<int:cohort_id>/preview")
@program_page(setup=OPEN_THREADS)
def preview(access, cohort_id: int):
    """The rendered Markdown of the text being written (htmx swaps it in under the editor)."""
    cohort_viewer(db.session, access, cohort_id)
    form = f.PostForm()
    if not form.validate_on_submit() and not form.errors.get("body"):
        abort(400, "The form expired; reload the page.")
    body = form.body.data or ""
    return render_template("discussions/_preview.html", html=safe(render_post(body[:w.max_post_chars()])),
                           empty=not body.strip())


@bp.route("/cohort/<int:cohort_id>/posts/<int:post_id>/edit", methods=["GET", "POST"])
@program_page(setup=OPEN_THREADS)
def edit_post(access, cohort_id: int, post_id: int):
    viewer = cohort_viewer(db.session, access, cohort_id)
    post = q.get_post(db.session, viewer, post_id)
    require_author(viewer, post, "edit")
    form = f.PostForm(body=post.body_markdown)
    done = saved(form, lambda: w.edit_post(db.session, viewer, post, form.body.data or ""),
                 "Post updated.",
                 _thread_url(viewer, post.thread_id, _anchor=f"post-{post.id}"))
    if done is not None:
        return done
    return render_template("discussions/post_edit.html", **_ctx(viewer, post=post, form=form)), form_status()


@bp.post("/cohort/<int:cohort_id>/posts/<int:post_id>/delete")
@program_page(setup=OPEN_THREADS)
def delete_post(access, cohort_id: int, post_id: int):
    viewer = cohort_viewer(db.session, access, cohort_id)
    post = q.get_post(db.session, viewer, post_id)
    if ActionForm().validate_on_submit():
        w.delete_post(db.session, viewer, post)
        db.session.commit()
        flash("Your post was removed; replies to it stay.", "success")
    return redirect(_thread_url(viewer, post.thread_id, _anchor=f"post-{post.id}"))


@bp.post("/cohort/<int:cohort_id>/posts/<int:post_id>/react")
@program_page(setup=OPEN_THREADS)
def react(access, cohort_id: int, post_id: int):
    viewer = cohort_viewer(db.session, access, cohort_id)
    post = q.get_post(db.session, viewer, post_id)
    w.toggle_reaction(db.session, viewer, post, request.form.get("kind", ""))
    db.session.commit()
    if request.headers.get("HX-Request"):
        pv = q.thread_page(db.session, viewer, post.thread).post_view(post.id)
        return render_template("discussions/_reactions.html", pv=pv, action=ActionForm(), **_ctx(viewer))
    return redirect(_thread_url(viewer, post.thread_id, _anchor=f"post-{post.id}"))


@bp.get("/cohort/<int:cohort_id>/posts/<int:post_id>/revisions")
@program_page(setup=OPEN_THREADS)
def post_revisions(access, cohort_id: int, post_id: int):
    viewer = cohort_viewer(db.session, access, cohort_id)
    post = q.get_post(db.session, viewer, post_id)
    revs = q.revisions(db.session, viewer, post)
    return render_template("discussions/revisions.html", **_ctx(viewer, post=post, revisions=revs))


@bp.route("/cohort/<int:cohort_id>/posts/<int:post_id>/report", methods=["GET", "POST"])
@program_page(setup=OPEN_THREADS)
def report(access, cohort_id: int, post_id: int):
    viewer = cohort_viewer(db.session, access, cohort_id)
    post = q.get_post(db.session, viewer, post_id)
    form = f.ReasonForm()
    done = saved(form, lambda: w.report_post(db.session, viewer, post, form.reason.data),
                 "Thank you. The facilitators have been told.",
                 _thread_url(viewer, post.thread_id, _anchor=f"post-{post.id}"))
    if done is not None:
        return done
    return render_template("discussions/report.html", **_ctx(viewer, post=post, form=form)), form_status()


# -- moderation: those who manage the cohort (its named facilitators and the program's leads) -----------------

MODERATED = {"pin": "Thread pinned.", "unpin": "Thread unpinned.", "lock": "Thread locked.",
             "unlock": "Thread unlocked.", "reveal": "Everyone now sees the others' posts."}


@bp.post("/cohort/<int:cohort_id>/threads/<int:thread_id>/moderate")
@program_page(setup=OPEN_THREADS)
def moderate_thread(access, cohort_id: int, thread_id: int):
    viewer = cohort_viewer(db.session, access, cohort_id)
    thread = q.get_thread(db.session, viewer, thread_id)
    require_manager(viewer, "moderate threads")
    action = request.form.get("action", "")
    if action not in MODERATED:
        abort(400)
    try:
        if action in ("pin", "unpin"):
            w.set_pinned(db.session, viewer, thread, action == "pin")
        elif action in ("lock", "unlock"):
            w.set_locked(db.session, viewer, thread, action == "lock", request.form.get("reason", ""))
        else:
            w.reveal(db.session, viewer, thread)
        db.session.commit()
        flash(MODERATED[action], "success")
    except InvalidInput as exc:
        db.session.rollback()
        flash(exc.message, "danger")
    return redirect(_thread_url(viewer, thread_id))


@bp.post("/cohort/<int:cohort_id>/threads/<int:thread_id>/settings")
@program_page(setup=OPEN_THREADS)
def thread_settings(access, cohort_id: int, thread_id: int):
    viewer = cohort_viewer(db.session, access, cohort_id)
    thread = q.get_thread(db.session, viewer, thread_id)
    require_manager(viewer, "change a thread's settings")
    form = f.ThreadSettingsForm()
    if form.validate_on_submit():
        try:
            w.update_thread_settings(db.session, viewer, thread, post_first=PostFirst(form.post_first.data),
                                     post_first_n=form.post_first_n.data or 1,
                                     post_first_at=_post_first_at(viewer, form),
                                     anonymous_to_peers=form.anonymous_to_peers.data)
            db.session.commit()
            flash("Thread settings saved.", "success")
        except InvalidInput as exc:
            db.session.rollback()
            flash(exc.message, "danger")
    else:
        flash("Check the thread settings: " + "; ".join(e for errs in form.errors.values() for e in errs), "danger")
    return redirect(_thread_url(viewer, thread_id))


@bp.route("/cohort/<int:cohort_id>/posts/<int:post_id>/hide", methods=["GET", "POST"])
@program_page(setup=OPEN_THREADS)
def hide_post(access, cohort_id: int, post_id: int):
    viewer = cohort_viewer(db.session, access, cohort_id)
    require_manager(viewer, "hide posts")
    post = q.get_post(db.session, viewer, post_id)
    form = f.ReasonForm()
    if request.method == "POST" and request.form.get("unhide"):
        if ActionForm().validate_on_submit():
            w.set_hidden(db.session, viewer, post, False)
            db.session.commit()
            flash("The post is shown again.", "success")
        return redirect(_thread_url(viewer, post.thread_id, _anchor=f"post-{post.id}"))
    if form.validate_on_submit():
        w.set_hidden(db.session, viewer, post, True, form.reason.data)
        db.session.commit()
        flash("Post hidden; its author has been told why.", "success")
        return redirect(_thread_url(viewer, post.thread_id, _anchor=f"post-{post.id}"))
    return render_template("discussions/hide.html", **_ctx(viewer, post=post, form=form)), form_status()


@bp.route("/cohort/<int:cohort_id>/posts/<int:post_id>/move", methods=["GET", "POST"])
@program_page(setup=OPEN_THREADS)
def move_post(access, cohort_id: int, post_id: int):
    viewer = cohort_viewer(db.session, access, cohort_id)
    require_manager(viewer, "move posts")
    post = q.get_post(db.session, viewer, post_id)
    form = f.MoveForm()
    form.thread_id.choices = [SelectChoice(t.id, t.title) for t in q.other_threads(db.session, viewer, post.thread_id)]
    if form.validate_on_submit():
        target = q.get_thread(db.session, viewer, form.thread_id.data)
        moved = w.move_post(db.session, viewer, post, target)
        db.session.commit()
        flash(f"Moved {moved} post{'s' if moved != 1 else ''} to “{target.title}”.", "success")
        return redirect(_thread_url(viewer, target.id, _anchor=f"post-{post_id}"))
    return render_template("discussions/move.html", **_ctx(viewer, post=post, form=form)), form_status()


@bp.route("/cohort/<int:cohort_id>/moderation", methods=["GET", "POST"])
@program_page(setup=OPEN_THREADS)
def moderation(access, cohort_id: int):
    viewer = cohort_viewer(db.session, access, cohort_id)
    require_manager(viewer, "open the moderation page")
    if request.method == "POST" and ActionForm().validate_on_submit():
        w.resolve_report(db.session, viewer, request.form.get("report_id", type=int) or 0)
        db.session.commit()
        flash("Report closed.", "success")
        return redirect(url_for(".moderation", course_id=access.course_id, cohort_id=cohort_id))
    return render_template("discussions/moderation.html", **_ctx(
        viewer, reports=q.open_reports(db.session, viewer), log=q.moderation_log(db.session, viewer),
        action=ActionForm()))


# -- search, mentions, notifications ---------------------------------------------------------------------------

@bp.get("/cohort/<int:cohort_id>/search")
@program_page(setup=OPEN_THREADS)
def search(access, cohort_id: int):
    viewer = cohort_viewer(db.session, access, cohort_id)
    text = request.args.get("q", "")
    results = q.search_posts(db.session, viewer, text)
    return render_template("discussions/search.html", **_ctx(viewer, q=text, results=results, shown_name=shown_name))


@bp.get("/cohort/<int:cohort_id>/people.json")
@program_page(setup=OPEN_THREADS)
def people(access, cohort_id: int):
    """Names for @mention completion: the cohort's people the viewer may mention (no peers in anonymous threads)."""
    viewer = cohort_viewer(db.session, access, cohort_id)
    thread = q.get_thread(db.session, viewer, request.args.get("thread", type=int) or 0) \
        if request.args.get("thread") else None
    typed = (request.args.get("q") or "").strip().lower()
    names = [name for _, name in q.mentionable(db.session, viewer, thread) if typed in name.lower()][:20]
    return jsonify(people=[{"name": n, "insert": f"@[{n}]"} for n in names])


@bp.get("/cohort/<int:cohort_id>/notifications")
@program_page(setup=OPEN_THREADS)
def notifications(access, cohort_id: int):
    viewer = cohort_viewer(db.session, access, cohort_id)
    notes = notify.notifications(db.session, viewer)
    pref = notify.preference(db.session, access.membership)
    return render_template("discussions/notifications.html", **_ctx(
        viewer, notes=notes, shown_name=shown_name, action=ActionForm(),
        pref_form=f.PreferenceForm(email_mode=pref.email_mode.value),
        email_available=notify.email_enabled_for(db.session, access.program)))


@bp.post("/cohort/<int:cohort_id>/notifications/read")
@program_page(setup=OPEN_THREADS)
def notifications_read(access, cohort_id: int):
    viewer = cohort_viewer(db.session, access, cohort_id)
    if ActionForm().validate_on_submit():
        notify.mark_notifications_read(db.session, viewer)
        db.session.commit()
        flash("Notifications marked as read.", "success")
    return redirect(url_for(".notifications", course_id=access.course_id, cohort_id=cohort_id))


@bp.post("/cohort/<int:cohort_id>/notifications/preference")
@program_page(setup=OPEN_THREADS)
def notification_preference(access, cohort_id: int):
    cohort_viewer(db.session, access, cohort_id)
    form = f.PreferenceForm()
    if form.validate_on_submit():
        notify.set_preference(db.session, access.membership, form.email_mode.data)
        db.session.commit()
        flash("Email choice saved.", "success")
    else:
        flash("Choose how to be emailed.", "danger")
    return redirect(url_for(".notifications", course_id=access.course_id, cohort_id=cohort_id))


@bp.get("/cohort/<int:cohort_id>/notifications/badge")
@program_page(setup=OPEN_THREADS)
def notification_badge(access, cohort_id: int):
    viewer = cohort_viewer(db.session, access, cohort_id)
    return render_template("discussions/_badge.html", **_ctx(viewer))


# -- participation -----------------------------------------------------------------------------------------

@bp.get("/cohort/<int:cohort_id>/participation")
@program_page(setup=OPEN_THREADS)
def participation(access, cohort_id: int):
    viewer = cohort_viewer(db.session, access, cohort_id)
    page = q.participation_page(db.session, viewer)
    if viewer.manages:
        return render_template("discussions/grid.html", **_ctx(viewer, grids=page.grids, override_form=f.OverrideForm()))
    return render_template("discussions/standing.html", **_ctx(viewer, books=page.books, mine=page.mine,
                                                               scores=page.scores, criteria=q.criteria_text))


@bp.get("/cohort/<int:cohort_id>/participation/<int:book_id>.csv")
@program_page(setup=OPEN_THREADS)
def participation_csv(access, cohort_id: int, book_id: int):
    viewer = cohort_viewer(db.session, access, cohort_id)
    grid = q.participation_grid(db.session, viewer, q.cohort_book(db.session, viewer, book_id))
    return csv_response(formats.participation_rows(grid), formats.participation_filename(grid, cohort_id))


@bp.post("/cohort/<int:cohort_id>/participation/<int:book_id>/override")
@program_page(setup=OPEN_THREADS)
def override(access, cohort_id: int, book_id: int):
    viewer = cohort_viewer(db.session, access, cohort_id)
    book = q.get_book(db.session, access, book_id)
    form = f.OverrideForm()
    if form.validate_on_submit() and (form.membership_id.data or "").isdigit():
        try:
            w.override_score(db.session, viewer, book, int(form.membership_id.data), form.score.data,
                             form.comment.data or "")
            db.session.commit()
            flash("Score saved and queued for the gradebook.", "success")
        except InvalidInput as exc:
            db.session.rollback()
            flash(exc.message, "danger")
    else:
        flash("Check the score: " + "; ".join(e for errs in form.errors.values() for e in errs), "danger")
    return redirect(url_for(".participation", course_id=access.course_id, cohort_id=cohort_id))


# -- deep linking: the book study and each reading's thread -------------------------------------------------

def _bookstudy_items(course, membership) -> list[PlaceableItem]:
    items = [PlaceableItem("bookstudy", "Book study: discussions home",
                           "The reading schedule and the cohort's discussion threads.", group="Book study")]
    items += [PlaceableItem(f"thread:{r.id}", f"Reading: {r.label} ({b.title})",
                            f"{r.starts_on:%d %b} – {r.ends_on:%d %b %Y}", group="Book study")
              for r, b in q.course_readings(db.session, course.id)]
    return items


def _resolve_bookstudy(course_id: int, _ident: str) -> str | None:
    return url_for("discussions.index", course_id=course_id)


def _resolve_reading(course_id: int, ident: str) -> str | None:
    found = q.reading_in_course(db.session, course_id, int(ident)) if ident.isdigit() else None
    return url_for("discussions.reading_thread", course_id=course_id, reading_id=found) if found else None


register_target("bookstudy", _bookstudy_items, _resolve_bookstudy)
register_target("thread", lambda course, membership: [], _resolve_reading)


@bp.get("/reading/<int:reading_id>")
@program_page(setup=OPEN_THREADS)
def reading_thread(access, reading_id: int):
    """A placed reading link: the viewer's cohort's thread for it (or the cohort home before it opens)."""
    reading = q.get_reading(db.session, access, reading_id)
    cohort, thread_id = q.readings_thread(db.session, access, reading)
    if thread_id is None:
        flash(f"The discussion of {reading.label} opens on {reading.starts_on:%a %d %b %Y}.", "info")
        return redirect(url_for(".cohort", course_id=access.course_id, cohort_id=cohort.id))
    return redirect(url_for(".thread", course_id=access.course_id, cohort_id=cohort.id, thread_id=thread_id))
