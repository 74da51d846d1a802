"""``upkeep sync``: list the organisations' repositories and ingest their dependency-graph SBOM exports.

Listing (``GET /orgs/{org}/repos``, 100 per page) sends the ETag of the last answer, so an unchanged
organisation costs free ``304`` answers; the bodies are kept in the HTTP cache table. Forks and
archived repositories are skipped unless configured.

Export: a repository whose ``pushed_at`` equals the one of its last export is not exported again.
Otherwise, as github.com works since November 2026: ``generate-report`` (201 with ``sbom_url``), then
``fetch-report/{uuid}`` polled with exponential backoff while it answers 201/202, until it answers
302; the document is downloaded from the ``Location`` with a client that carries no
``Authorization`` header (it is another host, which must never see the token). With
``github.enterprise_server`` and no asynchronous route (404), the synchronous ``.../sbom`` is used.
Reports are asked for by ``github.max_concurrent_reports`` threads at once (GitHub's secondary limits
allow 100 concurrent requests; the default stays far below). A document whose content is unchanged
(same digest, ignoring the creation time and namespace GitHub renews each time) is not ingested again.

A repository whose dependency graph is disabled (403) is reported and noted on its row, not fatal.
A long rate-limit wait stops the run with ``stopped`` set; exported repositories are recorded as
they finish, so the next run continues with the rest.
"""

from __future__ import annotations

import hashlib
import heapq
import itertools
import json
import logging
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple

import httpx
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from bot.config import Settings
from bot.http import RateLimited
from bot.inventory.ingest import ingest_bytes
from bot.inventory.interface import InventoryError
from bot.pipeline import StageContext
from bot.progress import start_progress
from bot.sources.github_repo_facts import (
    FactsCalls,
    PropertyValues,
    cache_page,
    cached_page,
    fetch_codeowners_team,
    fetch_property_values,
    properties_of,
)
from bot.sources.repo_weights import RepoFacts, compute_repo_weight
from bot.store.engine import session_scope
from bot.store.tables import RepositoryRow

log = logging.getLogger(__name__)
PER_PAGE = 100
#: The longest wait between two polls of one report.
MAX_POLL_SECONDS = 60.0
#: Reports asked for ahead of the workers: while they are being generated, the workers poll others.
REPORTS_AHEAD_PER_WORKER = 8


class SbomExportError(Exception):
    """A report could not be had for one repository; the message starts with the repository."""


@dataclass(frozen=True, slots=True)
class Repo:
    full_name: str
    private: bool
    fork: bool
    archived: bool
    pushed_at: datetime | None
    topics: tuple[str, ...] = ()


@dataclass
class SyncSummary:
    """What one sync did; ``stopped`` says when a rate limit ended it early."""

    orgs: list[str] = field(default_factory=list)
    listed: int = 0
    listing_pages: int = 0
    listing_not_modified: int = 0
    skipped_forks: int = 0
    skipped_archived: int = 0
    unchanged_repos: int = 0
    reports_requested: int = 0
    sync_exports: int = 0
    exported: int = 0
    ingested: int = 0
    unchanged_documents: int = 0
    disabled: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    stopped: str | None = None
    weighted: int = 0  # repositories a [[usage.weight]] rule gave a weight
    teams: int = 0  # repositories with a team from a property, a topic or CODEOWNERS
    property_pages: int = 0
    property_pages_not_modified: int = 0
    codeowners_requests: int = 0
    codeowners_reused: int = 0
    warnings: list[str] = field(default_factory=list)  # properties or CODEOWNERS GitHub would not give

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _time(value: Any) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(str(value).replace("Z", "+00:00")).astimezone(UTC)


def _aware(value: datetime | None) -> datetime | None:
    return value if value is None or value.tzinfo else value.replace(tzinfo=UTC)


# --------------------------------------------------------------------------- listing


