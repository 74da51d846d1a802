"""The gap model: hand-computed expectations, self-consistent explanations, and money never widens a gap."""

from __future__ import annotations

import math
import random
import re
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.gaps.explain import explain
from bot.gaps.interface import (
    Budget,
    ContributionKind,
    GapError,
    GapScore,
    Investment,
    LicenceDrift,
    RepoUse,
    RiskSignals,
    UpstreamUsage,
)
from bot.gaps.model import compute_budget, compute_gaps, iter_gaps
from bot.gaps.weights import GapWeights, load_weights
from bot.records import Depth, Scope

D, T, U = Depth.DIRECT, Depth.TRANSITIVE, Depth.UNKNOWN
RUN, DEV, UNK = Scope.RUNTIME, Scope.DEVELOPMENT, Scope.UNKNOWN
K = ContributionKind
A, B, C = "github.com/acme-oss/parser", "github.com/libs/http", "codeberg.org/tools/lint"
WEIGHTS = load_weights("config/gaps.toml")
BUDGET = compute_budget(yearly_budget=None, developers=10)  # Open Source Pledge: 10 × 2,000 = 20,000 USD


def _uses(prefix: str, n: int, depth: Depth, scope: Scope, weight: float | None = None) -> tuple[RepoUse, ...]:
    return tuple(RepoUse(f"acme/{prefix}{i}", depth, scope, weight) for i in range(n))


def worked_example() -> tuple[list[UpstreamUsage], list[Investment], list[RiskSignals]]:
    """The example of docs/gap-model.md."""
    usages = [
        # A: 4 repos direct runtime (one of them also reaches it transitively: the strongest use counts)
        UpstreamUsage(A, (*_uses("a", 4, D, RUN), RepoUse("acme/a0", T, DEV))),
        # B: 2 repos of weight 2 direct runtime, 1 repo transitive runtime
        UpstreamUsage(B, (*_uses("b", 2, D, RUN, 2.0), *_uses("bt", 1, T, RUN))),
        # C: 5 repos direct development
        UpstreamUsage(C, _uses("c", 5, D, DEV)),
    ]
    investments = [
        Investment(A, {K.PR_MERGED: 2, K.REVIEW: 4, K.ISSUE: 8, K.COMMIT: 8}, {"ledger:invoice": 1000.0}),
        Investment(B, {K.PR_MERGED: 10, K.REVIEW: 20}, {"github-sponsors": 3000.0, "opencollective": 1000.0}),
    ]
    signals = [
        RiskSignals(A, bus_factor=1, active_maintainers=1, asks_for_funding=True),
        RiskSignals(B, bus_factor=4, active_maintainers=6, elephant_factor=3, governance="foundation"),
        RiskSignals(C, archived=True, licence_drift=LicenceDrift("MIT", "BUSL-1.1"), elephant_factor=1),
    ]
    return usages, investments, signals


def by_key(scores: list[GapScore]) -> dict[str, GapScore]:
    return {s.upstream: s for s in scores}


