"""GitHub clients for the evidence stages: PyGithub for REST, httpx for GraphQL and the SBOM flow.

Authentication is a token (``GITHUB_TOKEN``) or a GitHub App (``github.app_id`` plus
``GITHUB_APP_PRIVATE_KEY``, one installation per organisation). Base URLs come from the settings,
so GitHub Enterprise Server, the sandbox and github.com share one code path. Secrets never leave
this module except inside an ``Authorization`` header.

:class:`GraphQLClient` posts queries and turns GitHub's ways of failing into one vocabulary:
HTTP 200 with ``errors`` of type ``RATE_LIMITED`` (and 403/429 from the retrying transport)
become :class:`bot.http.RateLimited`; ``NOT_FOUND`` errors are data, returned per alias; anything
else raises :class:`GitHubQueryError` naming the query.

Every client built here notes the rate-limit budget each answer states (``x-ratelimit-*``) into
:data:`bot.store.rate_limits.BUDGETS`, for ``upkeep status``. The note is taken in a transport
under the retrying one, so it also sees the exhausted-budget answer that the retry layer turns
into :class:`~bot.http.RateLimited` (a client ``response`` event hook never sees that one).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import httpx

from bot.config import Secrets, Settings
from bot.http import (
    RateLimited,
    RetryPolicy,
    TokenBucket,
    bucket_for,
    compressed_policy,
    compressed_wait,
    is_rate_limited,
    make_client,
)
from bot.store.rate_limits import BUDGETS, Budget, BudgetLog

log = logging.getLogger(__name__)

#: The service name budgets of the configured GitHub API are stored under (``github/core``, ...).
GITHUB_SERVICE = "github"

if TYPE_CHECKING:
    from github import Auth, Github


class GitHubAuthError(Exception):
    """No usable GitHub credentials; the message names the setting or variable to set."""


class GitHubQueryError(Exception):
    """A GraphQL answer that is neither data nor an expected miss; the message names the query."""


def github_policy(settings: Settings) -> RetryPolicy:
    """Waits up to ``github.rate_limit_wait_max_seconds`` are slept through; longer ones raise RateLimited.

    A limit answer without a time waits a minute and then doubles (GitHub's rule); all of it is
    compressed by ``github.time_compression`` when the service's clock runs faster (the sandbox).
    """
    policy = RetryPolicy(max_wait_seconds=float(settings.github.rate_limit_wait_max_seconds))
    return compressed_policy(policy, settings.github.time_compression)


def github_bucket(settings: Settings, credential: str) -> TokenBucket:
    """The process's token bucket for one GitHub credential (a token, or ``app:ORG`` for an installation)."""
    return bucket_for(
        settings.github.api_url,
        credential,
        settings.github.requests_per_hour,
        time_compression=settings.github.time_compression,
    )


def _app_auth(settings: Settings, secrets: Secrets) -> Auth.AppAuth:
    from github import Auth  # PyGithub loads only for App auth and the issue sink, not with every command

    if secrets.github_app_private_key is None:
        raise GitHubAuthError("github.app_id is set but GITHUB_APP_PRIVATE_KEY is not in the environment")
    assert settings.github.app_id is not None
    return Auth.AppAuth(settings.github.app_id, secrets.github_app_private_key.get_secret_value())


#: What every reading stage's installation token may do: read, nothing else.
READ_ONLY = {"contents": "read", "metadata": "read", "members": "read"}
#: The App permission ``GET /orgs/{org}/properties/values`` needs (weights and teams, ``[usage]``).
CUSTOM_PROPERTIES = "organization_custom_properties"
#: What the issue sink's token may do, and only on the OSPO repository.
ISSUES_WRITE = {"issues": "write", "metadata": "read"}


def installation_auth(
    settings: Settings,
    secrets: Secrets,
    org: str,
    *,
    permissions: Mapping[str, str] = READ_ONLY,
    repositories: Sequence[str] | None = None,
) -> Auth.AppInstallationAuth:
    """The App's installation on ``org``, its tokens narrowed to ``permissions`` (read-only unless told)
    and, given ``repositories`` (names in ``org``), to those repositories. PyGithub refreshes the token
    shortly before it expires, asking for the same narrow grant each time.

    It is handed the integration's requester, so its ``token`` can be read on its own (the httpx
    clients do); without one, PyGithub can mint the token only once a ``Github`` client adopts it.
    """
    from github import GithubIntegration

    app_auth = _app_auth(settings, secrets)
    integration = GithubIntegration(auth=app_auth, base_url=settings.github.api_url.rstrip("/"))
    installation = integration.get_org_installation(org)
    asked = dict(permissions)
    if permissions is READ_ONLY:
        # custom property values (weights and teams): asked for only when the App was granted them, since
        # asking for a permission the App lacks fails the token request (422) for every stage
        granted = (installation.raw_data or {}).get("permissions") or {}
        if granted.get(CUSTOM_PROPERTIES) in ("read", "write", "admin"):
            asked[CUSTOM_PROPERTIES] = "read"
    auth: Auth.AppInstallationAuth = _narrow_auth_class()(
        app_auth, installation.id, asked, repositories, requester=integration.requester
    )
    return auth


def _narrow_auth_class() -> Any:
    """PyGithub's installation auth, asking for ``repositories`` too (PyGithub sends permissions only)."""
    from github.Auth import AppAuth, AppInstallationAuth
    from github.InstallationAuthorization import InstallationAuthorization
    from github.Requester import Requester

    class NarrowInstallationAuth(AppInstallationAuth):
        def __init__(
            self,
            app_auth: AppAuth,
            installation_id: int,
            permissions: dict[str, str],
            repositories: Sequence[str] | None,
            requester: Requester | None = None,
        ) -> None:
            self._repositories = list(repositories) if repositories is not None else None
            super().__init__(app_auth, installation_id, permissions, requester)

        def _get_installation_authorization(self) -> InstallationAuthorization:
            body: dict[str, Any] = {"permissions": self.token_permissions or {}}
            if self._repositories is not None:
                body["repositories"] = self._repositories
            headers, answer = self.requester.requestJsonAndCheck(
                "POST", f"/app/installations/{self.installation_id}/access_tokens", input=body
            )
            return InstallationAuthorization(requester=self.requester, headers=headers, attributes=answer)

    return NarrowInstallationAuth


NO_CREDENTIALS = "no GitHub credentials: set GITHUB_TOKEN, or github.app_id and GITHUB_APP_PRIVATE_KEY"


def uses_app(settings: Settings, secrets: Secrets) -> bool:
    """Whether upkeep authenticates as a GitHub App (it then does, even when GITHUB_TOKEN is set too)."""
    return settings.github.app_id is not None and secrets.github_app_private_key is not None


def _org_of(settings: Settings, org: str | None) -> str:
    return org or (settings.github.orgs[0] if settings.github.orgs else settings.organisation)


def token_source(settings: Settings, secrets: Secrets, org: str | None = None) -> str | Callable[[], str] | None:
    """What to authenticate with: the App's installation on ``org`` (or the first organisation), as a
    callable because PyGithub renews its token before the hour is up; else ``GITHUB_TOKEN``; else None."""
    if uses_app(settings, secrets):
        auth = installation_auth(settings, secrets, _org_of(settings, org))
        return lambda: str(auth.token)
    return secrets.github_token.get_secret_value() if secrets.github_token is not None else None


def token_for(settings: Settings, secrets: Secrets, org: str | None = None) -> str:
    """A bearer token now, from :func:`token_source`; :class:`GitHubAuthError` without credentials."""
    source = token_source(settings, secrets, org)
    if source is None:
        raise GitHubAuthError(NO_CREDENTIALS)
    return source() if callable(source) else source


def github_auth(
    settings: Settings, secrets: Secrets, org: str | None = None, *, write_issues_in: str | None = None
) -> Auth.Auth | None:
    """PyGithub's auth: the App's installation on ``org`` (or the first organisation), else the token, else None.

    An installation token is read-only, unless ``write_issues_in`` names the one repository
    (``OWNER/NAME``) whose issues it may write: then it may do only that."""
    from github import Auth

    if uses_app(settings, secrets):
        if write_issues_in is not None:
            owner, name = write_issues_in.split("/", 1)
            return installation_auth(settings, secrets, owner, permissions=ISSUES_WRITE, repositories=[name])
        return installation_auth(settings, secrets, _org_of(settings, org))
    return Auth.Token(secrets.github_token.get_secret_value()) if secrets.github_token is not None else None


def make_github(settings: Settings, secrets: Secrets, org: str | None = None) -> Github:
    """A PyGithub client on ``github.api_url`` with token or App-installation auth."""
    from github import Github

    auth = github_auth(settings, secrets, org)
    if auth is None:
        raise GitHubAuthError(NO_CREDENTIALS)
    return Github(auth=auth, base_url=settings.github.api_url, per_page=100)


def make_api_client(
    settings: Settings,
    token: str,
    *,
    transport: httpx.BaseTransport | None = None,
    timeout: float = 30.0,
    budgets: BudgetLog = BUDGETS,
    credential: str | None = None,
    service: str = GITHUB_SERVICE,
) -> httpx.Client:
    """An httpx client for GitHub REST and GraphQL, carrying the token (never for download hosts).

    Its requests are paced by the credential's shared bucket (``credential``: whose budget they
    spend, the token by default); the budgets its answers state are recorded under ``service``."""
    return make_client(
        token=token,
        timeout=timeout,
        policy=github_policy(settings),
        transport=BudgetWatch(transport, service_of=lambda _url: service, budgets=budgets),
        headers={"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"},
        bucket=github_bucket(settings, credential or token or "anonymous"),
    )


class InstallationTokenAuth(httpx.Auth):
    """Bearer auth from a PyGithub ``AppInstallationAuth``, read per request (PyGithub renews it before expiry)."""

    def __init__(self, source: Any) -> None:
        self.source = source

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self.source.token}"
        yield request


