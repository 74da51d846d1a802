"""The resolve stage: every inventoried package → its upstream, or a reason, written to the store.

Selects the packages that need it (never resolved, mapping older than the TTL, or left as ``retry``),
resolves them concurrently through the ecosystem resolvers and the deps.dev fallback, and writes
the outcomes in batches while it runs, so an interrupted run keeps what it finished. Overrides are
applied to every package on every run (they cost no request), so a config change takes effect
without waiting for the TTL. A registry that stays down marks its packages ``retry``; the run goes on.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy.engine import Engine

from bot.config import Settings
from bot.http import RetryPolicy, TokenBucket, bucket_for, compressed_policy, make_async_client
from bot.pipeline import StageContext
from bot.resolve.actions import GitHubActionsResolver
from bot.resolve.cargo import CratesResolver
from bot.resolve.depsdev import DepsDevResolver
from bot.resolve.fetch import Fetcher, RegistryPoolTransport
from bot.resolve.forge_purls import forge_purl_resolvers, vcs_url_of
from bot.resolve.golang import GoResolver
from bot.resolve.interface import (
    BAD_DOCUMENT,
    NO_PURL_NO_ECOSYSTEM,
    NO_RESOLVER,
    REGISTRY_UNAVAILABLE,
    Outcome,
    PackageRef,
    RegistryRateLimited,
    RegistryUnavailable,
    Resolution,
    Resolver,
    Unresolved,
)
from bot.resolve.maven import MavenResolver
from bot.resolve.npm import NpmResolver
from bot.resolve.nuget import NuGetResolver
from bot.resolve.overrides import Overrides
from bot.resolve.packagist import PackagistResolver
from bot.resolve.pypi import PyPIResolver
from bot.resolve.repo_url import forge_hosts
from bot.resolve.rubygems import RubyGemsResolver
from bot.store.engine import session_scope
from bot.store.resolution import PackageState, StoreHttpCache, load_package_states, save_outcomes
from bot.store.signals import save_registry_signals

log = logging.getLogger("bot.resolve")
Progress = Callable[[int, int], None]
WRITE_BATCH = 200

# Ecosystem hints of components without purl, as SBOM tools spell them, → purl type.
ECOSYSTEM_ALIASES = {
    "pip": "pypi",
    "python": "pypi",
    "go": "golang",
    "gomod": "golang",
    "rubygems": "gem",
    "ruby": "gem",
    "crates": "cargo",
    "rust": "cargo",
    "packagist": "composer",
    "php": "composer",
    "actions": "githubactions",
}


@dataclass
class ResolveSummary:
    """What one run did; ``to_dict`` is what ``--json`` prints and the run record keeps."""

    packages: int = 0  # distinct packages in the inventory
    fresh: int = 0  # skipped: mapped within the TTL
    attempted: int = 0
    resolved: int = 0
    overrides: int = 0
    retry: int = 0
    unresolved: Counter[str] = field(default_factory=Counter)  # by reason category
    by_ecosystem: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    requests: int = 0
    revalidated: int = 0
    shared: int = 0
    limit_retries: int = 0  # requests asked again after a registry's limit window went to other requests
    seconds: float = 0.0
    rate_limited: dict[str, str] = field(default_factory=dict)  # registry -> until (ISO): the stage paused

    @property
    def cache_hits(self) -> int:
        """Fresh mappings, 304 revalidations and in-run shared answers: work the registries were spared."""
        return self.fresh + self.revalidated + self.shared

    def count(self, ecosystem: str | None, outcome: Outcome) -> None:
        eco = ecosystem or "(none)"
        self.attempted += 1
        if isinstance(outcome, Resolution):
            kind = "override" if outcome.is_override else "resolved"
            if outcome.is_override:
                self.overrides += 1
            else:
                self.resolved += 1
        elif outcome.retry:
            kind = "retry"
            self.retry += 1
        else:
            kind = "unresolved"
            self.unresolved[outcome.category] += 1
        self.by_ecosystem[eco][kind] += 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "packages": self.packages,
            "fresh": self.fresh,
            "attempted": self.attempted,
            "resolved": self.resolved,
            "overrides": self.overrides,
            "retry": self.retry,
            "unresolved": dict(sorted(self.unresolved.items())),
            "by_ecosystem": {k: dict(v) for k, v in sorted(self.by_ecosystem.items())},
            "requests": self.requests,
            "cache_hits": self.cache_hits,
            "revalidated": self.revalidated,
            "shared": self.shared,
            "limit_retries": self.limit_retries,
            "seconds": round(self.seconds, 3),
            **(
                {"rate_limited": self.rate_limited, "stopped": max(self.rate_limited.values())}
                if self.rate_limited
                else {}
            ),
        }


def canonical_ecosystem(ecosystem: str | None) -> str | None:
    if ecosystem is None or not ecosystem.strip():
        return None
    lowered = ecosystem.strip().lower()
    return ECOSYSTEM_ALIASES.get(lowered, lowered)


def build_resolvers(settings: Settings) -> dict[str, Resolver]:
    """One resolver per purl type, each on its configured base URL."""
    reg = settings.registries
    forges = forge_hosts(settings.resolve.extra_forges)
    resolvers: list[Resolver] = [
        PyPIResolver(reg.pypi, forges),
        NpmResolver(reg.npm, forges),
        CratesResolver(reg.crates, forges),
        GoResolver(forges, vanity_base=reg.go_vanity_base, vanity_scheme=reg.go_vanity_scheme),
        MavenResolver(reg.maven, forges),
        RubyGemsResolver(reg.rubygems, forges),
        NuGetResolver(reg.nuget, forges),
        PackagistResolver(reg.packagist, forges),
        GitHubActionsResolver("githubactions"),
        GitHubActionsResolver("github"),
        *forge_purl_resolvers(forges),
    ]
    return {r.ecosystem: r for r in resolvers}


def registry_bases(settings: Settings) -> list[str]:
    """Every configured base URL: the fetch layer limits concurrency per registry."""
    reg = settings.registries
    bases = [reg.pypi, reg.npm, reg.crates, reg.goproxy, reg.maven, reg.rubygems, reg.nuget, reg.packagist, reg.depsdev]
    return bases + ([reg.go_vanity_base] if reg.go_vanity_base else [])


#: The pace of registries with a documented rate, requests a second: crates.io's crawler policy, one a second
#: (https://crates.io/data-access); half RubyGems' 10 (https://guides.rubygems.org/rubygems-org-rate-limits/),
#: because its 429 states no wait and so pauses the stage. See docs/sandbox-limits.md.
REGISTRY_PER_SECOND = {"crates": 1.0, "rubygems": 5.0}


def registry_names(settings: Settings) -> dict[str, str]:
    """Each configured base URL's registry name, for reasons and summaries (``rate limited: crates until …``)."""
    urls = settings.registries.model_dump().items()
    return {
        url.rstrip("/"): name for name, url in urls if isinstance(url, str) and url.startswith(("http://", "https://"))
    }