def test_worked_example_by_hand() -> None:
    scores = compute_gaps(*worked_example(), WEIGHTS, budget=BUDGET)
    s = by_key(scores)
    # usage: A = 4 × 1 × direct 1 × runtime 1 = 4; B = 2 × 2 × 1 × 1 + 1 × 1 × transitive 0.5 × 1 = 4.5;
    # C = 5 × 1 × 1 × development 0.3 = 1.5; total 10
    assert [s[k].usage_weight for k in (A, B, C)] == pytest.approx([4.0, 4.5, 1.5])
    assert [s[k].repos for k in (A, B, C)] == [4, 3, 5]
    assert [s[k].usage_share for k in (A, B, C)] == pytest.approx([0.4, 0.45, 0.15])
    # risk: A bus factor 1 → 1 + 0.5; A asks for funding but we gave 1,000 (not below 1,000) → no "unfunded";
    # B none → 1; C archived 0.5 + licence drift 0.5 + single vendor (elephant factor 1) 0.25 → 2.25
    assert [s[k].risk for k in (A, B, C)] == pytest.approx([1.5, 1.0, 2.25])
    assert s[A].risk_signals == ("bus_factor",)
    assert s[C].risk_signals == ("archived", "licence_drift", "single_vendor")
    # usage × risk: 0.6, 0.45, 0.3375 (= 16 : 12 : 9), total 1.3875 → expected 16/37, 12/37, 9/37
    assert [s[k].expected_share for k in (A, B, C)] == pytest.approx([16 / 37, 12 / 37, 9 / 37])
    # code: A = 2 × 3 + 4 × 1.5 + 8 × 0.5 + 8 × 0.5 = 20; B = 10 × 3 + 20 × 1.5 = 60; total 80
    assert [s[k].code_score for k in (A, B, C)] == pytest.approx([20.0, 60.0, 0.0])
    assert [s[k].code_share for k in (A, B, C)] == pytest.approx([0.25, 0.75, 0.0])
    # money: A 1,000, B 3,000 + 1,000 = 4,000; total 5,000 → 0.2, 0.8, 0
    assert [s[k].money_share for k in (A, B, C)] == pytest.approx([0.2, 0.8, 0.0])
    # investment = 0.5 × code share + 0.5 × money share: A 0.225, B 0.775, C 0
    assert [s[k].investment_share for k in (A, B, C)] == pytest.approx([0.225, 0.775, 0.0])
    # gap = expected − investment: A 16/37 − 0.225 ≈ 0.2074, B 12/37 − 0.775 ≈ −0.4507, C 9/37 ≈ 0.2432
    assert [s[k].gap for k in (A, B, C)] == pytest.approx([16 / 37 - 0.225, 12 / 37 - 0.775, 9 / 37])
    assert [x.upstream for x in scores] == [C, A, B]  # largest gap first
    # priority = max(gap, 0) × risk
    assert [s[k].priority for k in (A, B, C)] == pytest.approx([(16 / 37 - 0.225) * 1.5, 0.0, 9 / 37 * 2.25])
    # recommended = 20,000 × expected − given: A 8,648.65 − 1,000; B 6,486.49 − 4,000; C 4,864.86 − 0
    assert [s[k].recommended for k in (A, B, C)] == pytest.approx(
        [20000 * 16 / 37 - 1000, 20000 * 12 / 37 - 4000, 20000 * 9 / 37]
    )
    assert s[A].recommended == pytest.approx(7648.65, abs=0.01)


def test_unfunded_applies_below_the_threshold_and_the_cap_holds() -> None:
    usages = [UpstreamUsage(A, _uses("a", 1, D, RUN))]
    # asks for funding, 400 known elsewhere + 500 from us = 900 < 1,000 → unfunded 0.25;
    # bus factor 1 0.5 + no active maintainers 0.75 + archived 0.5 + deprecated 0.25 + drift 0.5
    # + single vendor 0.25 + unfunded 0.25 = 3.0 → 1 + 3.0 = 4.0, capped at 3.0
    signals = [
        RiskSignals(
            A,
            bus_factor=1,
            active_maintainers=0,
            archived=True,
            deprecated=True,
            asks_for_funding=True,
            known_income=400.0,
            licence_drift=LicenceDrift("Apache-2.0", "SSPL-1.0"),
            governance="company",
        )
    ]
    (score,) = compute_gaps(usages, [Investment(A, money={"x": 500.0})], signals, WEIGHTS, budget=BUDGET)
    assert score.term("risk before cap").value == pytest.approx(4.0)
    assert score.risk == 3.0
    assert "unfunded" in score.risk_signals
    assert len(score.risk_signals) == 7
    # with 600 from us the income reaches 1,000: no longer unfunded → 1 + 2.75 = 3.75, still capped
    (funded,) = compute_gaps(usages, [Investment(A, money={"x": 600.0})], signals, WEIGHTS, budget=BUDGET)
    assert "unfunded" not in funded.risk_signals
    assert funded.term("risk before cap").value == pytest.approx(3.75)


def test_bus_factor_zero_means_no_commits_not_bus_factor_one() -> None:
    usages = [UpstreamUsage(A, _uses("a", 1, D, RUN))]
    signals = [RiskSignals(A, bus_factor=0, active_maintainers=0, elephant_factor=0)]
    (score,) = compute_gaps(usages, [], signals, WEIGHTS, budget=BUDGET)
    # only "no active maintainers" (0.75) applies: 1.75
    assert score.risk_signals == ("no_active_maintainers",)
    assert score.risk == pytest.approx(1.75)


