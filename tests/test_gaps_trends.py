"""Trends between two snapshots: which gaps opened, which closed, who moved most."""

from __future__ import annotations

from dataclasses import dataclass

from bot.gaps.trends import diff_scores
from bot.gaps.under_invested import UnderInvestment


@dataclass(frozen=True)
class Point:
    upstream: str
    gap: float
    recommended: float = 0.0


BEFORE = [
    Point("github.com/a/stays-open", 0.20, 4000.0),
    Point("github.com/b/closes", 0.05, 1000.0),
    Point("github.com/c/opens", 0.005, 100.0),
    Point("github.com/d/gone", 0.03, 600.0),
    Point("github.com/e/steady", -0.10, 0.0),
]
AFTER = [
    Point("github.com/a/stays-open", 0.12, 2400.0),
    Point("github.com/b/closes", 0.01, 200.0),  # at the threshold: no longer open
    Point("github.com/c/opens", 0.09, 1800.0),
    Point("github.com/e/steady", -0.10, 0.0),
    Point("github.com/f/new", 0.02, 400.0),
]


def test_new_closed_and_movers() -> None:
    diff = diff_scores(BEFORE, AFTER, threshold=UnderInvestment(0.01, 0.0), movers=3)
    # opened: c 0.005 → 0.09 and f (absent → 0.02), largest gap first
    assert [m.upstream for m in diff.new_gaps] == ["github.com/c/opens", "github.com/f/new"]
    assert diff.new_gaps[1].gap_before is None
    # closed: b 0.05 → 0.01 (not above 0.01) and d (0.03 → absent), largest former gap first
    assert [m.upstream for m in diff.closed_gaps] == ["github.com/b/closes", "github.com/d/gone"]
    assert diff.closed_gaps[1].gap_after is None
    # movers by |change|: c +0.085, a −0.08, b −0.04 (d −0.03, f +0.02 and e 0 fall outside the top 3)
    assert [m.upstream for m in diff.movers] == ["github.com/c/opens", "github.com/a/stays-open", "github.com/b/closes"]
    assert diff.movers[0].change == 0.09 - 0.005
    assert diff.movers[1].recommended_before == 4000.0 and diff.movers[1].recommended_after == 2400.0


def test_unchanged_snapshots_have_no_trend() -> None:
    diff = diff_scores(BEFORE, BEFORE, threshold=UnderInvestment(0.01, 0.0))
    assert diff.new_gaps == diff.closed_gaps == diff.movers == ()


def test_first_snapshot_opens_every_gap_above_the_threshold() -> None:
    diff = diff_scores([], AFTER, threshold=UnderInvestment(0.01, 0.0))
    assert [m.upstream for m in diff.new_gaps] == [
        "github.com/a/stays-open",
        "github.com/c/opens",
        "github.com/f/new",
    ]
    assert diff.closed_gaps == ()
