"""Benchmark of the whole pipeline, cold then warm, against the sandbox served in another process.

    .venv/bin/python bench/pipeline.py [--scale small|medium|large] [--latency-ms 50] [--seed 7]
        [--time-compression 60] [--json]

Three processes: the sandbox server (so its threads do not share upkeep's interpreter lock), and
one process per pipeline run (cold on an empty store, then warm on the same store), so each run's
peak RSS is upkeep's own. Per stage and in total it prints wall time, CPU time, requests per
service and the floor.

The floor is the larger of two:

* the latency floor: for each service, requests × latency ÷ the concurrency upkeep is configured
  to use against it (GitHub: ``github.max_concurrent_reports`` for the SBOM export, 1 for every
  other GitHub call; registries: ``resolve.global_limit``; Open Collective and Slack: 1);
* the budget floor: what GitHub's documented primary limits allow for one token (5,000 REST
  requests an hour; GraphQL 5,000 points an hour, each query counted at the cost the API reported
  when the store has it, else 1 point). It is printed in real hours and in the bench's compressed
  seconds (real seconds ÷ ``--time-compression``): a large cold run is bound by it, not by latency.

The sandbox enforces its default limit profile (``personal-token``: those same budgets) with its
clock compressed by ``--time-compression`` (declared to upkeep as ``github.time_compression``), so
an hour's budget renews every 3600 ÷ factor real seconds. When a budget is spent upkeep does what
it does in production: the stage pauses ("paused: rate limited until T") rather than block for
longer than the retry policy's (compressed) minute. The bench then plays the scheduler: it sleeps
until T and resumes the run (``run_pipeline`` without ``start_over``), as the next scheduled run
would, until the run ends ``ok`` or fails. Each stage's figures add up over its resumptions; the
time spent asleep is printed apart (``paused_s``) and belongs to the wall time, which the budget
floor bounds.

With ``--json`` the last line is one object with at least ``wall_s``, ``floor_s``, ``ratio``,
``peak_rss_mb``, ``requests`` and ``warm_requests``.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import resource
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

GITHUB_REST_PER_HOUR = 5000
GITHUB_GRAPHQL_POINTS_PER_HOUR = 5000


#: A cold large run's GraphQL points are a few real hours of budget; at 60 they take minutes.
DEFAULT_TIME_COMPRESSION = 60.0
#: Resumptions after a pause before the bench gives up (a run that never ends is a bug to report).
MAX_RESUMPTIONS = 200


def serve(seed: int, scale: str, latency_ms: float, compression: float, limits: str, pipe: Connection) -> None:
    """Child process: serve the world; answer ``stats`` with the per-service request counts."""
    from bot.sandbox import Knobs, SandboxServer, generate_world

    world = generate_world(seed, scale)
    knobs = Knobs(latency_ms=latency_ms, time_compression=compression, limits=limits)
    with SandboxServer(world, knobs=knobs) as server:
        pipe.send(server.base_url)
        while True:
            message = pipe.recv()
            if message == "stats":
                stats = server.router.stats()
                points = stats["points_by_service"]
                pipe.send(
                    {
                        "by_service": stats["by_service"],
                        "by_route": stats["by_route"],
                        "points": points,
                        "refused": stats["refused_by_route"],
                    }
                )
            elif message == "stop":
                return


def peak_rss_mb() -> float:
    """This process's own peak resident set, in MB: Linux's ``VmHWM``. Not ``ru_maxrss``: Linux carries
    that over an ``exec`` from the process that forked it, so a child spawned by a parent holding the
    world would report the parent's size as its own floor."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # elsewhere: kB on Linux, bytes on macOS


@dataclass(frozen=True)
class Prepared:
    """What the upkeep process needs from the world, made by the parent: the world itself (154 MB
    on the large scale) never enters the process whose peak RSS is measured."""

    overrides: dict[str, Any]
    environment: dict[str, str]
    now: datetime