def test_strongest_use_per_repository_and_default_repo_weight() -> None:
    weights = GapWeights.model_validate({"usage": {"default_repo_weight": 0.5}})
    usages = [
        UpstreamUsage(
            A,
            (
                RepoUse("acme/x", T, RUN),  # 0.5 × 1.0 = 0.5
                RepoUse("acme/x", U, UNK),  # 0.75 × 0.75 = 0.5625 ← strongest for acme/x
                RepoUse("acme/x", D, DEV),  # 1.0 × 0.3 = 0.3
                RepoUse("acme/y", D, RUN, 3.0),  # weight 3 × 1 × 1 = 3
            ),
        )
    ]
    (score,) = compute_gaps(usages, [], [], weights, budget=BUDGET)
    # acme/x: default weight 0.5 × 0.5625 = 0.28125; acme/y: 3 → 3.28125
    assert score.repos == 2
    assert score.usage_weight == pytest.approx(0.28125 + 3.0)
    assert score.term("usage[unknown/unknown/weight 0.5]").value == pytest.approx(0.28125)


def test_investment_blend_falls_back_when_the_organisation_gave_no_money() -> None:
    usages = [UpstreamUsage(A, _uses("a", 1, D, RUN)), UpstreamUsage(B, _uses("b", 1, D, RUN))]
    investments = [Investment(A, {K.PR_MERGED: 1}), Investment(B, {K.PR_MERGED: 3})]
    s = by_key(compute_gaps(usages, investments, [], WEIGHTS, budget=BUDGET))
    # no money at all: code counts fully, A = 3 / 12 = 0.25, B = 9 / 12 = 0.75
    assert s[A].investment_share == pytest.approx(0.25)
    assert s[B].investment_share == pytest.approx(0.75)
    assert "no money" in s[A].term("investment share").note
    # neither code nor money: investment 0 everywhere, gap = expected = 0.5
    s = by_key(compute_gaps(usages, [], [], WEIGHTS, budget=BUDGET))
    assert s[A].investment_share == 0.0 and s[A].gap == pytest.approx(0.5)


def test_invested_but_unused_upstream_has_a_negative_gap() -> None:
    usages = [UpstreamUsage(A, _uses("a", 2, D, RUN))]
    s = by_key(compute_gaps(usages, [Investment(B, money={"github-sponsors": 100.0})], [], WEIGHTS, budget=BUDGET))
    assert s[B].usage_share == 0.0 and s[B].repos == 0
    # the organisation made no code contributions, so money counts fully: investment = 1.0 × money share 1.0;
    # expected share 0 (no usage) → gap 0 − 1.0 = −1.0, nothing recommended (fair amount 0 − given 100 < 0)
    assert s[B].investment_share == pytest.approx(1.0)
    assert s[B].gap == pytest.approx(-1.0)
    assert s[B].recommended == 0.0
    assert s[A].gap == pytest.approx(1.0)


def test_window_shorter_than_a_year_scales_money_to_a_year() -> None:
    usages = [UpstreamUsage(A, _uses("a", 1, D, RUN))]
    budget = compute_budget(yearly_budget=10000.0, developers=None, window_days=73)  # a fifth of a year
    (score,) = compute_gaps(usages, [Investment(A, money={"x": 1000.0})], [], WEIGHTS, budget=budget)
    # given = 1,000 × 365 / 73 = 5,000; recommended = 10,000 × 1 − 5,000
    assert score.given == pytest.approx(5000.0)
    assert score.recommended == pytest.approx(5000.0)


def test_budget_rules() -> None:
    assert compute_budget(yearly_budget=None, developers=120) == Budget(240000.0, "USD", "pledge", 120, 2000.0)
    configured = compute_budget(yearly_budget=5000.0, developers=120, currency="EUR")
    assert (configured.yearly_amount, configured.source, configured.currency) == (5000.0, "configured", "EUR")
    with pytest.raises(GapError, match=r"gaps.yearly_budget.*gaps.developers"):
        compute_budget(yearly_budget=None, developers=None)
    with pytest.raises(GapError, match=r"gaps\.yearly_budget: must not be negative"):
        compute_budget(yearly_budget=-1.0, developers=None)


