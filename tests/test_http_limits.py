"""upkeep follows GitHub's rules for limits: a header-less secondary limit or 429 waits at least a
minute, then twice as long; a 403 that is no limit is not retried; a spent budget raises
RateLimited; each credential's bucket paces requests, shared by every client of the process; and
a rate limit pauses a pipeline stage instead of failing it."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import Engine

from bot.config import Secrets, load_settings
from bot.http import (
    RateLimited,
    RetryingTransport,
    RetryPolicy,
    TokenBucket,
    bucket_for,
    compressed_policy,
    make_client,
)
from bot.pipeline import StageContext, run_pipeline, run_resuming, seconds_until_reset

SECONDARY = {"message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."}


def scripted(*answers: httpx.Response) -> tuple[httpx.MockTransport, list[httpx.Request]]:
    seen: list[httpx.Request] = []
    queue = list(answers)

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return queue.pop(0) if queue else httpx.Response(200, json={"ok": True})

    return httpx.MockTransport(handler), seen


def run(transport: httpx.BaseTransport, policy: RetryPolicy | None = None) -> tuple[httpx.Response, list[float]]:
    slept: list[float] = []
    retrying = RetryingTransport(transport, policy or RetryPolicy(max_wait_seconds=1000), sleep=slept.append)
    with httpx.Client(transport=retrying) as client:
        return client.get("https://api.github.test/orgs/acme/repos"), slept


def test_a_headerless_secondary_403_waits_a_minute_then_doubles() -> None:
    transport, seen = scripted(httpx.Response(403, json=SECONDARY), httpx.Response(403, json=SECONDARY))
    response, slept = run(transport)
    assert response.status_code == 200 and len(seen) == 3
    assert 60 <= slept[0] < 67 and 120 <= slept[1] < 133


def test_a_headerless_429_waits_a_minute_not_a_second() -> None:
    transport, _ = scripted(httpx.Response(429, text="Too Many Requests"))
    response, slept = run(transport)
    assert response.status_code == 200 and slept[0] >= 60


def test_a_stated_wait_is_taken_as_stated() -> None:
    transport, _ = scripted(httpx.Response(403, headers={"retry-after": "7"}, json=SECONDARY))
    _, slept = run(transport)
    assert slept == [7.0]


def test_a_403_that_is_no_limit_is_not_retried() -> None:
    transport, seen = scripted(httpx.Response(403, json={"message": "Resource not accessible by integration"}))
    response, slept = run(transport)
    assert response.status_code == 403 and slept == [] and len(seen) == 1


def test_a_wait_longer_than_allowed_raises_rate_limited_with_its_time() -> None:
    transport, seen = scripted(*[httpx.Response(403, json=SECONDARY)] * 5)
    before = datetime.now(UTC)
    with pytest.raises(RateLimited) as caught:
        run(transport, RetryPolicy(max_wait_seconds=100))
    assert len(seen) == 2  # 60 s was slept through, 120 s is more than allowed
    assert caught.value.reset_at >= before + timedelta(seconds=120)


def test_compressed_policy_scales_the_minute_for_the_sandbox() -> None:
    policy = compressed_policy(RetryPolicy(max_wait_seconds=300), 60)
    assert policy.secondary_wait_seconds == 1.0 and policy.max_wait_seconds == 5.0
    transport, _ = scripted(httpx.Response(403, json=SECONDARY))
    _, slept = run(transport, policy)
    assert 1.0 <= slept[0] < 1.2


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_bucket_keeps_an_hour_under_the_budget() -> None:
    clock = Clock()
    bucket = TokenBucket(5000, clock=clock, wall=clock)
    waits = [bucket.acquire() for _ in range(500)]  # a tenth of the budget at once
    assert waits == [0.0] * 500
    assert bucket.acquire() == pytest.approx(3600 / 4500, rel=0.01)  # then nine tenths of it an hour
    sent = 501
    for _ in range(3600):  # an hour of one request a second: the bucket lets through its rate only
        clock.now += 1
        bucket.tokens = min(bucket.capacity, bucket.tokens)
        if bucket.acquire() == 0.0:
            sent += 1
    assert sent <= 5000


def test_a_spent_budget_holds_every_request_until_its_reset() -> None:
    clock = Clock()
    bucket = TokenBucket(5000, clock=clock, wall=clock)
    bucket.observe(httpx.Response(200, headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": "1030"}))
    assert bucket.acquire(max_wait=60) == pytest.approx(30)
    bucket.observe(httpx.Response(200, headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": "4600"}))
    with pytest.raises(RateLimited) as caught:
        bucket.acquire("https://api.github.test/graphql", max_wait=60)
    assert caught.value.reset_at == datetime.fromtimestamp(4600, tz=UTC)


def test_one_bucket_per_credential_shared_by_every_client() -> None:
    a = bucket_for("https://api.github.test", "token-a", 5000)
    assert bucket_for("https://api.github.test", "token-a", 5000) is a
    assert bucket_for("https://api.github.test", "token-b", 5000) is not a
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(200, headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": "9999999999"})

    with make_client(transport=httpx.MockTransport(handler), bucket=a) as first:
        first.get("https://api.github.test/a")
    again = make_client(transport=httpx.MockTransport(handler), bucket=a, policy=RetryPolicy(max_wait_seconds=5))
    with again, pytest.raises(RateLimited):  # another client (another stage) of the same credential is held too
        again.get("https://api.github.test/b")
    assert seen == ["https://api.github.test/a"]


# ------------------------------------------------------------------------------------------- the pipeline


def test_a_rate_limit_pauses_the_stage_and_the_next_run_resumes(engine: Engine) -> None:
    calls: list[str] = []
    limited = {"gather": True}

    def sync(_: StageContext) -> Mapping[str, Any]:
        calls.append("sync")
        return {"listed": 3}

    def gather(_: StageContext) -> Mapping[str, Any]:
        calls.append("gather")
        if limited["gather"]:
            raise RateLimited("https://api.github.test/graphql", datetime(2026, 12, 6, 5, 0, tzinfo=UTC))
        return {"fetched": 2}

    def score(_: StageContext) -> Mapping[str, Any]:
        calls.append("score")
        return {"evidence": {"stopped": None}}

    registry = {"sync": sync, "gather": gather, "score": score}
    context = StageContext(load_settings(None, search=False), Secrets(), engine, datetime.now(UTC))
    first = run_pipeline(context, registry)
    assert first.status == "paused"
    assert first.stages["gather"]["status"] == "paused"
    assert first.stages["gather"]["note"] == "paused: rate limited until 2026-12-06T05:00:00+00:00"
    assert "score" not in first.stages and calls == ["sync", "gather"]
    limited["gather"] = False
    second = run_pipeline(context, registry)
    assert second.resumed_from == "gather" and second.status == "ok"
    assert calls == ["sync", "gather", "gather", "score"]


def test_a_resumed_run_that_pauses_again_resumes_at_the_paused_stage(engine: Engine) -> None:
    """Two pauses in a row (a budget that takes several windows): the third run starts at gather,
    not at sync, though the second run recorded only the stages from gather on."""
    calls: list[str] = []
    pauses = {"left": 2}

    def sync(_: StageContext) -> Mapping[str, Any]:
        calls.append("sync")
        return {"listed": 3}

    def gather(_: StageContext) -> Mapping[str, Any]:
        calls.append("gather")
        if pauses["left"]:
            pauses["left"] -= 1
            raise RateLimited("https://api.github.test/graphql", datetime(2026, 12, 6, 5, 0, tzinfo=UTC))
        return {"fetched": 2}

    def score(_: StageContext) -> Mapping[str, Any]:
        calls.append("score")
        return {"scored": 1}

    registry = {"sync": sync, "gather": gather, "score": score}
    context = StageContext(load_settings(None, search=False), Secrets(), engine, datetime.now(UTC))
    results = [run_pipeline(context, registry) for _ in range(3)]
    assert [r.status for r in results] == ["paused", "paused", "ok"]
    assert [r.resumed_from for r in results] == [None, "gather", "gather"]
    assert calls == ["sync", "gather", "gather", "gather", "score"]
    assert run_pipeline(context, registry).resumed_from is None  # after an ok run: from the start


def _pausing_registry(pauses: int, reset: datetime, calls: list[str]) -> dict[str, Any]:
    left = {"n": pauses}

    def sync(_: StageContext) -> Mapping[str, Any]:
        calls.append("sync")
        return {"listed": 3}

    def gather(_: StageContext) -> Mapping[str, Any]:
        calls.append("gather")
        if left["n"]:
            left["n"] -= 1
            raise RateLimited("https://api.github.test/graphql", reset)
        return {"fetched": 2}

    def score(_: StageContext) -> Mapping[str, Any]:
        calls.append("score")
        return {"scored": 1}

    return {"sync": sync, "gather": gather, "score": score}


def test_run_resuming_sleeps_until_each_reset_and_finishes_the_run(engine: Engine) -> None:
    """What the demo and the bench do: sleep to the recorded reset, resume at the paused stage."""
    calls: list[str] = []
    reset = datetime.now(UTC) + timedelta(seconds=30)
    registry = _pausing_registry(2, reset, calls)
    context = StageContext(load_settings(None, search=False), Secrets(), engine, datetime.now(UTC))
    slept: list[float] = []
    told: list[tuple[str, str | None, float]] = []
    result = run_resuming(
        context,
        registry,
        max_resumptions=5,
        sleep=slept.append,
        on_pause=lambda stage, until, seconds: told.append((stage, until, seconds)),
    )
    assert result.status == "ok" and result.pauses == 2
    assert calls == ["sync", "gather", "gather", "gather", "score"]
    assert [stage for stage, _, _ in told] == ["gather", "gather"]
    assert all(until == reset.isoformat() for _, until, _ in told)
    assert all(29 < seconds <= 31 for seconds in slept) and [s for *_, s in told] == slept
    assert result.paused_s == pytest.approx(sum(slept))
    # every stage's latest summary, the first run's sync included
    assert {name: info["status"] for name, info in result.stages.items()} == {
        "sync": "ok",
        "gather": "ok",
        "score": "ok",
    }


def test_run_resuming_gives_up_after_its_bound(engine: Engine) -> None:
    calls: list[str] = []
    registry = _pausing_registry(10, datetime.now(UTC) - timedelta(seconds=5), calls)
    context = StageContext(load_settings(None, search=False), Secrets(), engine, datetime.now(UTC))
    slept: list[float] = []
    result = run_resuming(context, registry, max_resumptions=3, sleep=slept.append)
    assert result.status == "paused" and result.pauses == 3
    assert calls.count("gather") == 4 and "score" not in calls
    assert slept == [0.5, 0.5, 0.5]  # a reset already past: just past it, not a negative wait


def test_seconds_until_reset_is_bounded() -> None:
    now = datetime(2026, 12, 6, 5, 0, tzinfo=UTC)
    assert seconds_until_reset(None, now=now) == 1.0
    assert seconds_until_reset((now + timedelta(seconds=2)).isoformat(), now=now) == 2.5
    assert seconds_until_reset((now + timedelta(days=1)).isoformat(), now=now) == 3600.0


def test_a_stage_whose_summary_says_stopped_is_paused_too(engine: Engine) -> None:
    def sync(_: StageContext) -> Mapping[str, Any]:
        return {"github": {"stopped": "2026-12-06T05:00:00+00:00", "listed": 1}}

    context = StageContext(load_settings(None, search=False), Secrets(), engine, datetime.now(UTC))
    result = run_pipeline(context, {"sync": sync})
    assert result.status == "paused" and result.stages["sync"]["status"] == "paused"
    assert result.stages["sync"]["note"].startswith("paused: rate limited until 2026-12-06T05:00")
