"""``upkeep status`` shows the rate-limit budget left per service and resource, read from a SQLite file."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from bot.cli import app
from bot.cli.run import budget_line
from bot.pipeline import StageContext
from bot.sandbox import Knobs
from bot.sources.github_sync import sync_stage
from bot.store.engine import make_engine, upgrade
from bot.store.rate_limits import BUDGETS, Budget
from tests.sandbox_fixtures import RunningSandbox
from tests.test_status_rate_limits import reported_core, secrets_of, sync_settings

pytest_plugins = ["tests.sandbox_fixtures"]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[tuple[str, Engine]]:
    """A SQLite file brought to the newest schema by the migrations, as the CLI finds it."""
    url = f"sqlite:///{tmp_path / 'upkeep.db'}"
    engine = make_engine(url)
    upgrade(engine)
    yield url, engine
    engine.dispose()


def status(url: str) -> list[str]:
    result = CliRunner().invoke(app, ["--database-url", url, "status"])
    assert result.exit_code == 0, result.output
    return result.output.splitlines()


def utc(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def test_status_shows_the_budget_a_sync_left(sandbox: RunningSandbox, store: tuple[str, Engine]) -> None:
    url, engine = store
    sandbox.router.knobs = replace(Knobs(), rate_limit=10_000)
    settings = sync_settings(sandbox)
    with BUDGETS.recording(engine):
        sync_stage(StageContext(settings, secrets_of(sandbox), engine, sandbox.world.now))
    want = reported_core(sandbox, settings)
    reset = datetime.fromtimestamp(want["reset"], tz=UTC)
    lines = [line for line in status(url) if line.startswith("rate limit ")]
    assert len(lines) == 1
    assert lines[0].startswith(
        f"rate limit github/core: {want['remaining']}/{want['limit']} left, resets {utc(reset)} (in "
    )
    assert " min), seen " in lines[0]


def test_status_without_budgets_says_so(store: tuple[str, Engine]) -> None:
    url, _ = store
    assert "rate limits: none seen yet (stages record them as they talk to GitHub)" in status(url)


def test_a_budget_line_says_when_the_window_is_over() -> None:
    now = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    seen = now - timedelta(hours=2)
    spent = Budget("github", "graphql", limit=5000, remaining=0, reset_at=now - timedelta(hours=1), observed_at=seen)
    assert budget_line(spent, now) == (
        f"rate limit github/graphql: 0/5000 left, resets {utc(spent.reset_at or now)} "
        f"(passed: the budget is full again), seen {utc(seen)}"
    )
    soon = replace(spent, remaining=12, reset_at=now + timedelta(minutes=41, seconds=50))
    assert "12/5000 left" in budget_line(soon, now) and "(in 42 min)" in budget_line(soon, now)
    unknown = replace(spent, reset_at=None)
    assert budget_line(unknown, now) == f"rate limit github/graphql: 0/5000 left, seen {utc(seen)}"
