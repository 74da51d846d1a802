"""Render the quarterly OSPO review: Markdown, a self-contained HTML page, and the exports.

Both documents come from Jinja2 templates (``templates/review/``) with ``StrictUndefined``, so a
missing variable fails instead of rendering blank. HTML is autoescaped; in Markdown every
printed value is escaped by default (:mod:`bot.report.markdown`). The HTML page carries its CSS
and SVG charts inline and a Content-Security-Policy that forbids any fetch or script.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup, escape

from bot.report import exports
from bot.report.interface import UNATTRIBUTED, GapRow, Headline, ReviewData, ReviewError, ReviewFiles
from bot.report.markdown import (
    MarkdownSafe,
    escape_keeping_code,
    escape_markdown,
    finalize_markdown,
    strip_invisible,
)
from bot.report.series import Chart, funding_by_channel, risk_counts, top_gaps

#: Where the templates live in a source checkout (``templates/review``).
DEFAULT_TEMPLATES_DIR = Path(__file__).resolve().parents[2] / "templates" / "review"

MARKDOWN_TEMPLATE = "review.md.j2"
HTML_TEMPLATE = "review.html.j2"


def render_review(data: ReviewData, out_dir: Path, *, templates_dir: Path = DEFAULT_TEMPLATES_DIR) -> ReviewFiles:
    """Write the review and its exports into ``out_dir`` (created if needed) and say which files."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ReviewError(f"{out_dir}: cannot write the review: {exc.strerror or exc}") from exc
    context = review_context(data)
    pledge = exports.pledge_json(data)
    try:
        # each document is written as it is rendered, then dropped: never the Markdown, the HTML and
        # an export held at once (a template error leaves the documents before it written)
        markdown = _render_to(out_dir / "review.md", templates_dir, MARKDOWN_TEMPLATE, context, markdown=True)
        charts = {**context, "charts": _charts(data)}
        html = _render_to(out_dir / "review.html", templates_dir, HTML_TEMPLATE, charts, markdown=False)
        files = ReviewFiles(
            markdown=markdown,
            html=html,
            gaps_csv=_write(out_dir / "gaps.csv", exports.gaps_csv(data)),
            funding_csv=_write(out_dir / "funding.csv", exports.funding_csv(data)),
            contributions_csv=_write(out_dir / "contributions.csv", exports.contributions_csv(data)),
            usage_by_team_csv=_write(out_dir / "usage_by_team.csv", exports.usage_by_team_csv(data)),
            review_json=_write(out_dir / "review.json", exports.review_json(data)),
            pledge_json=None if pledge is None else _write(out_dir / "pledge.json", pledge),
        )
    except OSError as exc:
        raise ReviewError(f"{out_dir}: cannot write the review: {exc.strerror or exc}") from exc
    return files


class _TemplateErrors:
    """Jinja's errors as :class:`ReviewError` naming the template (or the file) and what is wrong."""

    def __init__(self, templates_dir: Path, name: str) -> None:
        self.templates_dir, self.name = templates_dir, name

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, traceback: Any) -> None:
        if isinstance(exc, jinja2.TemplateNotFound):
            raise ReviewError(f"{self.templates_dir / str(exc.name)}: template not found") from exc
        if isinstance(exc, jinja2.UndefinedError):
            raise ReviewError(f"{self.templates_dir / self.name}: {exc.message}") from exc
        if isinstance(exc, jinja2.TemplateSyntaxError):
            raise ReviewError(f"{exc.filename or self.templates_dir / self.name}:{exc.lineno}: {exc.message}") from exc


def render_template(templates_dir: Path, name: str, context: dict[str, Any], *, markdown: bool) -> str:
    """Render one template; a missing template or variable becomes a :class:`ReviewError` naming it."""
    environment = _environment(templates_dir, markdown=markdown)
    with _TemplateErrors(templates_dir, name):
        return environment.get_template(name).render(context)


def _render_to(path: Path, templates_dir: Path, name: str, context: dict[str, Any], *, markdown: bool) -> Path:
    """:func:`render_template` into ``path`` piece by piece (the same text, never held whole); the file
    appears only once the template has rendered completely."""
    environment = _environment(templates_dir, markdown=markdown)
    partial = path.with_name(f".{path.name}.part")
    try:
        with _TemplateErrors(templates_dir, name):
            template = environment.get_template(name)
            with partial.open("w", encoding="utf-8") as handle:
                for piece in template.generate(context):
                    handle.write(piece)
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
    return path


@dataclass(frozen=True, slots=True)
class UpstreamCode:
    """One row of "code by upstream": contributions per kind and their total."""

    upstream: str
    counts: dict[str, int]
    total: int


@dataclass(frozen=True, slots=True)
class TeamTotal:
    team: str
    contributions: int
    money: float


#: What a change cell says when the figure has no earlier value to compare with.
FIRST_MEASURED = "first quarter measured"


def _headline(data: ReviewData, key: str, default: float) -> float:
    return next((h.value for h in data.headline if h.key == key), default)