def list_repositories(engine: Engine, api: httpx.Client, api_url: str, org: str, summary: SyncSummary) -> list[Repo]:
    """Every repository of ``org`` the token can see, revalidating each page with its stored ETag."""
    repos: list[Repo] = []
    page = 1
    while True:
        url = f"{api_url.rstrip('/')}/orgs/{org}/repos?type=all&per_page={PER_PAGE}&page={page}"
        cached = cached_page(engine, url)
        headers = {"If-None-Match": cached.etag} if cached is not None and cached.etag else {}
        response = api.get(url, headers=headers)
        summary.listing_pages += 1
        if response.status_code == 304 and cached is not None:
            summary.listing_not_modified += 1
            body = cached.body
        elif response.status_code == 200:
            body = response.content
            cache_page(engine, url, response.headers.get("etag"), body)
        else:
            raise SbomExportError(f"{org}: listing repositories answered HTTP {response.status_code}")
        items = json.loads(body)
        for item in items:
            repos.append(
                Repo(
                    full_name=str(item["full_name"]).lower(),
                    private=bool(item.get("private")),
                    fork=bool(item.get("fork")),
                    archived=bool(item.get("archived")),
                    pushed_at=_time(item.get("pushed_at")),
                    topics=tuple(str(t) for t in item.get("topics") or ()),
                )
            )
        if len(items) < PER_PAGE:
            return repos
        page += 1


# --------------------------------------------------------------------------- export


@dataclass
class Exporter:
    """Asks GitHub for one repository's SBOM, one request at a time: :meth:`start` asks for the report,
    :meth:`poll` asks whether it is ready; :func:`_export_all` schedules both for many repositories.
    ``sleep`` is injectable so tests need not wait."""

    api: httpx.Client
    download: httpx.Client
    api_url: str
    enterprise_server: bool = False
    poll_seconds: float = 1.0
    poll_attempts: int = 10
    sleep: Callable[[float], None] = time.sleep

    def export(self, full_name: str) -> tuple[bytes, str]:
        """The document's bytes and how it was had ("report" or "sync"); raise :class:`SbomExportError`."""
        started = self.start(full_name)
        if isinstance(started, bytes):
            return started, "sync"
        delay = self.poll_seconds
        for _ in range(self.poll_attempts):
            polled = self.poll(full_name, started)
            if isinstance(polled, bytes):
                return polled, "report"
            self.sleep(polled if polled is not None else delay)
            delay = min(delay * 2, MAX_POLL_SECONDS)
        raise SbomExportError(f"{full_name}: report not ready after {self.poll_attempts} polls; next run asks again")

    def start(self, full_name: str) -> bytes | str:
        """Ask for the report: its ``sbom_url`` to poll, or (GitHub Enterprise Server's synchronous
        route) the document itself."""
        base = f"{self.api_url.rstrip('/')}/repos/{full_name}/dependency-graph/sbom"
        response = self.api.get(f"{base}/generate-report")
        if response.status_code == 404 and self.enterprise_server:
            return self._synchronous(full_name, base)
        self._raise_for(full_name, response, "generate-report")
        sbom_url = str(response.json().get("sbom_url") or "")
        if not sbom_url:
            raise SbomExportError(f"{full_name}: generate-report gave no sbom_url")
        return sbom_url

    def poll(self, full_name: str, sbom_url: str) -> bytes | float | None:
        """The document once the report is ready; until then the ``Retry-After`` GitHub sent, or None."""
        poll = self.api.get(sbom_url)
        if poll.status_code == 302 and poll.headers.get("location"):
            return self._download(full_name, poll.headers["location"])
        if poll.status_code not in (201, 202):
            self._raise_for(full_name, poll, "fetch-report")
        return _retry_after(poll)

    def _download(self, full_name: str, location: str) -> bytes:
        response = self.download.get(location)  # no Authorization: another host, a signed URL
        if response.status_code != 200:
            raise SbomExportError(f"{full_name}: download answered HTTP {response.status_code}")
        return response.content

    def _synchronous(self, full_name: str, base: str) -> bytes:
        response = self.api.get(base)
        self._raise_for(full_name, response, "sbom")
        return response.content

    def _raise_for(self, full_name: str, response: httpx.Response, what: str) -> None:
        if response.status_code in (200, 201, 202, 302):
            return
        message = ""
        try:
            message = str(response.json().get("message", ""))
        except ValueError:
            message = response.text[:200]
        raise SbomExportError(f"{full_name}: {what} answered HTTP {response.status_code}: {message}".rstrip(": "))


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after", "")
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None


def content_digest(data: bytes) -> str:
    """sha256 of the document without what GitHub renews on every export (creation time, namespace)."""
    try:
        document = json.loads(data)
    except ValueError:
        return hashlib.sha256(data).hexdigest()
    inner = document.get("sbom", document) if isinstance(document, dict) else document
    if isinstance(inner, dict):
        inner = {k: v for k, v in inner.items() if k != "documentNamespace"}
        info = inner.get("creationInfo")
        if isinstance(info, dict):
            inner["creationInfo"] = {k: v for k, v in info.items() if k != "created"}
    return hashlib.sha256(json.dumps(inner, sort_keys=True).encode()).hexdigest()