def prepare(seed: int, scale: str, base_url: str, compression: float, out: str) -> Prepared:
    """The settings overrides, the secrets' environment and the world's day; the roster and ledger files."""
    from bot.sandbox import generate_world, ledger_csv, roster_csv, sandbox_environment, sandbox_settings

    world = generate_world(seed, scale)
    folder = Path(out)
    (folder / "roster.csv").write_text(roster_csv(world), encoding="utf-8")
    (folder / "ledger.csv").write_text(ledger_csv(world), encoding="utf-8")
    overrides = sandbox_settings(base_url, world, time_compression=compression)
    overrides.update(
        {
            "people.roster_csv": str(folder / "roster.csv"),
            "funding.ledger_csv": str(folder / "ledger.csv"),
            "report.out_dir": str(folder / "review"),
            "issues.seconds_between_writes": 0.0,
            "issues.seconds_between_requests": 0.0,
        }
    )
    return Prepared(overrides, sandbox_environment(world), world.now)


def run_once(prepared: Prepared, database: str, pipe: Connection) -> None:
    """Child process: one whole pipeline run, resumed after each pause at the reset it names; after
    each stage, ask the parent to snapshot the server."""
    from bot.config import Secrets, load_settings
    from bot.http import RateLimited
    from bot.pipeline import StageContext, run_resuming
    from bot.report.quarters import Quarter
    from bot.stages import REGISTRY
    from bot.store.engine import make_engine, upgrade

    overrides = {**prepared.overrides, "database.url": f"sqlite:///{database}"}
    settings = load_settings(None, overrides=overrides, search=False)
    secrets = Secrets.from_environment(prepared.environment)
    engine = make_engine(settings.database_url())
    upgrade(engine)
    stages: dict[str, dict[str, float]] = {}

    def timed(name: str, function: Any) -> Any:
        def wrapper(context: StageContext) -> Any:
            wall, cpu = time.perf_counter(), time.process_time()
            result = None
            try:
                result = function(context)
                return result
            except RateLimited as exc:  # the stage pauses: say which request and how long
                left = (exc.reset_at - datetime.now(UTC)).total_seconds()
                print(f"{name}: paused by {exc} ({left:.1f} s from now)", file=sys.stderr)
                raise
            finally:
                # which part of the stage a rate limit stopped, and until when (a pause's cause)
                for part, summary in (result or {}).items():
                    if isinstance(summary, dict) and summary.get("stopped"):
                        print(f"{name}: {part} stopped by a rate limit until {summary['stopped']}", file=sys.stderr)
                figures = stages.setdefault(name, {"wall_s": 0.0, "cpu_s": 0.0, "runs": 0})
                # the GraphQL points upkeep counted itself (each contributions query's rateLimit.cost)
                counted = ((result or {}).get("evidence") or {}).get("points") or {}
                for purpose, spent in counted.items():
                    figures[f"points_{purpose}"] = figures.get(f"points_{purpose}", 0) + spent
                figures["wall_s"] += time.perf_counter() - wall
                figures["cpu_s"] += time.process_time() - cpu
                figures["runs"] += 1  # more than 1: the stage paused at a spent budget and resumed
                # the process's peak so far: the stage that raises it is the one to look at
                figures["peak_rss_mb"] = peak_rss_mb()
                pipe.send(("stage", name))
                pipe.recv()

        return wrapper

    registry = {name: timed(name, function) for name, function in REGISTRY.items()}
    quarter = str(Quarter.of(prepared.now.date()))
    context = StageContext(
        settings=settings, secrets=secrets, engine=engine, now=prepared.now, options={"quarter": quarter}
    )
    wall, cpu = time.perf_counter(), time.process_time()
    result = run_resuming(context, registry, max_resumptions=MAX_RESUMPTIONS)
    total = {
        "wall_s": time.perf_counter() - wall,
        "cpu_s": time.process_time() - cpu,
        "paused_s": result.paused_s,
        "pauses": result.pauses,
    }
    engine.dispose()
    pipe.send(
        (
            "done",
            {
                "status": result.status,
                "stages": stages,
                "total": total,
                "peak_rss_mb": peak_rss_mb(),
                "concurrency": {
                    "github_reports": settings.github.max_concurrent_reports,
                    "registries": settings.resolve.global_limit,
                },
            },
        )
    )


def _diff(after: dict[str, int], before: dict[str, int]) -> dict[str, int]:
    return {key: value - before.get(key, 0) for key, value in after.items() if value - before.get(key, 0)}


