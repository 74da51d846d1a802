"""The sandbox enforces the documented limits of the services besides GitHub's budgets: Open
Collective (requests a minute per token and per IP, query depth and aliases), crates.io and RubyGems
(requests a second, with and without a stated wait), Slack's one message a second per channel, and
GitHub's CPU-time and hourly content-creation limits, all on the compressed clock."""

from __future__ import annotations

import time
from dataclasses import replace

import httpx
import pytest

from bot.sandbox.github_rest import GitHubRestService
from bot.sandbox.limits import Limits, profile
from bot.sandbox.model import World
from bot.sandbox.opencollective import MAX_ALIASES, MAX_DEPTH, OpenCollectiveService
from bot.sandbox.registries import CratesService, RubyGemsService
from bot.sandbox.server import Knobs, Router
from bot.sandbox.slack import SlackService, channel_id
from tests.sandbox_handmade import GITHUB_TOKEN, OC_TOKEN, SLACK_TOKEN, make_world

OC = "/opencollective/graphql/v2"
SMALL_QUERY = 'query { account(slug: "acme") { slug } }'


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def world() -> World:
    return make_world()


def client_of(router: Router) -> httpx.Client:
    return httpx.Client(transport=httpx.MockTransport(router.handler), base_url="http://sandbox.test")


def test_open_collective_allows_100_a_minute_per_token_and_10_without(world: World) -> None:
    clock = Clock()
    router = Router(world, services=[OpenCollectiveService(world)], knobs=Knobs(time_compression=1), clock=clock)
    with client_of(router) as c:
        with_token = [c.post(OC, json={"query": SMALL_QUERY}, headers={"Personal-Token": OC_TOKEN}) for _ in range(101)]
        anonymous = [c.post(OC, json={"query": SMALL_QUERY}) for _ in range(11)]
        clock.now += 60  # a new minute: the budgets are whole again
        again = c.post(OC, json={"query": SMALL_QUERY})
    assert [r.status_code for r in with_token] == [200] * 100 + [429]
    assert [r.status_code for r in anonymous] == [200] * 10 + [429]  # the token's minute is not the IP's
    first, refused = with_token[0], with_token[100]
    assert first.headers["x-ratelimit-limit"] == "100" and first.headers["x-ratelimit-remaining"] == "99"
    assert refused.text == "Rate limit exceeded"
    assert refused.headers["x-ratelimit-remaining"] == "0"
    assert int(refused.headers["x-ratelimit-reset"]) == int(clock.now)  # the minute's end, epoch seconds
    assert float(refused.headers["retry-after"]) == pytest.approx(60, abs=0.01)
    assert anonymous[0].headers["x-ratelimit-limit"] == "10"
    assert again.status_code == 200


def test_open_collective_minute_is_compressed(world: World) -> None:
    clock = Clock()
    router = Router(world, services=[OpenCollectiveService(world)], knobs=Knobs(time_compression=60), clock=clock)
    with client_of(router) as c:
        answers = [c.post(OC, json={"query": SMALL_QUERY}) for _ in range(11)]
        clock.now += 1.0  # a minute at factor 60
        later = c.post(OC, json={"query": SMALL_QUERY})
    assert answers[-1].status_code == 429 and float(answers[-1].headers["retry-after"]) == pytest.approx(1.0)
    assert later.status_code == 200


