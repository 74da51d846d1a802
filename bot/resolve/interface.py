"""The resolve port: one protocol every ecosystem resolver implements, its records and its errors.

A resolver maps one package (``pypi/requests``) to the upstream that makes it, identified by its
canonical source repository. A package that cannot be mapped is data (:class:`Unresolved`), never
an exception; only a registry that stays down raises :class:`RegistryUnavailable`, which the stage
turns into "retry next run".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from bot.records import UpstreamKey

if TYPE_CHECKING:
    from bot.resolve.fetch import Fetcher

# Reasons shared by several resolvers; the summary groups unresolved packages by the text before ":".
NO_REPOSITORY = "no repository in metadata"
REGISTRY_404 = "registry 404"
NOT_A_FORGE = "not a forge URL"
NOT_A_REPOSITORY = "not a repository URL"
NESTED_GROUP = "nested GitLab group not supported"
NO_PURL_NO_ECOSYSTEM = "no purl and no ecosystem"
NO_RESOLVER = "no resolver for ecosystem"
REGISTRY_UNAVAILABLE = "registry unavailable"
BAD_DOCUMENT = "registry document unreadable"
RATE_LIMITED = "rate limited"  # "rate limited: crates until 2026-…": the stage pauses, the package stays retry


@dataclass(frozen=True, slots=True)
class PackageRef:
    """One package to resolve, taken from a representative component of ``package_key``."""

    package_key: str
    ecosystem: str | None
    namespace: str | None
    name: str
    version: str | None = None
    purl: str | None = None


@dataclass(frozen=True, slots=True)
class Resolution:
    """A package mapped to its upstream, with the evidence that decided it."""

    upstream: UpstreamKey
    source_url: str | None
    provenance: str  # e.g. "pypi:project_urls.Source", "npm:repository", "override", "depsdev:relatedProjects"
    subdirectory: str | None = None
    is_override: bool = False


@dataclass(frozen=True, slots=True)
class Unresolved:
    """A package that could not be mapped, and why (``registry 404``, ``not a forge URL: …``)."""

    reason: str
    source_url: str | None = None
    retry: bool = False  # the registry was down: try again next run instead of waiting for the TTL

    @property
    def category(self) -> str:
        """The reason without its detail, for counting (``not a forge URL: x`` → ``not a forge URL``)."""
        return self.reason.split(":", 1)[0].strip()

    @property
    def fallback_allowed(self) -> bool:
        """Whether deps.dev may be asked instead: the registry gave nothing usable, a 404 and an
        unreadable document included. Only a rule that needs no registry (an unparseable purl, no
        ecosystem, no resolver) has nothing deps.dev could add."""
        return self.category not in {NO_PURL_NO_ECOSYSTEM, NO_RESOLVER, RATE_LIMITED}


Outcome = Resolution | Unresolved


class ResolveError(Exception):
    """Base error of the resolve stage."""


class RegistryUnavailable(ResolveError):
    """A registry kept failing (5xx, timeouts, long rate limits) after the retries; retry next run."""

    def __init__(self, url: str, detail: str) -> None:
        super().__init__(f"{url}: {detail}")
        self.url = url
        self.detail = detail


class RegistryRateLimited(RegistryUnavailable):
    """A registry said its limit was hit and when to come back: the stage pauses until ``reset_at``."""

    def __init__(self, url: str, registry: str, reset_at: datetime) -> None:
        super().__init__(url, f"{RATE_LIMITED}: {registry} until {reset_at.isoformat()}")
        self.registry = registry
        self.reset_at = reset_at


class Resolver(Protocol):
    """Maps packages of one ecosystem (purl type) to their upstream."""

    ecosystem: str

    async def resolve(self, package: PackageRef, client: Fetcher) -> Outcome:
        """Return a :class:`Resolution` or an :class:`Unresolved`; raise only :class:`RegistryUnavailable`."""
        ...
