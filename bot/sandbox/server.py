"""The sandbox router (one request -> response function) and the loopback HTTP server around it.

``Router.handler`` is usable directly as ``httpx.MockTransport(router.handler)``; ``SandboxServer``
serves the same router on ``127.0.0.1`` with a random free port for PyGithub, slack-sdk and the
demo. The router owns everything common to all services:

* mounting by path prefix (longest match wins) and the request log (``router.stats()``);
* knobs (:class:`Knobs`): real-sleep latency, deterministic faults, a per-token rate limit;
* GitHub's documented limits by default (:mod:`bot.sandbox.limits`): a named profile
  (``personal-token`` unless told otherwise) with its clock compressed by ``time_compression``;
* ``ETag`` on every ``GET`` 200 (a hash of the body, unless the service set one) and ``304``
  for a matching ``If-None-Match``; a 304 does not count against the rate limit, as on GitHub.

Faults are chosen by hashing (seed, method, URL, how many times that URL was asked), so a run
is reproducible whatever the thread interleaving, and a retry of the same URL can succeed.
Connection reset, timeout and truncated body are real socket events in server mode and the
matching httpx exceptions under ``MockTransport``.
"""

from __future__ import annotations

import hashlib
import http.server
import importlib
import logging
import re
import socket
import struct
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from types import TracebackType
from typing import Any

import httpx

from bot.sandbox.interface import Service, ServiceContext
from bot.sandbox.limits import (
    DEFAULT_PROFILE,
    DEFAULT_TIME_COMPRESSION,
    OPENCOLLECTIVE_PREFIX,
    SECONDARY_DOCS,
    SECONDARY_MESSAGE,
    Charge,
    LimitProfile,
    Limits,
    compressed_seconds,
    opencollective_token,
    profile,
)
from bot.sandbox.model import World

log = logging.getLogger(__name__)

FAULT_KINDS = ("500", "502", "reset", "timeout", "truncated", "429", "403")
SOCKET_FAULTS = frozenset({"reset", "timeout", "truncated"})
GITHUB_PREFIXES = ("/api/v3", "/api/graphql")
#: What a client that died or hung up mid-request looks like from the server's side of the socket.
CLIENT_GONE = (ConnectionResetError, BrokenPipeError, ConnectionAbortedError)
#: Services of the other half of the sandbox, mounted when their modules exist ("module:Class").
OPTIONAL_SERVICES = (
    "bot.sandbox.github_rest:GitHubRestService",
    "bot.sandbox.github_graphql:GitHubGraphQLService",
    "bot.sandbox.sbom_export:SbomDownloadService",
    "bot.sandbox.opencollective:OpenCollectiveService",
    "bot.sandbox.slack:SlackService",
    "bot.sandbox.mattermost:MattermostService",
    "bot.sandbox.matrix:MatrixService",
    "bot.sandbox.teams:TeamsWorkflowService",
    "bot.sandbox.ecb:EcbRatesService",
    "bot.sandbox.gitlab:GitLabService",
    "bot.sandbox.forgejo:ForgejoService",
)
_ROUTE_WORDS = frozenset(
    (
        "api",
        "v1",
        "v3",
        "graphql",
        "json",
        "pypi",
        "crates",
        "@v",
        "@latest",
        "list",
        "index.json",
        "v3-flatcontainer",
        "registration5-semver1",
        "p2",
        "systems",
        "packages",
        "versions",
        "projects",
        "repos",
        "orgs",
        "users",
        "user",
        "members",
        "contents",
        "dependency-graph",
        "sbom",
        "generate-report",
        "fetch-report",
        "license",
        "contributors",
        "commits",
        "releases",
        "latest",
        "issues",
        "comments",
        "labels",
        "search",
        "rate_limit",
        ".github",
        "funding.yml",
        "funding.json",
        "readme",
        "tags",
        "branches",
        "events",
        "sponsors",
        "chat.postmessage",
        "chat.update",
        "conversations.history",
        "conversations.list",
        "auth.test",
        "files.getuploadurlexternal",
        "files.completeuploadexternal",
        "meta",
        "installation",
        "app",
        "teams",
        "ecb",
        "stats",
        "eurofxref",
        "eurofxref-hist.xml",
        "eurofxref-hist-90d.xml",
        "eurofxref-daily.xml",
    )
)
_ID = re.compile(r"^(\d+|[0-9a-f]{7,64}|[0-9a-f-]{36})$", re.IGNORECASE)


