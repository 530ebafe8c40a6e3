"""Program pages of a course: the landing page after a launch, the program's settings, cohorts with their
sign-up (open, application, invitation), rosters, small groups, and facilitator proposals."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from jinja2 import pass_context
from wtforms import SelectChoice

from lti_tool.course import zones
from lti_tool.course.access import Access
from lti_tool.course.forms import form_status, saved, show_error
from lti_tool.course.pages import program_page
from lti_tool.db import db, utcnow
from lti_tool.errors import InvalidInput
from lti_tool.lti.deep_linking import PlaceableItem, register_target
from lti_tool.lti.models import CourseRole
from lti_tool.programs import home as home_pages, permissions, queries, writes
from lti_tool.programs.forms import (
    AutoGroupsForm, CohortForm, PersonForm, ProgramForm, ProposalForm, ProposalReviewForm,
    QuestionsForm, ReviewForm, SmallGroupForm, application_form,
)
from lti_tool.programs.models import Cohort, Program, SeatStatus

bp = Blueprint("programs", __name__, url_prefix="/c/<int:course_id>")


def _person_label(membership) -> str:
    role = "" if membership.role is CourseRole.participant else f" ({membership.role.value})"
    return membership.user.display_name + role


@bp.app_template_filter("ordinal")
def ordinal(n: int) -> str:
    """``{{ 2|ordinal }}`` → "2nd"."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


@bp.app_template_test("endpoint")
@pass_context   # evaluated at render time: Jinja would otherwise fold a test on a literal at compile time
def _is_endpoint(context, name: str) -> bool:
    """``{% if "attendance.home" is endpoint %}``: links to features that are not installed are left out."""
    return name in current_app.view_functions


# -- program ---------------------------------------------------------------------------------------------------

HOMES = {"lead": home_pages.lead_home, "facilitator": home_pages.facilitator_home}


@bp.route("/")
@program_page(optional=True)
def home(access: Access):
    """The landing page after every launch: one page per role (lead, cohort facilitator, participant,
    observer), each assembled by ``programs.home`` in a fixed number of queries."""
    program = access.program
    if program is None:
        return render_template("programs/home.html", access=access, course=access.course, program=None, kind=None)
    kind = home_pages.page_kind(access)
    build = HOMES.get(kind, home_pages.participant_home)
    return render_template(
        "programs/home.html", access=access, course=access.course, program=program, kind=kind,
        page=build(db.session, access), heading=home_pages.heading(program, access.course),
        proposals_open=queries.proposals_open(program))


@bp.route("/program", methods=["GET", "POST"])
@program_page(lead=True)
def edit_program(access: Access):
    program = access.program
    named = queries.named_leads(program)
    form = ProgramForm(obj=program) if request.method == "GET" else ProgramForm()
    if request.method == "GET":
        zone = zones.program_zone(program)
        form.proposals_open_at.data = zones.form_value(zone, program.proposals_open_at)
        form.proposals_close_at.data = zones.form_value(zone, program.proposals_close_at)
        form.lead_mode.data = "named" if named else "all"
        form.leads.data = named
    form.leads.choices = [SelectChoice(m.id, m.user.display_name) for m in
                          queries.course_members(db.session, program.course_id, [CourseRole.facilitator])]
    done = saved(form, lambda: writes.update_program(
            db.session, access, title=form.title.data, year_label=form.year_label.data,
            description=form.description.data, timezone=form.timezone.data, starts_on=form.starts_on.data,
            ends_on=form.ends_on.data, proposals_open_at=form.proposals_open_at.data,
            proposals_close_at=form.proposals_close_at.data,
            leads=form.leads.data if form.lead_mode.data == "named" else []),
                 "The program was saved.",
                 url_for(".home", course_id=program.course_id))
    if done is not None:
        return done
    return render_template("programs/program_form.html", form=form, program=program), form_status()


# -- cohorts ---------------------------------------------------------------------------------------------------

