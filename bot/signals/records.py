"""Records of the signals stage: what one scan observed about one upstream, and where.

Every value carries its provenance in :attr:`UpstreamSignals.sources` (field name → where it
came from), so a report can say "bus factor 1 (GitHub GraphQL, 2026-11-26)". A value that was
not observed is ``None`` and has no source; ``partial`` says the forge itself was not read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class LicenceClass(StrEnum):
    PERMISSIVE = "permissive"
    COPYLEFT = "copyleft"
    SOURCE_AVAILABLE = "source-available"
    PROPRIETARY = "proprietary"
    UNKNOWN = "unknown"


class Governance(StrEnum):
    FOUNDATION = "foundation"
    COMPANY = "company"
    COMMUNITY = "community"
    INDIVIDUAL = "individual"
    UNKNOWN = "unknown"  # the owner's kind was not observed (non-GitHub forge)


@dataclass(frozen=True, slots=True)
class CommitAuthor:
    """One commit on the default branch, reduced to who made it and when."""

    identity: str  # login when the forge links one, else the e-mail, else the name
    email: str | None
    committed_at: datetime


@dataclass(frozen=True, slots=True)
class PeopleSignals:
    """Who keeps an upstream alive over the window (bots excluded)."""

    commits: int
    active_maintainers: int
    bus_factor: int  # fewest people who made ≥ 50 % of the commits (0: no commits)
    elephant_factor: int  # fewest organisations (e-mail domains) that made ≥ 50 % (0: no commits)
    top_domain: str | None  # the organisation with most commits, if any
    top_domain_share: float  # its share of the commits, 0.0 to 1.0


@dataclass(frozen=True, slots=True)
class FundingChannel:
    """A way to give money to an upstream. ``target`` is a handle or URL as the source wrote it."""

    platform: str  # github, open_collective, tidelift, custom, payment-provider, ...
    target: str
    url: str | None
    source: str  # FUNDING.yml, fundingLinks, funding.json, npm, sponsors-listing


@dataclass(frozen=True, slots=True)
class FundingProblem:
    """Something wrong in a funding file; kept as data next to the channels that did parse."""

    key: str
    message: str


@dataclass(frozen=True, slots=True)
class FundingParse:
    channels: tuple[FundingChannel, ...]
    problems: tuple[FundingProblem, ...] = ()
    kind: str | None = None  # funding.json: floss.fund-v1.0.0 | floss.fund-v1.1.0 | optimism-retropgf | unknown


@dataclass(frozen=True, slots=True)
class LicenceDrift:
    """A licence change between two scans of one upstream."""

    upstream_key: str
    from_spdx: str | None
    to_spdx: str | None
    from_class: LicenceClass
    to_class: LicenceClass
    first_seen_at: datetime
    sovereignty_risk: bool  # open → source-available or proprietary


@dataclass(frozen=True, slots=True)
class UpstreamSignals:
    """Everything one scan observed about one upstream."""

    upstream_key: str
    observed_at: datetime
    partial: bool  # True when only registry-side signals were available
    missing: bool = False  # the forge says the repository does not exist (or is not visible)
    archived: bool | None = None
    deprecated: bool | None = None
    last_commit_at: datetime | None = None
    last_release_at: datetime | None = None
    commits_12m: int | None = None
    active_maintainers: int | None = None
    bus_factor: int | None = None
    elephant_factor: int | None = None
    licence_repo: str | None = None
    licence_registry: str | None = None
    licence: str | None = None  # the effective SPDX id: repository first, then registry
    licence_class: LicenceClass = LicenceClass.UNKNOWN
    licence_observed: bool = False  # whether any source was read for the licence (drift needs it)
    governance: Governance = Governance.UNKNOWN
    owner_type: str | None = None
    has_sponsors_listing: bool | None = None
    funding: tuple[FundingChannel, ...] = ()
    funding_problems: tuple[FundingProblem, ...] = ()
    scorecard: float | None = None
    contributor_agreement: str | None = None  # cla | dco | none (asked, and nothing required); None: not observed
    sources: dict[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RepoObservation:
    """What the forge said about one repository in one scan (the input of :func:`assemble_signals`)."""

    upstream_key: str
    found: bool
    observed_at: datetime
    source: str  # e.g. github-graphql
    owner_type: str | None = None  # User | Organization
    has_sponsors_listing: bool | None = None
    archived: bool | None = None
    pushed_at: datetime | None = None
    last_commit_at: datetime | None = None
    last_release_at: datetime | None = None
    licence_spdx: str | None = None
    licence_seen: bool = False  # the licence field was read (None then means "no licence detected")
    funding_links: tuple[FundingChannel, ...] = ()
    commits: tuple[CommitAuthor, ...] = ()
    commits_complete: bool = True  # every page of the window's history was read
    funding_json_present: bool | None = None  # None: not probed
    funding_yml_text: str | None = None  # .github/FUNDING.yml, for its problems (channels come from fundingLinks)
    funding_json_text: str | None = None
    funding_json_source: str | None = None
    renamed_to: str | None = None  # the upstream key GitHub answered this (old) name with: renamed or transferred
    # Contribution guides and CLA.md at HEAD, path → text (None: absent); () when they were not asked for.
    contribution_files: tuple[tuple[str, str | None], ...] = ()


@dataclass(frozen=True, slots=True)
class RegistryObservation:
    """Registry-side signals of an upstream's packages (usable for every forge)."""

    licences: tuple[str, ...] = ()
    deprecated: bool | None = None
    funding: tuple[FundingChannel, ...] = ()
    scorecard: float | None = None
    depsdev_licence: str | None = None
    sources: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Cached:
    """A stored GET answer and its validators, for conditional requests."""

    url: str
    status_code: int
    body: bytes
    etag: str | None = None
    last_modified: str | None = None
