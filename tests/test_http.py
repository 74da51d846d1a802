"""The shared HTTP policy: retries, rate-limit waits and outcomes, User-Agent — over a real socket."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from bot.http import (
    USER_AGENT,
    AsyncRetryingTransport,
    RateLimited,
    RetryingTransport,
    RetryPolicy,
    make_async_client,
    make_client,
    retry_after_seconds,
)


class Script:
    """Answers each request with the next scripted (status, headers) and records what it saw."""

    def __init__(self, steps: list[tuple[int, dict[str, str]]]) -> None:
        self.steps = steps
        self.seen: list[dict[str, str]] = []
        self.lock = threading.Lock()

    def next(self, headers: dict[str, str]) -> tuple[int, dict[str, str]]:
        with self.lock:
            self.seen.append(headers)
            return self.steps[min(len(self.seen) - 1, len(self.steps) - 1)]


@pytest.fixture
def server() -> Iterator[tuple[str, list[Script]]]:
    holder: list[Script] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status, headers = holder[0].next({k.lower(): v for k, v in self.headers.items()})
            if status == 0:  # drop the connection without an answer
                self.connection.close()
                return
            body = b'{"ok": true}'
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", holder
    httpd.shutdown()
    httpd.server_close()


def _sleeps() -> tuple[list[float], object]:
    slept: list[float] = []
    return slept, slept.append


def test_retries_server_errors_and_dropped_connections(server: tuple[str, list[Script]]) -> None:
    base, holder = server
    holder.append(Script([(503, {}), (0, {}), (502, {}), (200, {})]))
    slept: list[float] = []
    client = httpx.Client(base_url=base, transport=RetryingTransport(policy=RetryPolicy(), sleep=slept.append))
    response = client.get("/x")
    assert response.status_code == 200
    assert len(holder[0].seen) == 4
    assert len(slept) == 3 and all(0 < s <= 10 for s in slept)


def test_gives_up_after_max_retries(server: tuple[str, list[Script]]) -> None:
    base, holder = server
    holder.append(Script([(500, {})]))
    slept: list[float] = []
    transport = RetryingTransport(policy=RetryPolicy(max_retries=2), sleep=slept.append)
    response = httpx.Client(base_url=base, transport=transport).get("/x")
    assert response.status_code == 500
    assert len(holder[0].seen) == 3


def test_short_retry_after_is_waited_for(server: tuple[str, list[Script]]) -> None:
    base, holder = server
    holder.append(Script([(429, {"Retry-After": "3"}), (200, {})]))
    slept: list[float] = []
    transport = RetryingTransport(policy=RetryPolicy(), sleep=slept.append)
    assert httpx.Client(base_url=base, transport=transport).get("/x").status_code == 200
    assert slept == [3.0]


def test_long_rate_limit_becomes_an_outcome(server: tuple[str, list[Script]]) -> None:
    base, holder = server
    holder.append(Script([(403, {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "9999999999"})]))
    transport = RetryingTransport(policy=RetryPolicy(max_wait_seconds=60), sleep=lambda s: None)
    with pytest.raises(RateLimited) as err:
        httpx.Client(base_url=base, transport=transport).get("/x")
    assert err.value.reset_at.year > 2100
    assert len(holder[0].seen) == 1


def test_plain_403_is_not_retried(server: tuple[str, list[Script]]) -> None:
    base, holder = server
    holder.append(Script([(403, {})]))
    transport = RetryingTransport(sleep=lambda s: None)
    assert httpx.Client(base_url=base, transport=transport).get("/x").status_code == 403
    assert len(holder[0].seen) == 1


def test_client_factory_sends_user_agent_and_token(server: tuple[str, list[Script]]) -> None:
    base, holder = server
    holder.append(Script([(200, {})]))
    with make_client(base, token="tok-123") as client:
        client.get("/x")
    headers = holder[0].seen[0]
    assert headers["user-agent"] == USER_AGENT
    assert headers["authorization"] == "Bearer tok-123"


def test_async_client_retries_too(server: tuple[str, list[Script]]) -> None:
    base, holder = server
    holder.append(Script([(502, {}), (200, {})]))

    async def go() -> int:
        async def no_sleep(_: float) -> None:
            return None

        transport = AsyncRetryingTransport(policy=RetryPolicy(), sleep=no_sleep)
        async with httpx.AsyncClient(base_url=base, transport=transport) as client:
            return (await client.get("/x")).status_code

    assert asyncio.run(go()) == 200
    assert len(holder[0].seen) == 2

    async def factory() -> str:
        async with make_async_client(base) as client:
            return client.headers["user-agent"]

    assert asyncio.run(factory()) == USER_AGENT


def test_retry_after_parsing() -> None:
    assert retry_after_seconds(httpx.Response(429, headers={"Retry-After": "7"})) == 7.0
    reset = httpx.Response(403, headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1100"})
    assert retry_after_seconds(reset, now=1000.0) == 100.0
    assert retry_after_seconds(httpx.Response(500)) is None