def test_duplicate_inputs_are_named() -> None:
    usage = UpstreamUsage(A, _uses("a", 1, D, RUN))
    with pytest.raises(GapError, match=f"^{re.escape(A)}: two usage records"):
        compute_gaps([usage, usage], [], [], WEIGHTS, budget=BUDGET)


def test_negative_investments_are_named() -> None:
    usage = UpstreamUsage(A, _uses("a", 1, D, RUN))
    with pytest.raises(GapError, match=r"parser: money from ledger must not be negative \(got -5.0\)"):
        compute_gaps([usage], [Investment(A, money={"ledger": -5.0})], [], WEIGHTS, budget=BUDGET)
    with pytest.raises(GapError, match=r"parser: review contributions must not be negative"):
        compute_gaps([usage], [Investment(A, {K.REVIEW: -1})], [], WEIGHTS, budget=BUDGET)


def test_deterministic_whatever_the_input_order() -> None:
    usages, investments, signals = worked_example()
    first = compute_gaps(usages, investments, signals, WEIGHTS, budget=BUDGET)
    rng = random.Random(7)
    for _ in range(5):
        shuffled = [replace(u, repos=tuple(rng.sample(u.repos, len(u.repos)))) for u in usages]
        rng.shuffle(shuffled)
        again = compute_gaps(shuffled, investments[::-1], signals[::-1], WEIGHTS, budget=BUDGET)
        assert again == first


def test_iter_gaps_builds_one_score_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """The streamed scores are compute_gaps' scores in key order, each built only when asked for
    (score's memory bound: the terms of every upstream are never held at once)."""
    import bot.gaps.model as model

    usages, investments, signals = worked_example()
    expected = sorted(compute_gaps(usages, investments, signals, WEIGHTS, budget=BUDGET), key=lambda s: s.upstream)
    built: list[str] = []

    def counting(**fields: object) -> GapScore:
        built.append(str(fields["upstream"]))
        return GapScore(**fields)  # type: ignore[arg-type]

    monkeypatch.setattr(model, "GapScore", counting)
    scores = iter_gaps(usages, investments, signals, WEIGHTS, budget=BUDGET)
    assert built == []  # the totals are summed without building any score
    first = next(scores)
    assert built == [first.upstream] == [expected[0].upstream]
    assert [first, *scores] == expected
    assert built == [s.upstream for s in expected]


def test_iter_gaps_refuses_bad_inputs_before_the_first_score() -> None:
    usage = UpstreamUsage(A, _uses("a", 1, D, RUN))
    with pytest.raises(GapError, match=r"parser: money from ledger must not be negative"):
        iter_gaps([usage], [Investment(A, money={"ledger": -5.0})], [], WEIGHTS, budget=BUDGET)


def assert_terms_reproduce(score: GapScore) -> None:
    """Every term recomputes from its operands; every cited operand equals the cited term; fields equal terms."""
    seen: dict[str, float] = {}
    for term in score.terms:
        assert term.evaluate() == pytest.approx(term.value, rel=1e-12, abs=1e-12), term.text()
        for operand in term.operands:
            if operand.ref is not None:
                assert operand.ref in seen, f"{term.name} cites {operand.ref} before it is computed"
                assert operand.value == seen[operand.ref]
        assert term.name not in seen, f"duplicate term {term.name}"
        seen[term.name] = term.value
    fields = {
        "usage": score.usage_weight,
        "usage share": score.usage_share,
        "risk": score.risk,
        "expected share": score.expected_share,
        "code": score.code_score,
        "code share": score.code_share,
        "money": score.money,
        "money share": score.money_share,
        "investment share": score.investment_share,
        "gap": score.gap,
        "priority": score.priority,
        "given": score.given,
        "recommended": score.recommended,
    }
    for name, value in fields.items():
        assert seen[name] == value, name


def test_every_score_carries_terms_that_reproduce_its_numbers() -> None:
    for score in compute_gaps(*worked_example(), WEIGHTS, budget=BUDGET):
        assert_terms_reproduce(score)


