"""All SQLModel table models, in one module so migrations see them together.

Each later stage appends its tables in its own section below. Identities are natural keys
(purl, package key, upstream key) with unique indexes, so every stage can upsert and a
rerun never duplicates a row.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


# --------------------------------------------------------------------------- inventory


class RepositoryRow(SQLModel, table=True):
    """An internal repository of the organisation, whose SBOMs say what it uses."""

    __tablename__ = "repositories"

    id: int | None = Field(default=None, primary_key=True)
    full_name: str = Field(index=True, unique=True, description="owner/name, lower-cased")
    host: str = "github.com"
    weight: float | None = Field(
        default=None, description="set by a [[usage.weight]] rule (or by hand); None: usage.default_repo_weight"
    )
    weight_rule: str | None = Field(default=None, description="the rule that set the weight, e.g. tier=critical")
    team: str | None = None
    team_source: str | None = Field(default=None, description="property | topic | codeowners; None: not set by sync")
    codeowners_team: str | None = Field(default=None, description="the team CODEOWNERS' * rule names, as last read")
    codeowners_pushed_at: datetime | None = Field(default=None, description="pushed_at when CODEOWNERS was read")
    source: str = Field(default="file", description="file | github")
    private: bool = False
    fork: bool = False
    archived: bool = False
    pushed_at: datetime | None = None
    export_etag: str | None = None
    exported_pushed_at: datetime | None = Field(default=None, description="pushed_at at the last export")
    note: str | None = Field(default=None, description="why the last sync could not export, if it could not")
    created_at: datetime = Field(default_factory=utcnow)


class SbomDocumentRow(SQLModel, table=True):
    """One ingested SBOM document; the current one per repository carries its usages."""

    __tablename__ = "sbom_documents"
    __table_args__ = (UniqueConstraint("repository_id", "digest", name="uq_document_repo_digest"),)

    id: int | None = Field(default=None, primary_key=True)
    repository_id: int = Field(foreign_key="repositories.id", index=True)
    source: str = Field(description="file path or URL it came from")
    format: str
    spec_version: str
    digest: str = Field(index=True, description="sha256 of the document bytes")
    has_graph: bool
    component_count: int
    repo_hint_source: str
    is_current: bool = True
    ingested_at: datetime = Field(default_factory=utcnow)
    product: str | None = Field(default=None, description="the product the document describes, when it names one")
    depth_inferred: bool = Field(default=False, description="the graph never named the root: direct was inferred")


class ComponentRow(SQLModel, table=True):
    """A package at a version, identified by its normalised purl (or a ``nopurl:`` key)."""

    __tablename__ = "components"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(index=True, unique=True)
    package_key: str = Field(index=True)
    purl: str | None = None
    ecosystem: str | None = Field(default=None, index=True)
    namespace: str | None = None
    name: str
    version: str | None = None
    licenses: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))


class UsageRow(SQLModel, table=True):
    """Repository × component, with depth and scope from the current document."""

    __tablename__ = "usages"
    __table_args__ = (
        UniqueConstraint("repository_id", "component_id", name="uq_usage_repo_component"),
        Index("ix_usages_component", "component_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    repository_id: int = Field(foreign_key="repositories.id", index=True)
    component_id: int = Field(foreign_key="components.id")
    document_id: int = Field(foreign_key="sbom_documents.id")
    depth: str
    scope: str


# --------------------------------------------------------------------------- pipeline runs


class RunRow(SQLModel, table=True):
    """One pipeline run (or one command) with a summary per stage."""

    __tablename__ = "runs"

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(index=True, description="run | ingest | resolve | ...")
    status: str = Field(default="running", description="running | ok | failed | partial")
    started_at: datetime = Field(default_factory=utcnow, index=True)
    finished_at: datetime | None = None
    stages: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    error: str | None = None


# --------------------------------------------------------------------------- resolution


class UpstreamRow(SQLModel, table=True):
    """An upstream project, identified by its canonical source repository ``host/owner/name``."""

    __tablename__ = "upstreams"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(index=True, unique=True)
    host: str
    owner: str
    name: str
    first_seen_at: datetime = Field(default_factory=utcnow)


class PackageResolutionRow(SQLModel, table=True):
    """Package → upstream, or why not. Many packages map to one upstream (monorepos)."""

    __tablename__ = "package_resolutions"

    id: int | None = Field(default=None, primary_key=True)
    package_key: str = Field(index=True, unique=True)
    ecosystem: str | None = None
    status: str = Field(index=True, description="resolved | override | unresolved | retry")
    upstream_key: str | None = Field(default=None, index=True)
    subdirectory: str | None = Field(default=None, description="path inside a monorepo, when known")
    source_url: str | None = Field(default=None, description="the repository string the metadata gave")
    provenance: str | None = Field(default=None, description="which registry field or fallback decided")
    reason: str | None = Field(default=None, description="why unresolved")
    resolved_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime | None = None


class UpstreamRenameRow(SQLModel, table=True):
    """A repository known under an old name: GitHub redirects ``old_key`` to ``new_key`` (a rename or transfer).

    Registries, ledgers and stored contributions keep naming the old repository; every reader maps
    them through these rows, so the work and money count for the upstream as it is called now.
    """

    __tablename__ = "upstream_renames"

    id: int | None = Field(default=None, primary_key=True)
    old_key: str = Field(index=True, unique=True)
    new_key: str = Field(index=True)
    source: str = Field(description="how it was learnt, e.g. github-graphql (nameWithOwner of the old name)")
    seen_at: datetime = Field(default_factory=utcnow)


class HttpCacheRow(SQLModel, table=True):
    """Validators and bodies of GET responses, for ``If-None-Match`` revalidation across runs."""

    __tablename__ = "http_cache"

    id: int | None = Field(default=None, primary_key=True)
    url: str = Field(index=True, unique=True)
    etag: str | None = None
    last_modified: str | None = None
    status_code: int = 200
    body: bytes
    fetched_at: datetime = Field(default_factory=utcnow)


class RegistrySignalsRow(SQLModel, table=True):
    """What a registry document says for the signals stage (npm, PyPI: deprecation, licence,
    funding), read when the resolve stage decoded it, so the document is decoded once per fetch."""

    __tablename__ = "registry_signals"

    url: str = Field(primary_key=True, description="the document's cache key (as in http_cache)")
    source: str = Field(description="npm or pypi")
    deprecated: bool | None = None
    licence: str | None = None
    funding: list[Any] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    observed_at: datetime = Field(default_factory=utcnow)


# --------------------------------------------------------------------------- worker


class LeaseRow(SQLModel, table=True):
    """A named lease (the scheduler's leadership, or one job) held by one process until it expires."""

    __tablename__ = "leases"

    name: str = Field(primary_key=True)
    holder: str
    acquired_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime = Field(index=True)


# --------------------------------------------------------------------------- delivery


class OutboxRow(SQLModel, table=True):
    """One delivery (Slack message, GitHub issue change) that must happen exactly once.

    ``key`` is deterministic (channel, target, subject, period or content hash and the key it
    follows), so a rerun finds the row instead of adding one; ``remote_id`` (Slack ``ts``,
    issue number) is set exactly when ``state`` becomes ``delivered``.
    """

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_subject", "channel", "target", "subject"),)

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(index=True, unique=True)
    channel: str = Field(description="slack | github")
    target: str = Field(description="Slack channel id or OWNER/NAME of the OSPO repository")
    subject: str = Field(description="digest | dashboard | gap:HOST/OWNER/NAME")
    action: str = Field(description="post | open | close")
    content_hash: str
    previous_key: str | None = Field(default=None, description="the row of the same subject this one follows")
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    state: str = Field(default="pending", index=True, description="pending | delivered | failed | dead | superseded")
    attempts: int = 0
    next_attempt_at: datetime | None = None
    last_error: str | None = None
    remote_id: str | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    delivered_at: datetime | None = None


class DecisionRow(SQLModel, table=True):
    """A person's decision about an upstream's gap (docs/decisions.md); rows are added, never changed.

    Read from the OSPO repository (a gap issue closed as not planned or completed, a dashboard
    checkbox) or given by ``upkeep decide``; the newest row per upstream is the one that counts.
    """

    __tablename__ = "decisions"
    __table_args__ = (UniqueConstraint("upstream", "kind", "source", "source_ref", "decided_at"),)

    id: int | None = Field(default=None, primary_key=True)
    upstream: str = Field(index=True, description="HOST/OWNER/NAME")
    kind: str = Field(description="fund | contribute | decline | done | snooze | reopen")
    actor: str = Field(description="GitHub login, the local user, or unknown")
    decided_at: datetime
    source: str = Field(description="issue | dashboard | cli")
    source_ref: str = Field(default="", description="OWNER/NAME#number of the issue it was read from")
    amount: float | None = Field(default=None, description="planned money (fund)")
    currency: str | None = None
    note: str = ""
    gap: float | None = Field(default=None, description="the upstream's gap when decided")
    recorded_at: datetime = Field(default_factory=utcnow)


# --------------------------------------------------------------------------- gaps


class GapSnapshotRow(SQLModel, table=True):
    """One ``upkeep score`` run: the budget and weights it used; its scores are :class:`GapScoreRow`."""

    __tablename__ = "gap_snapshots"

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = Field(default_factory=utcnow, index=True)
    window_start: datetime
    window_end: datetime
    budget: float = Field(description="yearly open-source budget the amounts share")
    currency: str
    budget_source: str = Field(description="configured | pledge")
    developers: int | None = None
    weights_digest: str = Field(description="sha256 of the canonical weights JSON")
    weights: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    upstreams: int = 0
    # Used but left out of the model ([gaps].exclude_own, [gaps.exclude]): [{"upstream", "reason", "repos"}]
    not_scored: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False, server_default="[]")
    )


