"""Generation time and peak memory of the sandbox worlds (targets: large < 30 s and < 1 GB, small < 1 s).

Run: ``.venv/bin/python bench/sandbox_world.py [--seed N] [--scale small|large ...]``. Each scale is
generated in a fresh process so one measurement does not inflate the next; the time is measured
without tracing, peak memory from ``ru_maxrss`` (whole process, the honest figure for "< 1 GB")
and from ``tracemalloc`` in a second run (Python objects only).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import resource
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _measure(scale: str, seed: int, queue: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    from bot.sandbox import generate_world, world_truth_json

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    world = generate_world(seed, scale)
    generation = time.perf_counter() - started
    rss_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    truth_bytes = len(world_truth_json(world))
    truth_seconds = time.perf_counter() - started
    del world
    tracemalloc.start()
    generate_world(seed, scale)
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    queue.put(
        {
            "scale": scale,
            "seed": seed,
            "generation_seconds": round(generation, 3),
            "rss_peak_mb": round(rss_peak / 1024, 1),
            "rss_before_mb": round(before / 1024, 1),
            "traced_peak_mb": round(traced_peak / 1e6, 1),
            "truth_seconds": round(truth_seconds, 3),
            "truth_json_mb": round(truth_bytes / 1e6, 2),
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--scale", action="append", choices=["small", "large"])
    args = parser.parse_args()
    context = multiprocessing.get_context("spawn")
    for scale in args.scale or ["small", "large"]:
        queue = context.Queue()
        process = context.Process(target=_measure, args=(scale, args.seed, queue))
        process.start()
        result = queue.get()
        process.join()
        target = {"small": (1.0, 1024), "large": (30.0, 1024)}[scale]
        result["within_target"] = result["generation_seconds"] < target[0] and result["rss_peak_mb"] < target[1]
        print(json.dumps(result))


if __name__ == "__main__":
    main()
