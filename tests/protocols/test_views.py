"""Protocol pages through real LTI launches from the sandbox LMS: the run exists only for its members (404 for
a participant of the same cohort who is not in it, another cohort's, an observer, another course), the live
controls with one version for two facilitators (409 and a clear message for the second), contributions refused
on the server outside their phase (409) or role (403) with the text kept, the poll's server clock, scripts
copied and adapted by leads only, making runs and giving roles, the problem of practice with its files, and
the record as Markdown and PDF. CSRF on every form."""
from __future__ import annotations

import datetime as dt
import html
import re

import pytest
from sqlalchemy import func, select

from lti_tool.db import db, utcnow
from lti_tool.programs.models import CohortMember, SeatStatus, SmallGroup, SmallGroupMember
from lti_tool.protocols.models import Contribution, ProtocolRun, ProtocolScript, RunFile
from tests.lti_client import forms
from tests.protocols.helpers import FAC, P1, P2, P3, P4, make_demo


def course_of(response) -> int:
    return int(re.search(r"/c/(\d+)/", response.url).group(1))


@pytest.fixture
def demo(app, lti):
    fac = lti(FAC)
    people = {sub: lti(sub) for sub in (P1, P2, P3, P4)}
    d = make_demo(app, course_of(fac.last))
    return d, fac, people


def token(browser, path: str) -> str:
    return next(f.fields["csrf_token"] for f in forms(browser.get(path).text) if "csrf_token" in f.fields)


def version_of(app, d) -> int:
    with app.app_context():
        return db.session.get(ProtocolRun, d.run_id).version


def control(browser, app, d, action, version=None, **extra):
    data = {"csrf_token": token(browser, d.run_url()), "action": action,
            "version": version if version is not None else version_of(app, d), **extra}
    return browser.post(d.run_url("/control"), data)


def contribute(browser, d, position, body):
    return browser.post(d.run_url("/contributions"), {"csrf_token": token(browser, d.run_url()),
                                                       "position": position, "body": body})


def test_a_run_exists_only_for_its_members(app, demo, lti):
    d, fac, people = demo
    assert "Consultancy: reading conferences" in people[P1].get(d.url("/")).text
    assert "Consultancy: reading conferences" not in people[P3].get(d.url("/")).text
    for rest in ("", "/state", "/live", "/projector", "/record.md", "/record.pdf", "/problem", "/files/1"):
        assert people[P1].get(d.run_url(rest)).status_code in (200, 404 if rest == "/files/1" else 200), rest
        for outsider in (P3, P4):          # Chloé sits in the same cohort; Daniel in another
            assert people[outsider].get(d.run_url(rest)).status_code == 404, (outsider, rest)
    observer = lti("demo-observer-1")
    assert observer.get(d.run_url()).status_code == 404
    assert people[P3].post(d.run_url("/contributions"), {"csrf_token": token(people[P3], d.checkin()),
                                                         "position": 1, "body": "x"}).status_code == 404
    # Roles are for those who manage the cohort; a participant is refused the page itself.
    assert people[P1].get(d.run_url("/roles")).status_code == 403
    stranger = lti("other-facilitator-1", course="other-course")
    other = course_of(stranger.last)
    assert stranger.get(d.run_url()).status_code == 403                         # not a member of that course
    assert stranger.get(f"/c/{other}/protocols/runs/{d.run_id}").status_code == 404
    both = lti(P1, course="other-course")                                       # in both courses
    assert both.get(f"/c/{other}/protocols/runs/{d.run_id}").status_code == 404


def test_a_live_run_the_poll_gives_the_servers_clock_and_a_second_facilitator_is_told(app, demo):
    d, fac, people = demo
    page = people[P1].get(d.run_url())
    assert page.status_code == 200 and "Not started yet" in page.text and "Start the run" not in page.text
    assert fac.get(d.run_url()).text.count("Start the run") == 1
    seen = version_of(app, d)
    assert control(fac, app, d, "start", seen).status_code == 200
    state = people[P2].get(d.run_url("/state")).json()
    assert state["status"] == "running" and state["phase"] == "Presenting the dilemma" and state["position"] == 1
    server_now = dt.datetime.fromisoformat(state["server_now"])
    ends_at = dt.datetime.fromisoformat(state["ends_at"])
    assert abs((ends_at - server_now).total_seconds() - state["remaining"]) <= 1
    assert 598 <= state["remaining"] <= 600 and state["may_post"] is False and state["role"] == "participant"
    assert people[P2].get(d.run_url("/state")).headers["Cache-Control"] == "no-store"
    # Both facilitators saw version n+1 and press "Next phase": the second changes nothing and is told.
    seen = version_of(app, d)
    assert control(fac, app, d, "advance", seen).status_code == 200
    second = control(fac, app, d, "advance", seen)
    assert second.status_code == 409
    assert "Someone else already changed this run: it is now at “Clarifying questions”" in html.unescape(second.text)
    assert people[P1].get(d.run_url("/state")).json()["position"] == 2
    # A participant cannot move the clock.
    assert control(people[P2], app, d, "advance").status_code == 403


