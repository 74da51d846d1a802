"""Benchmark of the resolve stage on the sandbox world, served on loopback with added latency.

    .venv/bin/python bench/resolve.py [--scale large] [--latency-ms 50] [--seed 7] [--transport loopback]

Prints: unique packages, registry requests per unique package on a cold store (target ≤ 1.05),
requests on a warm rerun (target 0), wall time cold and warm, and the floor
requests × latency ÷ concurrency (target: cold wall ≤ 2 × floor).

``--transport loopback`` (default) serves the world with ``SandboxServer`` in a child process (so its
threads do not share our interpreter lock) and the latency is the server's real sleep.
``--transport inprocess`` answers from the sandbox ``Router`` inside this process and adds the
latency with ``asyncio.sleep`` in the transport: no sockets and no connection pool, but the
router's work shares our CPU.

On a 2-core machine the loopback run was bound by the client's CPU, not the server's (the server
process stays well under one core): the stage client's cost per request is mostly httpx/httpcore,
hence its per-registry pools (``RegistryPoolTransport``) and the ``sniffio`` dependency.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import tempfile
import time
from collections import defaultdict
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import insert
from sqlmodel import SQLModel

from bot.config import Settings, load_settings
from bot.resolve.stage import ResolveSummary, make_resolve_client, resolve_all
from bot.sandbox import Knobs, Router, SandboxServer, generate_world, sandbox_settings
from bot.sandbox.truth import purl_of
from bot.store.engine import make_engine
from bot.store.tables import ComponentRow


def serve(seed: int, scale: str, latency_ms: float, pipe: Connection) -> None:
    """Child process: serve the world until told to stop; report the request count on the way out."""
    world = generate_world(seed, scale)
    with SandboxServer(world, knobs=Knobs(latency_ms=latency_ms)) as server:
        pipe.send(server.base_url)
        while True:
            message = pipe.recv()
            if message == "stats":
                pipe.send(server.router.stats()["total"])
            elif message == "stop":
                return


def components(world: Any) -> list[dict[str, Any]]:
    versions: dict[str, set[str]] = defaultdict(set)
    for repo in world.internal_repos:
        for dep in repo.dependencies:
            versions[dep.package].add(dep.version)
    rows = []
    for pkg in world.packages:
        purl = purl_of(pkg.ecosystem, pkg.namespace, pkg.name)
        for version in sorted(versions.get(pkg.package_key) or {pkg.versions[-1]}):
            rows.append(
                {
                    "key": f"{purl}@{version}",
                    "package_key": pkg.package_key,
                    "purl": f"{purl}@{version}",
                    "ecosystem": pkg.ecosystem,
                    "namespace": pkg.namespace,
                    "name": pkg.name,
                    "version": version,
                    "licenses": [],
                }
            )
    return rows


class LatencyTransport(httpx.AsyncBaseTransport):
    """The sandbox router in-process, each answer delayed by ``latency`` seconds without blocking the loop."""

    def __init__(self, router: Router, latency: float) -> None:
        self.router = router
        self.latency = latency

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(self.latency)
        await request.aread()
        response = self.router.handler(request)
        return httpx.Response(response.status_code, headers=response.headers, content=response.content)


async def resolve_once(
    engine: Any, settings: Settings, transport: httpx.AsyncBaseTransport | None
) -> tuple[ResolveSummary, float]:
    client = make_resolve_client(settings, transport)  # the stage's own client, as the CLI and pipeline use it
    started = time.perf_counter()
    async with client:
        summary = await resolve_all(engine, settings, client)
    return summary, time.perf_counter() - started


@contextlib.contextmanager
def sandbox(args: argparse.Namespace, world: Any) -> Any:
    """Yield (base URL, transport or None, a function giving the server's request count)."""
    if args.transport == "inprocess":
        router = Router(world)
        yield router.context.base_url, LatencyTransport(router, args.latency_ms / 1000), lambda: router.stats()["total"]
        return
    parent, child = multiprocessing.Pipe()
    server = multiprocessing.Process(target=serve, args=(args.seed, args.scale, args.latency_ms, child), daemon=True)
    server.start()

    def served() -> int:
        parent.send("stats")
        return int(parent.recv())

    try:
        yield parent.recv(), None, served
    finally:
        parent.send("stop")
        server.join(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="large", choices=("small", "large"))
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--transport", default="loopback", choices=("loopback", "inprocess"))
    args = parser.parse_args()

    world = generate_world(args.seed, args.scale)
    with sandbox(args, world) as (base_url, transport, served), tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'bench.db'}")
        SQLModel.metadata.create_all(engine)
        rows = components(world)
        with engine.begin() as conn:
            conn.execute(insert(ComponentRow.__table__), rows)  # type: ignore[attr-defined]
        settings = load_settings(None, overrides=sandbox_settings(base_url, world))
        cold, cold_wall = asyncio.run(resolve_once(engine, settings, transport))
        served_cold = served()
        warm, warm_wall = asyncio.run(resolve_once(engine, settings, transport))
        served_warm = served() - served_cold
        engine.dispose()

    packages = cold.packages
    concurrency = settings.resolve.global_limit
    floor = cold.requests * args.latency_ms / 1000 / concurrency
    print(f"world                      {args.scale}, seed {args.seed}, {args.latency_ms:.0f} ms, {args.transport}")
    print(f"unique packages            {packages} ({len(rows)} components)")
    print(
        f"resolved / unresolved      {cold.resolved + cold.overrides} / {sum(cold.unresolved.values())}"
        f" (retry {cold.retry})"
    )
    print(f"cold requests              {cold.requests} (server saw {served_cold})")
    print(f"requests per package cold  {cold.requests / packages:.3f}   (target <= 1.05)")
    print(f"warm rerun requests        {warm.requests} (server saw {served_warm})   (target 0)")
    print(f"wall time cold             {cold_wall:.1f} s")
    print(f"wall time warm             {warm_wall:.2f} s")
    print(
        f"floor                      {floor:.1f} s  = {cold.requests} x {args.latency_ms / 1000:.3f} s / {concurrency}"
    )
    print(f"cold / floor               {cold_wall / floor:.2f}   (target <= 2)")


if __name__ == "__main__":
    main()
