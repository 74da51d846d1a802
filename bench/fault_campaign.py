"""Fault campaign: faults and kills against the sandbox; prints a table of figures per run.

    .venv/bin/python bench/fault_campaign.py [--fault-seeds 5] [--fault-rate 0.2] [--kills 10]

Faults: a clean demo, then for each fault seed a demo at ``--fault-rate`` (GitHub 403/429 secondary
limits among the faults, a quarter of them without any header, plus 5xx, resets, timeouts and cut
bodies, on every service) and at most two reruns into the same folder; each must end with the clean
demo's issues, Slack messages, gaps and outbox (``tests/test_demo_faults.final_state``: issue links
without their numbers, which follow the order creations succeed in), nothing failed or dead. Kills:
one ``upkeep run`` as the reference, then ``upkeep run`` processes killed with SIGKILL at random
moments, ``--kills`` times in one store, then one run to the end; the store and the world must equal
the reference, no delivery twice and none lost.
"""

from __future__ import annotations

import argparse
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.demo import DemoOptions, run_demo  # noqa: E402
from bot.sandbox import SandboxServer, generate_world  # noqa: E402
from bot.sandbox.server import Knobs  # noqa: E402
from tests.test_demo_faults import final_state  # noqa: E402
from tests.test_worker_crash import _setup, _snapshot, _upkeep  # noqa: E402

FAULT_COLUMNS = ("seed", "runs", "requests", "faults", "limit answers", "header-less", "retry rounds",
                 "issues", "outbox", "equal to clean", "seconds")  # fmt: skip


def table(header: tuple[str, ...], rows: list[tuple[object, ...]]) -> str:
    """A Markdown table of ``rows`` under ``header``."""
    cells = [tuple(str(c) for c in header), *(tuple(str(c) for c in row) for row in rows)]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |" for row in cells]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def fault_campaign(tmp: Path, seeds: int, rate: float) -> bool:
    quiet = lambda _: None  # noqa: E731
    started = time.perf_counter()
    clean = run_demo(DemoOptions(out=tmp / "clean", fresh=True), echo=quiet)
    expected = final_state(tmp / "clean", clean)
    print(f"clean demo: {len(expected['issues'])} issues, {len(expected['slack'])} Slack messages, "
          f"{len(expected['outbox'])} outbox rows ({time.perf_counter() - started:.0f} s)")  # fmt: skip
    rows: list[tuple[object, ...]] = []
    for seed in range(1, seeds + 1):
        out = tmp / f"faulty-{seed}"
        started = time.perf_counter()
        results = [run_demo(DemoOptions(out=out, fresh=True, fault_rate=rate, fault_seed=seed), echo=quiet)]
        while final_state(out, results[-1]) != expected and len(results) < 3:
            results.append(run_demo(DemoOptions(out=out, fault_rate=rate, fault_seed=seed), echo=quiet))
        got = final_state(out, results[-1])
        counts = [r.requests for r in results]
        faults = sum(sum(c.get("faults", {}).values()) for c in counts)
        limits = sum(n for c in counts for f, n in c.get("faults", {}).items() if f in ("403", "429"))
        states = "/".join(sorted({state for _, state in got["outbox"]}))
        rows.append((seed, len(results), sum(c.get("total", 0) for c in counts), faults, limits,
                     sum(c.get("headerless_limits", 0) for c in counts), sum(len(r.retries) for r in results),
                     len(got["issues"]), f"{len(got['outbox'])} {states}", got == expected,
                     round(time.perf_counter() - started)))  # fmt: skip
    print(f"faults at {rate:.0%} (runs: the faulty demo and its reruns, at most 3)")
    print(table(FAULT_COLUMNS, rows))
    return all(row[-2] for row in rows)


def kill_campaign(tmp: Path, kills: int, rng: random.Random) -> bool:
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
            moment = rng.uniform(0.5, max(1.0, took))  # inside a run (a resumed run is shorter still)
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
        states = sorted({row[0] for row in connection.execute("select state from outbox")})
    markers = [i.body.split("-->", 1)[0] for repo in world.issues.values() for i in repo if "upkeep:gap:" in i.body]
    differing = [part for part in expected if actual[part] != expected[part]]
    duplicates = (len(keys) - len(set(keys))) + (len(markers) - len(set(markers)))
    lost = len(expected["outbox"]) - len(set(actual["outbox"]) & set(expected["outbox"]))
    print(f"kills: {kills} SIGKILLs at {moments} s (reference run {took:.1f} s), then one run to the end")
    header = ("kills", "outbox rows", "outbox states", "issues", "Slack messages", "duplicates", "lost",
              "parts differing from the reference")  # fmt: skip
    row = (kills, f"{len(keys)} (reference {len(expected['outbox'])})", "/".join(states),
           f"{len(actual['issues'])} (reference {len(expected['issues'])})",
           f"{len(world.slack_messages)} (reference {len(reference_world.slack_messages)})",
           duplicates, lost, ", ".join(differing) or "none")  # fmt: skip
    print(table(header, [row]))
    return duplicates == 0 and lost == 0 and not differing


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fault-seeds", type=int, default=5)
    parser.add_argument("--fault-rate", type=float, default=0.2)
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--seed", type=int, default=7, help="seed of the kill moments")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        faults_ok = fault_campaign(Path(tmp), args.fault_seeds, args.fault_rate) if args.fault_seeds else True
        kills_ok = kill_campaign(Path(tmp), args.kills, random.Random(args.seed)) if args.kills else True
    print(f"campaign: faults {'equal to clean' if faults_ok else 'DIFFER'}, kills {'clean' if kills_ok else 'DIFFER'}")
    sys.exit(0 if faults_ok and kills_ok else 1)


if __name__ == "__main__":
    main()