def registry_paces(settings: Settings) -> dict[str, TokenBucket]:
    """A token bucket per registry with a documented rate, shared by every resolve in the process."""
    names = registry_names(settings)
    compression = settings.github.time_compression
    return {
        base: bucket_for("registry", base, per_second, time_compression=compression, window_seconds=1.0)
        for base, name in names.items()
        if (per_second := REGISTRY_PER_SECOND.get(name)) is not None
    }


class PackageResolver:
    """Resolves one package: override; a ``vcs_url`` qualifier of its purl; its ecosystem's resolver;
    then deps.dev whenever that gave nothing usable (404, unreadable document, registry down included)."""

    def __init__(
        self,
        resolvers: dict[str, Resolver],
        overrides: Overrides,
        depsdev: DepsDevResolver | None,
        fetcher: Fetcher,
        forges: frozenset[str] | None = None,
    ) -> None:
        self.resolvers = resolvers
        self.overrides = overrides
        self.depsdev = depsdev
        self.fetcher = fetcher
        self.forges = forges if forges is not None else forge_hosts(())
        self.rate_limited: dict[str, datetime] = {}  # registry name -> rate limited until

    async def resolve(self, ref: PackageRef) -> Outcome:
        override = self.overrides.match(ref)
        if override is not None:
            return override
        from_purl = vcs_url_of(ref, self.forges)
        if from_purl is not None:
            return from_purl
        ecosystem = canonical_ecosystem(ref.ecosystem)
        if ecosystem is None:
            return Unresolved(NO_PURL_NO_ECOSYSTEM)
        resolver = self.resolvers.get(ecosystem)
        if resolver is None:
            return Unresolved(f"{NO_RESOLVER}: {ecosystem}")
        if ecosystem != ref.ecosystem:
            ref = PackageRef(ref.package_key, ecosystem, ref.namespace, ref.name, ref.version, ref.purl)
        try:
            outcome = await resolver.resolve(ref, self.fetcher)
        except RegistryRateLimited as exc:  # no deps.dev instead: the stage pauses and the next run resumes
            self.rate_limited[exc.registry] = max(exc.reset_at, self.rate_limited.get(exc.registry, exc.reset_at))
            return Unresolved(exc.detail, retry=True)
        except RegistryUnavailable as exc:  # a registry (or a Go vanity host) that stays down
            outcome = Unresolved(f"{REGISTRY_UNAVAILABLE}: {exc}", retry=True)
        except (ValueError, KeyError, TypeError, AttributeError, IndexError) as exc:
            # A document shaped unlike the registry's usual one: this package stays unresolved, the run goes on.
            log.warning("%s: registry document unreadable: %s", ref.package_key, exc)
            outcome = Unresolved(f"{BAD_DOCUMENT}: {type(exc).__name__}: {exc}")
        if isinstance(outcome, Unresolved) and outcome.fallback_allowed and self.depsdev is not None:
            try:
                found = await self.depsdev.resolve(ref, self.fetcher)
            except RegistryUnavailable:
                found = None  # deps.dev down too: the registry's own reason stands
            if found is not None:
                return found
        return outcome


