"""The delivery port: the records the gap stage hands over, the outbox item, the sink protocol, the base error.

Delivery is exactly-once by construction: every message or issue change is an outbox item
with a deterministic key; a sink returns the remote id (Slack ``ts``, GitHub issue number)
and only then is the item marked delivered. A sink told that an earlier attempt may have
posted first looks for that post (Slack message metadata, the hidden issue marker) and
adopts it instead of posting twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol, runtime_checkable

Channel = Literal["slack", "github", "mattermost", "matrix", "teams", "email"]
Action = Literal["post", "update", "open", "close"]


@dataclass(frozen=True, slots=True)
class Term:
    """One explained term of a gap score (``usage weight``, ``risk: archived``...)."""

    name: str
    value: float
    explanation: str = ""


@dataclass(frozen=True, slots=True)
class DigestGap:
    """One line of the digest's top-gaps list."""

    upstream: str  # HOST/OWNER/NAME
    gap: float  # expected share minus investment share
    risk: float
    recommended_amount: float
    given_amount: float = 0.0
    usage_share: float = 0.0
    investment_share: float = 0.0


@dataclass(frozen=True, slots=True)
class LicenceDrift:
    """A licence change seen since the last digest (e.g. MIT to a source-available licence)."""

    upstream: str
    before: str | None
    after: str | None


@dataclass(frozen=True, slots=True)
class DigestData:
    """Everything one Slack digest says; ``period`` (e.g. ``2026-W48``) keys it in the outbox."""

    organisation: str
    period: str
    currency: str
    upstream_count: int
    usage_total: int  # internal repositories × components counted, for the headline
    yearly_budget: float
    recommended_total: float
    given_total: float
    top_gaps: tuple[DigestGap, ...] = ()
    new_gaps: tuple[str, ...] = ()
    closed_gaps: tuple[str, ...] = ()
    licence_drift: tuple[LicenceDrift, ...] = ()
    contributions_since_last: int = 0
    money_given_since_last: float = 0.0
    review_url: str | None = None
    decisions: tuple[str, ...] = ()  # decisions taken since the last digest, one line each ("upstream: words")
    since: datetime | None = None  # when the last digest (any channel, an earlier week) was delivered; None: none
    # upstream (and "dashboard") → the web address of its issue (bot.deliver.issue_links), filled when planned
    links: Mapping[str, str] = field(default_factory=dict)

    def is_material(self) -> bool:
        """Whether anything changed since the last digest that is worth a message."""
        return bool(
            self.new_gaps
            or self.closed_gaps
            or self.licence_drift
            or self.contributions_since_last
            or self.money_given_since_last
            or self.decisions
        )


@dataclass(frozen=True, slots=True)
class GapIssueData:
    """What one upstream's GitHub issue says. Every text field may be upstream-controlled."""

    upstream: str  # HOST/OWNER/NAME
    display_name: str  # the name people know, e.g. the main package name
    usage_share: float
    expected_share: float
    investment_share: float
    gap: float
    risk: float
    priority: float
    recommended_amount: float
    given_amount: float
    currency: str = "USD"
    terms: tuple[Term, ...] = ()
    risk_flags: tuple[str, ...] = ()
    packages: tuple[str, ...] = ()
    internal_repos: tuple[str, ...] = ()
    funding_links: tuple[str, ...] = field(default=())  # shown as code, never as links
    credible_exit: str | None = None  # an open fork that continues it (config/exits.toml), in one line
    # money left out of "given" because it could not be converted, with the reasons (empty: none)
    not_converted: str = ""


@dataclass(frozen=True, slots=True)
class Delivery:
    """One outbox item as a sink sees it: what to do, where, and the rendered content."""

    key: str
    channel: Channel
    target: str  # Slack channel id, or OWNER/NAME of the OSPO repository
    subject: str  # "digest", "gap:HOST/OWNER/NAME", "dashboard"
    action: Action
    payload: Mapping[str, Any]
    created_at: datetime


class DeliveryError(Exception):
    """A delivery failed; ``permanent`` when retrying the same content cannot succeed."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class Sink(Protocol):
    """A remote place deliveries go to."""

    channel: Channel

    def deliver(self, item: Delivery, *, maybe_sent: bool) -> str:
        """Carry out ``item`` and return its remote id.

        ``maybe_sent`` says an earlier attempt started and did not record its outcome; the sink
        must then look for that attempt's result and adopt it instead of posting again.
        Raises :class:`DeliveryError` when the remote refuses or cannot be reached.
        """
        ...


@runtime_checkable
class DuplicateSweeper(Protocol):
    """A sink that can find copies of its own posts made outside the outbox and remove them."""

    def close_duplicates(self) -> list[str]:
        """Close the copies; return a line for each, or raise :class:`DeliveryError`."""
        ...


@dataclass(frozen=True, slots=True)
class WatchedIssue:
    """An issue upkeep delivered, as it is now: what a person may have done to it."""

    number: int
    state: str  # open | closed
    state_reason: str | None
    closed_at: datetime | None
    updated_at: datetime
    body: str


@dataclass(frozen=True, slots=True)
class IssueEvent:
    """One entry of an issue's event log (``closed``, ``reopened``): who, when, with which reason."""

    event: str
    actor: str | None
    at: datetime
    state_reason: str | None = None


@dataclass(frozen=True, slots=True)
class BodyRevision:
    """One saved version of an issue body (GitHub GraphQL ``userContentEdits``)."""

    editor: str | None
    edited_at: datetime
    body: str


@runtime_checkable
class IssueWatcher(Protocol):
    """A sink that can read back what people did to the issues it delivered (for decisions)."""

    def watch(self, numbers: Mapping[str, int]) -> dict[str, WatchedIssue]:
        """The current state of each subject's issue (absent: deleted or unreadable)."""
        ...

    def events(self, number: int) -> list[IssueEvent]:
        """The issue's event log, oldest first."""
        ...

    def revisions(self, number: int) -> list[BodyRevision]:
        """The issue body's saved versions, oldest first (empty when it was never edited)."""
        ...
