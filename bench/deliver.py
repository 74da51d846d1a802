"""Delivery against the sandbox world: first run, identical rerun, requests and time.

    .venv/bin/python bench/deliver.py [--scale large] [--seed 7] [--max-issues 100]

Builds the inputs from the world (tests/deliver_world.py: usage share minus investment share),
then delivers the digest and the issues twice through slack-sdk and PyGithub against the
sandbox on loopback, and prints per run: wall time, process time, outbox rows, requests by
method and service, and the digest's size against Slack's limits. The rerun must send nothing
but one issue listing.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

from pydantic import SecretStr
from sqlmodel import SQLModel

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.config import Secrets, Settings
from bot.deliver.sinks import build_sinks
from bot.deliver.slack_blocks import build_digest
from bot.deliver.stage import deliver
from bot.sandbox.generate import generate_world
from bot.sandbox.github_rest import GitHubRestService
from bot.sandbox.server import Router, SandboxServer
from bot.sandbox.slack import SlackService, channel_id
from bot.store.engine import make_engine
from tests.deliver_world import world_inputs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="large", choices=["small", "large"])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--max-issues", type=int, default=100)
    args = parser.parse_args()

    started = time.perf_counter()
    world = generate_world(args.seed, args.scale)
    inputs = world_inputs(world)
    print(
        f"world {args.scale}: {len(world.upstreams)} upstreams, {len(inputs.gap_issues)} scored, "
        f"{len(inputs.digest.top_gaps)} with a gap ({time.perf_counter() - started:.1f} s to build)"
    )
    message = build_digest(inputs.digest, top_gaps=40)
    print(
        f"digest: {len(message.blocks)} blocks of 50, {message.text_size()} characters of block text "
        f"(budget 10,000; Slack refuses ~12,000), fallback {len(message.text)} characters"
    )

    router = Router(world, services=[GitHubRestService(world), SlackService(world)])
    with tempfile.TemporaryDirectory() as tmp, SandboxServer(router=router) as server:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'bench.db'}")
        SQLModel.metadata.create_all(engine)
        base = server.base_url
        settings = Settings(
            github={"api_url": f"{base}/api/v3"},
            slack={"api_url": f"{base}/slack/api/", "channel": channel_id(world.slack_channel), "top_gaps": 40},
            issues={
                "repository": world.ospo_repo,
                "max_open": args.max_issues,
                "seconds_between_requests": 0,
                "seconds_between_writes": 0,
            },
        )
        secrets = Secrets(
            github_token=SecretStr(world.tokens["github"][0]), slack_bot_token=SecretStr(world.tokens["slack"][0])
        )
        for run, label in enumerate(("first run", "identical rerun")):
            router.reset_stats()
            sinks, _ = build_sinks(settings, secrets)
            wall, cpu = time.perf_counter(), time.process_time()
            summary = deliver(
                engine,
                settings,
                inputs.digest,
                inputs.gap_issues,
                sinks=sinks,
                now=world.now + timedelta(days=run),
                echo=lambda _: None,
            )
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            calls = Counter(f"{r.method} {r.service}" for r in router.log)
            print(
                f"{label}: {wall:.2f} s wall, {cpu:.2f} s CPU; enqueued {summary.enqueued}, "
                f"delivered {summary.delivered}, failed {summary.failed}; requests: "
                + ", ".join(f"{k} {v}" for k, v in sorted(calls.items()))
            )
        issues = world.issues.get(world.ospo_repo, [])
        print(
            f"world now holds {len(issues)} issues ({sum(i.state == 'open' for i in issues)} open) "
            f"and {len(world.slack_messages)} Slack message(s)"
        )
        engine.dispose()


if __name__ == "__main__":
    main()
