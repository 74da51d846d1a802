"""Installation tokens are narrowed per stage and the sandbox holds them to it; amounts an App
installation cannot see are flagged, not guessed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlmodel import SQLModel

from bot.config import Secrets, load_settings
from bot.pipeline import StageContext
from bot.report.build import hidden_sponsorship_amounts
from bot.sandbox import SandboxServer, generate_world, ledger_csv, roster_csv, sandbox_environment, sandbox_settings
from bot.sandbox.github_app import SandboxApp, installation_id
from bot.sandbox.github_rest import GitHubRestService
from bot.sandbox.model import World
from bot.sources.github_client import CUSTOM_PROPERTIES, ISSUES_WRITE, READ_ONLY
from bot.stages import REGISTRY
from bot.store.engine import make_engine
from tests.test_github_app_sandbox import app_jwt

TOTALS = "query($o: String!) { organization(login: $o) { totalSponsorshipAmountAsSponsorInCents } }"


@pytest.fixture
def served() -> Iterator[tuple[World, SandboxServer]]:
    world = generate_world(7, "small")
    with SandboxServer(world) as server:
        yield world, server


def app_of(server: SandboxServer) -> SandboxApp:
    rest = next(s for s in server.router._services if isinstance(s, GitHubRestService))
    return rest.app


def mint(client: httpx.Client, org: str, body: dict[str, object]) -> httpx.Response:
    headers = {"Authorization": f"Bearer {app_jwt()}"}
    return client.post(f"/app/installations/{installation_id(org)}/access_tokens", headers=headers, json=body)


def test_the_sandbox_holds_each_token_to_its_grant(served: tuple[World, SandboxServer]) -> None:
    world, server = served
    org = world.orgs[0]
    ospo_owner, ospo = world.ospo_repo.split("/", 1)
    other = next(r for r in world.internal_repos if r.full_name != world.ospo_repo and r.full_name.startswith(org))
    with httpx.Client(base_url=f"{server.base_url}/api/v3") as client:
        assert mint(client, org, {"permissions": {"administration": "write"}}).status_code == 422
        assert mint(client, org, {"permissions": {"contents": "write"}}).status_code == 422
        assert mint(client, org, {"repositories": ["no-such-repo"]}).status_code == 422
        read = mint(client, org, {"permissions": READ_ONLY}).json()
        assert read["permissions"] == READ_ONLY and read["repository_selection"] == "all"
        write = mint(client, ospo_owner, {"permissions": ISSUES_WRITE, "repositories": [ospo]}).json()
        assert write["repository_selection"] == "selected"
        as_reader = {"Authorization": f"Bearer {read['token']}"}
        as_writer = {"Authorization": f"Bearer {write['token']}"}
        issue = {"title": "should not exist"}
        assert client.get(f"/repos/{other.full_name}", headers=as_reader).status_code == 200
        assert client.get(f"/orgs/{org}/members", headers=as_reader).status_code == 200
        refused = client.post(f"/repos/{world.ospo_repo}/issues", headers=as_reader, json=issue)
        assert refused.status_code == 403 and refused.json()["message"] == "Resource not accessible by integration"
        assert client.post(f"/repos/{other.full_name}/issues", headers=as_writer, json=issue).status_code == 403
        assert client.get(f"/orgs/{org}/members", headers=as_writer).status_code == 403
        made = client.post(f"/repos/{world.ospo_repo}/issues", headers=as_writer, json={"title": "allowed"})
        assert made.status_code == 201
    assert [i.title for i in world.issues.get(other.full_name, [])] == []


def test_sponsorship_totals_are_hidden_from_an_installation(served: tuple[World, SandboxServer]) -> None:
    world, server = served
    org = world.orgs[0]
    with httpx.Client(base_url=server.base_url) as client:
        with httpx.Client(base_url=f"{server.base_url}/api/v3") as rest:
            token = mint(rest, org, {"permissions": READ_ONLY}).json()
        ask = {"query": TOTALS, "variables": {"o": org}}
        as_app = client.post("/api/graphql", json=ask, headers={"Authorization": f"Bearer {token['token']}"})
        as_user = client.post(
            "/api/graphql", json=ask, headers={"Authorization": f"Bearer {world.tokens['github'][0]}"}
        )
    assert as_app.json()["data"]["organization"]["totalSponsorshipAmountAsSponsorInCents"] is None
    assert isinstance(as_user.json()["data"]["organization"]["totalSponsorshipAmountAsSponsorInCents"], int)


def test_as_the_app_every_stage_asks_only_for_what_it_needs(
    served: tuple[World, SandboxServer], tmp_path: Path
) -> None:
    world, server = served
    world.tokens["github"] = []
    roster, ledger = tmp_path / "roster.csv", tmp_path / "ledger.csv"
    roster.write_text(roster_csv(world), encoding="utf-8")
    ledger.write_text(ledger_csv(world), encoding="utf-8")
    url = f"sqlite:///{tmp_path / 'store.db'}"
    overrides = {
        **sandbox_settings(server.base_url, world, app=True),
        "database.url": url,
        "people.roster_csv": str(roster),
        "funding.ledger_csv": str(ledger),
        "issues.seconds_between_requests": 0,
        "issues.seconds_between_writes": 0,
    }
    settings = load_settings(None, overrides=overrides)
    secrets = Secrets.from_environment(sandbox_environment(world, app=True))
    engine = make_engine(url)
    SQLModel.metadata.create_all(engine)
    context = StageContext(settings, secrets, engine, world.now)
    for name in ("sync", "resolve", "gather", "score", "deliver"):
        REGISTRY[name](context)
    grants = list(app_of(server).grants.values())
    assert grants
    ospo_owner, ospo = world.ospo_repo.split("/", 1)
    for grant in grants:
        if "issues" in grant.permissions:
            assert grant.permissions == ISSUES_WRITE and grant.repositories == (ospo.lower(),)
            assert grant.org == ospo_owner
        else:
            # sync reads custom properties for [usage] weights and teams: read, and only when the App has it
            assert grant.permissions in (READ_ONLY, {**READ_ONLY, CUSTOM_PROPERTIES: "read"}), grant.permissions
            assert grant.repositories is None
    assert any("issues" in g.permissions for g in grants) and any("issues" not in g.permissions for g in grants)
    orgs = {o.lower() for o in world.orgs}
    ended = [s for s in world.sponsorships if s.ended_at and not s.is_one_time and s.sponsor.lower() in orgs]
    assert hidden_sponsorship_amounts(engine) == len(ended) > 0  # flagged, one each, not guessed
    engine.dispose()
