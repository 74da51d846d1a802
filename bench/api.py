"""Answer times of the query layer and the HTTP API on the sandbox ``large`` world (about 6,000 scored upstreams).

Two snapshots of the world's truth are stored a week apart in a fresh SQLite file (the second with half
the investments gone, so gaps move); then each answer is timed (median of ``--runs``),
through :class:`bot.query.Ledger` and through the served application (uvicorn on loopback, the bearer
token checked, the ETag computed), and the body size printed. A 304 answer is timed too.

    .venv/bin/python bench/api.py [--seed 7] [--scale large] [--runs 5]
"""

from __future__ import annotations

import argparse
import socket
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from pydantic import SecretStr
from sqlmodel import SQLModel
from starlette.applications import Starlette

from bot.api.http import build_app
from bot.config import load_settings
from bot.gaps.score_stage import load_gap_weights, make_budget
from bot.gaps.stage import score_from_inputs
from bot.query import Ledger
from bot.sandbox.gap_inputs import DEFAULT_RATES, model_inputs
from bot.sandbox.generate import generate_world
from bot.store.engine import make_engine

TOKEN = "bench-token"


@contextmanager
def serving(app: Starlette) -> Iterator[str]:
    """``app`` under uvicorn on a free loopback port, as ``upkeep serve`` runs it."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join()


def _median(call: Callable[[], Any], runs: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = call()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--scale", choices=("small", "large"), default="large")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    world = generate_world(args.seed, args.scale)
    usages, investments, signals = model_inputs(world)
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'bench.db'}")
        SQLModel.metadata.create_all(engine)
        settings = load_settings(None, overrides={"funding.rates": dict(DEFAULT_RATES), "gaps.developers": 500})
        weights = load_gap_weights(settings)
        budget, _ = make_budget(engine, settings, world.now)
        score_from_inputs(engine, usages, investments, signals, weights, budget, world.now - timedelta(days=7))
        half = investments[: len(investments) // 2]  # half the investment stops: gaps move
        score_from_inputs(engine, usages, half, signals, weights, budget, world.now)
        ledger = Ledger(engine, settings, clock=lambda: world.now)
        top = ledger.upstreams(limit=1).items[0].upstream
        changes = ledger.changes()
        print(
            f"api bench: sandbox world {args.scale!r} seed {args.seed}: {ledger.upstreams().total:,} upstreams, "
            f"2 snapshots ({len(changes.movers)} movers, {len(changes.new_gaps)} new gaps; "
            f"{changes.note or 'compared'}); median of {args.runs} runs"
        )
        for name, call in (
            ("Ledger.upstreams (page of 50, by priority)", lambda: ledger.upstreams()),
            (
                "Ledger.upstreams (npm, by gap, page 3)",
                lambda: ledger.upstreams(ecosystem="npm", sort="gap", offset=100),
            ),
            ("Ledger.upstream (top)", lambda: ledger.upstream(top)),
            ("Ledger.history (top)", lambda: ledger.history(top)),
            ("Ledger.changes", lambda: ledger.changes()),
        ):
            seconds, _ = _median(call, args.runs)
            print(f"  {name:50} {seconds * 1000:8.1f} ms")
        with serving(build_app(ledger, (SecretStr(TOKEN),))) as base, httpx.Client(base_url=base, timeout=60) as client:
            auth = {"Authorization": f"Bearer {TOKEN}"}
            for path in (
                "/api/v1/upstreams",
                "/api/v1/upstreams?limit=500&sort=gap",
                f"/api/v1/upstreams/{top}",
                f"/api/v1/upstreams/{top}/history",
                "/api/v1/changes",
            ):
                seconds, response = _median(lambda path=path: client.get(path, headers=auth), args.runs)
                assert response.status_code == 200, (path, response.text)
                tag = response.headers["etag"]
                cached, again = _median(
                    lambda path=path, tag=tag: client.get(path, headers={**auth, "If-None-Match": tag}), args.runs
                )
                assert again.status_code == 304
                print(
                    f"  GET {path:46} {seconds * 1000:8.1f} ms  {len(response.content):>9,} bytes  "
                    f"(304: {cached * 1000:.1f} ms)"
                )


if __name__ == "__main__":
    main()
