"""NuGet: the nuspec from the flat container → ``<repository url>``, then a forge ``<projectUrl>``.

``GET {nuget}/v3-flatcontainer/{id}/{version}/{id}.nuspec`` with the lower-cased id and version;
without a version, ``{id}/index.json`` lists them and the newest stable one is taken. When no nuspec
is served (404, or no version listed), the registration index is the secondary document:
``GET {nuget}/v3/registration5-semver1/{id}/index.json`` → the catalog entry's ``projectUrl``
(the asked version's, else the newest listed); pages not inlined are fetched by their ``@id``.
"""

from __future__ import annotations

from typing import Any

from defusedxml import ElementTree
from defusedxml.common import DefusedXmlException

from bot.resolve.fetch import Fetcher, unresolved_for
from bot.resolve.interface import BAD_DOCUMENT, REGISTRY_404, Outcome, PackageRef, Resolution, Unresolved
from bot.resolve.maven import xml_child, xml_text
from bot.resolve.repo_url import Candidate, choose_repository


class NuGetResolver:
    ecosystem = "nuget"

    def __init__(self, base_url: str, forges: frozenset[str]) -> None:
        self.base_url = base_url.rstrip("/")
        self.forges = forges

    async def latest_version(self, package_id: str, client: Fetcher) -> str | Unresolved:
        result = await client.get(f"{self.base_url}/v3-flatcontainer/{package_id}/index.json")
        if not result.ok:
            return unresolved_for(result)
        try:
            versions = [v for v in result.json()["versions"] if isinstance(v, str)]
        except (ValueError, KeyError, TypeError) as exc:
            return Unresolved(f"{BAD_DOCUMENT}: {exc}", source_url=result.url)
        stable = [v for v in versions if "-" not in v]
        chosen = (stable or versions)[-1:]
        return chosen[0] if chosen else Unresolved(f"{REGISTRY_404}: no version of {package_id}", source_url=result.url)

    async def resolve(self, package: PackageRef, client: Fetcher) -> Outcome:
        package_id = package.name.lower()
        version = package.version.lower() if package.version else await self.latest_version(package_id, client)
        if isinstance(version, Unresolved):
            return await self.from_registration(package_id, None, client, version)
        result = await client.get(f"{self.base_url}/v3-flatcontainer/{package_id}/{version}/{package_id}.nuspec")
        if not result.ok:
            return await self.from_registration(package_id, version, client, unresolved_for(result))
        try:
            root = ElementTree.fromstring(result.body)
        except (ElementTree.ParseError, DefusedXmlException) as exc:
            return Unresolved(f"{BAD_DOCUMENT}: {result.url}: {exc}", source_url=result.url)
        metadata = xml_child(root, "metadata")
        repository = xml_child(metadata, "repository")
        return choose_repository(
            [
                Candidate("nuget:repository", repository.get("url") if repository is not None else None, True),
                Candidate("nuget:projectUrl", xml_text(metadata, "projectUrl"), False),
            ],
            forges=self.forges,
        )

    async def from_registration(
        self, package_id: str, version: str | None, client: Fetcher, first: Unresolved
    ) -> Outcome:
        """The registration's ``projectUrl`` when no nuspec was served; ``first`` (the nuspec's reason) otherwise."""
        result = await client.get(f"{self.base_url}/v3/registration5-semver1/{package_id}/index.json")
        if not result.ok:
            return first
        try:
            pages = [p for p in result.json().get("items") or [] if isinstance(p, dict)]
        except (ValueError, AttributeError) as exc:
            return Unresolved(f"{BAD_DOCUMENT}: {exc}", source_url=result.url)
        entries: list[dict[str, Any]] = []
        for page in pages:
            items = page.get("items")
            if items is None and isinstance(page.get("@id"), str):  # a page not inlined
                fetched = await client.get(page["@id"])
                items = (fetched.json() or {}).get("items") if fetched.ok else None
            entries += [
                i["catalogEntry"]
                for i in items or []
                if isinstance(i, dict) and isinstance(i.get("catalogEntry"), dict)
            ]
        if not entries:
            return first
        chosen = [e for e in entries if version is not None and str(e.get("version", "")).lower() == version]
        entry = (chosen or entries)[-1]
        outcome = choose_repository(
            [Candidate("nuget:registration.projectUrl", entry.get("projectUrl"), False)], forges=self.forges
        )
        return outcome if isinstance(outcome, Resolution) else first
