"""Money as the evidence stage keeps it: Decimal amounts in their own currency, converted only to report.

A :class:`Payment` is one amount paid to one payee through one channel on one day, with the
upstreams it is attributed to (several: split evenly, and ``attribution`` says so; none: kept as
unattributed). ``funding.rates`` maps a currency to its value in the reporting currency; an amount
whose currency has no rate is reported as not converted rather than guessed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal

CENT = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class Payment:
    """One payment in its original currency; ``upstreams`` share it evenly."""

    channel: str  # github_sponsors | open_collective | ledger
    payee: str  # sponsored login, collective slug, ledger upstream or payee text
    paid_on: datetime
    amount: Decimal
    currency: str
    upstreams: tuple[str, ...] = ()
    attribution: str = ""
    subchannel: str = ""  # the ledger's channel (tidelift, thanks.dev, ...), or the sponsoring account
    source: str = ""  # where it was read

    @property
    def key(self) -> str:
        """A deterministic id, so a rerun upserts instead of adding a copy."""
        parts = (self.channel, self.subchannel, self.payee.lower(), self.paid_on.isoformat(), str(self.amount))
        return hashlib.sha256("\x1f".join((*parts, self.currency, self.source)).encode()).hexdigest()[:32]

    def share(self) -> Decimal:
        """What each attributed upstream gets (the whole amount when there is one, or none)."""
        return self.amount / len(self.upstreams) if self.upstreams else self.amount


def cents(value: int) -> Decimal:
    """An integer number of cents as a Decimal amount."""
    return (Decimal(value) / 100).quantize(CENT)


def convert(amount: Decimal, currency: str, rates: Mapping[str, float], reporting: str) -> Decimal | None:
    """``amount`` in the reporting currency, or None when ``currency`` has no rate."""
    if currency.upper() == reporting.upper():
        return amount
    rate = rates.get(currency.upper())
    if rate is None:
        return None
    return (amount * Decimal(str(rate))).quantize(CENT, rounding=ROUND_HALF_EVEN)