def measure(prepared: Prepared, server: Connection, database: str) -> dict[str, Any]:
    """Run one pipeline in a child process and attribute the server's requests to its stages."""
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    process = context.Process(target=run_once, args=(prepared, database, child))
    server.send("stats")
    first = server.recv()
    before, points_before, refused_before = first["by_service"], first["points"], first["refused"]
    process.start()
    per_stage: dict[str, dict[str, int]] = {}
    while True:
        kind, payload = parent.recv()
        if kind == "done":
            break
        server.send("stats")
        snapshot = server.recv()
        now = snapshot["by_service"]
        per_stage[payload] = dict(Counter(per_stage.get(payload, {})) + Counter(_diff(now, before)))
        refused = _diff(snapshot["refused"], refused_before)
        if refused:  # the limits a stage met: 403/429 answers per route (a pause's cause, or waits within it)
            print(f"{payload}: 403/429 answers (limits, permissions): {refused}", file=sys.stderr)
        before, refused_before = now, snapshot["refused"]
        parent.send("ok")
    process.join()
    server.send("stats")
    last = server.recv()
    for name, counts in per_stage.items():
        payload["stages"].setdefault(name, {})["requests"] = counts
    payload["requests_by_service"] = _diff(last["by_service"], first["by_service"])
    # the primary budget the answered requests spent, as the sandbox charged it (a 304 is free)
    payload["points_by_service"] = _diff(last["points"], points_before)
    payload["requests"] = sum(payload["requests_by_service"].values())
    result: dict[str, Any] = payload
    return result


def latency_floor(requests: dict[str, int], latency_ms: float, concurrency: dict[str, int], reports: int) -> float:
    """requests × latency ÷ the concurrency upkeep uses per service (see the module docstring).

    Services are the sandbox's mount points: ``/api/v3`` (GitHub REST), ``/api/graphql``,
    ``/sbom-downloads`` (the report download host), ``/registry/...``, ``/opencollective/...``,
    ``/slack/...``."""
    seconds = latency_ms / 1000
    floor = 0.0
    for service, count in requests.items():
        if service == "/api/v3":
            # generate-report and fetch-report calls run ``github_reports`` at a time; the rest one by one
            parallel = min(reports, count)
            floor += parallel * seconds / concurrency["github_reports"] + (count - parallel) * seconds
        elif service == "/sbom-downloads":
            floor += count * seconds / concurrency["github_reports"]
        elif service.startswith("/registry"):
            floor += count * seconds / concurrency["registries"]
        else:
            floor += count * seconds
    return floor


