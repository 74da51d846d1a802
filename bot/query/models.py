"""The typed answers of the query layer: one pydantic model per shape.

The CLI's ``--json``, the HTTP API (its OpenAPI document is built from these models' JSON schemas)
and the MCP tools (their output schemas) all return these, so a field means the same thing
everywhere. Shares are fractions of 1 (0.25 is 25 %); amounts are in the snapshot's reporting
currency unless a field says otherwise; instants are ISO 8601 UTC.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

SortKey = Literal["priority", "gap", "risk", "usage", "recommended", "repos", "upstream"]
SignalValue = str | int | float | bool | None


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class TeamUsageOut(_Model):
    """The part of an upstream's usage one team's repositories make, and that part of its recommended amount."""

    team: str | None = Field(description="The team ([usage] settings); null: repositories without a known team.")
    repos: int = Field(description="The team's repositories using the upstream.")
    usage: float = Field(description="Their weighted usage (repository weight × depth × scope, strongest use each).")
    share: float = Field(description="Part of the upstream's usage (0..1); an upstream's parts add up to 1.")
    recommended: float = Field(description="That share of the upstream's recommended yearly amount.")


class UpstreamSummary(_Model):
    """One upstream as the latest gap snapshot scored it (or left it out, with the reason)."""

    upstream: str = Field(description="Canonical source repository, host/owner/name, lower-cased.")
    ecosystems: list[str] = Field(description="Package ecosystems (pypi, npm, ...) of the packages it publishes.")
    team: str | None = Field(description="The team whose repositories use it most; null when no team is mapped.")
    repos: int = Field(description="Internal repositories that use any of its packages.")
    scored: bool = Field(description="False when the gap model leaves it out; see not_scored_reason.")
    not_scored_reason: str | None = None
    usage_share: float | None = Field(description="Its share of the organisation's weighted usage (0..1).")
    expected_share: float | None = Field(description="Usage share × risk, normalised: what it should receive (0..1).")
    investment_share: float | None = Field(description="Its share of contributions and money given (0..1).")
    gap: float | None = Field(description="expected_share − investment_share; positive means under-invested.")
    risk: float | None = Field(description="Risk multiplier ≥ 1.")
    risk_signals: list[str] = Field(description="Signals that raised the risk (bus_factor, archived, ...).")
    priority: float | None = Field(description="max(gap, 0) × risk: the ranking key of the review.")
    recommended: float | None = Field(description="Yearly amount still to give, reporting currency.")
    given: float | None = Field(description="Money given over the window, scaled to a year, reporting currency.")
    decision: str | None = Field(
        description="A person's recorded decision about this upstream; null until the store records decisions."
    )
    usage_by_team: list[TeamUsageOut] = Field(
        default_factory=list, description="Which teams' repositories make its usage, largest first, no team last."
    )


class UpstreamPage(_Model):
    """A page of upstreams from the latest snapshot."""

    snapshot_id: int | None = Field(description="The gap snapshot the numbers come from; null: nothing scored yet.")
    snapshot_at: datetime | None
    currency: str | None
    total: int = Field(description="Upstreams matching the filter, before paging.")
    offset: int
    limit: int
    items: list[UpstreamSummary]
    note: str | None = Field(default=None, description="Why the list is empty or partial, when it is.")


class PackageUse(_Model):
    package: str = Field(description="Package key without version, e.g. pypi/requests.")
    ecosystem: str | None
    status: str = Field(description="resolved | override | unresolved | retry")
    subdirectory: str | None
    provenance: str | None = Field(description="Which registry field or fallback decided the upstream.")
    repositories: list[str] = Field(description="Internal repositories (owner/name) whose SBOMs list it.")


class ContributionCount(_Model):
    person: str
    quarter: str = Field(description="Calendar quarter, e.g. 2026Q3.")
    kind: str = Field(description="commit | pr_opened | pr_merged | issue | review")
    count: int


class MoneyAmount(_Model):
    channel: str = Field(description="github_sponsors | open_collective | ledger")
    currency: str = Field(description="The currency paid in (ISO 4217).")
    amount: str = Field(description="Decimal text in that currency; split payments shared evenly.")


class SignalValueOut(_Model):
    name: str
    value: SignalValue
    source: str | None = Field(description="Where the value was read (API field, file); null when not recorded.")


class DriftEvent(_Model):
    first_seen_at: datetime
    from_licence: str | None
    to_licence: str | None
    from_class: str
    to_class: str
    sovereignty_risk: bool = Field(description="Open licence → source-available or proprietary.")


class OperandOut(_Model):
    label: str
    value: float
    ref: str | None = Field(description="The term this operand comes from, when it comes from one.")


class TermOut(_Model):
    """One step of the score's arithmetic: value = operand (op) operand ..."""

    name: str
    value: float
    op: str = Field(description="sum | product | ratio | difference | min | max")
    operands: list[OperandOut]
    note: str
    text: str = Field(description="The step as one line a reader can redo by hand.")


class Decision(_Model):
    """A person's recorded decision about an upstream (docs/decisions.md); ``decision`` is its kind."""

    upstream: str
    decision: str
    by: str | None
    at: datetime | None
    source: str | None