async def resolve_many(
    refs: Iterable[PackageRef],
    resolver: PackageResolver,
    *,
    workers: int,
    on_result: Callable[[PackageRef, Outcome], None],
) -> None:
    """Run ``resolver`` over ``refs`` with ``workers`` tasks; results go to ``on_result`` as they come."""
    queue: asyncio.Queue[PackageRef] = asyncio.Queue()
    for ref in refs:
        queue.put_nowait(ref)

    async def work() -> None:
        while True:
            try:
                ref = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            on_result(ref, await resolver.resolve(ref))

    await asyncio.gather(*(work() for _ in range(max(1, workers))))


def interleave(refs: list[PackageRef]) -> list[PackageRef]:
    """Spread each ecosystem evenly over the run, so every registry's limit is in use all along.

    In key order all npm packages would come together and one registry's limit would cap the
    whole stage; ordering by position-within-ecosystem ÷ ecosystem size makes each registry
    progress at the same relative pace.
    """
    groups: dict[str | None, list[PackageRef]] = defaultdict(list)
    for ref in refs:
        groups[canonical_ecosystem(ref.ecosystem)].append(ref)
    keyed = [((index + 0.5) / len(group), ref) for group in groups.values() for index, ref in enumerate(group)]
    keyed.sort(key=lambda item: (item[0], item[1].package_key))
    return [ref for _, ref in keyed]


def _select(
    states: list[PackageState], overrides: Overrides, now: datetime, *, refresh: bool = False
) -> tuple[list[PackageRef], int]:
    """Packages to resolve now, and how many are fresh. A fresh row is redone when overrides changed for it;
    with ``refresh`` every package is redone, whatever its age."""
    if refresh:
        return [state.ref for state in states], 0
    due: list[PackageRef] = []
    fresh = 0
    for state in states:
        override = overrides.match(state.ref) if overrides else None
        override_changed = (override is not None and state.provenance != override.provenance) or (
            override is None and state.status == "override"
        )
        if state.is_due(now) or override_changed:
            due.append(state.ref)
        else:
            fresh += 1
    return due, fresh


