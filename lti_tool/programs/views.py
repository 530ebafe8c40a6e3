"""Program pages of a course: the landing page after a launch, the program's settings, cohorts with their
sign-up (open, application, invitation), rosters, small groups, and facilitator proposals."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from jinja2 import pass_context
from wtforms import SelectChoice

from lti_tool.auth import require_course_role
from lti_tool.db import db, utcnow
from lti_tool.lti.deep_linking import PlaceableItem, register_target
from lti_tool.lti.models import CourseRole
from lti_tool.programs import home as home_pages, services
from lti_tool.programs.forms import (
    ActionForm, AutoGroupsForm, CohortForm, PersonForm, ProgramForm, ProposalForm, ProposalReviewForm,
    QuestionsForm, ReviewForm, SmallGroupForm, application_form,
)
from lti_tool.programs.models import Cohort, Program, SeatStatus, SignupMode
from lti_tool.programs.services import InvalidInput

bp = Blueprint("programs", __name__, url_prefix="/c/<int:course_id>")


def _fail(form, exc: InvalidInput) -> None:
    """Put a service's message on the field it names (or on the form), after undoing the transaction."""
    db.session.rollback()
    field = getattr(form, exc.field, None) if exc.field else None
    if field is not None and hasattr(field, "errors"):
        field.errors = [*field.errors, exc.message]
    else:
        form.form_errors.append(exc.message)


def _local_input(program: Program, value):
    """A stored UTC time as the naive wall-clock value a datetime-local input shows."""
    local = services.to_local(program, value)
    return local.replace(tzinfo=None) if local else None


def _person_label(membership) -> str:
    role = "" if membership.role is CourseRole.participant else f" ({membership.role.value})"
    return membership.user.display_name + role


# -- program -------------------------------------------------------------------------------------------------

@bp.route("/")
@require_course_role()
def home(membership):
    """The landing page after every launch: one page per role (lead, cohort facilitator, participant,
    observer), each assembled by ``programs.home`` in a fixed number of queries."""
    program = services.program_for_course(db.session, membership.course)
    if program is None:
        program = services.ensure_program(db.session, membership)
        db.session.commit()
    if program is None:
        return render_template("programs/home.html", membership=membership, course=membership.course,
                               program=None, kind=None)
    kind = home_pages.page_kind(db.session, program, membership)
    build = {"lead": home_pages.lead_home, "facilitator": home_pages.facilitator_home}.get(
        kind, home_pages.participant_home)
    return render_template(
        "programs/home.html", membership=membership, course=membership.course, program=program, kind=kind,
        page=build(db.session, program, membership), heading=home_pages.heading(program, membership.course),
        proposals_open=services.proposals_open(program), ordinal=services.ordinal,
        local=lambda v: services.to_local(program, v))


@bp.app_template_test("endpoint")
@pass_context   # evaluated at render time: Jinja would otherwise fold a test on a literal at compile time
def _is_endpoint(context, name: str) -> bool:
    """``{% if "attendance.home" is endpoint %}``: links to features that are not installed are left out."""
    return name in current_app.view_functions


@bp.route("/program", methods=["GET", "POST"])
@require_course_role(CourseRole.facilitator)
def edit_program(membership):
    program = services.get_program(db.session, membership)
    services.require_lead(program, membership)
    named = services.named_leads(program)
    form = ProgramForm(obj=program) if request.method == "GET" else ProgramForm()
    if request.method == "GET":
        form.proposals_open_at.data = _local_input(program, program.proposals_open_at)
        form.proposals_close_at.data = _local_input(program, program.proposals_close_at)
        form.lead_mode.data = "named" if named else "all"
        form.leads.data = named
    form.leads.choices = [SelectChoice(m.id, m.user.display_name) for m in
                          services.course_members(db.session, program.course_id, [CourseRole.facilitator])]
    if form.validate_on_submit():
        try:
            services.update_program(
                db.session, membership, program, title=form.title.data, year_label=form.year_label.data,
                description=form.description.data, timezone=form.timezone.data, starts_on=form.starts_on.data,
                ends_on=form.ends_on.data, proposals_open_at=form.proposals_open_at.data,
                proposals_close_at=form.proposals_close_at.data,
                leads=form.leads.data if form.lead_mode.data == "named" else [])
        except InvalidInput as exc:
            _fail(form, exc)
        else:
            db.session.commit()
            flash("The program was saved.", "success")
            return redirect(url_for(".home", course_id=program.course_id))
    status = 400 if request.method == "POST" else 200
    return render_template("programs/program_form.html", form=form, program=program), status


