"""Dated reference rates: the ECB feed's format, the rate book's rules, the store's incremental fetch,
and upkeep's converted money against a second sandbox world's truth."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from alembic import command
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel

from bot.config import Secrets, Settings, load_settings
from bot.deliver.inputs import gap_issue_from_score
from bot.deliver.issue_bodies import render_gap_issue
from bot.gaps.interface import Budget, Investment, RepoUse, UpstreamUsage
from bot.gaps.model import compute_gaps
from bot.gaps.weights import load_weights
from bot.pipeline import StageContext
from bot.records import Depth, Scope
from bot.resolve.stage import resolve_stage
from bot.sandbox import (
    SandboxServer,
    World,
    generate_world,
    ledger_csv,
    roster_csv,
    sandbox_environment,
    sandbox_settings,
    truth,
)
from bot.sandbox.ecb import world_rates
from bot.sandbox.gap_inputs import model_inputs
from bot.sources.ecb import HISTORY, RECENT, RatesFeedError, feed_for, fetch_new_days, parse_feed
from bot.sources.evidence_stage import Clients, EvidenceSummary, evidence_stage, gather_rates
from bot.sources.github_sync import sync_stage
from bot.sources.rates import RateBook
from bot.sources.signals_stage import signals_stage
from bot.store.engine import alembic_config, make_engine
from bot.store.gap_inputs import load_investments
from bot.store.rates import load_rates, newest_rate_day
from tests.sandbox_fixtures import RunningSandbox, run_stages

pytest_plugins = ["tests.sandbox_fixtures"]

FEED = b"""<?xml version="1.0" encoding="UTF-8"?>
<gesmes:Envelope xmlns:gesmes="http://www.gesmes.org/xml/2002-08-01" xmlns="http://www.ecb.int/vocabulary/2002-08-01/eurofxref">
\t<gesmes:subject>Reference rates</gesmes:subject>
\t<gesmes:Sender><gesmes:name>European Central Bank</gesmes:name></gesmes:Sender>
\t<Cube>
\t\t<Cube time='2026-03-16'><Cube currency='USD' rate='1.0900'/><Cube currency='GBP' rate='0.85000'/></Cube>
\t\t<Cube time='2026-03-13'><Cube currency='USD' rate='1.0800'/><Cube currency='GBP' rate='0.84000'/></Cube>
\t</Cube>
</gesmes:Envelope>
"""


def test_the_feed_parses_as_the_ecb_writes_it() -> None:
    days = parse_feed(FEED)
    assert days == {
        date(2026, 3, 16): {"USD": Decimal("1.0900"), "GBP": Decimal("0.85000")},
        date(2026, 3, 13): {"USD": Decimal("1.0800"), "GBP": Decimal("0.84000")},
    }


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (b"<html>maintenance</html>", "no <Cube> element"),
        (b"not xml", "not XML"),
        (FEED.replace(b"rate='1.0900'", b"rate='n/a'"), "2026-03-16 USD: rate 'n/a' is not a number"),
        (FEED.replace(b"2026-03-13", b"13.03.2026"), "day '13.03.2026' is not a date"),
    ],
)
def test_a_broken_feed_is_an_error_naming_what_is_wrong(text: bytes, message: str) -> None:
    with pytest.raises(RatesFeedError, match=message.replace("(", r"\(").replace("<", "<")):
        parse_feed(text, source="feed.xml")


def test_each_payment_converts_at_its_own_dated_rate_or_the_nearest_earlier_day() -> None:
    book = RateBook("USD", {}, parse_feed(FEED))
    monday = book.convert(Decimal("100"), "EUR", date(2026, 3, 16))
    assert (monday.converted, monday.rate, monday.rate_day, monday.source) == (
        Decimal("109.00"),
        Decimal("1.09"),
        date(2026, 3, 16),
        "ECB",
    )
    saturday = book.convert(Decimal("100"), "EUR", date(2026, 3, 14))  # no rate on a weekend: Friday's
    assert (saturday.converted, saturday.rate_day) == (Decimal("108.00"), date(2026, 3, 13))
    cross = book.convert(Decimal("85"), "GBP", date(2026, 3, 16))  # through the euro: 1.09 / 0.85
    assert cross.converted == Decimal("109.00") and cross.rate == Decimal("1.282353")
    assert book.convert(Decimal("5"), "USD", date(2020, 1, 1)).converted == Decimal("5")  # no rate needed
    before = book.convert(Decimal("5000"), "EUR", date(2026, 3, 12))
    assert before.converted is None and before.text() == "5,000.00 EUR not converted: no rate for 2026-03-12"
    stale = book.convert(Decimal("5000"), "EUR", date(2026, 3, 24))  # more than 7 days after the last rate
    assert stale.text() == "5,000.00 EUR not converted: no rate for 2026-03-24"
    unpublished = book.convert(Decimal("10"), "ARS", date(2026, 3, 16))
    assert unpublished.reason == "no rate for ARS: the ECB does not publish it; set it in funding.rates"


def test_funding_rates_override_the_ecb_for_every_date() -> None:
    book = RateBook("USD", {"EUR": 1.2, "ARS": 0.001}, parse_feed(FEED))
    eur = book.convert(Decimal("100"), "EUR", date(2026, 3, 16))
    assert (eur.converted, eur.source, eur.rate_day) == (Decimal("120.00"), "funding.rates", None)
    assert book.convert(Decimal("1000"), "ARS", date(1999, 1, 1)).converted == Decimal("1.00")


def test_a_euro_reporting_currency_divides_by_the_ecb_rate() -> None:
    book = RateBook("EUR", {}, parse_feed(FEED))
    assert book.convert(Decimal("109"), "USD", date(2026, 3, 17)).converted == Decimal("100.00")


def test_the_store_fetches_the_history_once_then_only_new_days(sandbox: RunningSandbox, tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    settings = load_settings(None, overrides=sandbox.settings)
    clients = Clients(github=None, ecb=httpx.Client())  # type: ignore[arg-type]
    last = max(world_rates(sandbox.world))
    summary = EvidenceSummary()
    gather_rates(engine, settings, clients, summary, datetime.combine(last, datetime.min.time(), UTC))
    with Session(engine) as session:
        stored = load_rates(session)
        assert newest_rate_day(session) == last
    assert stored == world_rates(sandbox.world) and summary.rate_days_added == len(stored) > 400
    assert [r.path.rsplit("/", 1)[-1] for r in sandbox.router.log] == [HISTORY]
    again = EvidenceSummary()  # the same day: nothing asked
    gather_rates(
        engine, settings, clients, again, datetime.combine(last, datetime.min.time(), UTC) + timedelta(hours=5)
    )
    assert again.rate_days_added == 0 and len(sandbox.router.log) == 1
    later = EvidenceSummary()  # a week on: the ninety-day file, which has no day the store lacks
    gather_rates(engine, settings, clients, later, datetime.combine(last + timedelta(days=7), datetime.min.time(), UTC))
    assert [r.path.rsplit("/", 1)[-1] for r in sandbox.router.log][1:] == [RECENT]
    assert later.rate_days_added == 0 and later.rates_problem is None


def test_a_failing_feed_is_reported_not_fatal(sandbox: RunningSandbox, tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    settings = load_settings(None, overrides={**sandbox.settings, "funding.ecb_url": f"{sandbox.base_url}/ecb/nowhere"})
    summary = EvidenceSummary()
    gather_rates(engine, settings, Clients(github=None, ecb=httpx.Client()), summary, sandbox.world.now)  # type: ignore[arg-type]
    assert summary.rates_problem is not None and "HTTP 404" in summary.rates_problem
    assert feed_for(None, date(2026, 1, 1)) == HISTORY and feed_for(date(2025, 12, 31), date(2026, 1, 1)) == RECENT
    with pytest.raises(RatesFeedError, match="HTTP 404"):
        fetch_new_days(httpx.Client(), f"{sandbox.base_url}/ecb/x", newest_stored=None, today=date(2026, 1, 1))


def _engine(tmp_path: Path) -> Engine:
    engine = make_engine(f"sqlite:///{tmp_path / 'store.db'}")
    SQLModel.metadata.create_all(engine)
    command.stamp(alembic_config(engine), "head")
    return engine


@pytest.fixture(scope="module")
def other_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Engine, Settings, World]]:
    """Seed 11 run through every stage up to evidence, against its own sandbox server."""
    world = generate_world(11, "small")
    tmp = tmp_path_factory.mktemp("seed11")
    (tmp / "roster.csv").write_text(roster_csv(world), encoding="utf-8")
    (tmp / "ledger.csv").write_text(ledger_csv(world), encoding="utf-8")
    with SandboxServer(world) as server:
        db_url = f"sqlite:///{tmp / 'store.db'}"
        overrides = {
            **sandbox_settings(server.base_url, world),
            "database.url": db_url,
            "people.roster_csv": str(tmp / "roster.csv"),
            "funding.ledger_csv": str(tmp / "ledger.csv"),
        }
        settings = load_settings(None, overrides=overrides)
        engine = _engine(tmp)
        context = StageContext(settings, Secrets.from_environment(sandbox_environment(world)), engine, world.now)
        run_stages(context, sync_stage, resolve_stage, signals_stage, evidence_stage)
        yield engine, settings, world
        engine.dispose()


def test_investment_per_upstream_equals_the_truth_at_dated_rates_on_another_seed(
    other_world: tuple[Engine, Settings, World],
) -> None:
    engine, settings, world = other_world
    now = world.now
    window = {"window_start": now - timedelta(days=365), "window_end": now}
    got = {i.upstream: dict(i.money) for i in load_investments(engine, settings, **window) if i.money}
    # as upkeep is configured: forks and archived repositories are not synced, so only what the rest use counts
    counted = replace(world, internal_repos=[r for r in world.internal_repos if not r.fork and not r.archived])
    usages, investments, _ = model_inputs(counted, scored_only=False)
    used = {u.upstream for u in usages}
    want = {i.upstream: dict(i.money) for i in investments if i.money and i.upstream in used}
    assert set(got) == set(want)
    for key, money in want.items():
        assert got[key] == pytest.approx(money, abs=0.005), key
    eur = truth(world)["money"]
    assert any("EUR" in channels for per in eur.values() for channels in per.values()), "no euro payment to convert"


def test_the_gap_issue_says_what_money_was_not_counted_and_why() -> None:
    investment = Investment("github.com/acme/a", {}, {}, ("ledger 5,000.00 EUR not converted: no rate for 2026-03-17",))
    usage = UpstreamUsage("github.com/acme/a", (RepoUse("acme/web", Depth.DIRECT, Scope.RUNTIME),))
    budget = Budget(1000.0, "USD", "configured", window_days=365)
    (score,) = compute_gaps([usage], [investment], [], load_weights(), budget=budget)
    money = next(t for t in score.terms if t.name == "money")
    assert money.text() == (
        "money 0 = no money 0  (in the window; left out: ledger 5,000.00 EUR not converted: no rate for 2026-03-17)"
    )
    data = gap_issue_from_score(score, currency="USD")
    body = render_gap_issue(data, organisation="acme", labels=["upkeep"])["body"]
    assert '| Not counted in "given" | ledger 5,000.00 EUR not converted: no rate for 2026-03-17 |' in body