def _cohort_form(program: Program, cohort: Cohort | None) -> CohortForm:
    if request.method == "GET" and cohort is not None:
        zone = zones.program_zone(program)
        form = CohortForm(obj=cohort)
        form.kind.data, form.signup_mode.data = cohort.kind.value, cohort.signup_mode.value
        form.signup_opens_at.data = zones.form_value(zone, cohort.signup_opens_at)
        form.signup_closes_at.data = zones.form_value(zone, cohort.signup_closes_at)
        form.facilitators.data = [f.membership_id for f in cohort.facilitators]
    else:
        form = CohortForm()
    people = queries.course_members(db.session, program.course_id)
    people.sort(key=lambda m: (m.role is not CourseRole.facilitator, m.user.display_name.lower()))
    form.facilitators.choices = [SelectChoice(m.id, _person_label(m)) for m in people
                                 if m.role is not CourseRole.observer]
    return form


def _cohort_values(form: CohortForm) -> dict:
    return dict(name=form.name.data, kind=form.kind.data, description=form.description.data,
                capacity=form.capacity.data, signup_mode=form.signup_mode.data,
                signup_opens_at=form.signup_opens_at.data, signup_closes_at=form.signup_closes_at.data,
                facilitator_ids=form.facilitators.data)


@bp.route("/cohorts/new", methods=["GET", "POST"])
@program_page(lead=True)
def new_cohort(access: Access):
    program = access.program
    form = _cohort_form(program, None)
    if request.method == "GET":
        form.facilitators.data = [access.id]
    done = saved(form, lambda: writes.create_cohort(db.session, access, **_cohort_values(form)),
                 lambda cohort: f"The cohort {cohort.name} was created.",
                 lambda cohort: url_for(".cohort", course_id=program.course_id, cohort_id=cohort.id))
    if done is not None:
        return done
    return render_template("programs/cohort_form.html", form=form, program=program, cohort=None), form_status()


@bp.route("/cohorts/<int:cohort_id>/edit", methods=["GET", "POST"])
@program_page()
def edit_cohort(access: Access, cohort_id: int):
    cohort = queries.get_cohort(db.session, access, cohort_id)
    access.require_manager(cohort, "edit it")
    program = cohort.program
    form = _cohort_form(program, cohort)
    done = saved(form, lambda: writes.update_cohort(db.session, access, cohort, **_cohort_values(form)),
                 "The cohort was saved.",
                 url_for(".cohort", course_id=program.course_id, cohort_id=cohort_id))
    if done is not None:
        return done
    return render_template("programs/cohort_form.html", form=form, program=program, cohort=cohort), form_status()


def _render_cohort(access: Access, cohort_id: int, error: str | None = None,
                   person_form: PersonForm | None = None, status: int = 200):
    page = queries.cohort_page(db.session, access, queries.get_cohort(db.session, access, cohort_id))
    form = None
    if page.manager:
        form = person_form or PersonForm()
        form.membership_id.choices = [SelectChoice(m.id, _person_label(m)) for m in page.candidates]
    return render_template("programs/cohort.html", access=access, page=page, cohort=page.cohort,
                           program=page.program, error=error, now=utcnow(), person_form=form), status


@bp.route("/cohorts/<int:cohort_id>")
@program_page()
def cohort(access: Access, cohort_id: int):
    return _render_cohort(access, cohort_id)


def _seat_action(access: Access, cohort_id: int, action, done_message):
    cohort = queries.get_cohort(db.session, access, cohort_id)
    try:
        seat = action(cohort)
    except InvalidInput as exc:
        db.session.rollback()
        return _render_cohort(access, cohort_id, error=exc.message, status=400)
    message = done_message(cohort.name, seat)
    db.session.commit()
    flash(message, "success")
    return redirect(url_for(".cohort", course_id=access.course_id, cohort_id=cohort_id))


