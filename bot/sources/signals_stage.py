"""The signals stage: observe every upstream once per scan, store its signals and licence drift.

Resumable and idempotent: a scan is a row; each batch of upstreams is observed and committed
together, so a crash or a rate limit leaves a running scan that the next run finishes by
observing only the upstreams it has no row for. A finished scan younger than
``signals.ttl_days`` is reused (only upstreams added since are observed); an older one, or
``rescan=True``, starts a new scan, and GitHub's ``304`` answers keep its REST part free.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.ahead import map_ahead
from bot.config import Secrets, Settings
from bot.forges.forgejo import ForgejoForge
from bot.forges.interface import Forge, ForgeError
from bot.forges.registry import close_forges, forge_hosts, make_forges
from bot.http import cache_key, make_client
from bot.paths import DataFileNotFound, find_data_file
from bot.pipeline import StageContext
from bot.progress import start_progress
from bot.records import UpstreamKey
from bot.signals.assemble import assemble_signals
from bot.signals.governance import FoundationListError, GovernanceList, load_governance_list
from bot.signals.licences import detect_drift, normalise_spdx
from bot.signals.records import Cached, RegistryObservation, RepoObservation, UpstreamSignals
from bot.signals.registry import PackageSignals, npm_signals, pypi_signals
from bot.sources.github_client import github_policy, github_service_of, token_source, watch_budgets
from bot.sources.github_signals import SOURCE, CallCounter, ConditionalCache, DepsDevProjects, GitHubSignalSource
from bot.store import signals as store
from bot.store.engine import session_scope
from bot.store.renames import save_renames
from bot.store.tables import PackageResolutionRow, SignalScanRow

log = logging.getLogger(__name__)

#: Forges whose projects deps.dev knows (GetProject: "GitHub, GitLab, or Bitbucket").
DEPSDEV_PROJECT_HOSTS = frozenset({"github.com", "gitlab.com", "bitbucket.org"})


@dataclass(frozen=True)
class SignalsSummary:
    """What one run of the stage did."""

    scan_id: int
    new_scan: bool
    upstreams: int
    observed: int
    partial: int
    missing: int
    drifts: int
    sovereignty_risks: int
    renamed: int = 0  # upstreams GitHub answered under a new name (renamed or transferred)
    calls: dict[str, int] = field(default_factory=dict)


def resolve_foundations_path(settings: Settings) -> Path:
    """The foundations file: absolute, else beside the config file, else the working directory or checkout."""
    try:
        return find_data_file(
            settings.signals.foundations_file, config_path=settings.config_path, setting="signals.foundations_file"
        )
    except DataFileNotFound as exc:
        raise FoundationListError(str(exc)) from exc


def load_settings_governance(settings: Settings) -> GovernanceList:
    return load_governance_list(resolve_foundations_path(settings)).extended(
        foundation_owners=settings.signals.foundation_owners, company_owners=settings.signals.company_owners
    )


def store_cache(engine: Engine, now: datetime) -> ConditionalCache:
    """Validators and bodies of conditional GETs, kept in the store's HTTP cache (keys without the port)."""

    def get(url: str) -> Cached | None:
        with Session(engine) as session:
            cached = store.load_cached(session, cache_key(url))
        return replace(cached, url=url) if cached is not None else None

    def put(entry: Cached) -> None:
        with session_scope(engine) as session:
            store.save_cached(session, replace(entry, url=cache_key(entry.url)), now=now)

    return ConditionalCache(get=get, put=put)


def _registry_document_of(
    settings: Settings, package_key: str
) -> tuple[str, Callable[[Any], PackageSignals], str] | None:
    """Where the resolve stage cached a package's registry document (npm, PyPI), its reader and source name."""
    ecosystem, _, name = package_key.partition("/")
    if ecosystem == "npm":
        return f"{settings.registries.npm.rstrip('/')}/{quote(name, safe='@')}", npm_signals, "npm"
    if ecosystem == "pypi":
        pep503 = re.sub(r"[-_.]+", "-", name).lower()
        return f"{settings.registries.pypi.rstrip('/')}/pypi/{pep503}/json", pypi_signals, "pypi"
    return None


