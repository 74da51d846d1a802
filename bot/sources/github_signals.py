"""Upstream signals from GitHub: batched GraphQL repository queries and conditional REST.

One GraphQL query asks for up to 50 repositories at once through aliases (``r0: repository(...)``),
so a cold scan costs about ⌈upstreams ÷ 50⌉ queries, plus follow-up queries (also batched) for
repositories with more than 100 commits in the window. ``funding.json`` is probed in the same
query (``object(expression: "HEAD:funding.json")``) and its text fetched over REST only when it
exists, with ``If-None-Match`` so a rescan costs a free ``304``.

GraphQL answers HTTP 200 with ``errors`` for missing repositories (type ``NOT_FOUND``) and for
rate limits (type ``RATE_LIMITED``); the first is data (the repository is gone), the second
raises :class:`bot.http.RateLimited` so the stage stops at its last checkpoint.

deps.dev projects (Scorecard, licence) are asked in batches of up to 5,000 with v3alpha's
``GetProjectBatch``, with the per-project conditional GET of v3 as the fallback.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx

from bot.http import RateLimited, compressed_wait
from bot.signals.people import author_identity
from bot.signals.records import Cached, CommitAuthor, FundingChannel, RepoObservation

log = logging.getLogger(__name__)

HISTORY_PAGE = 100  # the GraphQL connection limit
SOURCE = "github-graphql"

_COMMIT_FIELDS = """
        totalCount
        pageInfo { hasNextPage endCursor }
        nodes { committedDate author { email name user { login } } }"""

REPOSITORY_FRAGMENT = (
    """
fragment RepoSignals on Repository {
  nameWithOwner
  isArchived
  pushedAt
  licenseInfo { spdxId key }
  fundingLinks { platform url }
  owner {
    __typename
    login
    ... on User { hasSponsorsListing }
    ... on Organization { hasSponsorsListing }
  }
  latestRelease { publishedAt tagName }
  fundingJson: object(expression: "HEAD:funding.json") { __typename }
  fundingYml: object(expression: "HEAD:.github/FUNDING.yml") { ... on Blob { text } }
  contributing: object(expression: "HEAD:CONTRIBUTING.md") { ... on Blob { text } }
  githubContributing: object(expression: "HEAD:.github/CONTRIBUTING.md") { ... on Blob { text } }
  claFile: object(expression: "HEAD:CLA.md") { __typename }
  defaultBranchRef {
    name
    target {
      ... on Commit {
        committedDate
        history(since: $since, first: 100) {"""
    + _COMMIT_FIELDS
    + """
        }
      }
    }
  }
}
"""
)


class GitHubSignalsError(Exception):
    """A GraphQL answer that is neither data nor an expected miss; the message names the query."""


def signals_query(count: int) -> str:
    """The query text for ``count`` repositories (variables ``$o0``/``$n0`` … and ``$since``)."""
    params = ", ".join(f"$o{i}: String!, $n{i}: String!" for i in range(count))
    fields = "\n".join(f"  r{i}: repository(owner: $o{i}, name: $n{i}) {{ ...RepoSignals }}" for i in range(count))
    return f"query UpstreamSignals($since: GitTimestamp!, {params}) {{\n{fields}\n}}\n{REPOSITORY_FRAGMENT}"


def history_query(count: int) -> str:
    """Follow-up pages of default-branch history for ``count`` repositories at once."""
    params = ", ".join(f"$o{i}: String!, $n{i}: String!, $a{i}: String" for i in range(count))
    fields = "\n".join(
        f"  r{i}: repository(owner: $o{i}, name: $n{i}) {{ defaultBranchRef {{ target {{ ... on Commit {{"
        f" history(since: $since, first: 100, after: $a{i}) {{{_COMMIT_FIELDS}\n }} }} }} }} }}"
        for i in range(count)
    )
    return f"query UpstreamHistory($since: GitTimestamp!, {params}) {{\n{fields}\n}}\n"


@dataclass
class CallCounter:
    """Calls made, for the summary and the benchmark."""

    graphql: int = 0
    graphql_history_pages: int = 0  # of ``graphql``: follow-up pages of long histories
    rest: int = 0
    rest_not_modified: int = 0
    depsdev: int = 0  # every deps.dev request: GetProject GETs and GetProjectBatch POSTs
    depsdev_not_modified: int = 0
    depsdev_batches: int = 0  # of ``depsdev``: GetProjectBatch POSTs (one per page)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, kind: str, count: int = 1) -> None:
        """Count a call; safe from the threads that observe several batches at once."""
        with self._lock:
            setattr(self, kind, getattr(self, kind) + count)

    def as_dict(self) -> dict[str, int]:
        return {name: value for name, value in vars(self).items() if not name.startswith("_")}


@dataclass
class ConditionalCache:
    """Where conditional GETs keep validators; the stage backs it with the store."""

    get: Callable[[str], Cached | None]
    put: Callable[[Cached], None]


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _commits(history: dict[str, Any] | None) -> list[CommitAuthor]:
    out = []
    for node in (history or {}).get("nodes") or []:
        when = _parse_time(node.get("committedDate"))
        if when is None:
            continue
        author = node.get("author") or {}
        user = author.get("user") or {}
        identity = author_identity(user.get("login"), author.get("email"), author.get("name"))
        out.append(CommitAuthor(identity, author.get("email"), when))
    return out


def _history_of(repo: dict[str, Any] | None) -> dict[str, Any] | None:
    target = ((repo or {}).get("defaultBranchRef") or {}).get("target") or {}
    history = target.get("history")
    return history if isinstance(history, dict) else None


#: How long a rate-limit answer without a reset time waits, on the service's clock.
FALLBACK_LIMIT_WAIT_SECONDS = 15 * 60.0


def _errors_by_alias(
    payload: dict[str, Any], reset: str | None = None, time_compression: float = 1.0
) -> dict[str, list[dict[str, Any]]]:
    """Errors keyed by the alias they belong to; a rate-limit error raises (GraphQL answers it with HTTP 200).

    Without a reset time the wait is a quarter hour of the service's clock (compressed in the sandbox)."""
    errors: dict[str, list[dict[str, Any]]] = {}
    for error in payload.get("errors") or []:
        if error.get("type") == "RATE_LIMITED":
            until = datetime.fromtimestamp(int(reset), UTC) if reset and reset.isdigit() else None
            fallback = compressed_wait(FALLBACK_LIMIT_WAIT_SECONDS, time_compression)
            raise RateLimited("graphql", until or datetime.now(UTC) + timedelta(seconds=fallback))
        path = error.get("path") or ["(query)"]
        errors.setdefault(str(path[0]), []).append(error)
    return errors


