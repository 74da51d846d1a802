"""deps.dev v3 as the fallback when a registry names no repository.

``GET {depsdev}/v3/systems/{system}/packages/{name}/versions/{version}`` → ``relatedProjects`` with
``relationType: SOURCE_REPO`` (preferring ones with provenance other than unverified metadata),
then ``links`` labelled ``SOURCE_REPO``. Without a version, the package's default version is used.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from bot.resolve.fetch import Fetcher
from bot.resolve.interface import PackageRef, Resolution
from bot.resolve.npm import npm_name
from bot.resolve.repo_url import Candidate, choose_repository

SYSTEMS = {
    "pypi": "pypi",
    "npm": "npm",
    "cargo": "cargo",
    "golang": "go",
    "maven": "maven",
    "gem": "rubygems",
    "nuget": "nuget",
}


def depsdev_name(package: PackageRef) -> str:
    if package.ecosystem == "maven":
        return f"{package.namespace}:{package.name}"
    if package.ecosystem == "npm":
        return npm_name(package)
    if package.ecosystem == "golang":
        return "/".join(p for p in (package.namespace, package.name) if p)
    return package.name


class DepsDevResolver:
    """Not a :class:`Resolver` of its own ecosystem: the stage asks it after a registry came up empty."""

    def __init__(self, base_url: str, forges: frozenset[str]) -> None:
        self.base_url = base_url.rstrip("/")
        self.forges = forges

    def covers(self, ecosystem: str | None) -> bool:
        return ecosystem in SYSTEMS

    async def default_version(self, system: str, name: str, client: Fetcher) -> str | None:
        result = await client.get(f"{self.base_url}/v3/systems/{system}/packages/{quote(name, safe='')}")
        if not result.ok:
            return None
        try:
            versions = result.json().get("versions") or []
        except (ValueError, AttributeError):
            return None
        keys = [v.get("versionKey", {}).get("version") for v in versions if isinstance(v, dict)]
        defaults = [
            v.get("versionKey", {}).get("version") for v in versions if isinstance(v, dict) and v.get("isDefault")
        ]
        chosen = [k for k in (defaults or keys[-1:]) if isinstance(k, str)]
        return chosen[0] if chosen else None

    async def resolve(self, package: PackageRef, client: Fetcher) -> Resolution | None:
        """The source repository deps.dev knows, or None (the registry's own reason then stands)."""
        system = SYSTEMS.get(package.ecosystem or "")
        if system is None:
            return None
        name = depsdev_name(package)
        version = package.version or await self.default_version(system, name, client)
        if not version:
            return None
        url = f"{self.base_url}/v3/systems/{system}/packages/{quote(name, safe='')}/versions/{quote(version, safe='')}"
        result = await client.get(url)
        if not result.ok:
            return None
        try:
            doc: Any = result.json()
        except ValueError:
            return None
        if not isinstance(doc, dict):
            return None
        projects = [
            p
            for p in doc.get("relatedProjects") or []
            if isinstance(p, dict) and p.get("relationType") == "SOURCE_REPO"
        ]
        projects.sort(key=lambda p: p.get("relationProvenance") == "UNVERIFIED_METADATA")
        candidates = [
            Candidate(
                f"depsdev:relatedProjects.{p.get('relationProvenance', 'UNKNOWN')}",
                f"https://{p.get('projectKey', {}).get('id', '')}",
                True,
            )
            for p in projects
        ]
        candidates += [
            Candidate("depsdev:links.SOURCE_REPO", link.get("url"), True)
            for link in doc.get("links") or []
            if isinstance(link, dict) and link.get("label") == "SOURCE_REPO"
        ]
        outcome = choose_repository(candidates, forges=self.forges)
        return outcome if isinstance(outcome, Resolution) else None