# -- cohorts -------------------------------------------------------------------------------------------------

def _cohort_form(program: Program, cohort: Cohort | None) -> CohortForm:
    if request.method == "GET" and cohort is not None:
        form = CohortForm(obj=cohort)
        form.kind.data, form.signup_mode.data = cohort.kind.value, cohort.signup_mode.value
        form.signup_opens_at.data = _local_input(program, cohort.signup_opens_at)
        form.signup_closes_at.data = _local_input(program, cohort.signup_closes_at)
        form.facilitators.data = [f.membership_id for f in cohort.facilitators]
    else:
        form = CohortForm()
    people = services.course_members(db.session, program.course_id)
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
@require_course_role(CourseRole.facilitator)
def new_cohort(membership):
    program = services.get_program(db.session, membership)
    services.require_lead(program, membership)
    form = _cohort_form(program, None)
    if request.method == "GET":
        form.facilitators.data = [membership.id]
    if form.validate_on_submit():
        try:
            cohort = services.create_cohort(db.session, membership, program, **_cohort_values(form))
        except InvalidInput as exc:
            _fail(form, exc)
        else:
            db.session.commit()
            flash(f"The cohort {cohort.name} was created.", "success")
            return redirect(url_for(".cohort", course_id=program.course_id, cohort_id=cohort.id))
    return render_template("programs/cohort_form.html", form=form, program=program, cohort=None), \
        (400 if request.method == "POST" else 200)


@bp.route("/cohorts/<int:cohort_id>/edit", methods=["GET", "POST"])
@require_course_role()
def edit_cohort(membership, cohort_id: int):
    cohort = services.get_cohort(db.session, membership, cohort_id)
    services.require_cohort_manager(db.session, cohort, membership)
    program = cohort.program
    form = _cohort_form(program, cohort)
    if form.validate_on_submit():
        try:
            services.update_cohort(db.session, membership, cohort, **_cohort_values(form))
        except InvalidInput as exc:
            _fail(form, exc)
        else:
            db.session.commit()
            flash("The cohort was saved.", "success")
            return redirect(url_for(".cohort", course_id=program.course_id, cohort_id=cohort_id))
    return render_template("programs/cohort_form.html", form=form, program=program, cohort=cohort), \
        (400 if request.method == "POST" else 200)


def _render_cohort(membership, cohort: Cohort, error: str | None = None, person_form: PersonForm | None = None,
                   status: int = 200):
    program = cohort.program
    manager = services.can_manage_cohort(db.session, cohort, membership)
    seat = services.seat_of(db.session, cohort, membership)
    context = dict(
        membership=membership, cohort=cohort, program=program, manager=manager, seat=seat, error=error,
        position=services.waitlist_position(db.session, seat) if seat else None,
        application=services.application_of(db.session, membership, cohort),
        active=services.active_count(db.session, cohort), now=utcnow(), action_form=ActionForm(),
        ordinal=services.ordinal, local=lambda v: services.to_local(program, v),
        facilitating=any(f.membership_id == membership.id for f in cohort.facilitators),
    )
    if manager:
        roster = services.seats_by_status(db.session, cohort)
        present = {s.membership_id for group in (roster[SeatStatus.active], roster[SeatStatus.waitlisted],
                                                 roster[SeatStatus.invited]) for s in group}
        candidates = [m for m in services.course_members(db.session, program.course_id)
                      if m.role is not CourseRole.observer and m.id not in present
                      and not any(f.membership_id == m.id for f in cohort.facilitators)]
        form = person_form or PersonForm()
        form.membership_id.choices = [SelectChoice(m.id, _person_label(m)) for m in candidates]
        context.update(roster=roster, person_form=form, groups=services.small_groups(db.session, cohort),
                       lead=services.is_lead(program, membership))
    return render_template("programs/cohort.html", **context), status


@bp.route("/cohorts/<int:cohort_id>")
@require_course_role()
def cohort(membership, cohort_id: int):
    return _render_cohort(membership, services.get_cohort(db.session, membership, cohort_id))


def _seat_action(membership, cohort_id: int, action, done_message):
    cohort = services.get_cohort(db.session, membership, cohort_id)
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400, "The form has expired. Reload the page and try again.")
    try:
        seat = action(cohort)
    except InvalidInput as exc:
        db.session.rollback()
        return _render_cohort(membership, services.get_cohort(db.session, membership, cohort_id),
                              error=exc.message, status=400)
    db.session.commit()
    flash(done_message(seat), "success")
    return redirect(url_for(".cohort", course_id=membership.course_id, cohort_id=cohort_id))