@dataclass
class Knobs:
    """How the sandbox misbehaves. Change ``router.knobs`` at any time (``dataclasses.replace``)."""

    latency_ms: float = 0.0  # added to every request with a real sleep
    fault_rate: float = 0.0  # probability of a fault per request
    fault_kinds: tuple[str, ...] = FAULT_KINDS
    fault_seed: int = 0
    fault_prefixes: tuple[str, ...] = ()  # only these mount points get faults (empty: all)
    retry_after_seconds: int = 60  # Retry-After on 429 and secondary-limit 403, in service seconds (compressed)
    timeout_seconds: float = 2.0  # how long a "timeout" fault holds the connection in server mode
    rate_limit: int | None = None  # requests per token per window (None: unlimited)
    rate_limit_window_seconds: int = 3600
    limits: str | LimitProfile = DEFAULT_PROFILE  # a profile (or its name in bot.sandbox.limits.PROFILES; "off")
    time_compression: float = DEFAULT_TIME_COMPRESSION  # the limits' clock runs this much faster
    headerless_share: float | None = None  # share of secondary-limit answers without headers (None: profile's)

    @property
    def profile(self) -> LimitProfile:
        chosen = self.limits if isinstance(self.limits, LimitProfile) else profile(self.limits)
        return chosen if self.headerless_share is None else replace(chosen, headerless_share=self.headerless_share)

    def __post_init__(self) -> None:
        if not isinstance(self.limits, LimitProfile):
            profile(self.limits)  # a clear error for an unknown name
        if self.time_compression < 1:
            raise ValueError(f"time_compression: {self.time_compression} is below 1")
        unknown = set(self.fault_kinds) - set(FAULT_KINDS)
        if unknown:
            raise ValueError(f"fault_kinds: unknown {sorted(unknown)}, expected some of {list(FAULT_KINDS)}")
        if not 0.0 <= self.fault_rate <= 1.0:
            raise ValueError(f"fault_rate: {self.fault_rate} is not between 0 and 1")


@dataclass
class Answer:
    """What the router decided: a response, possibly with a socket-level fault to apply to it."""

    response: httpx.Response
    fault: str | None = None


@dataclass(frozen=True)
class RequestRecord:
    method: str
    service: str
    route: str
    path: str
    status: int
    fault: str | None
    token: str | None  # a fingerprint of the token, never the token
    duration_ms: float
    headerless_limit: bool = False  # a 403/429 limit answer that says nothing of when to come back
    points: int = 0  # what an answered request spent of its primary budget (GraphQL: the query's cost)


def _points_by_service(records: list[RequestRecord]) -> dict[str, int]:
    points: Counter[str] = Counter()
    for record in records:
        points[record.service] += record.points
    return {service: total for service, total in sorted(points.items()) if total}


@dataclass
class _Bucket:
    window_start: float
    used: int = 0


@dataclass
class _Stats:
    records: list[RequestRecord] = field(default_factory=list)
    seen: Counter[str] = field(default_factory=Counter)


def _headerless_limit(response: httpx.Response) -> bool:
    """A limit answer (429, or a 403 about a limit) with neither ``retry-after`` nor ``x-ratelimit-remaining: 0``."""
    if response.status_code not in (403, 429):
        return False
    if "retry-after" in response.headers or response.headers.get("x-ratelimit-remaining") == "0":
        return False
    return response.status_code == 429 or b"rate limit" in response.content[:500].lower()


def route_of(path: str) -> str:
    """A route template for the log: known words kept, names and ids replaced by ``{}``."""
    segments = []
    for segment in path.strip("/").split("/"):
        if not segment:
            continue
        if _ID.match(segment) and not segment.isalpha():
            segments.append("{id}")
        elif segment.lower() in _ROUTE_WORDS:
            segments.append(segment)
        else:
            segments.append("{}")
    collapsed = [s for i, s in enumerate(segments) if not (s == "{}" and i and segments[i - 1] == "{}")]
    return "/" + "/".join(collapsed)


