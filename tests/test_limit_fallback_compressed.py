"""A rate-limit answer without a reset time waits on the service's clock: compressed in the sandbox."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from bot.http import RateLimited
from bot.sources.github_client import GraphQLClient
from bot.sources.github_signals import GitHubSignalSource

URL = "https://api.github.test/graphql"


def _answer(status: int, body: dict, headers: dict[str, str] | None = None) -> httpx.Client:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json=body, headers=headers or {})

    return httpx.Client(transport=httpx.MockTransport(handler))


def _wait_of(call) -> float:
    before = datetime.now(UTC)
    with pytest.raises(RateLimited) as caught:
        call()
    return (caught.value.reset_at - before).total_seconds()


LIMITED = {"data": None, "errors": [{"type": "RATE_LIMITED", "message": "API rate limit exceeded"}]}


@pytest.mark.parametrize("compression", [1.0, 60.0, 600.0])
def test_graphql_client_headerless_limit_waits_a_compressed_minute(compression: float) -> None:
    client = GraphQLClient(_answer(429, {"message": "rate limit"}), URL, time_compression=compression)
    wait = _wait_of(lambda: client.query("{ viewer { login } }", {}, purpose="test"))
    assert 60 / compression - 0.5 <= wait <= 60 / compression + 0.5


def test_graphql_client_reads_a_fractional_retry_after() -> None:
    client = GraphQLClient(_answer(429, {"message": "rate limit"}, {"retry-after": "2.500"}), URL, time_compression=60)
    wait = _wait_of(lambda: client.query("{ viewer { login } }", {}, purpose="test"))
    assert 2.0 <= wait <= 3.0  # the stated wait, not the minute's fallback (1 s at factor 60)


def test_graphql_client_rate_limited_error_without_reset_is_compressed() -> None:
    client = GraphQLClient(_answer(200, LIMITED), URL, time_compression=120.0)
    wait = _wait_of(lambda: client.query("{ viewer { login } }", {}, purpose="test"))
    assert 0 < wait <= 60 / 120 + 0.5


@pytest.mark.parametrize("compression", [1.0, 60.0, 900.0])
def test_signals_headerless_limit_waits_a_compressed_quarter_hour(compression: float) -> None:
    source = GitHubSignalSource(
        _answer(200, LIMITED),
        graphql_url=URL,
        api_url="https://api.github.test",
        token="t",
        time_compression=compression,
    )
    now = datetime.now(UTC)
    wait = _wait_of(lambda: source.observe([("github.com/a/b", "a", "b")], since=now - timedelta(days=365), now=now))
    assert 900 / compression - 0.5 <= wait <= 900 / compression + 0.5


def test_signals_limit_with_a_reset_time_keeps_it() -> None:
    reset = int((datetime.now(UTC) + timedelta(hours=1)).timestamp())
    source = GitHubSignalSource(
        _answer(200, LIMITED, {"x-ratelimit-reset": str(reset)}),
        graphql_url=URL,
        api_url="https://api.github.test",
        token="t",
        time_compression=60.0,
    )
    now = datetime.now(UTC)
    with pytest.raises(RateLimited) as caught:
        source.observe([("github.com/a/b", "a", "b")], since=now - timedelta(days=365), now=now)
    assert caught.value.reset_at == datetime.fromtimestamp(reset, UTC)
