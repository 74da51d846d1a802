"""Rate-limit budgets for ``upkeep status``: read from GitHub's headers, written behind, equal to the sandbox's.

The sandbox tests run real stages (the SBOM sync over REST, the people part of the evidence stage
over GraphQL, the signals stage on a client watched by its event hook, the PyGithub issue sink)
inside a recording block, then compare the stored budget
with what the sandbox itself reports: ``GET /rate_limit``, the GraphQL ``rateLimit`` field, or the
headers of its exhausted-budget answer when the ``rate_limit`` knob runs out.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.config import Secrets, Settings, load_settings
from bot.deliver.github_issues import make_github_issue_sink
from bot.http import make_async_client, make_client
from bot.pipeline import StageContext
from bot.sandbox import Knobs
from bot.sources.evidence_stage import gather_evidence
from bot.sources.github_client import github_service_of, read_budget, watch_async_budgets, watch_budgets
from bot.sources.github_sync import sync_stage
from bot.sources.signals_stage import gather_signals
from bot.store.engine import make_engine, session_scope, upgrade
from bot.store.rate_limits import BUDGETS, Budget, BudgetLog, load_budgets, write_budgets
from bot.store.tables import UpstreamRow
from tests.sandbox_fixtures import RunningSandbox
from tests.test_evidence_sandbox import evidence_settings

pytest_plugins = ["tests.sandbox_fixtures"]

DATA = Path(__file__).parent / "data" / "status"


# --------------------------------------------------------------------------- reading headers


@pytest.mark.parametrize(
    "name", ["github_get-repository_octokit-fixture.json", "github_search-issues_octokit-fixture.json"]
)
def test_a_recorded_github_answer_gives_its_budget(name: str) -> None:
    recorded = json.loads((DATA / name).read_text(encoding="utf-8"))[0]
    headers = httpx.Headers({k: str(v) for k, v in recorded["headers"].items()})
    seen = datetime(2017, 10, 10, 15, 0, tzinfo=UTC)
    budget = read_budget(headers, service="github", observed_at=seen)
    assert budget is not None
    assert budget.key == ("github", headers["x-ratelimit-resource"])
    assert (budget.limit, budget.remaining, budget.used) == (
        int(headers["x-ratelimit-limit"]),
        int(headers["x-ratelimit-remaining"]),
        int(headers["x-ratelimit-used"]),
    )
    # octokit's normalised fixtures carry the reset in milliseconds; it is the recording day, not year 49,000
    assert budget.reset_at == datetime(2017, 10, 10, 16, 0, tzinfo=UTC)
    assert budget.observed_at == seen


def test_an_answer_without_budget_headers_gives_none_and_a_missing_resource_is_core() -> None:
    seen = datetime.now(UTC)
    assert read_budget(httpx.Headers({"content-type": "application/json"}), service="x", observed_at=seen) is None
    assert read_budget(httpx.Headers({"x-ratelimit-limit": "ten"}), service="x", observed_at=seen) is None
    budget = read_budget(
        httpx.Headers({"X-RateLimit-Limit": "60", "X-RateLimit-Remaining": "59.0"}), service="ghe", observed_at=seen
    )
    assert budget == Budget("ghe", "core", limit=60, remaining=59, reset_at=None, observed_at=seen)


@pytest.mark.parametrize(
    ("url", "service"),
    [
        ("https://ghe.example.com/api/v3/repos/a/b?per_page=100", "github"),
        ("https://GHE.example.com:443/api/graphql", "github"),
        ("https://user:secret@ghe.example.com/download/sbom.json?token=secret", "ghe.example.com"),
        ("https://api.deps.dev/v3/projects/x", "api.deps.dev"),
    ],
)
def test_a_service_is_github_for_the_configured_api_and_a_bare_host_otherwise(url: str, service: str) -> None:
    settings = Settings(
        github={"api_url": "https://ghe.example.com/api/v3", "graphql_url": "https://ghe.example.com/api/graphql"}
    )
    assert github_service_of(settings)(httpx.URL(url)) == service


# --------------------------------------------------------------------------- the write-behind log


def stored(engine: Engine) -> dict[tuple[str, str], Budget]:
    with Session(engine) as session:
        return {b.key: b for b in load_budgets(session)}


def budget(remaining: int, seen: datetime, resource: str = "core") -> Budget:
    return Budget(
        "github", resource, limit=5000, remaining=remaining, reset_at=seen + timedelta(hours=1), observed_at=seen
    )


def test_the_log_writes_at_most_once_per_interval_then_at_the_end(engine: Engine) -> None:
    clock = [0.0]
    log = BudgetLog(clock=lambda: clock[0])
    t0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    log.note(budget(1, t0))  # nothing records yet: dropped
    with log.recording(engine, every_seconds=30):
        log.note(budget(4999, t0))
        clock[0] = 10
        log.note(budget(4998, t0 + timedelta(seconds=10)))
        assert stored(engine) == {}  # not per request
        clock[0] = 31
        log.note(budget(4997, t0 + timedelta(seconds=31)))
        assert stored(engine)[("github", "core")].remaining == 4997
        clock[0] = 40
        log.note(budget(4996, t0 + timedelta(seconds=40)))
        log.note(budget(4990, t0 + timedelta(seconds=5)))  # a late answer to an older request changes nothing
        log.note(budget(4000, t0 + timedelta(seconds=40), resource="graphql"))
        assert stored(engine)[("github", "core")].remaining == 4997
    after = stored(engine)
    assert (after[("github", "core")].remaining, after[("github", "graphql")].remaining) == (4996, 4000)
    assert after[("github", "core")].observed_at == t0 + timedelta(seconds=40)
    log.note(budget(1, t0 + timedelta(minutes=5)))  # the block is closed: dropped
    assert stored(engine)[("github", "core")].remaining == 4996


def test_an_older_observation_never_replaces_a_newer_stored_one(db_url: str) -> None:
    """On the migrated schema, SQLite then PostgreSQL (``limit`` is a reserved word there)."""
    engine = make_engine(db_url)
    upgrade(engine)
    t0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    try:
        assert write_budgets(engine, [budget(10, t0 + timedelta(minutes=1)), budget(7, t0, "graphql")]) == 2
        assert write_budgets(engine, [budget(20, t0)]) == 0  # another process that saw an earlier answer writes late
        got = stored(engine)
    finally:
        engine.dispose()
    assert got == {
        ("github", "core"): budget(10, t0 + timedelta(minutes=1)),
        ("github", "graphql"): budget(7, t0, "graphql"),
    }


def test_a_store_without_the_table_loses_the_budget_not_the_stage(tmp_path: Path) -> None:
    bare = make_engine(f"sqlite:///{tmp_path / 'bare.db'}")  # never migrated: no rate_limits table
    log, messages = BudgetLog(), _Messages()
    logger = logging.getLogger("bot.store.rate_limits")
    logger.addHandler(messages)  # not caplog: the CLI's logging setup stops ``bot`` logs from reaching the root
    try:
        with log.recording(bare):
            log.note(budget(1, datetime.now(UTC)))
    finally:
        logger.removeHandler(messages)
        bare.dispose()
    assert messages.lines == ["rate limits: could not store 1 budget(s): no such table: rate_limits"]


class _Messages(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


# --------------------------------------------------------------------------- against the sandbox


def secrets_of(sandbox: RunningSandbox) -> Secrets:
    return Secrets.from_environment(sandbox.environment)


def sync_settings(sandbox: RunningSandbox, **extra: Any) -> Settings:
    return load_settings(None, overrides={**sandbox.settings, "github.report_poll_seconds": 0.0, **extra})


def reported_core(sandbox: RunningSandbox, settings: Settings) -> dict[str, int]:
    """What the sandbox says about the token's core budget (``GET /rate_limit`` costs nothing)."""
    token = sandbox.environment["GITHUB_TOKEN"]
    answer = httpx.get(f"{settings.github.api_url}/rate_limit", headers={"Authorization": f"Bearer {token}"})
    answer.raise_for_status()
    core: dict[str, int] = answer.json()["resources"]["core"]
    return core


