"""The signals stage meets GitHub's secondary limits as the rest of upkeep does: a limit answer
without a time waits GitHub's minute on the service's clock (compressed in the sandbox) and is
retried, instead of pausing the stage until the next run."""

from __future__ import annotations

from pathlib import Path

from sqlmodel import SQLModel

from bot.config import Secrets, load_settings
from bot.pipeline import StageContext
from bot.sandbox import Knobs
from bot.sources.signals_stage import signals_stage
from bot.store.engine import make_engine, session_scope
from bot.store.tables import UpstreamRow
from tests.sandbox_fixtures import RunningSandbox

pytest_plugins = ["tests.sandbox_fixtures"]


def test_a_header_less_secondary_limit_is_waited_out_not_a_pause(sandbox: RunningSandbox, tmp_path: Path) -> None:
    world = sandbox.world
    engine = make_engine(f"sqlite:///{tmp_path / 'store.db'}")
    SQLModel.metadata.create_all(engine)
    on_github = [u for u in world.upstreams if u.host == "github.com"][:60]
    with session_scope(engine) as session:
        for up in on_github:
            session.add(UpstreamRow(key=up.key, host=up.host, owner=up.owner.lower(), name=up.name.lower()))
    # every GitHub answer may be a secondary-limit 403, none of them saying how long to wait
    sandbox.router.knobs = Knobs(
        fault_rate=0.3, fault_kinds=("403",), fault_prefixes=("/api/graphql", "/api/v3"), headerless_share=1.0
    )
    settings = load_settings(None, overrides=sandbox.settings)
    assert settings.github.time_compression > 1  # the sandbox's clock: GitHub's minute is short here
    context = StageContext(
        settings=settings,
        secrets=Secrets.from_environment(sandbox.environment),
        engine=engine,
        now=world.now,
        options={},
    )
    summary = signals_stage(context)  # a pause would raise RateLimited here
    faults = sandbox.router.stats()["faults"]
    assert faults.get("403", 0) > 0  # the limits were met, and waited out
    assert summary["observed"] == len(on_github)
    engine.dispose()
