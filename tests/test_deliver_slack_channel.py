"""A Slack channel configured by name works through an interrupted post: the name is resolved to
its id once (``conversations.history`` takes only ids, in the sandbox as on Slack), and a name that
cannot be resolved is refused at once with what to set."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.deliver.interface import Delivery, DeliveryError
from bot.deliver.slack import SlackSink
from bot.sandbox.generate import generate_world
from bot.sandbox.model import World
from bot.sandbox.server import SandboxServer
from bot.sandbox.slack import channel_id
from bot.store.tables import OutboxRow
from tests.deliver_world import world_inputs
from tests.test_deliver_sandbox import Crash, Sandbox, make_sandbox


@pytest.fixture
def named(engine: Engine) -> Iterator[Sandbox]:
    world = generate_world(7, "small")
    with SandboxServer(world) as server:
        sandbox = make_sandbox(world, engine, server.base_url, channel=f"#{world.slack_channel}")
        sandbox.router = server.router
        yield sandbox


def sink_of(world: World, base: str) -> SlackSink:
    from slack_sdk import WebClient

    return SlackSink(WebClient(token=world.tokens["slack"][0], base_url=f"{base}/slack/api/"))


def item(target: str, world: World) -> Delivery:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "hello"}}]
    return Delivery("digest:k1", "slack", target, "digest", "post", {"text": "hello", "blocks": blocks}, world.now)


def test_history_refuses_a_channel_name_as_slack_does() -> None:
    world = generate_world(7, "small")
    from slack_sdk import WebClient
    from slack_sdk.errors import SlackApiError

    with SandboxServer(world) as server:
        client = WebClient(token=world.tokens["slack"][0], base_url=f"{server.base_url}/slack/api/")
        assert client.chat_postMessage(channel=f"#{world.slack_channel}", text="names post")["ok"]
        with pytest.raises(SlackApiError, match="channel_not_found"):
            client.conversations_history(channel=f"#{world.slack_channel}")
        assert client.conversations_history(channel=channel_id(world.slack_channel))["ok"]


def test_a_named_channel_recovers_after_an_interrupted_post(named: Sandbox) -> None:
    inputs = world_inputs(named.world)

    def crash(row: OutboxRow, remote_id: str) -> None:
        if row.channel == "slack":
            raise Crash(f"{row.key} posted as {remote_id}, not recorded")

    with pytest.raises(Crash):
        named.run(inputs, after_send=crash)
    assert len(named.world.slack_messages) == 1
    summary = named.run(inputs)
    assert summary.failed == 0
    assert len(named.world.slack_messages) == 1  # found again through the channel's id, not posted twice
    with Session(named.engine) as session:
        digest = next(row for row in session.exec(select(OutboxRow)) if row.subject == "digest")
    assert digest.state == "delivered" and digest.remote_id == named.world.slack_messages[0].ts
    assert named.world.slack_messages[0].channel == channel_id(named.world.slack_channel)


def test_the_name_is_looked_up_once_per_sink() -> None:
    world = generate_world(7, "small")
    with SandboxServer(world) as server:
        sink = sink_of(world, server.base_url)
        first = sink.deliver(item(f"#{world.slack_channel}", world), maybe_sent=False)
        second = replace(item(f"#{world.slack_channel}", world), key="digest:k2")
        again = sink.deliver(second, maybe_sent=True)
        lists = server.router.stats()["by_route"].get("/slack/api POST /conversations.list", 0)
    assert first and again and first != again
    assert lists == 1


def test_an_unknown_channel_name_is_refused_with_what_to_set() -> None:
    world = generate_world(7, "small")
    with SandboxServer(world) as server:
        sink = sink_of(world, server.base_url)
        with pytest.raises(DeliveryError) as caught:
            sink.deliver(item("#no-such-channel", world), maybe_sent=False)
    assert caught.value.permanent
    assert "slack.channel '#no-such-channel'" in str(caught.value) and "channel id" in str(caught.value)
    assert world.slack_messages == []