def test_explain_shows_the_arithmetic() -> None:
    s = by_key(compute_gaps(*worked_example(), WEIGHTS, budget=BUDGET))
    text = explain(s[A], currency="USD")
    assert text.splitlines()[0] == A
    assert "usage[direct/runtime/weight 1] 4 = 4 repos × weight 1 × direct 1 × runtime 1" in text
    assert "risk before cap 1.5 = base 1 + bus_factor 0.5  (bus factor 1)" in text
    assert "recommended 7,648.65 = max(shortfall 7,648.65, floor 0)" in text
    assert "risk signals: bus_factor" in text
    assert len(text.splitlines()) == 5 + len(s[A].terms)


# --------------------------------------------------------------------------- properties

_repo = st.sampled_from([f"acme/r{i}" for i in range(6)])
_use = st.builds(
    RepoUse,
    _repo,
    st.sampled_from(list(Depth)),
    st.sampled_from(list(Scope)),
    st.one_of(st.none(), st.sampled_from([0.2, 1.0, 2.5])),
)
_amount = st.floats(min_value=0, max_value=1e6, allow_nan=False, allow_infinity=False)
_counts = st.dictionaries(st.sampled_from(list(ContributionKind)), st.integers(0, 50), max_size=5)
_money = st.dictionaries(st.sampled_from(["github-sponsors", "opencollective", "ledger"]), _amount, max_size=3)
_signal = st.fixed_dictionaries(
    {
        "bus_factor": st.one_of(st.none(), st.integers(0, 5)),
        "active_maintainers": st.one_of(st.none(), st.integers(0, 3)),
        "archived": st.booleans(),
        "asks_for_funding": st.booleans(),
        "known_income": st.one_of(st.none(), _amount),
        "elephant_factor": st.one_of(st.none(), st.integers(0, 3)),
    }
)


@st.composite
def worlds(draw: st.DrawFn) -> tuple[list[UpstreamUsage], list[Investment], list[RiskSignals], Budget]:
    n = draw(st.integers(1, 5))
    keys = [f"github.com/o/p{i}" for i in range(n)]
    usages = [UpstreamUsage(k, tuple(draw(st.lists(_use, max_size=5)))) for k in keys]
    investments = [Investment(k, draw(_counts), draw(_money)) for k in keys if draw(st.booleans())]
    signals = [RiskSignals(k, **draw(_signal)) for k in keys if draw(st.booleans())]
    budget = Budget(draw(_amount), window_days=draw(st.sampled_from([90, 365, 400])))
    return usages, investments, signals, budget


@settings(max_examples=150, deadline=None)
@given(world=worlds(), pick=st.integers(0, 4), gift=st.floats(min_value=0.01, max_value=1e6))
def test_giving_money_never_increases_the_gap_or_the_recommended_amount(
    world: tuple[list[UpstreamUsage], list[Investment], list[RiskSignals], Budget], pick: int, gift: float
) -> None:
    usages, investments, signals, budget = world
    target = usages[pick % len(usages)].upstream
    before = by_key(compute_gaps(usages, investments, signals, WEIGHTS, budget=budget))[target]
    current = next((i for i in investments if i.upstream == target), Investment(target))
    money = dict(current.money)
    money["gift"] = money.get("gift", 0.0) + gift
    others = [i for i in investments if i.upstream != target]
    after_scores = compute_gaps(usages, [*others, replace(current, money=money)], signals, WEIGHTS, budget=budget)
    after = by_key(after_scores)[target]
    assert after.gap <= before.gap + 1e-9
    assert after.recommended <= before.recommended + 1e-6 * max(1.0, budget.yearly_amount)
    assert after.priority <= before.priority + 1e-9
    for score in after_scores:
        assert_terms_reproduce(score)


@settings(max_examples=100, deadline=None)
@given(world=worlds())
def test_expected_shares_share_out_the_whole_budget(
    world: tuple[list[UpstreamUsage], list[Investment], list[RiskSignals], Budget],
) -> None:
    usages, investments, signals, budget = world
    scores = compute_gaps(usages, investments, signals, WEIGHTS, budget=budget)
    if any(s.usage_weight > 0 for s in scores):
        assert math.fsum(s.expected_share for s in scores) == pytest.approx(1.0)
        fair = math.fsum(s.term("fair amount").value for s in scores)
        assert fair == pytest.approx(budget.yearly_amount, rel=1e-9, abs=1e-9)
    assert all(s.recommended >= 0 and 1.0 <= s.risk <= WEIGHTS.risk.max_multiplier for s in scores)
