"""Markdown to safe HTML, once, when a post is written: markdown-it-py (CommonMark, raw HTML off), then nh3
with an allow-list. Images are dropped (their alt text stays): a post cannot load anything from elsewhere."""
from __future__ import annotations

import re

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup, escape

ALLOWED_TAGS = {"p", "br", "strong", "em", "code", "pre", "blockquote", "ul", "ol", "li", "a",
                "h3", "h4", "h5", "h6", "hr"}
ALLOWED_ATTRIBUTES = {"a": {"href"}, "ol": {"start"}}
URL_SCHEMES = {"http", "https", "mailto"}
MAX_HEADING = 3   # a post's "# Title" must not outrank the page's own headings

try:  # linkify needs linkify-it-py, which is optional
    import linkify_it  # noqa: F401

    _md = MarkdownIt("commonmark", {"html": False, "linkify": True}).enable("linkify")
except ImportError:  # pragma: no cover - depends on the environment
    _md = MarkdownIt("commonmark", {"html": False})


def _image_to_alt(self, tokens, idx, options, env):
    token = tokens[idx]
    alt = self.renderInline(token.children or [], options, env) if token.children else token.content
    return f"[image: {alt}]" if alt else ""


def _heading_open(self, tokens, idx, options, env):
    level = max(int(tokens[idx].tag[1]), MAX_HEADING)
    return f"<h{level}>"


def _heading_close(self, tokens, idx, options, env):
    level = max(int(tokens[idx].tag[1]), MAX_HEADING)
    return f"</h{level}>\n"


_md.add_render_rule("image", _image_to_alt)
_md.add_render_rule("heading_open", _heading_open)
_md.add_render_rule("heading_close", _heading_close)

_MENTION = re.compile(r"@\[([^\]\n<>&]{1,80})\]")


def render_markdown(text: str) -> str:
    """Sanitised HTML for ``text``; safe to store and to output unescaped."""
    html = _md.render(text or "")
    clean = nh3.clean(html, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES, url_schemes=URL_SCHEMES,
                      link_rel="nofollow noopener noreferrer", strip_comments=True)
    # Mentions are written "@[Name]"; wrap them (the name is already escaped text in the HTML).
    return _MENTION.sub(lambda m: f'<span class="dsc-mention">@{m.group(1)}</span>', clean)


def safe(html: str) -> Markup:
    """Stored HTML (already sanitised) for a template."""
    return Markup(html)


def quote_markdown(author: str, body: str) -> str:
    """A reply's prefill: the quoted post as a Markdown block quote."""
    lines = (body or "").strip().splitlines() or [""]
    return f"> {author} wrote:\n>\n" + "\n".join("> " + line for line in lines) + "\n\n"


def mentions_in(text: str) -> list[str]:
    return list(dict.fromkeys(m.group(1).strip() for m in _MENTION.finditer(text or "")))


__all__ = ["render_markdown", "safe", "quote_markdown", "mentions_in", "escape"]
