"""Fault campaign: faults and kills against the sandbox; prints whether each ends as a clean run.

    .venv/bin/python bench/fault_campaign.py [--fault-seeds 2] [--fault-rate 0.2] [--kills 3]

Faults: a clean demo, then for each fault seed a demo at ``--fault-rate`` (GitHub 403/429 secondary
limits among the faults, a quarter of them without any header, plus 5xx, resets, timeouts and cut
bodies) and at most two reruns into the same folder; each must end with the clean demo's issues,
Slack messages, gaps and outbox, nothing failed or dead. Kills: one ``upkeep run`` as the reference,
then ``upkeep run`` processes killed with SIGKILL at random moments, ``--kills`` times in one store,
then one run to the end; the store and the world must equal the reference, nothing twice.
"""

from __future__ import annotations

import argparse
import json
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.demo import DemoOptions, DemoResult, run_demo  # noqa: E402
from bot.sandbox import SandboxServer, generate_world  # noqa: E402
from bot.sandbox.server import Knobs  # noqa: E402
from tests.test_worker_crash import _setup, _snapshot, _upkeep  # noqa: E402


def final_state(out: Path, result: DemoResult) -> dict[str, Any]:
    world = result.world
    assert world is not None
    issues = sorted((i.title, i.body, i.state) for repo in world.issues.values() for i in repo)
    messages = [m["text"] for m in json.loads((out / "slack" / "messages.json").read_text())]
    with sqlite3.connect(out / "upkeep.db") as db:
        outbox = sorted(db.execute("select key, state from outbox").fetchall())
    return {"issues": issues, "slack": messages, "gaps": (out / "review" / "gaps.csv").read_text(), "outbox": outbox}


def fault_campaign(tmp: Path, seeds: int, rate: float) -> None:
    quiet = lambda _: None  # noqa: E731
    clean = run_demo(DemoOptions(out=tmp / "clean", fresh=True), echo=quiet)
    expected = final_state(tmp / "clean", clean)
    print(f"clean demo: {len(expected['issues'])} issues, {len(expected['slack'])} Slack messages")
    for seed in range(1, seeds + 1):
        out = tmp / f"faulty-{seed}"
        started = time.perf_counter()
        result = run_demo(DemoOptions(out=out, fresh=True, fault_rate=rate, fault_seed=seed), echo=quiet)
        runs, retries = 1, len(result.retries)
        while final_state(out, result) != expected and runs < 3:
            result = run_demo(DemoOptions(out=out, fault_rate=rate, fault_seed=seed), echo=quiet)
            runs, retries = runs + 1, retries + len(result.retries)
        got = final_state(out, result)
        states = sorted({state for _, state in got["outbox"]})
        print(
            f"faults {rate:.0%} seed {seed}: runs {runs}, deliver retry rounds {retries}, outbox {states}, "
            f"equal to clean: {got == expected} ({time.perf_counter() - started:.0f} s)"
        )


def kill_campaign(tmp: Path, kills: int, rng: random.Random) -> None:
    reference_world = generate_world(7, "small")
    with SandboxServer(reference_world) as server:
        config, env = _setup(tmp / "ref", reference_world, server.base_url)
        started = time.perf_counter()
        done = subprocess.run(_upkeep(config, tmp / "ref" / "upkeep.db", "run"), env=env, capture_output=True)
        took = time.perf_counter() - started
        assert done.returncode == 0, done.stderr.decode()[-2000:]
    expected = _snapshot(tmp / "ref" / "upkeep.db", reference_world)
    world = generate_world(7, "small")
    with SandboxServer(world, knobs=Knobs(latency_ms=5)) as server:
        config, env = _setup(tmp / "kill", world, server.base_url)
        db = tmp / "kill" / "upkeep.db"
        moments = []
        for _ in range(kills):
            moment = rng.uniform(0.5, max(1.0, took * 1.5))
            process = subprocess.Popen(_upkeep(config, db, "run"), env=env, stdout=subprocess.DEVNULL,
                                       stderr=subprocess.DEVNULL)  # fmt: skip
            time.sleep(moment)
            process.send_signal(signal.SIGKILL)
            process.wait()
            moments.append(round(moment, 1))
        final = subprocess.run(_upkeep(config, db, "run"), env=env, capture_output=True)
        assert final.returncode == 0, final.stderr.decode()[-2000:]
    actual = _snapshot(db, world)
    with sqlite3.connect(db) as connection:
        keys = [row[0] for row in connection.execute("select key from outbox")]
    markers = [i.body.split("-->", 1)[0] for repo in world.issues.values() for i in repo if "upkeep:gap:" in i.body]
    differing = [part for part in expected if actual[part] != expected[part]]
    print(f"kills: {kills} SIGKILLs at {moments} s (reference run {took:.1f} s), then one run to the end")
    print(
        f"  outbox keys unique: {len(keys) == len(set(keys))}; issues per marker unique: "
        f"{len(markers) == len(set(markers))}; Slack messages {len(world.slack_messages)} "
        f"(reference {len(reference_world.slack_messages)}); parts differing from the reference: {differing or 'none'}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fault-seeds", type=int, default=2)
    parser.add_argument("--fault-rate", type=float, default=0.2)
    parser.add_argument("--kills", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7, help="seed of the kill moments")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        fault_campaign(Path(tmp), args.fault_seeds, args.fault_rate)
        kill_campaign(Path(tmp), args.kills, random.Random(args.seed))


if __name__ == "__main__":
    main()
