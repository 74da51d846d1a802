"""Packagist: ``GET {packagist}/p2/{vendor}/{name}.json`` → ``source.url``, ``support.source``, then a forge
``homepage`` or ``support.issues``.

Read-only subtree splits (``symfony/polyfill-mbstring`` of ``symfony/polyfill``) declare the split as
their source, but name the monorepo in ``extra.thanks`` (the symfony/thanks convention). Work and
money go to the monorepo, so it wins when it is a repository of the same owner on the same forge;
any other ``thanks`` target is ignored, and an override can still say otherwise.
"""

from __future__ import annotations

from typing import Any

from bot.resolve.fetch import Fetcher, json_at
from bot.resolve.interface import Outcome, PackageRef, Resolution, Unresolved
from bot.resolve.repo_url import Candidate, RepoRef, choose_repository, parse_repo_url


def _field(entries: list[Any], *path: str) -> str | None:
    """The first value at ``path`` among the (minified, newest first) version entries."""
    for entry in entries:
        value: Any = entry
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        if isinstance(value, str) and value.strip():
            return value
    return None


class PackagistResolver:
    ecosystem = "composer"

    def __init__(self, base_url: str, forges: frozenset[str]) -> None:
        self.base_url = base_url.rstrip("/")
        self.forges = forges

    async def resolve(self, package: PackageRef, client: Fetcher) -> Outcome:
        full_name = f"{package.namespace}/{package.name}".lower() if package.namespace else package.name.lower()
        result = await client.get(f"{self.base_url}/p2/{full_name}.json")
        entries = json_at(result, "packages", full_name, expect=list)
        if isinstance(entries, Unresolved):
            return entries
        outcome = choose_repository(
            [
                Candidate("packagist:source.url", _field(entries, "source", "url"), True),
                Candidate("packagist:support.source", _field(entries, "support", "source"), True),
                Candidate("packagist:homepage", _field(entries, "homepage"), False),
                Candidate("packagist:support.issues", _field(entries, "support", "issues"), False),
            ],
            forges=self.forges,
        )
        if isinstance(outcome, Resolution):
            return self._monorepo_of_split(outcome, _field(entries, "extra", "thanks", "url")) or outcome
        return outcome

    def _monorepo_of_split(self, declared: Resolution, thanks_url: str | None) -> Resolution | None:
        thanks = parse_repo_url(thanks_url, forges=self.forges) if thanks_url else None
        if not isinstance(thanks, RepoRef) or thanks.upstream == declared.upstream:
            return None
        same_owner = (thanks.upstream.host, thanks.upstream.owner) == (declared.upstream.host, declared.upstream.owner)
        if not same_owner:
            return None
        provenance = f"packagist:extra.thanks (read-only split {declared.upstream})"
        return Resolution(thanks.upstream, thanks_url, provenance, None)
