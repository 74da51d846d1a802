"""Rendering time and file sizes of the quarterly review for a large organisation.

Builds a synthetic :class:`~bot.report.interface.ReviewData` with 6,000 scored upstreams (the
``large`` sandbox world's size), renders it once to warm matplotlib up and then ``--runs`` times,
and prints the best and median wall time and the size of every file written. Scoring time belongs
to the gap model's benchmark; this one measures the review alone.

    .venv/bin/python bench/report.py [--upstreams 6000] [--runs 3]
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

from bot.report.charts import QUADRANT_MAX_POINTS, render_charts
from bot.report.interface import (
    ContributionRow,
    GapRow,
    Headline,
    PaymentRow,
    PledgeMember,
    PledgeStatus,
    QuarterCount,
    ReviewData,
    RiskKind,
    RiskRow,
    UnresolvedRow,
)
from bot.report.review import render_review

KINDS = ("pr_merged", "review", "issue", "commit")
CHANNELS = ("github-sponsors", "open-collective", "ledger:tidelift", "ledger:thanks.dev")
TEAMS = ("platform", "web", "data", "infra", "mobile", "security")


def synthetic_review(upstreams: int, *, seed: int = 7) -> ReviewData:
    """A large organisation: Zipf-like usage, money and code for a few hundred upstreams."""
    rng = random.Random(seed)
    developers = 900
    budget = 2000.0 * developers
    keys = [f"github.com/org{i % 997}/project-{i}" for i in range(upstreams)]
    usage = [1.0 / (rank + 1) ** 0.9 for rank in range(upstreams)]
    rng.shuffle(usage)
    risk = [rng.choice((1.0, 1.0, 1.0, 1.2, 1.5, 2.0)) for _ in keys]
    given = [rng.uniform(100, 20_000) if rng.random() < 0.05 else 0.0 for _ in keys]
    total_usage, total_given = sum(usage), sum(given)
    weighted = [u * r for u, r in zip(usage, risk, strict=True)]
    total_weighted = sum(weighted)
    gaps = []
    for i, key in enumerate(keys):
        usage_share = usage[i] / total_usage
        expected = weighted[i] / total_weighted
        investment = given[i] / total_given
        gap = expected - investment
        gaps.append(
            GapRow(
                upstream=key,
                usage_share=usage_share,
                expected_share=expected,
                investment_share=investment,
                gap=gap,
                risk=risk[i],
                priority=max(gap, 0.0) * risk[i],
                recommended_amount=max(budget * expected - given[i], 0.0),
                given_amount=given[i],
                terms=(
                    f"usage {usage_share:.4f} = {usage[i]:.3f} / {total_usage:.1f}",
                    f"risk × {risk[i]:.2f}",
                    f"expected {expected:.4f}",
                    f"investment {investment:.4f}",
                ),
                repos=rng.randint(1, 400),
            )
        )
    payments = tuple(
        PaymentRow(key, rng.choice(CHANNELS), amount, "USD", amount, rng.choice(TEAMS))
        for key, amount in zip(keys, given, strict=True)
        if amount > 0
    )
    contributions = tuple(
        ContributionRow(key, kind, rng.randint(1, 40), rng.choice(TEAMS))
        for key in rng.sample(keys, min(upstreams, 600))
        for kind in rng.sample(KINDS, rng.randint(1, 4))
    )
    by_quarter = tuple(
        QuarterCount(q, kind, rng.randint(200, 3000))
        for q in ("2025Q4", "2026Q1", "2026Q2", "2026Q3")
        for kind in KINDS
    )
    risks = tuple(
        RiskRow(rng.choice(list(RiskKind)), key, "synthetic signal", usage[i] / total_usage)
        for i, key in enumerate(keys)
        if rng.random() < 0.03
    )
    return ReviewData(
        organisation="Large Org",
        quarter="2026Q3",
        period_start=date(2026, 7, 1),
        period_end=date(2026, 9, 30),
        currency="USD",
        generated_at=datetime(2026, 10, 1, tzinfo=UTC),
        budget=budget,
        headline=(
            Headline("upstreams", "Upstreams used", upstreams, upstreams - 120),
            Headline("money_given", "Money given this quarter", sum(given), sum(given) * 0.9, "money"),
        ),
        gaps=tuple(gaps),
        risks=risks,
        contributions=contributions,
        payments=payments,
        contributions_by_quarter=by_quarter,
        pledge=PledgeStatus(
            developers=developers,
            amount=sum(given) * 4,
            amount_usd=sum(given) * 4,
            year="2026",
            member=PledgeMember(
                "large-org", "Large Org", "A large organisation.", "Large.", "https://example.com", date(2025, 1, 1)
            ),
        ),
        unresolved=tuple(
            UnresolvedRow(f"npm/internal-{i}", "no repository link", rng.randint(1, 9)) for i in range(300)
        ),
        method=("Synthetic data for the benchmark.",),
        top_gaps_limit=25,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--upstreams", type=int, default=6000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    started = time.perf_counter()
    data = synthetic_review(args.upstreams)
    built = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as tmp:
        render_review(data, Path(tmp) / "warm-up")
        totals, charts = [], []
        for run in range(args.runs):
            started = time.perf_counter()
            render_charts(data)
            charts.append(time.perf_counter() - started)
            started = time.perf_counter()
            files = render_review(data, Path(tmp) / f"run-{run}")
            totals.append(time.perf_counter() - started)
        sizes = {path.name: path.stat().st_size for path in sorted(files.markdown.parent.iterdir())}

    print(
        f"report bench: {args.upstreams:,} upstreams, {len(data.payments):,} payments, "
        f"{len(data.contributions):,} contribution rows, {len(data.risks):,} risks "
        f"(synthetic data built in {built:.2f} s)"
    )
    print(f"  quadrant points drawn: {min(args.upstreams, QUADRANT_MAX_POINTS):,} (cap {QUADRANT_MAX_POINTS:,})")
    print(f"  render_review: best {min(totals):.2f} s, median {statistics.median(totals):.2f} s over {args.runs} runs")
    print(f"  of which charts: best {min(charts):.2f} s, median {statistics.median(charts):.2f} s")
    for name, size in sizes.items():
        print(f"  {name:<18} {size / 1024:>9,.1f} KiB")


if __name__ == "__main__":
    main()
