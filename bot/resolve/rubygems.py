"""RubyGems: ``GET {rubygems}/api/v1/gems/{name}.json`` → ``source_code_uri``, then a forge ``homepage_uri``."""

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
                Candidate("rubygems:homepage_uri", doc.get("homepage_uri"), False),
                Candidate("rubygems:bug_tracker_uri", doc.get("bug_tracker_uri"), False),
            ],
            forges=self.forges,
        )
