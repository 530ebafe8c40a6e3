"""One Markdown → sanitised HTML for every feature."""
from lti_tool.course.text import render_markdown


def test_raw_html_scripts_and_event_handlers_never_survive():
    html = render_markdown('<script>alert(1)</script> <img src=x onerror=alert(1)> <b onclick="x">b</b>')
    assert "<script" not in html and "<img" not in html and "<b " not in html
    assert "&lt;script&gt;" in html, "what was typed is shown as text"


def test_links_keep_only_safe_schemes_and_get_rel():
    html = render_markdown("[a](javascript:alert(1)) [b](https://example.org) [c](data:text/html,x)")
    assert 'href="javascript' not in html and 'href="data' not in html
    assert '<a href="https://example.org" rel="nofollow noopener noreferrer">b</a>' in html


def test_a_bare_address_becomes_a_link():
    assert '<a href="https://example.org/x"' in render_markdown("see https://example.org/x")


def test_images_leave_their_alt_text_and_load_nothing():
    assert render_markdown("![a chart](https://evil.example/t.png)") == "<p>[image: a chart]</p>\n"


def test_headings_never_outrank_the_page():
    assert render_markdown("# Title").startswith("<h2>")
    assert render_markdown("# Title", top_heading=3).startswith("<h3>")
    assert render_markdown("#### Small", top_heading=3).startswith("<h4>")


def test_tables_render_with_their_alignment_and_nothing_else_styled():
    html = render_markdown("| a | b |\n|:-|-:|\n| 1 | 2 |")
    assert "<table>" in html and 'style="text-align:right"' in html
    typed = render_markdown('| <span style="color:red">x</span> |\n|-|\n| y |')
    assert "<span" not in typed and "&lt;span" in typed, "raw HTML in a cell stays text"
