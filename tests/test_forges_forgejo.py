"""The Forgejo path of the forge port against the sandbox Forgejo (Codeberg-like): the organisation's members,
the codeberg.org upstreams' signals and the people's work there, each equal to the truth."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlmodel import Session, select

from bot.forges.forgejo import ForgejoForge
from bot.forges.registry import make_forges
from bot.http import make_client
from bot.sandbox import Router, truth
from bot.sandbox.model import World
from bot.sources.evidence_stage import gather_evidence, make_clients
from bot.sources.signals_stage import gather_signals
from bot.store import evidence as evidence_store
from bot.store.engine import session_scope
from bot.store.tables import UpstreamRow, UpstreamSignalRow
from tests.test_forges_gitlab import _seed_resolutions, engine, router, secrets_for, settings_for, transport, world

__all__ = ["engine", "router", "transport", "world"]  # the fixtures, shared with the GitLab tests


def on_forgejo(world: World) -> list[str]:
    return sorted(u.key for u in world.upstreams if u.host in world.forgejo_hosts)


def test_every_codeberg_upstream_gets_its_signals_equal_to_the_truth(
    world: World, engine: Any, transport: httpx.MockTransport
) -> None:
    with session_scope(engine) as session:
        for up in world.upstreams:
            session.add(UpstreamRow(key=up.key, host=up.host, owner=up.owner.lower(), name=up.name.lower()))
    settings = settings_for(world)
    forges = make_forges(settings, secrets_for(world), transport=transport)
    assert isinstance(forges["codeberg"], ForgejoForge)
    with make_client(transport=transport) as client:
        summary = gather_signals(engine, settings, secrets_for(world), client, now=world.now, forges=forges)
    assert summary.calls["forge:codeberg"] > 0
    expected = truth(world)["signals"]
    with Session(engine) as session:
        rows = {
            r.upstream_key: r
            for r in session.exec(select(UpstreamSignalRow).where(UpstreamSignalRow.scan_id == summary.scan_id))
        }
    got, want = {}, {}
    for key in on_forgejo(world):
        row, fact = rows[key], expected[key]
        got[key] = (
            row.partial,
            row.bus_factor,
            row.elephant_factor,
            row.active_maintainers,
            row.archived,
            row.owner_type,
            row.last_commit_at.isoformat() if row.last_commit_at else None,
            row.last_release_at.isoformat() if row.last_release_at else None,
        )
        want[key] = (
            False,
            fact["bus_factor"],
            fact["elephant_factor"],
            fact["active_maintainers"],
            fact["archived"],
            fact["owner_type"],
            fact["last_commit_at"].replace("Z", "+00:00") if fact["last_commit_at"] else None,
            fact["last_release_at"].replace("Z", "+00:00") if fact["last_release_at"] else None,
        )
    assert len(got) >= 2 and got == want


def test_contributions_on_forgejo_are_counted_per_person_equal_to_the_truth(
    world: World, engine: Any, transport: httpx.MockTransport, router: Router, tmp_path: Path
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
    with Session(engine) as session:
        identities = evidence_store.load_identities(session)
        counts = evidence_store.load_contribution_counts(
            session, start=world.now - timedelta(days=365), end=world.now, bounds="(start, end]"
        )
    accounts = {i.account: i.person for i in identities if i.account.startswith("codeberg:")}
    for person in world.people:
        if person.forgejo_username:
            assert accounts[f"codeberg:{person.forgejo_username.lower()}"] == person.login.lower()
    expected = truth(world)["contributions"]["trailing_12_months"]

    def codeberg_only(tree: dict[str, Any]) -> dict[str, Any]:
        out = {
            person: {repo: dict(kinds) for repo, kinds in repos.items() if repo.startswith("codeberg.org/")}
            for person, repos in tree.items()
        }
        return {p: r for p, r in out.items() if r}

    assert codeberg_only(expected)
    assert codeberg_only(counts) == codeberg_only(expected)
    # per person: each account's feed is read once, down to the oldest quarter asked
    feeds = [r for r in router.log if r.service == "/forgejo" and r.path.endswith("/activities/feeds")]
    assert feeds and len({r.path for r in feeds}) == len(accounts)


def test_issues_may_go_to_a_forgejo_but_not_to_a_github_entry(world: World) -> None:
    import pytest

    from bot.config import ConfigError

    assert settings_for(world, **{"issues.forge": "codeberg"}).issues.forge == "codeberg"
    github = {"name": "gh", "kind": "github", "url": "https://github.com", "token_env": "GITHUB_TOKEN"}
    from bot.sandbox import sandbox_settings

    forges = [*sandbox_settings("http://sandbox.test", world)["forges"], github]
    with pytest.raises(ConfigError, match=r"issues\.forge: 'gh' is a github forge"):
        settings_for(world, forges=forges, **{"issues.forge": "gh"})


def test_a_rescan_of_unchanged_codeberg_upstreams_is_answered_304_with_the_same_signals(
    world: World, engine: Any, router: Router, transport: httpx.MockTransport
) -> None:
    with session_scope(engine) as session:
        for up in world.upstreams:
            session.add(UpstreamRow(key=up.key, host=up.host, owner=up.owner.lower(), name=up.name.lower()))
    settings = settings_for(world)
    scans = []
    for _ in range(2):  # each run builds its adapters afresh: the validators live in the store
        forges = make_forges(settings, secrets_for(world), transport=transport)
        with make_client(transport=transport) as client:
            scans.append(
                gather_signals(engine, settings, secrets_for(world), client, now=world.now, forges=forges, rescan=True)
            )
    first, second = scans
    assert first.calls["forge:codeberg_not_modified"] == 0
    assert second.calls["forge:codeberg_not_modified"] > 0
    forgejo = [r for r in router.log if r.service == "/forgejo"]
    assert any(r.status == 304 for r in forgejo) and not any("/commits" in r.path and r.status == 304 for r in forgejo)

    def signals(scan_id: int) -> dict[str, tuple[Any, ...]]:
        with Session(engine) as session:
            rows = session.exec(select(UpstreamSignalRow).where(UpstreamSignalRow.scan_id == scan_id))
            return {
                r.upstream_key: (r.bus_factor, r.archived, r.owner_type, r.last_release_at, r.last_commit_at)
                for r in rows
                if r.upstream_key in on_forgejo(world)
            }

    assert signals(first.scan_id) == signals(second.scan_id) and len(signals(first.scan_id)) >= 2


def test_the_sandbox_forgejo_refuses_issue_writes_its_description_refuses(
    world: World, transport: httpx.MockTransport
) -> None:
    token = world.tokens["forgejo"][0]
    base = f"http://sandbox.test/forgejo/api/v1/repos/{world.orgs[0]}/ospo"
    with httpx.Client(transport=transport, headers={"Authorization": f"token {token}"}) as client:
        by_name = client.post(f"{base}/issues", json={"title": "t", "labels": ["upkeep"]})
        assert by_name.status_code == 422  # labels are ids on Forgejo, never names
        assert client.post(f"{base}/issues", json={"body": "no title"}).status_code == 422
        assert client.post(f"{base}/labels", json={"name": "upkeep", "color": "red"}).status_code == 422
        assert client.get(f"{base}/issues", params={"state": "any"}).status_code == 422
        label = client.post(f"{base}/labels", json={"name": "upkeep", "color": "#00aabb"}).json()
        made = client.post(f"{base}/issues", json={"title": "t", "labels": [label["id"]]}).json()
        assert [x["name"] for x in made["labels"]] == ["upkeep"] and made["state"] == "open"
        closed = client.patch(f"{base}/issues/{made['number']}", json={"state": "closed"})
        assert closed.status_code == 201 and closed.json()["state"] == "closed"
        assert client.get(f"{base}/issues").json() == []  # open issues only unless state says otherwise
        timeline = client.get(f"{base}/issues/{made['number']}/timeline").json()
        assert [e["type"] for e in timeline] == ["close"]
    with httpx.Client(transport=transport) as anonymous:
        assert anonymous.post(f"{base}/issues", json={"title": "t"}).status_code == 401