def token_of(request: httpx.Request) -> str | None:
    """The bearer/token credential of ``request`` (Authorization header), if any."""
    header = str(request.headers.get("authorization", ""))
    scheme, _, value = header.partition(" ")
    if scheme.lower() in ("bearer", "token") and value.strip():
        return value.strip()
    if scheme.lower() == "basic" and value.strip():
        return value.strip()
    return None


def fingerprint(token: str | None) -> str | None:
    return hashlib.sha256(token.encode()).hexdigest()[:12] if token else None


def load_optional_services(
    world: World, names: Iterable[str] = OPTIONAL_SERVICES, options: Mapping[str, Mapping[str, Any]] | None = None
) -> list[Service]:
    """Construct each ``module:Class`` that exists as ``Class(world, **options[Class])``; missing modules are
    skipped (e.g. ``options={"GitHubRestService": {"enterprise_server": True}}`` for the GHES SBOM route)."""
    services: list[Service] = []
    for spec in names:
        module_name, _, class_name = spec.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            log.debug("sandbox: %s is not there yet, not mounted", module_name)
            continue
        cls = getattr(module, class_name, None)
        if cls is None:
            log.warning("sandbox: %s has no %s, not mounted", module_name, class_name)
            continue
        services.append(cls(world, **dict((options or {}).get(class_name, {}))))
    return services


def default_services(world: World, options: Mapping[str, Mapping[str, Any]] | None = None) -> list[Service]:
    """The registries plus whichever of the GitHub, SBOM, Open Collective and Slack services exist."""
    from bot.sandbox.registries import registry_services

    return [*registry_services(world), *load_optional_services(world, options=options)]