def budget_floor_hours(points: dict[str, int]) -> float:
    """Hours GitHub's primary limits for one token need for what the run spent: REST requests
    (``/api/v3``, a 304 free) over 5,000 an hour, GraphQL points over 5,000 an hour, the larger.
    Sustained rates: a budget that starts full saves up to one hour of it."""
    rest, graphql = points.get("/api/v3", 0), points.get("/api/graphql", 0)
    return max(rest / GITHUB_REST_PER_HOUR, graphql / GITHUB_GRAPHQL_POINTS_PER_HOUR)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", default="small", choices=("small", "medium", "large"))
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--time-compression",
        type=float,
        default=DEFAULT_TIME_COMPRESSION,
        help="the sandbox's clock factor for its budgets (github.time_compression); default %(default)g",
    )
    parser.add_argument(
        "--limits", default="personal-token", help="the sandbox's limit profile (bot/sandbox/limits.py; off: none)"
    )
    parser.add_argument("--json", action="store_true", help="end with one JSON object")
    args = parser.parse_args()
    compression = args.time_compression

    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    server = context.Process(
        target=serve, args=(args.seed, args.scale, args.latency_ms, compression, args.limits, child), daemon=True
    )
    server.start()
    base_url = parent.recv()
    with tempfile.TemporaryDirectory(prefix="upkeep-bench-") as folder:
        database = str(Path(folder) / "bench.db")
        prepared = prepare(args.seed, args.scale, base_url, compression, folder)
        cold = measure(prepared, parent, database)
        parent.send("stats")
        routes_cold = Counter(parent.recv()["by_route"])
        warm = measure(prepared, parent, database)
        parent.send("stats")
        routes_all = Counter(parent.recv()["by_route"])
    parent.send("stop")
    server.join(timeout=10)

    graphql_queries = cold["requests_by_service"].get("/api/graphql", 0)
    reports = sum(count for route, count in routes_cold.items() if "/dependency-graph/sbom/" in route)
    latency = latency_floor(cold["requests_by_service"], args.latency_ms, cold["concurrency"], reports)
    hours = budget_floor_hours(cold["points_by_service"])
    budget = hours * 3600 / compression  # the budget floor on the sandbox's compressed clock
    floor = max(latency, budget)
    warm_routes = routes_all - routes_cold

    print(f"pipeline bench: scale {args.scale}, seed {args.seed}, latency {args.latency_ms:g} ms")
    for label, run in (("cold", cold), ("warm", warm)):
        total = run["total"]
        print(
            f"\n{label} run ({run['status']}): {total['wall_s']:.1f} s wall ({total['paused_s']:.1f} s of it paused "
            f"over {total['pauses']} pauses), {total['cpu_s']:.1f} s CPU, "
            f"{run['requests']} requests, peak RSS {run['peak_rss_mb']:.0f} MB"
        )
        print(f"  {'stage':<9} {'wall s':>8} {'cpu s':>8} {'peak MB':>8} {'runs':>4}  requests")
        for name, stage in run["stages"].items():
            counts = ", ".join(f"{service} {count}" for service, count in sorted(stage.get("requests", {}).items()))
            figures = f"{stage['wall_s']:>8.1f} {stage['cpu_s']:>8.1f} {stage['peak_rss_mb']:>8.0f} {stage['runs']:>4}"
            print(f"  {name:<9} {figures}  {counts or '-'}")
    print(f"\nlatency floor (cold): {latency:.1f} s")
    print(
        f"budget floor (cold, one token, personal-token limits): {hours:.2f} h real = {budget:.1f} s at "
        f"x{compression:g} ({cold['points_by_service'].get('/api/v3', 0)} charged REST requests, {graphql_queries} "
        f"GraphQL queries costing {cold['points_by_service'].get('/api/graphql', 0)} points)"
    )
    counted = cold["stages"].get("gather", {}).get("points_contributions", 0)
    print(f"GraphQL points of the contributions queries, as upkeep counted them (rateLimit.cost): {counted}")
    print(
        f"floor: {floor:.1f} s; cold wall / floor = {cold['total']['wall_s'] / floor:.2f}x"
        if floor
        else "floor: 0 s (no latency, no budget)"
    )
    share = warm["requests"] / cold["requests"] if cold["requests"] else 0.0
    print(f"warm requests: {warm['requests']} = {share:.2%} of cold (target <= 1 %)")
    for route, count in warm_routes.most_common(8):
        print(f"  {count:>6}  {route}")
    if args.json:
        ratio = cold["total"]["wall_s"] / floor if floor else None
        print(
            json.dumps(
                {
                    "scale": args.scale,
                    "latency_ms": args.latency_ms,
                    "wall_s": round(cold["total"]["wall_s"], 2),
                    "cpu_s": round(cold["total"]["cpu_s"], 2),
                    "floor_s": round(floor, 2),
                    "latency_floor_s": round(latency, 2),
                    "budget_floor_s": round(budget, 2),
                    "budget_floor_h": round(hours, 3),
                    "time_compression": compression,
                    "status": cold["status"],
                    "paused_s": round(cold["total"]["paused_s"], 2),
                    "pauses": cold["total"]["pauses"],
                    "ratio": round(ratio, 3) if ratio else None,
                    "peak_rss_mb": round(cold["peak_rss_mb"], 1),
                    "requests": cold["requests"],
                    "requests_by_service": cold["requests_by_service"],
                    "points_by_service": cold["points_by_service"],
                    "warm_requests": warm["requests"],
                    "warm_wall_s": round(warm["total"]["wall_s"], 2),
                    "warm_peak_rss_mb": round(warm["peak_rss_mb"], 1),
                    "warm_status": warm["status"],
                    "stages": {name: {k: v for k, v in stage.items()} for name, stage in cold["stages"].items()},
                }
            )
        )


if __name__ == "__main__":
    main()
