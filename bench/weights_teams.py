"""Requests and time of ``upkeep sync`` with weights and teams (``[usage]`` as the sandbox world is designed
for): a first sync of a fresh store, then an unchanged second sync, against the served sandbox.

Prints, for each sync, the requests the sandbox saw (properties pages, CODEOWNERS reads, repository
listing, SBOM exports), how many answers were 304, and the wall time; and the same two syncs without
``[usage]``, so the cost of weights and teams reads as the difference.

    .venv/bin/python bench/weights_teams.py [--scale small] [--seed 7]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlmodel import SQLModel

from bot.config import Settings, load_settings
from bot.sandbox import SandboxServer, generate_world, sandbox_environment, sandbox_settings
from bot.sandbox.repo_facts import SANDBOX_USAGE
from bot.sources.github_client import make_api_client, make_download_client
from bot.sources.github_sync import SyncSummary, sync_organisations
from bot.store.engine import make_engine


def _sync(
    server: SandboxServer, world: Any, settings: Settings, engine: Any
) -> tuple[SyncSummary, dict[str, Any], float]:
    server.router.reset_stats()
    token = sandbox_environment(world)["GITHUB_TOKEN"]
    started = time.perf_counter()
    with make_api_client(settings, token) as api, make_download_client(settings) as download:
        summary = sync_organisations(engine, settings, api=api, download=download, now=world.now)
    seconds = time.perf_counter() - started
    return summary, server.router.stats(), [r.path for r in server.router.log], seconds


def _count(paths: list[str], word: str) -> int:
    return sum(word in path for path in paths)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="small")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    world = generate_world(args.seed, args.scale)
    print(f"world: seed {args.seed}, scale {args.scale}, {len(world.internal_repos)} repositories")
    with SandboxServer(world) as server, tempfile.TemporaryDirectory() as tmp:
        for label, usage in (("with [usage]", SANDBOX_USAGE), ("without [usage]", {})):
            db = Path(tmp) / f"{label.split()[0]}.db"
            engine = make_engine(f"sqlite:///{db}")
            SQLModel.metadata.create_all(engine)
            overrides = {**sandbox_settings(server.base_url, world), **usage, "github.report_poll_seconds": 0.05}
            settings = load_settings(None, overrides=overrides, search=False)
            for run in ("first sync", "unchanged second sync"):
                summary, stats, paths, seconds = _sync(server, world, settings, engine)
                print(
                    f"{label:16} {run:22} requests {stats['total']:5}  304s {stats['by_status'].get('304', 0):4}  "
                    f"properties {_count(paths, '/properties/values'):3}  contents {_count(paths, '/contents/'):4}  "
                    f"exports {summary.exported:4}  weighted {summary.weighted:4}  teams {summary.teams:4}  "
                    f"{seconds:6.2f} s"
                )
            engine.dispose()


if __name__ == "__main__":
    main()
