"""The numbers behind the review's charts and tables, apart from drawing them (no matplotlib here)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from bot.gaps.under_invested import UnderInvestment, rank
from bot.report.interface import GapRow, ReviewData, RiskKind
from bot.report.quarters import Quarter


@dataclass(frozen=True, slots=True)
class Chart:
    """One rendered chart: ``svg`` is an ``<svg>`` element ready to inline in HTML."""

    id: str
    title: str
    series: tuple[str, ...]
    svg: str
    note: str = ""  # e.g. "showing 1,500 of 6,000 upstreams"


def top_gaps(data: ReviewData) -> tuple[GapRow, ...]:
    """The upstreams the review names: the under-invested ones (one definition), highest priority first."""
    definition = UnderInvestment(share=data.gap_threshold, amount=data.amount_threshold)
    return tuple(rank(data.gaps, definition, lambda row: row.recommended_amount)[: data.top_gaps_limit])


def funding_by_channel(data: ReviewData) -> tuple[tuple[str, float], ...]:
    """Money given per channel in the reporting currency, largest first."""
    totals: dict[str, float] = defaultdict(float)
    for payment in data.payments:
        totals[payment.channel] += payment.converted
    return tuple(sorted(totals.items(), key=lambda item: (-item[1], item[0])))


def risk_counts(data: ReviewData) -> tuple[tuple[RiskKind, int], ...]:
    """How many upstreams of the register carry each flag (every kind listed, zeros included)."""
    counts = {kind: 0 for kind in RiskKind}
    for row in data.risks:
        for flag in row.flags:
            counts[flag] += 1
    return tuple(counts.items())


def contributions_trend(data: ReviewData) -> tuple[tuple[str, ...], dict[str, list[int]]]:
    """The last four quarters (oldest first) and, per contribution kind, the count in each."""
    quarters = tuple(str(q) for q in Quarter.parse(data.quarter).last(4))
    index = {q: i for i, q in enumerate(quarters)}
    kinds: dict[str, list[int]] = {}
    for row in data.contributions_by_quarter:
        if row.quarter in index:
            kinds.setdefault(row.kind, [0] * len(quarters))[index[row.quarter]] += row.count
    return quarters, dict(sorted(kinds.items()))