class GapScoreRow(SQLModel, table=True):
    """One upstream's score in one snapshot, with the terms that explain every number."""

    __tablename__ = "gap_scores"
    __table_args__ = (UniqueConstraint("snapshot_id", "upstream_key", name="uq_gap_score_snapshot_upstream"),)

    id: int | None = Field(default=None, primary_key=True)
    snapshot_id: int = Field(foreign_key="gap_snapshots.id", index=True)
    upstream_key: str = Field(index=True)
    repos: int
    usage_weight: float
    usage_share: float
    risk: float
    risk_signals: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    expected_share: float
    code_score: float
    code_share: float
    money: float
    money_share: float
    investment_share: float
    gap: float
    priority: float
    given: float
    recommended: float
    terms: list[Any] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # [{"team": str | None, "usage": float, "repos": int}]: the usage each team's repositories make
    usage_by_team: list[Any] = Field(default_factory=list, sa_column=Column(JSON, nullable=False, server_default="[]"))


# --------------------------------------------------------------------------- signals (evidence II: upstream health)


class SignalScanRow(SQLModel, table=True):
    """One scan of upstream signals; a running scan is resumed, a finished one older than the TTL is redone."""

    __tablename__ = "signal_scans"

    id: int | None = Field(default=None, primary_key=True)
    started_at: datetime = Field(index=True)
    finished_at: datetime | None = None
    status: str = Field(default="running", description="running | ok | partial (closed unfinished after the TTL)")
    upstreams_done: int = 0
    calls: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class UpstreamSignalRow(SQLModel, table=True):
    """What one scan observed about one upstream; ``sources`` names where each value came from."""

    __tablename__ = "upstream_signals"
    __table_args__ = (
        UniqueConstraint("scan_id", "upstream_key", name="uq_upstream_signal_scan_upstream"),
        Index("ix_upstream_signals_upstream_scan", "upstream_key", "scan_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    scan_id: int = Field(foreign_key="signal_scans.id", index=True)
    upstream_key: str
    observed_at: datetime
    partial: bool = Field(default=False, description="only registry-side signals (non-GitHub forge)")
    missing: bool = Field(default=False, description="the forge says the repository does not exist")
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
    licence: str | None = None
    licence_class: str = "unknown"
    licence_observed: bool = False
    governance: str = "unknown"
    owner_type: str | None = None
    has_sponsors_listing: bool | None = None
    scorecard: float | None = None
    contributor_agreement: str | None = Field(default=None, description="cla | dco | none; null: not observed")
    funding: list[Any] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    funding_problems: list[Any] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    sources: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    notes: list[Any] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))


