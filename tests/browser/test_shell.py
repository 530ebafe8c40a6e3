"""The page shell (base.html, _macros.html, error, message and help pages) in a real Chromium: no axe
violations, no CSP refusals, nothing wider than a 360 px phone, and screenshots to look at.

A small stand-alone Flask app renders the templates with fake context, so these tests do not depend on
the database or on the rest of the application being importable.
"""
from __future__ import annotations

import enum
import os
from types import SimpleNamespace

import pytest
from flask import Flask, flash, g, render_template, render_template_string
from wtforms import BooleanField, Form, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from tests.browser.helpers import check_axe, horizontal_overflow, screenshots, serve

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# The same policy the real app sends (lti_tool/web.py), so any inline script or style would show up.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: https:; "
       "font-src 'self'; connect-src 'self'; form-action 'self' https: http:; base-uri 'none'; "
       "object-src 'none'; frame-src 'self' https:; frame-ancestors 'self'")


class Role(enum.Enum):
    facilitator = "facilitator"
    participant = "participant"
    observer = "observer"


def membership(role="facilitator", preview=False):
    return SimpleNamespace(
        user=SimpleNamespace(display_name="Amara Okafor", email="amara@example.edu"),
        course=SimpleNamespace(display_title="EDUC 510 · Reading Communities (Spring 2025)", id=7),
        role=Role(role), is_preview=preview,
    )


class DemoForm(Form):
    title = StringField("Cohort name", validators=[DataRequired(message="Give the cohort a name."), Length(max=80)])
    about = TextAreaField("Description", description="Shown to participants on the sign-up page.")
    size = SelectField("Group size", choices=["4 people", "6 people", "8 people"])
    mode = RadioField("Meeting mode", choices=["Online", "In person"],
                      validators=[DataRequired(message="Choose how the cohort meets.")])
    open = BooleanField("Open for sign-up")


PLATFORMS = [
    SimpleNamespace(name="Canvas (production)", issuer="https://canvas.instructure.com", client_id="10000000000042",
                    deployments=[SimpleNamespace(deployment_id="42:8865aa05b4b79b64a91a86042e43af5ea8ae79eb")],
                    registered_by="dynamic", active=True),
    SimpleNamespace(name="Moodle", issuer="https://moodle.example.edu", client_id="aB3dE5fG7hI9jK1",
                    deployments=[SimpleNamespace(deployment_id="1"), SimpleNamespace(deployment_id="2")],
                    registered_by="cli", active=True),
    SimpleNamespace(name="", issuer="https://lms.example.org", client_id="x-1",
                    deployments=[], registered_by="canvas_json", active=False),
]

ENDPOINTS = {
    "login_url": "https://cop.example.edu/lti/login",
    "launch_url": "https://cop.example.edu/lti/launch",
    "jwks_url": "https://cop.example.edu/lti/jwks",
    "canvas_json_url": "https://cop.example.edu/lti/canvas.json",
    "register_url": "https://cop.example.edu/lti/register",
    "deep_link_url": "https://cop.example.edu/lti/launch",
}

DEMO_PAGE = """{% extends "base.html" %}
{% from "_macros.html" import field, submit, status_badge, role_badge, empty_state, nav_link, pagination %}
{% block title %}Program home{% endblock %}
{% block nav %}<ul class="nav app-nav-list">{{ nav_link("/shell", "Home", active=True) }}{{ nav_link("/shell", "Cohorts") }}
{{ nav_link("/shell", "Calendar") }}{{ nav_link("/shell", "Discussions") }}{{ nav_link("/shell", "Grades") }}</ul>{% endblock %}
{% block content %}
<h1 class="h3">Reading Communities</h1>
<p>Statuses: {{ status_badge("Delivered", "success") }} {{ status_badge("Pending", "warning") }}
  {{ status_badge("Failed", "danger") }} {{ status_badge("Draft", "neutral") }} {{ status_badge("Syncing", "info") }}</p>
<p>Roles: {{ role_badge("facilitator") }} {{ role_badge("participant") }} {{ role_badge("observer") }}
  {{ role_badge("participant", True) }}</p>
<form method="post" action="/shell" novalidate class="app-card mb-4">
  {{ field(form.title, help="Participants see this name.") }}
  {{ field(form.about, rows=3) }}
  {{ field(form.size) }}
  {{ field(form.mode) }}
  {{ field(form.open) }}
  {{ submit("Save cohort") }} {{ submit("Cancel", kind="outline-secondary", name="cancel", value="1") }}
</form>
{{ empty_state("No meetings yet", "Add the first meeting of this cohort to start taking attendance.") }}
{{ pagination(3, 9, "shell") }}
{% endblock %}
"""


