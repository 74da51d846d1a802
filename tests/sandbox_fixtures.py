"""Pytest fixtures for the sandbox world (register as a plugin: ``pytest_plugins = ["tests.sandbox_fixtures"]``).

* ``sandbox_world``: the ``small`` world for seed 7, generated once per session. Treat it as
  read-only; tests that change a world (issues, Slack messages, ``scan``) should generate their own.
* ``sandbox_server``: one :class:`~bot.sandbox.SandboxServer` per session on 127.0.0.1, serving its
  own ``small`` seed-7 world; yields a :class:`RunningSandbox` (``.base_url``, ``.world``, ``.router``).
* ``sandbox``: the same running sandbox, with default knobs and an empty request log for each test.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from bot.sandbox import Knobs, Router, SandboxServer, World, generate_world, sandbox_environment, sandbox_settings


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