# --------------------------------------------------------------------------- store


class _Exported(NamedTuple):
    """What the store knew of a repository's last export when the listing was saved."""

    pushed_at: datetime | None  # ``exported_pushed_at``
    digest: str | None  # ``export_etag``


#: Repositories per transaction while saving a listing or weighing: a session of bounded size, whatever
#: the organisation's (its row objects were a few KB each, held for every repository at once).
REPOS_PER_SESSION = 500


def _chunks(repos: list[Repo]) -> Iterator[list[Repo]]:
    for start in range(0, len(repos), REPOS_PER_SESSION):
        yield repos[start : start + REPOS_PER_SESSION]


def _save_listing(engine: Engine, repos: list[Repo]) -> dict[str, _Exported]:
    """Record the listed repositories; return, for each, what its row said of its last export."""
    exported: dict[str, _Exported] = {}
    for chunk in _chunks(repos):
        with session_scope(engine) as session:
            names = sorted({r.full_name for r in chunk})
            existing = {
                r.full_name: r
                for r in session.exec(select(RepositoryRow).where(col(RepositoryRow.full_name).in_(names))).all()
            }
            for repo in chunk:
                row = existing.get(repo.full_name) or RepositoryRow(full_name=repo.full_name, source="github")
                row.private, row.fork, row.archived = repo.private, repo.fork, repo.archived
                row.pushed_at = repo.pushed_at
                row.source = "github"
                session.add(row)
                existing[repo.full_name] = row
                exported[repo.full_name] = _Exported(row.exported_pushed_at, row.export_etag)
    return exported


def _mark(engine: Engine, full_name: str, *, pushed_at: datetime | None, digest: str | None, note: str | None) -> None:
    with session_scope(engine) as session:
        row = session.exec(select(RepositoryRow).where(RepositoryRow.full_name == full_name)).one()
        if pushed_at is not None:
            row.exported_pushed_at = pushed_at
        if digest is not None:
            row.export_etag = digest
        row.note = note
        session.add(row)


# --------------------------------------------------------------------------- the stage


def _kept(repos: list[Repo], settings: Settings) -> list[Repo]:
    return [
        r
        for r in repos
        if (settings.github.include_forks or not r.fork) and (settings.github.include_archived or not r.archived)
    ]


def _weigh(
    engine: Engine, settings: Settings, api: httpx.Client, org: str, repos: list[Repo], summary: SyncSummary
) -> None:
    """Weight each repository and name its team from its properties, topics and CODEOWNERS (``[usage]``).

    Nothing is asked of GitHub unless ``[usage]`` needs it. A weight or team a person set by hand (no
    rule or source recorded beside it) is kept when no rule or source names one."""
    usage = settings.usage
    if not (usage.weight or usage.team_property or usage.team_topic_prefix or usage.team_from_codeowners):
        return
    calls = FactsCalls()
    values = (
        fetch_property_values(engine, api, settings.github.api_url, org, calls) if usage.needs_properties() else None
    )
    for chunk in _chunks(repos):
        _weigh_chunk(engine, settings, api, chunk, values, calls, summary)
    summary.property_pages += calls.property_pages
    summary.property_pages_not_modified += calls.property_pages_not_modified
    summary.codeowners_requests += calls.codeowners_requests
    summary.codeowners_reused += calls.codeowners_reused
    summary.warnings.extend(calls.warnings)
    for warning in calls.warnings:
        log.warning("sync: %s", warning)


def _weigh_chunk(
    engine: Engine,
    settings: Settings,
    api: httpx.Client,
    repos: list[Repo],
    values: PropertyValues | None,
    calls: FactsCalls,
    summary: SyncSummary,
) -> None:
    usage = settings.usage
    with session_scope(engine) as session:
        rows = {
            r.full_name: r
            for r in session.exec(
                select(RepositoryRow).where(col(RepositoryRow.full_name).in_([r.full_name for r in repos]))
            ).all()
        }
        for repo in repos:
            row = rows[repo.full_name]
            facts = RepoFacts(repo.full_name, properties_of(values, repo.full_name), repo.topics)
            result = compute_repo_weight(facts, usage)
            if usage.team_from_codeowners and result.team is None:
                if row.codeowners_pushed_at is not None and _aware(row.codeowners_pushed_at) == repo.pushed_at:
                    calls.codeowners_reused += 1
                else:
                    team, settled = fetch_codeowners_team(api, settings.github.api_url, repo.full_name, calls)
                    row.codeowners_team = team
                    row.codeowners_pushed_at = repo.pushed_at if settled else None
                facts = RepoFacts(facts.full_name, facts.properties, facts.topics, row.codeowners_team)
                result = compute_repo_weight(facts, usage)
            if result.weight_rule is not None or row.weight_rule is not None:
                row.weight, row.weight_rule = result.weight, result.weight_rule
            if result.team_source is not None or row.team_source is not None:
                row.team, row.team_source = result.team, result.team_source
            summary.weighted += result.weight_rule is not None
            summary.teams += row.team is not None
            session.add(row)


