"""The gap model: usage × risk against investment, as a pure function that explains itself.

For each upstream ``i`` (formulas in ``docs/gap-model.md``)::

    usage_i          = Σ over repos using it of  repo weight × depth factor × scope factor   (strongest use per repo)
    usage share_i    = usage_i / Σ_j usage_j
    risk_i           = min(1 + Σ factors of the signals that apply, max_multiplier)
    expected share_i = usage share_i × risk_i / Σ_j (usage share_j × risk_j)
    code share_i     = Σ_kind count × kind weight, over the organisation's total
    money share_i    = money_i / Σ_j money_j
    investment_i     = code weight × code share_i + money weight × money share_i
    gap_i            = expected share_i − investment_i
    priority_i       = max(gap_i, 0) × risk_i
    given_i          = money_i × 365 / window days
    recommended_i    = max(budget × expected share_i − given_i, 0)

Every intermediate number is a :class:`Term` on the score, computed by the same arithmetic that
:meth:`Term.evaluate` repeats, so the explanation and the number cannot disagree.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

from bot.gaps.interface import (
    Budget,
    ContributionKind,
    GapError,
    GapScore,
    Investment,
    Op,
    Operand,
    RepoUse,
    RiskSignals,
    TeamUsage,
    Term,
    UpstreamUsage,
)
from bot.gaps.weights import GapWeights
from bot.gc_pause import cyclic_gc_paused
from bot.records import Depth, Scope

DAYS_PER_YEAR = 365
PLEDGE_PER_DEVELOPER = 2000.0  # Open Source Pledge: USD per developer per year

_DEPTH_ORDER = {Depth.DIRECT: 0, Depth.UNKNOWN: 1, Depth.TRANSITIVE: 2}
_SCOPE_ORDER = {Scope.RUNTIME: 0, Scope.UNKNOWN: 1, Scope.DEVELOPMENT: 2}
_KINDS = tuple(ContributionKind)


def compute_budget(
    *,
    yearly_budget: float | None,
    developers: int | None,
    per_developer: float = PLEDGE_PER_DEVELOPER,
    currency: str = "USD",
    window_days: int = DAYS_PER_YEAR,
) -> Budget:
    """The configured yearly budget, else the Open Source Pledge figure (per developer × developers)."""
    if yearly_budget is not None:
        if yearly_budget < 0:
            raise GapError(f"gaps.yearly_budget: must not be negative (got {yearly_budget})")
        return Budget(yearly_budget, currency, "configured", developers, None, window_days)
    if developers is None:
        raise GapError(
            "gaps: set gaps.yearly_budget, or gaps.developers for the Open Source Pledge figure "
            f"({per_developer:,.0f} per developer per year)"
        )
    return Budget(developers * per_developer, currency, "pledge", developers, per_developer, window_days)


@dataclass(frozen=True, slots=True)
class _Usage:
    weight: float
    repos: int
    terms: tuple[Term, ...]
    by_team: tuple[TeamUsage, ...]


def _strongest(uses: Iterable[RepoUse], weights: GapWeights) -> dict[str, RepoUse]:
    """One use per repository: the highest depth × scope factor (ties: direct, then runtime)."""
    factors = weights.usage

    def rank(u: RepoUse) -> tuple[float, int, int, float]:
        return (
            factors.depth.of(u.depth) * factors.scope.of(u.scope),
            -_DEPTH_ORDER[u.depth],
            -_SCOPE_ORDER[u.scope],
            u.weight if u.weight is not None else factors.default_repo_weight,
        )

    best: dict[str, RepoUse] = {}
    for use in uses:
        current = best.get(use.repo)
        if current is None or rank(use) > rank(current):
            best[use.repo] = use
    return best


def _usage(usage: UpstreamUsage | None, weights: GapWeights) -> _Usage:
    factors = weights.usage
    best = _strongest(usage.repos if usage else (), weights)
    groups: Counter[tuple[Depth, Scope, float]] = Counter()
    teams: dict[str | None, list[float]] = {}
    for use in best.values():
        weight = use.weight if use.weight is not None else factors.default_repo_weight
        groups[(use.depth, use.scope, weight)] += 1
        teams.setdefault(use.team, []).append(weight * factors.depth.of(use.depth) * factors.scope.of(use.scope))
    by_team = tuple(
        sorted(
            (TeamUsage(team, math.fsum(parts), len(parts)) for team, parts in teams.items()),
            key=lambda t: (t.team is None, -t.usage, t.team or ""),
        )
    )
    terms: list[Term] = []
    for depth, scope, weight in sorted(groups, key=lambda g: (_DEPTH_ORDER[g[0]], _SCOPE_ORDER[g[1]], -g[2])):
        count = groups[(depth, scope, weight)]
        operands = (
            Operand("repos" if count != 1 else "repo", float(count), is_count=True),
            Operand("weight", weight),
            Operand(depth.value, factors.depth.of(depth)),
            Operand(scope.value, factors.scope.of(scope)),
        )
        name = f"usage[{depth.value}/{scope.value}/weight {weight:.12g}]"
        terms.append(Term(name, math.prod(o.value for o in operands), Op.PRODUCT, operands))
    parts = tuple(Operand(t.name, t.value, ref=t.name) for t in terms) or (Operand("no repositories", 0.0),)
    total = Term("usage", math.fsum(o.value for o in parts), Op.SUM, parts)
    return _Usage(total.value, len(best), (*terms, total), by_team)


def _code(investment: Investment | None, weights: GapWeights) -> tuple[float, tuple[Term, ...]]:
    counts = investment.contributions if investment else {}
    terms: list[Term] = []
    for kind in _KINDS:
        count = counts.get(kind, 0)
        if count > 0:
            operands = (
                Operand(kind.value, float(count), is_count=True),
                Operand("weight", weights.investment.kinds.of(kind)),
            )
            terms.append(Term(f"code[{kind.value}]", math.prod(o.value for o in operands), Op.PRODUCT, operands))
    parts = tuple(Operand(t.name, t.value, ref=t.name) for t in terms) or (Operand("no contributions", 0.0),)
    total = Term("code", math.fsum(o.value for o in parts), Op.SUM, parts)
    return total.value, (*terms, total)


def _money(investment: Investment | None) -> Term:
    money = investment.money if investment else {}
    parts = tuple(Operand(channel, float(money[channel])) for channel in sorted(money)) or (Operand("no money", 0.0),)
    note = "in the window"
    if investment is not None and investment.not_converted:
        note += "; left out: " + "; ".join(investment.not_converted)
    return Term("money", math.fsum(o.value for o in parts), Op.SUM, parts, note=note)


def _risk(signals: RiskSignals | None, given: float, weights: GapWeights) -> tuple[tuple[str, ...], tuple[Term, ...]]:
    risk = weights.risk
    active: list[tuple[str, float, str]] = []
    if signals is not None:
        if signals.bus_factor is not None and 1 <= signals.bus_factor <= risk.bus_factor.at_most:
            active.append(("bus_factor", risk.bus_factor.factor, f"bus factor {signals.bus_factor}"))
        if signals.active_maintainers == 0:
            active.append(("no_active_maintainers", risk.no_active_maintainers.factor, "no active maintainers"))
        if signals.archived:
            active.append(("archived", risk.archived.factor, "archived"))
        if signals.deprecated:
            active.append(("deprecated", risk.deprecated.factor, "deprecated"))
        income = (signals.known_income or 0.0) + given
        if signals.asks_for_funding and income < risk.unfunded.below:
            active.append(("unfunded", risk.unfunded.factor, f"asks for funding, income {income:,.2f} known"))
        if signals.licence_drift is not None:
            drift = signals.licence_drift
            active.append(
                ("licence_drift", risk.licence_drift.factor, f"licence {drift.from_licence} → {drift.to_licence}")
            )
        if signals.single_vendor:
            whys = []
            if signals.company_does_the_work:
                whys.append("one company does most of the work (elephant factor 1)")
            if signals.company_controls:
                how = "company governance" if signals.governance == "company" else "its CLA"
                whys.append(f"one company controls it ({how})")
            active.append(("single_vendor", risk.single_vendor.factor, "; ".join(whys)))
        if signals.relicensable:
            active.append(("relicensable", risk.relicensable.factor, "a CLA gives that vendor the right to relicense"))
    active = [a for a in active if a[1] > 0]
    parts = (Operand("base", 1.0), *(Operand(name, factor) for name, factor, _ in active))
    note = "; ".join(why for _, _, why in active) or "no risk signal"
    raw = Term("risk before cap", math.fsum(o.value for o in parts), Op.SUM, parts, note=note)
    capped_parts = (Operand("risk before cap", raw.value, ref=raw.name), Operand("cap", risk.max_multiplier))
    capped = Term("risk", min(o.value for o in capped_parts), Op.MIN, capped_parts)
    return tuple(name for name, _, _ in active), (raw, capped)


class _Named(Protocol):
    @property
    def upstream(self) -> str: ...


_R = TypeVar("_R", bound=_Named)


def _index(records: Iterable[_R], kind: str) -> dict[str, _R]:
    out: dict[str, _R] = {}
    for record in records:
        key = record.upstream
        if key in out:
            raise GapError(f"{key}: two {kind} records for the same upstream")
        out[key] = record
    return out


def _check_investment(investment: Investment) -> None:
    """Negative counts or amounts (refunds, typos) would make shares meaningless; refuse them by name."""
    for kind, count in investment.contributions.items():
        if count < 0:
            raise GapError(f"{investment.upstream}: {kind} contributions must not be negative (got {count})")
    for channel, amount in investment.money.items():
        if not amount >= 0:  # also refuses NaN
            raise GapError(f"{investment.upstream}: money from {channel} must not be negative (got {amount})")


class _Terms:
    """An upstream's terms in order, addressable by name, so later terms can cite earlier ones."""

    def __init__(self, terms: Iterable[Term] = ()) -> None:
        self.by_name: dict[str, Term] = {}
        self._refs: dict[str, Operand] = {}
        self.extend(terms)

    def __getitem__(self, name: str) -> Term:
        return self.by_name[name]

    def add(self, term: Term) -> Term:
        self.by_name[term.name] = term
        return term

    def extend(self, terms: Iterable[Term]) -> None:
        for term in terms:
            self.by_name[term.name] = term

    def ref(self, name: str) -> Operand:
        """An operand citing term ``name``; one shared object per term (thousands of upstreams add up)."""
        operand = self._refs.get(name)
        if operand is None:
            operand = self._refs[name] = Operand(name, self.by_name[name].value, name)
        return operand

    def product(self, name: str, parts: tuple[Operand, ...], note: str = "") -> Term:
        return self.add(Term(name, math.prod(o.value for o in parts), Op.PRODUCT, parts, note))


