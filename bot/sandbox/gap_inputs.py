"""The gap model's inputs read straight from a sandbox world's truth, without running the pipeline.

Usage comes from the internal repositories' dependency graphs, investment from the contributions of
the people who count and the money of the trailing twelve months, risk from the signals the world
designed. The model's tests check the model alone on these, the wiring tests compare the store's
inputs with them, and ``bench/report.py`` scores the ``large`` world from them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from bot.gaps.interface import ContributionKind, Investment, LicenceDrift, RepoUse, RiskSignals, UpstreamUsage
from bot.records import Depth, Scope
from bot.sandbox.model import World
from bot.sandbox.truth import truth

#: Fixed units of the reporting currency per unit of each currency the world pays in (as ``[funding.rates]``).
DEFAULT_RATES: Mapping[str, float] = MappingProxyType({"USD": 1.0, "EUR": 1.1})


def model_inputs(
    world: World, rates: Mapping[str, float] | None = None, *, scored_only: bool = True
) -> tuple[list[UpstreamUsage], list[Investment], list[RiskSignals]]:
    """Usages and investments (sorted by upstream) and risk signals of every upstream the world's truth knows;
    money at the world's dated ECB rates (the truth's ``money_converted``), or at fixed ``rates``;
    ``scored_only`` leaves out the organisation's own repositories, as the gap model does by default."""
    facts: dict[str, Any] = truth(world)
    own = set(facts["own_upstreams"]) if scored_only else set()
    usages, investments, signals = _usages(world), _investments(facts, rates), _signals(facts)
    return (
        [u for u in usages if u.upstream not in own],
        [i for i in investments if i.upstream not in own],
        [s for s in signals if s.upstream not in own],
    )


def _usages(world: World) -> list[UpstreamUsage]:
    upstream_of = {p.package_key: p.true_upstream for p in world.packages}
    uses: dict[str, list[RepoUse]] = defaultdict(list)
    for repo in world.internal_repos:
        for dep in repo.dependencies:
            key = upstream_of.get(dep.package)
            if key:
                depth = Depth.DIRECT if dep.direct else Depth.TRANSITIVE
                uses[key].append(RepoUse(repo.full_name, depth, Scope(dep.scope)))
    return [UpstreamUsage(key, tuple(repos)) for key, repos in sorted(uses.items())]


def _investments(facts: dict[str, Any], rates: Mapping[str, float] | None) -> list[Investment]:
    counts: dict[str, dict[ContributionKind, int]] = defaultdict(lambda: defaultdict(int))
    for per_upstream in facts["contributions"]["trailing_12_months"].values():
        for key, kinds in per_upstream.items():
            for kind, count in kinds.items():
                counts[key][ContributionKind(kind)] += count
    money: dict[str, dict[str, float]] = defaultdict(dict)
    if rates is None:
        for key, channels in facts["money_converted"].items():
            money[key] = dict(channels)
    else:
        for key, channels in facts["money"].items():
            for channel, by_currency in channels.items():
                money[key][channel] = sum(cents / 100 * rates[cur] for cur, cents in by_currency.items())
    return [Investment(k, dict(counts.get(k, {})), money.get(k, {})) for k in sorted(set(counts) | set(money))]


def _signals(facts: dict[str, Any]) -> list[RiskSignals]:
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
                # read from the forge: known ("none" too) on GitHub, unobserved elsewhere
                contributor_agreement=(s["contributor_agreement"] or "none") if key.startswith("github.com/") else None,
            )
        )
    return signals
