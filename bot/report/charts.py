"""The review's charts as inline SVG, drawn with matplotlib and made deterministic.

Text stays text (``svg.fonttype = none``), ids are salted with a fixed value and prefixed by
the chart id (several SVGs share one HTML page), the date and RDF metadata are dropped, so
the same :class:`~bot.report.interface.ReviewData` gives byte-identical SVG.
Every chart's root carries ``data-chart`` and ``data-series``; each series' marks are SVG
elements whose ids start with ``<chart>-series-<name>``, which is what the browser test checks.
"""

from __future__ import annotations

import html
import io
import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import matplotlib
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from bot.report.interface import GapRow, ReviewData, RiskKind
from bot.report.series import Chart, contributions_trend, funding_by_channel, risk_counts, top_gaps

#: Above this many upstreams the quadrant shows the most-used ones (plus every top gap).
QUADRANT_MAX_POINTS = 1500
#: Shares below this are drawn on a linear scale, above it on a logarithmic one (symlog): thousands of
#: upstreams with shares of 0.01 % to 5 % spread out instead of crowding one column at the origin.
QUADRANT_LINEAR_BELOW = 1e-4
#: Top gaps closer than this (a share of the plot's width, in drawn coordinates) share one label.
QUADRANT_LABEL_DISTANCE = 0.08

_PALETTE = ("#2b6cb0", "#dd6b20", "#38a169", "#805ad5", "#d53f8c", "#319795", "#718096", "#b7791f")
_INK = "#2d3748"


def render_charts(data: ReviewData) -> tuple[Chart, ...]:
    """All five charts of the review, in the order the page shows them."""
    return (
        gap_quadrant_chart(data.gaps, top=top_gaps(data)),
        top_gaps_chart(top_gaps(data), currency=data.currency),
        funding_by_channel_chart(funding_by_channel(data), currency=data.currency),
        contributions_trend_chart(data),
        risk_counts_chart(risk_counts(data)),
    )


def gap_quadrant_chart(gaps: Sequence[GapRow], *, top: Sequence[GapRow] = ()) -> Chart:
    """Usage share against investment share; below the diagonal the organisation under-invests."""
    top_keys = {row.upstream for row in top}
    shown = list(gaps)
    note = ""
    if len(shown) > QUADRANT_MAX_POINTS:
        by_usage = sorted(shown, key=lambda row: (-row.usage_share, row.upstream))
        kept = by_usage[:QUADRANT_MAX_POINTS]
        kept_keys = {row.upstream for row in kept}
        kept += [row for row in shown if row.upstream in top_keys and row.upstream not in kept_keys]
        note = f"showing the {len(kept):,} most used of {len(shown):,} upstreams (every top gap included)"
        shown = kept
    others = [row for row in shown if row.upstream not in top_keys]
    named = [row for row in shown if row.upstream in top_keys]
    series = []

    def draw(ax: Axes) -> None:
        limit = max([0.01, *(max(row.usage_share, row.investment_share) for row in shown)]) * 1.2
        ax.set_xscale("symlog", linthresh=QUADRANT_LINEAR_BELOW, linscale=0.5)
        ax.set_yscale("symlog", linthresh=QUADRANT_LINEAR_BELOW, linscale=0.5)
        ax.set_xlim(0, limit)
        ax.set_ylim(0, limit)
        diagonal = ax.plot([0, limit], [0, limit], color="#a0aec0", linestyle="--", linewidth=1)[0]
        diagonal.set_gid("series-diagonal")
        series.append("diagonal")
        if others:
            points = ax.scatter(
                [row.usage_share for row in others],
                [row.investment_share for row in others],
                s=14,
                color=_PALETTE[0],
                alpha=0.6,
                linewidths=0,
                label="upstreams",
            )
            points.set_gid("series-upstreams")
            series.append("upstreams")
        if named:
            gaps_marks = ax.scatter(
                [row.usage_share for row in named],
                [row.investment_share for row in named],
                s=30,
                color=_PALETTE[1],
                linewidths=0,
                label="top gaps (numbered by rank)",
            )
            gaps_marks.set_gid("series-top-gaps")
            series.append("top-gaps")
            rank = {row.upstream: i for i, row in enumerate(top, start=1)}
            # Numbered like the top-gaps table (names would pile up on the zero line); ranks whose points
            # lie close together share one label ("2, 5, 9") instead of printing over each other.
            for index, ((x, y), ranks) in enumerate(_label_groups(named, rank, ax, limit)):
                ax.annotate(
                    ", ".join(str(r) for r in ranks),
                    (x, y),
                    xytext=(2, 5 + 9 * (index % 3)),  # neighbouring groups at different heights
                    textcoords="offset points",
                    fontsize=7,
                    color=_INK,
                )
        ax.set_xlabel("usage share (log scale above 0.01 %)")
        ax.set_ylabel("investment share (log scale above 0.01 %)")
        ax.text(0.98, 0.22, "under-invested", transform=ax.transAxes, ha="right", fontsize=8, color="#718096")
        ax.text(0.02, 0.95, "over-invested", transform=ax.transAxes, ha="left", fontsize=8, color="#718096")
        if others or named:
            ax.legend(loc="upper center", frameon=False, fontsize=8, ncol=2)

    svg = _draw(draw, size=(6.4, 5.2))
    return _chart("gap-quadrant", "Usage share vs investment share per upstream", series, svg, note)


