"""The evidence stage against the served sandbox: its counts and money must equal ``truth(world)``."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel

from bot.config import Secrets, Settings, load_settings
from bot.http import forget_buckets
from bot.sandbox import Knobs, ledger_csv, roster_csv, truth
from bot.sandbox.model import World
from bot.sources.contributions import quarters
from bot.sources.evidence_stage import (
    Clients,
    EvidenceSummary,
    contributions_by_upstream,
    gather_evidence,
    make_clients,
    money_by_upstream,
)
from bot.store import evidence as store
from bot.store.engine import make_engine, session_scope
from bot.store.renames import save_renames
from bot.store.tables import PackageResolutionRow
from tests.sandbox_fixtures import RunningSandbox, run_stages

pytest_plugins = ["tests.sandbox_fixtures"]  # harmless once the lead registers it globally


def seed_resolutions(engine: Engine, world: World) -> None:
    """What the resolve and signals stages find for this world (tested on their own in test_resolve_*,
    test_signals_*): every package at its upstream under its current name, and the renames learnt."""
    with session_scope(engine) as session:
        for package in world.packages:
            session.add(
                PackageResolutionRow(
                    package_key=package.package_key,
                    status="resolved" if package.true_upstream else "unresolved",
                    upstream_key=package.true_upstream,
                )
            )
        save_renames(session, truth(world)["renamed_upstreams"], source="test", now=world.now)


def evidence_settings(sandbox: RunningSandbox, tmp_path: Path, **extra: Any) -> Settings:
    roster = tmp_path / "roster.csv"
    roster.write_text(roster_csv(sandbox.world), encoding="utf-8")
    ledger = tmp_path / "ledger.csv"
    ledger.write_text(ledger_csv(sandbox.world), encoding="utf-8")
    overrides = {**sandbox.settings, "people.roster_csv": str(roster), "funding.ledger_csv": str(ledger), **extra}
    return load_settings(None, overrides=overrides)


def secrets_of(sandbox: RunningSandbox) -> Secrets:
    return Secrets.from_environment(sandbox.environment)


def window(world: World) -> tuple[datetime, datetime]:
    return world.now - timedelta(days=365), world.now


@pytest.fixture(scope="module")
def gathered(
    sandbox_server: RunningSandbox, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Engine, Settings, Clients]]:
    """One full gather per module (about a second), shared by the tests that only read its results."""
    sandbox_server.router.knobs = Knobs()
    tmp_path = tmp_path_factory.mktemp("evidence")
    engine = make_engine(f"sqlite:///{tmp_path / 'store.db'}")
    SQLModel.metadata.create_all(engine)
    seed_resolutions(engine, sandbox_server.world)
    settings = evidence_settings(sandbox_server, tmp_path)
    clients = make_clients(settings, secrets_of(sandbox_server))
    summaries: list[EvidenceSummary] = []

    def gather(now: datetime) -> dict[str, str | None]:
        summaries.append(gather_evidence(engine, settings, secrets_of(sandbox_server), now=now, clients=clients))
        return {"stopped": summaries[-1].stopped}

    run_stages(sandbox_server.world.now, gather)  # a limit met on a loaded machine is waited out, as a rerun would
    assert not summaries[0].people_problems and not summaries[0].ledger_problems
    yield engine, settings, clients
    engine.dispose()


def _plain(counts: dict[str, dict[str, dict[str, int]]]) -> dict[str, dict[str, dict[str, int]]]:
    return {p: {r: dict(sorted(k.items())) for r, k in sorted(repos.items())} for p, repos in sorted(counts.items())}


def test_contributions_per_person_upstream_and_window_equal_the_truth(
    gathered: tuple[Engine, Settings, Clients], sandbox: RunningSandbox
) -> None:
    engine, _, _ = gathered
    expected = truth(sandbox.world)["contributions"]
    start, end = window(sandbox.world)
    with Session(engine) as session:
        trailing = store.load_contribution_counts(session, start=start, end=end, bounds="(start, end]")
        assert _plain(trailing) == expected["trailing_12_months"]
        for name, q_start, q_end in quarters(sandbox.world.now, 6):
            got = store.load_contribution_counts(session, start=q_start, end=q_end, bounds="[start, end)")
            assert _plain(got) == expected["quarters"][name], name


def test_bots_are_excluded_and_a_roster_leaver_counts_only_for_their_time(
    gathered: tuple[Engine, Settings, Clients], sandbox: RunningSandbox
) -> None:
    engine, _, _ = gathered
    world = sandbox.world
    with Session(engine) as session:
        identities = store.load_identities(session)
        counts = store.load_contribution_counts(
            session, start=world.now - timedelta(days=3650), end=world.now, bounds="(start, end]"
        )
    accounts = {i.account for i in identities}
    bots = [p.login for p in world.people if p.is_bot]
    assert bots and not accounts & set(bots)
    assert not set(counts) & set(bots)
    leavers = [p for p in world.people if p.identity == "roster" and p.roster_end]
    assert leavers
    for leaver in leavers:
        assert leaver.roster_end is not None
        after = [c for c in world.contributions if c.login == leaver.login and c.occurred_at.date() > leaver.roster_end]
        during = [
            c for c in world.contributions if c.login == leaver.login and c.occurred_at.date() <= leaver.roster_end
        ]
        assert after, "the world should give the leaver contributions after they left"
        total = sum(n for kinds in counts.get(leaver.login, {}).values() for n in kinds.values())
        assert total == sum(c.count for c in during)


def test_upstream_contributions_are_split_from_also_contributed_to(
    gathered: tuple[Engine, Settings, Clients], sandbox: RunningSandbox
) -> None:
    engine, _, _ = gathered
    start, end = window(sandbox.world)
    used = set(truth(sandbox.world)["upstreams"])
    with Session(engine) as session:
        inside, outside = contributions_by_upstream(session, start=start, end=end, bounds="(start, end]")
    assert inside and outside
    assert set(inside) <= used and not set(outside) & used


def test_money_per_upstream_equals_the_truth(
    gathered: tuple[Engine, Settings, Clients], sandbox: RunningSandbox
) -> None:
    engine, _, _ = gathered
    world = sandbox.world
    expected = truth(world)
    start, end = window(world)
    with Session(engine) as session:
        money, unattributed = money_by_upstream(store.load_payments(session, start=start, end=end))
    got: dict[str, dict[str, dict[str, int]]] = defaultdict(dict)
    for upstream, channels in money.items():
        for channel, currencies in channels.items():
            got[upstream][channel] = {c: int(a * 100) for c, a in sorted(currencies.items())}
    assert dict(got) == expected["money"]
    want_unattributed = sorted((i["channel"], i["payee"], i["cents"]) for i in expected["money_unattributed"])
    got_unattributed = sorted(
        (p.channel if p.channel != "ledger" else p.subchannel, p.payee, int(p.amount * 100)) for p in unattributed
    )
    assert got_unattributed == want_unattributed
    # The world links one paid collective by an owner of several upstreams: only FUNDING.yml can attribute it.
    used = set(expected["upstreams"])
    owners = Counter(u.owner.lower() for u in world.upstreams if u.key in used)
    (by_owner,) = [c for c in world.collectives if owners[(c.github_handle or "").lower()] > 1]
    (named,) = [
        u.key for u in world.upstreams if u.funding_yml and f"open_collective: {by_owner.slug}\n" in u.funding_yml
    ]
    assert got[named]["open_collective"] == expected["money"][named]["open_collective"]


def test_a_rerun_inside_the_window_asks_nothing_already_complete(
    gathered: tuple[Engine, Settings, Clients], sandbox: RunningSandbox
) -> None:
    engine, settings, clients = gathered
    clients.github.calls.clear()
    summary = gather_evidence(
        engine, settings, secrets_of(sandbox), now=sandbox.world.now, clients=clients, parts=("contributions",)
    )
    assert summary.segments_fetched == 0 and summary.segments_skipped > 0
    assert clients.github.calls == {}


def test_a_rate_limit_stop_resumes_where_it_stopped(sandbox: RunningSandbox, engine: Engine, tmp_path: Path) -> None:
    seed_resolutions(engine, sandbox.world)
    settings = evidence_settings(sandbox, tmp_path, **{"github.rate_limit_wait_max_seconds": 0})
    secrets = secrets_of(sandbox)
    gather_evidence(engine, settings, secrets, now=sandbox.world.now, parts=("people",))
    sandbox.router.reset_stats()
    sandbox.router.knobs = replace(Knobs(), rate_limit=3, rate_limit_window_seconds=3600)
    first = gather_evidence(engine, settings, secrets, now=sandbox.world.now, parts=("contributions",))
    assert first.stopped is not None
    assert first.segments_fetched > 0
    sandbox.router.knobs = Knobs()
    forget_buckets()  # the budget renewed early (the knob is gone): this process's bucket would wait for its reset
    second = gather_evidence(engine, settings, secrets, now=sandbox.world.now, parts=("contributions",))
    assert second.stopped is None
    assert second.segments_skipped == first.segments_fetched
    start, end = window(sandbox.world)
    with Session(engine) as session:
        trailing = store.load_contribution_counts(session, start=start, end=end, bounds="(start, end]")
    assert _plain(trailing) == truth(sandbox.world)["contributions"]["trailing_12_months"]


def test_people_lists_each_identity_with_where_it_came_from(
    gathered: tuple[Engine, Settings, Clients], sandbox: RunningSandbox
) -> None:
    engine, _, _ = gathered
    with Session(engine) as session:
        identities = store.load_identities(session)
    sources = defaultdict(set)
    for identity in identities:
        sources[identity.account].add(identity.source)
    for person in sandbox.world.people:
        if person.is_bot or person.identity == "outsider":
            assert person.login not in sources
            continue
        expected = {
            "member": "member",
            "extra-login": "extra-login",
            "roster": "roster",
            "email-domain": "email-domain",
        }
        assert expected[person.identity] in sources[person.login], person.login
    alias = next(p for p in sandbox.world.people if p.identity == "extra-login")
    assert {i.person for i in identities if i.account == alias.login} == {alias.alias_of}


def test_money_keeps_its_currency(gathered: tuple[Engine, Settings, Clients]) -> None:
    engine, _, _ = gathered
    with Session(engine) as session:
        payments = store.load_payments(session)
    currencies = {p.currency for p in payments}
    assert "USD" in currencies and "EUR" in currencies
    assert all(isinstance(p.amount, Decimal) and p.amount > 0 for p in payments)
    assert all(p.paid_on.tzinfo == UTC for p in payments)


def _gather_contributions_at(sandbox: RunningSandbox, tmp_path: Path, room: int) -> tuple[Engine, int, int]:
    """Contributions gathered into a fresh store with ``room`` repositories per list on the first ask:
    the store, the contributions queries asked and the GraphQL points the sandbox charged."""
    sandbox.router.knobs = Knobs()
    engine = make_engine(f"sqlite:///{tmp_path / f'room-{room}.db'}")
    SQLModel.metadata.create_all(engine)
    seed_resolutions(engine, sandbox.world)
    settings = evidence_settings(sandbox, tmp_path, **{"github.contribution_repositories": room})
    clients = make_clients(settings, secrets_of(sandbox))
    gather_evidence(engine, settings, secrets_of(sandbox), now=sandbox.world.now, clients=clients, parts=("people",))
    before = sandbox.router.stats()
    summary = gather_evidence(
        engine, settings, secrets_of(sandbox), now=sandbox.world.now, clients=clients, parts=("contributions",)
    )
    assert summary.stopped is None
    after = sandbox.router.stats()
    queries = after["by_service"].get("/api/graphql", 0) - before["by_service"].get("/api/graphql", 0)
    points = after["points_by_service"].get("/api/graphql", 0) - before["points_by_service"].get("/api/graphql", 0)
    assert summary.points["contributions"] == points  # upkeep counts what GitHub says it charged
    return engine, queries, points


def test_a_small_first_room_gives_the_same_counts_for_fewer_points(sandbox: RunningSandbox, tmp_path: Path) -> None:
    """Room for one repository per list: every account with more is asked again with room for all
    of them, so the counts still equal the truth, and the points are fewer than with room for 100."""
    narrow, narrow_queries, narrow_points = _gather_contributions_at(sandbox, tmp_path, 1)
    wide, wide_queries, wide_points = _gather_contributions_at(sandbox, tmp_path, 100)
    expected = truth(sandbox.world)["contributions"]
    for engine in (narrow, wide):
        with Session(engine) as session:
            for name, q_start, q_end in quarters(sandbox.world.now, 6):
                got = store.load_contribution_counts(session, start=q_start, end=q_end, bounds="[start, end)")
                assert _plain(got) == expected["quarters"][name], name
        engine.dispose()
    assert narrow_queries > wide_queries  # some accounts had more than one repository in a list: asked again
    assert 0 < narrow_points < wide_points / 3