def test_contributions_are_refused_on_the_server_outside_their_phase_or_role_and_the_text_is_kept(app, demo):
    d, fac, people = demo
    control(fac, app, d, "start")
    assert contribute(people[P2], d, 1, "Not my turn").status_code == 403            # the presenter's phase
    control(fac, app, d, "advance")
    assert contribute(people[P2], d, 2, "How many **teachers**?").status_code == 200
    closed = contribute(people[P1], d, 1, "A late note <b>bold</b>")
    assert closed.status_code == 409
    text = html.unescape(closed.text)
    assert "“Presenting the dilemma” is closed: the run has moved to “Clarifying questions”" in text
    assert "A late note <b>bold</b>" in text and "A late note <b>bold</b>" not in closed.text   # kept, escaped
    control(fac, app, d, "advance")
    control(fac, app, d, "advance")                                                   # the discussion
    silent = contribute(people[P1], d, 4, "But let me explain")
    assert silent.status_code == 403
    assert "presenter listens and takes notes" in html.unescape(silent.text)
    assert "But let me explain" in silent.text
    assert "you listen and take notes in this phase" in people[P1].get(d.run_url()).text
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Contribution)) == 1
    page = people[P1].get(d.run_url())
    assert "<strong>teachers</strong>" in page.text
    no_token = people[P2].post(d.run_url("/contributions"), {"position": 4, "body": "x"})
    assert no_token.status_code == 400


def test_the_record_is_exported_as_markdown_and_pdf_for_its_members(app, demo):
    d, fac, people = demo
    control(fac, app, d, "start")
    control(fac, app, d, "advance")
    contribute(people[P2], d, 2, "What does *success* look like?")
    control(fac, app, d, "finish")
    md = people[P1].get(d.run_url("/record.md"))
    assert md.status_code == 200 and md.headers["Content-Type"].startswith("text/markdown")
    assert "attachment" in md.headers["Content-Disposition"]
    body = md.text
    assert "# Consultancy: reading conferences" in body and "- Presenter: Aisha Rahman" in body
    assert "## 2. Clarifying questions (5 min)" in body and "> What does *success* look like?" in body
    assert "**Question** by Ben Carter (participant)" in body and "Completed " in body
    pdf = people[P1].get(d.run_url("/record.pdf"))
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    from tests.certificates.conftest import pdf_text

    text = pdf_text(pdf.content)
    assert "Consultancy: reading conferences" in text and "success" in text and "Ben Carter" in text
    # It counts in the presenter's PD hours.
    hours = people[P1].get(f"/c/{d.course_id}/hours/me")
    assert "Consultancy: reading conferences" in hours.text and "Protocols" in hours.text