def _seat_message(cohort_name: str):
    def message(seat) -> str:
        if seat.status is SeatStatus.active:
            return f"You have a seat in {cohort_name}."
        position = services.waitlist_position(db.session, seat)
        return f"{cohort_name} is full: you are {services.ordinal(position)} on the waiting list."
    return message


@bp.route("/cohorts/<int:cohort_id>/signup", methods=["POST"])
@require_course_role()
def signup(membership, cohort_id: int):
    def act(cohort):
        act.name = cohort.name
        return services.sign_up(db.session, membership, cohort)
    return _seat_action(membership, cohort_id, act, lambda seat: _seat_message(act.name)(seat))


@bp.route("/cohorts/<int:cohort_id>/withdraw", methods=["POST"])
@require_course_role()
def withdraw(membership, cohort_id: int):
    return _seat_action(membership, cohort_id, lambda c: services.withdraw(db.session, membership, c),
                        lambda seat: "You have left the cohort.")


@bp.route("/cohorts/<int:cohort_id>/invitation", methods=["POST"])
@require_course_role()
def invitation(membership, cohort_id: int):
    accept = request.form.get("response") == "accept"

    def act(cohort):
        act.name = cohort.name
        return services.respond_to_invitation(db.session, membership, cohort, accept)
    return _seat_action(membership, cohort_id, act,
                        lambda seat: _seat_message(act.name)(seat) if accept else "You declined the invitation.")


def _person_action(membership, cohort_id: int, action, message):
    cohort = services.get_cohort(db.session, membership, cohort_id)
    services.require_cohort_manager(db.session, cohort, membership)
    form = PersonForm()
    form.membership_id.choices = None  # checked by the service against the course's members
    form.membership_id.validate_choice = False
    if not form.validate_on_submit():
        return _render_cohort(membership, cohort, person_form=form, status=400)
    try:
        seat = action(cohort, form.membership_id.data)
    except InvalidInput as exc:
        _fail(form, exc)
        return _render_cohort(membership, services.get_cohort(db.session, membership, cohort_id),
                              person_form=form, status=400)
    name = seat.membership.user.display_name
    db.session.commit()
    flash(message(name, seat), "success")
    return redirect(url_for(".cohort", course_id=membership.course_id, cohort_id=cohort_id))


@bp.route("/cohorts/<int:cohort_id>/members", methods=["POST"])
@require_course_role()
def add_member(membership, cohort_id: int):
    return _person_action(membership, cohort_id,
                          lambda c, mid: services.add_member(db.session, membership, c, mid),
                          lambda name, seat: f"{name} was added.")


@bp.route("/cohorts/<int:cohort_id>/invitations", methods=["POST"])
@require_course_role()
def invite_member(membership, cohort_id: int):
    return _person_action(membership, cohort_id,
                          lambda c, mid: services.invite(db.session, membership, c, mid),
                          lambda name, seat: f"{name} was invited.")


@bp.route("/cohorts/<int:cohort_id>/members/<int:seat_id>/remove", methods=["POST"])
@require_course_role()
def remove_member(membership, cohort_id: int, seat_id: int):
    cohort = services.get_cohort(db.session, membership, cohort_id)
    if not ActionForm().validate_on_submit():
        abort(400, "The form has expired. Reload the page and try again.")
    try:
        seat = services.remove_member(db.session, membership, cohort, seat_id)
    except InvalidInput as exc:
        db.session.rollback()
        return _render_cohort(membership, services.get_cohort(db.session, membership, cohort_id),
                              error=exc.message, status=400)
    name = seat.membership.user.display_name
    db.session.commit()
    flash(f"{name} was removed from the cohort.", "success")
    return redirect(url_for(".cohort", course_id=membership.course_id, cohort_id=cohort_id))


# -- applications --------------------------------------------------------------------------------------------

@bp.route("/cohorts/<int:cohort_id>/questions", methods=["GET", "POST"])
@require_course_role(CourseRole.facilitator)
def questions(membership, cohort_id: int):
    cohort = services.get_cohort(db.session, membership, cohort_id)
    services.require_lead(cohort.program, membership)
    if request.method == "GET":
        form = QuestionsForm(data={"questions": [{"prompt": q.prompt, "required": q.required}
                                                 for q in cohort.questions]})
        for _ in range(2):
            form.questions.append_entry({"prompt": "", "required": True})
    else:
        form = QuestionsForm()
    if form.validate_on_submit():
        services.set_questions(db.session, membership, cohort,
                               [(e.prompt.data, e.required.data) for e in form.questions])
        db.session.commit()
        flash("The application questions were saved.", "success")
        return redirect(url_for(".cohort", course_id=membership.course_id, cohort_id=cohort_id))
    return render_template("programs/questions.html", form=form, cohort=cohort), \
        (400 if request.method == "POST" else 200)


