"""The digest as one neutral document that every native format renders.

Built from :class:`~bot.deliver.interface.DigestData` with the Slack digest's wording. Every
span is text, never markup: each renderer escapes *all* of it for its format, so no upstream
name (or organisation name) can ping, link or inject markup anywhere. ``strong`` spans are
emphasised by the renderer; a span with a ``url`` (an upstream's gap issue, the dashboard, from
:mod:`bot.deliver.issue_links`, plain by construction) becomes a link in the format's own way.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from bot.deliver.escape import clean, money, percent
from bot.deliver.interface import DigestData

LIST_NAMES = 10  # names shown per "since the last digest" list, as in Slack
TOP_GAPS = "Top gaps"


@dataclass(frozen=True, slots=True)
class Span:
    text: str
    strong: bool = False
    url: str | None = None


Line = tuple[Span, ...]


@dataclass(frozen=True, slots=True)
class Section:
    title: str | None
    lines: tuple[Line, ...]
    style: Literal["paragraph", "bullets", "numbered"] = "paragraph"
    note: str | None = None  # a line after the list, e.g. "…and 3 more upstreams with a gap"
    hidden: int = 0  # list items not shown (the note counts them)


@dataclass(frozen=True, slots=True)
class DigestDocument:
    """What every format says: a title, sections of spans, a one-line summary, and the outbox key."""

    title: str
    summary: str
    sections: tuple[Section, ...]
    review_url: str | None
    key: str


def _names(names: Sequence[str], links: Mapping[str, str] | None = None, sep: str = ", ") -> tuple[Span, ...]:
    """Up to :data:`LIST_NAMES` names, each linked to its gap issue when it has one, the rest counted."""
    spans: list[Span] = []
    for i, name in enumerate(names[:LIST_NAMES]):
        spans += [Span(sep)] if i else []
        spans.append(Span(clean(name), url=(links or {}).get(name)))
    more = len(names) - LIST_NAMES
    return (*spans, Span(f" and {more} more")) if more > 0 else tuple(spans)


def _decisions(lines: Sequence[str], links: Mapping[str, str]) -> tuple[Span, ...]:
    """ "HOST/OWNER/NAME: words" lines, the upstream linked to its gap issue."""
    spans: list[Span] = []
    for i, line in enumerate(lines[:LIST_NAMES]):
        upstream, _, words = line.partition(": ")
        spans += [Span("; ")] if i else []
        spans += [Span(clean(upstream), url=links.get(upstream)), Span(": " + clean(words))]
    more = len(lines) - LIST_NAMES
    return (*spans, Span(f" and {more} more")) if more > 0 else tuple(spans)


def build_document(digest: DigestData, *, key: str, top_gaps: int = 10) -> DigestDocument:
    """The document for ``digest``; ``top_gaps`` gaps listed, the rest counted."""
    cur = digest.currency
    links = digest.links
    title = f"upkeep digest · {clean(digest.organisation)} · {clean(digest.period)}"
    headline = Section(
        None,
        (
            (
                Span(str(digest.upstream_count), strong=True),
                Span(" upstreams in use · "),
                Span(str(digest.usage_total), strong=True),
                Span(" usages across internal repositories"),
            ),
            (
                Span("Recommended this year: "),
                Span(money(digest.recommended_total, cur), strong=True),
                Span(" of a "),
                Span(money(digest.yearly_budget, cur), strong=True),
                Span(" budget · given so far: "),
                Span(money(digest.given_total, cur), strong=True),
            ),
        ),
    )
    sections = [headline]
    chosen = digest.top_gaps[:top_gaps]
    if chosen:
        lines: list[Line] = [
            (
                Span(clean(gap.upstream), strong=True, url=links.get(gap.upstream)),
                Span(
                    f" · gap {percent(gap.gap)} (uses {percent(gap.usage_share)}, gets "
                    f"{percent(gap.investment_share)}) · risk ×{gap.risk:.1f} · recommend "
                ),
                Span(money(gap.recommended_amount, cur), strong=True),
            )
            for gap in chosen
        ]
        hidden = len(digest.top_gaps) - len(chosen)
        note = more_gaps(hidden) if hidden else None
        sections.append(Section(TOP_GAPS, tuple(lines), "numbered", note, hidden))
    changes: list[Line] = []
    if digest.new_gaps:
        changes.append((Span(f"New gaps ({len(digest.new_gaps)}): "), *_names(digest.new_gaps, links)))
    if digest.closed_gaps:
        changes.append((Span(f"Closed gaps ({len(digest.closed_gaps)}): "), *_names(digest.closed_gaps, links)))
    if digest.licence_drift:
        drift = digest.licence_drift
        events = [f"{clean(d.upstream)} {clean(d.before or 'none')} → {clean(d.after or 'none')}" for d in drift]
        changes.append((Span(f"Licence changes ({len(events)}): "), *_names(events)))
    if digest.decisions:
        changes.append((Span(f"Decisions ({len(digest.decisions)}): "), *_decisions(digest.decisions, links)))
    if "dashboard" in links:
        changes.append((Span("Every gap and its controls: "), Span("dashboard", url=links["dashboard"])))
    changes.append(
        (
            Span("Contributions upstream: "),
            Span(str(digest.contributions_since_last), strong=True),
            Span(" · money given: "),
            Span(money(digest.money_given_since_last, cur), strong=True),
        )
    )
    sections.append(Section("Since the last digest", tuple(changes), "bullets"))
    summary = (
        f"upkeep digest for {clean(digest.organisation)} ({clean(digest.period)}): {digest.upstream_count} upstreams, "
        f"recommended {money(digest.recommended_total, cur)}, given {money(digest.given_total, cur)}."
    )
    url = digest.review_url if digest.review_url and _is_web_url(digest.review_url) else None
    return DigestDocument(title, summary, tuple(sections), url, key)


def _is_web_url(url: str) -> bool:
    return url.startswith(("https://", "http://")) and not any(c in url for c in " <>\"'`()[]|\n")


@dataclass(frozen=True, slots=True)
class Rendered:
    """One section with its text escaped for a format."""

    title: str | None
    style: str
    lines: list[str]
    note: str | None
    top_gaps: bool
    hidden: int = 0


def render(
    document: DigestDocument,
    escape: Callable[[str], str],
    strong: Callable[[str], str],
    link: Callable[[str, str], str] = lambda text, url: f"{text} ({url})",
) -> list[Rendered]:
    """Each section with every span escaped by ``escape``, strong spans wrapped by ``strong`` and spans
    with a URL made links by ``link(rendered text, url)`` (default: the address after the text)."""

    def span(s: Span) -> str:
        text = strong(escape(s.text)) if s.strong else escape(s.text)
        return link(text, s.url) if s.url else text

    out = []
    for section in document.sections:
        lines = ["".join(span(s) for s in ln) for ln in section.lines]
        out.append(
            Rendered(
                escape(section.title) if section.title else None,
                section.style,
                lines,
                escape(section.note) if section.note else None,
                section.title == TOP_GAPS,
                section.hidden,
            )
        )
    return out


def markdown_link(text: str, url: str) -> str:
    """A Markdown link (Mattermost, Teams); ``url`` is plain (:mod:`bot.deliver.issue_links`), ``text`` escaped."""
    return f"[{text}]({url})"


def html_link(text: str, url: str) -> str:
    """An HTML link (Matrix ``formatted_body``, email); ``url`` is plain, ``text`` escaped."""
    return f'<a href="{url}">{text}</a>'


def bullet(style: str, number: int) -> str:
    """The plain-text list marker for a line of a section of ``style``."""
    return f"{number}. " if style == "numbered" else "• " if style == "bullets" else ""


def more_gaps(count: int) -> str:
    """The line that counts the gaps a list leaves out."""
    return f"…and {count} more upstreams with a gap"


def fit(lines: Sequence[str], budget: int) -> tuple[list[str], int]:
    """As many whole ``lines`` as fit in ``budget`` characters (newlines counted), and how many were left out."""
    kept: list[str] = []
    used = 0
    for line in lines:
        if used + len(line) + 1 > budget:
            break
        kept.append(line)
        used += len(line) + 1
    return kept, len(lines) - len(kept)
