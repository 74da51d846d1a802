"""Matrix: the fake against the vendored client-server descriptions, the adapter's idempotent sends and read-back."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from bot.deliver.interface import Delivery, DeliveryError
from bot.notify.content import build_document
from bot.notify.matrix import KEY_FIELD, MatrixNotifier, render_matrix
from bot.sandbox.api_spec import load_description, validate
from bot.sandbox.matrix import BOT_USER, ROOM_ID, TXN_TTL_SECONDS, MatrixService
from bot.sandbox.model import World
from tests.notify_world import hostile_digest
from tests.sandbox_handmade import make_world, route

TOKEN = "syt-handmade-matrix"
SEND = f"http://sandbox.test/matrix/_matrix/client/v3/rooms/{ROOM_ID.replace('!', '%21').replace(':', '%3A')}/send"


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def world() -> World:
    world = make_world()
    world.tokens["matrix"] = [TOKEN]
    return world


def client(service: MatrixService, token: str | None = TOKEN) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(
        base_url="http://sandbox.test/matrix", transport=httpx.MockTransport(route([service])), headers=headers
    )


def delivery(world: World, key: str = "matrix:room:digest:2026-W48") -> Delivery:
    payload = render_matrix(build_document(hostile_digest(), key=key))
    return Delivery(key, "matrix", ROOM_ID, "digest", "post", payload, world.now)


def test_tokens_rooms_and_bodies_are_refused_as_a_homeserver_does(world: World) -> None:
    service = MatrixService(world)
    body = {"msgtype": "m.notice", "body": "hi"}
    assert client(service, None).put(f"{SEND}/m.room.message/t1", json=body).json()["errcode"] == "M_MISSING_TOKEN"
    assert client(service, "nope").put(f"{SEND}/m.room.message/t1", json=body).json()["errcode"] == "M_UNKNOWN_TOKEN"
    other = "http://sandbox.test/matrix/_matrix/client/v3/rooms/%21elsewhere%3Asandbox.test/send/m.room.message/t1"
    forbidden = client(service).put(other, json=body)
    assert (forbidden.status_code, forbidden.json()["errcode"]) == (403, "M_FORBIDDEN")
    no_body = client(service).put(f"{SEND}/m.room.message/t2", json={"msgtype": "m.notice"})
    assert (no_body.status_code, no_body.json()["errcode"]) == (400, "M_BAD_JSON")
    half = client(service).put(f"{SEND}/m.room.message/t3", json={**body, "format": "org.matrix.custom.html"})
    assert half.status_code == 400
    huge = client(service).put(f"{SEND}/m.room.message/t4", json={**body, "body": "x" * 70_000})
    assert (huge.status_code, huge.json()["errcode"]) == (413, "M_TOO_LARGE")
    no_dir = client(service).get(f"/_matrix/client/v3/rooms/{ROOM_ID}/messages")
    assert no_dir.status_code == 400  # `dir` is required by the description
    assert world.notify_posts.get("matrix", []) == []


def test_answers_match_the_descriptions(world: World) -> None:
    service = MatrixService(world)
    sent = client(service).put(f"{SEND}/m.room.message/t1", json={"msgtype": "m.notice", "body": "hi"})
    send_ok = load_description("matrix-room_send.yaml")["paths"]["/rooms/{roomId}/send/{eventType}/{txnId}"]["put"]
    validate(sent.json(), send_ok["responses"]["200"]["content"]["application/json"]["schema"])
    read = client(service).get(f"/_matrix/client/v3/rooms/{ROOM_ID}/messages", params={"dir": "b"})
    pages = load_description("matrix-message_pagination.yaml")["paths"]["/rooms/{roomId}/messages"]["get"]
    schema = dict(pages["responses"]["200"]["content"]["application/json"]["schema"])
    schema["properties"] = {k: v for k, v in schema["properties"].items() if k not in ("chunk", "state")}
    validate(read.json(), schema)
    assert read.json()["chunk"][0]["event_id"] == sent.json()["event_id"]
    who = client(service).get("/_matrix/client/v3/account/whoami").json()
    assert who["user_id"] == BOT_USER


def test_the_same_transaction_is_one_event_until_the_server_forgets_it(world: World) -> None:
    clock = Clock()
    service = MatrixService(world, clock=clock)
    body = {"msgtype": "m.notice", "body": "hi"}
    first = client(service).put(f"{SEND}/m.room.message/same", json=body).json()["event_id"]
    assert client(service).put(f"{SEND}/m.room.message/same", json=body).json()["event_id"] == first
    assert len(world.notify_posts["matrix"]) == 1
    clock.now += TXN_TTL_SECONDS + 1
    assert client(service).put(f"{SEND}/m.room.message/same", json=body).json()["event_id"] != first
    assert len(world.notify_posts["matrix"]) == 2


def test_the_sink_sends_once_and_finds_its_event_after_the_server_forgot_the_transaction(world: World) -> None:
    clock = Clock()
    service = MatrixService(world, clock=clock)
    sink = MatrixNotifier(client(service), ROOM_ID)
    item = delivery(world)
    event_id = sink.deliver(item, maybe_sent=False)
    clock.now += TXN_TTL_SECONDS * 10  # a retry a day later: the transaction id alone would post again
    assert sink.deliver(item, maybe_sent=True) == event_id
    assert len(world.notify_posts["matrix"]) == 1
    event = world.notify_posts["matrix"][0]
    assert event["content"][KEY_FIELD] == item.key and event["content"]["msgtype"] == "m.notice"
    other = delivery(world, key="matrix:room:digest:2026-W49")
    assert sink.deliver(other, maybe_sent=True) != event_id  # nothing of its own there: it sends


def test_someone_elses_event_with_our_key_is_not_adopted(world: World) -> None:
    service = MatrixService(world)
    item = delivery(world)
    world.notify_posts["matrix"] = [
        {
            "event_id": "$forged",
            "room_id": ROOM_ID,
            "sender": "@mallory:evil.org",
            "type": "m.room.message",
            "origin_server_ts": int(world.now.timestamp() * 1000),
            "content": {"msgtype": "m.text", "body": "x", KEY_FIELD: item.key},
            "pings": [],
        }
    ]
    assert MatrixNotifier(client(service), ROOM_ID).deliver(item, maybe_sent=True) != "$forged"


def test_a_revoked_token_is_a_permanent_failure(world: World) -> None:
    sink = MatrixNotifier(client(MatrixService(world), "revoked"), ROOM_ID)
    with pytest.raises(DeliveryError) as err:
        sink.deliver(delivery(world), maybe_sent=False)
    assert err.value.permanent and "M_UNKNOWN_TOKEN" in str(err.value)


def test_hostile_text_pings_nobody_and_carries_no_markup(world: World) -> None:
    service = MatrixService(world)
    MatrixNotifier(client(service), ROOM_ID).deliver(delivery(world), maybe_sent=False)
    event: dict[str, Any] = world.notify_posts["matrix"][0]
    assert event["pings"] == []
    content = event["content"]
    assert content["m.mentions"] == {}
    html = content["formatted_body"]
    assert "<script" not in html and "<b>" not in html and "<at>" not in html and "<a " not in html
    assert "&lt;script&gt;" in html
    assert "@room" not in content["body"] and "https://evil" not in content["body"]