def api_client_for(
    settings: Settings, secrets: Secrets, org: str, *, transport: httpx.BaseTransport | None = None
) -> httpx.Client:
    """A REST/GraphQL client for ``org``: the App's installation on it when an App is configured, else the token.

    Each installation has budgets of its own (GitHub counts REST requests and GraphQL points per
    installation), so an installation's are recorded as the service ``github:ORG``, a token's as ``github``."""
    if uses_app(settings, secrets):
        client = make_api_client(
            settings, "", transport=transport, credential=f"app:{org}", service=f"{GITHUB_SERVICE}:{org}"
        )
        client.auth = InstallationTokenAuth(installation_auth(settings, secrets, org))
        return client
    return make_api_client(settings, token_for(settings, secrets), transport=transport)


def make_download_client(
    settings: Settings,
    *,
    transport: httpx.BaseTransport | None = None,
    timeout: float = 60.0,
    budgets: BudgetLog = BUDGETS,
) -> httpx.Client:
    """An httpx client for temporary download URLs: no ``Authorization`` header, ever."""
    watched = BudgetWatch(transport, service_of=host_of, budgets=budgets)
    return make_client(timeout=timeout, policy=github_policy(settings), transport=watched)


# --------------------------------------------------------------------------- rate-limit budgets


def host_of(url: httpx.URL) -> str:
    """The service name of a host other than the GitHub API: its host name (never user info, path or query)."""
    return url.host or "unknown"


