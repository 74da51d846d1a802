"""The async fetch layer every resolver shares: limits, revalidation, counters.

* Concurrency: one semaphore per registry (its configured base URL, else the URL's origin) and a
  global one, so one slow registry cannot starve the others and the whole stage stays polite.
  Registries are keyed by base URL rather than host because mirrors and the sandbox serve several
  registries from one host.
* Revalidation: a stored ``ETag``/``Last-Modified`` is sent as ``If-None-Match``/``If-Modified-Since``;
  a ``304`` reuses the stored body (and costs registries nothing).
* Sharing: URLs fetched with ``share=True`` (Maven parent POMs, go-get pages) are requested once per
  run, however many packages need them.
* Failures: retries with backoff live in the client (``bot.http.make_async_client``); what is still
  failing afterwards (5xx, 429, timeouts) becomes :class:`RegistryUnavailable`.
* Limits: a registry with a documented rate (crates.io, RubyGems) is paced by its
  :class:`~bot.http.TokenBucket` (``paces``), and every request to it goes through that pace, retries
  included: the client hands its limit answers back at once (:data:`~bot.http.PACED_BY_CALLER`) instead
  of retrying them outside the pace, where other paced requests would take each freed window first. An
  answer that states a short wait (``RateLimited.brief``) is contention, not a spent budget: the pace is
  held for that wait and the request asked again through it, at most ``limit_rounds`` sends in all. A
  limit answered with a long wait, with no wait at all, or outlasting the sends becomes
  :class:`RegistryRateLimited`, and every later request to that registry in the run fails at once with
  the same reset instead of hammering it. A registry without a pace is retried by the client like any
  service.
* Connections: :class:`RegistryPoolTransport` gives each registry its own small connection pool.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol
from urllib.parse import urlsplit

import httpx

from bot.http import PACED_BY_CALLER, RateLimited, TokenBucket, cache_key
from bot.resolve.interface import BAD_DOCUMENT, REGISTRY_404, RegistryRateLimited, RegistryUnavailable, Unresolved
from bot.signals.registry import PackageSignals

MAX_CACHED_BODY = 4 * 1024 * 1024  # larger bodies are not stored for revalidation
_PACED = {PACED_BY_CALLER: True}


@dataclass(frozen=True, slots=True)
class CachedResponse:
    """A stored GET answer with its validators."""

    url: str
    status_code: int
    body: bytes
    etag: str | None = None
    last_modified: str | None = None


class HttpCache(Protocol):
    """Where validators and bodies live between runs (the store, or memory in tests)."""

    def get(self, url: str) -> CachedResponse | None: ...

    def put(self, entry: CachedResponse) -> None: ...


class MemoryHttpCache:
    """An :class:`HttpCache` in a dict, for tests and one-off runs."""

    def __init__(self) -> None:
        self.entries: dict[str, CachedResponse] = {}

    def get(self, url: str) -> CachedResponse | None:
        return self.entries.get(url)

    def put(self, entry: CachedResponse) -> None:
        self.entries[entry.url] = entry


@dataclass(frozen=True, slots=True)
class FetchResult:
    url: str
    status_code: int
    body: bytes

    @property
    def ok(self) -> bool:
        return 200 <= self.status_code < 300

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        """The body as JSON; ``ValueError`` names the URL when it is not."""
        try:
            return json.loads(self.body)
        except ValueError as exc:
            raise ValueError(f"{self.url}: not JSON: {exc}") from exc


@dataclass
class FetchStats:
    """What the fetch layer did in one run."""

    requests: int = 0  # HTTP requests sent (retries inside the client not counted)
    revalidated: int = 0  # 304 answers served from the stored body
    shared: int = 0  # requests saved because another package already fetched the URL this run
    failures: int = 0  # requests that ended as RegistryUnavailable or RegistryRateLimited
    limit_retries: int = 0  # requests asked again through the pace after a brief limit answer
    by_registry: Counter[str] = field(default_factory=Counter)


def registry_bases_longest_first(registries: Iterable[str]) -> list[str]:
    """Registry base URLs without trailing slash, longest first (so ``/npm`` is not taken for ``/npm-mirror``)."""
    return sorted({r.rstrip("/") for r in registries if r}, key=len, reverse=True)


def registry_key(url: str, bases: Sequence[str]) -> str:
    """The registry ``url`` belongs to: the first of ``bases`` (longest first) it starts with, else its origin."""
    for base in bases:
        if url == base or url.startswith(base + "/") or url.startswith(base + "?"):
            return base
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


class RegistryPoolTransport(httpx.AsyncBaseTransport):
    """One connection pool of ``pool_size`` per registry, instead of one pool for the whole stage.

    httpcore checks every connection of a pool (a socket poll and a peer-address lookup each) each
    time a request starts or ends, so its cost per request grows with the pool size: with one pool
    of 32 connections that check was about half of the stage's CPU, which capped the request rate.
    The fetcher already holds each registry to ``per_host_limit`` requests at a time, so pools of
    that size never make a request wait; the global limit stays the fetcher's semaphore.
    """

    def __init__(self, registries: Iterable[str], *, pool_size: int) -> None:
        self.bases = registry_bases_longest_first(registries)
        self.pool_size = pool_size
        self.pools: dict[str, httpx.AsyncHTTPTransport] = {}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        key = registry_key(str(request.url), self.bases)
        pool = self.pools.get(key)
        if pool is None:
            limits = httpx.Limits(max_connections=self.pool_size, max_keepalive_connections=self.pool_size)
            pool = self.pools[key] = httpx.AsyncHTTPTransport(limits=limits)
        return await pool.handle_async_request(request)

    async def aclose(self) -> None:
        pools, self.pools = list(self.pools.values()), {}
        for pool in pools:
            await pool.aclose()


class Fetcher:
    """GETs with per-registry and global limits, conditional revalidation and counters."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        per_host_limit: int = 8,
        global_limit: int = 32,
        cache: HttpCache | None = None,
        registries: Iterable[str] = (),
        paces: Mapping[str, TokenBucket] | None = None,
        names: Mapping[str, str] | None = None,
        max_pace_wait: float = 60.0,
        limit_rounds: int = 5,
    ) -> None:
        self.max_pace_wait = max_pace_wait
        self.limit_rounds = max(1, limit_rounds)  # sends of one request to a paced registry, at most
        self.client = client
        self.paces = {base.rstrip("/"): bucket for base, bucket in (paces or {}).items()}
        self.names = {base.rstrip("/"): name for base, name in (names or {}).items()}
        self.limited: dict[str, datetime] = {}  # registry base -> rate limited until
        self.cache = cache
        self.per_host_limit = per_host_limit
        self.stats = FetchStats()
        self._global = asyncio.Semaphore(global_limit)
        self._hosts: dict[str, asyncio.Semaphore] = {}
        self._registries = registry_bases_longest_first(registries)
        self._shared: dict[str, asyncio.Task[FetchResult]] = {}
        self._pace_locks: dict[str, asyncio.Lock] = {}
        self._last_sent: dict[str, float] = {}  # registry base -> monotonic time of its last paced request
        # document cache key -> (source, what it says for the signals stage; None: nothing readable)
        self.registry_signals: dict[str, tuple[str, PackageSignals | None]] = {}

    def note_signals(self, url: str, source: str, signals: PackageSignals | None) -> None:
        """Keep what a registry document a resolver just decoded says for the signals stage, so that
        stage reads it from the store instead of decoding the document again."""
        self.registry_signals[cache_key(url)] = (source, signals)

    def take_signals(self) -> dict[str, tuple[str, PackageSignals | None]]:
        """What :meth:`note_signals` kept since the last call (the stage writes it with its batch)."""
        taken, self.registry_signals = self.registry_signals, {}
        return taken

    def registry_of(self, url: str) -> str:
        """The limiter key of ``url``: the configured registry base it starts with, else its origin."""
        return registry_key(url, self._registries)

    async def get(self, url: str, *, headers: dict[str, str] | None = None, share: bool = False) -> FetchResult:
        """GET ``url``; 4xx answers are returned (a 404 is data), lasting failures raise ``RegistryUnavailable``."""
        if not share:
            return await self._get(url, headers)
        task = self._shared.get(url)
        if task is None:
            task = asyncio.ensure_future(self._get(url, headers))
            self._shared[url] = task
        else:
            self.stats.shared += 1
        return await asyncio.shield(task)

    async def _get(self, url: str, headers: dict[str, str] | None) -> FetchResult:
        registry = self.registry_of(url)
        pace = self.paces.get(registry)
        sends = 0
        while True:
            sends += 1
            try:
                return await self._get_once(url, headers, registry, paced=pace is not None)
            except RateLimited as exc:
                if pace is None or not exc.brief or sends >= self.limit_rounds:
                    self._stop_asking(registry, exc)
                    raise RegistryRateLimited(url, self.names.get(registry, registry), self.limited[registry]) from exc
                # Contention (the limit's window went to another request): every paced request of this
                # registry waits for the stated reset, and this one is asked again through the pace.
                self.stats.limit_retries += 1
                pace.hold(max(0.0, exc.reset_at.timestamp() - time.time()))

    def _stop_asking(self, registry: str, exc: RateLimited) -> None:
        """Refuse every later request of the run to ``registry`` until the limit's reset."""
        self.stats.failures += 1
        self.limited[registry] = max(exc.reset_at, self.limited.get(registry, exc.reset_at))
        if registry in self.paces:  # every client of this registry in the process stops until then
            self.paces[registry].hold(max(0.0, exc.reset_at.timestamp() - time.time()))

    async def _get_once(self, url: str, headers: dict[str, str] | None, registry: str, *, paced: bool) -> FetchResult:
        limiter = self._hosts.setdefault(registry, asyncio.Semaphore(self.per_host_limit))
        async with limiter, self._global:
            await self._pace(url, registry)
            cached = self.cache.get(url) if self.cache is not None else None
            request_headers = dict(headers or {})
            if cached is not None:
                if cached.etag:
                    request_headers["If-None-Match"] = cached.etag
                if cached.last_modified:
                    request_headers["If-Modified-Since"] = cached.last_modified
            self.stats.requests += 1
            self.stats.by_registry[registry] += 1
            try:
                # a paced registry's limit answer comes back at once, to be asked again through the pace
                response = await self.client.get(url, headers=request_headers, extensions=_PACED if paced else None)
            except httpx.HTTPError as exc:
                self.stats.failures += 1
                raise RegistryUnavailable(url, f"{type(exc).__name__}: {exc}") from exc
        if response.status_code == 304 and cached is not None:
            self.stats.revalidated += 1
            return FetchResult(url, cached.status_code, cached.body)
        if response.status_code >= 500 or response.status_code == 429:
            self.stats.failures += 1
            raise RegistryUnavailable(url, f"HTTP {response.status_code}")
        body = response.content
        etag = response.headers.get("etag")
        last_modified = response.headers.get("last-modified")
        storable = response.status_code == 200 and (etag or last_modified) and len(body) <= MAX_CACHED_BODY
        if self.cache is not None and storable:
            self.cache.put(CachedResponse(url, 200, body, etag, last_modified))
        return FetchResult(url, response.status_code, body)

    async def _pace(self, url: str, registry: str) -> None:
        """Hold a request to a registry already rate limited this run; else wait for its pace, if it has one."""
        until = self.limited.get(registry)
        if until is not None:
            raise RegistryRateLimited(url, self.names.get(registry, registry), until)
        bucket = self.paces.get(registry)
        if bucket is None:
            return
        # One paced request at a time, spaced from the last one actually sent: sleeps that end together
        # while the event loop was busy (parsing an answer) would otherwise send together.
        async with self._pace_locks.setdefault(registry, asyncio.Lock()):
            try:
                pause = bucket.acquire(url, self.max_pace_wait)
            except RateLimited as exc:  # held for longer than we block: the stage pauses
                self.limited[registry] = exc.reset_at
                raise RegistryRateLimited(url, self.names.get(registry, registry), exc.reset_at) from exc
            last = self._last_sent.get(registry)
            if last is not None:
                pause = max(pause, last + 1.0 / bucket.rate - time.monotonic())
            if pause > 0:
                await asyncio.sleep(pause)
            self._last_sent[registry] = time.monotonic()


def unresolved_for(result: FetchResult) -> Unresolved:
    """The outcome of a 4xx answer (outages raised earlier): ``registry 404`` or the status."""
    if result.status_code in (404, 410):
        return Unresolved(REGISTRY_404, source_url=result.url)
    return Unresolved(f"registry HTTP {result.status_code}: {result.url}", source_url=result.url)


def json_at(result: FetchResult, *keys: str, expect: type = dict) -> Any:
    """The JSON value at ``keys`` of a registry answer, or the :class:`Unresolved` saying what is wrong
    (the HTTP status, a body that is not JSON, a missing key, or a value of the wrong type)."""
    if not result.ok:
        return unresolved_for(result)
    try:
        value = result.json()
        for key in keys:
            value = value[key]
    except (ValueError, KeyError, TypeError) as exc:
        return Unresolved(f"{BAD_DOCUMENT}: {exc}", source_url=result.url)
    if not isinstance(value, expect):
        where = "/".join(keys) or "the document"
        kind = "an object" if expect is dict else "a list" if expect is list else expect.__name__
        return Unresolved(f"{BAD_DOCUMENT}: {result.url}: {where} is not {kind}", source_url=result.url)
    return value
