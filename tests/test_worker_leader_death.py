"""Two workers share a store: the leader is killed with SIGKILL in the middle of a job; the standby
takes the scheduler lease when it expires, the job's next run completes, and the result is what an
uninterrupted run gives: nothing twice, nothing lost."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import pytest
from sqlmodel import Session, select

from bot.sandbox import SandboxServer, generate_world
from bot.sandbox.server import Knobs
from bot.store.engine import make_engine
from bot.store.tables import OutboxRow, RunRow
from tests.test_worker_crash import _ok_runs, _setup, _snapshot, _upkeep, _wait_for


@pytest.mark.slow
def test_the_standby_takes_over_from_a_leader_killed_mid_job(tmp_path: Path) -> None:
    reference_world = generate_world(7, "small")
    with SandboxServer(reference_world) as server:
        config, env = _setup(tmp_path / "ref", reference_world, server.base_url)
        done = subprocess.run(
            _upkeep(config, tmp_path / "ref" / "upkeep.db", "run"), env=env, cwd=tmp_path, capture_output=True,
            timeout=300,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr.decode()[-3000:]
    expected = _snapshot(tmp_path / "ref" / "upkeep.db", reference_world)

    world = generate_world(7, "small")
    with SandboxServer(world, knobs=Knobs(latency_ms=15)) as server:
        config, env = _setup(tmp_path / "pair", world, server.base_url)
        db = tmp_path / "pair" / "upkeep.db"
        leader_log, standby_log = tmp_path / "pair" / "leader.log", tmp_path / "pair" / "standby.log"
        worker = [*_upkeep(config, db, "worker", "--poll-seconds", "0.5")]
        leader = subprocess.Popen(worker, env=env, cwd=tmp_path, stdout=leader_log.open("wb"), stderr=subprocess.STDOUT)
        standby: subprocess.Popen[bytes] | None = None
        try:
            _wait_for(lambda: "took the scheduler lease" in leader_log.read_text(), 60, "the first worker to lead")
            standby = subprocess.Popen(
                worker, env=env, cwd=tmp_path, stdout=standby_log.open("wb"), stderr=subprocess.STDOUT
            )
            _wait_for(lambda: "stage done stage=resolve" in leader_log.read_text(), 120, "the leader mid-job")
            leader.send_signal(signal.SIGKILL)
            leader.wait(timeout=30)
            assert "stage done stage=gather" not in leader_log.read_text(), "the kill must land inside the job"
            assert "took the scheduler lease" not in standby_log.read_text(), "the standby waited while it led"
            _wait_for(lambda: "took the scheduler lease" in standby_log.read_text(), 60, "the standby to take over")
            _wait_for(lambda: _ok_runs(db) >= 1, 240, "the job's next run to complete")
        finally:
            if leader.poll() is None:
                leader.send_signal(signal.SIGKILL)
                leader.wait(timeout=30)
            if standby is not None:
                standby.send_signal(signal.SIGTERM)
                standby.wait(timeout=60)
        assert standby is not None and standby.returncode == 0, standby_log.read_text()[-3000:]
    engine = make_engine(f"sqlite:///{db}")
    with Session(engine) as session:
        statuses = [r.status for r in session.exec(select(RunRow).order_by(RunRow.id))]  # type: ignore[arg-type]
        keys = [o.key for o in session.exec(select(OutboxRow))]
    engine.dispose()
    # the killed run is marked interrupted; a run before it may have paused at a rate limit (the
    # sandbox's limits are GitHub's), which the next scheduled run resumed
    assert "interrupted" in statuses, statuses
    assert set(statuses[: statuses.index("interrupted")]) <= {"paused"}, statuses
    assert len(keys) == len(set(keys))
    actual = _snapshot(db, world)
    for part in expected:
        assert actual[part] == expected[part], f"{part} differs after the leader died"