def _registry_documents(
    read_once: Mapping[str, tuple[str, PackageSignals]],
    cached: Mapping[str, Cached],
    settings: Settings,
    packages: list[PackageResolutionRow],
) -> list[tuple[str, PackageSignals]]:
    """Signals from registry documents the resolve stage fetched (npm, PyPI); no calls are made here.

    What resolve read when it decoded a document (``registry_signals``) is taken as it is; only a
    document cached before resolve kept that (a store from an earlier version) is decoded here."""
    out = []
    for package in packages:
        where = _registry_document_of(settings, package.package_key)
        if where is None:
            continue
        url, read, source = where
        kept = read_once.get(cache_key(url))
        if kept is not None:
            out.append(kept)
            continue
        entry = cached.get(url)
        if entry is None or entry.status_code != 200:
            continue
        try:
            out.append((source, read(json.loads(entry.body))))
        except (json.JSONDecodeError, UnicodeDecodeError):
            continue
    return out


def _registry_observations(
    session: Session, settings: Settings, keys: list[str], depsdev: DepsDevProjects | None
) -> dict[str, RegistryObservation]:
    packages = store.load_packages_by_upstream(session, upstream_keys=keys)
    licences = store.load_component_licences(
        session, package_keys=[p.package_key for rows in packages.values() for p in rows]
    )
    # what the batch's registry documents said, in one query, not one per package; the documents
    # themselves only where nothing was kept when resolve decoded them
    where = (_registry_document_of(settings, p.package_key) for rows in packages.values() for p in rows)
    urls = [found[0] for found in where if found is not None]
    read_once = store.load_registry_signals(session, map(cache_key, urls))
    cached = store.load_cached_many(session, [u for u in urls if cache_key(u) not in read_once])
    out = {}
    for key in keys:
        rows = packages.get(key, [])
        sources: dict[str, str] = {}
        documents = _registry_documents(read_once, cached, settings, rows)
        from_registry = [d.licence for _, d in documents if d.licence]
        from_sbom = [n for p in rows for n in (normalise_spdx(x) for x in licences[p.package_key]) if n]
        declared = tuple(dict.fromkeys(n for n in map(normalise_spdx, from_registry or from_sbom) if n))
        if declared:
            sources["licences"] = documents[0][0] if from_registry else "sbom"
        flags = [d.deprecated for _, d in documents if d.deprecated is not None]
        deprecated = all(flags) if flags else None
        if flags:
            sources["deprecated"] = ",".join(sorted({s for s, d in documents if d.deprecated is not None}))
        funding = tuple(c for _, d in documents for c in d.funding)
        if funding:
            sources["funding"] = ",".join(sorted({s for s, d in documents if d.funding}))
        scorecard = depsdev_licence = None
        project = depsdev.project(key) if depsdev and key.split("/", 1)[0] in DEPSDEV_PROJECT_HOSTS else None
        if project:
            score = (project.get("scorecard") or {}).get("overallScore")
            scorecard = float(score) if isinstance(score, int | float) else None
            licence = project.get("license")
            depsdev_licence = normalise_spdx(licence) if isinstance(licence, str) else None
            if scorecard is not None:
                sources["scorecard"] = "deps.dev"
            if depsdev_licence:
                sources["depsdev_licence"] = "deps.dev"
        out[key] = RegistryObservation(
            licences=declared,
            deprecated=deprecated,
            funding=funding,
            scorecard=scorecard,
            depsdev_licence=depsdev_licence,
            sources=sources,
        )
    return out


def _choose_scan(session: Session, settings: Settings, *, now: datetime, rescan: bool) -> tuple[int, bool]:
    """Resume a running scan; reuse a fresh finished one; else start a new scan.

    A running scan older than the TTL is closed as ``partial`` (some upstream kept failing), so
    one broken repository cannot hold every later scan back.
    """
    latest = store.load_latest_scan(session)
    if latest is not None and latest.id is not None:
        started = store.aware(latest.started_at)
        fresh = started is not None and now - started < timedelta(days=settings.signals.ttl_days)
        if latest.status == "running":
            if fresh:
                return latest.id, False
            latest.status, latest.finished_at = "partial", now
            session.add(latest)
        elif fresh and not rescan:
            return latest.id, False
    scan = store.start_scan(session, now=now)
    assert scan.id is not None
    return scan.id, True


