"""RubyGems: ``GET {rubygems}/api/v1/gems/{name}.json`` → the repository, from every link the gem offers.

Order of evidence: ``source_code_uri`` (top level, then the gemspec ``metadata``) declares the repository;
then, only when they are themselves a forge repository: ``homepage_uri``, ``bug_tracker_uri``,
``changelog_uri``, ``documentation_uri``, ``wiki_uri`` (top level, then ``metadata``). ``funding_uri``
is never read as a repository.
"""

from __future__ import annotations

from bot.resolve.fetch import Fetcher, json_at
from bot.resolve.interface import Outcome, PackageRef, Unresolved
from bot.resolve.repo_url import Candidate, choose_repository


class RubyGemsResolver:
    ecosystem = "gem"

    def __init__(self, base_url: str, forges: frozenset[str]) -> None:
        self.base_url = base_url.rstrip("/")
        self.forges = forges

    async def resolve(self, package: PackageRef, client: Fetcher) -> Outcome:
        result = await client.get(f"{self.base_url}/api/v1/gems/{package.name}.json")
        doc = json_at(result)
        if isinstance(doc, Unresolved):
            return doc
        metadata = doc.get("metadata")
        metadata = metadata if isinstance(metadata, dict) else {}
        return choose_repository(
            [
                Candidate("rubygems:source_code_uri", doc.get("source_code_uri"), True),
                Candidate("rubygems:metadata.source_code_uri", metadata.get("source_code_uri"), True),
                *(
                    Candidate(f"rubygems:{where}{key}", place.get(key), False)
                    for key in ("homepage_uri", "bug_tracker_uri", "changelog_uri", "documentation_uri", "wiki_uri")
                    for where, place in (("", doc), ("metadata.", metadata))
                ),
            ],
            forges=self.forges,
        )
