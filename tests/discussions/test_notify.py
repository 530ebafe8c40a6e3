"""Notification emails delivered to a real SMTP server on loopback (aiosmtpd): one per event or a daily digest,
only when the program turns email on and SMTP is configured; pseudonyms kept in anonymous threads."""
from __future__ import annotations

import socket
from email import message_from_bytes

import pytest
from aiosmtpd.controller import Controller

from lti_tool.discussions import notify, writes as w
from tests.discussions.conftest import reading_thread


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content)))
        return "250 OK"


@pytest.fixture
def smtp(app, monkeypatch):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setitem(app.config, "SMTP_HOST", "127.0.0.1")
    monkeypatch.setitem(app.config, "SMTP_PORT", port)
    monkeypatch.setitem(app.config, "MAIL_FROM", "cop@example.edu")
    yield inbox
    controller.stop()


def _emails(world):
    for name in ("Pat", "Ann", "Bo", "Fay"):
        world.people[name].user.email = f"{name.lower()}@example.edu"


def test_an_email_per_event_goes_to_who_chose_it_and_never_to_the_author(world, book, smtp):
    _emails(world)
    w.update_program_settings(world.session, world.access("Lena"), observers_may_read=False,
                              email_enabled=True)
    notify.set_preference(world.session, world.people["Pat"], "each")
    notify.set_preference(world.session, world.people["Ann"], "each")
    thread = reading_thread(world, book)
    mine = w.create_post(world.session, world.viewer("Pat"), thread, "Pat's post")
    w.create_post(world.session, world.viewer("Ann"), thread, "Ann answers", parent=mine)
    assert notify.send_event_emails(world.session) == 1
    [(to, msg)] = smtp.messages
    assert to == ["pat@example.edu"] and "Ann replied to your post" in msg["Subject"]
    assert notify.send_event_emails(world.session) == 0


def test_a_daily_digest_gathers_everything_new_in_one_email(world, book, smtp):
    _emails(world)
    w.update_program_settings(world.session, world.access("Lena"), observers_may_read=False,
                              email_enabled=True)
    notify.set_preference(world.session, world.people["Pat"], "digest")
    thread = reading_thread(world, book)
    mine = w.create_post(world.session, world.viewer("Pat"), thread, "Pat's post")
    w.create_post(world.session, world.viewer("Ann"), thread, "one", parent=mine)
    w.create_post(world.session, world.viewer("Bo"), thread, "two", parent=mine)
    assert notify.send_event_emails(world.session) == 0
    assert notify.send_digests(world.session) == 1
    [(to, msg)] = smtp.messages
    body = msg.get_payload()
    assert to == ["pat@example.edu"] and "2 new" in msg["Subject"]
    assert "Ann replied to your post" in body and "Bo replied to your post" in body
    assert notify.send_digests(world.session) == 0


def test_no_email_unless_the_program_turns_it_on(world, book, smtp):
    _emails(world)
    notify.set_preference(world.session, world.people["Pat"], "each")
    thread = reading_thread(world, book)
    mine = w.create_post(world.session, world.viewer("Pat"), thread, "Pat's post")
    w.create_post(world.session, world.viewer("Ann"), thread, "reply", parent=mine)
    assert notify.send_event_emails(world.session) == 0 and smtp.messages == []


def test_emails_keep_pseudonyms_in_anonymous_threads(world, book, smtp):
    _emails(world)
    w.update_program_settings(world.session, world.access("Lena"), observers_may_read=False,
                              email_enabled=True)
    notify.set_preference(world.session, world.people["Pat"], "each")
    thread = reading_thread(world, book)
    thread.anonymous_to_peers = True
    mine = w.create_post(world.session, world.viewer("Pat"), thread, "Pat's post")
    w.create_post(world.session, world.viewer("Ann"), thread, "reply", parent=mine)
    notify.send_event_emails(world.session)
    [(_, msg)] = smtp.messages
    assert "Ann" not in msg["Subject"] and "Participant " in msg["Subject"]


def test_without_smtp_nothing_is_sent(world, book, app, monkeypatch):
    monkeypatch.setitem(app.config, "SMTP_HOST", "")
    assert notify.send_event_emails(world.session) == 0 and notify.send_digests(world.session) == 0



from tests.discussions.test_views import lti, setup  # noqa: E402,F401  (fixtures for the HTTP test)


def test_a_reply_through_the_page_emails_the_author_from_the_background_task(app, lti, setup, smtp):
    """Over HTTP: Huey runs tasks inline in tests, so the email is in the inbox when the reply returns."""
    from lti_tool.db import db
    from tests.discussions.test_views import FAC, LEAD, P1, P2, last_post_id, post
    from tests.lti_client import forms

    lead = lti(LEAD)
    page = lead.get(f"/c/{setup.cid}/discussions/")
    index = next(i for i, f in enumerate(forms(page.text)) if f.action.endswith("/settings"))
    lead.submit(page, index=index, email_enabled="y")
    ann = lti(P1)
    notes = ann.get(f"{setup.base}/notifications")
    assert "Email me" in notes.text
    ann.submit(notes, index=len(forms(notes.text)) - 1, email_mode="each")
    post(ann, setup, "Ann's initial post")
    bo = lti(P2)
    post(bo, setup, "Bo's own")
    post(bo, setup, "Bo answers Ann", parent_id=last_post_id(app) - 1)
    [(to, msg)] = smtp.messages
    with app.app_context():
        from tests.discussions.test_views import member

        assert to == [db.session.get(type(member(app, P1)), member(app, P1).id).user.email]
    assert "replied to your post" in msg["Subject"]