def gather_signals(
    engine: Engine,
    settings: Settings,
    secrets: Secrets,
    client: httpx.Client,
    *,
    now: datetime,
    rescan: bool = False,
    governance_list: GovernanceList | None = None,
    forges: Mapping[str, Forge] | None = None,
) -> SignalsSummary:
    """Observe every upstream the current scan lacks, store its signals and any licence drift.

    Upstreams on a host a ``[[forges]]`` entry serves are observed by that forge's adapter
    (``forges``, default: built from the settings)."""
    config = settings.signals
    governance = governance_list or load_settings_governance(settings)
    with session_scope(engine) as session:
        scan_id, new_scan = _choose_scan(session, settings, now=now, rescan=rescan)
        keys = store.load_upstream_keys(session)
        done = store.load_keys_in_scan(session, scan_id=scan_id)
    todo = [k for k in keys if k not in done]
    counter = CallCounter()
    cache = store_cache(engine, now)
    token = token_source(settings, secrets)
    github = GitHubSignalSource(
        client,
        graphql_url=settings.github.graphql_url,
        api_url=settings.github.api_url,
        token=token,
        batch_size=config.batch_size,
        counter=counter,
        cache=cache,
        fetch_funding_json=config.funding_json,
        time_compression=settings.github.time_compression,
    )
    depsdev = (
        DepsDevProjects(client, settings.registries.depsdev, counter, cache, batch_size=config.depsdev_batch_size)
        if config.scorecard and settings.resolve.use_depsdev
        else None
    )
    github_hosts = {h.lower() for h in config.github_hosts}
    built = forges is None
    adapters: Mapping[str, Forge] = make_forges(settings, secrets) if forges is None else forges
    served = {host: name for host, name in forge_hosts(settings).items() if name in adapters}
    for adapter in adapters.values():
        if isinstance(adapter, ForgejoForge) and adapter.cache is None:
            adapter.cache = cache  # conditional reads: an unchanged repository answers 304
    read_hosts = github_hosts | set(served)
    since = now - timedelta(days=config.window_days)
    observed = partial = missing = drifts = risks = 0
    # GitHub upstreams first and apart, so every GraphQL query carries a full batch.
    pending = [UpstreamKey.parse(k) for k in todo]
    pending = [u for u in pending if u.host in github_hosts] + [u for u in pending if u.host not in github_hosts]
    batches = [pending[i : i + config.batch_size] for i in range(0, len(pending), config.batch_size)]
    if depsdev is not None:  # GetProjectBatch for all of them; a rename found below is asked with a GET
        depsdev.prefetch(str(u) for u in pending if u.host in DEPSDEV_PROJECT_HOSTS)
    renamed = 0
    progress = start_progress("gather signals", total=len(pending), unit="upstreams")

    def observe(batch: list[UpstreamKey]) -> list[RepoObservation]:
        found = github.observe(
            [(str(u), u.owner, u.name) for u in batch if u.host in github_hosts], since=since, now=now
        )
        for upstream in (u for u in batch if u.host in served):
            try:
                found += adapters[served[upstream.host]].observe([upstream], since=since, now=now)
            except ForgeError as exc:  # not stored: the next run asks again
                log.warning("signals: %s not observed: %s", upstream, exc)
        return found

    # The next batches are asked for while this one is stored (``github.max_concurrent_queries`` in flight).
    observed_batches = map_ahead(observe, batches, workers=settings.github.max_concurrent_queries, name="signals")
    for batch, found in zip(batches, observed_batches, strict=True):
        progress.advance(len(batch))
        renames = {o.upstream_key: o.renamed_to for o in found if o.renamed_to}
        if renames:
            renamed += _record_renames(engine, renames, now)
        repos: dict[str, RepoObservation] = {
            o.renamed_to or o.upstream_key: replace(o, upstream_key=o.renamed_to or o.upstream_key) for o in found
        }
        batch = list(dict.fromkeys(UpstreamKey.parse(renames.get(str(u), str(u))) for u in batch))
        with Session(engine) as session:
            registry = _registry_observations(session, settings, [str(u) for u in batch], depsdev)
        with session_scope(engine) as session:
            # the licences of earlier scans, for drift: one query for the batch
            previous = store.load_previous_licences(
                session, upstream_keys=[str(u) for u in batch], before_scan_id=scan_id
            )
            for upstream in batch:
                key = str(upstream)
                if upstream.host in read_hosts and key not in repos:
                    continue  # not observed this time (an error was logged); the next run retries it
                signals = assemble_signals(
                    upstream,
                    repos.get(key),
                    registry[key],
                    now=now,
                    window_days=config.window_days,
                    bots=settings.people.bots,
                    governance_list=governance,
                )
                if not store.save_signals(session, scan_id=scan_id, signals=signals):
                    continue
                observed += 1
                partial += signals.partial
                missing += signals.missing
                drift = _drift(session, scan_id, signals, now, previous)
                if drift is not None:
                    drifts += 1
                    risks += drift
        log.info("signals: batch stored", extra={"scan": scan_id, "upstreams": len(batch), "observed": observed})
    progress.close()
    if built:
        close_forges(dict(adapters))
    calls = {**counter.as_dict(), **{f"forge:{n}": int(getattr(a, "calls", 0)) for n, a in adapters.items()}}
    calls |= {f"forge:{n}_not_modified": a.not_modified for n, a in adapters.items() if isinstance(a, ForgejoForge)}
    with session_scope(engine) as session:
        keys = store.load_upstream_keys(session)  # renames found in this run replaced some
        scan = session.get(SignalScanRow, scan_id)
        if scan is not None:
            remaining = set(keys) - store.load_keys_in_scan(session, scan_id=scan_id)
            scan.upstreams_done = len(keys) - len(remaining)
            scan.calls = _add_calls(scan.calls, calls)
            if not remaining and scan.status == "running":
                scan.status, scan.finished_at = "ok", now
    return SignalsSummary(
        scan_id=scan_id,
        new_scan=new_scan,
        upstreams=len(keys),
        observed=observed,
        renamed=renamed,
        partial=partial,
        missing=missing,
        drifts=drifts,
        sovereignty_risks=risks,
        calls=calls,
    )