class Router:
    """Mounts services by prefix and applies the knobs; ``handler`` is a ``MockTransport`` handler."""

    def __init__(
        self,
        world: World | None = None,
        services: Iterable[Service] | None = None,
        *,
        knobs: Knobs | None = None,
        context: ServiceContext | None = None,
        clock: Callable[[], float] = time.time,
        service_options: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        self.world = world
        self.knobs = knobs or Knobs()
        self.context = context or ServiceContext("http://sandbox.test", "http://downloads.sandbox.test")
        self.clock = clock
        self._services: list[Service] = []
        self._lock = threading.Lock()
        self._buckets: dict[tuple[str, str], _Bucket] = {}
        self._stats = _Stats()
        self.limits = Limits(clock)
        if services is not None:
            chosen: Iterable[Service] = services
        else:
            chosen = default_services(world, service_options) if world is not None else []
        for service in chosen:
            self.mount(service)

    # ------------------------------------------------------------------ mounting

    def mount(self, service: Service) -> None:
        """Add ``service`` under ``service.prefix``; a longer prefix wins over a shorter one."""
        prefix = "/" + service.prefix.strip("/")
        if any(("/" + s.prefix.strip("/")) == prefix for s in self._services):
            raise ValueError(f"{prefix}: a service is already mounted there")
        self._services.append(service)
        self._services.sort(key=lambda s: len(s.prefix.strip("/")), reverse=True)

    @property
    def prefixes(self) -> list[str]:
        return sorted("/" + s.prefix.strip("/") for s in self._services)

    def _find(self, raw_path: str) -> tuple[Service | None, str]:
        for service in self._services:
            prefix = "/" + service.prefix.strip("/")
            if raw_path == prefix or raw_path.startswith(prefix + "/"):
                return service, raw_path[len(prefix) :] or "/"
        return None, raw_path

    # ------------------------------------------------------------------ the request path

    def handler(self, request: httpx.Request) -> httpx.Response:
        """Answer ``request`` as ``httpx.MockTransport`` expects; socket faults become httpx errors."""
        request.read()
        answer = self.dispatch(request)
        if answer.fault == "reset":
            raise httpx.ReadError("[Errno 104] Connection reset by peer", request=request)
        if answer.fault == "timeout":
            raise httpx.ReadTimeout("timed out", request=request)
        if answer.fault == "truncated":
            raise httpx.RemoteProtocolError(
                "peer closed connection without sending complete message body (received "
                f"{len(answer.response.content) // 2} bytes, expected {len(answer.response.content)})",
                request=request,
            )
        return answer.response

    def dispatch(self, request: httpx.Request) -> Answer:
        """Route, apply the knobs and log one request; the caller applies any socket fault."""
        started = time.perf_counter()
        knobs = self.knobs
        if knobs.latency_ms > 0:
            time.sleep(knobs.latency_ms / 1000)
        raw_path = request.url.raw_path.decode("ascii").split("?", 1)[0]
        service, path = self._find(raw_path)
        prefix = "/" + service.prefix.strip("/") if service else "-"
        token = token_of(request)
        with self._lock:
            # path and query only, not the origin: the same faults whatever port the server got
            url_key = f"{request.method} {request.url.raw_path.decode('ascii')}"
            nth = self._stats.seen[url_key]
            self._stats.seen[url_key] += 1
        fault = self._fault(knobs, prefix, url_key, nth)
        answer: Answer
        charge: Charge | None = None
        spent = 0
        if fault is not None and fault not in SOCKET_FAULTS:
            answer = Answer(self._fault_response(fault, prefix, knobs, f"{url_key}\x1f{nth}"))
        else:
            limited = self._rate_limit(knobs, prefix, token)
            profile_, compression = knobs.profile, knobs.time_compression
            stated: dict[str, str] = {}  # limit headers on every answer (Open Collective's)
            if limited is None and prefix in GITHUB_PREFIXES and knobs.rate_limit is None:  # the old knob wins
                limited, charge = self.limits.check(
                    request, prefix, path, token, profile_, compression, knobs.fault_seed
                )
                if limited is None and not self.limits.check_cpu(
                    token, prefix == "/api/graphql", profile_, compression
                ):
                    limited = self.limits.secondary(profile_, compression, knobs.fault_seed)
            elif limited is None and prefix == "/slack/api" and knobs.rate_limit is None:
                limited = self.limits.check_slack(request, path, profile_, compression)
                limited = limited or self.limits.check_slack_post(request, path, profile_, compression)
            elif limited is None and prefix == OPENCOLLECTIVE_PREFIX and knobs.rate_limit is None:
                limited, stated = self.limits.check_opencollective(opencollective_token(request), profile_, compression)
            elif limited is None and prefix.startswith("/registry/") and knobs.rate_limit is None:
                limited = self.limits.check_registry(prefix, profile_, compression)
            if limited is not None:
                answer = Answer(limited)
            elif service is None:
                answer = Answer(
                    httpx.Response(
                        404, json={"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}
                    )
                )
            else:
                slots = knobs.profile.concurrency if prefix in GITHUB_PREFIXES else None
                with self.limits.in_flight(token, slots) as ok:
                    if ok:
                        if charge is not None:
                            request.extensions["sandbox.charge"] = charge
                            spent = charge.cost
                        cpu_started = time.thread_time()
                        response = service.handle(request, path, self.context)
                        response.read()
                        if prefix in GITHUB_PREFIXES and knobs.rate_limit is None and profile_.enforcing:
                            used = time.thread_time() - cpu_started
                            self.limits.charge_cpu(token, prefix == "/api/graphql", used, compression)
                        response.headers.update(stated)
                        if charge is not None:
                            response.headers.update(charge.headers())
                        elif prefix == "/api/v3" and path.rstrip("/") == "/rate_limit" and knobs.rate_limit is None:
                            response = self._rate_limit_body(response, token, knobs)
                        answer = Answer(self._conditional(request, response, prefix, token, charge, knobs), fault)
                    else:
                        answer = Answer(self._secondary_answer(knobs, f"{url_key}\x1f{nth}"))
        route = answer.response.headers.get("x-sandbox-route") or route_of(path)
        answer.response.headers.pop("x-sandbox-route", None)
        record = RequestRecord(
            method=request.method,
            service=prefix,
            route=route,
            path=raw_path,
            status=answer.response.status_code,
            fault=fault,
            token=fingerprint(token),
            duration_ms=round((time.perf_counter() - started) * 1000, 3),
            headerless_limit=_headerless_limit(answer.response),
            points=0 if answer.response.status_code == 304 else spent,  # a 304 is refunded
        )
        with self._lock:
            self._stats.records.append(record)
        return answer

    def _fault(self, knobs: Knobs, prefix: str, url_key: str, nth: int) -> str | None:
        if knobs.fault_rate <= 0 or not knobs.fault_kinds:
            return None
        if knobs.fault_prefixes and prefix not in knobs.fault_prefixes:
            return None
        digest = hashlib.sha256(f"{knobs.fault_seed}\x1f{url_key}\x1f{nth}".encode()).digest()
        roll = int.from_bytes(digest[:8], "big") / 2**64
        if roll >= knobs.fault_rate:
            return None
        return knobs.fault_kinds[int.from_bytes(digest[8:12], "big") % len(knobs.fault_kinds)]

    def _rate_limit_body(self, response: httpx.Response, token: str | None, knobs: Knobs) -> httpx.Response:
        """``GET /rate_limit`` states the budgets the limits count (when a profile enforces them)."""
        if response.status_code != 200 or not knobs.profile.enforcing:
            return response
        body = response.json()
        for resource, charge in self.limits.snapshot(token, knobs.profile, knobs.time_compression).items():
            stated = {"limit": charge.limit, "remaining": charge.remaining, "reset": charge.reset, "used": charge.used}
            body.setdefault("resources", {})[resource] = stated
            if resource == "core":
                body["rate"] = stated
        headers = {k: v for k, v in response.headers.items() if k.lower() not in ("content-length", "etag")}
        return httpx.Response(200, headers=headers, json=body)

    def _secondary_answer(self, knobs: Knobs, key: str) -> httpx.Response:
        """GitHub's secondary-limit 403: ``retry-after`` (compressed), or no header at all in the profile's share."""
        headers = {}
        if not self.limits.headerless(knobs.profile, knobs.fault_seed, key):
            headers["retry-after"] = compressed_seconds(knobs.retry_after_seconds, knobs.time_compression)
        body = {"message": SECONDARY_MESSAGE, "documentation_url": SECONDARY_DOCS}
        return httpx.Response(403, headers=headers, json=body)

    def _fault_response(self, fault: str, prefix: str, knobs: Knobs, key: str = "") -> httpx.Response:
        # Slack and the registries state whole seconds (slack-sdk parses an integer)
        seconds = max(1, round(knobs.retry_after_seconds / knobs.time_compression))
        retry = {"retry-after": str(seconds)}
        if fault == "500":
            return httpx.Response(500, json={"message": "Server Error"})
        if fault == "502":
            html = "<html><body><h1>502 Bad Gateway</h1>The server returned an invalid response.</body></html>"
            return httpx.Response(502, headers={"content-type": "text/html"}, text=html)
        if prefix.startswith("/slack"):
            return httpx.Response(429, headers=retry, json={"ok": False, "error": "ratelimited"})
        if prefix in GITHUB_PREFIXES:
            answer = self._secondary_answer(knobs, key)
            if fault == "429":
                return httpx.Response(429, headers=answer.headers, content=answer.content)
            return answer
        return httpx.Response(429 if fault == "429" else 403, headers=retry, text="Too Many Requests")

    def _rate_limit(self, knobs: Knobs, prefix: str, token: str | None) -> httpx.Response | None:
        """Count the request against its token; the answer when the limit is reached, else None."""
        if knobs.rate_limit is None:
            return None
        now = self.clock()
        key = (prefix, fingerprint(token) or "anonymous")
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None or now >= bucket.window_start + knobs.rate_limit_window_seconds:
                bucket = self._buckets[key] = _Bucket(now)
            if bucket.used < knobs.rate_limit:
                bucket.used += 1
                return None
            reset = int(bucket.window_start + knobs.rate_limit_window_seconds)
        wait = str(max(1, reset - int(now)))
        if prefix in GITHUB_PREFIXES:
            headers = self._limit_headers(knobs, prefix, bucket, reset)
            body = {
                "message": "API rate limit exceeded for user ID 1. If you reach out to GitHub Support for help, please "
                "include the request ID 0000:0000:000000:000000:00000000.",
                "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api",
            }
            return httpx.Response(403, headers=headers, json=body)
        if prefix.startswith("/slack"):
            return httpx.Response(429, headers={"retry-after": wait}, json={"ok": False, "error": "ratelimited"})
        if prefix == "/gitlab":  # GitLab's documented rate-limit headers on its 429, though not always
            with self._lock:
                bucket.used += 1  # counts the refusals too, so each one is its own draw below
            if self.limits.headerless(knobs.profile, knobs.fault_seed, f"gitlab\x1f{key[1]}\x1f{bucket.used}"):
                return httpx.Response(429, text="Retry later\n")  # GitLab.com sometimes says nothing at all
            headers = {
                "ratelimit-limit": str(knobs.rate_limit),
                "ratelimit-observed": str(bucket.used + 1),
                "ratelimit-remaining": "0",
                "ratelimit-reset": str(reset),
                "retry-after": wait,
            }
            return httpx.Response(429, headers=headers, text="Retry later\n")
        return httpx.Response(429, headers={"retry-after": wait}, text="Too Many Requests")

    def _limit_headers(self, knobs: Knobs, prefix: str, bucket: _Bucket | None, reset: int) -> dict[str, str]:
        limit = knobs.rate_limit if knobs.rate_limit is not None else 5000
        used = bucket.used if bucket else 0
        return {
            "x-ratelimit-limit": str(limit),
            "x-ratelimit-remaining": str(max(0, limit - used)),
            "x-ratelimit-reset": str(reset),
            "x-ratelimit-used": str(used),
            "x-ratelimit-resource": "graphql" if prefix == "/api/graphql" else "core",
        }

    def _without_origins(self, body: bytes) -> bytes:
        """The body with the server's own origins taken out: an ETag names the content, and the
        sandbox's origin (a random port) is no part of it, as github.com's host is none of GitHub's."""
        for origin in (self.context.base_url, self.context.alt_base_url):
            body = body.replace(origin.split("://", 1)[-1].encode(), b"")  # also in git@host:port URLs
        return body

    def _conditional(
        self,
        request: httpx.Request,
        response: httpx.Response,
        prefix: str,
        token: str | None,
        charge: Charge | None = None,
        knobs: Knobs | None = None,
    ) -> httpx.Response:
        """Add ETag and rate-limit headers; turn a matching If-None-Match into 304 (and refund it)."""
        knobs = knobs or self.knobs
        bucket_key = (prefix, fingerprint(token) or "anonymous")
        if prefix in GITHUB_PREFIXES and "x-ratelimit-limit" not in response.headers:
            with self._lock:
                bucket = self._buckets.get(bucket_key)
            start = bucket.window_start if bucket else self.clock()
            response.headers.update(
                self._limit_headers(knobs, prefix, bucket, int(start + knobs.rate_limit_window_seconds))
            )
        if request.method != "GET" or response.status_code != 200:
            return response
        etag = response.headers.get("etag")
        if etag is None:
            etag = response.headers["etag"] = etag_of(self._without_origins(response.content))
        wanted = request.headers.get("if-none-match")
        if wanted and _etag_matches(wanted, etag):
            with self._lock:
                bucket = self._buckets.get(bucket_key)
                if bucket is not None and bucket.used > 0 and knobs.rate_limit is not None:
                    bucket.used -= 1
            if charge is not None:
                self.limits.refund(token, charge.resource, knobs.time_compression)
            keep = {k: v for k, v in response.headers.items() if k.lower() not in ("content-length", "content-type")}
            return httpx.Response(304, headers=keep)
        return response

    # ------------------------------------------------------------------ the log

    @property
    def log(self) -> list[RequestRecord]:
        with self._lock:
            return list(self._stats.records)

    def stats(self) -> dict[str, Any]:
        """Counts of requests: total, per service, per route (``"{service} {METHOD} {route}"``), per status, faults."""
        records = self.log
        return {
            "total": len(records),
            "by_service": dict(sorted(Counter(r.service for r in records).items())),
            "by_route": dict(sorted(Counter(f"{r.service} {r.method} {r.route}" for r in records).items())),
            "by_status": dict(sorted(Counter(str(r.status) for r in records).items())),
            "faults": dict(sorted(Counter(r.fault for r in records if r.fault).items())),
            "headerless_limits": sum(r.headerless_limit for r in records),
            # answers that refused a request (403 or 429: a limit, or a permission), per route
            "refused_by_route": dict(
                sorted(Counter(f"{r.service} {r.method} {r.route}" for r in records if r.status in (403, 429)).items())
            ),
            # primary budget spent by answered requests, per service (GraphQL: points, by the published cost)
            "points_by_service": _points_by_service(records),
        }

    def reset_stats(self) -> None:
        """Forget the log, the per-URL fault counters and the rate-limit buckets."""
        with self._lock:
            self._stats = _Stats()
            self._buckets.clear()
        self.limits.reset()


def etag_of(body: bytes) -> str:
    """The weak ETag the sandbox gives a body that came without one: a hash of the body."""
    return f'W/"{hashlib.sha256(body).hexdigest()[:40]}"'


def _etag_matches(header: str, etag: str) -> bool:
    def bare(value: str) -> str:
        value = value.strip()
        return value[2:] if value.startswith("W/") else value

    return header.strip() == "*" or any(bare(part) == bare(etag) for part in header.split(","))


# --------------------------------------------------------------------------------------------- the server


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; with Nagle on, every keep-alive answer waits for a
    # delayed ACK (~40 ms on Linux), which would make the sandbox, not the client, the bottleneck.
    disable_nagle_algorithm = True
    router: Router  # set on the subclass made per server

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("sandbox %s", format % args)

    def handle(self) -> None:
        """Serve the connection; a client that goes away mid-request (killed worker, reset, closed
        pipe) is normal for a test server, so it is a debug line, not a traceback on stderr."""
        try:
            super().handle()
        except CLIENT_GONE as exc:
            self.close_connection = True
            log.debug("sandbox: client %s:%s went away: %s", *self.client_address[:2], exc)

    def _body(self) -> bytes:
        if "chunked" in self.headers.get("transfer-encoding", "").lower():
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("content-length") or 0)
        return self.rfile.read(length) if length else b""

    def _serve(self) -> None:
        host = self.headers.get("host") or self.server.server_address[0]  # type: ignore[index]
        headers = [(k, v) for k, v in self.headers.items() if k.lower() not in ("transfer-encoding",)]
        request = httpx.Request(self.command, f"http://{host}{self.path}", headers=headers, content=self._body())
        try:
            answer = self.router.dispatch(request)
        except Exception:  # a service bug must not kill the connection silently
            log.exception("sandbox: %s %s failed", self.command, self.path)
            answer = Answer(httpx.Response(500, json={"message": "sandbox service error"}))
        if answer.fault == "reset":
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True
            return
        if answer.fault == "timeout":
            time.sleep(self.router.knobs.timeout_seconds)
            self.close_connection = True
            return
        response = answer.response
        body = response.content
        self.send_response_only(response.status_code, response.reason_phrase)
        for key, value in response.headers.multi_items():
            if key.lower() not in ("content-length", "transfer-encoding", "connection", "content-encoding"):
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        if answer.fault == "truncated":
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command == "HEAD":
            return
        if answer.fault == "truncated":
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve


class SandboxServer:
    """The router on a real threaded HTTP server at ``127.0.0.1`` (random free port unless given).

    ``base_url`` is ``http://127.0.0.1:PORT`` and ``alt_base_url`` ``http://localhost:PORT`` (the
    "other host" SBOM downloads are served from). Use as a context manager, or ``start``/``stop``.
    ``service_options`` go to the services by class name, as :class:`Router` takes them (e.g.
    ``{"GitHubRestService": {"enterprise_server": True}}`` serves GitHub Enterprise Server's SBOM route).
    """

    def __init__(
        self,
        world: World | None = None,
        *,
        router: Router | None = None,
        knobs: Knobs | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        service_options: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        if router is None and world is None:
            raise ValueError("SandboxServer: give a world or a router")
        if router is not None and service_options:
            raise ValueError("SandboxServer: service_options build the router's services; give them or a router")
        self.router = router or Router(world, knobs=knobs, service_options=service_options)
        if knobs is not None and router is not None:
            self.router.knobs = replace(knobs)
        self.world = world or self.router.world
        handler = type("SandboxHandler", (_Handler,), {"router": self.router})
        self._httpd = http.server.ThreadingHTTPServer((host, port), handler)
        self._httpd.daemon_threads = True
        self.port = int(self._httpd.server_address[1])
        self.base_url = f"http://{host}:{self.port}"
        self.alt_base_url = f"http://localhost:{self.port}"
        self.router.context = ServiceContext(self.base_url, self.alt_base_url)
        self._thread: threading.Thread | None = None

    def start(self) -> SandboxServer:
        if self._thread is None:
            self._thread = threading.Thread(target=self._httpd.serve_forever, name="sandbox-server", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._httpd.server_close()

    def serve_forever(self) -> None:
        """Serve in the calling thread until interrupted (the CLI)."""
        try:
            self._httpd.serve_forever()
        finally:
            self._httpd.server_close()

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