def _seat_message(cohort_name: str, seat) -> str:
    if seat.status is SeatStatus.active:
        return f"You have a seat in {cohort_name}."
    position = queries.waitlist_position(db.session, seat)
    return f"{cohort_name} is full: you are {ordinal(position)} on the waiting list."


@bp.route("/cohorts/<int:cohort_id>/signup", methods=["POST"])
@program_page()
def signup(access: Access, cohort_id: int):
    return _seat_action(access, cohort_id, lambda c: writes.sign_up(db.session, access, c), _seat_message)


@bp.route("/cohorts/<int:cohort_id>/withdraw", methods=["POST"])
@program_page()
def withdraw(access: Access, cohort_id: int):
    return _seat_action(access, cohort_id, lambda c: writes.withdraw(db.session, access, c),
                        lambda name, seat: "You have left the cohort.")


@bp.route("/cohorts/<int:cohort_id>/invitation", methods=["POST"])
@program_page()
def invitation(access: Access, cohort_id: int):
    accept = request.form.get("response") == "accept"
    return _seat_action(access, cohort_id, lambda c: writes.respond_to_invitation(db.session, access, c, accept),
                        _seat_message if accept else lambda name, seat: "You declined the invitation.")


def _person_action(access: Access, cohort_id: int, action, message):
    cohort = queries.get_cohort(db.session, access, cohort_id)
    access.require_manager(cohort, "add or invite people")
    form = PersonForm()
    form.membership_id.choices = None  # checked by the service against the course's members
    form.membership_id.validate_choice = False
    if not form.validate_on_submit():
        return _render_cohort(access, cohort_id, person_form=form, status=400)
    try:
        seat = action(cohort, form.membership_id.data)
    except InvalidInput as exc:
        show_error(form, exc)
        return _render_cohort(access, cohort_id, person_form=form, status=400)
    name = seat.membership.user.display_name
    db.session.commit()
    flash(message(name), "success")
    return redirect(url_for(".cohort", course_id=access.course_id, cohort_id=cohort_id))


@bp.route("/cohorts/<int:cohort_id>/members", methods=["POST"])
@program_page()
def add_member(access: Access, cohort_id: int):
    return _person_action(access, cohort_id, lambda c, mid: writes.add_member(db.session, access, c, mid),
                          lambda name: f"{name} was added.")


@bp.route("/cohorts/<int:cohort_id>/invitations", methods=["POST"])
@program_page()
def invite_member(access: Access, cohort_id: int):
    return _person_action(access, cohort_id, lambda c, mid: writes.invite(db.session, access, c, mid),
                          lambda name: f"{name} was invited.")


@bp.route("/cohorts/<int:cohort_id>/members/<int:seat_id>/remove", methods=["POST"])
@program_page()
def remove_member(access: Access, cohort_id: int, seat_id: int):
    cohort = queries.get_cohort(db.session, access, cohort_id)
    try:
        seat = writes.remove_member(db.session, access, cohort, seat_id)
    except InvalidInput as exc:
        db.session.rollback()
        return _render_cohort(access, cohort_id, error=exc.message, status=400)
    name = seat.membership.user.display_name
    db.session.commit()
    flash(f"{name} was removed from the cohort.", "success")
    return redirect(url_for(".cohort", course_id=access.course_id, cohort_id=cohort_id))


# -- applications ----------------------------------------------------------------------------------------------

@bp.route("/cohorts/<int:cohort_id>/questions", methods=["GET", "POST"])
@program_page(lead=True)
def questions(access: Access, cohort_id: int):
    cohort = queries.get_cohort(db.session, access, cohort_id)
    if request.method == "GET":
        form = QuestionsForm(data={"questions": [{"prompt": q.prompt, "required": q.required}
                                                 for q in cohort.questions]})
        for _ in range(2):
            form.questions.append_entry({"prompt": "", "required": True})
    else:
        form = QuestionsForm()
    if form.validate_on_submit():
        writes.set_questions(db.session, access, cohort, [(e.prompt.data, e.required.data) for e in form.questions])
        db.session.commit()
        flash("The application questions were saved.", "success")
        return redirect(url_for(".cohort", course_id=access.course_id, cohort_id=cohort_id))
    return render_template("programs/questions.html", form=form, cohort=cohort), form_status()