@bp.route("/cohorts/<int:cohort_id>/apply", methods=["GET", "POST"])
@require_course_role()
def apply(membership, cohort_id: int):
    cohort = services.get_cohort(db.session, membership, cohort_id)
    existing = services.application_of(db.session, membership, cohort)
    if existing is not None and existing.status.value != "withdrawn":
        return redirect(url_for(".application", course_id=membership.course_id, application_id=existing.id))
    form = application_form(cohort.questions)
    if form.validate_on_submit():
        answers = {q.id: getattr(form, f"q{q.id}").data for q in cohort.questions}
        try:
            application = services.submit_application(db.session, membership, cohort, answers)
        except InvalidInput as exc:
            _fail(form, exc)
        else:
            db.session.commit()
            flash("Your application was sent. You will see the decision here.", "success")
            return redirect(url_for(".application", course_id=membership.course_id,
                                    application_id=application.id))
    return render_template("programs/apply.html", form=form, cohort=cohort, program=cohort.program,
                           local=lambda v: services.to_local(cohort.program, v)), \
        (400 if request.method == "POST" else 200)


@bp.route("/cohorts/<int:cohort_id>/applications")
@require_course_role()
def applications(membership, cohort_id: int):
    cohort = services.get_cohort(db.session, membership, cohort_id)
    items = services.list_applications(db.session, membership, cohort)
    return render_template("programs/applications.html", cohort=cohort, applications=items,
                           local=lambda v: services.to_local(cohort.program, v))


@bp.route("/applications/<int:application_id>", methods=["GET", "POST"])
@require_course_role()
def application(membership, application_id: int):
    item = services.get_application(db.session, membership, application_id)
    cohort = item.cohort
    reviewer = services.can_manage_cohort(db.session, cohort, membership)
    form = ReviewForm() if reviewer else None
    if request.method == "POST":
        if not reviewer:
            abort(403, "Only the cohort's reviewers can decide on an application.")
        if form.validate_on_submit():
            try:
                services.review_application(db.session, membership, item, form.decision.data, form.note.data)
            except InvalidInput as exc:
                _fail(form, exc)
                item = services.get_application(db.session, membership, application_id)
            else:
                db.session.commit()
                flash(f"Decision saved for {item.membership.user.display_name}.", "success")
                return redirect(url_for(".applications", course_id=membership.course_id, cohort_id=cohort.id))
    seat = services.seat_of(db.session, item.cohort, item.membership)
    return render_template("programs/application.html", item=item, cohort=item.cohort, form=form,
                           reviewer=reviewer, seat=seat, ordinal=services.ordinal,
                           position=services.waitlist_position(db.session, seat) if seat else None,
                           local=lambda v: services.to_local(item.cohort.program, v)), \
        (400 if request.method == "POST" else 200)


# -- small groups --------------------------------------------------------------------------------------------

@bp.route("/cohorts/<int:cohort_id>/groups", methods=["GET", "POST"])
@require_course_role()
def groups(membership, cohort_id: int):
    cohort = services.get_cohort(db.session, membership, cohort_id)
    services.require_cohort_manager(db.session, cohort, membership)
    roster = services.seats_by_status(db.session, cohort)
    manual, auto = SmallGroupForm(prefix="manual"), AutoGroupsForm(prefix="auto")
    manual.members.choices = [SelectChoice(s.membership_id, s.membership.user.display_name)
                              for s in roster[SeatStatus.active]]
    which = request.form.get("action")
    form = manual if which == "manual" else auto
    if request.method == "POST" and form.validate_on_submit():
        try:
            if which == "manual":
                services.create_small_group(db.session, membership, cohort, manual.name.data, manual.members.data)
                message = f"The group {manual.name.data} was created."
            else:
                made = services.generate_small_groups(db.session, membership, cohort, auto.size.data)
                message = f"{len(made)} groups were made: " + ", ".join(str(len(g.members)) for g in made) + \
                    " people."
        except InvalidInput as exc:
            _fail(form, exc)
        else:
            db.session.commit()
            flash(message, "success")
            return redirect(url_for(".groups", course_id=membership.course_id, cohort_id=cohort_id))
    return render_template("programs/groups.html", cohort=cohort, manual=manual, auto=auto,
                           groups=services.small_groups(db.session, cohort), active=roster[SeatStatus.active]), \
        (400 if request.method == "POST" else 200)


