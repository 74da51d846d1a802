"""The gap model's investment and risk inputs, read from what the evidence and signals stages stored.

Usage comes from :mod:`bot.store.usage`. Here: contributions by kind and money by channel over a
window, counted only for the upstreams the inventory resolves to (contributions to other
repositories are "also contributed to", not investment in what the organisation uses), and each
upstream's latest signals as :class:`~bot.gaps.interface.RiskSignals`.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol, cast

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.config import Settings
from bot.gaps.interface import ContributionKind, Investment, LicenceDrift, RiskSignals
from bot.sources.money import Payment
from bot.sources.rates import Conversion, RateBook
from bot.store.evidence import Bounds, load_contribution_counts, load_identities, load_payments, load_upstream_keys
from bot.store.rates import rate_book
from bot.store.signals import load_latest_signal_fields
from bot.store.tables import LicenceDriftRow

log = logging.getLogger(__name__)

_KINDS = {kind.value: kind for kind in ContributionKind}


@dataclass(frozen=True, slots=True)
class UpstreamConversion:
    """One upstream's share of one payment, converted (or not, with the reason)."""

    upstream: str
    channel: str
    conversion: Conversion


@dataclass(frozen=True)
class InvestmentInputs:
    """Investments per upstream, and what could not be counted (kept as data, shown in summaries)."""

    investments: list[Investment]
    no_rate: tuple[str, ...] = ()  # currencies of payments that could not be converted
    unknown_kinds: tuple[str, ...] = ()  # contribution kinds the model has no weight for
    unattributed_payments: int = 0  # payments in the window that name no upstream
    unconverted: tuple[UpstreamConversion, ...] = ()  # shares left out of money, each with its reason


def code_by_upstream(
    session: Session, *, start: datetime, end: datetime, bounds: Bounds, upstreams: set[str]
) -> dict[str, dict[str, int]]:
    """upstream → kind → count of the people who count, in the window, for the given upstreams only."""
    out: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for repos in load_contribution_counts(session, start=start, end=end, bounds=bounds).values():
        for repo, kinds in repos.items():
            if repo in upstreams:
                for kind, count in kinds.items():
                    out[repo][kind] += count
    return {key: dict(kinds) for key, kinds in out.items()}


def code_by_upstream_in(
    engine: Engine, *, start: datetime, end: datetime, bounds: Bounds, upstreams: set[str]
) -> dict[str, dict[str, int]]:
    """:func:`code_by_upstream` in a session of its own."""
    with Session(engine) as session:
        return code_by_upstream(session, start=start, end=end, bounds=bounds, upstreams=upstreams)


def upstream_conversions(payments: list[Payment], book: RateBook, upstreams: set[str]) -> list[UpstreamConversion]:
    """Each used upstream's share of each attributed payment, converted at the rate of the payment's date:
    the one computation behind the gap model's money, ``upkeep explain`` and the issues' notes."""
    out = []
    for payment in payments:
        for key in payment.upstreams:
            if key in upstreams:
                out.append(UpstreamConversion(key, payment.channel, book.share(payment)))
    return out


def conversions_of(
    engine: Engine, settings: Settings, upstream: str, *, window_start: datetime, window_end: datetime
) -> list[Conversion]:
    """One upstream's payments in ``(window_start, window_end]`` as converted for its score."""
    with Session(engine) as session:
        payments = load_payments(session, start=window_start, end=window_end, bounds="(start, end]")
    book = rate_book(engine, settings)
    return [c.conversion for c in upstream_conversions(payments, book, {upstream})]


def load_investment_inputs(
    engine: Engine, settings: Settings, *, window_start: datetime, window_end: datetime
) -> InvestmentInputs:
    """Contributions and money in ``(window_start, window_end]`` per upstream the inventory resolves to."""
    with Session(engine) as session:
        upstreams = load_upstream_keys(session)
        code = code_by_upstream(session, start=window_start, end=window_end, bounds="(start, end]", upstreams=upstreams)
        payments = load_payments(session, start=window_start, end=window_end, bounds="(start, end]")
    unknown: set[str] = set()
    counts: dict[str, dict[ContributionKind, int]] = defaultdict(dict)
    for key, kinds in code.items():
        for kind, count in kinds.items():
            known = _KINDS.get(kind)
            if known is None:
                unknown.add(kind)
            elif count > 0:
                counts[key][known] = count
    money: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    unattributed = sum(1 for payment in payments if not payment.upstreams)
    unconverted = []
    for share in upstream_conversions(payments, rate_book(engine, settings), upstreams):
        if share.conversion.converted is None:
            unconverted.append(share)
            continue
        money[share.upstream][share.channel] += float(share.conversion.converted)
    no_rate = sorted({u.conversion.currency for u in unconverted})
    if unconverted:
        log.warning("gap inputs: %d payment shares in %s not converted", len(unconverted), ", ".join(no_rate))
    notes: dict[str, list[str]] = defaultdict(list)
    for share in unconverted:
        notes[share.upstream].append(f"{share.channel} {share.conversion.text()}")
    investments = [
        Investment(key, dict(counts.get(key, {})), dict(money.get(key, {})), tuple(notes.get(key, ())))
        for key in sorted(set(counts) | set(money) | set(notes))
    ]
    return InvestmentInputs(investments, tuple(no_rate), tuple(sorted(unknown)), unattributed, tuple(unconverted))


