"""Pytest fixtures for the sandbox world (register as a plugin: ``pytest_plugins = ["tests.sandbox_fixtures"]``).

* ``sandbox_world``: the ``small`` world for seed 7, generated once per session. Treat it as
  read-only; tests that change a world (issues, Slack messages, ``scan``) should generate their own.
* ``sandbox_server``: one :class:`~bot.sandbox.SandboxServer` per session on 127.0.0.1, serving its
  own ``small`` seed-7 world; yields a :class:`RunningSandbox` (``.base_url``, ``.world``, ``.router``).
* ``sandbox``: the same running sandbox, with default knobs and an empty request log for each test.

:func:`run_stages` runs stages for a fixture as the scheduler would: a stage a rate limit stopped is
resumed after its reset, so a slow machine's extra pauses cannot leave a fixture's store half built.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import pytest

from bot.http import RateLimited, forget_buckets
from bot.pipeline import seconds_until_reset, stopped_until
from bot.sandbox import Knobs, Router, SandboxServer, World, generate_world, sandbox_environment, sandbox_settings

C = TypeVar("C")  # what a stage is called with: a StageContext, mostly


@dataclass
class RunningSandbox:
    """A served world and where to reach it."""

    base_url: str
    alt_base_url: str
    world: World
    router: Router
    server: SandboxServer

    @property
    def settings(self) -> dict[str, Any]:
        """Settings overrides (``load_settings(overrides=...)``) pointing upkeep at this sandbox."""
        return sandbox_settings(self.base_url, self.world)

    @property
    def environment(self) -> dict[str, str]:
        """The fake tokens as GITHUB_TOKEN, SLACK_BOT_TOKEN, OPENCOLLECTIVE_TOKEN."""
        return sandbox_environment(self.world)


@pytest.fixture(scope="session")
def sandbox_world() -> World:
    return generate_world(7, "small")


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[RunningSandbox]:
    world = generate_world(7, "small")
    with SandboxServer(world) as server:
        yield RunningSandbox(server.base_url, server.alt_base_url, world, server.router, server)


@pytest.fixture
def sandbox(sandbox_server: RunningSandbox) -> RunningSandbox:
    sandbox_server.router.knobs = Knobs()
    sandbox_server.router.reset_stats()
    return sandbox_server


def run_stages(context: C, *stages: Callable[[C], Mapping[str, Any]], max_resumptions: int = 8) -> list[dict[str, Any]]:
    """Run ``stages`` in order, each to its end: one a rate limit stopped (its summary says ``stopped``,
    or it raised :class:`RateLimited`) runs again after the reset, as the next scheduled run would.

    The sandbox's limits are real ones (CPU time, concurrency, per-second registry pacing), so a loaded
    machine meets more of them; a fixture that ignored a pause would build a store missing whatever the
    stage had left. The buckets of earlier tests are forgotten first (a module's fixture runs before the
    per-test reset). Returns each stage's last summary; fails if a stage is still stopped at the bound."""
    forget_buckets()
    summaries = []
    for stage in stages:
        for _ in range(max_resumptions + 1):
            try:
                summary = dict(stage(context))
            except RateLimited as exc:
                summary = {"stopped": exc.reset_at.isoformat()}
            until = stopped_until(summary)
            if until is None:
                break
            time.sleep(seconds_until_reset(until))
        else:
            raise AssertionError(f"{stage.__name__} still stopped by a rate limit after {max_resumptions} resumptions")
        summaries.append(summary)
    return summaries


_PAUSED = re.compile(r"stage paused stage=\S+ until=(\S+)")
RESUMPTIONS = 4  # how many times a test reruns an `upkeep run` a rate limit paused


def wait_if_paused(exit_code: int, output: str) -> bool:
    """After an ``upkeep run`` (its exit code and log): whether a rate limit paused it (exit 75, "stage paused
    ... until=T"), having waited for the reset, so that the caller runs it again and it resumes, as an
    operator or the scheduler would. The sandbox's registry limits are real ones (crates.io's one request a
    second), which a busy run meets now and then."""
    paused = _PAUSED.search(output) if exit_code == 75 else None
    if paused is None:
        return False
    time.sleep(seconds_until_reset(paused.group(1)))
    return True