def make_app() -> Flask:
    app = Flask(__name__, template_folder=os.path.join(ROOT, "templates"),
                static_folder=os.path.join(ROOT, "static"))
    app.config.update(SECRET_KEY="browser-shell-test", TESTING=True)
    state = {"membership": None}

    @app.before_request
    def _request_id():
        g.request_id = "req-3f9a1c2b7d"

    @app.context_processor
    def _globals():
        return {"tool_title": "Communities of Practice", "current_membership": state["membership"]}

    @app.after_request
    def _csp(response):
        response.headers["Content-Security-Policy"] = CSP
        return response

    @app.route("/shell", methods=["GET", "POST"])
    def shell():
        state["membership"] = membership("facilitator")
        form = DemoForm(data={"title": ""})
        form.validate()
        flash("The cohort was saved.", "success")
        flash("Roster sync starts in a minute.", "info")
        flash("Two participants have no email address.", "warning")
        flash("The score could not be sent to Canvas.", "danger")
        return render_template_string(DEMO_PAGE, form=form)

    @app.route("/preview")
    def preview():
        state["membership"] = membership("participant", preview=True)
        return render_template("lti/message.html", title="Welcome", message="You are viewing the tool as a test student.")

    @app.route("/error")
    def error():
        state["membership"] = None
        return render_template("errors/error.html", status=404, title="Not found",
                               message="That cohort does not exist, or it belongs to another course."), 404

    @app.route("/not-migrated")
    def not_migrated():
        state["membership"] = None
        return render_template("errors/not_migrated.html", pending=["3c1f2a9b7e10", "a77d41e0c2f5"]), 503

    @app.route("/message")
    def message():
        state["membership"] = None
        return render_template(
            "lti/message.html", title="Open the tool in a new window",
            message="Your browser blocks the cookies this tool needs inside the course page. "
                    "Open it in a new window to continue; you stay signed in to your LMS.",
            details=["Safari and Chrome's incognito mode block these cookies by default.",
                     "Allowing cookies for this site avoids the extra window next time."],
            action_url="/shell", action_label="Open in a new window", action_target="_blank")

    @app.route("/help")
    def help_page():
        state["membership"] = None
        return render_template("lti/help.html", endpoints=ENDPOINTS, platforms=PLATFORMS)

    @app.route("/help-empty")
    def help_empty():
        state["membership"] = None
        return render_template("lti/help.html", endpoints=ENDPOINTS, platforms=[])

    @app.route("/autosubmit")
    def autosubmit():
        state["membership"] = None
        return render_template_string(
            '{% extends "base.html" %}{% block content %}<h1 class="h4">Returning to your course…</h1>'
            '<form method="post" action="/landed" data-autosubmit><input type="hidden" name="JWT" value="x.y.z">'
            '<button type="submit" name="submit" class="btn btn-primary">Continue</button></form>{% endblock %}'
            '{% block scripts %}<script src="/static/js/autosubmit.js" defer></script>{% endblock %}')

    @app.route("/landed", methods=["POST"])
    def landed():
        from flask import request

        return f"<!doctype html><title>landed</title><p id=jwt>{request.form['JWT']}</p>"

    @app.route("/lms")
    def lms():
        # A stand-in LMS page framing the tool at the width Canvas gives an external tool.
        return render_template_string(
            '<!doctype html><html lang="en"><head><title>LMS</title><link rel="icon" href="data:,"></head><body>'
            '<h1>Course</h1><iframe src="/shell" title="Communities of Practice" width="800" height="1400">'
            '</iframe></body></html>')

    return app


@pytest.fixture(scope="module")
def base_url():
    with serve(make_app()) as url:
        yield url


PAGES = ["shell", "preview", "error", "not-migrated", "message", "help", "help-empty"]


@pytest.mark.parametrize("name", PAGES)
def test_page_has_no_serious_axe_violations_no_csp_errors_and_fits_360px(page, base_url, name):
    response = page.goto(f"{base_url}/{name}")
    assert response is not None
    page.wait_for_load_state("networkidle")
    check_axe(page, name)
    # Error pages answer 404/503 on purpose; Chromium logs that status for the document itself.
    errors = [e for e in page.console_errors if not e.endswith(f"@ {page.url}")]
    assert errors == [], errors
    page.set_viewport_size({"width": 360, "height": 800})
    check_axe(page, f"{name} at 360 px")  # narrow layouts bring their own problems (scroll regions, overlap)
    assert horizontal_overflow(page) <= 0, f"{name} scrolls sideways at 360 px"
    page.set_viewport_size({"width": 320, "height": 800})
    assert horizontal_overflow(page) <= 0, f"{name} scrolls sideways at 320 px"
    page.set_viewport_size({"width": 1280, "height": 900})
    screenshots(page, name)


