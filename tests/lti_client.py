"""A scripted browser for LTI launches over real HTTP: it follows the sandbox LMS's auto-submitting forms
exactly as a browser would (cookies included), and can forge launches for the refusal tests."""
from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import parse_qs, urljoin, urlsplit

import requests


@dataclass
class Form:
    action: str
    method: str
    fields: dict[str, str] = field(default_factory=dict)


class _FormParser(HTMLParser):
    def __init__(self):
        super().__init__()
        self.forms: list[Form] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.forms.append(Form(a.get("action") or "", (a.get("method") or "get").lower()))
        elif tag in ("input", "button", "textarea", "select") and self.forms and a.get("name"):
            if tag == "input" and a.get("type") in ("checkbox", "radio") and "checked" not in a:
                return
            self.forms[-1].fields.setdefault(a["name"], a.get("value") or "")


def forms(html: str) -> list[Form]:
    parser = _FormParser()
    parser.feed(html)
    return parser.forms


class LtiBrowser:
    """One browser (one cookie jar) talking to the live server."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        self.http = requests.Session()
        self.last: requests.Response | None = None

    def url(self, path: str) -> str:
        return urljoin(self.base_url, path)

    def get(self, path: str, **kw) -> requests.Response:
        self.last = self.http.get(self.url(path), timeout=30, **kw)
        return self.last

    def post(self, path: str, data=None, **kw) -> requests.Response:
        self.last = self.http.post(self.url(path), data=data, timeout=30, **kw)
        return self.last

    def submit(self, response: requests.Response, index: int = 0, **overrides) -> requests.Response:
        """Submit a form of a page (auto-submitting LTI forms, or a tool form with its CSRF token)."""
        form = forms(response.text)[index]
        data = {**form.fields, **overrides}
        action = urljoin(response.url, form.action or response.url)
        if form.method == "post":
            self.last = self.http.post(action, data=data, timeout=30)
        else:
            self.last = self.http.get(action, params=data, timeout=30)
        return self.last

    def csrf_token(self, path: str) -> str:
        return forms(self.get(path).text)[0].fields["csrf_token"]

    # -- the real flow: sandbox page → tool login → sandbox auth → tool launch → landing page
    def launch(self, user: str, course: str = "demo-course", kind: str = "resource", flavour: str = "canvas",
               link: str | None = None, expect_ok: bool = True) -> requests.Response:
        params = {"user": user, "course": course, "kind": kind, "flavour": flavour}
        if link:
            params["link"] = link
        page = self.get("/sandbox/launch", params=params)
        assert page.status_code == 200, page.text[:500]
        login_response = self.submit(page)                       # POST /lti/login → auth redirect → auth page
        assert login_response.status_code == 200, login_response.text[:500]
        final = self.submit(login_response)                      # POST id_token to /lti/launch → landing
        if expect_ok:
            assert final.status_code == 200, final.text[:800]
        return final

    # -- pieces for forged launches
    def start_login(self, iss: str, login_hint: str, client_id: str | None, target_link_uri: str | None = None,
                    **extra) -> dict[str, str]:
        """POST /lti/login without following the redirect; returns the auth request's parameters."""
        data = {"iss": iss, "login_hint": login_hint, "target_link_uri": target_link_uri or self.url("/lti/launch"),
                **extra}
        if client_id:
            data["client_id"] = client_id
        self.last = self.http.post(self.url("/lti/login"), data=data, allow_redirects=False, timeout=30)
        assert self.last.status_code == 302, self.last.text[:500]
        query = parse_qs(urlsplit(self.last.headers["Location"]).query)
        return {k: v[0] for k, v in query.items()}

    def post_launch(self, id_token: str, state: str, **extra) -> requests.Response:
        self.last = self.http.post(self.url("/lti/launch"), data={"id_token": id_token, "state": state, **extra},
                                   timeout=30)
        return self.last
