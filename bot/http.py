"""One place that builds httpx clients: base URL, timeouts, User-Agent, retries, rate limits.

Adapters take a ready client; tests pass ``transport=httpx.MockTransport(handler)`` or point
the base URL at the sandbox server, and the same code runs. Retries wrap the transport, so
every request of every adapter gets the same policy:

* connection errors, timeouts, truncated bodies and 500/502/503/504 are retried with
  exponential backoff and jitter;
* 429, and 403 that carries ``Retry-After``, ``X-RateLimit-Remaining: 0`` or GitHub's "rate limit"
  message, wait for the server's time when it is short and raise :class:`RateLimited` when it is
  long, so the caller can record where it stopped and the worker can reschedule; a request whose
  caller paces the service itself (:data:`PACED_BY_CALLER`) gets the limit answer back at once, as
  :class:`RateLimited`, to retry through that pace;
* a limit answer that says nothing of when to come back (GitHub's secondary limits often do
  not) waits at least ``secondary_wait_seconds`` (a minute, GitHub's documented rule) and then
  twice as long each time, never the short backoff of a server error;
* a :class:`TokenBucket` per credential, shared by every client of the process that uses the
  same credential (:func:`bucket_for`), paces requests under the budget (an hour's, or a minute's
  for Open Collective) and, once any answer says a limit was hit (a spent budget, a 429, a
  secondary-limit 403), holds every request of every client sharing it for the time the answer
  gave (:meth:`TokenBucket.hold`) instead of sending them to be refused.

Budgets and waits can be compressed by a declared factor (``time_compression``) for the sandbox,
whose clock runs that much faster; against a real service the factor is 1.
"""

from __future__ import annotations

import asyncio
import email.utils
import hashlib
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
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
    """The server asked us to wait longer than we are willing to block, or a limit answer came back to a
    caller that paces its own requests (:data:`PACED_BY_CALLER`).

    ``brief``: the server stated a wait short enough to wait out. Either the request's caller retries
    limit answers through its own pace, or every retry met the limit again because other requests took
    the window first. That is contention, not a spent budget: the caller may wait until ``reset_at`` and
    try again through its pace instead of pausing.
    """

    def __init__(self, url: str, reset_at: datetime, *, brief: bool = False) -> None:
        super().__init__(f"{url}: rate limited until {reset_at.isoformat()}")
        self.url = url
        self.reset_at = reset_at
        self.brief = brief


#: A request extension: its caller paces the service itself and retries a limit answer through that pace
#: (the resolve stage's registries), so the transport hands the answer back at once instead of retrying
#: outside the pace, where other paced requests take each freed window first.
PACED_BY_CALLER = "upkeep.paced_by_caller"


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 4
    initial_backoff: float = 0.2
    max_backoff: float = 10.0
    max_wait_seconds: float = 60.0  # longer server-requested waits raise RateLimited
    #: A limit answer without Retry-After or a spent budget: wait this long, then double (GitHub: one minute).
    secondary_wait_seconds: float = 60.0


def compressed_wait(seconds: float, time_compression: float) -> float:
    """``seconds`` of the service's clock in real seconds, when that clock runs ``time_compression`` times faster."""
    return seconds / max(1.0, float(time_compression))


def compressed_policy(policy: RetryPolicy, time_compression: float) -> RetryPolicy:
    """``policy`` for a service whose clock runs ``time_compression`` times faster (the sandbox)."""
    return replace(
        policy,
        secondary_wait_seconds=compressed_wait(policy.secondary_wait_seconds, time_compression),
        max_wait_seconds=compressed_wait(policy.max_wait_seconds, time_compression),
    )


