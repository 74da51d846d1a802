"""GitHub's documented limits, as named profiles the sandbox router enforces on every request.

Figures (GitHub docs, "Rate limits for the REST API", "Rate limits and node limits for the GraphQL
API"; see ``docs/sandbox-limits.md``):

* primary: per token, or per App installation (every token of one installation shares its
  budget): REST requests per hour, GraphQL points per hour, search requests per minute; a spent
  budget answers ``403`` with ``x-ratelimit-remaining: 0`` (GraphQL: HTTP 200 with a
  ``RATE_LIMITED`` error), a ``304`` costs nothing;
* GraphQL cost by the published formula: add up the requests each connection needs (every
  ``first``/``last`` assumed full; ``maxRepositories`` lists multiply like a connection), divide by
  100, round, at least 1; a query that could return more than 500,000 nodes is refused with HTTP
  200 and a ``MAX_NODE_LIMIT_EXCEEDED`` error;
* secondary: at most 100 requests in flight per credential, 900 points a minute per REST endpoint
  and 2,000 GraphQL points a minute (GET/HEAD/OPTIONS 1 point, other methods 5), content creation
  80 a minute and 500 an hour. A secondary answer carries ``retry-after`` in most cases and no
  header at all in ``headerless_share`` of them (chosen by hashing, so reproducible), as GitHub's do;
* CPU time: at most 90 seconds of CPU time per 60 seconds of real time per credential, 60 of them
  for GraphQL. The router charges each GitHub answer the CPU time its handler thread took
  (``time.thread_time``), both sides compressed alike, so the ratio stays GitHub's.

Slack: every method of :data:`SLACK_TIERS` at its tier's requests a minute; over it, ``429``
``ratelimited`` with ``Retry-After``. ``chat.postMessage``: one message a second per channel (Slack's
"special" tier), on in every enforcing profile.

Open Collective (GraphQL v2, its API's ``express-limiter``): 100 requests a minute per token, 10 a
minute without one (per IP); over it ``429`` ``Rate limit exceeded`` with ``X-RateLimit-Limit``,
``X-RateLimit-Remaining``, ``X-RateLimit-Reset`` (epoch seconds) and ``Retry-After``. Query depth
over 20 or more than 100 aliases: HTTP 400 GraphQL errors (the service checks those, always).

Registries: crates.io's crawler policy, one request a second, answered ``429`` with ``Retry-After``;
RubyGems' 10 requests a second, answered ``429`` without any header.

Time compression: every window and every wait the sandbox states is divided by
``time_compression``, so an hour's budget at factor 60 renews each real minute and a
``retry-after: 60`` becomes ``1``. The counts stay the real ones; only the clock runs faster.
Clients must compress their own header-less waits by the same factor (``github.time_compression``).
"""

from __future__ import annotations

import hashlib
import math
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
)
from graphql import parse as parse_graphql

HOUR = 3600.0
MINUTE = 60.0
SECOND = 1.0
#: Documented request rates of registries, per second: crates.io's crawler policy
#: (https://crates.io/data-access) and RubyGems' API limit (https://guides.rubygems.org/rubygems-org-rate-limits/).
REGISTRY_PER_SECOND: dict[str, int] = {"/registry/crates": 1, "/registry/rubygems": 10}
NODE_LIMIT = 500_000
SECONDARY_MESSAGE = (
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out "
    "to GitHub Support for help, please include the request ID 0000:0000:000000:000000:00000000."
)
SECONDARY_DOCS = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"
PRIMARY_DOCS = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"
_INSTALLATION_TOKEN = re.compile(r"sandbox-installation-token-(\d+)-\d+")
#: Writes that create content on GitHub (issues, comments, labels): the content-creation limits count these.
_CONTENT_ROUTE = re.compile(r"/repos/[^/]+/[^/]+/(issues(/\d+/comments)?|labels)$")


