"""Mattermost: the fake against the vendored API v4 excerpt, the adapter's props read-back, hostile text."""

from __future__ import annotations

import httpx
import pytest

from bot.deliver.interface import Delivery, DeliveryError
from bot.notify.content import build_document
from bot.notify.mattermost import KEY_PROP, MattermostNotifier, render_mattermost
from bot.sandbox.mattermost import TEAM_CHANNEL, MattermostService, channel_id, mentions
from bot.sandbox.model import World
from tests.notify_world import hostile_digest
from tests.sandbox_handmade import make_world, route

TOKEN = "mm-handmade-token"
CHANNEL = channel_id(TEAM_CHANNEL)


@pytest.fixture
def world() -> World:
    world = make_world()
    world.tokens["mattermost"] = [TOKEN]
    return world


def client(handler: httpx.MockTransport, token: str | None = TOKEN) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(base_url="http://sandbox.test/mattermost", transport=handler, headers=headers)


def transport(service: MattermostService) -> httpx.MockTransport:
    return httpx.MockTransport(route([service]))


def delivery(world: World, key: str = f"mattermost:{CHANNEL}:digest:2026-W48") -> Delivery:
    payload = render_mattermost(build_document(hostile_digest(), key=key))
    return Delivery(key, "mattermost", CHANNEL, "digest", "post", payload, world.now)


def test_requests_the_description_refuses_are_refused(world: World) -> None:
    t = transport(MattermostService(world))
    assert client(t, None).post("/api/v4/posts", json={"channel_id": CHANNEL, "message": "x"}).status_code == 401
    missing = client(t).post("/api/v4/posts", json={"channel_id": CHANNEL})
    assert missing.status_code == 400 and "message" in missing.json()["message"]
    wrong_type = client(t).post("/api/v4/posts", json={"channel_id": CHANNEL, "message": "x", "props": "[]"})
    assert wrong_type.status_code == 400
    assert client(t).post("/api/v4/posts", json={"channel_id": "nope", "message": "x"}).status_code == 403
    too_long = client(t).post("/api/v4/posts", json={"channel_id": CHANNEL, "message": "x" * 16384})
    assert too_long.json()["id"] == "model.post.is_valid.message_length.app_error"
    mixed = client(t).get(f"/api/v4/channels/{CHANNEL}/posts", params={"since": 1, "page": 0})
    assert mixed.status_code == 400
    not_int = client(t).get(f"/api/v4/channels/{CHANNEL}/posts", params={"since": "yesterday"})
    assert not_int.status_code == 400
    assert world.notify_posts.get("mattermost", []) == []


def test_the_sink_posts_once_and_adopts_its_post_after_a_crash(world: World) -> None:
    t = transport(MattermostService(world))
    sink = MattermostNotifier(client(t), CHANNEL)
    item = delivery(world)
    post_id = sink.deliver(item, maybe_sent=False)
    assert sink.deliver(item, maybe_sent=True) == post_id
    assert len(world.notify_posts["mattermost"]) == 1
    post = world.notify_posts["mattermost"][0]
    assert post["props"][KEY_PROP] == item.key
    attachment = post["props"]["attachments"][0]
    assert attachment["title"] == "Top gaps" and "github.com/psf/requests" in attachment["text"]


def test_a_lost_answer_is_found_in_the_channel_not_posted_twice(world: World) -> None:
    service = MattermostService(world)
    inner = route([service])

    def lose_the_answer(request: httpx.Request) -> httpx.Response:
        response = inner(request)
        if request.method == "POST":
            raise httpx.ReadTimeout("timed out", request=request)
        return response

    sink = MattermostNotifier(
        client(transport(service)), CHANNEL, post_client=client(httpx.MockTransport(lose_the_answer))
    )
    post_id = sink.deliver(delivery(world), maybe_sent=False)
    assert [p["id"] for p in world.notify_posts["mattermost"]] == [post_id]


def test_a_post_by_someone_else_with_our_key_is_not_adopted(world: World) -> None:
    world.tokens["mattermost"].append("mallory-token")
    service = MattermostService(world)
    item = delivery(world)
    forged = client(transport(service), "mallory-token").post(
        "/api/v4/posts", json={"channel_id": CHANNEL, "message": "x", "props": {KEY_PROP: item.key}}
    )
    assert forged.status_code == 201
    post_id = MattermostNotifier(client(transport(service)), CHANNEL).deliver(item, maybe_sent=True)
    assert post_id != forged.json()["id"] and len(world.notify_posts["mattermost"]) == 2


def test_a_refused_post_is_permanent(world: World) -> None:
    sink = MattermostNotifier(client(transport(MattermostService(world))), "not-a-member")
    with pytest.raises(DeliveryError) as err:
        sink.deliver(delivery(world), maybe_sent=False)
    assert err.value.permanent


def test_the_fakes_mention_parser_sees_what_mattermost_would() -> None:
    assert mentions("hello @channel and @here, ping @alice.") == ["alice", "channel", "here"]
    assert mentions("mail me at bob@example.org") == []


def test_hostile_text_mentions_nobody_and_links_nothing(world: World) -> None:
    MattermostNotifier(client(transport(MattermostService(world))), CHANNEL).deliver(delivery(world), maybe_sent=False)
    post = world.notify_posts["mattermost"][0]
    assert post["mentions"] == []
    text = post["message"] + post["props"]["attachments"][0]["text"]
    assert "](https://evil" not in text and "<script" not in text and "<at>" not in text
    assert "https://evil" not in text  # the scheme is broken, so nothing autolinks
    assert "\\~town-square" in text  # a channel link is escaped
