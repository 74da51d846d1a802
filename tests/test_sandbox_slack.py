"""The sandbox's Slack fake: Slack's limits and error codes, slack-sdk against the served world."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.webhook import WebhookClient

from bot.sandbox.model import World
from bot.sandbox.slack import SlackService, channel_id
from tests.sandbox_handmade import SLACK_TOKEN, make_world, route, serve

CHANNEL = "upkeep"  # the hand-made world leaves slack_channel empty: the service's default


@pytest.fixture
def world() -> World:
    return make_world()


def call(
    world: World, method: str, token: str | None = SLACK_TOKEN, service: SlackService | None = None, **args: Any
) -> httpx.Response:
    handler = route([service or SlackService(world)])
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with httpx.Client(transport=httpx.MockTransport(handler), headers=headers) as c:
        return c.post(f"http://sandbox.test/slack/api/{method}", json=args)


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def test_51_blocks_are_invalid_blocks(world: World) -> None:
    body = call(world, "chat.postMessage", channel=CHANNEL, text="x", blocks=[section("b")] * 51).json()
    assert body["ok"] is False and body["error"] == "invalid_blocks"
    assert world.slack_messages == []
    fifty = call(world, "chat.postMessage", channel=CHANNEL, text="x", blocks=[section("b")] * 50).json()
    assert fifty["ok"] is True


@pytest.mark.parametrize(
    ("blocks", "error"),
    [
        ([{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}], "invalid_blocks"),
        ([section("s" * 3001)], "invalid_blocks"),
        ([{"type": "section", "fields": [{"type": "mrkdwn", "text": "f"}] * 11}], "invalid_blocks"),
        ([section("s" * 2900)] * 5, "msg_blocks_too_long"),
        ([{"text": "no type"}], "invalid_blocks"),
    ],
    ids=["header-151", "section-3001", "11-fields", "total-14500", "no-type"],
)
def test_block_limits_use_slacks_codes(world: World, blocks: list[dict[str, Any]], error: str) -> None:
    body = call(world, "chat.postMessage", channel=CHANNEL, text="fallback", blocks=blocks).json()
    assert (body["ok"], body["error"]) == (False, error)


def test_limits_at_the_edge_are_accepted(world: World) -> None:
    blocks = [{"type": "header", "text": {"type": "plain_text", "text": "h" * 150}}, section("s" * 3000)]
    assert call(world, "chat.postMessage", channel=CHANNEL, text="ok", blocks=blocks).json()["ok"] is True


def test_other_errors(world: World) -> None:
    assert call(world, "chat.postMessage", channel=CHANNEL).json()["error"] == "no_text"
    assert call(world, "chat.postMessage", channel="#nowhere", text="x").json()["error"] == "channel_not_found"
    assert call(world, "chat.postMessage", token=None, channel=CHANNEL, text="x").json()["error"] == "not_authed"
    assert (
        call(world, "chat.postMessage", token="xoxb-wrong", channel=CHANNEL, text="x").json()["error"] == "invalid_auth"
    )
    posted = call(world, "chat.postMessage", channel=CHANNEL, text="x").json()
    too_long = call(world, "chat.update", channel=posted["channel"], ts=posted["ts"], text="u" * 4001).json()
    missing = call(world, "chat.update", channel=posted["channel"], ts="1.000001", text="u").json()
    assert (too_long["error"], missing["error"]) == ("msg_too_long", "message_not_found")


def test_form_encoded_arguments_work_like_json(world: World) -> None:
    handler = route([SlackService(world)])
    form = {"token": SLACK_TOKEN, "channel": f"#{CHANNEL}", "text": "form", "blocks": json.dumps([section("hi")])}
    with httpx.Client(transport=httpx.MockTransport(handler)) as c:
        body = c.post("http://sandbox.test/slack/api/chat.postMessage", data=form).json()
    assert body["ok"] is True and body["channel"] == channel_id(CHANNEL)
    assert world.slack_messages[-1].blocks == [section("hi")]


def test_per_channel_rate_knob_answers_429_with_retry_after(world: World) -> None:
    service = SlackService(world, per_channel_rate=True)
    first = call(world, "chat.postMessage", service=service, channel=CHANNEL, text="1")
    second = call(world, "chat.postMessage", service=service, channel=CHANNEL, text="2")
    other = call(world, "chat.postMessage", service=service, channel="general", text="3")
    assert first.status_code == 200 and other.status_code == 200
    assert second.status_code == 429 and second.headers["retry-after"] == "1"
    assert second.json() == {"ok": False, "error": "ratelimited"}
    assert [m.text for m in world.slack_messages] == ["1", "3"]


def test_timestamps_are_monotonic_and_deterministic(world: World) -> None:
    stamps = [call(world, "chat.postMessage", channel=CHANNEL, text=str(i)).json()["ts"] for i in range(3)]
    assert stamps == sorted(stamps, key=float) and len(set(stamps)) == 3
    again = make_world()
    assert [call(again, "chat.postMessage", channel=CHANNEL, text=str(i)).json()["ts"] for i in range(3)] == stamps


def sdk_client(base: str) -> WebClient:
    """slack-sdk as upkeep builds it: a 429 (chat.postMessage's one a second per channel) waits and retries."""
    return WebClient(
        token=SLACK_TOKEN, base_url=f"{base}/slack/api/", retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=5)]
    )


