"""Signal-gathering calls for a sandbox world, cold and warm.

    .venv/bin/python bench/gather_signals.py [--scale large] [--seed 7]

Cold: an empty store, every upstream observed (≈ ⌈GitHub upstreams ÷ 50⌉ GraphQL queries plus
history pages, REST only for repositories with a funding.json, deps.dev projects in
``GetProjectBatch`` POSTs of up to 5,000, each paginated by 1,000 in the sandbox, and one GET for
each upstream renamed during the run). Fresh rerun: the scan is younger than the TTL, nothing is
missing, so no calls at all. Warm: a forced rescan of an unchanged world; GraphQL and the deps.dev
batches are asked again (POST cannot be revalidated), REST answers come back as 304s. Last, how
many GitHub upstreams got the truth's governance with no company owners configured (company
control read from commit domains alone).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import httpx
from pydantic import SecretStr
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, select

from bot.config import GitHubSettings, RegistrySettings, Secrets, Settings
from bot.http import make_client
from bot.sandbox.generate import generate_world
from bot.sandbox.model import World
from bot.sandbox.server import Router
from bot.sandbox.truth import truth
from bot.sources.signals_stage import SignalsSummary, gather_signals
from bot.store.engine import make_engine, session_scope
from bot.store.tables import UpstreamRow, UpstreamSignalRow

BASE = "http://sandbox.test"


def line(label: str, summary: SignalsSummary, seconds: float) -> str:
    c = summary.calls
    return (
        f"{label:<13} graphql {c['graphql']:>5} (history pages {c['graphql_history_pages']:>3})  "
        f"rest {c['rest']:>4} (304: {c['rest_not_modified']:>4})  "
        f"deps.dev {c['depsdev']:>5} (batches {c['depsdev_batches']:>3}, 304: {c['depsdev_not_modified']:>5})  "
        f"observed {summary.observed:>5}  {seconds:6.1f} s"
    )


def governance_line(engine: Engine, world: World) -> str:
    """How many GitHub upstreams got the truth's governance, from their commits alone (no owners configured)."""
    facts = truth(world)["signals"]
    with Session(engine) as session:
        rows = session.exec(select(UpstreamSignalRow)).all()
    latest = {row.upstream_key: row for row in sorted(rows, key=lambda r: r.scan_id)}
    keys = [k for k in latest if k.startswith("github.com/")]
    right = sum(latest[k].governance == facts[k]["governance"] for k in keys)
    companies = [k for k in keys if facts[k]["governance"] == "company"]
    found = sum(latest[k].governance == "company" for k in companies)
    return (
        f"governance    {right}/{len(keys)} as the truth; company-governed found from commits {found}/{len(companies)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="large", choices=("small", "large"))
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    world = generate_world(args.seed, args.scale)
    router = Router(world)
    settings = Settings(
        github=GitHubSettings(graphql_url=f"{BASE}/api/graphql", api_url=f"{BASE}/api/v3"),
        registries=RegistrySettings(depsdev=f"{BASE}/registry/depsdev"),
    )
    secrets = Secrets(github_token=SecretStr(world.tokens["github"][0]))
    on_github = sum(1 for u in world.upstreams if u.host == "github.com")
    print(
        f"world {args.scale} seed {args.seed}: {len(world.upstreams)} upstreams, {on_github} on GitHub "
        f"(⌈÷50⌉ = {-(-on_github // 50)} batched queries)"
    )
    with tempfile.TemporaryDirectory() as tmp, make_client(transport=httpx.MockTransport(router.handler)) as client:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'bench.db'}")
        SQLModel.metadata.create_all(engine)
        with session_scope(engine) as session:
            for up in world.upstreams:
                session.add(UpstreamRow(key=up.key, host=up.host, owner=up.owner.lower(), name=up.name.lower()))
        for label, rescan in (("cold", False), ("fresh rerun", False), ("warm rescan", True)):
            started = time.perf_counter()
            summary = gather_signals(engine, settings, secrets, client, now=world.now, rescan=rescan)
            print(line(label, summary, time.perf_counter() - started))
        print(governance_line(engine, world))
        engine.dispose()


if __name__ == "__main__":
    main()
