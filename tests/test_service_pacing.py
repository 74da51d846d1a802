"""upkeep keeps to the other services' documented limits by design: any limit answer holds the
credential's bucket for every client sharing it; Open Collective's client paces under its requests a
minute; the Slack sink posts at most once a second per channel; the resolve stage paces crates.io
and RubyGems, and a registry that still answers a limit pauses the stage (packages ``retry``,
"rate limited: REGISTRY until T") until the next run resumes it. Against the sandbox's limits."""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from slack_sdk import WebClient
from sqlalchemy.engine import Engine

from bot.config import Secrets, load_settings
from bot.deliver.interface import Delivery
from bot.deliver.slack import SlackSink, retry_handlers
from bot.http import RateLimited, RetryingTransport, RetryPolicy, TokenBucket, forget_buckets, make_client
from bot.pipeline import StageContext, run_pipeline
from bot.resolve.stage import resolve_stage
from bot.sandbox import Router, SandboxServer, generate_world, sandbox_settings
from bot.sandbox.limits import profile
from bot.sandbox.model import World
from bot.sandbox.opencollective import OpenCollectiveService
from bot.sandbox.server import Knobs
from bot.sandbox.slack import SlackService, channel_id
from bot.sandbox.truth import purl_of
from bot.sources.opencollective import TRANSACTIONS_QUERY, make_opencollective_client
from bot.store.engine import session_scope
from bot.store.resolution import load_resolutions
from bot.store.tables import ComponentRow
from tests.sandbox_handmade import OC_TOKEN, SLACK_TOKEN, make_world


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(autouse=True)
def fresh_buckets() -> None:
    forget_buckets()


# ------------------------------------------------------------------------------------------- the bucket


@pytest.mark.parametrize(
    ("answer", "at_least"),
    [
        (httpx.Response(429, headers={"retry-after": "30"}), 30.0),
        (httpx.Response(403, json={"message": "You have exceeded a secondary rate limit."}), 60.0),
        (httpx.Response(429, text="Rate limit exceeded"), 60.0),  # RubyGems: no header, a minute at least
    ],
)
def test_a_limit_answer_holds_every_client_of_the_credential(answer: httpx.Response, at_least: float) -> None:
    bucket = TokenBucket(5000)
    seen: list[str] = []
    answers = [answer]

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        return answers.pop(0) if answers else httpx.Response(200)

    slept: list[float] = []
    first = RetryingTransport(httpx.MockTransport(handler), RetryPolicy(max_wait_seconds=1000), slept.append, bucket)
    with httpx.Client(transport=first) as c:
        assert c.get("https://svc.test/first").status_code == 200  # it waited as told (sleep recorded), then went on
    assert slept and slept[0] >= at_least
    assert bucket.blocked_until >= time.time() + at_least - 5  # held for the whole wait, on the wall clock
    other = make_client(transport=httpx.MockTransport(handler), bucket=bucket, policy=RetryPolicy(max_wait_seconds=5))
    with other, pytest.raises(RateLimited):  # another client of the same credential sends nothing meanwhile
        other.get("https://svc.test/second")
    assert seen == ["/first", "/first"]


def test_an_answer_without_a_limit_holds_nothing() -> None:
    bucket = TokenBucket(5000)
    transport = RetryingTransport(httpx.MockTransport(lambda r: httpx.Response(403, json={"message": "Forbidden"})),
                                  bucket=bucket)  # fmt: skip
    with httpx.Client(transport=transport) as c:
        assert c.get("https://svc.test/x").status_code == 403
    assert bucket.blocked_until == 0.0


def test_a_minute_bucket_keeps_each_minute_under_its_budget() -> None:
    clock = Clock()
    bucket = TokenBucket(100, window_seconds=60, clock=clock, wall=clock)
    assert [bucket.acquire() for _ in range(10)] == [0.0] * 10  # a tenth at once
    assert bucket.acquire() == pytest.approx(60 / 90, rel=0.01)  # then nine tenths a minute
    clock.now += 60
    sent = sum(bucket.acquire() == 0.0 for _ in range(200))
    assert sent <= 100


# ----------------------------------------------------------------------------------- Open Collective


@pytest.mark.parametrize("token", [OC_TOKEN, None])
def test_the_open_collective_client_keeps_under_its_limit(token: str | None) -> None:
    world = make_world()
    router = Router(world, services=[OpenCollectiveService(world)], knobs=Knobs(time_compression=60))
    settings = load_settings(None, search=False, overrides={"github.time_compression": 60})
    secrets = Secrets(opencollective_token=token)
    asks = 130 if token else 25  # more than a minute's budget, with a token and without
    started = time.perf_counter()
    with make_opencollective_client(settings, secrets, transport=httpx.MockTransport(router.handler)) as client:
        answers = [
            client.post(
                "http://sandbox.test/opencollective/graphql/v2",
                json={
                    "query": TRANSACTIONS_QUERY,
                    "variables": {"slug": world.opencollective_slug, "limit": 10, "offset": 0},
                },
            )
            for _ in range(asks)
        ]
    took = time.perf_counter() - started
    assert {a.status_code for a in answers} == {200}
    assert {r.status for r in router.log} == {200}  # paced, not retried: the server never refused one
    per_minute = 100 if token else 10
    assert took >= (asks - per_minute) / (per_minute * 0.9) - 0.2  # a compressed minute is one second


# ----------------------------------------------------------------------------------------------- Slack


