"""Escaping per notification format: no pings, no links, no markup from any text we did not write.

Each function takes one span of text (upstream names, licence ids, our own wording alike) and
returns it safe for one format:

* Mattermost Markdown: :func:`bot.deliver.escape.md_text` (Markdown punctuation, ``&<>``, ``~channel``
  links escaped; ``@channel``/``@all``/``@here``/``@user`` and bare URLs broken by a zero-width joiner).
* Matrix: ``@room`` and user ids (``@user:server``, which clients turn into pills and highlight)
  broken by a word joiner in the plain body and the HTML, which is escaped as well; events also carry
  an empty ``m.mentions``, so spec-following clients ping nobody.
* Teams Adaptive Card text: its Markdown subset escaped, ``<`` and ``>`` as look-alikes so no
  ``<at>…</at>`` mention (or any tag) can form, URLs broken.
* Email: HTML escaped in the HTML part; URLs broken in both parts so clients do not autolink them.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable

from bot.deliver.escape import clean, md_text

WORD_JOINER = "\u2060"
_SCHEME = re.compile(r"(?<=[A-Za-z0-9]):(?=//)")
_WWW = re.compile(r"(?i)\b(www)\.")
_AT = re.compile(r"@(?=[\w-])")
_TEAMS_MD = re.compile(r"([\\`*_\[\]])")


def _edges(escape: Callable[[str], str]) -> Callable[[str], str]:
    """``escape`` applied to the text between its leading and trailing spaces, which are kept (spans join)."""

    def wrapped(text: str) -> str:
        core = text.strip(" ")
        if not core:
            return " " if text else ""
        lead = " " if text.startswith(" ") else ""
        trail = " " if text.endswith(" ") else ""
        return lead + escape(core) + trail

    wrapped.__doc__ = escape.__doc__
    return wrapped


def _defang(text: str) -> str:
    text = _SCHEME.sub(":" + WORD_JOINER, text)
    text = _WWW.sub(r"\1" + WORD_JOINER + ".", text)
    return _AT.sub("@" + WORD_JOINER, text)


@_edges
def mattermost_text(text: str) -> str:
    """Text for Mattermost Markdown (messages and attachment text)."""
    return md_text(text)


@_edges
def matrix_plain(text: str) -> str:
    """Text for a Matrix event's plain ``body``."""
    return _defang(clean(text))


@_edges
def matrix_html(text: str) -> str:
    """Text for a Matrix ``org.matrix.custom.html`` ``formatted_body``."""
    return html.escape(_defang(clean(text)), quote=True)


@_edges
def teams_text(text: str) -> str:
    """Text for an Adaptive Card ``TextBlock`` as Teams renders it (Markdown subset, mentions as ``<at>``)."""
    value = _defang(clean(text)).replace("<", "‹").replace(">", "›")
    return _TEAMS_MD.sub(r"\\\1", value)


@_edges
def email_text(text: str) -> str:
    """Text for the plain part of an email."""
    return _defang(clean(text))


@_edges
def email_html(text: str) -> str:
    """Text for the HTML part of an email."""
    return html.escape(_defang(clean(text)), quote=True)
