"""A store filled from the served sandbox world, for the query layer, the API and the MCP tests
(register as a plugin: ``pytest_plugins = ["tests.sandbox_fixtures", "tests.api_fixtures"]``).

The real stages run once against the loopback sandbox; the gap stage runs twice, a week apart: the
first time with the top upstream held out (``gaps.exclude``), so history and ``changes`` have a
real difference to show (one upstream newly scored, with its reason).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

import pytest
import uvicorn
from alembic import command
from pydantic import SecretStr
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

from bot.api.http import build_app
from bot.config import Secrets, Settings, load_settings
from bot.gaps.score_stage import score_stage
from bot.pipeline import StageContext
from bot.query import Ledger
from bot.resolve.stage import resolve_stage
from bot.sandbox import Knobs, ledger_csv, roster_csv
from bot.sandbox.gap_inputs import DEFAULT_RATES
from bot.sources.evidence_stage import evidence_stage
from bot.sources.github_sync import sync_stage
from bot.sources.signals_stage import signals_stage
from bot.store.engine import alembic_config, make_engine
from bot.store.gaps import latest_snapshots, load_scores
from tests.sandbox_fixtures import RunningSandbox, run_stages

TOKEN = "test-token-0f3a9c"
OTHER_TOKEN = "second-token-77b1"


@dataclass(frozen=True)
class ApiStore:
    engine: Engine
    db_url: str
    settings: Settings
    overrides: dict[str, Any]
    world: Any
    held_out: str  # the upstream left out of the first snapshot
    ledger: Ledger


@pytest.fixture(scope="session")
def api_store(sandbox_server: RunningSandbox, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiStore]:
    tmp = tmp_path_factory.mktemp("api-store")
    world = sandbox_server.world
    roster, ledger = tmp / "roster.csv", tmp / "ledger.csv"
    roster.write_text(roster_csv(world), encoding="utf-8")
    ledger.write_text(ledger_csv(world), encoding="utf-8")
    db_url = f"sqlite:///{tmp / 'store.db'}"
    overrides = {
        **sandbox_server.settings,
        "database.url": db_url,
        "people.roster_csv": str(roster),
        "funding.ledger_csv": str(ledger),
        "funding.rates": dict(DEFAULT_RATES),
    }
    settings = load_settings(None, overrides=overrides)
    engine = make_engine(db_url)
    SQLModel.metadata.create_all(engine)
    command.stamp(alembic_config(engine), "head")
    sandbox_server.router.knobs = Knobs()  # whatever the test before this module set
    context = StageContext(settings, Secrets.from_environment(sandbox_server.environment), engine, world.now)
    run_stages(context, sync_stage, resolve_stage, signals_stage, evidence_stage)
    score_stage(replace(context, now=world.now - timedelta(days=14)))
    first = latest_snapshots(engine, limit=1)[0]
    top = max(load_scores(engine, snapshot_id=first.id, with_terms=False), key=lambda s: (s.priority, s.upstream))
    held_out = load_settings(None, overrides={**overrides, "gaps.exclude": {top.upstream: "held out by the test"}})
    score_stage(replace(context, settings=held_out, now=world.now - timedelta(days=7)))
    score_stage(context)
    yield ApiStore(
        engine, db_url, settings, overrides, world, top.upstream, Ledger(engine, settings, clock=lambda: world.now)
    )
    engine.dispose()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass(frozen=True)
class Served:
    base_url: str
    store: ApiStore


@pytest.fixture(scope="session")
def served(api_store: ApiStore) -> Iterator[Served]:
    """``upkeep serve``'s application on a real loopback port (uvicorn in a thread)."""
    app = build_app(api_store.ledger, (SecretStr(TOKEN), SecretStr(OTHER_TOKEN)))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the API server did not start")
        time.sleep(0.05)
    yield Served(f"http://127.0.0.1:{port}", api_store)
    server.should_exit = True
    thread.join(timeout=10)


def auth(token: str = TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