def test_header_names_the_person_the_course_and_the_role_in_words(page, base_url):
    page.goto(f"{base_url}/shell")
    header = page.locator("header.app-header").inner_text()
    assert "Signed in as" in header and "Amara Okafor" in header
    assert "Reading Communities (Spring 2025)" in header and "Facilitator" in header
    page.goto(f"{base_url}/preview")
    assert "Test student (preview)" in page.locator("header.app-header").inner_text()


def test_flashes_carry_a_written_prefix_and_the_right_live_role(page, base_url):
    page.goto(f"{base_url}/shell")
    assert page.locator(".app-flash[role=status]").count() == 2
    assert page.locator(".app-flash[role=alert]").count() == 2
    assert page.locator(".alert-danger").inner_text().startswith("Error:")
    assert page.locator(".alert-success").inner_text().startswith("Done:")


def test_field_errors_are_linked_to_their_controls(page, base_url):
    page.goto(f"{base_url}/shell")
    title = page.locator("#title")
    assert title.get_attribute("aria-invalid") == "true"
    described = title.get_attribute("aria-describedby").split()
    assert described == ["title-help", "title-error"]
    assert "Give the cohort a name." in page.locator("#title-error").inner_text()
    assert page.locator("label[for=title]").inner_text().startswith("Cohort name")
    assert page.locator("#about").get_attribute("aria-describedby") == "about-help"


def test_skip_link_moves_focus_to_main(page, base_url):
    page.goto(f"{base_url}/shell")
    page.keyboard.press("Tab")
    skip = page.locator(".app-skip-link")
    assert skip.evaluate("el => el === document.activeElement")
    assert skip.is_visible()
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"


def test_htmx_and_app_js_load_and_copy_buttons_appear(page, base_url):
    page.goto(f"{base_url}/help")
    page.wait_for_load_state("networkidle")
    assert page.evaluate("typeof window.htmx") == "object"
    assert page.evaluate("htmx.config.includeIndicatorStyles") is False
    button = page.locator("button[data-copy-target=jwks-url]")
    assert button.is_visible()
    button.click()
    page.wait_for_function("document.getElementById('jwks-url-status').textContent.length > 0")
    assert "Copied" in page.locator("#jwks-url-status").inner_text() or "Ctrl+C" in page.locator("#jwks-url-status").inner_text()
    assert page.locator("style").count() == 0, "something injected a <style> element"


def test_help_page_lists_platforms_and_the_registration_urls(page, base_url):
    page.goto(f"{base_url}/help")
    assert page.locator("#register-url-moodle").input_value() == ENDPOINTS["register_url"]
    assert page.locator("#canvas-json-url").input_value() == ENDPOINTS["canvas_json_url"]
    rows = page.locator("#platforms tbody tr")
    assert rows.count() == 3
    assert "Dynamic Registration" in rows.nth(0).inner_text()
    page.goto(f"{base_url}/help-empty")
    assert "No platform registered yet" in page.locator("#platforms").inner_text()


def test_not_migrated_page_gives_the_exact_command(page, base_url):
    response = page.goto(f"{base_url}/not-migrated")
    assert response.status == 503
    assert "flask --app wsgi db upgrade" in page.locator("main").inner_text()
    assert "3c1f2a9b7e10" in page.locator("main").inner_text()


def test_shell_inside_an_800px_lms_iframe(page, base_url):
    page.goto(f"{base_url}/lms")
    frame = page.frame_locator("iframe").locator("h1").element_handle().owner_frame()
    frame.wait_for_load_state("networkidle")
    check_axe(frame, "shell-in-iframe")  # axe runs inside the frame's own document
    assert horizontal_overflow(frame) <= 0
    assert page.console_errors == [], page.console_errors
    screenshots(frame, "shell-in-iframe", widths=(1280,))


def test_autosubmit_posts_the_form_onward_even_with_a_control_named_submit(page, base_url):
    page.goto(f"{base_url}/autosubmit")
    page.wait_for_url(f"{base_url}/landed")
    assert page.locator("#jwt").inner_text() == "x.y.z"
