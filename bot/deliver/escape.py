"""Escaping of upstream-controlled text for Slack mrkdwn and GitHub Markdown, and the template environment.

Package names, owners, licence strings and funding links come from people outside the
organisation. Rendered raw they could ping a whole Slack workspace (``<!channel>``), mention
GitHub users (``@everyone``), inject HTML (or a fake ``<!-- upkeep:... -->`` marker) or put a
link of their choosing in front of readers (``[x](http://evil)``). Every template renders
such text only through the filters below; ``StrictUndefined`` makes a missing variable fail.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from bot.paths import templates_dir

TEMPLATES_DIR = templates_dir()

WORD_JOINER = "\u2060"  # invisible, zero width, breaks mention and autolink parsing
ZERO_WIDTH_JOINER = "\u200d"

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u202a-\u202e\u2066-\u2069]")
_WHITESPACE_RUN = re.compile(r"\s+")
_SCHEME = re.compile(r"(?<=[A-Za-z0-9]):(?=//)")
_WWW = re.compile(r"(?i)\b(www)\.")
_AT = re.compile(r"@(?=[\w-])")
_ISSUE_REF = re.compile(r"#(?=\d)")
_MD_PUNCT = re.compile(r"([\\`*_\[\]()!|~{}#])")
_BACKTICKS = re.compile(r"`+")
_SAFE_KEY = re.compile(r"^[A-Za-z0-9._-]+(?:/[A-Za-z0-9._-]+){2}$")


def clean(text: object) -> str:
    """One line of printable text: control and bidi-override characters dropped, whitespace collapsed."""
    spaced = _WHITESPACE_RUN.sub(" ", str(text))
    return _WHITESPACE_RUN.sub(" ", _CONTROL.sub("", spaced)).strip()


def _break_links_and_mentions(text: str, joiner: str) -> str:
    text = _SCHEME.sub(":" + joiner, text)
    text = _WWW.sub(r"\1" + joiner + ".", text)
    return _AT.sub("@" + joiner, text)


def slack_text(text: object) -> str:
    """Upstream text for Slack mrkdwn: ``&``, ``<``, ``>`` escaped as Slack asks, mentions and bare URLs broken.

    Slack only forms ``<!channel>``, ``<@U…>`` and ``<url|label>`` from raw angle brackets, so
    escaping them is the essential part; the word joiners stop ``@here`` and URL autolinking too.
    https://docs.slack.dev/messaging/formatting-message-text#escaping
    """
    escaped = clean(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _break_links_and_mentions(escaped, WORD_JOINER)


def md_text(text: object) -> str:
    """Upstream text for GitHub Markdown outside code: no mention, HTML, link, image or issue reference survives."""
    value = _break_links_and_mentions(clean(text), ZERO_WIDTH_JOINER)
    value = _ISSUE_REF.sub("#" + ZERO_WIDTH_JOINER, value)
    value = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MD_PUNCT.sub(r"\\\1", value)


def plain_text(text: object, limit: int = 200) -> str:
    """Upstream text for a GitHub issue title: one line, no mention, autolink or issue reference, clipped."""
    value = _ISSUE_REF.sub("#" + ZERO_WIDTH_JOINER, _break_links_and_mentions(clean(text), ZERO_WIDTH_JOINER))
    # Titles show text as it is (an entity would be shown literally) but travel on to other tools, e.g.
    # chat notifications: angle brackets become look-alike quotes, so no tool reads them as markup.
    return clip(value.replace("<", "‹").replace(">", "›"), limit)


def md_code(text: object, *, in_table: bool = False) -> str:
    """Upstream text as a GitHub Markdown code span, which renders every character literally.

    The fence is one backtick longer than the longest run inside (CommonMark 6.1). In a GFM
    table a ``|`` splits the cell even inside code, so it is written ``\\|`` there.
    """
    value = clean(text)
    if in_table:
        value = value.replace("|", "\\|")
    longest = max((len(run) for run in _BACKTICKS.findall(value)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if value.startswith("`") or value.endswith("`") or not value else ""
    return f"{fence}{pad}{value}{pad}{fence}"


def is_safe_key(key: str) -> bool:
    """Whether an upstream key can go into a hidden marker or a URL as it is."""
    return bool(_SAFE_KEY.match(key))


def clip(text: str, limit: int, ellipsis: str = "…") -> str:
    """``text`` cut to at most ``limit`` characters, marking the cut."""
    return text if len(text) <= limit else text[: max(0, limit - len(ellipsis))] + ellipsis


def percent(value: float) -> str:
    return f"{value * 100:.1f}%"


def money(value: float, currency: str = "USD") -> str:
    return f"{value:,.0f} {clean(currency)[:8]}"


@cache
def template_environment(directory: Path = TEMPLATES_DIR) -> Environment:
    """The Jinja2 environment for ``templates/``: strict undefined, no HTML autoescape, our escaping filters."""
    env = Environment(
        loader=FileSystemLoader(str(directory)),
        undefined=StrictUndefined,
        autoescape=False,  # noqa: S701  Slack mrkdwn and Markdown are not HTML; the filters escape for each
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        slack=slack_text,
        md=md_text,
        md_code=md_code,
        md_cell=lambda value: md_code(value, in_table=True),
        percent=percent,
        money=money,
    )
    return env
