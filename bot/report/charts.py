"""The review's charts as inline SVG, drawn with :mod:`bot.report.svg` (no plotting library).

Every chart's root carries ``data-chart`` and ``data-series``; each series' marks are SVG
elements whose ids start with ``<chart>-series-<name>``, which is what the browser test checks.
Every id is prefixed by the chart id (several SVGs share one HTML page). Coordinates are written
with two decimals and nothing depends on the clock, so the same data gives the same bytes.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bot.report.interface import GapRow, ReviewData, RiskKind
from bot.report.series import Chart, contributions_trend, funding_by_channel, risk_counts, top_gaps
from bot.report.svg import Box, Svg, text_box, text_width

__all__ = [
    "LABEL_GAP",
    "QUADRANT_MAX_POINTS",
    "Chart",
    "PlacedLabel",
    "contributions_trend",
    "contributions_trend_chart",
    "funding_by_channel",
    "funding_by_channel_chart",
    "gap_quadrant_chart",
    "nice_ticks",
    "place_labels",
    "render_charts",
    "risk_counts",
    "risk_counts_chart",
    "top_gaps",
    "top_gaps_chart",
]

#: Above this many upstreams the quadrant draws density squares instead of one dot per upstream.
QUADRANT_MAX_POINTS = 1500
#: Side of a density square, in px of the drawing.
QUADRANT_CELL = 8.0
#: Shares below this are drawn on a linear scale, above it on a logarithmic one (symlog): thousands of
#: upstreams with shares of 0.01 % to 5 % spread out instead of crowding one column at the origin.
QUADRANT_LINEAR_BELOW = 1e-4
#: Width of the linear part, in decades of the logarithmic part.
QUADRANT_LINEAR_SCALE = 0.5
#: Top gaps closer than this (px of the drawing) print over each other: they share one label ("2, 5, 9").
#: Farther apart, each gets its own label, and :func:`place_labels` keeps the labels apart.
QUADRANT_LABEL_DISTANCE = 8.0

#: Least horizontal room between two rank labels, px.
LABEL_GAP = 3.0

_PALETTE = ("#2b6cb0", "#dd6b20", "#38a169", "#805ad5", "#d53f8c", "#319795", "#718096", "#b7791f")
_INK = "#2d3748"
_MUTED = "#718096"
_GRID = "#e2e8f0"
#: Drawing width in px: about the width a chart gets on the page, so 9 px text stays about 9 px.
_WIDTH = 520.0
_QUADRANT_HEIGHT = 460.0
_FONT = 9.0
_SMALL = 8.0


def render_charts(data: ReviewData) -> tuple[Chart, ...]:
    """All five charts of the review, in the order the page shows them."""
    return (
        gap_quadrant_chart(data.gaps, top=top_gaps(data)),
        top_gaps_chart(top_gaps(data), currency=data.currency),
        funding_by_channel_chart(funding_by_channel(data), currency=data.currency),
        contributions_trend_chart(data),
        risk_counts_chart(risk_counts(data)),
    )


# --- the quadrant ---------------------------------------------------------------------------------


def _symlog(value: float) -> float:
    if value <= QUADRANT_LINEAR_BELOW:
        return QUADRANT_LINEAR_SCALE * max(value, 0.0) / QUADRANT_LINEAR_BELOW
    return QUADRANT_LINEAR_SCALE + math.log10(value / QUADRANT_LINEAR_BELOW)


def gap_quadrant_chart(gaps: Sequence[GapRow], *, top: Sequence[GapRow] = ()) -> Chart:
    """Usage share against investment share; below the diagonal the organisation under-invests.

    Up to :data:`QUADRANT_MAX_POINTS` upstreams are dots; above, every upstream still counts, drawn
    as density squares (darker: more upstreams). Top gaps are always dots, numbered by rank.
    """
    prefix = "gap-quadrant"
    top_keys = {row.upstream for row in top}
    others = [row for row in gaps if row.upstream not in top_keys]
    named = [row for row in gaps if row.upstream in top_keys]
    dense = len(others) > QUADRANT_MAX_POINTS
    note = (
        f"{len(others):,} upstreams drawn as density squares (darker: more upstreams); top gaps as numbered dots"
        if dense
        else ""
    )
    svg = Svg(_WIDTH, _QUADRANT_HEIGHT, prefix=prefix, font_size=_FONT)
    plot = Box(64.0, 40.0, _WIDTH - 16.0, _QUADRANT_HEIGHT - 48.0)
    limit = max([0.01, *(max(row.usage_share, row.investment_share) for row in gaps)]) * 1.2
    end = _symlog(limit)

    def x_of(value: float) -> float:
        return plot.left + (plot.right - plot.left) * _symlog(value) / end

    def y_of(value: float) -> float:
        return plot.bottom - (plot.bottom - plot.top) * _symlog(value) / end

    ticks = [0.0, *(10.0**power for power in range(-4, 1) if 10.0**power <= limit)]
    for tick in ticks:
        svg.line(x_of(tick), plot.top, x_of(tick), plot.bottom, stroke=_GRID)
        svg.line(plot.left, y_of(tick), plot.right, y_of(tick), stroke=_GRID)
        svg.line(x_of(tick), plot.bottom, x_of(tick), plot.bottom + 4, stroke=_INK)
        svg.line(plot.left - 4, y_of(tick), plot.left, y_of(tick), stroke=_INK)
        svg.text(x_of(tick), plot.bottom + 15, _percent(tick), anchor="middle")
        svg.text(plot.left - 7, y_of(tick) + 3, _percent(tick), anchor="end")
    _axes(svg, plot)
    svg.text((plot.left + plot.right) / 2, plot.bottom + 34, "usage share (log scale above 0.01 %)", anchor="middle")
    svg.text(16, (plot.top + plot.bottom) / 2, "investment share (log scale above 0.01 %)", anchor="middle", rotate=-90)
    series = ["diagonal"]
    svg.line(x_of(0), y_of(0), x_of(limit), y_of(limit), stroke="#a0aec0", dash="4 3", id="series-diagonal")
    if others and dense:
        cells = Counter(
            (
                int((x_of(row.usage_share) - plot.left) // QUADRANT_CELL),
                int((plot.bottom - y_of(row.investment_share)) // QUADRANT_CELL),
            )
            for row in others
        )
        most = max(cells.values())
        with svg.group("series-upstreams", **{"class": "density"}):
            for (column, row_index), count in sorted(cells.items()):
                svg.rect(
                    plot.left + column * QUADRANT_CELL,
                    plot.bottom - (row_index + 1) * QUADRANT_CELL,
                    QUADRANT_CELL,
                    QUADRANT_CELL,
                    fill=_PALETTE[0],
                    opacity=0.2 + 0.8 * math.log1p(count) / math.log1p(most),
                    title=f"{count:,} upstream{'' if count == 1 else 's'}",
                )
        series.append("upstreams")
    elif others:
        with svg.group("series-upstreams", fill=_PALETTE[0], fill_opacity="0.6"):
            for row in others:
                svg.circle(x_of(row.usage_share), y_of(row.investment_share), 2.6, fill=_PALETTE[0])
        series.append("upstreams")
    obstacles = [
        _quadrant_text(svg, plot.right - 6, plot.bottom - (plot.bottom - plot.top) * 0.22, "under-invested", "end"),
        _quadrant_text(svg, plot.left + 6, plot.top + 14, "over-invested", "start"),
    ]
    if named:
        rank = {row.upstream: i for i, row in enumerate(top, start=1)}
        points = [(x_of(row.usage_share), y_of(row.investment_share)) for row in named]
        with svg.group("series-top-gaps"):
            for i, (x, y) in enumerate(points):
                svg.circle(x, y, 3.5, fill=_PALETTE[1], id=f"series-top-gaps-{i}")
        series.append("top-gaps")
        obstacles += [Box(x - 3.5, y - 3.5, x + 3.5, y + 3.5) for x, y in points]
        groups = _label_groups(named, rank, x_of, y_of)
        labels = place_labels(
            [(at, ", ".join(map(str, ranks))) for at, ranks in groups], plot, obstacles, below=plot.bottom + 40
        )
        svg.height = max(svg.height, *(label.box.bottom + 6 for label in labels))  # room for overflowed labels
        for label in labels:
            if label.leader:
                svg.line(*label.point, *label.leader, stroke=_MUTED, width=0.6)
            svg.text(
                label.x,
                label.y,
                label.text,
                size=_SMALL,
                anchor=label.anchor,
                css_class="rank",
                id=f"rank-{label.text}",
            )
    legend: list[tuple[str, str, bool]] = []
    if others:
        legend.append(("upstreams (darker: more)" if dense else "upstreams", _PALETTE[0], dense))
    if named:
        legend.append(("top gaps (numbered by rank)", _PALETTE[1], False))
    _legend(svg, legend, center=(plot.left + plot.right) / 2, y=18)
    return _chart(svg, prefix, "Usage share vs investment share per upstream", series, note)


def _quadrant_text(svg: Svg, x: float, y: float, value: str, anchor: str) -> Box:
    svg.text(x, y, value, size=_SMALL, anchor=anchor, fill=_MUTED)
    return text_box(x, y, value, _SMALL, anchor)


@dataclass(frozen=True, slots=True)
class PlacedLabel:
    """A label's text, where it is drawn, and the point it belongs to (``leader``: a line's far end)."""

    text: str
    x: float
    y: float
    anchor: str
    box: Box
    point: tuple[float, float]
    leader: tuple[float, float] | None


#: Directions tried around a point, nearest-looking first: right, above, below, left, then the diagonals.
_DIRECTIONS = ((1, 0), (1, -1), (0, -1), (1, 1), (0, 1), (-1, -1), (-1, 0), (-1, 1))


def place_labels(
    labels: Sequence[tuple[tuple[float, float], str]],
    area: Box,
    obstacles: Sequence[Box] = (),
    *,
    below: float | None = None,
) -> list[PlacedLabel]:
    """Put each label near its point where it overlaps no other label and no obstacle, in the given order.

    Greedy: the first label gets the nearest free spot, the next ones search rings further out (a thin
    line then joins label and point). A label that finds no free spot inside ``area`` takes the next
    place in rows from ``below`` down (default: just under ``area``), so labels never print over each other.
    """
    placed: list[PlacedLabel] = []
    taken = list(obstacles)
    radii = [6.0, 12.0, 20.0, 30.0, 42.0, 56.0, 72.0, 90.0, 110.0, 135.0, 165.0, 200.0]
    overflow = area.bottom + 24.0 if below is None else below
    cursor: float | None = None  # where the next label below the area starts, on the current row
    for (x, y), value in labels:
        spot: PlacedLabel | None = None
        for radius in radii:
            for dx, dy in _DIRECTIONS:
                anchor = "start" if dx > 0 else "end" if dx < 0 else "middle"
                lx, ly = x + dx * radius, y + dy * radius + _SMALL * 0.3
                if dy < 0:
                    ly -= _SMALL * 0.2
                elif dy > 0:
                    ly += _SMALL * 0.6
                box = text_box(lx, ly, value, _SMALL, anchor)
                # A gap of LABEL_GAP px between labels, so "2" beside "1, 5" cannot read as "21, 5".
                padded = Box(box.left - LABEL_GAP, box.top, box.right + LABEL_GAP, box.bottom)
                if box.inside(area) and not any(padded.overlaps(other) for other in taken):
                    leader = None if radius <= 12.0 else _nearest_edge(box, (x, y))
                    spot = PlacedLabel(value, lx, ly, anchor, box, (x, y), leader)
                    break
            if spot is not None:
                break
        if spot is None:  # the plot is full: the label goes below it, in rows, still joined to its point
            if cursor is None or cursor + text_width(value, _SMALL) > area.right:
                overflow += _SMALL * 1.4
                cursor = area.left
            box = text_box(cursor, overflow, value, _SMALL)
            spot = PlacedLabel(value, cursor, overflow, "start", box, (x, y), _nearest_edge(box, (x, y)))
            cursor = box.right + _SMALL
        placed.append(spot)
        taken.append(spot.box)
    return placed


def _nearest_edge(box: Box, point: tuple[float, float]) -> tuple[float, float]:
    return (min(max(point[0], box.left), box.right), min(max(point[1], box.top), box.bottom))


def _label_groups(
    rows: Sequence[GapRow],
    rank: dict[str, int],
    x_of: Callable[[float], float],
    y_of: Callable[[float], float],
) -> list[tuple[tuple[float, float], list[int]]]:
    """Top gaps grouped by nearness in drawn coordinates, in rank order; each group is labelled once."""
    groups: list[tuple[tuple[float, float], list[int]]] = []
    for row in sorted(rows, key=lambda r: rank[r.upstream]):
        at = (x_of(row.usage_share), y_of(row.investment_share))
        for anchor, ranks in groups:
            if abs(anchor[0] - at[0]) < QUADRANT_LABEL_DISTANCE and abs(anchor[1] - at[1]) < QUADRANT_LABEL_DISTANCE:
                ranks.append(rank[row.upstream])
                break
        else:
            groups.append((at, [rank[row.upstream]]))
    return groups


# --- bar charts -----------------------------------------------------------------------------------


def top_gaps_chart(rows: Sequence[GapRow], *, currency: str) -> Chart:
    """Recommended yearly amount against what was given, for the top gaps."""
    return _bars(
        "top-gaps",
        "Top gaps: recommended yearly amount and money given",
        [_label(row.upstream, 36) for row in rows],
        [
            ("recommended", [row.recommended_amount for row in rows], _PALETTE[1]),
            ("given", [row.given_amount for row in rows], _PALETTE[0]),
        ],
        axis=f"{currency} per year",
        empty="No under-invested upstream",
    )


def funding_by_channel_chart(totals: Sequence[tuple[str, float]], *, currency: str) -> Chart:
    """Money given in the period per channel."""
    return _bars(
        "funding-by-channel",
        "Funding by channel",
        [_label(channel, 32) for channel, _ in totals],
        [("channels", [amount for _, amount in totals], _PALETTE[2])],
        axis=currency,
        empty="No money given in the period",
    )


def risk_counts_chart(counts: Sequence[tuple[RiskKind, int]]) -> Chart:
    """How many upstreams sit in each risk of the sovereignty register."""
    return _bars(
        "risk-register",
        "Risk register counts",
        [str(kind) for kind, _ in counts],
        [("counts", [float(count) for _, count in counts], _PALETTE[4])],
        axis="upstreams",
        empty="No risk register",
        integer=True,
    )


def _bars(
    prefix: str,
    title: str,
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float], str]],
    *,
    axis: str,
    empty: str,
    integer: bool = False,
) -> Chart:
    """Horizontal bars, one band per label and one bar per series in each band, with a value axis."""
    if not labels:
        return _empty(prefix, title, empty)
    band = 16.0 + 12.0 * len(series)
    legend_height = 22.0 if len(series) > 1 else 8.0
    height = legend_height + band * len(labels) + 44.0
    left = 12.0 + max(text_width(label, _FONT) for label in labels)
    plot = Box(left, legend_height, _WIDTH - 24.0, legend_height + band * len(labels))
    ticks = nice_ticks(max([0.0, *(v for _, values, _ in series for v in values)]), integer=integer)
    svg = Svg(_WIDTH, height, prefix=prefix, font_size=_FONT)

    def x_of(value: float) -> float:
        return plot.left + (plot.right - plot.left) * max(value, 0.0) / ticks[-1]

    for tick in ticks:
        svg.line(x_of(tick), plot.top, x_of(tick), plot.bottom, stroke=_GRID)
        svg.line(x_of(tick), plot.bottom, x_of(tick), plot.bottom + 4, stroke=_INK)
        svg.text(x_of(tick), plot.bottom + 15, _tick(tick), anchor="middle")
    svg.text((plot.left + plot.right) / 2, plot.bottom + 34, axis, anchor="middle")
    bar = (band - 8.0) / len(series)
    names: list[str] = []
    for j, (name, values, colour) in enumerate(series):
        with svg.group(f"series-{name}"):
            for i, value in enumerate(values):
                top = plot.top + band * i + 4.0 + bar * j
                svg.rect(
                    plot.left,
                    top,
                    x_of(value) - plot.left,
                    bar - 1.0,
                    fill=colour,
                    id=f"series-{name}-{i}",
                    title=f"{labels[i]}: {name} {_tick(value)}",
                )
        names.append(name)
    for i, label in enumerate(labels):
        svg.text(plot.left - 6, plot.top + band * (i + 0.5) + 3, label, anchor="end")
    _axes(svg, plot)
    if len(series) > 1:
        _legend(svg, [(name, colour, True) for name, _, colour in series], center=(plot.left + plot.right) / 2, y=12)
    return _chart(svg, prefix, title, names)


def contributions_trend_chart(data: ReviewData) -> Chart:
    """Contributions per kind over the last four quarters, stacked."""
    prefix = "contributions-by-quarter"
    title = "Contributions by kind, last four quarters"
    quarters, kinds = contributions_trend(data)
    if not kinds:
        return _empty(prefix, title, "No contributions in the last four quarters")
    rows_of_legend = math.ceil(len(kinds) / 5)
    height = 240.0 + 16.0 * rows_of_legend + 24.0
    plot = Box(56.0, 12.0, _WIDTH - 16.0, 240.0)
    totals = [sum(counts[i] for counts in kinds.values()) for i in range(len(quarters))]
    ticks = nice_ticks(float(max(totals, default=0)), integer=True)
    svg = Svg(_WIDTH, height, prefix=prefix, font_size=_FONT)

    def y_of(value: float) -> float:
        return plot.bottom - (plot.bottom - plot.top) * value / ticks[-1]

    for tick in ticks:
        svg.line(plot.left, y_of(tick), plot.right, y_of(tick), stroke=_GRID)
        svg.line(plot.left - 4, y_of(tick), plot.left, y_of(tick), stroke=_INK)
        svg.text(plot.left - 7, y_of(tick) + 3, _tick(tick), anchor="end")
    svg.text(16, (plot.top + plot.bottom) / 2, "contributions", anchor="middle", rotate=-90)
    band = (plot.right - plot.left) / len(quarters)
    base = [0.0] * len(quarters)
    series: list[str] = []
    colours: list[tuple[str, str, bool]] = []
    for k, (kind, counts) in enumerate(kinds.items()):
        name = _slug(kind)
        colour = _PALETTE[k % len(_PALETTE)]
        with svg.group(f"series-{name}"):
            for i, count in enumerate(counts):
                svg.rect(
                    plot.left + band * (i + 0.2),
                    y_of(base[i] + count),
                    band * 0.6,
                    y_of(base[i]) - y_of(base[i] + count),
                    fill=colour,
                    id=f"series-{name}-{i}",
                    title=f"{quarters[i]}: {count:,} {kind}",
                )
                base[i] += count
        series.append(name)
        colours.append((kind, colour, True))
    for i, quarter in enumerate(quarters):
        svg.text(plot.left + band * (i + 0.5), plot.bottom + 15, quarter, anchor="middle")
    _axes(svg, plot)
    for line in range(rows_of_legend):
        _legend(
            svg, colours[line * 5 : line * 5 + 5], center=(plot.left + plot.right) / 2, y=plot.bottom + 36 + 16 * line
        )
    return _chart(svg, prefix, title, series)


# --- shared parts ---------------------------------------------------------------------------------


def nice_ticks(high: float, *, count: int = 5, integer: bool = False) -> list[float]:
    """Ticks from 0 to at least ``high`` in steps of 1, 2, 2.5 or 5 times a power of ten."""
    high = high if high > 0 else 1.0
    raw = high / count
    magnitude = 10.0 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1.0, 2.0, 2.5, 5.0, 10.0) if m * magnitude >= raw * (1 - 1e-9))
    if integer:
        step = float(max(1, math.ceil(step)))
    steps = math.ceil(high / step - 1e-9)
    return [round(i * step, 10) for i in range(steps + 1)]


def _axes(svg: Svg, plot: Box) -> None:
    svg.line(plot.left, plot.top, plot.left, plot.bottom, stroke=_INK)
    svg.line(plot.left, plot.bottom, plot.right, plot.bottom, stroke=_INK)


def _legend(svg: Svg, entries: Sequence[tuple[str, str, bool]], *, center: float, y: float) -> None:
    """One line of swatches (squares or dots) and names, centred on ``center``."""
    widths = [14.0 + text_width(name, _SMALL) + 14.0 for name, _, _ in entries]
    x = center - sum(widths) / 2
    with svg.group("legend" if y < 30 else f"legend-{int(y)}"):
        for (name, colour, square), width in zip(entries, widths, strict=True):
            if square:
                svg.rect(x, y - 7, 8, 8, fill=colour)
            else:
                svg.circle(x + 4, y - 3, 3.5, fill=colour)
            svg.text(x + 12, y, name, size=_SMALL)
            x += width


def _empty(prefix: str, title: str, message: str) -> Chart:
    svg = Svg(_WIDTH, 120.0, prefix=prefix, font_size=_FONT)
    svg.text(_WIDTH / 2, 64, message, anchor="middle", fill=_MUTED, size=11.0)
    return _chart(svg, prefix, title, [])


def _percent(share: float) -> str:
    if share == 0:
        return "0"
    percent = share * 100
    return f"{percent:.2f}".rstrip("0").rstrip(".") + " %"


def _tick(value: float) -> str:
    for size, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= size:
            return f"{value / size:.3g}{suffix}"
    return f"{value:.3g}"


def _label(text: str, width: int) -> str:
    """Upstream-controlled text as a plain label: one line, bounded length (the SVG writer escapes it)."""
    text = " ".join(text.split())
    if len(text) > width:
        text = text[: width - 1] + "…"
    return text


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9_]+", "-", text.lower()).strip("-") or "series"


def _chart(svg: Svg, chart_id: str, title: str, series: Sequence[str], note: str = "") -> Chart:
    root = {
        "id": f"chart-{chart_id}",
        "class": "chart",
        "data-chart": chart_id,
        "data-series": " ".join(series),
        "role": "img",
        "aria-labelledby": f"{chart_id}-title",
    }
    return Chart(id=chart_id, title=title, series=tuple(series), svg=svg.render(root=root, title=title), note=note)
