"""The store-side wiring on small hand-made stores: investments, risk signals, budget, and the review's parts."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from bot.config import Settings, load_settings
from bot.deliver.inputs import gap_issue_from_score
from bot.deliver.issue_bodies import render_gap_issue
from bot.gaps.interface import Budget, ContributionKind, GapError, Investment, LicenceDrift, RepoUse, UpstreamUsage
from bot.gaps.score_stage import load_gap_weights, make_budget
from bot.gaps.stage import score_from_inputs
from bot.inventory.ingest import ingest_paths
from bot.report.build import build_review
from bot.report.interface import RiskKind
from bot.sources.money import Payment
from bot.sources.people import Identity
from bot.store.engine import session_scope
from bot.store.evidence import replace_payments, save_identities, save_segment
from bot.store.gap_inputs import count_people, load_investment_inputs, load_risk_signals
from bot.store.gaps import load_scores
from bot.store.review import load_unresolved, load_upstream_teams
from bot.store.tables import LicenceDriftRow, PackageResolutionRow, RepositoryRow, SignalScanRow, UpstreamSignalRow
from bot.store.usage import load_upstream_usages

SBOM = Path(__file__).parent / "data" / "sboms" / "cdx-1.6-pypi_cyclonedx-py-environment.json"
NOW = datetime(2026, 10, 2, 8, 0, tzinfo=UTC)
A, B, ELSEWHERE = "github.com/arrow-py/arrow", "github.com/python-attrs/attrs", "github.com/someone/else"


def settings(**overrides: object) -> Settings:
    return load_settings(None, overrides={"funding.rates": {"USD": 1.0, "EUR": 1.1}, **overrides})


def seed_inventory(engine: Engine) -> None:
    """The same real SBOM in two repositories (one with a team); arrow and attrs resolved, idna not."""
    ingest_paths(engine, [SBOM], repo="acme/web")
    ingest_paths(engine, [SBOM], repo="acme/data")
    with session_scope(engine) as session:
        web = session.exec(select(RepositoryRow).where(RepositoryRow.full_name == "acme/web")).one()
        web.team = "web"
        session.add(web)
        session.add(PackageResolutionRow(package_key="pypi/arrow", status="resolved", upstream_key=A))
        session.add(PackageResolutionRow(package_key="pypi/attrs", status="override", upstream_key=B))
        session.add(PackageResolutionRow(package_key="pypi/idna", status="unresolved", reason="no repository link"))
        session.add(PackageResolutionRow(package_key="pypi/fqdn", status="retry"))


def seed_evidence(engine: Engine) -> None:
    with session_scope(engine) as session:
        save_identities(
            session,
            [
                Identity("alice", "alice", "member", "acme"),
                Identity("bob", "bob", "roster", "roster.csv:3", valid_until=date(2026, 6, 30)),
            ],
            now=NOW,
            members_listed=True,
        )
        day = NOW - timedelta(days=10)
        save_segment(
            session,
            account="alice",
            segment_start=datetime(2026, 7, 1, tzinfo=UTC),
            segment_end=datetime(2026, 10, 1, tzinfo=UTC),
            fetched_until=datetime(2026, 10, 1, tzinfo=UTC),
            counts={
                (A, "pr_merged", day): 2,
                (A, "review", day): 3,
                (ELSEWHERE, "commit", day): 9,
                (A, "discussion", day): 1,
            },
        )
        save_segment(
            session,
            account="bob",
            segment_start=datetime(2025, 1, 1, tzinfo=UTC),
            segment_end=datetime(2025, 4, 1, tzinfo=UTC),
            fetched_until=datetime(2025, 4, 1, tzinfo=UTC),
            counts={(A, "commit", datetime(2025, 2, 1, tzinfo=UTC)): 5},  # outside the trailing year
        )
        paid = NOW - timedelta(days=40)
        replace_payments(
            session,
            "ledger",
            [
                Payment("ledger", "pair", paid, Decimal("100"), "USD", (A, B), subchannel="tidelift"),
                Payment("ledger", A, paid, Decimal("10"), "EUR", (A,), subchannel="thanks.dev"),
                Payment("ledger", A, paid, Decimal("5"), "GBP", (A,), subchannel="invoice"),
                Payment("ledger", "a foundation", paid, Decimal("70"), "USD", ()),
            ],
            now=NOW,
        )


def test_investments_count_used_upstreams_only_with_money_converted(engine: Engine) -> None:
    seed_inventory(engine)
    seed_evidence(engine)
    inputs = load_investment_inputs(engine, settings(), window_start=NOW - timedelta(days=365), window_end=NOW)
    by_key = {i.upstream: i for i in inputs.investments}
    assert set(by_key) == {A, B}  # "else" is not an upstream of ours; bob's commit is outside the window
    assert dict(by_key[A].contributions) == {ContributionKind.PR_MERGED: 2, ContributionKind.REVIEW: 3}
    assert by_key[A].money == {"ledger": pytest.approx(50.0 + 11.0)}  # half of 100 USD, 10 EUR at 1.1
    assert by_key[B] == Investment(B, {}, {"ledger": 50.0})
    assert inputs.no_rate == ("GBP",) and inputs.unknown_kinds == ("discussion",)
    assert by_key[A].not_converted == (
        "ledger 5.00 GBP not converted: no rate for GBP: no ECB reference rates in the store and none in funding.rates",
    )
    assert inputs.unattributed_payments == 1


def test_risk_signals_take_the_newest_scan_and_only_sovereignty_drift(engine: Engine) -> None:
    with session_scope(engine) as session:
        old, new = SignalScanRow(started_at=NOW - timedelta(days=30)), SignalScanRow(started_at=NOW)
        session.add_all([old, new])
        session.flush()
        assert old.id is not None and new.id is not None
        session.add(UpstreamSignalRow(scan_id=old.id, upstream_key=A, observed_at=NOW, bus_factor=1))
        session.add(
            UpstreamSignalRow(
                scan_id=new.id, upstream_key=A, observed_at=NOW, bus_factor=2, has_sponsors_listing=True,
                governance="company", archived=None,
            )
        )  # fmt: skip
        session.add(
            UpstreamSignalRow(
                scan_id=new.id, upstream_key=B, observed_at=NOW, funding=[{"platform": "tidelift"}],
                governance="unknown", archived=True,
            )
        )  # fmt: skip
        session.add(LicenceDriftRow(upstream_key=A, scan_id=old.id, from_spdx="MIT", to_spdx="BUSL-1.1",
                                    from_class="permissive", to_class="source-available", first_seen_at=NOW,
                                    sovereignty_risk=True))  # fmt: skip
        session.add(LicenceDriftRow(upstream_key=B, scan_id=new.id, from_spdx="MIT", to_spdx="GPL-3.0-only",
                                    from_class="permissive", to_class="copyleft", first_seen_at=NOW))  # fmt: skip
    a, b = load_risk_signals(engine)
    assert (a.upstream, a.bus_factor, a.asks_for_funding, a.governance, a.single_vendor) == (
        A,
        2,
        True,
        "company",
        True,
    )
    assert a.licence_drift == LicenceDrift("MIT", "BUSL-1.1")
    assert (b.archived, b.asks_for_funding, b.governance, b.licence_drift) == (True, True, None, None)


def test_budget_configured_pledge_counted_people_and_converted(engine: Engine) -> None:
    seed_evidence(engine)
    assert count_people(engine, on=NOW.date()) == 1  # bob's roster stay ended in June
    budget, developers = make_budget(engine, settings(), NOW)
    assert (budget.yearly_amount, budget.source, developers.count) == (2000.0, "pledge", 1)
    assert developers.source == "people counted by the evidence stage on 2026-10-02"
    eur = settings(**{"gaps.developers": 10, "funding.reporting_currency": "EUR", "funding.rates": {"USD": 0.9}})
    budget, developers = make_budget(engine, eur, NOW)
    assert (budget.yearly_amount, budget.currency, developers.source) == (
        pytest.approx(18000.0),
        "EUR",
        "gaps.developers",
    )
    fixed, _ = make_budget(engine, settings(**{"gaps.yearly_budget": 5000.0}), NOW)
    assert (fixed.yearly_amount, fixed.source) == (5000.0, "configured")
    with pytest.raises(GapError, match=r"funding\.rates: no rate for USD"):
        make_budget(engine, settings(**{"funding.reporting_currency": "EUR", "funding.rates": {}}), NOW)


def test_teams_and_unresolved_packages(engine: Engine) -> None:
    seed_inventory(engine)
    assert load_upstream_teams(engine) == {A: "web", B: "web"}
    unresolved = {u.package_key: u for u in load_unresolved(engine)}
    assert set(unresolved) == {"pypi/idna", "pypi/fqdn"}
    assert (unresolved["pypi/idna"].reason, unresolved["pypi/idna"].repos) == ("no repository link", 2)
    assert unresolved["pypi/fqdn"].reason == "waiting for a retry"


def _snapshot(engine: Engine, uses: dict[str, int], at: datetime) -> int:
    usages = [UpstreamUsage(k, tuple(RepoUse(f"acme/r{i}") for i in range(n))) for k, n in uses.items()]
    return score_from_inputs(engine, usages, [], [], load_gap_weights(Settings()), Budget(1000.0), at)


def test_review_compares_with_the_snapshot_of_the_previous_quarter(engine: Engine) -> None:
    seed_inventory(engine)
    seed_evidence(engine)
    _snapshot(engine, {A: 1, B: 1}, datetime(2026, 6, 20, tzinfo=UTC))
    current = _snapshot(engine, {A: 3, B: 1, ELSEWHERE: 1}, datetime(2026, 9, 20, tzinfo=UTC))
    _snapshot(engine, {A: 1}, datetime(2026, 10, 1, 1, tzinfo=UTC))  # after the quarter: not used
    data = build_review(engine, settings(), quarter="2026Q3", now=NOW)
    headline = {h.key: h for h in data.headline}
    assert (headline["upstreams"].value, headline["upstreams"].previous) == (3, 2)
    assert headline["money_given"].value == pytest.approx(100 + 11 + 70)  # GBP has no rate
    assert headline["contributions"].value == 5  # alice's pr_merged and review on arrow; kinds without a weight not
    assert f"snapshot {current}" in data.method[0]
    assert data.budget == 1000.0 and len(data.gaps) == 3
    top = data.gaps[0]
    assert top.upstream == A and any(t.startswith("usage ") for t in top.terms)
    assert {(p.upstream, p.channel, p.currency, p.team) for p in data.payments} == {
        (A, "ledger:tidelift", "USD", "web"),
        (B, "ledger:tidelift", "USD", "web"),
        (A, "ledger:thanks.dev", "EUR", "web"),
        (A, "ledger:invoice", "GBP", "web"),  # shown, not converted, with its reason
        ("(no upstream)", "ledger", "USD", None),  # counted in the money given: a row of its own
    }
    # the headline is the sum of its table
    assert headline["money_given"].value == pytest.approx(sum(p.converted for p in data.payments))
    gbp = next(p for p in data.payments if p.currency == "GBP")
    assert (gbp.converted, gbp.unconverted, gbp.rate) == (0.0, 5.0, None)
    assert gbp.note == (
        "5.00 GBP not converted: no rate for GBP: no ECB reference rates in the store and none in funding.rates"
    )
    eur = next(p for p in data.payments if p.currency == "EUR")
    assert (eur.converted, eur.rate, eur.rate_source) == (pytest.approx(11.0), pytest.approx(1.1), "funding.rates")
    assert headline["money_unconverted_gbp"].value == 5.0 and headline["money_unconverted_gbp"].currency == "GBP"
    assert data.teams_mapped and {u.package_key for u in data.unresolved} == {"pypi/idna", "pypi/fqdn"}
    assert [q.quarter for q in data.contributions_by_quarter if q.kind == "review"] == ["2026Q3"]
    assert any("5.00 GBP paid this quarter could not be converted" in line for line in data.method)
    assert data.pledge.developers == 1 and data.pledge.amount == pytest.approx(181.0)


def test_review_register_ranks_risks_by_usage(engine: Engine) -> None:
    _snapshot(engine, {A: 3, B: 1}, datetime(2026, 9, 20, tzinfo=UTC))
    with session_scope(engine) as session:
        scan = SignalScanRow(started_at=NOW)
        session.add(scan)
        session.flush()
        assert scan.id is not None
        session.add(UpstreamSignalRow(scan_id=scan.id, upstream_key=A, observed_at=NOW, bus_factor=1))
        session.add(UpstreamSignalRow(scan_id=scan.id, upstream_key=B, observed_at=NOW, archived=True))
    data = build_review(engine, settings(), quarter="2026Q3", now=NOW)
    assert [(r.flags, r.upstream) for r in data.risks] == [((RiskKind.BUS_FACTOR_1,), A), ((RiskKind.ARCHIVED,), B)]


def test_a_quarter_in_progress_is_to_date_and_compares_with_the_same_span_before(engine: Engine) -> None:
    seed_inventory(engine)
    seed_evidence(engine)  # payments on 2026-08-23, contributions on 2026-09-22: late in 2026Q3
    early = build_review(engine, settings(), quarter="2026Q4", now=NOW)  # 2 October: the second day of 2026Q4
    headline = {h.key: h for h in early.headline}
    assert early.to_date and early.comparison == "2026Q3 to 2026-07-02 (the same first 2 days)"
    assert early.period_end == NOW.date()
    assert headline["money_given"].label == "Money given this quarter to date"
    assert (headline["money_given"].value, headline["money_given"].previous) == (0.0, 0.0)  # not all of 2026Q3
    assert (headline["contributions"].value, headline["contributions"].previous) == (0.0, 0.0)
    last_day = build_review(engine, settings(), quarter="2026Q4", now=datetime(2026, 12, 31, 18, tzinfo=UTC))
    headline = {h.key: h for h in last_day.headline}
    assert last_day.to_date and last_day.comparison == "all of 2026Q3"
    assert headline["money_given"].previous == pytest.approx(100 + 11 + 70)  # the GBP payment has no rate
    assert headline["contributions"].previous == 5.0
    complete = build_review(engine, settings(), quarter="2026Q3", now=NOW)
    assert not complete.to_date and complete.comparison == "2026Q2" and complete.period_end == date(2026, 9, 30)
    assert {h.key: h for h in complete.headline}["money_given"].label == "Money given this quarter"


def test_the_score_summary_names_each_payment_left_out_and_the_real_reason(engine: Engine) -> None:
    from bot.config import Secrets
    from bot.gaps.score_stage import score_stage
    from bot.pipeline import StageContext

    seed_inventory(engine)
    seed_evidence(engine)
    summary = score_stage(StageContext(settings(), Secrets(), engine, NOW))
    reason = "no rate for GBP: no ECB reference rates in the store and none in funding.rates"
    assert summary["not_converted"] == [
        {"upstream": A, "channel": "ledger", "payment": f"5.00 GBP not converted: {reason}", "reason": reason}
    ]
    scores = {s.upstream: s for s in load_scores(engine, snapshot_id=summary["snapshot"])}
    issue = gap_issue_from_score(scores[A], currency="USD")
    assert issue.not_converted == f"ledger 5.00 GBP not converted: {reason}"
    assert (
        f'| Not counted in "given" | ledger 5.00 GBP not converted: {reason} |'
        in render_gap_issue(issue, organisation="acme", labels=())["body"]
    )


def test_usages_read_a_few_rows_at_a_time_are_the_usages(engine: Engine) -> None:
    """One record per resolved upstream, each repository's uses once (the database drops the
    duplicates), the same whether the rows come one at a time or all at once."""
    seed_inventory(engine)
    whole = load_upstream_usages(engine)
    assert [u.upstream for u in whole] == [A, B]  # idna is unresolved, fqdn waits for a retry
    for usage in whole:
        assert {use.repo for use in usage.repos} == {"acme/data", "acme/web"}
        assert len(set(usage.repos)) == len(usage.repos)
        assert {use.team for use in usage.repos if use.repo == "acme/web"} == {"web"}
    assert load_upstream_usages(engine, rows_per_fetch=1) == whole