def graphql_rate_limit(sandbox: RunningSandbox, settings: Settings) -> dict[str, Any]:
    """What the sandbox says about the token's GraphQL budget; asking costs one point."""
    token = sandbox.environment["GITHUB_TOKEN"]
    answer = httpx.post(
        settings.github.graphql_url,
        headers={"Authorization": f"Bearer {token}"},
        json={"query": "{ rateLimit { limit remaining used resetAt } }"},
    )
    reported: dict[str, Any] = answer.json()["data"]["rateLimit"]
    return reported


def assert_equal(got: Budget, want: dict[str, int]) -> None:
    assert (got.limit, got.remaining, got.reset_at) == (
        want["limit"],
        want["remaining"],
        datetime.fromtimestamp(want["reset"], tz=UTC),
    )


def test_the_sync_stage_stores_the_core_budget_the_sandbox_reports(sandbox: RunningSandbox, engine: Engine) -> None:
    sandbox.router.knobs = replace(Knobs(), rate_limit=10_000)  # counted by the router, never reached here
    settings = sync_settings(sandbox)
    started = datetime.now(UTC)
    with BUDGETS.recording(engine):
        summary = sync_stage(StageContext(settings, secrets_of(sandbox), engine, sandbox.world.now))
    assert summary["stopped"] is None and summary["ingested"] > 0
    budgets = stored(engine)
    assert set(budgets) == {("github", "core")}  # the download host sends no budget
    core = budgets[("github", "core")]
    want = reported_core(sandbox, settings)
    assert_equal(core, want)
    assert core.used == want["used"] > 0
    assert started <= core.observed_at <= datetime.now(UTC)
    token = sandbox.environment["GITHUB_TOKEN"]
    with engine.connect() as conn:
        row = [str(v) for v in conn.execute(text("SELECT * FROM rate_limits")).one()]
    assert not any(token in value or "://" in value for value in row)