def top_gaps_chart(rows: Sequence[GapRow], *, currency: str) -> Chart:
    """Recommended yearly amount against what was given, for the top gaps."""
    series: list[str] = []

    def draw(ax: Axes) -> None:
        if not rows:
            _empty(ax, "No under-invested upstream")
            return
        labels = [_label(row.upstream, 42) for row in rows]
        positions = np.arange(len(rows))
        recommended = ax.barh(
            positions - 0.2, [row.recommended_amount for row in rows], 0.4, color=_PALETTE[1], label="recommended"
        )
        given = ax.barh(positions + 0.2, [row.given_amount for row in rows], 0.4, color=_PALETTE[0], label="given")
        _tag(recommended, "recommended", series)
        _tag(given, "given", series)
        ax.set_yticks(positions, labels)
        ax.invert_yaxis()
        ax.set_xlabel(f"{currency} per year")
        ax.legend(loc="lower right", frameon=False, fontsize=8)

    svg = _draw(draw, size=(7.0, 0.45 * max(len(rows), 2) + 1.2))
    return _chart("top-gaps", "Top gaps: recommended yearly amount and money given", series, svg)


def funding_by_channel_chart(totals: Sequence[tuple[str, float]], *, currency: str) -> Chart:
    """Money given in the period per channel."""
    series: list[str] = []

    def draw(ax: Axes) -> None:
        if not totals:
            _empty(ax, "No money given in the period")
            return
        positions = np.arange(len(totals))
        bars = ax.barh(positions, [amount for _, amount in totals], 0.6, color=_PALETTE[2])
        _tag(bars, "channels", series)
        ax.set_yticks(positions, [_label(channel, 32) for channel, _ in totals])
        ax.invert_yaxis()
        ax.set_xlabel(currency)

    svg = _draw(draw, size=(6.4, 0.45 * max(len(totals), 2) + 1.2))
    return _chart("funding-by-channel", "Funding by channel", series, svg)


def contributions_trend_chart(data: ReviewData) -> Chart:
    """Contributions per kind over the last four quarters, stacked."""
    quarters, kinds = contributions_trend(data)
    series: list[str] = []

    def draw(ax: Axes) -> None:
        positions = np.arange(len(quarters))
        bottom = np.zeros(len(quarters))
        for i, (kind, counts) in enumerate(kinds.items()):
            bars = ax.bar(positions, counts, 0.6, bottom=bottom, color=_PALETTE[i % len(_PALETTE)], label=kind)
            _tag(bars, _slug(kind), series)
            bottom += np.asarray(counts, dtype=float)
        ax.set_xticks(positions, list(quarters))
        ax.set_ylabel("contributions")
        if kinds:
            ax.legend(
                loc="upper center", bbox_to_anchor=(0.5, -0.1), frameon=False, fontsize=8, ncol=min(len(kinds), 5)
            )
        else:
            _empty(ax, "No contributions in the last four quarters")

    svg = _draw(draw, size=(6.4, 3.6))
    return _chart("contributions-by-quarter", "Contributions by kind, last four quarters", series, svg)