class LicenceDriftRow(SQLModel, table=True):
    """A licence change of an upstream, recorded once, in the scan that first saw it."""

    __tablename__ = "licence_drifts"
    __table_args__ = (UniqueConstraint("upstream_key", "scan_id", name="uq_licence_drift_upstream_scan"),)

    id: int | None = Field(default=None, primary_key=True)
    upstream_key: str = Field(index=True)
    scan_id: int = Field(foreign_key="signal_scans.id")
    from_spdx: str | None = None
    to_spdx: str | None = None
    from_class: str
    to_class: str
    first_seen_at: datetime
    sovereignty_risk: bool = Field(default=False, description="open licence → source-available or proprietary")


# --------------------------------------------------------------------------- evidence I: people, contributions, money


class PersonRow(SQLModel, table=True):
    """Someone whose contributions count for the organisation, keyed by their primary login (lower-cased)."""

    __tablename__ = "people"

    id: int | None = Field(default=None, primary_key=True)
    login: str = Field(index=True, unique=True)
    name: str | None = None
    updated_at: datetime = Field(default_factory=utcnow)


class IdentityRow(SQLModel, table=True):
    """One GitHub account of a person and where it came from; ``valid_from``/``valid_until`` bound a roster stay."""

    __tablename__ = "identities"
    __table_args__ = (UniqueConstraint("account", "source", name="uq_identity_account_source"),)

    id: int | None = Field(default=None, primary_key=True)
    account: str = Field(index=True, description="GitHub login, lower-cased")
    person_login: str = Field(index=True)
    source: str = Field(description="member | extra-login | roster | email-domain")
    detail: str = Field(default="", description="the org, config key or roster file:line it came from")
    email: str | None = None
    valid_from: datetime | None = Field(default=None, description="first day counted (roster start)")
    valid_until: datetime | None = Field(default=None, description="last day counted (roster end)")
    seen_at: datetime = Field(default_factory=utcnow)


