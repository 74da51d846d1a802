"""The pipeline runner and the worker: runs recorded, failures resumed, one leader across processes."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlmodel import Session, select

from bot.config import Secrets, Settings
from bot.pipeline import StageContext, run_pipeline
from bot.store import leases
from bot.store.engine import make_engine, upgrade
from bot.store.tables import RepositoryRow, RunRow
from tests.worker_stages import REGISTRY

ROOT = Path(__file__).parent.parent


def _context(url: str) -> StageContext:
    engine = make_engine(url)
    upgrade(engine)
    settings = Settings(database={"url": url})  # type: ignore[arg-type]
    return StageContext(settings=settings, secrets=Secrets(), engine=engine, now=datetime.now(UTC))


def test_failed_stage_is_recorded_and_resumed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UPKEEP_TEST_STAGE_SECONDS", "0")
    context = _context(f"sqlite:///{tmp_path / 'run.db'}")
    monkeypatch.setenv("UPKEEP_TEST_FAIL_RESOLVE", "1")
    first = run_pipeline(context, REGISTRY)
    assert first.status == "failed"
    assert first.stages["sync"]["status"] == "ok"
    assert first.stages["resolve"] == {
        "status": "failed",
        "error": "RuntimeError: registry down",
        "seconds": first.stages["resolve"]["seconds"],
    }
    monkeypatch.setenv("UPKEEP_TEST_FAIL_RESOLVE", "0")
    second = run_pipeline(context, REGISTRY)
    assert second.resumed_from == "resolve"
    assert list(second.stages) == ["resolve"]
    assert second.status == "ok"
    with Session(context.engine) as session:
        assert len(session.exec(select(RepositoryRow)).all()) == 1  # sync was not repeated
        runs = session.exec(select(RunRow).order_by(RunRow.id)).all()  # type: ignore[arg-type]
    assert [r.status for r in runs] == ["failed", "ok"]
    third = run_pipeline(context, REGISTRY)
    assert third.resumed_from is None and list(third.stages) == ["sync", "resolve"]


def test_unknown_stage_is_named(tmp_path: Path) -> None:
    context = _context(f"sqlite:///{tmp_path / 'run.db'}")
    with pytest.raises(ValueError, match="unknown stage"):
        run_pipeline(context, REGISTRY, stages=["nope"])


def test_lease_excludes_a_second_holder_until_expiry(db_url: str) -> None:
    engine = make_engine(db_url)
    upgrade(engine)
    t0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    assert leases.try_acquire(engine, "scheduler", "a", ttl_seconds=60, now=t0)
    assert not leases.try_acquire(engine, "scheduler", "b", ttl_seconds=60, now=t0)
    assert leases.try_acquire(engine, "scheduler", "a", ttl_seconds=60, now=t0)  # renewal
    later = datetime(2026, 11, 26, 12, 2, tzinfo=UTC)
    assert leases.try_acquire(engine, "scheduler", "b", ttl_seconds=60, now=later)  # a died
    assert leases.holder_of(engine, "scheduler", now=later) == "b"
    leases.release(engine, "scheduler", "b")
    assert leases.holder_of(engine, "scheduler", now=later) is None
    engine.dispose()


def _start_worker(config: Path, url: str, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "UPKEEP_TEST_STAGE_SECONDS": "1.2", "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "--config", str(config), "--database-url", url, "worker",
         "--registry", "tests.worker_stages:REGISTRY", "--poll-seconds", "0.5"],
        cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT,
    )  # fmt: skip


@pytest.mark.slow
def test_two_workers_run_each_job_once(db_url: str, tmp_path: Path) -> None:
    config = tmp_path / "upkeep.toml"
    # Only the sync job fires (every 2 s); the others are pushed to a date that never comes soon.
    never = "0 0 1 1 *"
    config.write_text(
        "[schedule]\n"
        'sync = "*/2 * * * * *"\n'
        + "".join(f'{job} = "{never}"\n' for job in ("resolve", "gather", "score", "digest", "issues", "review"))
        + "lease_seconds = 10\n"
    )
    engine = make_engine(db_url)
    upgrade(engine)
    workers = [_start_worker(config, db_url, tmp_path / f"w{i}.log") for i in range(2)]
    try:
        # Wait for two finished job runs rather than a fixed time: on a loaded machine the workers'
        # start-up alone can take longer than a few seconds.
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            with Session(engine) as session:
                finished = session.exec(
                    select(RunRow).where(RunRow.kind == "run", RunRow.finished_at.is_not(None))  # type: ignore[union-attr]
                ).all()
            if len(finished) >= 2:
                break
            time.sleep(0.5)
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        for worker in workers:
            worker.wait(timeout=30)
    logs = "\n".join((tmp_path / f"w{i}.log").read_text() for i in range(2))
    assert all(w.returncode == 0 for w in workers), logs
    with Session(engine) as session:
        runs = session.exec(select(RunRow).where(RunRow.kind == "run").order_by(RunRow.started_at)).all()  # type: ignore[arg-type]
        repos = session.exec(select(RepositoryRow)).all()
    assert len(runs) >= 2, logs
    assert len(repos) == len(runs)  # every job run did its stage exactly once
    assert len({r.note for r in repos}) == 1, "only the leader ran jobs"
    for earlier, later in itertools.pairwise(runs):
        assert earlier.finished_at is not None and earlier.finished_at <= later.started_at, "two runs overlapped"
    assert "took the scheduler lease" in logs
    engine.dispose()


@pytest.mark.slow
def test_a_worker_on_an_empty_store_says_it_has_nothing_to_do_yet_and_runs(tmp_path: Path) -> None:
    # Not refused (`upkeep ingest` can fill the store while it runs), but not silent either.
    config = tmp_path / "upkeep.toml"
    config.write_text("")
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    command = ["--config", str(config), "--database-url", url, "worker", "--poll-seconds", "0.5"]
    worker = subprocess.Popen(
        [sys.executable, "-m", "bot", *command],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        time.sleep(4)
        assert worker.poll() is None, "the worker stopped"
    finally:
        worker.send_signal(signal.SIGTERM)
        _, err = worker.communicate(timeout=30)
    assert worker.returncode == 0, err.decode()
    assert "upkeep worker: starting with nothing to do:" in err.decode()
    assert "upkeep ingest PATH" in err.decode()
