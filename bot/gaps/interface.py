"""The gap model's port: the records it reads and writes, and its base error.

Inputs are one record per upstream and concern (usage, investment, risk signals); the output is one
:class:`GapScore` per upstream that carries its own explanation as :class:`Term` s, so every number
a report shows can be traced back to counts, weights and totals. Upstreams are named by their
canonical key ``host/owner/name`` (see :class:`bot.records.UpstreamKey`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Final, Literal, NamedTuple

from bot.records import Depth, Scope


class GapError(Exception):
    """The gap model cannot run on these inputs; the message starts with its subject."""


class ContributionKind(StrEnum):
    """The kinds of code contribution the evidence stage counts, each weighted in ``config/gaps.toml``."""

    PR_MERGED = "pr_merged"
    PR_OPENED = "pr_opened"
    REVIEW = "review"
    ISSUE = "issue"
    COMMIT = "commit"


# --------------------------------------------------------------------------- inputs


@dataclass(frozen=True, slots=True)
class RepoUse:
    """One internal repository's use of an upstream (through any of its packages).

    A repository may appear several times (one per package); the model keeps the strongest use,
    the one with the highest depth factor × scope factor.
    """

    repo: str  # owner/name of the internal repository
    depth: Depth = Depth.UNKNOWN
    scope: Scope = Scope.UNKNOWN
    weight: float | None = None  # the repository's weight (RepositoryRow.weight); None: usage.default_repo_weight
    team: str | None = None  # the repository's team (RepositoryRow.team); None: no team known


@dataclass(frozen=True, slots=True)
class UpstreamUsage:
    """Which internal repositories use an upstream, and how."""

    upstream: str
    repos: tuple[RepoUse, ...]


@dataclass(frozen=True)
class Investment:
    """What the organisation gave an upstream over the window: contributions by kind, money by channel.

    Money is in the reporting currency (converted by the evidence stage).
    """

    upstream: str
    contributions: Mapping[ContributionKind, int] = field(default_factory=dict)
    money: Mapping[str, float] = field(default_factory=dict)  # channel (github-sponsors, opencollective, ...) -> amount
    # payments that could not be converted, each with its reason ("5,000.00 EUR not converted: no rate for
    # 2026-03-17"): in no amount above, and shown beside the money wherever the money is shown
    not_converted: tuple[str, ...] = ()

    @property
    def money_total(self) -> float:
        return math.fsum(self.money.values())


@dataclass(frozen=True, slots=True)
class LicenceDrift:
    """The upstream's licence changed from an open-source one to a source-available one."""

    from_licence: str | None
    to_licence: str | None


@dataclass(frozen=True, slots=True)
class RiskSignals:
    """What the evidence stage knows about an upstream's health. ``None`` means unknown, never "zero"."""

    upstream: str
    bus_factor: int | None = None  # fewest people making half of recent commits
    active_maintainers: int | None = None  # people who committed or released in the recent window
    archived: bool = False
    deprecated: bool = False
    asks_for_funding: bool = False  # has funding channels (FUNDING.yml, funding.json, Sponsors listing)
    known_income: float | None = None  # yearly income seen elsewhere (e.g. Open Collective), reporting currency
    licence_drift: LicenceDrift | None = None
    elephant_factor: int | None = None  # fewest organisations making half of recent commits
    governance: str | None = None  # foundation | company | community | individual
    contributor_agreement: str | None = None  # cla | dco | none; None: not observed

    @property
    def company_does_the_work(self) -> bool:
        """One company does most of the work (elephant factor 1): a sustainability risk, whoever governs."""
        return self.elephant_factor == 1

    @property
    def company_controls(self) -> bool:
        """One company controls the project: company governance, or the company doing the work holds a CLA
        over every contribution. A foundation's governance rules control out (its CLA is the foundation's)."""
        if self.governance == "foundation":
            return False
        return self.governance == "company" or (self.company_does_the_work and self.contributor_agreement == "cla")

    @property
    def single_vendor(self) -> bool:
        """One company does the work or controls the project: the model's ``single_vendor`` risk factor."""
        return self.company_does_the_work or self.company_controls

    @property
    def relicensable(self) -> bool:
        """One company controlling the project holds a CLA over every contribution: it can relicense on its own.

        Under a foundation the CLA is the foundation's (the Apache ICLA, the CNCF's), not the dominant
        vendor's: relicensing is then the foundation's governed decision, not a vendor's lever.
        """
        return self.company_controls and self.contributor_agreement == "cla"


@dataclass(frozen=True, slots=True)
class Budget:
    """The organisation's yearly open-source budget and how it was set.

    ``window_days`` is the length of the window that money in :class:`Investment` covers; given money is
    scaled to a year before it is compared with the yearly budget.
    """

    yearly_amount: float
    currency: str = "USD"
    source: str = "configured"  # configured | pledge
    developers: int | None = None
    per_developer: float | None = None
    window_days: int = 365


# --------------------------------------------------------------------------- outputs


OpName = Literal["sum", "product", "ratio", "difference", "min", "max"]