def _due(repos: list[Repo], rows: dict[str, _Exported], settings: Settings, summary: SyncSummary) -> Iterator[Repo]:
    for repo in repos:
        if repo.fork and not settings.github.include_forks:
            summary.skipped_forks += 1
            continue
        if repo.archived and not settings.github.include_archived:
            summary.skipped_archived += 1
            continue
        row = rows.get(repo.full_name)
        if row is not None and row.pushed_at is not None and _aware(row.pushed_at) == repo.pushed_at:
            summary.unchanged_repos += 1
            continue
        yield repo


def sync_organisations(
    engine: Engine,
    settings: Settings,
    *,
    api: httpx.Client | Callable[[str], httpx.Client],
    download: httpx.Client,
    now: datetime,
    sleep: Callable[[float], None] = time.sleep,
) -> SyncSummary:
    """List every configured org's repositories and ingest the exports of those that changed.

    ``api`` is one client for every org (a token), or a function giving each org its own (an App
    installation per org).
    """
    summary = SyncSummary(orgs=list(settings.github.orgs))
    try:
        for org in settings.github.orgs:
            client = api(org) if callable(api) else api
            exporter = Exporter(
                client,
                download,
                settings.github.api_url,
                enterprise_server=settings.github.enterprise_server,
                poll_seconds=settings.github.report_poll_seconds,
                poll_attempts=settings.github.report_poll_attempts,
                sleep=sleep,
            )
            repos = list_repositories(engine, client, settings.github.api_url, org, summary)
            summary.listed += len(repos)
            rows = _save_listing(engine, repos)
            _weigh(engine, settings, client, org, _kept(repos, settings), summary)
            due = list(_due(repos, rows, settings, summary))
            _export_all(engine, settings, exporter, due, rows, summary)
    except RateLimited as exc:
        summary.stopped = exc.reset_at.isoformat()
        log.warning("sync: rate limited until %s; the next run resumes with the repositories left", summary.stopped)
    log.info("sync: %s", {k: v for k, v in summary.to_dict().items() if v})
    return summary


@dataclass
class _Report:
    """A report asked for and not yet downloaded: when to poll it next, and how long to wait after."""

    repo: Repo
    sbom_url: str
    polls: int = 0
    delay: float = 0.0