class GitHubSignalSource:
    """Reads repository signals from GitHub's GraphQL API (and REST for ``funding.json``)."""

    def __init__(
        self,
        client: httpx.Client,
        *,
        graphql_url: str,
        api_url: str,
        token: str | Callable[[], str] | None,
        batch_size: int = 50,
        counter: CallCounter | None = None,
        cache: ConditionalCache | None = None,
        fetch_funding_json: bool = True,
        time_compression: float = 1.0,
    ) -> None:
        self.client = client
        self.graphql_url = graphql_url
        self.api_url = api_url.rstrip("/")
        self._token = token
        self.batch_size = batch_size
        self.counter = counter or CallCounter()
        self.cache = cache
        self.fetch_funding_json = fetch_funding_json
        self.time_compression = time_compression

    @property
    def headers(self) -> dict[str, str]:
        """The ``Authorization`` header, read per request: an App's installation token is renewed as it ages."""
        token = self._token() if callable(self._token) else self._token
        return {"Authorization": f"Bearer {token}"} if token else {}

    # ------------------------------------------------------------------ GraphQL

    def _post(self, query: str, variables: dict[str, Any], what: str) -> dict[str, Any]:
        self.counter.add("graphql")
        response = self.client.post(
            self.graphql_url, json={"query": query, "variables": variables}, headers=self.headers
        )
        if response.status_code != 200:
            raise GitHubSignalsError(f"{what}: GraphQL answered HTTP {response.status_code}: {response.text[:200]}")
        payload = response.json()
        if not isinstance(payload, dict):
            raise GitHubSignalsError(f"{what}: GraphQL answer is not an object")
        reset = response.headers.get("x-ratelimit-reset")
        if payload.get("data") is None and payload.get("errors"):
            _errors_by_alias(payload, reset, self.time_compression)  # raises on rate limits
            raise GitHubSignalsError(f"{what}: GraphQL refused the query: {payload['errors'][0].get('message')}")
        _errors_by_alias(payload, reset, self.time_compression)
        return payload

    def observe(
        self, repos: Sequence[tuple[str, str, str]], *, since: datetime, now: datetime
    ) -> list[RepoObservation]:
        """Observe ``(upstream_key, owner, name)`` repositories, ``batch_size`` per query."""
        out: list[RepoObservation] = []
        for start in range(0, len(repos), self.batch_size):
            out.extend(self._observe_batch(repos[start : start + self.batch_size], since=since, now=now))
        return out

    def _observe_batch(
        self, repos: Sequence[tuple[str, str, str]], *, since: datetime, now: datetime
    ) -> list[RepoObservation]:
        variables: dict[str, Any] = {"since": since.astimezone(UTC).isoformat().replace("+00:00", "Z")}
        for i, (_key, owner, name) in enumerate(repos):
            variables[f"o{i}"], variables[f"n{i}"] = owner, name
        payload = self._post(signals_query(len(repos)), variables, f"signals of {len(repos)} repositories")
        data = payload.get("data") or {}
        errors = _errors_by_alias(payload)
        nodes: dict[int, dict[str, Any]] = {}
        commits: dict[int, list[CommitAuthor]] = {}
        cursors: dict[int, str] = {}
        observations: dict[int, RepoObservation] = {}
        for i, (key, _owner, _name) in enumerate(repos):
            node = data.get(f"r{i}")
            if node is None:
                kinds = {e.get("type") for e in errors.get(f"r{i}", [])}
                if "NOT_FOUND" in kinds or not errors.get(f"r{i}"):
                    observations[i] = RepoObservation(key, found=False, observed_at=now, source=SOURCE)
                else:
                    log.warning("upstream %s: not observed: %s", key, errors[f"r{i}"][0].get("message"))
                continue
            nodes[i] = node
            history = _history_of(node)
            commits[i] = _commits(history)
            page = (history or {}).get("pageInfo") or {}
            if page.get("hasNextPage") and page.get("endCursor"):
                cursors[i] = str(page["endCursor"])
        complete = self._follow_history(repos, cursors, commits, variables["since"])
        for i, node in nodes.items():
            observations[i] = self._observation(
                repos[i][0], node, commits[i], complete.get(i, True), errors.get(f"r{i}", []), now
            )
        return [observations[i] for i in sorted(observations)]

    def _follow_history(
        self,
        repos: Sequence[tuple[str, str, str]],
        cursors: dict[int, str],
        commits: dict[int, list[CommitAuthor]],
        since: str,
    ) -> dict[int, bool]:
        """Read the remaining history pages, batching every repository that still has one."""
        complete: dict[int, bool] = {}
        while cursors:
            batch = list(cursors.items())[: self.batch_size]
            variables: dict[str, Any] = {"since": since}
            for j, (i, cursor) in enumerate(batch):
                variables[f"o{j}"], variables[f"n{j}"], variables[f"a{j}"] = repos[i][1], repos[i][2], cursor
            payload = self._post(history_query(len(batch)), variables, f"history of {len(batch)} repositories")
            self.counter.add("graphql_history_pages")
            data = payload.get("data") or {}
            for j, (i, _cursor) in enumerate(batch):
                history = _history_of(data.get(f"r{j}"))
                del cursors[i]
                if history is None:
                    complete[i] = False
                    continue
                commits[i].extend(_commits(history))
                page = history.get("pageInfo") or {}
                if page.get("hasNextPage") and page.get("endCursor"):
                    cursors[i] = str(page["endCursor"])
        return complete

    def _observation(
        self,
        key: str,
        node: dict[str, Any],
        commits: list[CommitAuthor],
        complete: bool,
        errors: list[dict[str, Any]],
        now: datetime,
    ) -> RepoObservation:
        owner = node.get("owner") or {}
        licence = node.get("licenseInfo")
        release = node.get("latestRelease") or {}
        target = (node.get("defaultBranchRef") or {}).get("target") or {}
        links = tuple(
            FundingChannel(
                str(link.get("platform", "custom")).lower(), str(link["url"]), str(link["url"]), "fundingLinks"
            )
            for link in node.get("fundingLinks") or []
            if link.get("url")
        )
        probe_failed = any("fundingJson" in [str(p) for p in e.get("path") or []] for e in errors)
        present: bool | None = None if probe_failed or "fundingJson" not in node else node["fundingJson"] is not None
        answered = f"{key.split('/', 1)[0]}/{node.get('nameWithOwner') or ''}".lower()
        observation = RepoObservation(
            upstream_key=key,
            renamed_to=answered if answered != key and answered.count("/") == 2 else None,
            found=True,
            observed_at=now,
            source=SOURCE,
            owner_type=owner.get("__typename"),
            has_sponsors_listing=owner.get("hasSponsorsListing"),
            archived=node.get("isArchived"),
            pushed_at=_parse_time(node.get("pushedAt")),
            last_commit_at=_parse_time(target.get("committedDate")),
            last_release_at=_parse_time(release.get("publishedAt")),
            licence_spdx=(licence or {}).get("spdxId") or ((licence or {}).get("key") if licence else None),
            licence_seen="licenseInfo" in node,
            funding_links=links,
            commits=tuple(commits),
            commits_complete=complete,
            funding_json_present=present,
            funding_yml_text=(node.get("fundingYml") or {}).get("text"),
            contribution_files=_contribution_files(node),
        )
        if self.fetch_funding_json and present is not False:
            owner_name = str(node.get("nameWithOwner") or "")
            if "/" in owner_name:
                text = self.funding_json(*owner_name.split("/", 1))
                observation = _with_funding_json(observation, text, f"{self.api_url}/repos/{owner_name}/contents")
        return observation

    # ------------------------------------------------------------------ REST

    def funding_json(self, owner: str, name: str) -> str | None:
        """The root ``funding.json`` text, revalidated with ``If-None-Match``; None when absent."""
        url = f"{self.api_url}/repos/{quote(owner)}/{quote(name)}/contents/funding.json"
        response = conditional_get(self.client, url, self.headers, self.cache, self.counter, "rest")
        if response is None:
            return None
        try:
            body = json.loads(response)
        except (json.JSONDecodeError, UnicodeDecodeError):
            return response.decode("utf-8", "replace")
        if isinstance(body, dict) and isinstance(body.get("content"), str):
            if body.get("encoding", "base64") == "base64":
                return base64.b64decode(body["content"]).decode("utf-8", "replace")
            return str(body["content"])
        return response.decode("utf-8", "replace")