@pytest.fixture
def served() -> Iterator[tuple[World, str]]:
    world = make_world()
    with serve(world, [SlackService(world)]) as base:
        yield world, base


def test_slack_sdk_posts_updates_and_reads_history(served: tuple[World, str]) -> None:
    world, base = served
    client = sdk_client(base)
    assert client.auth_test()["ok"]
    metadata = {"event_type": "upkeep_digest", "event_payload": {"digest_id": "2026-Q4"}}
    posted = client.chat_postMessage(
        channel=f"#{CHANNEL}", text="Digest", blocks=[section("*Gaps*")], metadata=metadata
    )
    client.chat_postMessage(channel=posted["channel"], text="reply", thread_ts=posted["ts"])
    client.chat_update(channel=posted["channel"], ts=posted["ts"], text="Digest v2", blocks=[section("*Gaps v2*")])
    history = client.conversations_history(channel=posted["channel"], include_all_metadata=True, limit=10)
    [top] = history["messages"]  # the thread reply is not a channel message
    assert (top["ts"], top["text"], top["metadata"]) == (posted["ts"], "Digest v2", metadata)
    assert top["blocks"] == [section("*Gaps v2*")]
    assert [m.text for m in world.slack_messages] == ["Digest v2", "reply"]
    with pytest.raises(SlackApiError) as caught:
        client.chat_postMessage(channel=posted["channel"], text="x", blocks=[section("b")] * 51)
    assert caught.value.response["error"] == "invalid_blocks"


def test_history_pages_with_cursor(served: tuple[World, str]) -> None:
    world, base = served
    client = sdk_client(base)
    for i in range(5):
        client.chat_postMessage(channel=CHANNEL, text=f"m{i}")
    seen: list[str] = []
    cursor = None
    while True:
        page = client.conversations_history(channel=channel_id(CHANNEL), limit=2, cursor=cursor)
        seen += [m["text"] for m in page["messages"]]
        cursor = (page.get("response_metadata") or {}).get("next_cursor")
        if not page["has_more"]:
            break
    assert seen == [f"m{i}" for i in reversed(range(5))]
    oldest = world.slack_messages[2].ts
    newer = client.conversations_history(channel=channel_id(CHANNEL), oldest=oldest)
    assert [m["text"] for m in newer["messages"]] == ["m4", "m3"]


def test_files_upload_v2_flow(served: tuple[World, str], tmp_path: Path) -> None:
    world, base = served
    client = sdk_client(base)
    report = tmp_path / "gaps.csv"
    report.write_text("upstream,gap\npsf/requests,1200\n")
    response = client.files_upload_v2(
        file=str(report), title="Gaps", channel=channel_id(CHANNEL), initial_comment="Quarterly gaps"
    )
    assert response["ok"] and response["file"]["title"] == "Gaps"
    assert world.slack_messages[-1].text == "Quarterly gaps"


def test_incoming_webhook_answers_plain_ok(served: tuple[World, str]) -> None:
    world, base = served
    hook = WebhookClient(f"{base}/slack/api/webhooks/T0SANDBOX/B0HOOK/secret")
    ok = hook.send(text="from a webhook", blocks=[section("hello")])
    bad = hook.send(text="x", blocks=[section("b")] * 51)
    assert (ok.status_code, ok.body) == (200, "ok")
    assert (bad.status_code, bad.body) == (400, "invalid_blocks")
    assert world.slack_messages[-1].text == "from a webhook"