class ContributionRow(SQLModel, table=True):
    """Contributions of one kind by one account to one repository on one instant, as GitHub reported them."""

    __tablename__ = "contributions"
    __table_args__ = (
        UniqueConstraint("account", "repository", "kind", "occurred_at", name="uq_contribution"),
        Index("ix_contributions_occurred", "occurred_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    account: str = Field(index=True)
    repository: str = Field(index=True, description="HOST/OWNER/NAME, lower-cased")
    kind: str = Field(description="commit | pr_opened | pr_merged | issue | review")
    occurred_at: datetime
    count: int = 1


class ContributionCheckpointRow(SQLModel, table=True):
    """How far one account's contributions in one segment (a calendar quarter) have been fetched."""

    __tablename__ = "contribution_checkpoints"
    __table_args__ = (UniqueConstraint("account", "segment_start", name="uq_contribution_checkpoint"),)

    id: int | None = Field(default=None, primary_key=True)
    account: str = Field(index=True)
    segment_start: datetime
    segment_end: datetime
    fetched_until: datetime = Field(description="contributions up to here are stored")
    status: str = Field(default="ok", description="ok | missing (no such account)")
    restricted: int = Field(default=0, description="contributions GitHub counts but does not show")
    fetched_at: datetime = Field(default_factory=utcnow)


class PaymentRow(SQLModel, table=True):
    """Money paid to a payee through one channel on one day, in its own currency, with its attribution."""

    __tablename__ = "payments"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(index=True, unique=True, description="deterministic id: channel, payee, date, amount")
    channel: str = Field(index=True, description="github_sponsors | open_collective | ledger")
    subchannel: str = Field(default="", description="ledger channel (tidelift, thanks.dev, ...) or sponsor login")
    payee: str = Field(description="sponsored login, collective slug, or the ledger's upstream/payee text")
    paid_on: datetime = Field(index=True)
    amount: str = Field(description="decimal text in ``currency``")
    currency: str
    upstreams: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    attribution: str = Field(default="", description="how the upstreams were chosen, or why there are none")
    source: str = Field(default="", description="where it was read: API, ledger file:line")
    seen_at: datetime = Field(default_factory=utcnow)


# --------------------------------------------------------------------------- rate limits (upkeep status)


class RateLimitRow(SQLModel, table=True):
    """The last rate-limit budget one service reported for one resource, for ``upkeep status``.

    One row per (service, resource), overwritten by newer observations; no token or URL is kept.
    """

    __tablename__ = "rate_limits"

    service: str = Field(primary_key=True, description="github, or the host that sent the headers")
    resource: str = Field(primary_key=True, description="x-ratelimit-resource: core | graphql | search | ...")
    limit: int = Field(description="requests (or GraphQL points) per window")
    remaining: int
    used: int | None = None
    reset_at: datetime | None = Field(default=None, description="when the window starts again (x-ratelimit-reset)")
    observed_at: datetime = Field(description="when the answer carrying these figures arrived")


# --------------------------------------------------------------------------- reference rates (money conversion)


class ReferenceRateRow(SQLModel, table=True):
    """One ECB euro reference rate: how many units of ``currency`` one euro bought on ``day``."""

    __tablename__ = "reference_rates"

    day: date = Field(primary_key=True, description="the TARGET business day the ECB published the rate for")
    currency: str = Field(primary_key=True, description="ISO 4217 code")
    per_euro: str = Field(description="decimal text, exactly as the ECB published it")
    source: str = Field(default="ecb", description="who published it")
    fetched_at: datetime = Field(default_factory=utcnow)
