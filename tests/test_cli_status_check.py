"""``upkeep status --check`` (the container's HEALTHCHECK) and the last pipeline run kept in view."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from bot.cli import app
from bot.store import leases
from bot.store.engine import make_engine, session_scope, upgrade
from bot.store.tables import RunRow


@pytest.fixture
def store(tmp_path: Path) -> Iterator[tuple[str, Engine]]:
    url = f"sqlite:///{tmp_path / 'upkeep.db'}"
    engine = make_engine(url)
    upgrade(engine)
    yield url, engine
    engine.dispose()


def _run(engine: Engine, kind: str, status: str, **stages: str) -> int:
    with session_scope(engine) as session:
        row = RunRow(kind=kind, status=status, stages={k: {"status": v} for k, v in stages.items()}, error=None)
        if status == "failed":
            row.error = "gather: api.github.com cannot be reached"
        session.add(row)
        session.flush()
        assert row.id is not None
        return row.id


def check(url: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["--database-url", url, "status", "--check"])
    return result.exit_code, result.output.strip()


def test_check_needs_a_live_leader_and_a_last_run_that_did_not_fail(store: tuple[str, Engine]) -> None:
    url, engine = store
    assert check(url) == (
        1,
        "unhealthy: no worker holds the scheduler lease (none running, or its heartbeat stopped)",
    )
    assert leases.try_acquire(engine, leases.SCHEDULER_LEASE, "host:1", ttl_seconds=120)
    assert check(url) == (0, "healthy: host:1 leads the scheduler; no run yet")
    ok = _run(engine, "run", "ok", sync="ok")
    assert check(url) == (0, f"healthy: host:1 leads the scheduler; last run {ok} ok")
    failed = _run(engine, "run", "failed", sync="failed")
    _run(engine, "ingest", "ok")  # a later ingest does not hide the failed pipeline run
    code, line = check(url)
    assert (
        code == 1
        and line == f"unhealthy: the last pipeline run ({failed}) failed: gather: api.github.com cannot be reached"
    )


def test_check_sees_a_stopped_heartbeat(store: tuple[str, Engine]) -> None:
    url, engine = store
    long_ago = datetime.now(UTC) - timedelta(hours=1)
    assert leases.try_acquire(engine, leases.SCHEDULER_LEASE, "host:1", ttl_seconds=120, now=long_ago)
    assert check(url)[0] == 1


def test_check_writes_nothing_to_a_new_store(tmp_path: Path) -> None:
    db = tmp_path / "never.db"
    assert check(f"sqlite:///{db}") == (1, f"unhealthy: no store at {db}; has a worker started on it?")
    assert not db.exists()
    empty = tmp_path / "empty.db"
    empty.write_bytes(b"")
    code, line = check(f"sqlite:///{empty}")
    assert code == 1 and line.startswith("unhealthy: the store cannot be read (no such table: leases)")


def test_status_keeps_the_last_pipeline_run_in_view_and_lines_whole(store: tuple[str, Engine]) -> None:
    url, engine = store
    stages = {f"stage_{n}_with_a_long_name": "ok" for n in range(12)}
    pipeline = _run(engine, "run", "ok", **stages)
    for _ in range(7):
        _run(engine, "ingest", "ok")
    result = CliRunner().invoke(app, ["--database-url", url, "status", "--limit", "3"])
    assert result.exit_code == 0, result.output
    (row,) = [line for line in result.output.splitlines() if f" {pipeline} " in line and " run " in line]
    assert all(f"{name}:ok" in row for name in stages), "piped output is not wrapped at 80 columns"
