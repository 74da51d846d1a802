"""crates.io: ``GET {crates}/api/v1/crates/{name}`` → ``crate.repository``, then a forge ``homepage``,
then a forge ``documentation`` link (docs.rs and other sites are refused, never guessed).

The declared repository is kept even when it has moved (``rust-lang-nursery/bitflags`` now redirects
to ``bitflags/bitflags``); following forge redirects belongs to the GitHub stage, not to metadata.
"""

from __future__ import annotations

from bot.resolve.fetch import Fetcher, json_at
from bot.resolve.interface import Outcome, PackageRef, Unresolved
from bot.resolve.repo_url import Candidate, choose_repository


class CratesResolver:
    ecosystem = "cargo"

    def __init__(self, base_url: str, forges: frozenset[str]) -> None:
        self.base_url = base_url.rstrip("/")
        self.forges = forges

    async def resolve(self, package: PackageRef, client: Fetcher) -> Outcome:
        result = await client.get(f"{self.base_url}/api/v1/crates/{package.name}")
        crate = json_at(result, "crate")
        if isinstance(crate, Unresolved):
            return crate
        return choose_repository(
            [
                Candidate("crates:repository", crate.get("repository"), True),
                Candidate("crates:homepage", crate.get("homepage"), False),
                Candidate("crates:documentation", crate.get("documentation"), False),
            ],
            forges=self.forges,
        )
