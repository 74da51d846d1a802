"""The records the quarterly review is rendered from, and the files it produces.

The gap model, the evidence stages and the configuration are adapted into one
:class:`ReviewData` at the edge (the CLI); the renderer sees nothing else, so the same
record drives the Markdown, the HTML page, the charts and every export.
Amounts are in the reporting currency unless a field says otherwise; shares are fractions
in ``[0, 1]`` (``0.031`` is 3.1 %).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Literal

from bot.decisions.interface import DecisionLedger

#: What the data behind a review cannot see; shown in every review's "Method and caveats".
DEFAULT_CAVEATS: tuple[str, ...] = (
    "Contributions to private upstream repositories, and contributions the forge restricts "
    "(private profiles, restricted contributions), are not visible and count as zero.",
    "Commits outside an upstream's default branch are not counted.",
    "Money paid outside the configured channels (GitHub Sponsors, Open Collective, the ledger file) is not seen.",
    "Contributions by people who are not members of the configured organisations or identities are not attributed.",
    "Usage comes from the SBOMs the organisation publishes; repositories without an SBOM are absent.",
)

#: The upstream column of payments that name no upstream we use (they count in the money given, for no upstream).
UNATTRIBUTED = "(no upstream)"

#: The Open Source Pledge minimum, in USD per developer per year.
PLEDGE_USD_PER_DEVELOPER = 2000.0


class ReviewError(Exception):
    """The review cannot be rendered (a template is missing or wrong, the output is not writable)."""


class RiskKind(StrEnum):
    """The sovereignty risks the register flags, in the order a row lists them."""

    LICENCE_DRIFT = "licence-drift"
    BUS_FACTOR_1 = "bus-factor-1"
    ARCHIVED = "archived"
    COMPANY_WORK = "one-company-work"  # one company does most of the work: a sustainability risk
    COMPANY_CONTROL = "one-company-control"  # one company controls it: a relicensing and roadmap risk
    RELICENSABLE = "relicensable"  # that company's CLA lets it relicense on its own


Unit = Literal["count", "money", "share", "ratio"]


@dataclass(frozen=True, slots=True)
class Headline:
    """One headline number with last quarter's value, so the summary can show the change."""

    key: str  # stable identifier, e.g. "upstreams", "money_given"
    label: str
    value: float
    previous: float | None = None  # None: no earlier snapshot
    unit: Unit = "count"
    currency: str | None = None  # for money not in the reporting currency (the Pledge counts USD)

    @property
    def change(self) -> float | None:
        return None if self.previous is None else self.value - self.previous


#: How the review names repositories without a known team (``[usage]`` team settings).
NO_TEAM = "(no team)"


@dataclass(frozen=True, slots=True)
class TeamUsageRow:
    """The part of one upstream's usage that one team's repositories make: who drives the gap, for charge-back.

    ``share`` is the part of the upstream's usage (the parts of an upstream add up to 1);
    ``recommended_amount`` is that share of the upstream's recommended amount."""

    team: str | None  # None: repositories without a known team
    repos: int
    usage: float
    share: float
    recommended_amount: float

    @property
    def label(self) -> str:
        return self.team or NO_TEAM


@dataclass(frozen=True, slots=True)
class GapRow:
    """One upstream as the gap model scored it (field names follow ``bot.gaps`` ``GapScore``)."""

    upstream: str  # HOST/OWNER/NAME
    usage_share: float
    expected_share: float
    investment_share: float
    gap: float  # expected_share - investment_share; positive means under-investment
    risk: float  # multiplier, 1.0 = no risk signal
    priority: float
    recommended_amount: float  # per year, still to give
    given_amount: float  # money given, on the same yearly basis as recommended_amount
    terms: tuple[str, ...] = ()  # the explanation, e.g. "usage 0.031 = 14 repos × direct 1.0 × runtime 1.0"
    repos: int = 0  # internal repositories using it
    risk_signals: tuple[str, ...] = ()  # the signals that raised the risk (bus_factor, archived, ...)
    usage_by_team: tuple[TeamUsageRow, ...] = ()  # largest first, no team last


@dataclass(frozen=True, slots=True)
class RiskRow:
    """One upstream of the sovereignty risk register, with every flag it carries."""

    upstream: str
    flags: tuple[RiskKind, ...]  # in RiskKind order
    detail: str  # one clause per flag, "; "-joined, e.g. "MIT → BUSL-1.1; one company makes half of recent commits"
    usage_share: float
    exit: str | None = None  # a credible exit (an open fork), when one is known: config/exits.toml


@dataclass(frozen=True, slots=True)
class ContributionRow:
    """Contributions of one kind by the organisation's people to one upstream in the period."""

    upstream: str
    kind: str  # a bot.gaps ContributionKind value: "pr_merged", "pr_opened", "review", "issue", "commit"
    count: int
    team: str | None = None  # the team owning the repositories that use the upstream, when mapped


