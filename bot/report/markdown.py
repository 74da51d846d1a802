"""Markdown escaping for text the organisation does not control (upstream and package names).

The Markdown template runs every ``{{ … }}`` through :func:`finalize_markdown`, so escaping is
the default and only values marked :class:`MarkdownSafe` (built by the template's own filters)
pass unchanged. A name such as ``<script>`` or ``| x |`` then cannot add markup or break a table.
"""

from __future__ import annotations

import re
from typing import Any

# GitHub-flavoured Markdown punctuation that can open or close inline markup anywhere in a line
# (links need "[", images "![", so escaping the brackets is enough); "|" also splits table cells.
_SPECIAL = re.compile(r"([\\`*_\[\]|~])")
# Characters that only mean something at the start of a block: lists, headings.
_LEADING = re.compile(r"^([-+#])")
_WHITESPACE = re.compile(r"\s+")
_ORDERED = re.compile(r"^(\d+)([.)])(?=\s|$)")
# Control, bidirectional-override and zero-width characters: they reorder or hide what a reader sees.
_INVISIBLE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")
# A mention (@name) or an issue reference (#1) acts when the Markdown is pasted into GitHub: a word
# joiner after the sign keeps the text and breaks the link.
_MENTION = re.compile(r"([@#])(?=[\w-])")
WORD_JOINER = "\u2060"


def strip_invisible(text: str) -> str:
    """``text`` without control, bidirectional-override and zero-width characters."""
    return _INVISIBLE.sub("", text)


class MarkdownSafe(str):
    """Text that is already valid Markdown and must not be escaped again."""

    __slots__ = ()


def escape_markdown(text: str) -> MarkdownSafe:
    """Make ``text`` literal inline Markdown: one line, HTML entities, punctuation backslash-escaped."""
    text = _WHITESPACE.sub(" ", strip_invisible(text)).strip()
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _MENTION.sub(lambda m: m.group(1) + WORD_JOINER, text)
    text = _SPECIAL.sub(r"\\\1", text)
    # Printed after a list marker, a leading "-", "+", "#" or "1." would open a nested block.
    text = _LEADING.sub(r"\\\1", text)
    text = _ORDERED.sub(r"\1\\\2", text)
    return MarkdownSafe(text)


_CODE_SPAN = re.compile(r"(`[^`\n]+`)")


def escape_keeping_code(text: str) -> MarkdownSafe:
    """Escape ``text`` like :func:`escape_markdown` but keep its `code spans` as code: upkeep's own
    sentences name commands and files that way. Markup inside a code span is inert, so it needs none."""
    out = []
    for index, part in enumerate(_CODE_SPAN.split(_WHITESPACE.sub(" ", text).strip())):
        if _CODE_SPAN.fullmatch(part):
            out.append(part)
            continue
        # Escaped like escape_markdown, keeping the spaces around code spans; the start rules apply once.
        escaped = part.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        escaped = _SPECIAL.sub(r"\\\1", escaped)
        if index == 0:
            escaped = _ORDERED.sub(r"\1\\\2", _LEADING.sub(r"\\\1", escaped))
        out.append(escaped)
    return MarkdownSafe("".join(out))


def finalize_markdown(value: Any) -> Any:
    """Jinja ``finalize`` hook: escape every printed value unless it is :class:`MarkdownSafe`."""
    if value is None or isinstance(value, MarkdownSafe):
        return value
    return escape_markdown(str(value))
