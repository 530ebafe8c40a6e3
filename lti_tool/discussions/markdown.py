"""What the book study adds to the one Markdown renderer (``lti_tool.course.text``): @mentions, written
"@[Name]", shown as a mention; and the block quote a reply starts from."""
from __future__ import annotations

import re

from lti_tool.course.text import render_markdown

# A post's "# Title" must not outrank the thread page's own headings (h1 the thread, h2 its sections).
TOP_HEADING = 3

_MENTION = re.compile(r"@\[([^\]\n<>&]{1,80})\]")


def render_post(text: str) -> str:
    """Sanitised HTML of a post or a prompt, its mentions marked; safe to store and to output unescaped."""
    clean = render_markdown(text, top_heading=TOP_HEADING)
    # The name inside "@[…]" is already escaped text in the sanitised HTML (and can hold no <, > or &).
    return _MENTION.sub(lambda m: f'<span class="dsc-mention">@{m.group(1)}</span>', clean)


def mentions_in(text: str) -> list[str]:
    """The names mentioned in ``text``, each once, in order."""
    return list(dict.fromkeys(m.group(1).strip() for m in _MENTION.finditer(text or "")))


def quote_markdown(author: str, body: str) -> str:
    """A reply's prefill: the quoted post as a Markdown block quote."""
    lines = (body or "").strip().splitlines() or [""]
    return f"> {author} wrote:\n>\n" + "\n".join("> " + line for line in lines) + "\n\n"