def test_leads_copy_and_adapt_scripts_and_shortening_scales_every_phase(app, demo):
    d, fac, people = demo
    refused = people[P1].post(d.url("/scripts/copy"), {"csrf_token": token(people[P1], d.checkin()),
                                                       "source": "builtin:tuning"})
    assert refused.status_code == 403
    copied = fac.post(d.url("/scripts/copy"), {"csrf_token": token(fac, d.url("/")), "source": "builtin:tuning"})
    assert copied.status_code == 200
    page = copied                                             # on to the copy's edit page
    assert page.status_code == 200 and "Tuning (adapted)" in page.text
    shorter = fac.submit(page, name="Tuning, 30 minutes", total_minutes="30")
    assert shorter.status_code == 200 and "saved as version 2 (30 minutes)" in html.unescape(shorter.text)
    with app.app_context():
        script = db.session.scalar(select(ProtocolScript))
        minutes = [p.minutes for p in script.phases]
        script_id = script.id
    assert len(minutes) == 7 and sum(minutes) == 30 and min(minutes) >= 1
    page = fac.get(d.url(f"/scripts/{script_id}/edit"))
    removals = {f"phases-{i}-remove": "y" for i in range(7)}
    empty = fac.submit(page, **removals)
    assert empty.status_code == 400 and "at least one phase" in empty.text
    too_short = fac.submit(fac.get(d.url(f"/scripts/{script_id}/edit")), total_minutes="3")
    assert too_short.status_code == 400 and "at least 7 minutes" in too_short.text
    with app.app_context():
        assert db.session.get(ProtocolScript, script_id).version == 2
    assert people[P1].get(d.url(f"/scripts/{script_id}/edit")).status_code == 403
    assert people[P1].get(d.url(f"/scripts/{script_id}")).status_code == 200         # everyone reads scripts
    assert people[P1].get(d.url("/scripts/builtin/chalk-talk")).status_code == 200
    assert people[P1].get(d.url("/scripts/builtin/nope")).status_code == 404


def test_a_facilitator_makes_runs_for_each_small_group_and_gives_roles(app, demo):
    d, fac, people = demo
    with app.app_context():
        s = db.session
        a, b = SmallGroup(cohort_id=d.cohort_id, name="Triad A"), SmallGroup(cohort_id=d.cohort_id, name="Triad B")
        s.add_all([a, b])
        s.flush()
        s.add_all([SmallGroupMember(group_id=a.id, membership_id=d.members[P1]),
                   SmallGroupMember(group_id=a.id, membership_id=d.members[P2]),
                   SmallGroupMember(group_id=b.id, membership_id=d.members[P3])])
        s.commit()
        cohort_id = d.cohort_id
    page = fac.get(d.url("/runs/new"))
    assert page.status_code == 200 and "one run for each small group" in page.text
    made = fac.submit(page, script="builtin:success-analysis", cohort_id=str(cohort_id), group=f"each:{cohort_id}",
                      mode="live")
    assert made.status_code == 200 and "2 runs made, one for each small group" in made.text
    with app.app_context():
        runs = db.session.scalars(select(ProtocolRun).where(ProtocolRun.group_id.is_not(None))
                                  .order_by(ProtocolRun.id)).all()
        titles = [r.title for r in runs]
        run_b = runs[1].id
    assert titles == ["Success Analysis — Triad A", "Success Analysis — Triad B"]
    # Chloé presents in Triad B (she is its only member); Ben is not in that group.
    roles_page = fac.get(d.url(f"/runs/{run_b}/roles"))
    assert "Suggested presenter:" in roles_page.text and "Chlo" in roles_page.text
    assert people[P2].get(d.url(f"/runs/{run_b}")).status_code == 404
    # A role for someone who has left: refused with a message, nothing changed.
    with app.app_context():
        seat = db.session.scalar(select(CohortMember).where(CohortMember.membership_id == d.members[P2]))
        seat.status = SeatStatus.withdrawn
        db.session.commit()
    roles_page = fac.get(d.run_url("/roles"))
    assert f'name="role_{d.members[P2]}"' not in roles_page.text and "no longer in the cohort" in roles_page.text
    forged = fac.post(d.run_url("/roles"), {"csrf_token": token(fac, d.run_url("/roles")),
                                            f"role_{d.members[P1]}": "presenter",
                                            f"role_{d.members[P3]}": "recorder"})
    assert forged.status_code == 200
    bad = fac.post(d.run_url("/roles"), {"csrf_token": token(fac, d.run_url("/roles")),
                                         f"role_{d.members[P1]}": "presenter", f"role_{d.members[P3]}": "presenter"})
    assert bad.status_code == 400 and "one presenter" in bad.text
    # Asynchronous: the first phase's deadline is required.
    page = fac.get(d.url("/runs/new"))
    refused = fac.submit(page, script="builtin:chalk-talk", cohort_id=str(cohort_id), group="", mode="async",
                         opens_at="", days_per_phase="2")
    assert refused.status_code == 400 and "Give the date and time the first phase opens" in html.unescape(refused.text)