@bp.route("/cohorts/<int:cohort_id>/apply", methods=["GET", "POST"])
@program_page()
def apply(access: Access, cohort_id: int):
    cohort = queries.get_cohort(db.session, access, cohort_id)
    existing = queries.application_of(db.session, cohort, access.membership)
    if existing is not None and existing.status.value != "withdrawn":
        return redirect(url_for(".application", course_id=access.course_id, application_id=existing.id))
    form = application_form(cohort.questions)
    if form.validate_on_submit():
        answers = {q.id: getattr(form, f"q{q.id}").data for q in cohort.questions}
        try:
            application = writes.submit_application(db.session, access, cohort, answers)
        except InvalidInput as exc:
            show_error(form, exc)
        else:
            db.session.commit()
            flash("Your application was sent. You will see the decision here.", "success")
            return redirect(url_for(".application", course_id=access.course_id, application_id=application.id))
    return render_template("programs/apply.html", form=form, cohort=cohort, program=cohort.program), form_status()


@bp.route("/cohorts/<int:cohort_id>/applications")
@program_page()
def applications(access: Access, cohort_id: int):
    cohort = queries.get_cohort(db.session, access, cohort_id)
    items = queries.list_applications(db.session, access, cohort)
    return render_template("programs/applications.html", cohort=cohort, applications=items)


@bp.route("/applications/<int:application_id>", methods=["GET", "POST"])
@program_page()
def application(access: Access, application_id: int):
    item = queries.get_application(db.session, access, application_id)
    reviewer = access.manages(item.cohort)
    form = ReviewForm() if reviewer else None
    if request.method == "POST":
        if not reviewer:
            abort(403, "Only the cohort's reviewers can decide on an application.")
        if form.validate_on_submit():
            try:
                writes.review_application(db.session, access, item, form.decision.data, form.note.data)
            except InvalidInput as exc:
                show_error(form, exc)
                item = queries.get_application(db.session, access, application_id)
            else:
                db.session.commit()
                flash(f"Decision saved for {item.membership.user.display_name}.", "success")
                return redirect(url_for(".applications", course_id=access.course_id, cohort_id=item.cohort_id))
    seat = queries.seat_of(db.session, item.cohort, item.membership)
    return render_template("programs/application.html", item=item, cohort=item.cohort, form=form,
                           reviewer=reviewer,
                           position=queries.waitlist_position(db.session, seat) if seat else None), form_status()


# -- small groups ----------------------------------------------------------------------------------------------

@bp.route("/cohorts/<int:cohort_id>/groups", methods=["GET", "POST"])
@program_page()
def groups(access: Access, cohort_id: int):
    cohort = queries.get_cohort(db.session, access, cohort_id)
    access.require_manager(cohort, "make its small groups")
    roster = queries.seats_by_status(db.session, cohort)
    manual, auto = SmallGroupForm(prefix="manual"), AutoGroupsForm(prefix="auto")
    manual.members.choices = [SelectChoice(s.membership_id, s.membership.user.display_name)
                              for s in roster[SeatStatus.active]]
    which = request.form.get("action")
    form = manual if which == "manual" else auto
    if request.method == "POST" and form.validate_on_submit():
        try:
            if which == "manual":
                writes.create_small_group(db.session, access, cohort, manual.name.data, manual.members.data)
                message = f"The group {manual.name.data} was created."
            else:
                made = writes.generate_small_groups(db.session, access, cohort, auto.size.data)
                message = f"{len(made)} groups were made: " + ", ".join(str(len(g.members)) for g in made) + \
                    " people."
        except InvalidInput as exc:
            show_error(form, exc)
        else:
            db.session.commit()
            flash(message, "success")
            return redirect(url_for(".groups", course_id=access.course_id, cohort_id=cohort_id))
    return render_template("programs/groups.html", cohort=cohort, manual=manual, auto=auto,
                           groups=queries.small_groups(db.session, cohort), active=roster[SeatStatus.active]), \
        form_status()


