"""On the sandbox world, the model names the upstreams the world built to be under-invested.

The inputs come from the world's own truth (``bot.sandbox.truth``), not from the pipeline, so this
checks the model alone: usage from the internal repositories' dependency graphs, contributions of
the people who count, money in the trailing twelve months, and the signals the world designed.
"""

from __future__ import annotations

import pytest

from bot.gaps.model import compute_budget, compute_gaps
from bot.gaps.weights import load_weights, parse_weights
from bot.sandbox.gap_inputs import model_inputs
from bot.sandbox.generate import generate_world
from bot.sandbox.truth import truth

# Risk switched off (a cap of 1): the world builds its under-invested upstreams by usage and investment
# only, and its margins are thin (17 of 19 repositories against up to 14.6 for other upstreams), so the
# default risk factors, which may double a score, reorder them. Seed 7 is the world's default seed.
NO_RISK = parse_weights("[risk]\nmax_multiplier = 1.0\n", "no-risk weights")


def test_top_gaps_are_the_under_invested_upstreams_in_order_with_their_amounts() -> None:
    world = generate_world(7, "small")
    budget = compute_budget(yearly_budget=None, developers=30)  # 60,000 USD
    scores = compute_gaps(*model_inputs(world), NO_RISK, budget=budget)
    top = scores[: len(world.under_invested)]
    assert [s.upstream for s in top] == world.under_invested  # in the order of the intended gap
    for score in top:
        # nothing given, so the whole fair share is recommended: budget × usage share (risk 1 everywhere)
        assert score.investment_share == 0.0 and score.given == 0.0
        assert score.recommended == pytest.approx(60000.0 * score.usage_share)
        assert score.recommended > 0
    assert sum(s.term("fair amount").value for s in scores) == pytest.approx(60000.0)


def test_default_weights_name_the_planted_gaps_first() -> None:
    """The world plants its under-invested upstreams as neglected critical projects: heavily used,
    one maintainer, asking for money and getting none. The default model must rank them first."""
    world = generate_world(7, "small")
    budget = compute_budget(yearly_budget=None, developers=30)
    scores = sorted(compute_gaps(*model_inputs(world), load_weights(), budget=budget), key=lambda s: -s.priority)
    assert [s.upstream for s in scores[: len(world.under_invested)]] == world.under_invested
    for score in scores[: len(world.under_invested)]:
        assert {"bus_factor", "unfunded"} <= set(score.risk_signals)
        assert score.recommended == pytest.approx(60000.0 * score.expected_share)


def test_designed_signals_raise_the_risk_of_exactly_their_upstreams() -> None:
    world = generate_world(7, "small")
    facts = truth(world)["signals"]
    scores = compute_gaps(
        *model_inputs(world),
        load_weights("config/gaps.toml"),
        budget=compute_budget(yearly_budget=1.0, developers=None),
    )
    assert sum("archived" in s.risk_signals for s in scores) > 0  # the world archives some upstreams
    assert {s.upstream for s in scores if "bus_factor" in s.risk_signals} == {
        s.upstream for s in scores if facts[s.upstream]["bus_factor"] == 1
    }
    assert {s.upstream for s in scores if "archived" in s.risk_signals} == {
        s.upstream for s in scores if facts[s.upstream]["archived"]
    }
    assert all(s.risk == 1.0 for s in scores if not s.risk_signals)