def test_the_presenter_attaches_the_problem_of_practice_with_files_members_only(app, demo, tmp_path):
    d, fac, people = demo
    presenter = people[P1]
    page = presenter.get(d.run_url("/problem"))
    assert page.status_code == 200
    refused = presenter.post(d.run_url("/problem"), data={"csrf_token": token(presenter, d.run_url("/problem")),
                                                          "problem_text": "Keep me"},
                             files={"files": ("page.txt", b"<html><script>alert(1)</script>", "text/plain")})
    assert refused.status_code == 400 and "looks like a web page" in refused.text and "Keep me" in refused.text
    saved = presenter.post(d.run_url("/problem"), data={"csrf_token": token(presenter, d.run_url("/problem")),
                                                        "problem_text": "Reading conferences **stall**."},
                           files={"files": ("notes.txt", "Conference notes\n".encode(), "text/plain")})
    assert saved.status_code == 200
    with app.app_context():
        file_id = db.session.scalar(select(RunFile.id))
    page = people[P2].get(d.run_url())
    assert "<strong>stall</strong>" in page.text and "notes.txt" in page.text
    download = people[P2].get(d.run_url(f"/files/{file_id}"))
    assert download.status_code == 200 and download.content == b"Conference notes\n"
    assert people[P3].get(d.run_url(f"/files/{file_id}")).status_code == 404
    assert people[P2].get(d.run_url("/problem")).status_code == 403              # not the presenter


def test_an_async_run_moves_with_the_servers_clock(app, demo):
    d, fac, people = demo
    with app.app_context():
        from lti_tool.course.access import access_for
        from lti_tool.protocols import writes
        from lti_tool.protocols.queries import builtin_ref
        from tests.attendance.helpers import membership_of

        s = db.session
        lead = access_for(s, membership_of(FAC, d.course_id))
        start = utcnow().replace(microsecond=0)
        run = writes.create_run(s, lead, builtin_ref("chalk-talk"), cohort_id=d.cohort_id, mode="async",
                                opens_at=start, days_per_phase=1,
                                roles={d.members[P1]: "participant", lead.id: "facilitator"})
        s.commit()
        run_id, closes = run.id, [p.closes_at for p in run.phases]
    url = d.url(f"/runs/{run_id}")
    try:
        app.config["PROTOCOL_NOW"] = lambda: closes[0] + dt.timedelta(hours=1)
        state = people[P1].get(url + "/state").json()
        assert state["phase"] == "Silent writing" and state["may_post"] is True
        assert 22 * 3600 < state["remaining"] <= 23 * 3600
        other_run = type(d)(d.course_id, d.cohort_id, run_id, d.members, d.now_meeting)
        assert contribute(people[P1], other_run, 1, "x").status_code == 409          # phase 1 has closed
        app.config["PROTOCOL_NOW"] = lambda: closes[-1] + dt.timedelta(seconds=1)
        assert people[P1].get(url + "/state").json()["status"] == "completed"
    finally:
        app.config["PROTOCOL_NOW"] = None


def test_the_deadlines_of_an_async_run_are_changed_by_its_facilitators_only(app, demo):
    d, fac, people = demo
    with app.app_context():
        from lti_tool.course.access import access_for
        from lti_tool.protocols import writes
        from lti_tool.protocols.queries import builtin_ref
        from tests.attendance.helpers import membership_of

        s = db.session
        lead = access_for(s, membership_of(FAC, d.course_id))
        run = writes.create_run(s, lead, builtin_ref("final-word"), cohort_id=d.cohort_id, mode="async",
                                opens_at=utcnow().replace(microsecond=0) + dt.timedelta(days=1), days_per_phase=2,
                                roles={d.members[P1]: "participant", lead.id: "facilitator"})
        s.commit()
        run_id, first_close = run.id, run.phases[0].closes_at
    url = d.url(f"/runs/{run_id}/deadlines")
    page = fac.get(url)
    assert page.status_code == 200 and "Reading closes" in page.text
    swapped = fac.submit(page, **{"closes_1": "2099-01-02T17:00", "closes_2": "2099-01-01T17:00"})
    assert swapped.status_code == 400 and "must close after the phase before it" in html.unescape(swapped.text)
    later = fac.submit(fac.get(url), **{"closes_1": "2099-01-01T17:00", "closes_2": "2099-01-03T17:00",
                                        "closes_3": "2099-01-05T17:00", "closes_4": "2099-01-07T17:00",
                                        "closes_5": "2099-01-09T17:00"})
    assert later.status_code == 200 and "Deadlines saved" in later.text
    with app.app_context():
        closes = [p.closes_at for p in db.session.get(ProtocolRun, run_id).phases]
    assert closes[0] != first_close and closes[0].astimezone(dt.timezone.utc).hour == 22   # 5 pm in New York
    assert people[P1].get(url).status_code == 403
    assert fac.get(d.run_url("/deadlines")).status_code == 404                            # a live run has none