def test_open_collective_refuses_deep_queries_and_many_aliases(world: World) -> None:
    router = Router(world, services=[OpenCollectiveService(world)], knobs=Knobs(limits="off"))
    nested = 'account(slug: "acme") { ' + "mainProfile { " * 21 + "slug" + " }" * 22  # 22 levels
    deep = "query Deep { " + nested + " }"
    aliases = "query { " + " ".join(f'a{i}: account(slug: "acme") {{ slug }}' for i in range(MAX_ALIASES + 1)) + " }"
    enough = "query { " + " ".join(f'a{i}: account(slug: "acme") {{ slug }}' for i in range(MAX_ALIASES)) + " }"
    with client_of(router) as c:
        too_deep = c.post(OC, json={"query": deep})
        too_many = c.post(OC, json={"query": aliases})
        fine = c.post(OC, json={"query": enough})
    assert too_deep.status_code == 400
    assert f"maximum operation depth of {MAX_DEPTH}" in too_deep.json()["errors"][0]["message"]
    assert too_many.status_code == 400 and "aliases" in too_many.json()["errors"][0]["message"]
    assert fine.status_code == 200 and "errors" not in fine.json()


def test_crates_answers_429_with_retry_after_and_rubygems_without(world: World) -> None:
    clock = Clock()
    services = [CratesService(world), RubyGemsService(world)]
    router = Router(world, services=services, knobs=Knobs(time_compression=1), clock=clock)
    with client_of(router) as c:
        crates = [c.get("/registry/crates/api/v1/crates/serde") for _ in range(2)]
        gems = [c.get("/registry/rubygems/api/v1/gems/rails.json") for _ in range(11)]
        clock.now += 1.0
        crates_later = c.get("/registry/crates/api/v1/crates/serde")
        gems_later = c.get("/registry/rubygems/api/v1/gems/rails.json")
    assert crates[0].status_code != 429 and crates[1].status_code == 429
    assert crates[1].headers["retry-after"] == "1"  # whole seconds at factor 1
    assert [g.status_code == 429 for g in gems] == [False] * 10 + [True]
    refused = gems[10]
    assert "retry-after" not in refused.headers and not any(h.startswith("x-ratelimit") for h in refused.headers)
    assert crates_later.status_code != 429 and gems_later.status_code != 429


def test_the_off_profile_leaves_registries_and_open_collective_alone(world: World) -> None:
    services = [CratesService(world), OpenCollectiveService(world)]
    router = Router(world, services=services, knobs=Knobs(limits="off"))
    with client_of(router) as c:
        crates = [c.get("/registry/crates/api/v1/crates/serde").status_code for _ in range(5)]
        oc = [c.post(OC, json={"query": SMALL_QUERY}).status_code for _ in range(12)]
    assert 429 not in crates and 429 not in oc


def test_slack_takes_one_message_a_second_per_channel(world: World) -> None:
    clock = Clock()
    router = Router(world, services=[SlackService(world)], knobs=Knobs(time_compression=1), clock=clock)
    headers = {"Authorization": f"Bearer {SLACK_TOKEN}"}
    ours = channel_id(world.slack_channel or "upkeep")
    other = channel_id("general")
    with client_of(router) as c:
        first = c.post("/slack/api/chat.postMessage", headers=headers, json={"channel": ours, "text": "1"})
        second = c.post("/slack/api/chat.postMessage", headers=headers, json={"channel": ours, "text": "2"})
        elsewhere = c.post("/slack/api/chat.postMessage", headers=headers, json={"channel": other, "text": "3"})
        clock.now += 1.0
        later = c.post("/slack/api/chat.postMessage", headers=headers, json={"channel": ours, "text": "4"})
        clock.now += 1.0
        by_name = c.post("/slack/api/chat.postMessage", headers=headers, json={"channel": "#general", "text": "5"})
        by_id = c.post("/slack/api/chat.postMessage", headers=headers, json={"channel": other, "text": "6"})
    assert first.json()["ok"] and elsewhere.json()["ok"] and later.json()["ok"]
    assert second.status_code == 429 and second.json() == {"ok": False, "error": "ratelimited"}
    assert second.headers["retry-after"] == "1"
    assert by_name.json()["ok"] and by_id.status_code == 429  # a name and its id are one channel
    assert [m.text for m in world.slack_messages][-4:] == ["1", "3", "4", "5"]