def test_an_exhausted_budget_is_stored_although_the_stage_stops(sandbox: RunningSandbox, engine: Engine) -> None:
    """The answer that ends the stage (403, remaining 0) is the one an operator most needs to see."""
    sandbox.router.knobs = replace(Knobs(), rate_limit=12)
    settings = sync_settings(sandbox, **{"github.rate_limit_wait_max_seconds": 0, "github.max_concurrent_reports": 1})
    with BUDGETS.recording(engine):
        summary = sync_stage(StageContext(settings, secrets_of(sandbox), engine, sandbox.world.now))
    assert summary["stopped"] is not None
    token = sandbox.environment["GITHUB_TOKEN"]
    probe = httpx.get(f"{settings.github.api_url}/rate_limit", headers={"Authorization": f"Bearer {token}"})
    assert probe.status_code == 403  # the sandbox's own word on the budget: its headers
    core = stored(engine)[("github", "core")]
    assert (core.limit, core.remaining) == (int(probe.headers["x-ratelimit-limit"]), 0)
    assert core.reset_at == datetime.fromtimestamp(int(probe.headers["x-ratelimit-reset"]), tz=UTC)


def test_the_evidence_stage_stores_the_graphql_budget_the_sandbox_reports(
    sandbox: RunningSandbox, engine: Engine, tmp_path: Path
) -> None:
    sandbox.router.knobs = replace(Knobs(), rate_limit=10_000)
    settings = evidence_settings(sandbox, tmp_path)
    with BUDGETS.recording(engine):
        summary = gather_evidence(engine, settings, secrets_of(sandbox), now=sandbox.world.now, parts=("people",))
    assert summary.stopped is None and summary.calls
    graphql, reported = stored(engine)[("github", "graphql")], graphql_rate_limit(sandbox, settings)
    # asking costs one point, so the sandbox reports one more used than the stage's last answer said
    assert (graphql.limit, graphql.remaining - 1, (graphql.used or 0) + 1) == (
        reported["limit"],
        reported["remaining"],
        reported["used"],
    )
    assert graphql.reset_at == datetime.fromisoformat(reported["resetAt"].replace("Z", "+00:00"))


