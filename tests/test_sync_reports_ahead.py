"""SBOM reports are asked for ahead and polled together, each on its own backoff, so no worker
sleeps while GitHub generates a report (the cost that dominated a large sync)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy.engine import Engine

from bot.config import Settings, load_settings
from bot.http import cache_key
from bot.sandbox import generate_world
from bot.sandbox.github_rest import GitHubRestService
from bot.sandbox.server import Router, SandboxServer, default_services
from bot.sources.github_client import make_api_client, make_download_client
from bot.sources.github_sync import Exporter, SyncSummary, sync_organisations
from tests.sandbox_fixtures import RunningSandbox


@pytest.fixture
def slow_reports() -> Iterator[RunningSandbox]:
    """A sandbox whose reports answer 202 three times before they are ready."""
    world = generate_world(7, "small")
    services = [s for s in default_services(world) if not isinstance(s, GitHubRestService)]
    router = Router(world, [*services, GitHubRestService(world, pending_polls=3)])
    with SandboxServer(world, router=router) as server:
        yield RunningSandbox(server.base_url, server.alt_base_url, world, server.router, server)


def settings_for(sandbox: RunningSandbox, **extra: object) -> Settings:
    overrides = {**sandbox.settings, "github.report_poll_seconds": 0.05, "github.max_concurrent_reports": 2}
    return load_settings(None, overrides={**overrides, **extra})


def run_sync(sandbox: RunningSandbox, engine: Engine, settings: Settings) -> SyncSummary:
    token = sandbox.environment["GITHUB_TOKEN"]
    with make_api_client(settings, token) as api, make_download_client(settings) as download:
        return sync_organisations(engine, settings, api=api, download=download, now=sandbox.world.now)


def test_more_reports_are_in_the_making_than_there_are_workers(slow_reports: RunningSandbox, engine: Engine) -> None:
    summary = run_sync(slow_reports, engine, settings_for(slow_reports))
    assert summary.failed == [] and summary.ingested == summary.reports_requested > 4
    in_the_making = most = 0
    for record in slow_reports.router.log:
        if record.route.endswith("generate-report"):
            in_the_making += 1
        elif record.service == "/sbom-downloads":
            in_the_making -= 1
        most = max(most, in_the_making)
    # Two workers that each waited for their own report would never have more than two at once.
    assert most > 2
    polls = [r for r in slow_reports.router.log if r.route.endswith("fetch-report/{id}")]
    assert len(polls) == 4 * summary.reports_requested  # three 202s and the 302, for each report


def test_a_report_never_ready_is_given_up_alone(slow_reports: RunningSandbox, engine: Engine) -> None:
    settings = settings_for(slow_reports, **{"github.report_poll_attempts": 2})
    summary = run_sync(slow_reports, engine, settings)
    assert summary.ingested == 0
    assert summary.failed and all("report not ready after 2 polls" in message for message in summary.failed)


def test_a_poll_waits_as_long_as_retry_after_says() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("generate-report"):
            return httpx.Response(201, json={"sbom_url": "https://api.example/r/fetch-report/1"})
        return httpx.Response(202, headers={"Retry-After": "7"})

    slept: list[float] = []
    with httpx.Client(transport=httpx.MockTransport(answer)) as client:
        exporter = Exporter(
            client, client, "https://api.example", poll_seconds=1.0, poll_attempts=3, sleep=slept.append
        )
        assert exporter.poll("o/r", "https://api.example/r/fetch-report/1") == 7.0
        with pytest.raises(Exception, match="not ready after 3 polls"):
            exporter.export("o/r")
    assert slept == [7.0, 7.0, 7.0]


def test_cache_keys_do_not_carry_the_port() -> None:
    assert (
        cache_key("http://127.0.0.1:41234/api/v3/orgs/acme/repos?page=1")
        == "http://127.0.0.1/api/v3/orgs/acme/repos?page=1"
    )
    assert cache_key("https://api.github.com/orgs/acme/repos") == "https://api.github.com/orgs/acme/repos"


def test_a_listing_served_on_another_port_is_still_revalidated(engine: Engine) -> None:
    """The demo serves its world on a new port each time; the warm listing must still be free 304s."""
    summaries = []
    for _ in range(2):
        world = generate_world(7, "small")
        with SandboxServer(world) as server:
            sandbox = RunningSandbox(server.base_url, server.alt_base_url, world, server.router, server)
            summaries.append(run_sync(sandbox, engine, settings_for(sandbox, **{"github.report_poll_seconds": 0.0})))
    cold, warm = summaries
    assert cold.listing_not_modified == 0 and cold.ingested > 0
    assert warm.listing_pages == warm.listing_not_modified > 0
    assert warm.reports_requested == 0