@dataclass(frozen=True)
class LimitProfile:
    """One credential's documented limits; None switches a limit off."""

    name: str
    description: str
    rest_per_hour: int | None
    graphql_points_per_hour: int | None
    search_per_minute: int | None = 30
    concurrency: int | None = 100
    rest_points_per_minute: int | None = 900  # per endpoint
    graphql_points_per_minute: int | None = 2000
    content_per_minute: int | None = 80
    content_per_hour: int | None = 500
    node_limit: int | None = NODE_LIMIT
    headerless_share: float = 0.25  # share of secondary-limit answers with neither retry-after nor remaining: 0
    cpu_seconds_per_minute: float | None = 90.0  # GitHub: 90 s of CPU per 60 s real time ...
    graphql_cpu_seconds_per_minute: float | None = 60.0  # ... no more than 60 s of it for GraphQL
    slack_posts_per_channel_second: int | None = 1  # chat.postMessage, per channel
    opencollective_per_minute: int | None = 100  # per token
    opencollective_anonymous_per_minute: int | None = 10  # per IP, no token
    registry_per_second: tuple[tuple[str, int], ...] = tuple(REGISTRY_PER_SECOND.items())  # (mount, requests)

    @property
    def enforcing(self) -> bool:
        return self.name != "off"


PROFILES: dict[str, LimitProfile] = {
    p.name: p
    for p in (
        LimitProfile("personal-token", "a personal access token: 5,000 requests and 5,000 points an hour", 5000, 5000),
        LimitProfile(
            "app-installation",
            "an App installation outside Enterprise Cloud at its floor: 5,000 requests and 5,000 points an hour",
            5000,
            5000,
        ),
        LimitProfile(
            "app-installation-ghec",
            "an App installation on GitHub Enterprise Cloud: 15,000 requests and 10,000 points an hour",
            15000,
            10000,
        ),
        LimitProfile(
            "off",
            "no limits at all (kinder than any real service: for benchmarks of upkeep's own speed only)",
            None,
            None,
            search_per_minute=None,
            concurrency=None,
            rest_points_per_minute=None,
            graphql_points_per_minute=None,
            content_per_minute=None,
            content_per_hour=None,
            node_limit=None,
            headerless_share=0.0,
            cpu_seconds_per_minute=None,
            graphql_cpu_seconds_per_minute=None,
            slack_posts_per_channel_second=None,
            opencollective_per_minute=None,
            opencollective_anonymous_per_minute=None,
            registry_per_second=(),
        ),
    )
}
DEFAULT_PROFILE = "personal-token"
#: The sandbox's default clock speed: an hour's budget renews every real minute, so tests stay short.
DEFAULT_TIME_COMPRESSION = 60.0
#: How early a registry's compressed one-second window may close: the host's scheduling jitter (a
#: quarter of the window at most, so at compression 1 a window is 10 ms short of its second).
REGISTRY_JITTER_SECONDS = 0.010


def profile(name: str) -> LimitProfile:
    """The profile called ``name``; a clear error naming the known ones otherwise."""
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown limit profile {name!r}; known: {', '.join(PROFILES)}") from None


#: Slack's per-method tiers (requests a minute per workspace, https://api.slack.com/docs/rate-limits):
#: tier 2 20+, tier 3 50+, tier 4 100+; chat.postMessage is "special": one a second per channel.
SLACK_TIERS: dict[str, int] = {
    "auth.test": 100,
    "conversations.list": 20,
    "conversations.history": 50,
    "chat.update": 50,
    "files.getUploadURLExternal": 20,
    "files.completeUploadExternal": 20,
}


# ----------------------------------------------------------------------------------------- GraphQL cost


@dataclass(frozen=True)
class QueryCost:
    cost: int
    nodes: int


def graphql_cost(query: str, variables: dict[str, Any] | None = None) -> QueryCost:
    """GitHub's published cost and node count of ``query`` (see the module docstring)."""
    document = parse_graphql(query)
    return document_cost(document, variables or {})


