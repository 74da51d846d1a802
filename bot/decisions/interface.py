"""A person's decision about one upstream's gap, and the error for a bad one.

Decisions come from the OSPO repository (closing a gap issue, ticking a box on the dashboard) and
from ``upkeep decide``. They are records, never overwritten: the newest decision about an upstream
is the one that counts (:mod:`bot.decisions.rules`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final, Literal

DecisionKind = Literal["fund", "contribute", "decline", "done", "snooze", "reopen"]
KINDS: Final = ("fund", "contribute", "decline", "done", "snooze", "reopen")
#: The kinds a person can tick on the dashboard, in the order the dashboard shows them.
CONTROLS: Final = ("fund", "contribute", "decline", "snooze")
DecisionSource = Literal["issue", "dashboard", "cli"]


class DecisionError(Exception):
    """A decision cannot be recorded as given; the message starts with its subject."""


@dataclass(frozen=True, slots=True)
class Decision:
    """Who decided what about an upstream, when, and where it was read."""

    upstream: str  # HOST/OWNER/NAME
    kind: DecisionKind
    actor: str  # GitHub login, or the local user for `upkeep decide`; "unknown" when GitHub kept no trace
    decided_at: datetime
    source: DecisionSource
    source_ref: str = ""  # "OWNER/NAME#12" for an issue or the dashboard
    amount: float | None = None  # planned money (fund), in ``currency``
    currency: str | None = None
    note: str = ""
    gap: float | None = None  # the upstream's gap when the decision was taken (for "grew materially")

    def words(self) -> str:
        """One line for issues, the dashboard, the digest and ``upkeep explain``."""
        what = {
            "fund": "fund",
            "contribute": "contribute",
            "decline": "declined",
            "done": "done",
            "snooze": "snoozed",
            "reopen": "reopened",
        }[self.kind]
        if self.kind == "fund" and self.amount is not None:
            what += f" {self.amount:,.0f} {self.currency or ''}".rstrip()
        who = f"@{self.actor}" if self.source != "cli" and self.actor != "unknown" else self.actor
        return f"{what} by {who} on {self.decided_at:%Y-%m-%d}" + (f" ({self.note})" if self.note else "")


@dataclass(frozen=True, slots=True)
class DecisionLine:
    """One decision as the review and ``upkeep explain`` show it."""

    upstream: str
    what: str  # fund, declined, ...
    actor: str
    decided_at: datetime
    source: str
    note: str
    planned: float | None  # planned money in the reporting currency (fund), None: none planned or no rate
    paid_since: float  # paid to the upstream since the decision, reporting currency
    words: str
    replaced: bool = False  # a plan (fund) a newer plan for the same upstream replaced: not in the totals


@dataclass(frozen=True, slots=True)
class DecisionLedger:
    lines: tuple[DecisionLine, ...]
    planned_total: float
    paid_total: float
    currency: str
    no_rate: tuple[str, ...]  # currencies of payments or plans left out for want of a rate
    no_rate_reasons: tuple[str, ...] = ()  # why each was not converted ("no rate for GBP: ..."), one line each