def review_context(data: ReviewData) -> dict[str, Any]:
    """What the templates see: the data itself plus the groupings both documents share."""
    kinds = sorted({c.kind for c in data.contributions})
    code: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(kinds, 0))
    for c in data.contributions:
        code[c.upstream][c.kind] += c.count
    code_rows = sorted(
        (UpstreamCode(upstream, counts, sum(counts.values())) for upstream, counts in code.items()),
        key=lambda row: (-row.total, row.upstream),
    )
    team_contributions: dict[str, int] = defaultdict(int)
    team_money: dict[str, float] = defaultdict(float)
    for c in data.contributions:
        team_contributions[c.team or "(no team)"] += c.count
    for p in data.payments:
        team_money[p.team or "(no team)"] += p.converted
    teams = sorted(
        (
            TeamTotal(t, team_contributions.get(t, 0), team_money.get(t, 0.0))
            for t in {*team_contributions, *team_money}
        ),
        key=lambda row: (-row.money, -row.contributions, row.team),
    )
    shown = top_gaps(data)
    return {
        "data": data,
        "top_gaps": shown,
        # which teams' repositories drive each top gap: shown once any repository has a known team
        "usage_by_team": [g for g in shown if g.usage_by_team] if _teams_known(shown) else [],
        "risks": sorted(data.risks, key=lambda r: (-r.usage_share, r.upstream)),
        "risk_counts": risk_counts(data),
        "kinds": kinds,
        "code_by_upstream": code_rows,
        "payments": sorted(data.payments, key=lambda p: (-p.converted, p.upstream, p.channel)),
        "funding_by_channel": funding_by_channel(data),
        "teams": teams,
        # the headlines' own values: the sentence under the summary cannot disagree with the summary
        "money_given": _headline(data, "money_given", math.fsum(p.converted for p in data.payments)),
        "contributions_total": int(_headline(data, "contributions", sum(c.count for c in data.contributions))),
        "paid_upstreams": len({p.upstream for p in data.payments if p.upstream != UNATTRIBUTED}),
        "unresolved": sorted(data.unresolved, key=lambda u: (-u.repos, u.package_key)),
        "not_scored": sorted(data.not_scored, key=lambda n: (-n.repos, n.upstream)),
        "upstream_count": len(data.gaps),
        "md_rows": MARKDOWN_TABLE_ROWS,
    }


def _teams_known(rows: Sequence[GapRow]) -> bool:
    return any(part.team is not None for row in rows for part in row.usage_by_team)


def _charts(data: ReviewData) -> dict[str, Chart]:
    # The chart module loads only when a review is drawn, not with every `upkeep` command.
    from bot.report.charts import render_charts

    return {chart.id: chart for chart in render_charts(data)}


def _finalize_html(value: Any) -> Any:
    """Printed text loses control, bidirectional and zero-width characters (autoescaping does the rest)."""
    if isinstance(value, str) and not isinstance(value, Markup):
        return strip_invisible(value)
    return value


def _environment(templates_dir: Path, *, markdown: bool) -> jinja2.Environment:
    # Markdown is not HTML: its escaping is the ``finalize`` hook, which covers every printed value.
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates_dir),
        undefined=jinja2.StrictUndefined,
        autoescape=not markdown,  # noqa: S701
        finalize=finalize_markdown if markdown else _finalize_html,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    # Number filters build their text from digits and an escaped currency code, so it is safe as is.
    text: Callable[[str], str] = escape_markdown if markdown else (lambda value: str(escape(value)))
    safe: Callable[[str], Any] = MarkdownSafe if markdown else Markup
    environment.filters.update(
        {
            "money": lambda value, currency: safe(format_money(value, text(currency))),
            "share": lambda value: safe(format_share(value)),
            "number": lambda value, digits=0: safe(format_number(value, digits)),
            "change": lambda headline: safe(format_change(headline)),
            "value": lambda headline, currency: safe(format_value(headline, text(headline.currency or currency))),
            "plural": lambda count, word: safe(f"{format_number(count)} {word}{'' if count == 1 else 's'}"),
            "keep_code": escape_keeping_code if markdown else _html_code,
            # bot.report.svg escapes every text and attribute it writes; the chart module adds only fixed markup.
            "svg": lambda chart: Markup(chart.svg),  # noqa: S704
        }
    )
    return environment


def _html_code(text: str) -> Markup:
    """HTML-escaped ``text`` whose `code spans` become ``<code>`` elements."""
    parts = str(escape(text)).split("`")
    if len(parts) % 2 == 0:  # an unpaired backtick: leave the text as it is
        return Markup("`".join(parts))  # noqa: S704 - every part was escaped above
    return Markup("".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(parts)))  # noqa: S704


#: Rows of one table in review.md: the file is appended to the Action's job summary (1 MiB at most),
#: so longer tables end with a line naming the export that holds every row.
MARKDOWN_TABLE_ROWS = 50


def format_number(value: float, digits: int = 0) -> str:
    return f"{value:,.{digits}f}"


def format_money(value: float, currency: str) -> str:
    return f"{currency} {value:,.0f}"


def format_share(value: float) -> str:
    return f"{value * 100:.1f} %"


def format_value(headline: Headline, currency: str) -> str:
    """The headline's value in its unit; ``currency`` is the code to print for money."""
    if headline.unit == "money":
        return format_money(headline.value, currency)
    if headline.unit == "share":
        return format_share(headline.value)
    if headline.unit == "ratio":
        return f"{headline.value:,.2f}"
    return format_number(headline.value)


def format_change(headline: Headline) -> str:
    """The change since the comparison period in the headline's unit; "first quarter measured" when there is
    no earlier figure."""
    change = headline.change
    if change is None:
        return FIRST_MEASURED
    if headline.unit == "share":
        return f"{change * 100:+.1f} pp"
    if headline.unit == "ratio":
        return f"{change:+,.2f}"
    return f"{change:+,.0f}"


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path