def _contribution_files(node: dict[str, Any]) -> tuple[tuple[str, str | None], ...]:
    """The contribution guides' texts and whether a CLA.md exists ("" for it), or () when not asked."""
    if "contributing" not in node:
        return ()
    return (
        ("CONTRIBUTING.md", (node.get("contributing") or {}).get("text")),
        (".github/CONTRIBUTING.md", (node.get("githubContributing") or {}).get("text")),
        ("CLA.md", "" if node.get("claFile") else None),
    )


def _with_funding_json(observation: RepoObservation, text: str | None, source: str) -> RepoObservation:
    return replace(
        observation,
        funding_json_present=text is not None,
        funding_json_text=text,
        funding_json_source=source if text is not None else None,
    )


def conditional_get(
    client: httpx.Client,
    url: str,
    headers: dict[str, str],
    cache: ConditionalCache | None,
    counter: CallCounter,
    kind: str,
) -> bytes | None:
    """GET with the stored validators; a 304 reuses the stored body. None for 404 (and other misses)."""
    cached = cache.get(url) if cache else None
    request_headers = dict(headers)
    if cached and cached.etag:
        request_headers["If-None-Match"] = cached.etag
    if cached and cached.last_modified:
        request_headers["If-Modified-Since"] = cached.last_modified
    response = client.get(url, headers=request_headers)
    counter.add(kind)
    if response.status_code == 304 and cached is not None:
        counter.add(f"{kind}_not_modified")
        return cached.body if cached.status_code == 200 else None
    if response.status_code in (200, 404, 410) and cache is not None:
        etag = response.headers.get("etag")
        if etag or response.headers.get("last-modified"):
            cache.put(Cached(url, response.status_code, response.content, etag, response.headers.get("last-modified")))
    if response.status_code != 200:
        if response.status_code not in (404, 410):
            log.warning("%s: HTTP %s; not observed", url, response.status_code)
        return None
    return response.content


