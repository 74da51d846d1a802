"""Which upstreams the gap model scores: every one the inventory uses, but those the OSPO leaves out.

The organisation's own repositories are the first: a product using the company's own library is
no under-investment in an upstream, and counting the employees' commits to it as "investment"
would shrink every real upstream's share. Others are configured with a reason
(``[gaps.exclude]``), which the review shows next to each of them. Pure: patterns in, decisions out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase

from bot.config import Settings
from bot.gaps.interface import NotScored, UpstreamUsage


@dataclass(frozen=True, slots=True)
class ScoringScope:
    """``(pattern, reason)`` pairs, lower-cased HOST/OWNER/NAME fnmatch patterns; the first match decides."""

    exclusions: tuple[tuple[str, str], ...] = ()

    @classmethod
    def from_settings(cls, settings: Settings) -> ScoringScope:
        own = [
            (f"{settings.github.web_host}/{org}/*".lower(), f"the organisation's own repository ({org})")
            for org in (settings.github.orgs if settings.gaps.exclude_own else ())
        ]
        configured = [(p.strip().strip("/").lower(), why.strip()) for p, why in settings.gaps.exclude.items()]
        return cls(tuple(own + configured))

    def reason(self, upstream: str) -> str | None:
        """Why ``upstream`` is not scored; None when it is."""
        key = upstream.lower()
        return next((reason for pattern, reason in self.exclusions if fnmatchcase(key, pattern)), None)

    def split(self, usages: Sequence[UpstreamUsage]) -> tuple[list[UpstreamUsage], list[NotScored]]:
        """The usages to score, and the upstreams left out with their reasons (by usage, most used first)."""
        kept: list[UpstreamUsage] = []
        left: list[NotScored] = []
        for usage in usages:
            why = self.reason(usage.upstream)
            if why is None:
                kept.append(usage)
            else:
                left.append(NotScored(usage.upstream, why, len({use.repo for use in usage.repos})))
        return kept, sorted(left, key=lambda n: (-n.repos, n.upstream))

    def scores(self, upstream: str) -> bool:
        return self.reason(upstream) is None