def github_service_of(settings: Settings) -> Callable[[httpx.URL], str]:
    """``github`` for the configured REST and GraphQL URLs, the host name for anything else."""
    targets = [httpx.URL(u) for u in (settings.github.api_url, settings.github.graphql_url)]

    def service_of(url: httpx.URL) -> str:
        for target in targets:
            same_origin = (url.scheme, url.host, url.port) == (target.scheme, target.host, target.port)
            if same_origin and url.path.startswith(target.path.rstrip("/")):
                return GITHUB_SERVICE
        return host_of(url)

    return service_of


def _int(value: str | None) -> int | None:
    try:
        return int(float(value)) if value is not None else None  # GitHub has sent floats (PyGithub #2697)
    except (ValueError, OverflowError):
        return None


def read_budget(
    headers: Mapping[str, str], *, service: str, observed_at: datetime, default_resource: str = "core"
) -> Budget | None:
    """The budget an answer's ``x-ratelimit-*`` headers state; None when they state none (most registries)."""
    limit, remaining = _int(headers.get("x-ratelimit-limit")), _int(headers.get("x-ratelimit-remaining"))
    if limit is None or remaining is None:
        return None
    reset = _int(headers.get("x-ratelimit-reset"))
    if reset is not None and reset > 10**11:  # milliseconds (recorded fixtures normalise it so), not seconds
        reset //= 1000
    resource = (headers.get("x-ratelimit-resource") or "").strip().lower() or default_resource
    return Budget(
        service=service,
        resource=resource,
        limit=limit,
        remaining=remaining,
        used=_int(headers.get("x-ratelimit-used")),
        reset_at=datetime.fromtimestamp(reset, tz=UTC) if reset is not None else None,
        observed_at=observed_at,
    )