def document_cost(document: DocumentNode, variables: dict[str, Any]) -> QueryCost:
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    requests = 0
    nodes = 0

    def number(field_node: FieldNode, name: str) -> int | None:
        for argument in field_node.arguments or ():
            if argument.name.value != name:
                continue
            value = argument.value
            if isinstance(value, IntValueNode):
                return int(value.value)
            if isinstance(value, VariableNode):
                found = variables.get(value.name.value)
                return int(found) if isinstance(found, int) else None
        return None

    def walk(selection_set: SelectionSetNode | None, multiplier: int, seen: frozenset[str]) -> None:
        nonlocal requests, nodes
        for selection in selection_set.selections if selection_set else ():
            if isinstance(selection, FieldNode):
                size = number(selection, "first") or number(selection, "last")
                if size is not None:
                    requests += multiplier
                    nodes += multiplier * size
                    walk(selection.selection_set, multiplier * size, seen)
                    continue
                listed = number(selection, "maxRepositories")
                if listed is not None:
                    nodes += multiplier * listed
                    walk(selection.selection_set, multiplier * listed, seen)
                    continue
                walk(selection.selection_set, multiplier, seen)
            elif isinstance(selection, InlineFragmentNode):
                walk(selection.selection_set, multiplier, seen)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                if name in fragments and name not in seen:
                    walk(fragments[name].selection_set, multiplier, seen | {name})

    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            walk(definition.selection_set, 1, frozenset())
    return QueryCost(cost=max(1, round(requests / 100)), nodes=nodes)


# ----------------------------------------------------------------------------------------- enforcement


@dataclass
class _Window:
    start: float
    used: int = 0


@dataclass
class _CpuWindow:
    start: float
    used: float = 0.0  # CPU seconds


@dataclass
class _Credential:
    windows: dict[str, _Window] = field(default_factory=dict)
    cpu: dict[str, _CpuWindow] = field(default_factory=dict)
    in_flight: int = 0


@dataclass(frozen=True)
class Charge:
    """What one request spent and what its credential has left, for the answer's headers."""

    resource: str
    limit: int
    used: int
    reset: int
    cost: int = 1
    nodes: int = 0

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.used)

    def headers(self) -> dict[str, str]:
        return {
            "x-ratelimit-limit": str(self.limit),
            "x-ratelimit-remaining": str(self.remaining),
            "x-ratelimit-used": str(self.used),
            "x-ratelimit-reset": str(self.reset),
            "x-ratelimit-resource": self.resource,
        }


OPENCOLLECTIVE_PREFIX = "/opencollective/graphql/v2"


def opencollective_token(request: httpx.Request) -> str | None:
    """The token of an Open Collective request: ``Personal-Token``, ``Api-Key`` or a bearer ``Authorization``."""
    for header in ("personal-token", "api-key"):
        if header in request.headers:
            return request.headers[header].strip()
    auth = request.headers.get("authorization")
    if auth is None:
        return None
    scheme, _, value = auth.strip().partition(" ")
    return value.strip() if scheme.lower() == "bearer" else ""


def credential_of(token: str | None) -> str:
    """Whose budget a request spends: the App installation for installation tokens, else the token."""
    if token is None:
        return "anonymous"
    match = _INSTALLATION_TOKEN.fullmatch(token)
    if match:
        return f"installation:{match.group(1)}"
    return "token:" + hashlib.sha256(token.encode()).hexdigest()[:12]