def risk_counts_chart(counts: Sequence[tuple[RiskKind, int]]) -> Chart:
    """How many upstreams sit in each risk of the sovereignty register."""
    series: list[str] = []

    def draw(ax: Axes) -> None:
        positions = np.arange(len(counts))
        bars = ax.barh(positions, [count for _, count in counts], 0.6, color=_PALETTE[4])
        _tag(bars, "counts", series)
        ax.set_yticks(positions, [str(kind) for kind, _ in counts])
        ax.invert_yaxis()
        ax.set_xlabel("upstreams")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))

    svg = _draw(draw, size=(6.4, 2.6))
    return _chart("risk-register", "Risk register counts", series, svg)


def _draw(draw: Callable[[Axes], None], *, size: tuple[float, float]) -> str:
    with matplotlib.rc_context(
        {
            "svg.fonttype": "none",  # text stays text: searchable, selectable, smaller
            "svg.hashsalt": "upkeep-review",  # fixed ids, so the same data gives the same bytes
            "font.family": "DejaVu Sans",
            "font.size": 9,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "text.usetex": False,
        }
    ):
        figure = Figure(figsize=size, layout="constrained")
        ax = figure.add_subplot()
        draw(ax)
        buffer = io.StringIO()
        figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    return buffer.getvalue()


def _tag(bars: Iterable[Any], name: str, series: list[str]) -> None:
    for i, bar in enumerate(bars):
        bar.set_gid(f"series-{name}-{i}")
    series.append(name)


def _empty(ax: Axes, message: str) -> None:
    ax.text(0.5, 0.5, message, transform=ax.transAxes, ha="center", va="center", color="#718096")
    ax.set_xticks([])
    ax.set_yticks([])


def _label_groups(
    rows: Sequence[GapRow], rank: dict[str, int], ax: Axes, limit: float
) -> list[tuple[tuple[float, float], list[int]]]:
    """Top gaps grouped by nearness in drawn coordinates, in rank order; each group is labelled once."""
    scale = ax.xaxis.get_transform()
    top_end = float(scale.transform([limit])[0]) or 1.0

    def drawn(value: float) -> float:
        return float(scale.transform([value])[0]) / top_end

    groups: list[tuple[tuple[float, float], tuple[float, float], list[int]]] = []
    for row in sorted(rows, key=lambda r: rank[r.upstream]):
        at = (drawn(row.usage_share), drawn(row.investment_share))
        for anchor, _where, ranks in groups:
            if abs(anchor[0] - at[0]) < QUADRANT_LABEL_DISTANCE and abs(anchor[1] - at[1]) < QUADRANT_LABEL_DISTANCE:
                ranks.append(rank[row.upstream])
                break
        else:
            groups.append((at, (row.usage_share, row.investment_share), [rank[row.upstream]]))
    return [(where, ranks) for _, where, ranks in groups]


def _label(text: str, width: int) -> str:
    """Upstream-controlled text as a plain label: no mathtext, bounded length."""
    text = " ".join(text.split())
    if len(text) > width:
        text = text[: width - 1] + "…"
    return text.replace("$", r"\$")


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9_]+", "-", text.lower()).strip("-") or "series"


_STRIP = (
    re.compile(r"<\?xml[^>]*\?>\s*"),
    re.compile(r"<!DOCTYPE[^>]*>\s*"),
    re.compile(r"<metadata>.*?</metadata>\s*", re.DOTALL),
)


def _chart(chart_id: str, title: str, series: Sequence[str], svg: str, note: str = "") -> Chart:
    """Make matplotlib's SVG document an element that can live beside others in one page."""
    for pattern in _STRIP:
        svg = pattern.sub("", svg)
    svg = re.sub(r'\bid="([^"]+)"', rf'id="{chart_id}-\1"', svg)
    svg = re.sub(r"url\(#([^)]+)\)", rf"url(#{chart_id}-\1)", svg)
    svg = re.sub(r'href="#([^"]+)"', rf'href="#{chart_id}-\1"', svg)
    root = (
        f'<svg id="chart-{chart_id}" class="chart" data-chart="{chart_id}" '
        f'data-series="{html.escape(" ".join(series))}" role="img" aria-labelledby="{chart_id}-title" '
    )
    svg = svg.replace("<svg ", root, 1)
    svg = re.sub(r"(<svg\b[^>]*>)", rf'\1<title id="{chart_id}-title">{html.escape(title)}</title>', svg, count=1)
    return Chart(id=chart_id, title=title, series=tuple(series), svg=svg.strip(), note=note)