class BudgetWatch(httpx.BaseTransport):
    """Notes the budget of every answer (each retry attempt too) into a :class:`BudgetLog`, then passes it on."""

    def __init__(
        self,
        inner: httpx.BaseTransport | None,
        *,
        service_of: Callable[[httpx.URL], str],
        budgets: BudgetLog = BUDGETS,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.inner = inner or httpx.HTTPTransport()
        self.service_of = service_of
        self.budgets = budgets
        self.clock = clock

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        budget = read_budget(response.headers, service=self.service_of(request.url), observed_at=self.clock())
        if budget is not None:
            self.budgets.note(budget)
        return response

    def close(self) -> None:
        self.inner.close()


def watch_budgets(
    client: httpx.Client, service_of: Callable[[httpx.URL], str], *, budgets: BudgetLog = BUDGETS
) -> httpx.Client:
    """Note budgets from a client built elsewhere, through a ``response`` event hook.

    The hook misses the answer the retry layer turns into RateLimited; clients built here use
    :class:`BudgetWatch` instead.
    """

    def hook(response: httpx.Response) -> None:
        budget = read_budget(response.headers, service=service_of(response.request.url), observed_at=datetime.now(UTC))
        if budget is not None:
            budgets.note(budget)

    client.event_hooks["response"].append(hook)
    return client


def watch_async_budgets(
    client: httpx.AsyncClient, service_of: Callable[[httpx.URL], str] = host_of, *, budgets: BudgetLog = BUDGETS
) -> httpx.AsyncClient:
    """:func:`watch_budgets` for an async client (the resolve stage's registries, which rarely send a budget)."""

    async def hook(response: httpx.Response) -> None:
        budget = read_budget(response.headers, service=service_of(response.request.url), observed_at=datetime.now(UTC))
        if budget is not None:
            budgets.note(budget)

    client.event_hooks["response"].append(hook)
    return client


@dataclass
class GraphQLResult:
    """One answer: the data, and the NOT_FOUND misses by their top-level alias."""

    data: dict[str, Any]
    missing: dict[str, str] = field(default_factory=dict)


@dataclass
class GraphQLClient:
    """Posts queries to ``url`` and counts them by purpose (for summaries and the benchmark), with
    the points GitHub charged for them where a query asks for its ``rateLimit { cost }``."""

    client: httpx.Client
    url: str
    calls: dict[str, int] = field(default_factory=dict)
    time_compression: float = 1.0  # the service's clock factor: a header-less limit's wait shrinks by it
    points: dict[str, int] = field(default_factory=dict)
    _count_lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False, compare=False)

    def query(self, query: str, variables: dict[str, Any], *, purpose: str) -> GraphQLResult:
        with self._count_lock:
            self.calls[purpose] = self.calls.get(purpose, 0) + 1
        response = self.client.post(self.url, json={"query": query, "variables": variables})
        if response.status_code in (401, 403, 404, 429) or response.status_code >= 500:
            if is_rate_limited(response) or "rate limit" in response.text.lower():
                raise RateLimited(self.url, _reset_at(response, self.time_compression))
            raise GitHubQueryError(f"{purpose}: GraphQL answered HTTP {response.status_code}: {response.text[:200]}")
        try:
            payload = response.json()
        except ValueError as exc:
            raise GitHubQueryError(f"{purpose}: GraphQL answered non-JSON: {response.text[:200]}") from exc
        errors = payload.get("errors") or []
        missing: dict[str, str] = {}
        for error in errors:
            kind = error.get("type") or (error.get("extensions") or {}).get("type")
            path = error.get("path") or []
            if kind == "RATE_LIMITED":
                raise RateLimited(self.url, _reset_at(response, self.time_compression))
            if kind == "NOT_FOUND" and path:
                missing[str(path[0])] = str(error.get("message", "not found"))
                continue
            raise GitHubQueryError(f"{purpose}: {error.get('message', error)}")
        data = payload.get("data")
        if not isinstance(data, dict):
            raise GitHubQueryError(f"{purpose}: GraphQL answered without data")
        cost = (data.get("rateLimit") or {}).get("cost")
        if isinstance(cost, int):
            with self._count_lock:
                self.points[purpose] = self.points.get(purpose, 0) + cost
        return GraphQLResult(data, missing)


def _reset_at(response: httpx.Response, time_compression: float = 1.0) -> datetime:
    """When a limit answer says the budget returns; without a time, GitHub's minute on the service's clock."""
    header = response.headers.get("x-ratelimit-reset")
    if header and header.isdigit():
        return datetime.fromtimestamp(int(header), tz=UTC)
    seconds = _seconds(response.headers.get("retry-after"))
    if seconds is None:
        seconds = compressed_wait(60.0, time_compression)
    return datetime.now(UTC) + timedelta(seconds=seconds)


def _seconds(value: str | None) -> float | None:
    """A ``retry-after`` in seconds (the compressed sandbox states fractions), or None."""
    try:
        seconds = float(value) if value else None
    except ValueError:
        return None
    return seconds if seconds is not None and seconds >= 0 and seconds != float("inf") else None