async def resolve_all(
    engine: Engine,
    settings: Settings,
    client: httpx.AsyncClient,
    *,
    progress: Progress | None = None,
    now: datetime | None = None,
    refresh: bool = False,
) -> ResolveSummary:
    """Resolve every package that needs it and store the outcomes; never fails for a registry outage.

    ``refresh`` (``--refresh``), or ``ttl_days = 0``, resolves every package again whatever its age.
    """
    started = time.perf_counter()
    moment = now or datetime.now(UTC)
    ttl = timedelta(days=settings.resolve.ttl_days)
    overrides = Overrides(settings.resolve.overrides)
    states = load_package_states(engine)
    due, fresh = _select(states, overrides, moment, refresh=refresh or settings.resolve.ttl_days == 0)
    summary = ResolveSummary(packages=len(states), fresh=fresh)

    cache = StoreHttpCache(engine)
    resolver = build_package_resolver(settings, client, cache, overrides)

    pending: list[tuple[PackageRef, Outcome]] = []

    def flush() -> None:
        save_outcomes(engine, pending, now=moment, ttl=ttl)
        cache.flush(moment)
        observed = resolver.fetcher.take_signals()
        if observed:
            with session_scope(engine) as session:
                save_registry_signals(session, observed, now=moment)
        pending.clear()

    def on_result(ref: PackageRef, outcome: Outcome) -> None:
        summary.count(canonical_ecosystem(ref.ecosystem), outcome)
        pending.append((ref, outcome))
        if len(pending) >= WRITE_BATCH:
            flush()
        if progress is not None:
            progress(summary.attempted, len(due))

    if progress is not None:
        progress(0, len(due))
    try:
        # More tasks than the global limit, so a task waiting on a busy registry never idles a free one.
        await resolve_many(interleave(due), resolver, workers=settings.resolve.global_limit * 2, on_result=on_result)
    finally:
        flush()
        summary.requests = resolver.fetcher.stats.requests
        summary.revalidated = resolver.fetcher.stats.revalidated
        summary.shared = resolver.fetcher.stats.shared
        summary.limit_retries = resolver.fetcher.stats.limit_retries
        summary.rate_limited = {name: until.isoformat() for name, until in sorted(resolver.rate_limited.items())}
        summary.seconds = time.perf_counter() - started
    return summary


def make_resolve_client(settings: Settings, transport: httpx.AsyncBaseTransport | None = None) -> httpx.AsyncClient:
    """The stage's HTTP client: the project's retry policy, the configured timeout, and one connection pool
    per registry (:class:`~bot.resolve.fetch.RegistryPoolTransport`) unless ``transport`` is given."""
    inner = transport or RegistryPoolTransport(registry_bases(settings), pool_size=settings.resolve.per_host_limit)
    policy = compressed_policy(RetryPolicy(max_retries=settings.resolve.max_retries), settings.github.time_compression)
    return make_async_client(
        timeout=settings.resolve.timeout_seconds,
        policy=policy,
        max_connections=settings.resolve.global_limit,
        transport=inner,
    )


def build_package_resolver(
    settings: Settings, client: httpx.AsyncClient, cache: StoreHttpCache, overrides: Overrides
) -> PackageResolver:
    """The resolver every path uses (the stage, ``upkeep resolve PURL``): registries, deps.dev, forges."""
    fetcher = Fetcher(
        client,
        per_host_limit=settings.resolve.per_host_limit,
        global_limit=settings.resolve.global_limit,
        cache=cache,
        registries=registry_bases(settings),
        paces=registry_paces(settings),
        names=registry_names(settings),
        max_pace_wait=60.0 / settings.github.time_compression,
    )
    forges = forge_hosts(settings.resolve.extra_forges)
    depsdev = DepsDevResolver(settings.registries.depsdev, forges) if settings.resolve.use_depsdev else None
    return PackageResolver(build_resolvers(settings), overrides, depsdev, fetcher, forges)


def resolve_stage(context: StageContext) -> dict[str, Any]:
    """The pipeline's ``resolve`` stage (``bot.pipeline``): resolve everything due, return the summary."""

    from bot.progress import start_progress

    shown = start_progress("resolve", total=0, unit="packages")

    def progress(done: int, total: int) -> None:
        shown.total = total
        shown.advance(done - shown.done)

    async def run() -> ResolveSummary:
        async with make_resolve_client(context.settings) as client:
            return await resolve_all(context.engine, context.settings, client, progress=progress, now=context.now)

    try:
        return asyncio.run(run()).to_dict()
    finally:
        shown.close()