class Limits:
    """Counts every GitHub request against its credential's profile; thread-safe."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self._credentials: dict[str, _Credential] = {}
        self._secondary_answers = 0

    def reset(self) -> None:
        with self._lock:
            self._credentials.clear()
            self._secondary_answers = 0

    # -- windows

    def _spend(self, who: str, key: str, span: float, amount: int, limit: int | None) -> tuple[bool, _Window]:
        """Add ``amount`` to the window ``key`` unless that passes ``limit``; whether it fitted."""
        now = self.clock()
        credential = self._credentials.setdefault(who, _Credential())
        window = credential.windows.get(key)
        if window is None or now >= window.start + span:
            window = credential.windows[key] = _Window(now)
        if limit is not None and window.used + amount > limit:
            return False, window
        window.used += amount
        return True, window

    def refund(self, token: str | None, resource: str, compression: float) -> None:
        """A ``304`` costs nothing on GitHub: give the request back."""
        with self._lock:
            credential = self._credentials.get(credential_of(token))
            window = credential.windows.get(f"primary:{resource}") if credential else None
            if window is not None and window.used > 0:
                window.used -= 1

    @contextmanager
    def in_flight(self, token: str | None, limit: int | None) -> Iterator[bool]:
        """Hold one of the credential's concurrent slots; yields False when there is none left."""
        who = credential_of(token)
        with self._lock:
            credential = self._credentials.setdefault(who, _Credential())
            allowed = limit is None or credential.in_flight < limit
            if allowed:
                credential.in_flight += 1
        try:
            yield allowed
        finally:
            if allowed:
                with self._lock:
                    credential.in_flight -= 1

    def check(
        self,
        request: httpx.Request,
        prefix: str,
        path: str,
        token: str | None,
        limits: LimitProfile,
        compression: float,
        seed: int,
    ) -> tuple[httpx.Response | None, Charge | None]:
        """Charge ``request``; an answer when a limit refuses it, else the charge for the headers."""
        if not limits.enforcing or (prefix == "/api/v3" and path.rstrip("/") == "/rate_limit"):
            return None, None  # GET /rate_limit costs nothing on GitHub
        graphql = prefix == "/api/graphql"
        cost = QueryCost(1, 0)
        if graphql and request.method == "POST":
            parsed = _graphql_cost_of(request)
            if parsed is None:
                return None, None  # not a query the service can read: it answers the error itself
            cost = parsed
            if limits.node_limit is not None and cost.nodes > limits.node_limit:
                return _node_limit_answer(cost.nodes, limits.node_limit), None
        points = 1 if request.method in ("GET", "HEAD", "OPTIONS") else 5
        who = credential_of(token)
        minute, hour = MINUTE / compression, HOUR / compression
        search = path.startswith("/search/")
        resource = "graphql" if graphql else ("search" if search else "core")
        with self._lock:
            # secondary: points per minute (per endpoint for REST), content creation
            if graphql:
                ok, _ = self._spend(who, "secondary:graphql", minute, cost.cost, limits.graphql_points_per_minute)
            else:
                endpoint = "secondary:" + _endpoint(request.method, path)
                ok, _ = self._spend(who, endpoint, minute, points, limits.rest_points_per_minute)
            if ok and request.method == "POST" and _CONTENT_ROUTE.search(path):
                ok, _ = self._spend(who, "content:minute", minute, 1, limits.content_per_minute)
                ok = ok and self._spend(who, "content:hour", hour, 1, limits.content_per_hour)[0]
            if not ok:
                return self._secondary(limits, compression, seed, graphql), None
            # primary
            if graphql:
                limit, amount, span = limits.graphql_points_per_hour, cost.cost, hour
            elif search:
                limit, amount, span = limits.search_per_minute, 1, minute
            else:
                limit, amount, span = limits.rest_per_hour, 1, hour
            if limit is None:
                return None, None
            ok, window = self._spend(who, f"primary:{resource}", span, amount, limit)
            reset = math.ceil(window.start + span)
            charge = Charge(resource, limit, window.used, reset, cost.cost, cost.nodes)
        if ok:
            return None, charge
        return _primary_answer(charge, graphql, self.clock()), charge

    def check_slack(
        self, request: httpx.Request, path: str, limits: LimitProfile, compression: float
    ) -> httpx.Response | None:
        """Slack's tiers per method; 429 ``ratelimited`` with ``Retry-After`` (whole seconds)."""
        if not limits.enforcing:
            return None
        method = path.strip("/")
        if method not in SLACK_TIERS:
            return None  # chat.postMessage's one a second per channel: SlackService(per_channel_rate=True)
        key, span, limit = f"slack:{method}", MINUTE / compression, SLACK_TIERS[method]
        with self._lock:
            ok, window = self._spend("slack-workspace", key, span, 1, limit)
            wait = window.start + span - self.clock()
        if ok:
            return None
        headers = {"retry-after": str(max(1, math.ceil(wait)))}  # slack-sdk reads whole seconds
        return httpx.Response(429, headers=headers, json={"ok": False, "error": "ratelimited"})

    def check_slack_post(
        self, request: httpx.Request, path: str, limits: LimitProfile, compression: float
    ) -> httpx.Response | None:
        """``chat.postMessage``: one message a second per channel; 429 ``ratelimited`` with ``Retry-After``."""
        per_second = limits.slack_posts_per_channel_second
        if path.strip("/") != "chat.postMessage" or per_second is None:
            return None
        from bot.sandbox.slack import CHANNEL_ID, _args, channel_id  # the Slack service's own reading

        channel = str(_args(request).get("channel") or "")
        channel = channel if CHANNEL_ID.fullmatch(channel) else channel_id(channel.lstrip("#"))  # a name: its id
        with self._lock:
            ok, window = self._spend("slack-workspace", f"slack:post:{channel}", SECOND / compression, 1, per_second)
            wait = window.start + SECOND / compression - self.clock()
        if ok:
            return None
        headers = {"retry-after": str(max(1, math.ceil(wait)))}
        return httpx.Response(429, headers=headers, json={"ok": False, "error": "ratelimited"})

    def check_opencollective(
        self, token: str | None, limits: LimitProfile, compression: float
    ) -> tuple[httpx.Response | None, dict[str, str]]:
        """Open Collective's per-token (else per-IP) requests a minute; the answer when over, and the headers."""
        limit = limits.opencollective_per_minute if token else limits.opencollective_anonymous_per_minute
        if limit is None:
            return None, {}
        who = "oc:" + (credential_of(token) if token else "ip:127.0.0.1")
        span = MINUTE / compression
        with self._lock:
            ok, window = self._spend(who, "opencollective", span, 1, limit)
            now = self.clock()
        reset = window.start + span
        headers = {
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Remaining": str(max(0, limit - window.used)),
            "X-RateLimit-Reset": str(math.ceil(reset)),
        }
        if ok:
            return None, headers
        headers["Retry-After"] = f"{max(0.0, reset - now):.3f}"
        return httpx.Response(429, headers=headers, text="Rate limit exceeded"), headers

    def check_registry(self, prefix: str, limits: LimitProfile, compression: float) -> httpx.Response | None:
        """A registry's documented requests a second (crates.io: 429 with ``Retry-After``; RubyGems: no header)."""
        per_second = dict(limits.registry_per_second).get(prefix)
        if per_second is None:
            return None
        # A compressed second is a few milliseconds long, shorter than the loopback host's own scheduling
        # jitter, which a real one-second window absorbs unnoticed: the window may close that much early.
        span = SECOND / compression
        span -= min(REGISTRY_JITTER_SECONDS, 0.25 * span)
        with self._lock:
            ok, window = self._spend("registry-client", f"registry:{prefix}", span, 1, per_second)
            wait = window.start + span - self.clock()
        if ok:
            return None
        if prefix == "/registry/crates":
            seconds = max(0.0, wait)
            stated = str(max(1, math.ceil(seconds))) if compression == 1 else f"{seconds:.3f}"
            return httpx.Response(
                429,
                headers={"retry-after": stated},
                json={"errors": [{"detail": "You have made too many requests. Please try again later."}]},
            )
        return httpx.Response(429, text="Rate limit exceeded. Try again later.")  # RubyGems states no wait

    def check_cpu(self, token: str | None, graphql: bool, limits: LimitProfile, compression: float) -> bool:
        """Whether the credential has CPU time left in this minute (all requests, and GraphQL's share)."""
        budgets = [("cpu:all", limits.cpu_seconds_per_minute)]
        if graphql:
            budgets.append(("cpu:graphql", limits.graphql_cpu_seconds_per_minute))
        now = self.clock()
        with self._lock:
            credential = self._credentials.get(credential_of(token))
            for key, seconds in budgets:
                window = credential.cpu.get(key) if credential else None
                if seconds is None or window is None or now >= window.start + MINUTE / compression:
                    continue
                if window.used >= seconds / compression:
                    return False
        return True

    def charge_cpu(self, token: str | None, graphql: bool, seconds: float, compression: float) -> None:
        """Add the CPU time a request's handler took to its credential's minute."""
        now = self.clock()
        with self._lock:
            credential = self._credentials.setdefault(credential_of(token), _Credential())
            for key in ("cpu:all", "cpu:graphql") if graphql else ("cpu:all",):
                window = credential.cpu.get(key)
                if window is None or now >= window.start + MINUTE / compression:
                    window = credential.cpu[key] = _CpuWindow(now)
                window.used += seconds

    def secondary(self, limits: LimitProfile, compression: float, seed: int) -> httpx.Response:
        """A secondary-limit answer (with ``retry-after``, or none in the profile's header-less share)."""
        with self._lock:
            return self._secondary(limits, compression, seed, graphql=False)

    def snapshot(self, token: str | None, limits: LimitProfile, compression: float) -> dict[str, Charge]:
        """The credential's primary budgets now, per resource, as ``GET /rate_limit`` states them (free)."""
        now = self.clock()
        spans = {
            "core": (limits.rest_per_hour, HOUR / compression),
            "graphql": (limits.graphql_points_per_hour, HOUR / compression),
            "search": (limits.search_per_minute, MINUTE / compression),
        }
        out: dict[str, Charge] = {}
        with self._lock:
            credential = self._credentials.get(credential_of(token))
            for resource, (limit, span) in spans.items():
                if limit is None:
                    continue
                window = credential.windows.get(f"primary:{resource}") if credential else None
                if window is None or now >= window.start + span:
                    out[resource] = Charge(resource, limit, 0, math.ceil(now + span))
                else:
                    out[resource] = Charge(resource, limit, window.used, math.ceil(window.start + span))
        return out

    def _secondary(self, limits: LimitProfile, compression: float, seed: int, graphql: bool) -> httpx.Response:
        self._secondary_answers += 1
        digest = hashlib.sha256(f"{seed}\x1fsecondary\x1f{self._secondary_answers}".encode()).digest()
        headerless = int.from_bytes(digest[:8], "big") / 2**64 < limits.headerless_share
        headers = {} if headerless else {"retry-after": compressed_seconds(MINUTE, compression)}
        body = {"message": SECONDARY_MESSAGE, "documentation_url": SECONDARY_DOCS}
        return httpx.Response(403, headers=headers, json=body)

    def headerless(self, limits: LimitProfile, seed: int, key: str) -> bool:
        """Whether an injected secondary-limit fault for ``key`` comes without headers."""
        digest = hashlib.sha256(f"{seed}\x1fheaderless\x1f{key}".encode()).digest()
        return int.from_bytes(digest[:8], "big") / 2**64 < limits.headerless_share


