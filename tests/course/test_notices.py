"""Notices: one per person and key, shown only to their recipient, escaped, marked read with a CSRF form."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from lti_tool.course import notices
from lti_tool.db import db
from lti_tool.lti.models import Membership, User
from tests.factories import make_world


def test_the_same_key_tells_a_person_once(session):
    w = make_world(session)
    pat, sam = w.person("Pat"), w.person("Sam")
    for _ in range(3):
        notices.notify(session, [pat.id, sam.id, pat.id], key="completion:1:at_risk", kind="completion",
                       text="You are at risk", url="/c/1/")
    notices.notify(session, [pat.id], key="completion:1:on_track", kind="completion", text="Back on track")
    assert notices.unread_count(session, pat.id) == 2 and notices.unread_count(session, sam.id) == 1
    assert notices.mark_all_read(session, pat.id) == 2 and notices.unread_count(session, pat.id) == 0


def test_a_notice_links_only_inside_the_tool(session):
    pat = make_world(session).person("Pat")
    for url in ("https://evil.example/", "//evil.example/x", "javascript:alert(1)"):
        with pytest.raises(ValueError):
            notices.notify(session, [pat.id], key="k", kind="x", text="t", url=url)


def _membership(app, sub: str) -> int:
    with app.app_context():
        return db.session.scalar(select(Membership.id).join(User).where(User.sub == sub))


def test_the_page_shows_only_ones_own_notices_escaped_and_marks_them_read(app, lti):
    pat, sam = lti("demo-participant-1"), lti("demo-participant-2")
    cid = int(pat.last.url.split("/c/")[1].split("/")[0])
    with app.app_context():
        notices.notify(db.session, [_membership(app, "demo-participant-1")], key="a", kind="test",
                       text="<script>alert(1)</script> Chapter 3 is waiting", url=f"/c/{cid}/")
        db.session.commit()
    page = pat.get(f"/c/{cid}/notices/")
    assert page.status_code == 200 and "&lt;script&gt;alert(1)&lt;/script&gt; Chapter 3 is waiting" in page.text
    assert "<script>alert(1)" not in page.text and "New:" in page.text
    assert "Chapter 3 is waiting" not in sam.get(f"/c/{cid}/notices/").text
    assert pat.post(f"/c/{cid}/notices/read", data={}).status_code == 400    # no CSRF token: refused
    with app.app_context():
        assert notices.unread_count(db.session, _membership(app, "demo-participant-1")) == 1
    pat.post(f"/c/{cid}/notices/read", data={"csrf_token": pat.csrf_token(f"/c/{cid}/notices/")})
    with app.app_context():
        assert notices.unread_count(db.session, _membership(app, "demo-participant-1")) == 0


def test_a_form_without_its_token_gets_one_clear_page_from_the_app_and_nothing_is_saved(app, lti):
    """CSRFProtect checks every POST before the view: the app's CSRFError handler answers, for every slice."""
    pat = lti("demo-participant-1")
    cid = int(pat.last.url.split("/c/")[1].split("/")[0])
    with app.app_context():
        notices.notify(db.session, [_membership(app, "demo-participant-1")], key="b", kind="test", text="Hello")
        db.session.commit()
    for path in (f"/c/{cid}/notices/read", f"/c/{cid}/notices/read?next=x"):
        refused = pat.post(path, data={"csrf_token": "stale"})
        assert refused.status_code == 400
        assert "This form has expired" in refused.text and "Nothing was saved" in refused.text
        assert "Traceback" not in refused.text and "CSRF" not in refused.text
    with app.app_context():
        assert notices.unread_count(db.session, _membership(app, "demo-participant-1")) == 1