def load_investments(
    engine: Engine, settings: Settings, *, window_start: datetime, window_end: datetime
) -> list[Investment]:
    """What the organisation gave each upstream it uses in ``(window_start, window_end]``, money converted."""
    return load_investment_inputs(engine, settings, window_start=window_start, window_end=window_end).investments


#: The columns of a signals row the gap model reads (:func:`risk_signals_of`).
RISK_FIELDS = (
    "bus_factor",
    "active_maintainers",
    "archived",
    "deprecated",
    "funding",
    "has_sponsors_listing",
    "elephant_factor",
    "governance",
    "contributor_agreement",
)


class SignalFields(Protocol):
    """What :func:`risk_signals_of` reads of a signals row: an :class:`UpstreamSignalRow`, or a
    row of only :data:`RISK_FIELDS`."""

    @property
    def upstream_key(self) -> str: ...
    @property
    def bus_factor(self) -> int | None: ...
    @property
    def active_maintainers(self) -> int | None: ...
    @property
    def archived(self) -> bool | None: ...
    @property
    def deprecated(self) -> bool | None: ...
    @property
    def funding(self) -> list[Any]: ...
    @property
    def has_sponsors_listing(self) -> bool | None: ...
    @property
    def elephant_factor(self) -> int | None: ...
    @property
    def governance(self) -> str: ...
    @property
    def contributor_agreement(self) -> str | None: ...


def risk_signals_of(row: SignalFields, drift: LicenceDriftRow | None) -> RiskSignals:
    """One scan's observations in the model's terms; unobserved values stay ``None`` (unknown, never zero)."""
    governance = row.governance if row.governance and row.governance != "unknown" else None
    return RiskSignals(
        upstream=row.upstream_key,
        bus_factor=row.bus_factor,
        active_maintainers=row.active_maintainers,
        archived=bool(row.archived),
        deprecated=bool(row.deprecated),
        asks_for_funding=bool(row.funding) or bool(row.has_sponsors_listing),
        licence_drift=LicenceDrift(drift.from_spdx, drift.to_spdx) if drift is not None else None,
        elephant_factor=row.elephant_factor,
        governance=governance,
        contributor_agreement=row.contributor_agreement,
    )


def load_risk_signals(engine: Engine) -> list[RiskSignals]:
    """Every upstream's newest signals, with its latest licence drift that is a sovereignty risk."""
    with Session(engine) as session:
        latest = {row.upstream_key: row for row in load_latest_signal_fields(session, RISK_FIELDS)}
        drifts = session.exec(
            select(LicenceDriftRow)
            .where(col(LicenceDriftRow.sovereignty_risk).is_(True))
            .order_by(col(LicenceDriftRow.first_seen_at), col(LicenceDriftRow.id))
        ).all()
    last_drift = {row.upstream_key: row for row in drifts}
    return [risk_signals_of(cast(SignalFields, latest[key]), last_drift.get(key)) for key in sorted(latest)]


def count_people(engine: Engine, *, on: date) -> int:
    """People whose contributions count on ``on`` (an identity valid that day): the default developer count."""
    with Session(engine) as session:
        identities = load_identities(session)
    people = {
        i.person
        for i in identities
        if (i.valid_from is None or i.valid_from <= on) and (i.valid_until is None or on <= i.valid_until)
    }
    return len(people)


def payments_in(engine: Engine, *, start: datetime, end: datetime, bounds: Bounds = "[start, end)") -> list[Payment]:
    """Every payment in the window, attributed or not (the review and the Pledge count them all)."""
    with Session(engine) as session:
        return load_payments(session, start=start, end=end, bounds=bounds)


def upstream_keys(engine: Engine) -> set[str]:
    with Session(engine) as session:
        return load_upstream_keys(session)
