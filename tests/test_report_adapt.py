"""The gap model's scores and signals as the review shows them."""

from __future__ import annotations

import pytest

from bot.gaps.interface import GapScore, RiskSignals
from bot.gaps.model import compute_budget, compute_gaps
from bot.gaps.weights import load_weights
from bot.report.adapt import gap_row, risk_rows
from bot.report.interface import RiskKind
from tests.test_gaps_model import A, B, C, worked_example


@pytest.fixture(scope="module")
def scored() -> tuple[list[GapScore], list[RiskSignals]]:
    usages, investments, signals = worked_example()
    scores = compute_gaps(
        usages,
        investments,
        signals,
        load_weights("config/gaps.toml"),
        budget=compute_budget(yearly_budget=None, developers=10),
    )
    return scores, signals


def test_a_score_keeps_its_numbers_and_explanation(scored: tuple[list[GapScore], list[RiskSignals]]) -> None:
    scores, _ = scored
    for score in scores:
        row = gap_row(score)
        assert (row.upstream, row.usage_share, row.expected_share, row.investment_share) == (
            score.upstream,
            score.usage_share,
            score.expected_share,
            score.investment_share,
        )
        assert (row.gap, row.risk, row.priority, row.repos) == (score.gap, score.risk, score.priority, score.repos)
        assert row.recommended_amount == score.recommended and row.given_amount == score.given
        assert row.terms == tuple(term.text() for term in score.terms) and row.terms
        assert row.risk_signals == score.risk_signals


def test_signals_become_register_rows_ranked_by_usage(scored: tuple[list[GapScore], list[RiskSignals]]) -> None:
    scores, signals = scored
    shares = {score.upstream: score.usage_share for score in scores}
    rows = risk_rows(signals, shares)
    assert {row.upstream: row.flags for row in rows} == {  # one row per upstream, with all its flags
        A: (RiskKind.BUS_FACTOR_1,),
        C: (RiskKind.LICENCE_DRIFT, RiskKind.ARCHIVED, RiskKind.COMPANY_WORK),
    }
    assert [row.usage_share for row in rows] == sorted((row.usage_share for row in rows), reverse=True)
    c_row = next(row for row in rows if row.upstream == C)
    assert c_row.detail.startswith("MIT → BUSL-1.1; archived; one company makes half of recent commits")
    assert B not in {row.upstream for row in rows}
    assert risk_rows(signals, {}) == ()
