"""Scoring and rendering time of the quarterly review on the sandbox ``large`` world, and the review's size.

The default mode follows the issue: generate the ``large`` world (6,000 upstreams mapped from packages),
read the gap model's inputs from its truth (:mod:`bot.sandbox.gap_inputs`), score them and store the
snapshot in a fresh SQLite file (:func:`bot.gaps.stage.score_from_inputs`; the model alone is timed
first, the store write is the stage minus that), build the review of the quarter containing
``world.now`` from that store and render it. It prints each step's time, the total against the
10 s target, and the size of every file written. Only the snapshot is stored, so the review's money,
contribution and risk sections are empty; ``--synthetic`` renders a made-up review that fills them.

    .venv/bin/python bench/report.py [--seed 7] [--scale large]
    .venv/bin/python bench/report.py --synthetic [--upstreams 6000] [--runs 3]
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

from sqlmodel import SQLModel

from bot.config import load_settings
from bot.gaps.model import compute_gaps
from bot.gaps.score_stage import load_gap_weights, make_budget
from bot.gaps.stage import score_from_inputs
from bot.report.build import build_review
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
from bot.report.quarters import Quarter
from bot.report.review import render_review
from bot.sandbox.gap_inputs import DEFAULT_RATES, model_inputs
from bot.sandbox.generate import generate_world
from bot.store.engine import make_engine

TARGET_SECONDS = 10.0  # issue 7: scoring and rendering of 6,000 upstreams

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
        RiskRow(key, (rng.choice(list(RiskKind)),), "synthetic signal", usage[i] / total_usage)
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


def world_bench(seed: int, scale: str) -> None:
    """Score, store, build and render the review of ``scale``'s world, timing each step once, cold."""
    started = time.perf_counter()
    world = generate_world(seed, scale)
    generated = time.perf_counter() - started
    started = time.perf_counter()
    usages, investments, signals = model_inputs(world, DEFAULT_RATES)
    read = time.perf_counter() - started
    # the Pledge headcount: the organisation's people, not bots, outsiders or second accounts of someone counted
    developers = sum(1 for person in world.people if person.identity not in {"bot", "outsider", "extra-login"})
    print(
        f"report bench: sandbox world {scale!r} seed {seed}: generated in {generated:.2f} s, model inputs read "
        f"from its truth in {read:.2f} s ({len(usages):,} used upstreams, {len(investments):,} invested in, "
        f"{len(signals):,} with signals)"
    )
    with tempfile.TemporaryDirectory() as tmp:
        database = Path(tmp) / "bench.db"
        engine = make_engine(f"sqlite:///{database}")
        SQLModel.metadata.create_all(engine)
        settings = load_settings(
            None,
            overrides={
                "organisation": f"Sandbox {scale} world",
                "gaps.developers": developers,
                "funding.rates": dict(DEFAULT_RATES),
            },
        )
        weights = load_gap_weights(settings)
        budget, _ = make_budget(engine, settings, world.now)

        started = time.perf_counter()
        scores = compute_gaps(usages, investments, signals, weights, budget=budget)
        scoring = time.perf_counter() - started
        started = time.perf_counter()
        score_from_inputs(engine, usages, investments, signals, weights, budget, world.now)
        stage = time.perf_counter() - started
        storing = max(stage - scoring, 0.0)

        quarter = Quarter.of(world.now.date())
        started = time.perf_counter()
        data = build_review(engine, settings, quarter=quarter, now=world.now)
        building = time.perf_counter() - started
        started = time.perf_counter()
        files = render_review(data, Path(tmp) / "review")
        rendering = time.perf_counter() - started
        engine.dispose()
        sizes = {path.name: path.stat().st_size for path in sorted(files.markdown.parent.iterdir())}
        database_size = database.stat().st_size

    total = stage + building + rendering
    verdict = "met" if total < TARGET_SECONDS else "NOT met"
    _line("upstreams scored", f"{len(scores):,}", f"budget {budget.yearly_amount:,.0f} {budget.currency}")
    _line("scoring (compute_gaps)", f"{scoring:.2f} s")
    _line("store (snapshot write)", f"{storing:.2f} s", f"score_from_inputs {stage:.2f} s minus scoring")
    _line(f"build_review {quarter}", f"{building:.2f} s", f"{len(data.gaps):,} gap rows")
    _line("render_review", f"{rendering:.2f} s", _quadrant(len(data.gaps)))
    _line("total", f"{total:.2f} s", f"target < {TARGET_SECONDS:.0f} s: {verdict}")
    for name in ("review.html", "review.json", *(n for n in sizes if n not in {"review.html", "review.json"})):
        _line(name, f"{sizes[name] / 1024:,.1f} KiB")
    _line("store (SQLite file)", f"{database_size / 1024:,.1f} KiB")


def _line(label: str, value: str, note: str = "") -> None:
    print(f"  {label + ':':<25} {value:>12}" + (f"  ({note})" if note else ""))


def _quadrant(upstreams: int) -> str:
    if upstreams > QUADRANT_MAX_POINTS:
        return f"{upstreams:,} upstreams as density squares (dots up to {QUADRANT_MAX_POINTS:,})"
    return f"{upstreams:,} dots"


def synthetic_bench(upstreams: int, runs: int) -> None:
    """Render a synthetic review (money, contributions and risks filled in) ``runs`` times after a warm-up."""
    started = time.perf_counter()
    data = synthetic_review(upstreams)
    built = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as tmp:
        render_review(data, Path(tmp) / "warm-up")
        totals, charts = [], []
        for run in range(runs):
            started = time.perf_counter()
            render_charts(data)
            charts.append(time.perf_counter() - started)
            started = time.perf_counter()
            files = render_review(data, Path(tmp) / f"run-{run}")
            totals.append(time.perf_counter() - started)
        sizes = {path.name: path.stat().st_size for path in sorted(files.markdown.parent.iterdir())}

    print(
        f"report bench (synthetic): {upstreams:,} upstreams, {len(data.payments):,} payments, "
        f"{len(data.contributions):,} contribution rows, {len(data.risks):,} risks "
        f"(synthetic data built in {built:.2f} s)"
    )
    print(f"  quadrant: {_quadrant(upstreams)}")
    print(f"  render_review: best {min(totals):.2f} s, median {statistics.median(totals):.2f} s over {runs} runs")
    print(f"  of which charts: best {min(charts):.2f} s, median {statistics.median(charts):.2f} s")
    for name, size in sizes.items():
        print(f"  {name:<18} {size / 1024:>9,.1f} KiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seed", type=int, default=7, help="the sandbox world's seed")
    parser.add_argument("--scale", choices=("small", "large"), default="large", help="the sandbox world's size")
    parser.add_argument("--synthetic", action="store_true", help="render a synthetic review instead of the world's")
    parser.add_argument("--upstreams", type=int, default=6000, help="synthetic mode: upstreams in the review")
    parser.add_argument("--runs", type=int, default=3, help="synthetic mode: timed renderings")
    args = parser.parse_args()
    if args.synthetic:
        synthetic_bench(args.upstreams, args.runs)
    else:
        world_bench(args.seed, args.scale)


if __name__ == "__main__":
    main()