def test_manager_pages_refuse_participants_and_other_programs_scripts_are_not_found(app, demo, lti):
    d, fac, people = demo
    assert people[P1].get(d.url("/runs/new")).status_code == 403
    copied = fac.post(d.url("/scripts/copy"), {"csrf_token": token(fac, d.url("/")), "source": "builtin:charrette"})
    script_path = re.search(r"/protocols/scripts/(\d+)/edit", copied.url)
    script_id = int(script_path.group(1))
    assert people[P1].post(d.url(f"/scripts/{script_id}/archive"),
                           {"csrf_token": token(people[P1], d.checkin())}).status_code == 403
    stranger = lti("other-facilitator-1", course="other-course")
    other = course_of(stranger.last)
    for rest in (f"/scripts/{script_id}", f"/scripts/{script_id}/edit"):
        assert stranger.get(f"/c/{other}/protocols{rest}").status_code == 404, rest
    assert stranger.post(f"/c/{other}/protocols/scripts/{script_id}/archive",
                         {"csrf_token": token(stranger, f"/c/{other}/protocols/")}).status_code == 404
    archived = fac.post(d.url(f"/scripts/{script_id}/archive"), {"csrf_token": token(fac, d.url("/"))})
    assert archived.status_code == 200 and "is archived" in html.unescape(archived.text)
    assert "Charrette (adapted)" not in fac.get(d.url("/runs/new")).text


def test_editing_a_phases_minutes_keeps_them_and_a_staff_member_who_is_not_a_lead_cannot_adapt(app, demo, lti):
    d, fac, people = demo
    copied = fac.post(d.url("/scripts/copy"), {"csrf_token": token(fac, d.url("/")), "source": "builtin:chalk-talk"})
    saved = fac.submit(copied, **{"phases-1-minutes": "25", "phases-1-name": "Silent <writing>"})
    assert saved.status_code == 200 and "(35 minutes)" in saved.text and "Silent &lt;writing&gt;" in saved.text
    added = fac.submit(fac.get(re.sub(r"/scripts/(\d+)$", r"/scripts/\1/edit", saved.url)), add_phase="y")
    assert "Fill in the new phase below" in added.text and 'name="phases-4-name"' in added.text
    assistant = lti("demo-facilitator-2")          # staff, but the program names its leads
    assert assistant.post(d.url("/scripts/copy"), {"csrf_token": token(assistant, f"/c/{d.course_id}/roster/"),
                                                   "source": "builtin:tuning"}).status_code == 403
    assert assistant.get(d.run_url()).status_code == 404        # no role in the run, and not its cohort's
    assert assistant.get(d.url("/runs/new")).status_code == 403
    no_token = fac.post(d.run_url("/control"), {"action": "start", "version": version_of(app, d)})
    assert no_token.status_code == 400 and version_of(app, d) == 1


def test_two_facilitators_pressing_next_at_the_same_moment_move_the_run_on_once(app, demo, lti):
    import threading

    d, fac, people = demo
    control(fac, app, d, "start")
    other = lti(FAC)                                  # the same facilitator on a second device: its own session
    for expected_position in (2, 3, 4):
        seen = version_of(app, d)
        tokens = [token(b, d.run_url()) for b in (fac, other)]
        barrier, answers = threading.Barrier(2), []

        def press(browser, csrf):
            barrier.wait()
            answers.append(browser.http.post(browser.url(d.run_url("/control")), timeout=30, allow_redirects=False,
                                             data={"csrf_token": csrf, "action": "advance", "version": seen}))

        threads = [threading.Thread(target=press, args=(b, t)) for b, t in zip((fac, other), tokens)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(a.status_code for a in answers) == [302, 409]
        refused = next(a for a in answers if a.status_code == 409)
        text = html.unescape(refused.text)
        assert ("Someone else already changed this run" in text
                or "Another facilitator changed this run at the same moment" in text), text[:500]
        with app.app_context():
            assert db.session.get(ProtocolRun, d.run_id).current_position == expected_position
