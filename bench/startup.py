"""Start-up cost of the ``upkeep`` command, next to a bare interpreter.

Runs each of these ``--repeats`` times as a fresh process and prints, per command, the median and
the best wall time and the median CPU time (user + system of the child, from ``getrusage``: on a
machine shared with other work, CPU time moves less than wall time):

* ``python -c pass``: the floor every Python command pays;
* ``upkeep --help``;
* ``upkeep ingest <small SBOM>`` into a SQLite store that already exists (the schema is current,
  as on every run after the first);
* ``upkeep ingest <small SBOM>`` into a new SQLite store (the schema is created first).

The children may write byte-code (``PYTHONDONTWRITEBYTECODE`` is dropped from their environment), as
an installed upkeep has it: without it every run compiles upkeep's own modules again.

Targets (issue 21): ``upkeep --help`` within 0.3 s of ``python -c pass``, the ingest of a small file
within 0.8 s. The comparison uses the CPU times, which a loaded machine distorts least, and shows the
wall times beside them. With ``--json`` the last line is one object with the figures.

    .venv/bin/python bench/startup.py [--repeats 5] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SBOM = ROOT / "tests" / "data" / "sboms" / "cdx-1.5-cyclic-graph_trivy.json"
TARGET_HELP_S = 0.3
TARGET_INGEST_S = 0.8


def _upkeep() -> list[str]:
    """The installed ``upkeep`` script next to this interpreter, as a user runs it."""
    script = Path(sys.executable).parent / "upkeep"
    return [str(script)] if script.exists() else [sys.executable, "-m", "bot"]


def run_once(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU seconds (user + system) of one child process; raises if it fails."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, check=False)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)}: exit {done.returncode}: {done.stderr.decode()[-400:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def measure(argv: list[str], env: dict[str, str], repeats: int, before: Any = None) -> dict[str, float]:
    walls, cpus = [], []
    for _ in range(repeats):
        if before is not None:
            before()
        wall, cpu = run_once(argv, env)
        walls.append(wall)
        cpus.append(cpu)
    return {
        "wall_s": round(statistics.median(walls), 3),
        "wall_best_s": round(min(walls), 3),
        "cpu_s": round(statistics.median(cpus), 3),
        "cpu_best_s": round(min(cpus), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="End with one JSON object of the figures.")
    args = parser.parse_args()

    # As installed: pip writes byte-code at install time (the Docker image has it), so the children may
    # write and reuse it here too; the first run below, untimed, writes it.
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("UPKEEP_", "GITHUB_", "SLACK_")) and k != "PYTHONDONTWRITEBYTECODE"
    }
    upkeep = _upkeep()
    with tempfile.TemporaryDirectory(prefix="upkeep-startup-") as folder:
        existing = Path(folder) / "existing.db"
        fresh = Path(folder) / "fresh.db"
        run_once([*upkeep, "--database-url", f"sqlite:///{existing}", "ingest", str(SBOM)], env)  # create it

        def remove_fresh() -> None:
            for path in Path(folder).glob("fresh.db*"):
                path.unlink()

        figures = {
            "python": measure([sys.executable, "-c", "pass"], env, args.repeats),
            "help": measure([*upkeep, "--help"], env, args.repeats),
            "ingest": measure(
                [*upkeep, "--database-url", f"sqlite:///{existing}", "ingest", "--replace", str(SBOM)],
                env,
                args.repeats,
            ),
            "ingest_new_store": measure(
                [*upkeep, "--database-url", f"sqlite:///{fresh}", "ingest", str(SBOM)],
                env,
                args.repeats,
                before=remove_fresh,
            ),
        }
    load = os.getloadavg()[0]
    floor = figures["python"]["cpu_s"]
    print(f"start-up bench: {args.repeats} runs each, median (best) wall and CPU; load average {load:.2f}")
    names = {
        "python": "python -c pass",
        "help": "upkeep --help",
        "ingest": f"upkeep ingest {SBOM.name} (existing store)",
        "ingest_new_store": f"upkeep ingest {SBOM.name} (new store)",
    }
    for key, label in names.items():
        row = figures[key]
        print(
            f"  {label:<62} wall {row['wall_s']:6.2f} s ({row['wall_best_s']:.2f})  "
            f"CPU {row['cpu_s']:5.2f} s ({row['cpu_best_s']:.2f})"
        )
    help_over = figures["help"]["cpu_s"] - floor
    ingest_cpu = figures["ingest"]["cpu_s"]
    print(f"  --help over the bare interpreter: {help_over:.2f} s CPU (target ≤ {TARGET_HELP_S} s)")
    print(f"  ingest of a small file: {ingest_cpu:.2f} s CPU (target ≤ {TARGET_INGEST_S} s)")
    if args.json:
        summary = {
            **figures,
            "help_over_python_cpu_s": round(help_over, 3),
            "help_ok": help_over <= TARGET_HELP_S,
            "ingest_ok": ingest_cpu <= TARGET_INGEST_S,
            "load_average": round(load, 2),
        }
        print(json.dumps(summary))


if __name__ == "__main__":
    main()
