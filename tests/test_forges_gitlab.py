"""The GitLab path of the forge port against the sandbox GitLab: signals and contributions equal the truth.

Real loopback-shaped answers (the sandbox router through ``httpx.MockTransport``), a real SQLite
store; the world puts the organisation's group ``acme`` (and its subgroup ``acme/platform``) on the
sandbox GitLab beside the GitHub organisations, with the world's gitlab.com upstreams there.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, select

from bot.config import ConfigError, Secrets, Settings, load_settings
from bot.forges.gitlab import GitLabForge
from bot.forges.registry import make_forges
from bot.http import RateLimited, RetryPolicy, make_client
from bot.sandbox import Knobs, Router, generate_world, sandbox_environment, sandbox_settings, truth
from bot.sandbox.gitlab import TOKEN_BOT_USERNAME
from bot.sandbox.model import World
from bot.sources.evidence_stage import gather_evidence, make_clients
from bot.sources.signals_stage import gather_signals
from bot.store import evidence as evidence_store
from bot.store.engine import make_engine, session_scope
from bot.store.tables import PackageResolutionRow, UpstreamRow, UpstreamSignalRow

BASE = "http://sandbox.test"  # the Router's default context
LICENSEE_NAMES = {"MIT", "Apache-2.0", "BSD-3-Clause", "BSD-2-Clause", "ISC", "Unlicense", "MPL-2.0", "EPL-2.0"}
CLASS_OF_TRUTH = {
    "permissive": "permissive",
    "public-domain": "permissive",
    "weak-copyleft": "copyleft",
    "copyleft": "copyleft",
    "source-available": "source-available",
    "none": "unknown",
    "other": "unknown",
}


@pytest.fixture(scope="module")
def world() -> World:
    return generate_world(7, "small")


@pytest.fixture(scope="module")
def router(world: World) -> Router:
    return Router(world)


@pytest.fixture
def transport(router: Router) -> httpx.MockTransport:
    router.knobs = Knobs()
    return httpx.MockTransport(router.handler)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'store.db'}")
    SQLModel.metadata.create_all(engine)
    yield engine
    engine.dispose()


def settings_for(world: World, **extra: Any) -> Settings:
    return load_settings(None, overrides={**sandbox_settings(BASE, world), **extra}, search=False)


def secrets_for(world: World) -> Secrets:
    return Secrets.from_environment(sandbox_environment(world))


def on_gitlab(world: World) -> list[str]:
    return sorted(u.key for u in world.upstreams if u.host in world.gitlab_hosts)


def test_the_world_puts_a_group_upstreams_and_contributions_on_gitlab(world: World) -> None:
    assert set(world.gitlab_groups) == {world.orgs[0], f"{world.orgs[0]}/platform"}
    assert all(world.gitlab_groups.values())
    assert len(on_gitlab(world)) >= 2
    trailing = truth(world)["contributions"]["trailing_12_months"]
    assert any(key.startswith("gitlab.com/") for repos in trailing.values() for key in repos)
    renamed = [p for p in world.people if p.gitlab_username and p.gitlab_username != p.login]
    assert renamed, "some people have another username on GitLab (mapped by [people.accounts])"


def test_every_gitlab_upstream_gets_its_signals_equal_to_the_truth(
    world: World, engine: Engine, transport: httpx.MockTransport
) -> None:
    with session_scope(engine) as session:
        for up in world.upstreams:
            session.add(UpstreamRow(key=up.key, host=up.host, owner=up.owner.lower(), name=up.name.lower()))
    settings = settings_for(world)
    forges = make_forges(settings, secrets_for(world), transport=transport)
    with make_client(transport=transport) as client:
        summary = gather_signals(engine, settings, secrets_for(world), client, now=world.now, forges=forges)
    assert summary.calls["forge:gitlab"] > 0
    expected = truth(world)["signals"]
    with Session(engine) as session:
        rows = {
            r.upstream_key: r
            for r in session.exec(select(UpstreamSignalRow).where(UpstreamSignalRow.scan_id == summary.scan_id))
        }
    got, want = {}, {}
    for key in on_gitlab(world):
        row, fact = rows[key], expected[key]
        channels = {
            ("github_sponsors" if c["platform"] == "github" else c["platform"])
            for c in row.funding
            if c["source"] == "FUNDING.yml"
        }
        if any(c["source"] == "funding.json" for c in row.funding):
            channels.add("funding_json")
        got[key] = (
            row.partial,
            row.bus_factor,
            row.elephant_factor,
            row.active_maintainers,
            row.commits_12m,
            row.archived,
            row.last_commit_at.isoformat() if row.last_commit_at else None,
            row.last_release_at.isoformat() if row.last_release_at else None,
            sorted(channels),
        )
        want[key] = (
            False,
            fact["bus_factor"],
            fact["elephant_factor"],
            fact["active_maintainers"],
            fact["window_commits"],
            fact["archived"],
            fact["last_commit_at"].replace("Z", "+00:00") if fact["last_commit_at"] else None,
            fact["last_release_at"].replace("Z", "+00:00") if fact["last_release_at"] else None,
            sorted(fact["funding_channels"]),
        )
        if fact["licenses"][0] in LICENSEE_NAMES:  # GitLab names these; others come from the registries
            assert row.licence == fact["licenses"][0], key
        assert row.licence_class == CLASS_OF_TRUTH[fact["license_classes"][0]], key
    assert got == want
    assert any(w[1] for w in want.values()), "some GitLab upstream has commits in the window"


def _seed_resolutions(engine: Engine, world: World) -> None:
    with session_scope(engine) as session:
        for package in world.packages:
            session.add(
                PackageResolutionRow(
                    package_key=package.package_key,
                    status="resolved" if package.true_upstream else "unresolved",
                    upstream_key=package.true_upstream,
                )
            )


def test_contributions_on_gitlab_are_counted_per_person_equal_to_the_truth(
    world: World, engine: Engine, transport: httpx.MockTransport, router: Router, tmp_path: Path
) -> None:
    _seed_resolutions(engine, world)
    settings = settings_for(world)
    secrets = secrets_for(world)
    clients = make_clients(settings, secrets, transport=transport)
    router.reset_stats()
    summary = gather_evidence(
        engine, settings, secrets, now=world.now, clients=clients, parts=("people", "contributions")
    )
    assert summary.stopped is None and not summary.people_problems
    assert f"gitlab:{TOKEN_BOT_USERNAME}" in summary.bots  # a group access token's user
    assert "gitlab:acme-release-bot" in summary.bots  # people.bots holds on every forge
    with Session(engine) as session:
        identities = evidence_store.load_identities(session)
        counts = evidence_store.load_contribution_counts(
            session, start=world.now - timedelta(days=365), end=world.now, bounds="(start, end]"
        )
    accounts = {i.account: i.person for i in identities if i.account.startswith("gitlab:")}
    for person in world.people:
        if person.gitlab_username and not person.is_bot:
            assert accounts[f"gitlab:{person.gitlab_username.lower()}"] == person.login.lower()
    expected = truth(world)["contributions"]["trailing_12_months"]

    def gitlab_only(tree: dict[str, Any]) -> dict[str, Any]:
        out = {
            person: {repo: dict(kinds) for repo, kinds in repos.items() if repo.startswith("gitlab.com/")}
            for person, repos in tree.items()
        }
        return {p: r for p, r in out.items() if r}

    assert gitlab_only(expected)
    assert gitlab_only(counts) == gitlab_only(expected)
    # per person, not per person x upstream: the events of each account are asked once per quarter
    event_calls = [r for r in router.log if r.service == "/gitlab" and "/events" in r.path]
    assert event_calls and len({r.path for r in event_calls}) <= len(accounts)


def test_an_unknown_token_is_refused_and_the_stage_says_which_forge(
    world: World, transport: httpx.MockTransport
) -> None:
    settings = settings_for(world)
    bad = Secrets(named={"GITLAB_TOKEN": SecretStr("not-a-token")})
    forge = make_forges(settings, bad, transport=transport)["gitlab"]
    assert isinstance(forge, GitLabForge)
    with pytest.raises(Exception, match=r"forge gitlab: GET .* answered HTTP 401"):
        forge.members()


def test_gitlab_rate_limit_headers_are_honoured(world: World, router: Router) -> None:
    router.knobs = Knobs(rate_limit=2, rate_limit_window_seconds=3600, headerless_share=0.0)
    client = make_client(
        f"{BASE}/gitlab/api/v4",
        token=world.tokens["gitlab"][0],
        transport=httpx.MockTransport(router.handler),
        policy=RetryPolicy(max_wait_seconds=5),
    )
    client.get("/users", params={"username": "nobody"})
    client.get("/users", params={"username": "nobody"})
    with pytest.raises(RateLimited) as caught:
        client.get("/users", params={"username": "nobody"})
    answer = router.log[-1]
    assert answer.status == 429
    # the reset GitLab states (an hour away), not a guess
    assert caught.value.reset_at.timestamp() > router.clock() + 3000


def test_forge_config_errors_name_the_key(world: World) -> None:
    gitlab = sandbox_settings(BASE, world)["forges"][0]
    with pytest.raises(ConfigError, match=r"issues\.forge"):
        settings_for(world, **{"issues.forge": "gitlab-typo"})
    with pytest.raises(ConfigError, match=r"forges\.0\.token_env"):
        settings_for(world, forges=[{**gitlab, "token_env": "glpat-secret-value"}])
    with pytest.raises(ConfigError, match=r"people\.accounts"):
        settings_for(world, **{"people.accounts": {"someone": ["nowhere:someone"]}})
    with pytest.raises(ConfigError, match="served by both"):
        settings_for(world, forges=[gitlab, {**gitlab, "name": "again"}])


def test_gitlab_budget_headers_alone_say_how_long_to_wait() -> None:
    from bot.http import TokenBucket, is_rate_limited, retry_after_seconds

    headers = {"RateLimit-Limit": "2000", "RateLimit-Remaining": "0", "RateLimit-Reset": "1000600"}
    spent = httpx.Response(429, headers=headers)
    assert is_rate_limited(spent)
    assert retry_after_seconds(spent, now=1_000_000.0) == 600.0
    bucket = TokenBucket(3600, wall=lambda: 1_000_000.0)
    bucket.observe(httpx.Response(200, headers=headers))
    assert bucket.blocked_until == 1_000_600.0
    bucket.observe(httpx.Response(200, headers={**headers, "RateLimit-Remaining": "5", "RateLimit-Reset": "2000000"}))
    assert bucket.blocked_until == 1_000_600.0  # a budget not spent holds nothing


def test_run_names_the_missing_forge_token_before_anything_is_written(world: World, monkeypatch: Any) -> None:
    from bot.cli.preflight import missing_credentials

    monkeypatch.delenv("GITLAB_TOKEN", raising=False)
    settings = settings_for(world, **{"issues.forge": "gitlab", "issues.repository": "acme/ospo"})
    without = Secrets.from_environment({"GITHUB_TOKEN": "t"})
    reasons = missing_credentials(settings, without, ["pipeline"])
    assert any("forges.gitlab.groups but GITLAB_TOKEN is not set" in r for r in reasons)
    assert any("on forge gitlab but GITLAB_TOKEN is not set" in r for r in reasons)
    assert not missing_credentials(settings, secrets_for(world), ["pipeline"])


def test_a_gitlab_that_keeps_failing_costs_only_its_own_part(
    world: World, engine: Engine, router: Router, tmp_path: Path
) -> None:
    _seed_resolutions(engine, world)
    router.knobs = Knobs(fault_rate=1.0, fault_kinds=("500",), fault_prefixes=("/gitlab",))
    transport = httpx.MockTransport(router.handler)
    settings = settings_for(world)
    clients = make_clients(settings, secrets_for(world), transport=transport)
    summary = gather_evidence(
        engine, settings, secrets_for(world), now=world.now, clients=clients, parts=("people", "contributions")
    )
    router.knobs = Knobs()
    assert summary.stopped is None
    assert any("forge gitlab" in p and "500" in p for p in summary.people_problems)
    with Session(engine) as session:
        accounts = {i.account for i in evidence_store.load_identities(session)}
    assert not any(a.startswith("gitlab:") and not a.endswith("-gl") for a in accounts)  # no group member listed
    assert any(a.startswith("codeberg:") for a in accounts) and any(":" not in a for a in accounts)


def test_a_gitlab_429_without_headers_waits_a_minute_then_doubles(world: World, router: Router) -> None:
    router.knobs = Knobs(rate_limit=1, rate_limit_window_seconds=3600, headerless_share=1.0)
    waits: list[float] = []
    policy = RetryPolicy(max_wait_seconds=1000, max_retries=2)
    from bot.http import RetryingTransport

    inner = RetryingTransport(httpx.MockTransport(router.handler), policy, sleep=waits.append)
    client = httpx.Client(base_url=f"{BASE}/gitlab/api/v4", transport=inner)
    headers = {"PRIVATE-TOKEN": world.tokens["gitlab"][0]}
    assert client.get("/users", params={"username": "x"}, headers=headers).status_code == 200
    with pytest.raises(RateLimited):
        client.get("/users", params={"username": "x"}, headers=headers)
    assert router.log[-1].status == 429
    assert len(waits) == 2 and 60 <= waits[0] < 70 and 120 <= waits[1] < 140  # nothing said: a minute, doubling
