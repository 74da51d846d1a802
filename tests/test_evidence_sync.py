"""``upkeep sync`` against the served sandbox: the asynchronous SBOM flow, the token, ETags and resumption."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import httpx
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.config import Settings, load_settings
from bot.http import forget_buckets
from bot.sandbox import Knobs, generate_world
from bot.sandbox.github_rest import GitHubRestService
from bot.sandbox.server import Router, SandboxServer, default_services
from bot.sources.github_client import make_api_client, make_download_client
from bot.sources.github_sync import SyncSummary, sync_organisations
from bot.store.tables import RepositoryRow, SbomDocumentRow
from tests.sandbox_fixtures import RunningSandbox

pytest_plugins = ["tests.sandbox_fixtures"]  # harmless once the lead registers it globally


def sync_settings(sandbox: RunningSandbox, **extra: object) -> Settings:
    return load_settings(None, overrides={**sandbox.settings, "github.report_poll_seconds": 0.0, **extra})


def run_sync(sandbox: RunningSandbox, engine: Engine, settings: Settings) -> SyncSummary:
    token = sandbox.environment["GITHUB_TOKEN"]
    with make_api_client(settings, token) as api, make_download_client(settings) as download:
        return sync_organisations(engine, settings, api=api, download=download, now=sandbox.world.now)


def expected_repos(sandbox: RunningSandbox) -> set[str]:
    return {
        r.full_name.lower()
        for r in sandbox.world.internal_repos
        if not r.fork and not r.archived and r.dependency_graph_enabled
    }


def test_sync_ingests_every_repository_through_reports_without_sending_the_token_away(
    sandbox: RunningSandbox, engine: Engine
) -> None:
    summary = run_sync(sandbox, engine, sync_settings(sandbox))
    assert summary.stopped is None and summary.failed == []
    assert summary.ingested == len(expected_repos(sandbox)) == summary.reports_requested
    assert summary.disabled == [
        r.full_name.lower() for r in sandbox.world.internal_repos if not r.dependency_graph_enabled
    ]
    assert summary.skipped_forks == sum(1 for r in sandbox.world.internal_repos if r.fork)
    downloads = [r for r in sandbox.router.log if r.service == "/sbom-downloads"]
    assert len(downloads) == summary.ingested
    assert all(r.token is None and r.status == 200 for r in downloads)
    assert any(r.route.endswith("fetch-report/{id}") and r.status == 202 for r in sandbox.router.log)
    with Session(engine) as session:
        documents = session.exec(select(SbomDocumentRow)).all()
        disabled = session.exec(select(RepositoryRow).where(RepositoryRow.note.is_not(None))).all()  # type: ignore[union-attr]
    assert {d.source.removeprefix("github:") for d in documents} == expected_repos(sandbox)
    assert [r.note for r in disabled] == ["dependency graph disabled"]


def test_a_warm_sync_asks_for_no_report_and_is_answered_with_304s(sandbox: RunningSandbox, engine: Engine) -> None:
    settings = sync_settings(sandbox)
    run_sync(sandbox, engine, settings)
    sandbox.router.reset_stats()
    warm = run_sync(sandbox, engine, settings)
    routes = [r.route for r in sandbox.router.log]
    assert warm.reports_requested == 0 and not any("generate-report" in r for r in routes)
    assert warm.listing_pages == warm.listing_not_modified > 0
    assert {r.status for r in sandbox.router.log} == {304}
    disabled = sum(1 for r in sandbox.world.internal_repos if not r.dependency_graph_enabled and not r.fork)
    assert warm.unchanged_repos == len(expected_repos(sandbox)) + disabled and warm.disabled == []


def test_a_rate_limit_stop_is_recorded_and_the_next_run_finishes(sandbox: RunningSandbox, engine: Engine) -> None:
    settings = sync_settings(sandbox, **{"github.rate_limit_wait_max_seconds": 0, "github.max_concurrent_reports": 1})
    sandbox.router.knobs = replace(Knobs(), rate_limit=12)
    first = run_sync(sandbox, engine, settings)
    assert first.stopped is not None
    assert 0 < first.ingested < len(expected_repos(sandbox))
    sandbox.router.knobs = Knobs()
    forget_buckets()  # the budget renewed early (the knob is gone): this process's bucket would wait for its reset
    second = run_sync(sandbox, engine, settings)
    assert second.stopped is None
    assert first.ingested + second.ingested == len(expected_repos(sandbox))


@pytest.fixture
def enterprise() -> Iterator[RunningSandbox]:
    world = generate_world(7, "small")
    services = [s for s in default_services(world) if not isinstance(s, GitHubRestService)]
    router = Router(world, [*services, GitHubRestService(world, enterprise_server=True)])
    with SandboxServer(world, router=router) as server:
        yield RunningSandbox(server.base_url, server.alt_base_url, world, server.router, server)


def test_enterprise_server_without_reports_uses_the_synchronous_route(
    enterprise: RunningSandbox, engine: Engine
) -> None:
    summary = run_sync(enterprise, engine, sync_settings(enterprise, **{"github.enterprise_server": True}))
    assert summary.failed == [] and summary.reports_requested == 0
    assert summary.sync_exports == summary.ingested == len(expected_repos(enterprise))


def test_github_com_never_uses_the_removed_synchronous_route(sandbox: RunningSandbox, engine: Engine) -> None:
    run_sync(sandbox, engine, sync_settings(sandbox))
    assert not any(r.route.endswith("dependency-graph/sbom") for r in sandbox.router.log)


def test_the_download_client_carries_no_authorization(sandbox: RunningSandbox) -> None:
    settings = sync_settings(sandbox)
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={})

    with make_download_client(settings, transport=httpx.MockTransport(handler)) as client:
        client.get("http://downloads.example/report")
    assert "authorization" not in seen[0].headers


def test_an_app_installation_token_is_read_for_every_request() -> None:
    from bot.sources.github_client import InstallationTokenAuth

    class Installation:  # what PyGithub's AppInstallationAuth offers: a token it renews itself
        def __init__(self) -> None:
            self.tokens = iter(["ghs_first", "ghs_renewed"])

        @property
        def token(self) -> str:
            return next(self.tokens)

    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["authorization"])
        return httpx.Response(200, json={})

    with httpx.Client(transport=httpx.MockTransport(handler), auth=InstallationTokenAuth(Installation())) as client:
        client.get("https://api.github.test/orgs/acme/repos")
        client.get("https://api.github.test/orgs/acme/repos")
    assert seen == ["Bearer ghs_first", "Bearer ghs_renewed"]