def _ratio(name: str, numerator: Term, label: str, denominator: float) -> Term:
    parts = (Operand(numerator.name, numerator.value, ref=numerator.name), Operand(label, denominator))
    return Term(name, parts[0].value / denominator if denominator else 0.0, Op.RATIO, parts)


def compute_gaps(
    usages: Sequence[UpstreamUsage],
    investments: Sequence[Investment],
    signals: Sequence[RiskSignals],
    weights: GapWeights,
    *,
    budget: Budget,
) -> list[GapScore]:
    """Score every upstream that is used or received something; pure and deterministic.

    The result is ordered by gap (largest first), then by upstream key. Signals of upstreams that are
    neither used nor invested in are ignored.
    """
    with cyclic_gc_paused():
        scores = list(iter_gaps(usages, investments, signals, weights, budget=budget))
    scores.sort(key=lambda s: (-s.gap, s.upstream))
    return scores


def iter_gaps(
    usages: Sequence[UpstreamUsage],
    investments: Sequence[Investment],
    signals: Sequence[RiskSignals],
    weights: GapWeights,
    *,
    budget: Budget,
) -> Iterator[GapScore]:
    """:func:`compute_gaps`' scores one at a time, in upstream key order, holding none of them.

    The organisation's totals are summed first from each upstream's numbers alone; each score's terms
    (a few dozen per upstream, most of a score's memory) are built when it is yielded, so a caller
    that stores them as they come holds one score at a time, whatever the number of upstreams. The
    inputs are checked before the first score is yielded."""
    model = _Model(usages, investments, signals, weights, budget)
    return model.scores()


