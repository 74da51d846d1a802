"""Renamed and transferred upstreams: GitHub's answer under the new name becomes the upstream's identity.

Registries, ledgers and stored contributions keep naming the old repository. The signals stage
learns the rename from GitHub (an old name answers with the repository's new ``nameWithOwner``),
moves the resolutions at once, and every reader maps old names through the stored renames.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.http import make_client
from bot.records import current_key
from bot.sandbox import Router, generate_world, truth
from bot.sandbox.github_rest import GitHubRestService
from bot.sandbox.model import World
from bot.sources.ledger import parse_ledger
from bot.sources.money import Payment
from bot.sources.opencollective import attribute_collective
from bot.sources.signals_stage import gather_signals
from bot.store import evidence
from bot.store.engine import session_scope
from bot.store.renames import load_renames, save_renames
from bot.store.resolution import load_resolutions
from bot.store.signals import load_upstream_keys
from bot.store.tables import (
    ContributionRow,
    IdentityRow,
    PackageResolutionRow,
    PersonRow,
    SignalScanRow,
    UpstreamRenameRow,
    UpstreamRow,
    UpstreamSignalRow,
)
from tests.test_resolve_sandbox import add_world_components
from tests.test_resolve_sandbox import run as resolve
from tests.test_signals_sandbox import secrets, settings

NOW = datetime(2026, 11, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def world() -> World:
    return generate_world(7, "small")


@pytest.fixture
def http(world: World) -> Iterator[httpx.Client]:
    with make_client(transport=httpx.MockTransport(Router(world).handler)) as client:
        yield client


# --------------------------------------------------------------------------- the signals stage learns them


def test_signals_learn_every_rename_and_move_the_resolutions(engine: Engine, world: World, http: httpx.Client) -> None:
    expected = truth(world)
    add_world_components(engine, world)
    resolve(engine, Router(world), world)  # the registries still name the old repositories
    before = {row.package_key: row.upstream_key for row in load_resolutions(engine)}
    renamed = [p for p in expected["packages"] if p["declared_upstream"]]
    assert renamed and all(before[p["package"]] == p["declared_upstream"] for p in renamed)

    summary = gather_signals(engine, settings(), secrets(world), http, now=world.now)

    assert summary.renamed == len(expected["renamed_upstreams"])
    with Session(engine) as session:
        assert load_renames(session) == expected["renamed_upstreams"]
        signals = {row.upstream_key for row in session.exec(select(UpstreamSignalRow)).all()}
        scan = session.get(SignalScanRow, summary.scan_id)
    after = {row.package_key: row for row in load_resolutions(engine)}
    for p in renamed:
        row = after[p["package"]]
        assert row.upstream_key == p["true_upstream"]
        assert row.provenance and row.provenance.endswith(f"; renamed from {p['declared_upstream']}")
    assert {key for key, row in after.items() if row.upstream_key != before[key]} == {p["package"] for p in renamed}
    old, new = set(expected["renamed_upstreams"]), set(expected["renamed_upstreams"].values())
    assert new <= signals and not old & signals  # observed once, under the name it has now
    assert scan is not None and scan.status == "ok"  # the old names are not left over as unobserved


def test_a_rescan_asks_for_the_new_names_only(engine: Engine, world: World, http: httpx.Client) -> None:
    expected = truth(world)
    add_world_components(engine, world)
    resolve(engine, Router(world), world)
    gather_signals(engine, settings(), secrets(world), http, now=world.now)
    with Session(engine) as session:
        keys = set(load_upstream_keys(session))
    assert not keys & set(expected["renamed_upstreams"])
    again = gather_signals(engine, settings(), secrets(world), http, now=world.now, rescan=True)
    assert again.renamed == 0 and again.new_scan


def test_without_following_renames_the_old_name_is_not_found(world: World, http: httpx.Client) -> None:
    old, new = next(iter(truth(world)["renamed_upstreams"].items()))
    _, owner, name = old.split("/")
    query = """query($o: String!, $n: String!, $f: Boolean) {
      repository(owner: $o, name: $n, followRenames: $f) { nameWithOwner }
    }"""
    token = {"Authorization": f"bearer {world.tokens['github'][0]}"}
    url = "http://sandbox.test/api/graphql"
    followed = http.post(url, json={"query": query, "variables": {"o": owner, "n": name}}, headers=token).json()
    assert f"github.com/{followed['data']['repository']['nameWithOwner']}".lower() == new
    strict = {"query": query, "variables": {"o": owner, "n": name, "f": False}}
    refused = http.post(url, json=strict, headers=token).json()
    assert refused["data"]["repository"] is None
    assert refused["errors"][0]["type"] == "NOT_FOUND"


def test_the_rest_api_redirects_an_old_name_to_the_repository_by_id(world: World) -> None:
    old, new = next(iter(truth(world)["renamed_upstreams"].items()))
    _, owner, name = old.split("/")
    router = Router(world)
    with httpx.Client(transport=httpx.MockTransport(router.handler), base_url="http://sandbox.test") as client:
        moved = client.get(f"{GitHubRestService.prefix}/repos/{owner}/{name}")
        assert moved.status_code == 301
        assert moved.json()["message"] == "Moved Permanently"
        assert "/repositories/" in moved.headers["location"] and moved.json()["url"] == moved.headers["location"]
        followed = client.get(f"{GitHubRestService.prefix}/repos/{owner}/{name}", follow_redirects=True)
    assert followed.status_code == 200
    assert f"github.com/{followed.json()['full_name']}".lower() == new


# --------------------------------------------------------------------------- the store


def _resolution(key: str, upstream: str | None, provenance: str | None = "pypi:project_urls") -> PackageResolutionRow:
    return PackageResolutionRow(package_key=key, status="resolved", upstream_key=upstream, provenance=provenance)


def test_renames_chain_and_a_rename_back_replaces_the_earlier_one(engine: Engine) -> None:
    with session_scope(engine) as session:
        assert save_renames(session, {"github.com/a/x": "github.com/b/x"}, source="test", now=NOW) == 1
        assert save_renames(session, {"github.com/a/x": "github.com/b/x"}, source="test", now=NOW) == 0
        save_renames(session, {"github.com/b/x": "github.com/c/x"}, source="test", now=NOW)
    with Session(engine) as session:
        assert load_renames(session) == {"github.com/a/x": "github.com/c/x", "github.com/b/x": "github.com/c/x"}
    with session_scope(engine) as session:  # c gave it back to a
        save_renames(session, {"github.com/c/x": "github.com/a/x"}, source="test", now=NOW)
    with Session(engine) as session:
        renames = load_renames(session)
        rows = session.exec(select(UpstreamRenameRow)).all()
    assert renames == {"github.com/b/x": "github.com/a/x", "github.com/c/x": "github.com/a/x"}
    assert all(current_key(key, renames) != key for key in renames)  # nothing points at itself
    assert len({row.old_key for row in rows}) == len(rows)


def test_saving_a_rename_moves_resolutions_and_adds_the_new_upstream(engine: Engine) -> None:
    with session_scope(engine) as session:
        session.add(UpstreamRow(key="github.com/old/x", host="github.com", owner="old", name="x"))
        session.add(_resolution("pypi/x", "github.com/old/x"))
        session.add(_resolution("npm/x", "github.com/old/x", provenance=None))
        session.add(_resolution("npm/y", "github.com/other/y"))
    with session_scope(engine) as session:
        save_renames(session, {"github.com/OLD/x": "github.com/New/x"}, source="test", now=NOW)
    rows = {row.package_key: row for row in load_resolutions(engine)}
    assert rows["pypi/x"].upstream_key == rows["npm/x"].upstream_key == "github.com/new/x"
    assert rows["pypi/x"].provenance == "pypi:project_urls; renamed from github.com/old/x"
    assert rows["npm/x"].provenance == "; renamed from github.com/old/x"
    assert rows["npm/y"].upstream_key == "github.com/other/y"
    with Session(engine) as session:
        assert session.exec(select(UpstreamRow).where(UpstreamRow.key == "github.com/new/x")).one().owner == "new"
        assert load_upstream_keys(session) == ["github.com/new/x"]  # the old name is not observed again


def test_contributions_and_payments_stored_under_an_old_name_count_under_the_new(engine: Engine) -> None:
    start, end = NOW - timedelta(days=365), NOW
    with session_scope(engine) as session:
        session.add(PersonRow(login="ada"))
        session.add(IdentityRow(account="ada", person_login="ada", source="member"))
        for repository in ("github.com/old/x", "github.com/new/x"):  # before and after the rename
            session.add(ContributionRow(account="ada", repository=repository, kind="pr_merged", occurred_at=NOW))
        evidence.replace_payments(
            session,
            "ledger",
            [Payment("ledger", "github.com/old/x", NOW, Decimal("100"), "USD", ("github.com/old/x",), "ledger")],
            now=NOW,
        )
        save_renames(session, {"github.com/old/x": "github.com/new/x"}, source="test", now=NOW)
    with Session(engine) as session:
        counts = evidence.load_contribution_counts(session, start=start, end=end, bounds="(start, end]")
        payments = evidence.load_payments(session, start=start, end=end)
    assert counts == {"ada": {"github.com/new/x": {"pr_merged": 2}}}
    assert [p.upstreams for p in payments] == [("github.com/new/x",)]


# --------------------------------------------------------------------------- attribution


def test_a_ledger_line_naming_the_old_name_counts_for_the_new() -> None:
    text = "date,upstream,amount,currency,channel\n2026-10-01,github.com/Old/x,100,USD,invoice\n"
    renames = {"github.com/old/x": "github.com/new/x"}
    (payment,), problems = parse_ledger(text, source="ledger.csv", upstreams={"github.com/new/x"}, renames=renames)
    assert problems == []
    assert payment.upstreams == ("github.com/new/x",)
    assert payment.attribution == "ledger names github.com/Old/x, now github.com/new/x"
    (unknown,), _ = parse_ledger(text, source="ledger.csv", upstreams={"github.com/new/x"})
    assert unknown.upstreams == ()  # without the rename it is no upstream of the inventory


def test_a_collective_linked_to_the_old_name_stands_for_the_new() -> None:
    account = {"slug": "x-collective", "githubHandle": "old/x"}
    keys, why = attribute_collective(
        account,
        upstreams={"github.com/new/x"},
        owners={},
        funding_slugs={},
        renames={"github.com/old/x": "github.com/new/x"},
    )
    assert keys == ("github.com/new/x",) and why == "x-collective: linked repository github.com/new/x"
