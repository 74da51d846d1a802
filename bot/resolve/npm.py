"""npm: ``GET {npm}/{name}`` (scoped: ``@scope%2Fname``) → top-level ``repository`` with its ``directory``."""

from __future__ import annotations

from dataclasses import replace
from typing import Any
from urllib.parse import quote, unquote

from bot.resolve.fetch import Fetcher, json_at
from bot.resolve.interface import Outcome, PackageRef, Resolution, Unresolved
from bot.resolve.repo_url import Candidate, choose_repository
from bot.signals.registry import npm_signals


def npm_name(package: PackageRef) -> str:
    """``@scope/name`` from a purl's namespace (``%40scope`` or ``@scope``) and name."""
    name = unquote(package.name)
    if not package.namespace:
        return name
    scope = unquote(package.namespace)
    return f"{scope if scope.startswith('@') else '@' + scope}/{name}"


def _repository_fields(value: Any) -> tuple[str | None, str | None]:
    """``(url, directory)`` from the string, object or (legacy) list forms of ``repository``."""
    if isinstance(value, list) and value:
        value = value[0]
    if isinstance(value, str):
        return value, None
    if isinstance(value, dict):
        url, directory = value.get("url"), value.get("directory")
        return (url if isinstance(url, str) else None), (directory if isinstance(directory, str) else None)
    return None, None


class NpmResolver:
    ecosystem = "npm"

    def __init__(self, base_url: str, forges: frozenset[str]) -> None:
        self.base_url = base_url.rstrip("/")
        self.forges = forges

    async def resolve(self, package: PackageRef, client: Fetcher) -> Outcome:
        result = await client.get(f"{self.base_url}/{quote(npm_name(package), safe='@')}")
        doc = json_at(result)
        client.note_signals(result.url, "npm", None if isinstance(doc, Unresolved) else npm_signals(doc))
        if isinstance(doc, Unresolved):
            return doc
        provenance = "npm:repository"
        url, directory = _repository_fields(doc.get("repository"))
        if not url:  # old packuments carry it only per version
            latest = (doc.get("dist-tags") or {}).get("latest")
            version_doc = (doc.get("versions") or {}).get(latest) if isinstance(latest, str) else None
            if isinstance(version_doc, dict):
                url, directory = _repository_fields(version_doc.get("repository"))
                provenance = f"npm:versions[{latest}].repository"
        bugs = doc.get("bugs")
        outcome = choose_repository(
            [
                Candidate(provenance, url, declared=True, shorthand=True),
                Candidate("npm:homepage", doc.get("homepage") if isinstance(doc.get("homepage"), str) else None, False),
                Candidate("npm:bugs", bugs.get("url") if isinstance(bugs, dict) else None, False),
            ],
            forges=self.forges,
        )
        if isinstance(outcome, Resolution) and directory and outcome.provenance == provenance:
            outcome = replace(outcome, subdirectory=directory.strip("/") or None)
        return outcome
