"""Teams: cards checked against the published Adaptive Card schema, at-least-once as documented, hostile text."""

from __future__ import annotations

import copy
from typing import Any

import httpx
import pytest

from bot.deliver.interface import Delivery, DeliveryError
from bot.notify.content import build_document
from bot.notify.teams import TeamsNotifier, reference, render_teams
from bot.sandbox.model import World
from bot.sandbox.teams import TeamsWorkflowService, card_errors
from tests.notify_world import hostile_digest
from tests.sandbox_handmade import make_world, route

SIG = "handmade-teams-sig"
URL = f"http://sandbox.test/teams/workflows/ospo?api-version=1&sig={SIG}"


@pytest.fixture
def world() -> World:
    world = make_world()
    world.tokens["teams"] = [SIG]
    return world


def http(service: TeamsWorkflowService) -> httpx.Client:
    return httpx.Client(transport=httpx.MockTransport(route([service])))


def delivery(world: World, key: str = "teams:ospo-team:digest:2026-W48") -> Delivery:
    payload = render_teams(build_document(hostile_digest(), key=key))
    return Delivery(key, "teams", "ospo-team", "digest", "post", payload, world.now)


def card(item: Delivery) -> dict[str, Any]:
    return dict(item.payload["message"]["attachments"][0]["content"])


def test_upkeeps_card_is_valid_and_the_schema_catches_broken_ones(world: World) -> None:
    good = card(delivery(world))
    assert card_errors(good) == []
    no_text = copy.deepcopy(good)
    del no_text["body"][0]["text"]
    assert any("'text' is a required property" in e for e in card_errors(no_text))
    bad_size = copy.deepcopy(good)
    bad_size["body"][0]["size"] = "Huge"
    assert card_errors(bad_size)


def test_the_webhook_refuses_what_teams_refuses(world: World) -> None:
    c = http(TeamsWorkflowService(world))
    item = delivery(world)
    assert c.post(URL.replace(SIG, "wrong"), json=item.payload["message"]).status_code == 401
    assert c.post(URL, json={"type": "message", "attachments": []}).status_code == 400
    broken = copy.deepcopy(dict(item.payload["message"]))
    broken["attachments"][0]["content"]["body"][0]["weight"] = "Heavy"
    answer = c.post(URL, json=broken)
    assert answer.status_code == 400 and answer.json()["error"]["code"] == "InvalidAdaptiveCard"
    newer = copy.deepcopy(dict(item.payload["message"]))
    newer["attachments"][0]["content"]["version"] = "1.6"
    assert c.post(URL, json=newer).status_code == 400
    assert c.post(URL, content=b"x" * (29 * 1024)).status_code == 413
    assert world.notify_posts.get("teams", []) == []


def test_a_card_is_posted_and_a_retry_after_a_crash_posts_the_same_card_again(world: World) -> None:
    sink = TeamsNotifier(http(TeamsWorkflowService(world)), URL, "ospo-team")
    item = delivery(world)
    first = sink.deliver(item, maybe_sent=False)
    assert first == sink.deliver(item, maybe_sent=True)  # at least once: posted again, same reference
    posts = world.notify_posts["teams"]
    assert len(posts) == 2 and posts[0]["message"] == posts[1]["message"]
    shown = [block["text"] for block in card(item)["body"]]
    assert any(reference(item.key).replace(" ", "") in text.replace(" ", "") for text in shown)


def test_errors_never_show_the_webhook_url(world: World) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout(f"timed out talking to {request.url}", request=request)

    sink = TeamsNotifier(httpx.Client(transport=httpx.MockTransport(refuse)), URL, "ospo-team")
    with pytest.raises(DeliveryError) as err:
        sink.deliver(delivery(world), maybe_sent=False)
    assert SIG not in str(err.value) and "may have been posted" in str(err.value)


def test_hostile_text_makes_no_mention_tag_and_no_link(world: World) -> None:
    TeamsNotifier(http(TeamsWorkflowService(world)), URL, "ospo-team").deliver(delivery(world), maybe_sent=False)
    post = world.notify_posts["teams"][0]
    assert post["at_tags"] == [] and post["mentions"] == []
    texts = " ".join(block["text"] for block in post["message"]["attachments"][0]["content"]["body"])
    assert "<" not in texts and "](https://evil" not in texts and "https://evil" not in texts
    assert "\\[click\\]" in texts  # Markdown link brackets escaped