def test_the_slack_sink_posts_once_a_second_per_channel() -> None:
    world = make_world()
    ours, other = channel_id(world.slack_channel or "upkeep"), channel_id("general")
    with SandboxServer(
        world, router=Router(world, services=[SlackService(world)], knobs=Knobs(time_compression=60))
    ) as server:
        base = f"{server.base_url}/slack/api/"
        reader, poster = (WebClient(token=SLACK_TOKEN, base_url=base, retry_handlers=retry_handlers(posting=p))
                          for p in (False, True))  # fmt: skip
        sink = SlackSink(reader, post_client=poster, post_interval=1.0 / 60)
        now = datetime.now(UTC)
        payload: dict[str, Any] = {"text": "digest", "blocks": []}
        for i, target in enumerate([ours, ours, other, ours]):
            item = Delivery(f"k{i}", "slack", target, "digest", "post", payload, now)
            sink.deliver(item, maybe_sent=False)
        log = list(server.router.log)
    posts = [r for r in log if r.route.endswith("chat.postMessage")]
    assert len(posts) == 4 and {r.status for r in posts} == {200}  # paced: Slack never said "ratelimited"
    assert len(world.slack_messages) == 4


def test_the_slack_sink_waits_out_the_second_only_for_the_same_channel() -> None:
    clock, slept = Clock(), []

    class Poster:
        def chat_postMessage(self, **kwargs: Any) -> dict[str, str]:
            clock.now += 0.1  # the answer takes a tenth of a second
            return {"ts": f"{clock.now:.6f}"}

    def sleep(seconds: float) -> None:
        slept.append(round(seconds, 3))
        clock.now += seconds

    sink = SlackSink(Poster(), clock=clock, sleep=sleep)  # type: ignore[arg-type]
    now = datetime.now(UTC)
    for i, target in enumerate(["C0000001", "C0000002", "C0000001"]):
        sink.deliver(Delivery(f"k{i}", "slack", target, "digest", "post", {"text": "t", "blocks": []}, now),
                     maybe_sent=False)  # fmt: skip
    assert slept == [0.9]  # one second after C0000001's first answer, less the tenth the other channel took


# --------------------------------------------------------------------------------------------- registries


def add_gems(engine: Engine, world: World) -> list[str]:
    keys = []
    with session_scope(engine) as session:
        for pkg in world.packages:
            if pkg.ecosystem not in ("gem", "cargo"):
                continue
            purl = purl_of(pkg.ecosystem, pkg.namespace, pkg.name)
            version = pkg.versions[-1]
            keys.append(pkg.package_key)
            session.add(ComponentRow(key=f"{purl}@{version}", package_key=pkg.package_key, purl=f"{purl}@{version}",
                                     ecosystem=pkg.ecosystem, namespace=pkg.namespace, name=pkg.name,
                                     version=version))  # fmt: skip
    return keys


def test_a_registry_limit_pauses_the_resolve_stage_and_the_next_run_resumes(engine: Engine) -> None:
    world = generate_world(7, "small")
    keys = add_gems(engine, world)
    gems = [k for k in keys if k.startswith("gem/")]
    assert len(gems) >= 3
    # A RubyGems stricter than upkeep's pace (one a second where upkeep sends five): its 429s say nothing.
    strict = replace(profile("personal-token"), name="strict", registry_per_second=(("/registry/rubygems", 1),))
    with SandboxServer(world, knobs=Knobs(limits=strict, time_compression=60)) as server:
        settings = load_settings(None, search=False, overrides=sandbox_settings(server.base_url, world))
        context = StageContext(settings, Secrets(), engine, datetime.now(UTC))
        first = run_pipeline(context, {"resolve": resolve_stage})
        states = {row.package_key: row for row in load_resolutions(engine)}
        refused = [r for r in server.router.log if r.service == "/registry/rubygems" and r.status == 429]
        assert first.status == "paused" and first.stages["resolve"]["status"] == "paused"
        until = first.stages["resolve"]["rate_limited"]["rubygems"]
        assert first.stages["resolve"]["note"] == f"paused: rate limited until {until}"
        limited = [k for k in gems if states[k].status == "retry"]
        assert limited and refused and all(r.headerless_limit for r in refused)
        reasons = {str(states[k].reason) for k in limited}
        assert all(r.startswith("rate limited: rubygems until ") for r in reasons)
        assert max(r.rsplit(" ", 1)[1] for r in reasons) == until  # the stage waits for the latest
        # after the first refusal, the rest of the run asked RubyGems nothing more than what was in flight
        asked = [r for r in server.router.log if r.service == "/registry/rubygems"]
        assert len(asked) < len(gems) + 8
        time.sleep(max(0.0, datetime.fromisoformat(until).timestamp() - time.time()) + 0.1)
        server.router.knobs = replace(server.router.knobs, limits="personal-token")  # RubyGems' documented 10/s
        second = run_pipeline(context, {"resolve": resolve_stage})
    assert second.resumed_from == "resolve" and second.status == "ok", second.stages
    states = {row.package_key: row for row in load_resolutions(engine)}
    assert not [k for k in gems if states[k].status == "retry"]
    by_status: dict[str, int] = defaultdict(int)
    for k in keys:
        by_status[states[k].status] += 1
    assert by_status["retry"] == 0


def test_the_sandbox_clock_factor_reaches_github_and_every_forge() -> None:
    """One declared factor for every client of the sandbox: a forge left at the default would pace
    and wait on another clock than the sandbox it talks to."""
    world = generate_world(7, "small")
    overrides = sandbox_settings("http://127.0.0.1:1", world, time_compression=600)
    settings = load_settings(None, overrides=overrides, search=False)
    assert settings.github.time_compression == 600
    assert settings.forges
    assert {forge.name: forge.time_compression for forge in settings.forges} == {
        forge.name: 600 for forge in settings.forges
    }