def test_github_cpu_time_is_90_seconds_a_minute_60_of_them_graphql() -> None:
    clock = Clock()
    limits, personal = Limits(clock), profile("personal-token")
    assert limits.check_cpu("t", True, personal, 1)
    limits.charge_cpu("t", True, 59.0, 1)
    assert limits.check_cpu("t", True, personal, 1)
    limits.charge_cpu("t", True, 1.0, 1)  # 60 s of GraphQL CPU in this minute
    assert not limits.check_cpu("t", True, personal, 1)
    assert limits.check_cpu("t", False, personal, 1)  # REST still has 30 s of the 90
    limits.charge_cpu("t", False, 30.0, 1)
    assert not limits.check_cpu("t", False, personal, 1)
    assert limits.check_cpu("another token", False, personal, 1)
    clock.now += 60
    assert limits.check_cpu("t", True, personal, 1) and limits.check_cpu("t", False, personal, 1)
    # compressed 60-fold: 1.5 s of CPU in a real second
    limits.charge_cpu("c", False, 1.5, 60)
    assert not limits.check_cpu("c", False, personal, 60)
    clock.now += 1
    assert limits.check_cpu("c", False, personal, 60)


def test_a_credential_out_of_cpu_time_gets_secondary_limit_answers(world: World) -> None:
    clock = Clock()
    knobs = Knobs(time_compression=1, headerless_share=0.0)
    router = Router(world, services=[GitHubRestService(world)], knobs=knobs, clock=clock)
    router.limits.charge_cpu(GITHUB_TOKEN, False, 90.0, 1)
    with client_of(router) as c:
        refused = c.get("/api/v3/rate_limit", headers={"Authorization": f"Bearer {GITHUB_TOKEN}"})
        c.get("/api/v3/orgs/acme", headers={"Authorization": f"Bearer {GITHUB_TOKEN}"})
        clock.now += 60
        fine = c.get("/api/v3/orgs/acme", headers={"Authorization": f"Bearer {GITHUB_TOKEN}"})
    assert refused.status_code == 403 and "secondary rate limit" in refused.json()["message"]
    assert refused.headers["retry-after"] == "60"
    assert fine.status_code == 200


def test_the_router_charges_github_answers_their_cpu_time(world: World) -> None:
    router = Router(world, services=[GitHubRestService(world)], knobs=Knobs(time_compression=1))
    started = time.thread_time()
    with client_of(router) as c:
        for _ in range(20):
            c.get(f"/api/v3/repos/{world.ospo_repo}", headers={"Authorization": f"Bearer {GITHUB_TOKEN}"})
    spent = time.thread_time() - started
    credential = next(iter(router.limits._credentials.values()))
    charged = credential.cpu["cpu:all"].used
    assert 0 < charged <= spent  # each handler's own CPU, never more than the test thread spent


def test_content_creation_is_limited_per_hour(world: World) -> None:
    clock = Clock()
    hourly = replace(profile("personal-token"), name="hourly", rest_points_per_minute=None)
    knobs = Knobs(limits=hourly, time_compression=1, headerless_share=0.0)
    router = Router(world, services=[GitHubRestService(world)], knobs=knobs, clock=clock)
    headers = {"Authorization": f"Bearer {GITHUB_TOKEN}"}
    made: list[int] = []
    with client_of(router) as c:
        for minute in range(7):  # 80 a minute is allowed: 7 minutes could make 560, the hour takes 500
            made += [
                c.post(
                    f"/api/v3/repos/{world.ospo_repo}/issues", headers=headers, json={"title": f"{minute}-{i}"}
                ).status_code
                for i in range(80)
            ]
            clock.now += 60
        clock.now += 3600 - 7 * 60
        after_the_hour = c.post(f"/api/v3/repos/{world.ospo_repo}/issues", headers=headers, json={"title": "late"})
    assert made.count(201) == 500 and made[:500] == [201] * 500
    assert set(made[500:]) == {403}
    assert after_the_hour.status_code == 201