class Op:
    """How a term's value follows from its operands (plain strings, stored in JSON as they are)."""

    SUM: Final = "sum"
    PRODUCT: Final = "product"
    RATIO: Final = "ratio"  # first ÷ second, 0 when the second is 0
    DIFFERENCE: Final = "difference"  # first − second
    MIN: Final = "min"
    MAX: Final = "max"
    ALL: Final = frozenset({"sum", "product", "ratio", "difference", "min", "max"})


_SYMBOL: dict[str, str] = {Op.SUM: " + ", Op.PRODUCT: " × ", Op.RATIO: " ÷ ", Op.DIFFERENCE: " − "}


def format_number(value: float) -> str:
    """Four significant digits, without exponent noise for ordinary magnitudes."""
    if value == 0:
        return "0"
    if abs(value) >= 1000:
        return f"{value:,.2f}"
    return f"{value:.4g}"


class Operand(NamedTuple):
    """One input of a term. ``ref`` names the term it comes from, when it comes from one.

    Operands and terms are named tuples: a score carries a few dozen of them and a large
    organisation scores thousands of upstreams, so they must be cheap to build.
    """

    label: str
    value: float
    ref: str | None = None
    is_count: bool = False  # render as "14 repos" rather than "weight 1.0"

    def text(self) -> str:
        if self.is_count:
            return f"{format_number(self.value)} {self.label}"
        return f"{self.label} {format_number(self.value)}"


class Term(NamedTuple):
    """One step of a score's arithmetic: ``name value = operand op operand ...``."""

    name: str
    value: float
    op: OpName
    operands: tuple[Operand, ...]
    note: str = ""

    def evaluate(self) -> float:
        """Recompute the value from the operands (what a reader would do by hand)."""
        values = [o.value for o in self.operands]
        if self.op == Op.SUM:
            return math.fsum(values)
        if self.op == Op.PRODUCT:
            return math.prod(values)
        if self.op == Op.RATIO:
            return values[0] / values[1] if values[1] else 0.0
        if self.op == Op.DIFFERENCE:
            return values[0] - values[1]
        if self.op == Op.MIN:
            return min(values)
        return max(values)

    def text(self) -> str:
        if self.op in (Op.MIN, Op.MAX):
            body = f"{self.op}({', '.join(o.text() for o in self.operands)})"
        else:
            body = _SYMBOL[self.op].join(o.text() for o in self.operands)
        line = f"{self.name} {format_number(self.value)} = {body}"
        return f"{line}  ({self.note})" if self.note else line


class TeamUsage(NamedTuple):
    """The part of an upstream's usage that one team's repositories make (``team`` None: no team known).

    The parts of one upstream add up to its usage: each repository counts once, in its team."""

    team: str | None
    usage: float
    repos: int


@dataclass(frozen=True)
class GapScore:
    """The model's verdict on one upstream; ``terms`` hold the arithmetic behind every number."""

    upstream: str
    repos: int  # internal repositories that use it
    usage_weight: float
    usage_share: float
    risk: float  # multiplier ≥ 1
    risk_signals: tuple[str, ...]  # names of the signals that raised it (bus_factor, archived, ...)
    expected_share: float
    code_score: float
    code_share: float
    money: float  # given in the window, reporting currency
    money_share: float
    investment_share: float
    gap: float  # expected share − investment share
    priority: float  # max(gap, 0) × risk
    given: float  # money scaled to a year
    recommended: float  # yearly amount still to give, ≥ 0
    terms: tuple[Term, ...]
    usage_by_team: tuple[TeamUsage, ...] = ()  # largest first, "no team" last

    def team_parts(self) -> tuple[tuple[TeamUsage, float, float], ...]:
        """Each team's usage with its share of this upstream's usage and that share of the recommended
        amount: the one computation the review, ``upkeep explain`` and the query layer show."""
        total = self.usage_weight
        return tuple(
            (part, share, self.recommended * share)
            for part in self.usage_by_team
            for share in (part.usage / total if total > 0 else 0.0,)
        )

    def term(self, name: str) -> Term:
        for term in self.terms:
            if term.name == name:
                return term
        raise KeyError(f"{self.upstream}: no term {name!r}")


@dataclass(frozen=True, slots=True)
class NotScored:
    """An upstream the organisation uses but leaves out of the gap model, and why (its own repository, say)."""

    upstream: str
    reason: str
    repos: int = 0  # internal repositories using it


@dataclass(frozen=True, slots=True)
class GapSnapshot:
    """One stored score run."""

    id: int
    created_at: datetime
    window_start: datetime
    window_end: datetime
    budget: float
    currency: str
    budget_source: str
    developers: int | None
    weights_digest: str
    upstreams: int
    not_scored: tuple[NotScored, ...] = ()


@dataclass(frozen=True, slots=True)
class Mover:
    """An upstream whose gap changed between two snapshots."""

    upstream: str
    gap_before: float | None  # None: not scored before
    gap_after: float | None  # None: not scored any more
    recommended_before: float | None
    recommended_after: float | None

    @property
    def change(self) -> float:
        return (self.gap_after or 0.0) - (self.gap_before or 0.0)


@dataclass(frozen=True, slots=True)
class TrendDiff:
    """What changed between two snapshots: gaps that opened, gaps that closed, the biggest movers."""

    new_gaps: tuple[Mover, ...]
    closed_gaps: tuple[Mover, ...]
    movers: tuple[Mover, ...]
