"""The digest as one neutral document that every native format renders.

Built from :class:`~bot.deliver.interface.DigestData` with the Slack digest's wording. Every
span is text, never markup: each renderer escapes *all* of it for its format, so no upstream
name (or organisation name) can ping, link or inject markup anywhere. ``strong`` spans are
emphasised by the renderer.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
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


def _names(names: Sequence[str]) -> str:
    shown = ", ".join(clean(n) for n in names[:LIST_NAMES])
    more = len(names) - LIST_NAMES
    return f"{shown} and {more} more" if more > 0 else shown


def build_document(digest: DigestData, *, key: str, top_gaps: int = 10) -> DigestDocument:
    """The document for ``digest``; ``top_gaps`` gaps listed, the rest counted."""
    cur = digest.currency
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
                Span(clean(gap.upstream), strong=True),
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
        changes.append((Span(f"New gaps ({len(digest.new_gaps)}): "), Span(_names(digest.new_gaps))))
    if digest.closed_gaps:
        changes.append((Span(f"Closed gaps ({len(digest.closed_gaps)}): "), Span(_names(digest.closed_gaps))))
    if digest.licence_drift:
        drift = digest.licence_drift
        events = [f"{clean(d.upstream)} {clean(d.before or 'none')} → {clean(d.after or 'none')}" for d in drift]
        changes.append((Span(f"Licence changes ({len(events)}): "), Span(_names(events))))
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


def render(document: DigestDocument, escape: Callable[[str], str], strong: Callable[[str], str]) -> list[Rendered]:
    """Each section with every span escaped by ``escape`` and strong spans wrapped by ``strong``."""
    out = []
    for section in document.sections:
        lines = ["".join(strong(escape(s.text)) if s.strong else escape(s.text) for s in ln) for ln in section.lines]
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
