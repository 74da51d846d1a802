"""Purls that name their repository themselves: no registry is asked.

* ``pkg:gitlab/group/name`` and ``pkg:bitbucket/owner/name``: the purl type is the forge
  (``pkg:github`` and ``pkg:githubactions`` live in :mod:`bot.resolve.actions`).
* ``pkg:swift/github.com/apple/swift-nio``: Swift packages are named by their repository URL.
* any purl with a ``vcs_url`` qualifier (``?vcs_url=git%2Bhttps://github.com/o/n.git``): the producer
  of the SBOM says where the source is; read before the registry, as the most direct evidence.
"""

from __future__ import annotations

from urllib.parse import unquote

from packageurl import PackageURL

from bot.resolve.fetch import Fetcher
from bot.resolve.interface import NESTED_GROUP, NOT_A_REPOSITORY, Outcome, PackageRef, Resolution, Unresolved
from bot.resolve.repo_url import RepoRef, parse_repo_url


class ForgePurlResolver:
    """``pkg:<forge>/owner/name``: the repository at ``host`` the purl names."""

    def __init__(self, ecosystem: str, host: str) -> None:
        self.ecosystem = ecosystem
        self.host = host

    async def resolve(self, package: PackageRef, client: Fetcher) -> Outcome:
        segments = [unquote(s) for s in (package.namespace or "").split("/") + package.name.split("/") if s]
        if len(segments) < 2:
            return Unresolved(f"{NOT_A_REPOSITORY}: pkg:{package.package_key} names no owner")
        if len(segments) > 2 and self.ecosystem == "gitlab":
            return Unresolved(f"{NESTED_GROUP}: pkg:{package.package_key}")
        url = f"https://{self.host}/{'/'.join(segments[:2])}"
        return _resolution(url, f"{self.ecosystem}:purl", frozenset({self.host}))


class SwiftResolver:
    """``pkg:swift/<host>/<owner>/<name>``: the namespace is the repository's host and owner."""

    ecosystem = "swift"

    def __init__(self, forges: frozenset[str]) -> None:
        self.forges = forges

    async def resolve(self, package: PackageRef, client: Fetcher) -> Outcome:
        namespace = unquote(package.namespace or "")
        if namespace.count("/") < 1:
            return Unresolved(f"{NOT_A_REPOSITORY}: pkg:{package.package_key} names no host and owner")
        return _resolution(f"https://{namespace}/{unquote(package.name)}", "swift:purl", self.forges)


def _resolution(url: str, provenance: str, forges: frozenset[str]) -> Outcome:
    outcome = parse_repo_url(url, forges=forges)
    if isinstance(outcome, RepoRef):
        return Resolution(outcome.upstream, url, provenance, outcome.subdirectory)
    return outcome


def forge_purl_resolvers(forges: frozenset[str]) -> list[ForgePurlResolver | SwiftResolver]:
    return [
        ForgePurlResolver("gitlab", "gitlab.com"),
        ForgePurlResolver("bitbucket", "bitbucket.org"),
        SwiftResolver(forges),
    ]


def vcs_url_of(package: PackageRef, forges: frozenset[str]) -> Resolution | None:
    """The repository a purl's ``vcs_url`` qualifier names, when it is a forge repository."""
    if not package.purl or "vcs_url=" not in package.purl:
        return None
    try:
        qualifiers = PackageURL.from_string(package.purl).qualifiers
    except ValueError:
        return None
    url = qualifiers.get("vcs_url") if isinstance(qualifiers, dict) else None
    if not url:
        return None
    head, at, revision = url.rpartition("@")
    location = head if at and "/" not in revision else url  # SPDX VCS form: <url>@<revision>
    outcome = parse_repo_url(location, forges=forges)
    if not isinstance(outcome, RepoRef):
        return None
    return Resolution(outcome.upstream, url, "purl:vcs_url", outcome.subdirectory)