def _export_all(
    engine: Engine,
    settings: Settings,
    exporter: Exporter,
    due: list[Repo],
    rows: dict[str, _Exported],
    summary: SyncSummary,
    *,
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """Export ``due``: reports are asked for ahead and polled together, each on its own backoff.

    ``github.max_concurrent_reports`` workers send one request each at a time (ask, poll or
    download); up to ``REPORTS_AHEAD_PER_WORKER`` times as many reports are being generated at once,
    so no worker sleeps while a report is being made. A poll waits as long as GitHub's
    ``Retry-After`` says, else ``report_poll_seconds`` doubling to a minute; a report still not
    ready after ``report_poll_attempts`` polls is given up for this run."""
    workers = settings.github.max_concurrent_reports
    ahead = workers * REPORTS_AHEAD_PER_WORKER
    queue = iter(due)
    waiting: list[tuple[float, int, _Report]] = []  # (when to poll, tie-breaker, report)
    running: dict[Future[Any], tuple[Repo, _Report | None]] = {}
    order = itertools.count()
    outstanding = 0
    progress = start_progress("sync", total=len(due), unit="repositories")

    def settle(repo: Repo, outcome: bytes | SbomExportError, how: str) -> None:
        nonlocal outstanding
        outstanding -= 1
        _finish(engine, settings, repo, outcome, how, rows, summary)
        progress.advance()

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sbom") as pool:
        try:
            while True:
                now = clock()
                while waiting and waiting[0][0] <= now and len(running) < workers:
                    next_poll = heapq.heappop(waiting)[2]
                    poll = pool.submit(exporter.poll, next_poll.repo.full_name, next_poll.sbom_url)
                    running[poll] = (next_poll.repo, next_poll)
                while len(running) < workers and outstanding < ahead:
                    repo = next(queue, None)
                    if repo is None:
                        break
                    outstanding += 1
                    running[pool.submit(exporter.start, repo.full_name)] = (repo, None)
                if not running and not waiting:
                    return
                until_next = max(0.0, waiting[0][0] - clock()) if waiting else None
                if not running:
                    exporter.sleep(until_next or 0.0)
                    continue
                finished, _ = wait(running, timeout=until_next, return_when=FIRST_COMPLETED)
                for future in finished:
                    repo, report = running.pop(future)
                    try:
                        result = future.result()
                    except SbomExportError as exc:
                        settle(repo, exc, "report")
                        continue
                    if isinstance(result, bytes):
                        settle(repo, result, "sync" if report is None else "report")
                        continue
                    if report is None:  # asked for: poll it at once, GitHub may be quick
                        heapq.heappush(
                            waiting, (clock(), next(order), _Report(repo, str(result), 0, exporter.poll_seconds))
                        )
                        continue
                    report.polls += 1
                    if report.polls >= exporter.poll_attempts:
                        message = f"{repo.full_name}: report not ready after {report.polls} polls; next run asks again"
                        settle(repo, SbomExportError(message), "report")
                        continue
                    pause = float(result) if isinstance(result, float) else report.delay
                    report.delay = min(max(report.delay, exporter.poll_seconds) * 2, MAX_POLL_SECONDS)
                    heapq.heappush(waiting, (clock() + pause, next(order), report))
        except RateLimited:
            for future in running:
                future.cancel()
            raise
        finally:
            progress.close()


def _finish(
    engine: Engine,
    settings: Settings,
    repo: Repo,
    outcome: bytes | SbomExportError,
    how: str,
    rows: dict[str, _Exported],
    summary: SyncSummary,
) -> None:
    if isinstance(outcome, SbomExportError):
        message = str(outcome)
        if "dependency graph is disabled" in message.lower():
            summary.disabled.append(repo.full_name)
            # not asked again until the repository is pushed to (someone may enable the graph then)
            _mark(engine, repo.full_name, pushed_at=repo.pushed_at, digest=None, note="dependency graph disabled")
        else:
            summary.failed.append(message)
            _mark(engine, repo.full_name, pushed_at=None, digest=None, note=message)
        return
    data = outcome
    summary.exported += 1
    summary.reports_requested += how == "report"
    summary.sync_exports += how == "sync"
    digest = content_digest(data)
    row = rows.get(repo.full_name)
    if row is not None and row.digest == digest:
        summary.unchanged_documents += 1
        _mark(engine, repo.full_name, pushed_at=repo.pushed_at, digest=digest, note=None)
        return
    try:
        ingest_bytes(
            engine,
            data,
            source=f"github:{repo.full_name}",
            repo=repo.full_name,
            max_file_bytes=settings.inventory.max_file_bytes,
            repository_source="github",
        )
    except InventoryError as exc:
        summary.failed.append(f"{repo.full_name}: {exc}")
        _mark(engine, repo.full_name, pushed_at=None, digest=None, note=f"export not readable: {exc}")
        return
    summary.ingested += 1
    _mark(engine, repo.full_name, pushed_at=repo.pushed_at, digest=digest, note=None)


def sync_stage(context: StageContext) -> dict[str, Any]:
    """The pipeline's ``sync`` of GitHub and of the ``[[forges]]`` groups: clients from the settings, a summary dict."""
    from bot.sources.github_client import api_client_for, make_download_client

    settings = context.settings
    clients: dict[str, httpx.Client] = {}

    def api(org: str) -> httpx.Client:
        clients[org] = clients.get(org) or api_client_for(settings, context.secrets, org)
        return clients[org]

    try:
        with make_download_client(settings) as download:
            done = sync_organisations(context.engine, settings, api=api, download=download, now=context.now).to_dict()
    finally:
        for client in clients.values():
            client.close()
    if any(f.groups for f in settings.forges):  # the groups on other forges (GitLab): their SBOMs too
        from bot.forges.registry import close_forges, make_forges
        from bot.forges.sync import sync_forges

        forges = make_forges(settings, context.secrets)
        try:
            done["forges"] = sync_forges(context.engine, settings, forges).to_dict()
        finally:
            close_forges(forges)
    return done
