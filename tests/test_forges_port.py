"""The three adapters behind the one forge port, against the sandbox: the same questions, each forge's answers."""

from __future__ import annotations

from datetime import timedelta

import httpx

from bot.config import Secrets, load_settings
from bot.forges.forgejo import ForgejoForge
from bot.forges.github import GitHubForge
from bot.forges.gitlab import GitLabForge
from bot.forges.interface import Forge
from bot.forges.registry import make_forges
from bot.http import make_client
from bot.records import UpstreamKey
from bot.sandbox import Router, generate_world, sandbox_environment, sandbox_settings
from bot.sources.github_client import GraphQLClient
from bot.sources.github_signals import GitHubSignalSource

BASE = "http://sandbox.test"


def test_github_and_gitlab_answer_the_same_port() -> None:
    world = generate_world(7, "small")
    transport = httpx.MockTransport(Router(world).handler)
    settings = load_settings(None, overrides=sandbox_settings(BASE, world), search=False)
    token = world.tokens["github"][0]
    client = make_client(token=token, transport=transport)
    github = GitHubForge(
        GraphQLClient(client, f"{BASE}/api/graphql"),
        GitHubSignalSource(client, graphql_url=f"{BASE}/api/graphql", api_url=f"{BASE}/api/v3", token=token),
        orgs=world.orgs,
        bots=settings.people.bots,
    )
    built = make_forges(settings, Secrets.from_environment(sandbox_environment(world)), transport=transport)
    gitlab = built["gitlab"]
    assert isinstance(gitlab, GitLabForge) and isinstance(built["codeberg"], ForgejoForge)
    forges: dict[str, Forge] = {"github": github, **built}
    for name, forge in forges.items():
        members = forge.members()
        assert not members.problems and members.members, name
        host = forge.hosts[0]
        upstream = next(u for u in world.upstreams if u.host == host and u.commits)
        missing = UpstreamKey(host, "nobody-here", "nothing-here")
        found = forge.observe(
            [UpstreamKey.parse(upstream.key), missing], since=world.now - timedelta(days=365), now=world.now
        )
        by_key = {o.upstream_key: o for o in found}
        assert by_key[upstream.key].found and by_key[upstream.key].last_commit_at is not None, name
        assert not by_key[str(missing)].found, name
    in_groups = {m.username.lower() for m in gitlab.members().members if not m.bot}
    expected = {u.lower() for ms in world.gitlab_groups.values() for u in ms} - set(settings.people.bots)
    assert in_groups == expected  # the subgroup's members too, bots marked
