"""Evidence I on a sandbox world: GraphQL calls for contributions per window, and SBOM sync cold and warm.

    .venv/bin/python bench/gather.py [--scale large] [--seed 7] [--skip-sync]

Contributions: one query asks ``github.people_per_query`` (10) accounts about one calendar quarter;
the trailing 12 months and the review's quarters are counted from the same quarters, so the calls per
window are the quarter fetches divided by the windows they serve (target: ≤ ⌈people ÷ 10⌉).
A rerun at the same instant asks nothing. Sync: cold lists every repository and requests one report
per exportable repository; warm requests no report (``pushed_at`` unchanged) and its listing is
answered with 304s. Everything runs in-process against the sandbox router (no sockets).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import httpx
from sqlmodel import Session, SQLModel

from bot.config import Secrets, load_settings
from bot.sandbox import roster_csv, sandbox_environment, sandbox_settings
from bot.sandbox.generate import generate_world
from bot.sandbox.server import Router
from bot.sandbox.truth import truth
from bot.sources.evidence_stage import gather_evidence, make_clients
from bot.sources.github_client import make_api_client, make_download_client
from bot.sources.github_sync import SyncSummary, sync_organisations
from bot.store import evidence as store
from bot.store.engine import make_engine, session_scope
from bot.store.tables import PackageResolutionRow

BASE = "http://sandbox.test"


def sync_line(label: str, summary: SyncSummary, router: Router, seconds: float) -> str:
    stats = router.stats()
    reports = sum(v for k, v in stats["by_route"].items() if "generate-report" in k)
    listing = sum(v for k, v in stats["by_route"].items() if k.endswith("/orgs/{}/repos"))
    return (
        f"sync {label:<5} repos listed {summary.listed:>5}  listing requests {listing:>3} "
        f"(304: {summary.listing_not_modified:>3})  reports requested {reports:>5}  ingested {summary.ingested:>5}  "
        f"unchanged {summary.unchanged_repos:>5}  disabled {len(summary.disabled):>3}  requests {stats['total']:>6}  "
        f"{seconds:6.1f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="large", choices=("small", "large"))
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--skip-sync", action="store_true", help="Only the contributions figures.")
    args = parser.parse_args()
    started = time.perf_counter()
    world = generate_world(args.seed, args.scale)
    router = Router(world)
    transport = httpx.MockTransport(router.handler)
    secrets = Secrets.from_environment(sandbox_environment(world))
    with tempfile.TemporaryDirectory() as tmp:
        roster = Path(tmp) / "roster.csv"
        roster.write_text(roster_csv(world), encoding="utf-8")
        overrides = {
            **sandbox_settings(BASE, world),
            "people.roster_csv": str(roster),
            "github.report_poll_seconds": 0.0,
        }
        settings = load_settings(None, overrides=overrides)
        engine = make_engine(f"sqlite:///{Path(tmp) / 'bench.db'}")
        SQLModel.metadata.create_all(engine)
        with session_scope(engine) as session:
            for package in world.packages:
                session.add(
                    PackageResolutionRow(
                        package_key=package.package_key,
                        status="resolved" if package.true_upstream else "unresolved",
                        upstream_key=package.true_upstream,
                    )
                )
        print(
            f"world {args.scale} seed {args.seed}: {len(world.people)} people, generated in "
            f"{time.perf_counter() - started:.1f} s"
        )

        clients = make_clients(settings, secrets, transport=transport)
        began = time.perf_counter()
        summary = gather_evidence(
            engine, settings, secrets, now=world.now, clients=clients, parts=("people", "contributions")
        )
        seconds = time.perf_counter() - began
        calls = summary.calls.get("contributions", 0)
        quarters = settings.people.review_quarters
        windows = 1 + quarters
        target = -(-len(world.people) // 10)
        print(
            f"people: {summary.people} people, {summary.identities} identities "
            f"({summary.calls.get('members', 0)} member queries), {len(summary.bots)} bots excluded"
        )
        print(
            f"contributions cold: {calls} GraphQL calls for {summary.segments_fetched} account-quarters "
            f"({summary.segments_split} split); {windows} windows (trailing 12 months + {quarters} quarters) "
            f"→ {calls / windows:.1f} calls per window, {calls / max(1, quarters):.1f} per quarter; "
            f"target ⌈people ÷ 10⌉ = {target}  {seconds:6.1f} s"
        )
        start, end = world.now - timedelta(days=365), world.now
        with Session(engine) as session:
            counts = store.load_contribution_counts(session, start=start, end=end, bounds="(start, end]")
        plain = {p: {r: dict(k) for r, k in repos.items()} for p, repos in counts.items()}
        same = plain == truth(world)["contributions"]["trailing_12_months"]
        print(f"contributions equal the truth (trailing 12 months): {same}")
        clients.github.calls.clear()
        again = gather_evidence(engine, settings, secrets, now=world.now, clients=clients, parts=("contributions",))
        print(
            f"contributions rerun: {again.calls.get('contributions', 0)} GraphQL calls "
            f"({again.segments_skipped} account-quarters already complete)"
        )

        began = time.perf_counter()
        money = gather_evidence(engine, settings, secrets, now=world.now, clients=clients, parts=("money",))
        print(f"money: payments {money.payments}; calls {money.calls}  {time.perf_counter() - began:6.1f} s")

        if not args.skip_sync:
            token = secrets.github_token.get_secret_value() if secrets.github_token else ""
            for label in ("cold", "warm"):
                router.reset_stats()
                began = time.perf_counter()
                with (
                    make_api_client(settings, token, transport=transport) as api,
                    make_download_client(settings, transport=transport) as download,
                ):
                    synced = sync_organisations(engine, settings, api=api, download=download, now=world.now)
                print(sync_line(label, synced, router, time.perf_counter() - began))
        engine.dispose()
    print(f"total {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