class UpstreamRecord(_Model):
    """Everything the store knows about one upstream."""

    upstream: str
    formerly: list[str] = Field(description="Old names that GitHub redirects here (renamed or transferred).")
    known: bool = Field(description="False when the store has never heard of this upstream.")
    packages: list[PackageUse]
    repositories: list[str] = Field(description="Internal repositories using any of its packages.")
    window_days: int = Field(description="Length of the trailing window contributions and money are counted over.")
    contributions: list[ContributionCount] = Field(description="By person, quarter and kind, in the trailing window.")
    contributions_gathered: bool
    money: list[MoneyAmount] = Field(description="Payments in the trailing window by channel and currency.")
    money_gathered: bool
    signals_observed_at: datetime | None
    signals_scan_id: int | None
    signals: list[SignalValueOut]
    drifts: list[DriftEvent]
    decisions: list[Decision] = Field(description="Always empty until the store records decisions.")
    summary: UpstreamSummary | None = Field(description="Its row in the latest snapshot; null when not in it.")
    terms: list[TermOut] = Field(description="The score's arithmetic, term by term.")
    explanation: str | None = Field(description="The same arithmetic as text (what `upkeep explain` prints).")


class HistoryPoint(_Model):
    snapshot_id: int
    snapshot_at: datetime
    scored: bool
    not_scored_reason: str | None = None
    repos: int | None
    usage_share: float | None
    risk: float | None
    risk_signals: list[str]
    investment_share: float | None
    gap: float | None
    priority: float | None
    money: float | None = Field(description="Money given in the snapshot's window, reporting currency.")
    given: float | None
    recommended: float | None
    currency: str


class UpstreamHistory(_Model):
    """One upstream's numbers in every stored snapshot, oldest first."""

    upstream: str
    points: list[HistoryPoint]


class GapChange(_Model):
    upstream: str
    gap_before: float | None = Field(description="null: not scored in the earlier snapshot.")
    gap_after: float | None = Field(description="null: not scored in the later snapshot.")
    recommended_before: float | None
    recommended_after: float | None
    reasons: list[str] = Field(description="What moved: usage, risk signals, investment, newly used or dropped.")


class RiskChange(_Model):
    upstream: str
    risk_before: float
    risk_after: float
    signals_added: list[str]
    signals_removed: list[str]


class PaymentIn(_Model):
    paid_on: datetime
    channel: str
    payee: str
    amount: str = Field(description="Decimal text in currency.")
    currency: str
    upstreams: list[str] = Field(description="Empty when the payment names no upstream we use (see attribution).")
    attribution: str


class Changes(_Model):
    """What changed between two snapshots."""

    before_snapshot_id: int | None = Field(description="null: nothing was scored at or before `since`.")
    before_at: datetime | None
    after_snapshot_id: int | None
    after_at: datetime | None
    since: datetime | None
    threshold: float = Field(description="A gap above this share is open.")
    new_gaps: list[GapChange]
    closed_gaps: list[GapChange]
    movers: list[GapChange] = Field(description="The largest gap changes, largest first.")
    risk_changes: list[RiskChange]
    money_in: list[PaymentIn] = Field(description="Payments made after `since` (or the earlier snapshot).")
    note: str | None = None


class PersonIdentity(_Model):
    person: str
    account: str
    source: str = Field(description="member | extra-login | roster | email-domain")
    detail: str
    counted_from: str | None = Field(alias="from", description="First day counted (ISO date).")
    until: str | None

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True, serialize_by_alias=True)


class PledgeOut(_Model):
    """Where the organisation stands against the Open Source Pledge (USD 2,000 per developer per year)."""

    quarter: str = Field(description="The review quarter the figures are computed for.")
    year: str
    developers: float
    amount: float = Field(description="Money given over the trailing twelve months, reporting currency.")
    currency: str
    amount_usd: float
    usd_per_developer: float
    usd_per_developer_target: float
    meets_pledge: bool
    member_id: str | None


class UnresolvedOut(_Model):
    package: str
    status: str = Field(description="unresolved | retry")
    reason: str
    repos: int = Field(description="Internal repositories using it.")


class RepoUseOut(_Model):
    repository: str
    team: str | None
    version: str | None
    depth: str = Field(description="direct | transitive | unknown")
    scope: str = Field(description="runtime | development | ... | unknown")


class PackageUsers(_Model):
    """Which internal repositories use a package, and the upstream it resolved to."""

    query: str
    packages: list[str] = Field(description="Package keys that matched the query.")
    upstream: str | None
    resolution_status: str | None
    users: list[RepoUseOut]


class RunOut(_Model):
    id: int
    kind: str
    status: str
    started_at: datetime
    finished_at: datetime | None
    stages: dict[str, str] = Field(description="stage → ok | failed | ...")


class BudgetOut(_Model):
    service: str
    resource: str
    limit: int
    remaining: int
    reset_at: datetime | None
    observed_at: datetime


class StatusOut(_Model):
    runs: list[RunOut]
    leader: str | None = Field(description="The worker holding the scheduler lease; null: none running.")
    next_runs: dict[str, datetime | None]
    outbox: dict[str, int] = Field(description="Outbox rows by state (pending, delivered, failed, dead, ...).")
    rate_limits: list[BudgetOut]


class Explanation(_Model):
    """One upstream's score in the latest snapshot, term by term (``upkeep explain --json``)."""

    upstream: str
    snapshot_id: int | None = Field(description="null: nothing scored yet.")
    currency: str | None
    scored: bool
    reason: str | None = Field(description="Why there is no score (left out of the model, not used, no snapshot).")
    summary: UpstreamSummary | None
    terms: list[TermOut]
    explanation: str | None = Field(description="The arithmetic as text, one term per line.")


class DeliveryPlan(_Model):
    """What ``upkeep deliver --dry-run`` would post or change; nothing is written."""

    missing: list[str] = Field(description="Inputs not there yet (no snapshot, ...), so nothing is planned for them.")
    planned: list[str] = Field(description="One line per planned post, issue change or retry.")
    enqueued: int = Field(description="Outbox rows the run would add.")
    skipped: int
    waiting: int
    dead: int
    notes: list[str]