class TokenBucket:
    """Paces one credential's requests under ``limit_per_hour`` by design: bursts of a tenth of the
    budget, refilled at nine tenths of it, so no hour (times the time compression) can hold more than
    the budget; and no request at all while an answer says a limit was hit (:meth:`observe`,
    :meth:`hold`). ``window_seconds`` makes the budget one per that window instead of per hour.

    ``acquire`` returns how long the caller must sleep first; a wait longer than ``max_wait``
    raises :class:`RateLimited` instead, so a stage pauses rather than blocks for an hour.
    """

    def __init__(
        self,
        limit_per_hour: float,
        *,
        time_compression: float = 1.0,
        window_seconds: float = 3600.0,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.rate = 0.9 * limit_per_hour * max(1.0, time_compression) / window_seconds
        self.capacity = max(1.0, 0.1 * limit_per_hour)
        self.tokens = self.capacity
        self.clock, self.wall = clock, wall
        self.updated = clock()
        self.blocked_until = 0.0  # wall-clock epoch seconds
        self._lock = threading.Lock()

    def acquire(self, url: str = "", max_wait: float = float("inf")) -> float:
        with self._lock:
            now = self.clock()
            self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
            self.updated = now
            wait = max(0.0, self.blocked_until - self.wall())
            if self.tokens < 1.0:
                wait = max(wait, (1.0 - self.tokens) / self.rate)
            if wait > max_wait:
                raise RateLimited(url, datetime.fromtimestamp(self.wall() + wait, tz=UTC))
            self.tokens -= 1.0
            return wait

    def observe(self, response: httpx.Response) -> None:
        """Learn from an answer's budget headers: a spent budget blocks until its reset."""
        reset = spent_budget_reset(response)
        if reset is None:
            return
        with self._lock:
            self.blocked_until = max(self.blocked_until, reset)

    def hold(self, seconds: float) -> None:
        """Issue nothing for ``seconds``: an answer said a limit was hit, for every client of this credential."""
        with self._lock:
            self.blocked_until = max(self.blocked_until, self.wall() + seconds)


_BUCKETS: dict[tuple[str, str], TokenBucket] = {}
_BUCKETS_LOCK = threading.Lock()


def bucket_for(
    service: str,
    credential: str,
    rate_per_hour: float,
    *,
    time_compression: float = 1.0,
    window_seconds: float = 3600.0,
) -> TokenBucket:
    """The process's one bucket for ``credential`` on ``service`` (made on first use; only a hash is kept).

    ``rate_per_hour`` is the budget per ``window_seconds`` (an hour unless said otherwise)."""
    key = (service, hashlib.sha256(credential.encode()).hexdigest()[:16])
    with _BUCKETS_LOCK:
        bucket = _BUCKETS.get(key)
        if bucket is None:
            bucket = _BUCKETS[key] = TokenBucket(
                rate_per_hour, time_compression=time_compression, window_seconds=window_seconds
            )
        return bucket


def forget_buckets() -> None:
    """Drop every bucket (tests that start a fresh sandbox with fresh budgets)."""
    with _BUCKETS_LOCK:
        _BUCKETS.clear()


#: Budget headers, GitHub's first: ``x-ratelimit-*``; GitLab's ``RateLimit-*`` (reset as epoch seconds too).
BUDGET_HEADERS = (("x-ratelimit-remaining", "x-ratelimit-reset"), ("ratelimit-remaining", "ratelimit-reset"))


def spent_budget_reset(response: httpx.Response) -> float | None:
    """When a spent budget refills (epoch seconds), if a budget header says it is spent; else None."""
    for remaining, reset in BUDGET_HEADERS:
        if response.headers.get(remaining) == "0" and response.headers.get(reset):
            try:
                return float(response.headers[reset])
            except ValueError:
                return None
    return None


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
    reset = spent_budget_reset(response)
    return None if reset is None else max(0.0, reset - now)


_LIMIT_WORDS = (b"rate limit", b"ratelimit", b"rate-limit", b"abuse detection")


def is_rate_limited(response: httpx.Response) -> bool:
    """429, or a 403 that is a limit (headers, or GitHub's message) rather than a permission refusal."""
    if response.status_code == 429:
        return True
    if response.status_code != 403:
        return False
    if "retry-after" in response.headers or any(response.headers.get(r) == "0" for r, _ in BUDGET_HEADERS):
        return True
    try:
        body = response.content[:2000].lower()
    except httpx.ResponseNotRead:
        return False
    return any(word in body for word in _LIMIT_WORDS)


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

    def limit_wait(self, attempt: int) -> float:
        """A limit answer that did not say how long: at least the secondary wait, doubling, a little jitter."""
        base = self.policy.secondary_wait_seconds * 2 ** (attempt - 1)
        return float(base * (1.0 + random.random() * 0.1))  # jitter, not cryptography

    def after_response(self, request: httpx.Request, response: httpx.Response, attempt: int) -> float | None:
        if is_rate_limited(response):
            stated = retry_after_seconds(response)
            wait = self.limit_wait(attempt) if stated is None else stated
            paced = request.extensions.get(PACED_BY_CALLER, False)
            if paced or attempt > self.policy.max_retries or wait > self.policy.max_wait_seconds:
                reset = datetime.fromtimestamp(time.time() + wait, tz=UTC)
                brief = stated is not None and wait <= self.policy.max_wait_seconds
                raise RateLimited(str(request.url), reset, brief=brief)
            return wait
        if attempt > self.policy.max_retries:
            return None
        if response.status_code in RETRY_STATUSES:
            return self.backoff(attempt)
        return None


def _after(
    decision: _Decision, bucket: TokenBucket | None, request: httpx.Request, response: httpx.Response, attempt: int
) -> float | None:
    """The decision on ``response``; a limit answer holds ``bucket`` (every client of the credential) as long."""
    if bucket is None:
        return decision.after_response(request, response, attempt)
    bucket.observe(response)
    try:
        wait = decision.after_response(request, response, attempt)
    except RateLimited as exc:
        bucket.hold(max(0.0, exc.reset_at.timestamp() - time.time()))
        raise
    if wait is not None and is_rate_limited(response):
        bucket.hold(wait)
    return wait


class RetryingTransport(httpx.BaseTransport):
    """Wraps a transport with the retry policy described in the module docstring."""

    def __init__(
        self,
        inner: httpx.BaseTransport | None = None,
        policy: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        bucket: TokenBucket | None = None,
    ) -> None:
        self.inner = inner or httpx.HTTPTransport()
        self.decision = _Decision(policy or RetryPolicy())
        self.sleep = sleep
        self.bucket = bucket

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        attempt = 1
        while True:
            if self.bucket is not None:
                pause = self.bucket.acquire(str(request.url), self.decision.policy.max_wait_seconds)
                if pause > 0:
                    self.sleep(pause)
            try:
                response = self.inner.handle_request(request)
                response.read()  # a truncated body raises here, inside the retry loop
            except RETRY_EXCEPTIONS:
                if attempt > self.decision.policy.max_retries:
                    raise
                self.sleep(self.decision.backoff(attempt))
                attempt += 1
                continue
            wait = _after(self.decision, self.bucket, request, response, attempt)
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
        bucket: TokenBucket | None = None,
    ) -> None:
        self.inner = inner or httpx.AsyncHTTPTransport()
        self.decision = _Decision(policy or RetryPolicy())
        self.sleep = sleep
        self.bucket = bucket

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        attempt = 1
        while True:
            if self.bucket is not None:
                pause = self.bucket.acquire(str(request.url), self.decision.policy.max_wait_seconds)
                if pause > 0:
                    await self.sleep(pause)
            try:
                response = await self.inner.handle_async_request(request)
                await response.aread()
            except RETRY_EXCEPTIONS:
                if attempt > self.decision.policy.max_retries:
                    raise
                await self.sleep(self.decision.backoff(attempt))
                attempt += 1
                continue
            wait = _after(self.decision, self.bucket, request, response, attempt)
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
    bucket: TokenBucket | None = None,
) -> httpx.Client:
    """A sync client with the project's User-Agent, timeouts and retry policy (and ``bucket``'s pace)."""
    return httpx.Client(
        base_url=base_url,
        headers=_headers(token, headers),
        timeout=timeout,
        transport=RetryingTransport(transport, policy, bucket=bucket),
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