#: deps.dev v3alpha ``GetProjectBatch``; "Up to 5000 requests are allowed in a single batch."
PROJECT_BATCH_PATH = "/v3alpha/projectbatch"
MAX_PROJECT_BATCH = 5000


class DepsDevBatchError(Exception):
    """A ``GetProjectBatch`` answer upkeep cannot use; the message names the request and the status."""


@dataclass
class DepsDevProjects:
    """OpenSSF Scorecard and licence from deps.dev ``GetProject`` (``/v3/projects/{id}``).

    :meth:`prefetch` asks for many projects at once with v3alpha's ``GetProjectBatch``
    (``batch_size`` per request, 0: never), and :meth:`project` answers from what it learnt,
    found or not. v3alpha "may change in incompatible ways", so the first answer that is not a
    ``ProjectBatch`` turns batching off for the rest of the run (one warning) and every project
    not yet answered is asked with the conditional GET, as without batching.
    """

    client: httpx.Client
    base_url: str
    counter: CallCounter = field(default_factory=CallCounter)
    cache: ConditionalCache | None = None
    batch_size: int = MAX_PROJECT_BATCH
    _prefetched: dict[str, dict[str, Any] | None] = field(default_factory=dict, init=False, repr=False)
    _batching_off: bool = field(default=False, init=False, repr=False)

    def prefetch(self, upstream_keys: Iterable[str]) -> None:
        """Ask for ``upstream_keys`` in batches; keys a batch does not answer are left to :meth:`project`.

        Transient errors are retried by the client; a long rate limit raises
        :class:`bot.http.RateLimited`, as it does for every other request of the stage.
        """
        size = min(self.batch_size, MAX_PROJECT_BATCH)
        if size <= 0 or self._batching_off:
            return
        keys = [k for k in dict.fromkeys(upstream_keys) if k not in self._prefetched]
        for start in range(0, len(keys), size):
            try:
                self._fetch_batch(keys[start : start + size])
            except DepsDevBatchError as exc:
                self._batching_off = True
                log.warning("%s; batch lookups are off for this run, projects are asked one by one", exc)
                return

    def _fetch_batch(self, keys: list[str]) -> None:
        """One ``GetProjectBatch`` request, following ``nextPageToken``; each valid page is kept at once."""
        url = f"{self.base_url.rstrip('/')}{PROJECT_BATCH_PATH}"
        what = f"deps.dev POST {PROJECT_BATCH_PATH} ({len(keys)} projects)"
        first: dict[str, Any] = {"requests": [{"projectKey": {"id": key}} for key in keys]}
        asked = {key.lower(): key for key in keys}
        body, tokens = first, set[str]()
        for _page in range(len(keys) + 1):  # a page answers at least one request, or the server loops
            self.counter.add("depsdev")
            self.counter.add("depsdev_batches")
            try:
                response = self.client.post(url, json=body)
            except httpx.TransportError as exc:  # already retried by the client
                raise DepsDevBatchError(f"{what}: {type(exc).__name__}: {exc}") from exc
            if response.status_code != 200:
                raise DepsDevBatchError(f"{what}: HTTP {response.status_code}")
            answers, token = _project_batch(response, asked, what)
            self._prefetched.update(answers)
            if not token:
                return
            if token in tokens:
                raise DepsDevBatchError(f"{what}: HTTP 200 repeating its nextPageToken")
            tokens.add(token)
            body = {**first, "pageToken": token}  # "All other request fields must be the same"
        raise DepsDevBatchError(f"{what}: HTTP 200 with more pages than requests")

    def project(self, upstream_key: str) -> dict[str, Any] | None:
        """The project document, from a batch when one answered for it, else from a conditional GET."""
        if upstream_key in self._prefetched:
            return self._prefetched[upstream_key]
        url = f"{self.base_url.rstrip('/')}/v3/projects/{quote(upstream_key, safe='')}"
        body = conditional_get(self.client, url, {}, self.cache, self.counter, "depsdev")
        if body is None:
            return None
        try:
            data = json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError):
            return None
        return data if isinstance(data, dict) else None