@dataclass(frozen=True, slots=True)
class PaymentRow:
    """Money given to one upstream through one channel in the period."""

    upstream: str
    channel: str  # e.g. "github-sponsors", "open-collective", "ledger:tidelift"
    amount: float  # in ``currency``, everything paid (converted or not)
    currency: str
    converted: float  # in the reporting currency: the part with a rate
    team: str | None = None
    rate: float | None = None  # reporting-currency units per unit; a weighted mean over several dated rates
    rate_source: str = ""  # "ECB 2026-03-16", "funding.rates", "same currency", or the first … last ECB day
    unconverted: float = 0.0  # in ``currency``: paid but without a rate, so in no converted total
    note: str = ""  # why, e.g. "5,000.00 EUR not converted: no rate for 2026-03-17"


@dataclass(frozen=True, slots=True)
class QuarterCount:
    """Contributions of one kind in one quarter (for the four-quarter trend chart)."""

    quarter: str  # e.g. "2026Q3"
    kind: str
    count: int


@dataclass(frozen=True, slots=True)
class UnresolvedRow:
    """A package no upstream could be found for; kept and reported, never dropped."""

    package_key: str
    reason: str
    repos: int = 0


@dataclass(frozen=True, slots=True)
class NotScoredRow:
    """An upstream the organisation uses but leaves out of the gap model (its own repository, say), and why."""

    upstream: str
    reason: str
    repos: int = 0


@dataclass(frozen=True, slots=True)
class PledgeMember:
    """How the organisation appears as an Open Source Pledge member (from configuration)."""

    id: str  # the Pledge's member id, e.g. "example-corp"
    name: str
    description: str
    short_description: str
    url: str
    join_date: date | None  # None: not configured (the export stops, naming report.pledge_join_date)
    role: str = "Member"
    active: bool = True


@dataclass(frozen=True, slots=True)
class PledgeReport:
    """One year of the Pledge's annual reports (amounts in USD, as the Pledge requires)."""

    year: str
    report_date: date
    url: str
    developers: float
    usd_amount_paid: float


@dataclass(frozen=True, slots=True)
class PledgeStatus:
    """Where the organisation stands against the Pledge over the trailing twelve months."""

    developers: float
    amount: float  # reporting currency, trailing twelve months
    amount_usd: float
    year: str  # the report year, e.g. "2026"
    member: PledgeMember | None = None  # None: not a member, so no pledge.json
    report_url: str | None = None
    history: tuple[PledgeReport, ...] = ()  # earlier annual reports, newest first
    usd_per_developer_target: float = PLEDGE_USD_PER_DEVELOPER

    @property
    def usd_per_developer(self) -> float:
        return self.amount_usd / self.developers if self.developers else 0.0

    @property
    def meets_pledge(self) -> bool:
        return self.developers > 0 and self.usd_per_developer >= self.usd_per_developer_target


@dataclass(frozen=True, slots=True)
class ReviewData:
    """Everything one quarterly review shows; plain data, no store or network behind it."""

    organisation: str
    quarter: str  # e.g. "2026Q3"
    period_start: date
    period_end: date  # inclusive
    currency: str  # the reporting currency
    generated_at: datetime
    budget: float  # the yearly open-source budget the recommendations share out
    headline: tuple[Headline, ...]
    gaps: tuple[GapRow, ...]  # every scored upstream: the quadrant and gaps.csv use all of them
    risks: tuple[RiskRow, ...]
    contributions: tuple[ContributionRow, ...]
    payments: tuple[PaymentRow, ...]
    contributions_by_quarter: tuple[QuarterCount, ...]
    pledge: PledgeStatus
    unresolved: tuple[UnresolvedRow, ...]
    method: tuple[str, ...]
    not_scored: tuple[NotScoredRow, ...] = ()  # used, but left out of the model with a reason
    caveats: tuple[str, ...] = DEFAULT_CAVEATS
    previous_quarter: str | None = None  # the snapshot the changes are measured against
    top_gaps_limit: int = 10
    gap_threshold: float = 0.0  # the one definition of under-invested (bot.gaps.under_invested): share ...
    amount_threshold: float = 0.0  # ... and money still to give per year
    decisions: DecisionLedger | None = None  # people's decisions about gaps (templates/review/_decisions.*)
    teams_mapped: bool = False  # whether repos map to teams, so the "by team" tables mean something
    # False: no gap snapshot was taken at or before the quarter's end, so nothing was scored and the gaps,
    # budget and risk register are empty because unknown, not because every upstream is well funded.
    scored: bool = True
    # why this period was chosen, shown above the summary (a first review of the running quarter to date)
    note: str = ""
    # True: the quarter is still running, its figures are "to date" and compare with the same span of the
    # previous quarter, which ``comparison`` names ("2026Q3 to 2026-08-15 (the same first 46 days)")
    to_date: bool = False
    comparison: str = ""


@dataclass(frozen=True, slots=True)
class ReviewFiles:
    """The files one rendering wrote."""

    markdown: Path
    html: Path
    gaps_csv: Path
    funding_csv: Path
    contributions_csv: Path
    usage_by_team_csv: Path
    review_json: Path
    pledge_json: Path | None  # None when the organisation is not a Pledge member
