"""Completion pages through real LTI launches from the sandbox LMS: the lead builds a rule in the form (live
preview, draft, apply), the participant reads their forecast, the facilitator their cohort by risk; bad input
answered 400 with nothing saved; every crossing of lines refused (403 for a participant acting as a lead, 404
for another person's forecast); CSRF refused; what a user typed escaped."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from lti_tool.attendance import writes as attendance
from lti_tool.calendar.models import Meeting
from lti_tool.completion.models import RuleVersion
from lti_tool.course.access import access_for
from lti_tool.db import db
from lti_tool.programs.models import Cohort
from tests.attendance.helpers import build, membership_of
from tests.lti_client import forms

P1, P2, P4 = "demo-participant-1", "demo-participant-2", "demo-participant-4"


@pytest.fixture
def demo(app, lti):
    fac = lti("demo-facilitator-1")
    course_id = int(re.search(r"/c/(\d+)/", fac.last.url).group(1))
    people = {sub: lti(sub) for sub in (P1, P2, P4)}
    d = build(app, course_id, [P1, P2], other_members=[P4])
    with app.app_context():
        s = db.session
        lead = access_for(s, membership_of("demo-facilitator-1", course_id))
        cohort = s.get(Cohort, d.cohort_id)
        attendance.ensure_statuses(s, cohort.program)
        for meeting_id, key in zip(d.past_meetings, "PA"):
            attendance.mark_attendance(s, lead, s.get(Meeting, meeting_id), cohort, d.members[P1], key)
        s.commit()
    return d, fac, people


def url(d, rest="") -> str:
    return f"/c/{d.course_id}/completion{rest}"


def token_of(browser, path: str) -> str:
    return next(f.fields["csrf_token"] for f in forms(browser.get(path).text) if "csrf_token" in f.fields)


def rule_form(token: str, rows, op="all", note="") -> dict:
    data = {"csrf_token": token, "op": op, "op_A": "any", "op_B": "any", "op_C": "any", "note": note}
    for i in range(8):
        kind, n, group = rows[i] if i < len(rows) else ("", "", "")
        data.update({f"rows-{i}-kind": kind, f"rows-{i}-n": n, f"rows-{i}-module": "", f"rows-{i}-group": group,
                     f"rows-{i}-cid": ""})
    return data


def versions(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(RuleVersion))


def test_the_lead_builds_a_rule_previews_it_applies_it_and_the_participant_reads_the_forecast(app, demo):
    d, fac, people = demo
    token = token_of(fac, url(d, "/rule"))
    live = fac.post(url(d, "/rule/preview"), rule_form(token, [("sessions", "4", "")]))
    assert live.status_code == 200 and "would meet it today" in live.text and "<html" not in live.text
    saved = fac.post(url(d, "/rule"), rule_form(token, [("sessions", "4", ""), ("posts", "1", "A"),
                                                         ("points", "2", "A")], note="Kick-off <b>rule</b>"))
    assert saved.status_code == 200 and "Draft saved" in saved.text
    assert "Draft: version 1" in saved.text and "0 of 3</strong> people would meet it today" in saved.text
    assert "Kick-off &lt;b&gt;rule&lt;/b&gt;" in saved.text
    assert "At least 4 sessions attended; Any one of: At least 1 post written; At least 2 points earned" in saved.text
    version_id = int(re.search(r"/versions/(\d+)/apply", saved.text).group(1))
    applied = fac.post(url(d, f"/versions/{version_id}/apply"), {"csrf_token": token})
    assert applied.status_code == 200 and "applies now" in applied.text and "Version 1, applied" in applied.text
    mine = people[P1].get(url(d, "/"))
    assert mine.status_code == 200 and "My progress toward completion" in mine.text
    assert "1 of 4 sessions attended so far; 4 left; you can miss 1 more." in mine.text
    assert "What I still need" in mine.text and "Attend 3 more sessions" in mine.text
    assert mine.text.count("A make-up counts as attended: 1 missed session can still be made up, which would leave "
                           "2 still to attend.") == 2       # under the criterion, and once under what I still need
    assert fac.get(url(d, "/")).status_code == 200          # to the first cohort they manage
    risk = fac.get(url(d, f"/cohorts/{d.cohort_id}"))
    assert risk.status_code == 200 and "Participants, most at risk first" in risk.text
    names = re.findall(r'/completion/people/\d+">([^<]+)</a>', risk.text)
    assert names[0] == "Aisha Rahman"          # at risk (an absence, no margin), before those on track


@pytest.mark.parametrize("rows, message", [
    ([], "The rule is empty: add at least one criterion."),
    ([("sessions", "99", "")], "Nobody could meet “At least 99 sessions attended”"),
    ([("sessions", "0", "")], "needs a whole number from 1"),
    ([("sessions", "2.5", "")], "needs a whole number from 1"),
])
def test_a_bad_rule_is_refused_with_400_and_nothing_is_saved(app, demo, rows, message):
    d, fac, _people = demo
    token = token_of(fac, url(d, "/rule"))
    answer = fac.post(url(d, "/rule"), rule_form(token, rows))
    assert answer.status_code == 400 and message in answer.text
    assert "Nothing was saved" in answer.text
    assert versions(app) == 0
    live = fac.post(url(d, "/rule/preview"), rule_form(token, rows))
    assert live.status_code == 200 and "cannot be saved yet" in live.text


def test_a_number_that_is_not_a_number_is_refused(app, demo):
    d, fac, _people = demo
    token = token_of(fac, url(d, "/rule"))
    answer = fac.post(url(d, "/rule"), rule_form(token, [("sessions", "lots", "")]))
    assert answer.status_code == 400 and versions(app) == 0


def test_participants_see_only_their_own_forecast_and_no_lead_pages(app, demo):
    d, fac, people = demo
    token = token_of(fac, url(d, "/rule"))
    fac.post(url(d, "/rule"), rule_form(token, [("sessions", "2", "")]))
    assert people[P1].get(url(d, f"/people/{d.members[P1]}")).status_code == 200
    assert people[P2].get(url(d, f"/people/{d.members[P1]}")).status_code == 404
    assert people[P4].get(url(d, f"/people/{d.members[P1]}")).status_code == 404
    assert people[P1].get(url(d, f"/people/999999")).status_code == 404
    assert people[P1].get(url(d, "/rule")).status_code == 403
    assert people[P1].get(url(d, f"/cohorts/{d.cohort_id}")).status_code == 403
    p_token = token_of(people[P1], f"/c/{d.course_id}/attendance/meetings/{d.now_meeting}/checkin")
    assert people[P1].post(url(d, "/rule"), rule_form(p_token, [("sessions", "1", "")])).status_code == 403
    with app.app_context():
        version_id = db.session.scalar(select(RuleVersion.id))
    assert people[P1].post(url(d, f"/versions/{version_id}/apply"), {"csrf_token": p_token}).status_code == 403
    # The lead sees anyone's; an unknown version is 404; a form without its token is refused.
    assert fac.get(url(d, f"/people/{d.members[P4]}")).status_code == 200
    assert fac.post(url(d, "/versions/999999/apply"), {"csrf_token": token}).status_code == 404
    assert fac.post(url(d, f"/versions/{version_id}/apply"), {}).status_code == 400
    with app.app_context():
        assert db.session.get(RuleVersion, version_id).applied_at is None


def test_the_gradebook_setting_is_saved(app, demo):
    d, fac, _people = demo
    token = token_of(fac, url(d, "/rule"))
    saved = fac.post(url(d, "/rule"), rule_form(token, [("sessions", "2", "")]))
    version_id = int(re.search(r"/versions/(\d+)/apply", saved.text).group(1))
    fac.post(url(d, f"/versions/{version_id}/apply"), {"csrf_token": token})
    answer = fac.post(url(d, "/rule/grading"), {"csrf_token": token, "graded": "y"})
    assert answer.status_code == 200 and "Gradebook settings saved" in answer.text
    from lti_tool.grades.models import GradedComponent

    with app.app_context():
        assert db.session.scalar(select(GradedComponent.label).where(GradedComponent.key.like("completion:%"))) \
            == "Completion"
