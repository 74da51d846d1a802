"""GitHub Actions and GitHub purls name their repository directly; no request is made.

``pkg:githubactions/owner/repo[/path]`` (what GitHub's dependency graph emits) and
``pkg:github/owner/repo``; a path below the repository is kept as the sub-directory.
"""

from __future__ import annotations

from urllib.parse import unquote

from bot.records import UpstreamKey
from bot.resolve.fetch import Fetcher
from bot.resolve.interface import NOT_A_REPOSITORY, Outcome, PackageRef, Resolution, Unresolved


class GitHubActionsResolver:
    ecosystem = "githubactions"

    def __init__(self, ecosystem: str = "githubactions") -> None:
        self.ecosystem = ecosystem

    async def resolve(self, package: PackageRef, client: Fetcher) -> Outcome:
        segments = [unquote(s) for s in (package.namespace or "").split("/") + package.name.split("/") if s]
        if len(segments) < 2:
            return Unresolved(f"{NOT_A_REPOSITORY}: pkg:{package.package_key} names no owner")
        owner, name = segments[0].lower(), segments[1].lower().removesuffix(".git")
        subdirectory = "/".join(segments[2:]) or None
        return Resolution(
            UpstreamKey("github.com", owner, name),
            f"https://github.com/{owner}/{name}",
            f"{self.ecosystem}:purl",
            subdirectory,
        )
