"""Requests the GitLab and Forgejo adapters make on a sandbox world: signals per upstream, contributions per
person (never per person x upstream), and the time each part takes on loopback-shaped answers.

    .venv/bin/python bench/forges.py [--seed 7] [--scale small]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import httpx
from sqlmodel import SQLModel

from bot.config import Secrets, load_settings
from bot.forges.registry import make_forges
from bot.http import make_client
from bot.sandbox import Router, generate_world, sandbox_environment, sandbox_settings
from bot.sources.evidence_stage import gather_evidence, make_clients
from bot.sources.signals_stage import gather_signals
from bot.store.engine import make_engine, session_scope
from bot.store.tables import PackageResolutionRow, UpstreamRow


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--scale", default="small")
    args = parser.parse_args()
    world = generate_world(args.seed, args.scale)
    router = Router(world)
    transport = httpx.MockTransport(router.handler)
    settings = load_settings(None, overrides=sandbox_settings("http://sandbox.test", world), search=False)
    secrets = Secrets.from_environment(sandbox_environment(world))
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'bench.db'}")
        SQLModel.metadata.create_all(engine)
        with session_scope(engine) as session:
            for up in world.upstreams:
                session.add(UpstreamRow(key=up.key, host=up.host, owner=up.owner.lower(), name=up.name.lower()))
            for p in world.packages:
                session.add(
                    PackageResolutionRow(package_key=p.package_key, status="resolved", upstream_key=p.true_upstream)
                )
        forges = make_forges(settings, secrets, transport=transport)
        started = time.perf_counter()
        with make_client(transport=transport) as client:
            gather_signals(engine, settings, secrets, client, now=world.now, forges=forges)
        signals_seconds = time.perf_counter() - started
        signal_calls = {name: getattr(forge, "calls", 0) for name, forge in forges.items()}
        clients = make_clients(settings, secrets, transport=transport)
        started = time.perf_counter()
        gather_evidence(engine, settings, secrets, now=world.now, clients=clients, parts=("people", "contributions"))
        evidence_seconds = time.perf_counter() - started
        engine.dispose()
    for config in settings.forges:
        hosts = set(config.hosts)
        upstreams = sum(1 for u in world.upstreams if u.host in hosts)
        accounts = sum(
            len(m) for group, m in (world.gitlab_groups if config.kind == "gitlab" else world.forgejo_orgs).items()
        )
        evidence_calls = getattr(clients.forges[config.name], "calls", 0)
        print(
            f"{config.name} ({config.kind}): signals {signal_calls[config.name]} requests for {upstreams} upstreams "
            f"({signal_calls[config.name] / max(upstreams, 1):.1f} each); people and contributions "
            f"{evidence_calls} requests for {accounts} group members"
        )
    print(f"signals stage {signals_seconds:.2f} s, people and contributions {evidence_seconds:.2f} s (all forges)")


if __name__ == "__main__":
    main()