def compressed_seconds(seconds: float, compression: float) -> str:
    """A ``retry-after`` value: whole seconds at factor 1, milliseconds' precision when compressed."""
    value = seconds / compression
    return str(math.ceil(value)) if compression == 1 else f"{value:.3f}"


def _endpoint(method: str, path: str) -> str:
    """One REST endpoint for the per-endpoint points: the path with names and numbers as placeholders."""
    return method + " " + re.sub(r"/\d+", "/{n}", path)


def _graphql_cost_of(request: httpx.Request) -> QueryCost | None:
    import json

    try:
        payload = json.loads(request.content or b"")
        query = payload.get("query") if isinstance(payload, dict) else None
        if not isinstance(query, str):
            return None
        variables = payload.get("variables")
        return graphql_cost(query, variables if isinstance(variables, dict) else {})
    except Exception:  # a query the parser refuses is the service's error to answer
        return None


def _node_limit_answer(nodes: int, limit: int) -> httpx.Response:
    message = f"This query requests up to {nodes:,} possible nodes which exceeds the maximum limit of {limit:,}."
    return httpx.Response(200, json={"errors": [{"type": "MAX_NODE_LIMIT_EXCEEDED", "message": message}]})


def _primary_answer(charge: Charge, graphql: bool, now: float) -> httpx.Response:
    headers = charge.headers()
    if graphql:
        body: dict[str, Any] = {
            "errors": [{"type": "RATE_LIMITED", "message": "API rate limit already exceeded for installation ID 1."}]
        }
        return httpx.Response(200, headers=headers, json=body)
    body = {
        "message": "API rate limit exceeded for user ID 1. If you reach out to GitHub Support for help, please "
        "include the request ID 0000:0000:000000:000000:00000000.",
        "documentation_url": PRIMARY_DOCS,
    }
    return httpx.Response(403, headers=headers, json=body)
