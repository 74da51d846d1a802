"""One digest message per week (issue 14): a rerun in the same week that has something new edits the week's
message in place (chat.update on the sandbox's Slack); the next week posts a new one."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest
from sqlalchemy.engine import Engine

from bot.sandbox.generate import generate_world
from bot.sandbox.server import SandboxServer
from tests.deliver_world import world_inputs
from tests.test_deliver_sandbox import Sandbox, make_sandbox


@pytest.fixture
def sandbox(engine: Engine) -> Iterator[Sandbox]:
    world = generate_world(7, "small")
    with SandboxServer(world) as server:
        yield make_sandbox(world, engine, server.base_url)


def test_a_rerun_in_the_same_week_edits_the_message_and_the_next_week_posts_another(sandbox: Sandbox) -> None:
    inputs = world_inputs(sandbox.world)
    sandbox.run(inputs, digest_only=True)
    (message,) = sandbox.world.slack_messages
    first_text = message.text

    changed = replace(inputs, digest=replace(inputs.digest, money_given_since_last=1234.0))
    summary = sandbox.run(changed, days=1, digest_only=True)
    assert (summary.enqueued, summary.delivered, summary.failed) == (1, 1, 0)
    (edited,) = sandbox.world.slack_messages  # the same message, edited
    assert edited.ts == message.ts and edited.text != first_text and "1,234 USD" in edited.text

    assert sandbox.run(changed, days=2, digest_only=True).enqueued == 0  # nothing new: left alone

    next_week = replace(changed, digest=replace(changed.digest, period="2026-W48"))
    sandbox.run(next_week, days=7, digest_only=True)
    assert len(sandbox.world.slack_messages) == 2