class _Model:
    """The inputs indexed by upstream and the organisation's totals; :meth:`scores` yields each score.

    A term is built from its upstream's inputs and these totals only, so building an upstream's terms
    again gives the same numbers: the totals' passes keep floats, never terms."""

    def __init__(
        self,
        usages: Sequence[UpstreamUsage],
        investments: Sequence[Investment],
        signals: Sequence[RiskSignals],
        weights: GapWeights,
        budget: Budget,
    ) -> None:
        if budget.yearly_amount < 0 or budget.window_days < 1:
            raise GapError(f"budget: amount must be ≥ 0 and window ≥ 1 day (got {budget})")
        self.weights, self.budget = weights, budget
        self.by_usage = _index(usages, "usage")
        self.by_investment = _index(investments, "investment")
        for record in self.by_investment.values():
            _check_investment(record)
        self.by_signals = _index(signals, "risk signals")
        self.keys = sorted(set(self.by_usage) | set(self.by_investment))
        self.year_factor = DAYS_PER_YEAR / budget.window_days
        with cyclic_gc_paused():
            usage_weights, code_scores, money_values = [], [], []
            for key in self.keys:
                investment = self.by_investment.get(key)
                usage_weights.append(_usage(self.by_usage.get(key), weights).weight)
                code_scores.append(_code(investment, weights)[0])
                money_values.append(_money(investment).value)
            self.usage_total = math.fsum(usage_weights)
            self.code_total = math.fsum(code_scores)
            self.money_total = math.fsum(money_values)
        if self.code_total > 0 and self.money_total > 0:
            self.code_weight, self.money_weight, self.blend_note = weights.investment.code, weights.investment.money, ""
        elif self.code_total > 0:
            self.code_weight, self.money_weight = 1.0, 0.0
            self.blend_note = "the organisation gave no money: code counts fully"
        elif self.money_total > 0:
            self.code_weight, self.money_weight = 0.0, 1.0
            self.blend_note = "the organisation made no contributions: money counts fully"
        else:
            self.code_weight, self.money_weight = 0.0, 0.0
            self.blend_note = "the organisation gave neither code nor money"
        with cyclic_gc_paused():
            self.weighted_total = math.fsum(self._first(key)[0]["usage × risk"].value for key in self.keys)

    def _first(self, key: str) -> tuple[_Terms, tuple[str, ...], _Usage, float]:
        """The terms that need only this upstream's inputs and the organisation's totals; its risk
        signals' names, its usage and its code score."""
        investment = self.by_investment.get(key)
        usage = _usage(self.by_usage.get(key), self.weights)
        code_score, code_terms = _code(investment, self.weights)
        terms = _Terms(usage.terms)
        usage_share = terms.add(_ratio("usage share", terms["usage"], "all upstreams", self.usage_total))
        terms.extend(code_terms)
        terms.add(_money(investment))
        given = terms.product("given", (terms.ref("money"), Operand("year ÷ window", self.year_factor)), "per year")
        names, risk_terms = _risk(self.by_signals.get(key), given.value, self.weights)
        terms.extend(risk_terms)
        terms.product("usage × risk", (terms.ref(usage_share.name), terms.ref("risk")))
        return terms, names, usage, code_score

    def scores(self) -> Iterator[GapScore]:
        for key in self.keys:
            with cyclic_gc_paused():
                score = self._score(key)
            yield score

    def _score(self, key: str) -> GapScore:
        """Shares of the weighted total, the blend of investment, the gap and the amount."""
        budget = self.budget
        first, names, usage, code_score = self._first(key)
        terms = _Terms(first.by_name.values())
        expected = terms.add(_ratio("expected share", terms["usage × risk"], "all upstreams", self.weighted_total))
        code_share = terms.add(_ratio("code share", terms["code"], "organisation's code", self.code_total))
        money_share = terms.add(_ratio("money share", terms["money"], "organisation's money", self.money_total))
        terms.product("investment[code]", (Operand("code weight", self.code_weight), terms.ref(code_share.name)))
        terms.product("investment[money]", (Operand("money weight", self.money_weight), terms.ref(money_share.name)))
        parts = (terms.ref("investment[code]"), terms.ref("investment[money]"))
        investment = terms.add(
            Term("investment share", math.fsum(o.value for o in parts), Op.SUM, parts, self.blend_note)
        )
        parts = (terms.ref(expected.name), terms.ref(investment.name))
        gap = terms.add(Term("gap", parts[0].value - parts[1].value, Op.DIFFERENCE, parts))
        parts = (terms.ref(gap.name), Operand("floor", 0.0))
        terms.add(Term("open gap", max(o.value for o in parts), Op.MAX, parts))
        priority = terms.product("priority", (terms.ref("open gap"), terms.ref("risk")))
        fair = (Operand("budget", budget.yearly_amount), terms.ref(expected.name))
        terms.product("fair amount", fair, f"{budget.currency} per year")
        parts = (terms.ref("fair amount"), terms.ref("given"))
        terms.add(Term("shortfall", parts[0].value - parts[1].value, Op.DIFFERENCE, parts))
        parts = (terms.ref("shortfall"), Operand("floor", 0.0))
        recommended = terms.add(
            Term("recommended", max(o.value for o in parts), Op.MAX, parts, f"{budget.currency} per year")
        )
        return GapScore(
            upstream=key,
            repos=usage.repos,
            usage_weight=usage.weight,
            usage_share=terms["usage share"].value,
            risk=terms["risk"].value,
            risk_signals=names,
            expected_share=expected.value,
            code_score=code_score,
            code_share=code_share.value,
            money=terms["money"].value,
            money_share=money_share.value,
            investment_share=investment.value,
            gap=gap.value,
            priority=priority.value,
            given=terms["given"].value,
            recommended=recommended.value,
            terms=tuple(terms.by_name.values()),
            usage_by_team=usage.by_team,
        )