def test_the_issue_sink_stores_the_budget_pygithub_saw(sandbox: RunningSandbox, engine: Engine) -> None:
    settings = sync_settings(
        sandbox,
        **{
            "issues.repository": sandbox.world.ospo_repo,
            "issues.seconds_between_requests": 0,
            "issues.seconds_between_writes": 0,
        },
    )
    sink = make_github_issue_sink(settings, secrets_of(sandbox))
    assert sink is not None
    with BUDGETS.recording(engine):
        assert sink.close_duplicates() == []  # lists the repository's issues; the world has no duplicates
    core = stored(engine)[("github", "core")]
    assert_equal(core, reported_core(sandbox, settings))


def test_a_client_built_elsewhere_is_watched_by_its_hook_and_names_github_apart(
    sandbox: RunningSandbox, engine: Engine
) -> None:
    """The signals stage's client is shared by GitHub and deps.dev; only GitHub's answers state a budget."""
    settings = load_settings(None, overrides=sandbox.settings)
    with session_scope(engine) as session:
        for up in sandbox.world.upstreams:
            session.add(UpstreamRow(key=up.key, host=up.host, owner=up.owner.lower(), name=up.name.lower()))
    with BUDGETS.recording(engine), make_client() as client:
        watch_budgets(client, github_service_of(settings))
        summary = gather_signals(engine, settings, secrets_of(sandbox), client, now=sandbox.world.now)
    assert summary.observed > 0 and summary.calls["depsdev"] > 0
    budgets = stored(engine)
    assert {service for service, _ in budgets} == {"github"}
    graphql, reported = budgets[("github", "graphql")], graphql_rate_limit(sandbox, settings)
    assert (graphql.limit, graphql.remaining - 1) == (reported["limit"], reported["remaining"])


def test_an_async_registry_client_records_a_budget_only_when_one_is_sent(
    sandbox: RunningSandbox, engine: Engine
) -> None:
    settings = load_settings(None, overrides=sandbox.settings)
    package = next(p for p in sandbox.world.packages if p.package_key.startswith("npm/"))
    repo = sandbox.world.upstreams[0]
    token = sandbox.environment["GITHUB_TOKEN"]

    async def fetch() -> httpx.Response:
        async with make_async_client() as client:
            watch_async_budgets(client)  # named by host: the sandbox serves registries and GitHub on one host
            registry = await client.get(f"{settings.registries.npm}/{package.package_key.removeprefix('npm/')}")
            assert registry.status_code == 200 and "x-ratelimit-limit" not in registry.headers
            return await client.get(
                f"{settings.github.api_url}/repos/{repo.owner}/{repo.name}",
                headers={"Authorization": f"Bearer {token}"},
            )

    with BUDGETS.recording(engine):
        answer = asyncio.run(fetch())
    host = httpx.URL(settings.github.api_url).host
    assert stored(engine) == {
        (host, "core"): Budget(
            host,
            "core",
            limit=int(answer.headers["x-ratelimit-limit"]),
            remaining=int(answer.headers["x-ratelimit-remaining"]),
            used=int(answer.headers["x-ratelimit-used"]),
            reset_at=datetime.fromtimestamp(int(answer.headers["x-ratelimit-reset"]), tz=UTC),
            observed_at=stored(engine)[(host, "core")].observed_at,
        )
    }


def test_within_one_window_the_smaller_remaining_is_the_later_budget() -> None:
    """Answers to concurrent requests arrive out of order; within a window the budget only shrinks."""
    reset = datetime(2026, 11, 15, 13, tzinfo=UTC)
    seen = datetime(2026, 11, 15, 12, tzinfo=UTC)
    earlier = Budget("github", "graphql", 5000, 4990, reset, seen + timedelta(seconds=2))
    later = Budget("github", "graphql", 5000, 4986, reset, seen + timedelta(seconds=1))  # noted first, used more
    assert later.supersedes(earlier) and not earlier.supersedes(later)
    next_window = Budget("github", "graphql", 5000, 4999, reset + timedelta(hours=1), seen)
    assert next_window.supersedes(later)
