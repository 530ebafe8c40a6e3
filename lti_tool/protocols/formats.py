"""A run's record out of the tool: a Markdown summary (the problem of practice, the roles, each phase with what
was posted in it, the debrief) and the same as a PDF (WeasyPrint, as the certificates are made)."""
from __future__ import annotations

from lti_tool.course.zones import describe_instant
from lti_tool.protocols.library import Kind, Role
from lti_tool.protocols.queries import RunPage


def _md_escape(text: str) -> str:
    # Names and titles are shown as text: characters Markdown would read as markup are escaped.
    return "".join("\\" + c if c in "\\`*_{}[]<>()#+!|" else c for c in (text or ""))


def record_markdown(page: RunPage, zone) -> str:
    run = page.run
    lines = [f"# {_md_escape(run.title)}", "",
             f"{_md_escape(run.script_name)} (version {run.script_version}), {run.mode.label.lower()}, "
             f"{run.total_minutes} minutes planned. Cohort: {_md_escape(run.cohort.name)}"
             + (f", group {_md_escape(run.group.name)}" if run.group else "") + ".", ""]
    if run.started_at:
        lines.append(f"Started {describe_instant(run.started_at, zone)}.")
    if run.completed_at:
        lines.append(f"Completed {describe_instant(run.completed_at, zone)}.")
    lines += ["", "Confidential: the record of this run is for its members only.", "", "## Roles", ""]
    for r in page.roles:
        lines.append(f"- {Role(r.role).label}: {_md_escape(r.membership.user.display_name)}")
    lines += ["", "## Problem of practice", "", run.problem_text or "(none given)", ""]
    if run.files:
        lines += ["Files: " + ", ".join(_md_escape(f.original_name) for f in run.files), ""]
    for phase in run.phases:
        lines += [f"## {phase.position}. {_md_escape(phase.name)} ({phase.minutes} min)", ""]
        if phase.closes_at:
            lines += [f"Closed {describe_instant(phase.closes_at, zone)}.", ""]
        items = page.by_phase.get(phase.position, [])
        if not items:
            lines += ["Nothing was posted in this phase.", ""]
        for c in items:
            who = c.membership.user.display_name if c.membership else "someone no longer here"
            lines += [f"**{Kind(c.kind).label}** by {_md_escape(who)} ({Role(c.role).label.lower()}), "
                      f"{describe_instant(c.created_at, zone, 'short')}:", ""]
            lines += ["> " + line if line else ">" for line in c.body.splitlines()] + [""]
    return "\n".join(lines).rstrip() + "\n"


def record_pdf(page: RunPage, zone) -> bytes:
    """The record as a tagged PDF from ``protocols/record_pdf.html``, in the certificates' fonts and fetching
    nothing else (their font-only fetcher: what a member wrote cannot make the server load anything)."""
    from flask import render_template

    from lti_tool.certificates.pdf import font_uris, write_pdf

    regular, bold = font_uris()
    html = render_template("protocols/record_pdf.html", page=page, zone=zone, describe=describe_instant,
                           Role=Role, Kind=Kind, regular_font=regular, bold_font=bold)
    return write_pdf(html)
