"""Markdown to safe HTML, the one way for every feature: markdown-it-py (CommonMark with tables, bare links
made clickable by linkify-it-py, raw HTML off), then nh3 with one allow-list. Images are dropped (their alt
text stays): what a person writes cannot load anything from elsewhere."""
from __future__ import annotations

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

ALLOWED_TAGS = {"p", "br", "strong", "em", "code", "pre", "blockquote", "ul", "ol", "li", "a", "h2", "h3", "h4",
                "h5", "h6", "hr", "table", "thead", "tbody", "tr", "th", "td"}
ALLOWED_ATTRIBUTES = {"a": {"href"}, "ol": {"start"}, "th": {"style"}, "td": {"style"}}
# markdown-it writes a table column's alignment as style="text-align:…"; nothing else may be styled.
ALLOWED_STYLES = {"text-align"}
URL_SCHEMES = {"http", "https", "mailto"}

_md = MarkdownIt("commonmark", {"html": False, "linkify": True}).enable(["table", "linkify"])


def _image_to_alt(self, tokens, idx, options, env):
    token = tokens[idx]
    alt = self.renderInline(token.children or [], options, env) if token.children else token.content
    return f"[image: {alt}]" if alt else ""


def _heading(closing: bool):
    def render(self, tokens, idx, options, env):
        # What a person writes never outranks the page's own headings: "# Title" becomes the env's top level.
        level = max(int(tokens[idx].tag[1]), env.get("top_heading", 2))
        return f"</h{level}>\n" if closing else f"<h{level}>"
    return render


_md.add_render_rule("image", _image_to_alt)
_md.add_render_rule("heading_open", _heading(False))
_md.add_render_rule("heading_close", _heading(True))


def render_markdown(text: str, *, top_heading: int = 2) -> str:
    """Sanitised HTML for ``text``, safe to store and to output unescaped. ``top_heading`` is the highest
    heading level the text may use (2 on a page of its own, 3 inside a discussion thread)."""
    html = _md.render(text or "", {"top_heading": min(max(top_heading, 2), 6)})
    return nh3.clean(html, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES, url_schemes=URL_SCHEMES,
                     filter_style_properties=ALLOWED_STYLES, link_rel="nofollow noopener noreferrer",
                     strip_comments=True)


def safe(html: str) -> Markup:
    """Stored HTML (sanitised when it was written) for a template."""
    return Markup(html)


def init_app(app) -> None:
    """``safe(html)`` in every template: the one way stored, already sanitised HTML is shown."""
    app.add_template_global(safe, "safe")