# -- proposals -----------------------------------------------------------------------------------------------

@bp.route("/proposals")
@require_course_role()
def proposals(membership):
    program = services.get_program(db.session, membership)
    return render_template("programs/proposals.html", program=program,
                           proposals=services.list_proposals(db.session, membership, program),
                           lead=services.is_lead(program, membership),
                           window_open=services.proposals_open(program), now=utcnow(),
                           local=lambda v: services.to_local(program, v))


def _proposal_values(form: ProposalForm) -> dict:
    return dict(title=form.title.data, kind=form.kind.data, description=form.description.data,
                audience=form.audience.data, format=form.format.data,
                proposed_sessions=form.proposed_sessions.data)


@bp.route("/proposals/new", methods=["GET", "POST"])
@require_course_role()
def new_proposal(membership):
    program = services.get_program(db.session, membership)
    form = ProposalForm()
    if form.validate_on_submit():
        try:
            proposal = services.submit_proposal(db.session, membership, program, **_proposal_values(form))
        except InvalidInput as exc:
            _fail(form, exc)
        else:
            db.session.commit()
            flash("Your proposal was sent to the program's leads.", "success")
            return redirect(url_for(".proposal", course_id=membership.course_id, proposal_id=proposal.id))
    return render_template("programs/proposal_form.html", form=form, program=program, proposal=None,
                           window_open=services.proposals_open(program),
                           local=lambda v: services.to_local(program, v)), \
        (400 if request.method == "POST" else 200)


@bp.route("/proposals/<int:proposal_id>/edit", methods=["GET", "POST"])
@require_course_role()
def edit_proposal(membership, proposal_id: int):
    proposal = services.get_proposal(db.session, membership, proposal_id)
    if proposal.proposer_id != membership.id:
        abort(403, "Only the proposer can edit a proposal.")
    form = ProposalForm(obj=proposal) if request.method == "GET" else ProposalForm()
    if request.method == "GET":
        form.kind.data = proposal.kind.value
    if form.validate_on_submit():
        try:
            services.revise_proposal(db.session, membership, proposal, **_proposal_values(form))
        except InvalidInput as exc:
            _fail(form, exc)
        else:
            db.session.commit()
            flash("Your proposal was sent again.", "success")
            return redirect(url_for(".proposal", course_id=membership.course_id, proposal_id=proposal_id))
    return render_template("programs/proposal_form.html", form=form, program=proposal.program, proposal=proposal,
                           window_open=True, local=lambda v: services.to_local(proposal.program, v)), \
        (400 if request.method == "POST" else 200)


@bp.route("/proposals/<int:proposal_id>", methods=["GET", "POST"])
@require_course_role()
def proposal(membership, proposal_id: int):
    item = services.get_proposal(db.session, membership, proposal_id)
    lead = services.is_lead(item.program, membership)
    form = ProposalReviewForm() if lead else None
    if request.method == "POST":
        if not lead:
            abort(403, "Only the program's leads can review proposals.")
        if form.validate_on_submit():
            try:
                services.review_proposal(db.session, membership, item, form.decision.data, form.note.data)
            except InvalidInput as exc:
                _fail(form, exc)
                item = services.get_proposal(db.session, membership, proposal_id)
            else:
                db.session.commit()
                flash("Decision saved.", "success")
                return redirect(url_for(".proposal", course_id=membership.course_id, proposal_id=proposal_id))
    return render_template("programs/proposal.html", item=item, form=form, lead=lead,
                           local=lambda v: services.to_local(item.program, v)), \
        (400 if request.method == "POST" else 200)


# -- deep linking: a cohort page can be placed in the LMS course ---------------------------------------------

def _cohort_items(course, membership) -> list[PlaceableItem]:
    from sqlalchemy import select

    cohorts = db.session.scalars(select(Cohort).join(Cohort.program)
                                 .where(Program.course_id == course.id).order_by(Cohort.name))
    return [PlaceableItem(f"cohort:{c.id}", f"Cohort: {c.name}", (c.description or "")[:160], group="Cohorts")
            for c in cohorts]


def _resolve_cohort(course_id: int, ident: str) -> str | None:
    from sqlalchemy import select

    if not ident.isdigit():
        return None
    found = db.session.scalar(select(Cohort.id).join(Cohort.program)
                              .where(Cohort.id == int(ident), Program.course_id == course_id))
    return url_for("programs.cohort", course_id=course_id, cohort_id=found) if found else None


register_target("cohort", _cohort_items, _resolve_cohort)
