"""The signals stage against the sandbox world: every GitHub-hosted upstream matches the world's truth."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.config import GitHubSettings, RegistrySettings, Secrets, Settings
from bot.http import make_client
from bot.sandbox.generate import generate_world
from bot.sandbox.model import World
from bot.sandbox.server import Router
from bot.sandbox.truth import truth
from bot.sources.signals_stage import gather_signals
from bot.store.engine import session_scope
from bot.store.tables import LicenceDriftRow, UpstreamRow, UpstreamSignalRow

BASE = "http://sandbox.test"  # the Router's default context
DEPSDEV_HOSTS = ("github.com/", "gitlab.com/")  # hosts whose licence is observed (GitHub, or deps.dev projects)
#: The truth's finer licence classes, in the five classes upkeep reports.
CLASS_OF_TRUTH = {
    "permissive": "permissive",
    "public-domain": "permissive",
    "weak-copyleft": "copyleft",
    "copyleft": "copyleft",
    "source-available": "source-available",
    "none": "unknown",
    "other": "unknown",
}


@pytest.fixture
def world() -> World:
    return generate_world(7, "small")


@pytest.fixture
def http(world: World) -> Iterator[httpx.Client]:
    with make_client(transport=httpx.MockTransport(Router(world).handler)) as client:
        yield client


def settings() -> Settings:
    # No company owners configured: company control must show in the commits alone.
    return Settings(
        github=GitHubSettings(graphql_url=f"{BASE}/api/graphql", api_url=f"{BASE}/api/v3"),
        registries=RegistrySettings(depsdev=f"{BASE}/registry/depsdev"),
    )


def seed(engine: Engine, world: World) -> None:
    with session_scope(engine) as session:
        for up in world.upstreams:
            session.add(UpstreamRow(key=up.key, host=up.host, owner=up.owner.lower(), name=up.name.lower()))


def secrets(world: World) -> Secrets:
    return Secrets(github_token=SecretStr(world.tokens["github"][0]))


def signal_rows(engine: Engine, scan_id: int) -> dict[str, UpstreamSignalRow]:
    with Session(engine) as session:
        rows = session.exec(select(UpstreamSignalRow).where(UpstreamSignalRow.scan_id == scan_id)).all()
    return {row.upstream_key: row for row in rows}


def declared_channels(row: UpstreamSignalRow) -> list[str]:
    """The channels the repository itself declares, named as the truth names them."""
    names = {
        ("github_sponsors" if c["platform"] == "github" else c["platform"])
        for c in row.funding
        if c["source"] == "fundingLinks"
    }
    if any(c["source"] == "funding.json" for c in row.funding):
        names.add("funding_json")  # a floss.fund manifest (an Optimism file gives no channel)
    return sorted(names)


def test_every_github_upstream_matches_the_truth(engine: Engine, world: World, http: httpx.Client) -> None:
    seed(engine, world)
    summary = gather_signals(engine, settings(), secrets(world), http, now=world.now)
    expected: dict[str, Any] = truth(world)["signals"]
    rows = signal_rows(engine, summary.scan_id)
    assert set(rows) == set(expected)
    on_github = {k for k in expected if k.startswith("github.com/")}
    assert summary.calls["graphql"] >= -(-len(on_github) // 50)
    got, want = {}, {}
    for key in sorted(on_github):
        row, fact = rows[key], expected[key]
        got[key] = (
            row.bus_factor,
            row.elephant_factor,
            row.active_maintainers,
            row.licence_class,
            row.governance,
            row.archived,
            row.owner_type,
            row.scorecard,
            declared_channels(row),
            row.contributor_agreement,
        )
        want[key] = (
            fact["bus_factor"],
            fact["elephant_factor"],
            fact["active_maintainers"],
            CLASS_OF_TRUTH[fact["license_classes"][0]],
            fact["governance"],
            fact["archived"],
            fact["owner_type"],
            fact["scorecard"],
            sorted(fact["funding_channels"]),
            fact["contributor_agreement"] or "none",  # read from CONTRIBUTING.md and CLA.md
        )
    assert got == want
    assert {g[-1] for g in got.values()} == {"cla", "dco", "none"}
    for key in expected.keys() - on_github:  # other forges: registry-side signals only, and marked so
        assert rows[key].partial and rows[key].bus_factor is None
        # without the forge only the owner's name can tell (a listed foundation or company)
        assert rows[key].governance in ("unknown", expected[key]["governance"])
        if key.startswith(DEPSDEV_HOSTS):  # deps.dev knows GitLab projects: their licence is observed
            assert rows[key].licence_class == CLASS_OF_TRUTH[expected[key]["license_classes"][0]]


def test_a_licence_change_between_two_scans_is_exactly_one_drift_event(
    engine: Engine, world: World, http: httpx.Client
) -> None:
    seed(engine, world)
    world.scan = 0
    first = gather_signals(engine, settings(), secrets(world), http, now=world.now)
    world.scan = 1
    second = gather_signals(engine, settings(), secrets(world), http, now=world.now, rescan=True)
    assert first.scan_id != second.scan_id

    expected = {
        key: [(d["from"], d["to"]) for d in fact["license_drift"]]
        for key, fact in truth(world)["signals"].items()
        if key.startswith(DEPSDEV_HOSTS) and fact["license_drift"]
    }
    assert expected, "the world should have drifting upstreams"
    with Session(engine) as session:
        events = session.exec(select(LicenceDriftRow)).all()
    got: dict[str, list[tuple[str | None, str | None]]] = {}
    for event in events:
        got.setdefault(event.upstream_key, []).append((event.from_spdx, event.to_spdx))
        assert event.scan_id == second.scan_id
        assert event.sovereignty_risk == (event.to_class == "source-available")
    assert got == expected
    assert second.drifts == len(events) == len(expected)