def _project_batch(
    response: httpx.Response, asked: dict[str, str], what: str
) -> tuple[dict[str, dict[str, Any] | None], str]:
    """A ``ProjectBatch`` page (proto3 JSON) as {asked key: project or None} and its next page token.

    A project not found has no ``project`` (or ``null``, when unpopulated fields are emitted);
    anything else that is not the documented shape raises :class:`DepsDevBatchError`.
    """

    def wrong(detail: str) -> DepsDevBatchError:
        return DepsDevBatchError(f"{what}: HTTP 200 with an answer that is not a ProjectBatch ({detail})")

    try:
        payload = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise wrong("not JSON") from exc
    if not isinstance(payload, dict):
        raise wrong("not an object")
    token = payload.get("nextPageToken")
    token = "" if token is None else token  # proto3 JSON: absent, null and "" are all the default
    responses = payload.get("responses")
    responses = [] if responses is None else responses
    if not isinstance(token, str) or not isinstance(responses, list):
        raise wrong("nextPageToken or responses of the wrong type")
    answers: dict[str, dict[str, Any] | None] = {}
    for n, item in enumerate(responses):
        request = item.get("request") if isinstance(item, dict) else None
        project_key = request.get("projectKey") if isinstance(request, dict) else None
        project_id = project_key.get("id") if isinstance(project_key, dict) else None
        key = asked.get(project_id.lower()) if isinstance(project_id, str) else None
        if key is None:
            raise wrong(f"responses[{n}] answers no project that was asked: {str(project_id)[:100]!r}")
        project = item.get("project")
        if project is not None and not isinstance(project, dict):
            raise wrong(f"responses[{n}].project is not an object")
        answers[key] = project or None  # "If the project was not found, this field is empty."
    return answers, token