def _record_renames(engine: Engine, renames: dict[str, str], now: datetime) -> int:
    """Store what GitHub's answers revealed: the old keys' resolutions move to the new ones at once."""
    with session_scope(engine) as session:
        changed = save_renames(session, renames, source=SOURCE, now=now)
    for old, new in sorted(renames.items()):
        log.info(
            "upstream %s: GitHub answers it as %s (renamed or transferred); counted as %s from now on", old, new, new
        )
    return changed


def _add_calls(before: dict[str, int], now: dict[str, int]) -> dict[str, int]:
    return {k: int(before.get(k, 0)) + int(now.get(k, 0)) for k in set(before) | set(now)}


def _drift(
    session: Session, scan_id: int, signals: UpstreamSignals, now: datetime, previous: Mapping[str, str | None]
) -> bool | None:
    """Store a drift event when the licence differs from the last scan that observed one (``previous``,
    by upstream); None if no drift."""
    if not signals.licence_observed or signals.upstream_key not in previous:
        return None
    drift = detect_drift(signals.upstream_key, previous[signals.upstream_key], signals.licence, first_seen_at=now)
    if drift is None or not store.save_drift(session, scan_id=scan_id, drift=drift):
        return None
    log.warning(
        "upstream %s: licence changed from %s to %s%s",
        signals.upstream_key,
        drift.from_spdx,
        drift.to_spdx,
        " (sovereignty risk)" if drift.sovereignty_risk else "",
    )
    return drift.sovereignty_risk


def signals_client(settings: Settings) -> httpx.Client:
    """The stage's HTTP client: GitHub's retry policy (waits up to ``github.rate_limit_wait_max_seconds``
    slept through, a limit answer without a time waits GitHub's minute, all on the service's clock),
    its budgets watched and recorded."""
    client = make_client(timeout=settings.resolve.timeout_seconds, policy=github_policy(settings))
    watch_budgets(client, github_service_of(settings))
    return client


def signals_stage(context: StageContext) -> dict[str, Any]:
    """The signals part of the pipeline's ``gather`` stage (for the stage registry); ``rescan`` is an option."""
    settings = context.settings
    with signals_client(settings) as client:
        summary = gather_signals(
            context.engine,
            settings,
            context.secrets,
            client,
            now=context.now,
            rescan=bool(context.options.get("rescan", False)),
        )
    return asdict(summary)
