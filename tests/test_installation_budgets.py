"""Each organisation's App installation spends its own GraphQL budget (issue 21, goal 4).

GitHub counts GraphQL points per installation. The sandbox's small world has two organisations
(``acme``, ``acme-labs``) with the App installed on each; its limits charge every query to the
installation whose token sent it. Run as the App, the evidence stage must list each organisation's
members and ask its people's contributions through that organisation's installation, so both
budgets are spent and recorded apart, instead of the first installation paying for everything.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import Session, SQLModel, select

from bot.config import Secrets, load_settings
from bot.sandbox import SandboxServer, generate_world, roster_csv, sandbox_environment, sandbox_settings
from bot.sandbox.github_app import installation_id
from bot.sandbox.model import World
from bot.sandbox.server import fingerprint
from bot.sources.evidence_stage import gather_evidence, installation_of, make_clients
from bot.store import evidence as evidence_store
from bot.store.engine import make_engine
from bot.store.rate_limits import BUDGETS
from bot.store.tables import RateLimitRow


@pytest.fixture
def served() -> Iterator[tuple[World, SandboxServer]]:
    world = generate_world(7, "small")
    with SandboxServer(world) as server:
        yield world, server


def _installation_of_token(world: World, token: str) -> int | None:
    for org in world.orgs:
        if token.startswith(f"sandbox-installation-token-{installation_id(org)}-"):
            return installation_id(org)
    return None


def test_each_organisation_is_asked_through_its_own_installation(
    served: tuple[World, SandboxServer], tmp_path: Path
) -> None:
    world, server = served
    assert len(world.orgs) == 2
    world.tokens["github"] = []  # only the App's installation tokens are accepted
    roster = tmp_path / "roster.csv"
    roster.write_text(roster_csv(world), encoding="utf-8")
    url = f"sqlite:///{tmp_path / 'store.db'}"
    settings = load_settings(
        None,
        overrides={
            **sandbox_settings(server.base_url, world, app=True),
            "database.url": url,
            "people.roster_csv": str(roster),
        },
    )
    secrets = Secrets.from_environment(sandbox_environment(world, app=True))
    engine = make_engine(url)
    SQLModel.metadata.create_all(engine)
    clients = make_clients(settings, secrets)
    assert set(clients.by_org) == set(world.orgs)

    with BUDGETS.recording(engine):
        summary = gather_evidence(
            engine, settings, secrets, now=world.now, clients=clients, parts=("people", "contributions")
        )

    assert summary.stopped is None
    first, second = world.orgs
    # every organisation's members were listed, and people's contributions asked, by its own installation
    for org in world.orgs:
        calls = clients.by_org[org].calls
        assert calls.get("members", 0) >= 1, org
        assert calls.get("contributions", 0) >= 1, org
    assert summary.queries_by_org == {org: sum(clients.by_org[org].calls.values()) for org in world.orgs}
    assert summary.calls["contributions"] == sum(c.calls.get("contributions", 0) for c in clients.by_org.values())

    # which installation asked for whom: members of the second organisation only go through its installation
    with Session(engine) as session:
        owner = installation_of(evidence_store.load_identities(session), settings.github.orgs)
    only_second = {a for a, org in owner.items() if org == second}
    assert only_second, "the world has members of the second organisation only"
    assert all(owner[a] == first for a in owner if owner[a] not in (second, None))

    # the sandbox saw GraphQL queries under both installations' tokens, none under a plain token
    tokens = {fingerprint(t): t for t in world.tokens["github"]}
    graphql = [r for r in server.router.log if r.service == "/api/graphql"]
    by_installation = Counter(_installation_of_token(world, tokens[r.token]) for r in graphql if r.token in tokens)
    assert set(by_installation) == {installation_id(org) for org in world.orgs}
    assert sum(by_installation.values()) == len(graphql)

    # and the budgets each installation reported are stored apart
    with Session(engine) as session:
        rows = session.exec(select(RateLimitRow).where(RateLimitRow.resource == "graphql")).all()
    services = {row.service: row for row in rows}
    assert set(services) == {f"github:{org}" for org in world.orgs}
    for org in world.orgs:
        assert services[f"github:{org}"].used is not None and services[f"github:{org}"].used > 0


def test_a_token_keeps_one_client_for_every_organisation(served: tuple[World, SandboxServer], tmp_path: Path) -> None:
    world, server = served
    settings = load_settings(
        None,
        overrides={**sandbox_settings(server.base_url, world), "database.url": f"sqlite:///{tmp_path / 's.db'}"},
    )
    clients = make_clients(settings, Secrets.from_environment(sandbox_environment(world)))
    assert clients.by_org == {}
    assert all(clients.for_org(org) is clients.github for org in world.orgs)


def test_an_account_goes_to_its_first_configured_organisation() -> None:
    from bot.sources.people import Identity

    identities = [
        Identity("ann", "ann", "member", "acme-labs"),
        Identity("bob", "bob", "member", "acme, acme-labs"),
        Identity("cid", "cid", "roster", "roster.csv:3"),
        Identity("dee", "dee", "member", "elsewhere"),
    ]
    assert installation_of(identities, ["acme", "acme-labs"]) == {
        "ann": "acme-labs",
        "bob": "acme",
        "cid": None,
        "dee": None,
    }
