"""One place that builds httpx clients: base URL, timeouts, User-Agent, retries, rate limits.

Adapters take a ready client; tests pass ``transport=httpx.MockTransport(handler)`` or point
the base URL at the sandbox server, and the same code runs. Retries wrap the transport, so
every request of every adapter gets the same policy:

* connection errors, timeouts, truncated bodies and 500/502/503/504 are retried with
  exponential backoff and jitter;
* 429, and 403 that carries ``Retry-After`` or ``X-RateLimit-Remaining: 0``, wait for the
  server's time when it is short and raise :class:`RateLimited` when it is long, so the
  caller can record where it stopped and the worker can reschedule.
"""

from __future__ import annotations

import asyncio
import email.utils
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

import httpx
from tenacity import RetryCallState, wait_exponential_jitter

from bot import __version__

USER_AGENT = f"upkeep/{__version__} (+https://github.com/upkeep-ospo/upkeep)"
RETRY_STATUSES = frozenset({500, 502, 503, 504})
RETRY_EXCEPTIONS: tuple[type[Exception], ...] = (
    httpx.TransportError,  # connect errors, timeouts, protocol errors, resets
)


class RateLimited(Exception):
    """The server asked us to wait longer than we are willing to block."""

    def __init__(self, url: str, reset_at: datetime) -> None:
        super().__init__(f"{url}: rate limited until {reset_at.isoformat()}")
        self.url = url
        self.reset_at = reset_at


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 4
    initial_backoff: float = 0.2
    max_backoff: float = 10.0
    max_wait_seconds: float = 60.0  # longer server-requested waits raise RateLimited


def retry_after_seconds(response: httpx.Response, now: float | None = None) -> float | None:
    """How long the server asks us to wait, from ``Retry-After`` or ``X-RateLimit-Reset``; None if it does not."""
    now = time.time() if now is None else now
    header = response.headers.get("retry-after")
    if header:
        try:
            return max(0.0, float(header))
        except ValueError:
            parsed = email.utils.parsedate_to_datetime(header)
            return max(0.0, parsed.timestamp() - now)
    if response.headers.get("x-ratelimit-remaining") == "0" and response.headers.get("x-ratelimit-reset"):
        try:
            return max(0.0, float(response.headers["x-ratelimit-reset"]) - now)
        except ValueError:
            return None
    return None


def is_rate_limited(response: httpx.Response) -> bool:
    if response.status_code == 429:
        return True
    return response.status_code == 403 and (
        "retry-after" in response.headers or response.headers.get("x-ratelimit-remaining") == "0"
    )


class _Attempt:
    def __init__(self, attempt_number: int) -> None:
        self.attempt_number = attempt_number


class _Decision:
    """What to do after one attempt: return the response, or sleep and retry."""

    def __init__(self, policy: RetryPolicy) -> None:
        self.policy = policy
        self._backoff = wait_exponential_jitter(
            multiplier=policy.initial_backoff, max=policy.max_backoff, jitter=policy.initial_backoff
        )

    def backoff(self, attempt: int) -> float:
        # tenacity's wait strategies read only ``attempt_number`` from the call state.
        return float(self._backoff(cast(RetryCallState, _Attempt(attempt))))

    def after_response(self, request: httpx.Request, response: httpx.Response, attempt: int) -> float | None:
        if attempt > self.policy.max_retries:
            return None
        if is_rate_limited(response):
            wait = retry_after_seconds(response)
            wait = self.backoff(attempt) if wait is None else wait
            if wait > self.policy.max_wait_seconds:
                reset = datetime.fromtimestamp(time.time() + wait, tz=UTC)
                raise RateLimited(str(request.url), reset)
            return wait
        if response.status_code in RETRY_STATUSES:
            return self.backoff(attempt)
        return None


class RetryingTransport(httpx.BaseTransport):
    """Wraps a transport with the retry policy described in the module docstring."""

    def __init__(
        self,
        inner: httpx.BaseTransport | None = None,
        policy: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.inner = inner or httpx.HTTPTransport()
        self.decision = _Decision(policy or RetryPolicy())
        self.sleep = sleep

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        attempt = 1
        while True:
            try:
                response = self.inner.handle_request(request)
                response.read()  # a truncated body raises here, inside the retry loop
            except RETRY_EXCEPTIONS:
                if attempt > self.decision.policy.max_retries:
                    raise
                self.sleep(self.decision.backoff(attempt))
                attempt += 1
                continue
            wait = self.decision.after_response(request, response, attempt)
            if wait is None:
                return response
            response.close()
            self.sleep(wait)
            attempt += 1

    def close(self) -> None:
        self.inner.close()


class AsyncRetryingTransport(httpx.AsyncBaseTransport):
    """The async twin of :class:`RetryingTransport`."""

    def __init__(
        self,
        inner: httpx.AsyncBaseTransport | None = None,
        policy: RetryPolicy | None = None,
        sleep: Callable[[float], Any] = asyncio.sleep,
    ) -> None:
        self.inner = inner or httpx.AsyncHTTPTransport()
        self.decision = _Decision(policy or RetryPolicy())
        self.sleep = sleep

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        attempt = 1
        while True:
            try:
                response = await self.inner.handle_async_request(request)
                await response.aread()
            except RETRY_EXCEPTIONS:
                if attempt > self.decision.policy.max_retries:
                    raise
                await self.sleep(self.decision.backoff(attempt))
                attempt += 1
                continue
            wait = self.decision.after_response(request, response, attempt)
            if wait is None:
                return response
            await response.aclose()
            await self.sleep(wait)
            attempt += 1

    async def aclose(self) -> None:
        await self.inner.aclose()


def _headers(token: str | None, extra: dict[str, str] | None) -> dict[str, str]:
    headers = {"User-Agent": USER_AGENT}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    headers.update(extra or {})
    return headers


def make_client(
    base_url: str = "",
    *,
    token: str | None = None,
    timeout: float = 20.0,
    policy: RetryPolicy | None = None,
    transport: httpx.BaseTransport | None = None,
    headers: dict[str, str] | None = None,
    follow_redirects: bool = False,
) -> httpx.Client:
    """A sync client with the project's User-Agent, timeouts and retry policy."""
    return httpx.Client(
        base_url=base_url,
        headers=_headers(token, headers),
        timeout=timeout,
        transport=RetryingTransport(transport, policy),
        follow_redirects=follow_redirects,
    )


def make_async_client(
    base_url: str = "",
    *,
    token: str | None = None,
    timeout: float = 20.0,
    policy: RetryPolicy | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    headers: dict[str, str] | None = None,
    max_connections: int = 64,
    follow_redirects: bool = True,
) -> httpx.AsyncClient:
    """An async client; connection limits cap the global concurrency of a stage."""
    inner = transport or httpx.AsyncHTTPTransport(
        limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
    )
    return httpx.AsyncClient(
        base_url=base_url,
        headers=_headers(token, headers),
        timeout=timeout,
        transport=AsyncRetryingTransport(inner, policy),
        follow_redirects=follow_redirects,
    )


def cache_key(url: str) -> str:
    """The store's key for a cached answer: the URL without its port.

    A server's port carries no identity here, and the sandbox (the demo) is served on a new random
    port every time: a key with the port would miss every cached listing on the next run."""
    parsed = httpx.URL(url)
    return str(parsed.copy_with(port=None)) if parsed.port is not None else url