# -- proposals -------------------------------------------------------------------------------------------------

@bp.route("/proposals")
@program_page()
def proposals(access: Access):
    program = access.program
    return render_template("programs/proposals.html", program=program,
                           proposals=queries.list_proposals(db.session, access), lead=access.lead,
                           window_open=queries.proposals_open(program), now=utcnow())


def _proposal_values(form: ProposalForm) -> dict:
    return dict(title=form.title.data, kind=form.kind.data, description=form.description.data,
                audience=form.audience.data, format=form.format.data,
                proposed_sessions=form.proposed_sessions.data)


@bp.route("/proposals/new", methods=["GET", "POST"])
@program_page()
def new_proposal(access: Access):
    form = ProposalForm()
    done = saved(form, lambda: writes.submit_proposal(db.session, access, **_proposal_values(form)),
                 lambda proposal: "Your proposal was sent to the program's leads.",
                 lambda proposal: url_for(".proposal", course_id=access.course_id, proposal_id=proposal.id))
    if done is not None:
        return done
    return render_template("programs/proposal_form.html", form=form, program=access.program, proposal=None,
                           window_open=queries.proposals_open(access.program)), form_status()


@bp.route("/proposals/<int:proposal_id>/edit", methods=["GET", "POST"])
@program_page()
def edit_proposal(access: Access, proposal_id: int):
    proposal = queries.get_proposal(db.session, access, proposal_id)
    if not permissions.revises_proposal(access, proposal):
        abort(403, "Only the proposer can edit a proposal.")
    form = ProposalForm(obj=proposal) if request.method == "GET" else ProposalForm()
    if request.method == "GET":
        form.kind.data = proposal.kind.value
    done = saved(form, lambda: writes.revise_proposal(db.session, access, proposal, **_proposal_values(form)),
                 "Your proposal was sent again.",
                 url_for(".proposal", course_id=access.course_id, proposal_id=proposal_id))
    if done is not None:
        return done
    return render_template("programs/proposal_form.html", form=form, program=proposal.program, proposal=proposal,
                           window_open=True), form_status()


@bp.route("/proposals/<int:proposal_id>", methods=["GET", "POST"])
@program_page()
def proposal(access: Access, proposal_id: int):
    item = queries.get_proposal(db.session, access, proposal_id)
    form = ProposalReviewForm() if access.lead else None
    if request.method == "POST":
        if not access.lead:
            abort(403, "Only the program's leads can review proposals.")
        if form.validate_on_submit():
            try:
                writes.review_proposal(db.session, access, item, form.decision.data, form.note.data)
            except InvalidInput as exc:
                show_error(form, exc)
                item = queries.get_proposal(db.session, access, proposal_id)
            else:
                db.session.commit()
                flash("Decision saved.", "success")
                return redirect(url_for(".proposal", course_id=access.course_id, proposal_id=proposal_id))
    return render_template("programs/proposal.html", item=item, form=form, lead=access.lead,
                           revises=permissions.revises_proposal(access, item)), form_status()


# -- deep linking: a cohort page can be placed in the LMS course -----------------------------------------------

def _cohort_items(course, membership) -> list[PlaceableItem]:
    return [PlaceableItem(f"cohort:{c.id}", f"Cohort: {c.name}", (c.description or "")[:160], group="Cohorts")
            for c in queries.cohorts_of_course(db.session, course.id)]


def _resolve_cohort(course_id: int, ident: str) -> str | None:
    found = queries.cohorts_of_course(db.session, course_id, int(ident)) if ident.isdigit() else []
    return url_for("programs.cohort", course_id=course_id, cohort_id=found[0].id) if found else None


register_target("cohort", _cohort_items, _resolve_cohort)
