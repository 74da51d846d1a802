"""On the sandbox world, the model names the upstreams the world built to be under-invested.

The inputs come from the world's own truth (``bot.sandbox.truth``), not from the pipeline, so this
checks the model alone: usage from the internal repositories' dependency graphs, contributions of
the people who count, money in the trailing twelve months, and the signals the world designed.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import pytest

from bot.gaps.interface import ContributionKind, Investment, LicenceDrift, RepoUse, RiskSignals, UpstreamUsage
from bot.gaps.model import compute_budget, compute_gaps
from bot.gaps.weights import load_weights, parse_weights
from bot.records import Depth, Scope
from bot.sandbox.generate import generate_world
from bot.sandbox.model import World
from bot.sandbox.truth import truth

RATES = {"USD": 1.0, "EUR": 1.1}  # the test's reporting-currency rates


def model_inputs(world: World) -> tuple[list[UpstreamUsage], list[Investment], list[RiskSignals]]:
    facts: dict[str, Any] = truth(world)
    upstream_of = {p.package_key: p.true_upstream for p in world.packages}
    uses: dict[str, list[RepoUse]] = defaultdict(list)
    for repo in world.internal_repos:
        for dep in repo.dependencies:
            key = upstream_of.get(dep.package)
            if key:
                depth = Depth.DIRECT if dep.direct else Depth.TRANSITIVE
                uses[key].append(RepoUse(repo.full_name, depth, Scope(dep.scope)))
    usages = [UpstreamUsage(key, tuple(repos)) for key, repos in sorted(uses.items())]

    counts: dict[str, dict[ContributionKind, int]] = defaultdict(lambda: defaultdict(int))
    for per_upstream in facts["contributions"]["trailing_12_months"].values():
        for key, kinds in per_upstream.items():
            for kind, count in kinds.items():
                counts[key][ContributionKind(kind)] += count
    money: dict[str, dict[str, float]] = defaultdict(dict)
    for key, channels in facts["money"].items():
        for channel, by_currency in channels.items():
            money[key][channel] = sum(cents / 100 * RATES[cur] for cur, cents in by_currency.items())
    investments = [Investment(k, dict(counts.get(k, {})), money.get(k, {})) for k in sorted(set(counts) | set(money))]

    signals = []
    for key, s in facts["signals"].items():
        drift = s["license_drift"][-1] if s["license_drift"] else None
        signals.append(
            RiskSignals(
                key,
                bus_factor=s["bus_factor"],
                active_maintainers=s["active_maintainers"],
                archived=s["archived"],
                asks_for_funding=bool(s["funding_channels"]),
                licence_drift=LicenceDrift(drift["from"], drift["to"]) if drift else None,
                elephant_factor=s["elephant_factor"],
                governance=s["governance"],
            )
        )
    return usages, investments, signals


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
