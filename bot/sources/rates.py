"""Dated conversion into the reporting currency: one :class:`RateBook` converts every payment.

A payment converts at the rate of its own date. Rates come from ``[funding.rates]`` first (a fixed
rate the organisation chose, for every date) and otherwise from the ECB's euro reference rates in
the store: the rate of the payment's day, or of the nearest earlier day the ECB published
(weekends and TARGET holidays have none), looking back at most :data:`LOOKBACK` days. A cross rate
through the euro is ``units of the reporting currency per euro ÷ units of the currency per euro``
on that same ECB day. What cannot be converted says why ("no rate for 2026-03-17") and is never
counted as zero.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_EVEN, Decimal

from bot.sources.money import CENT, Payment

#: How far back a payment's day looks for the ECB's last published day (a long Easter weekend is four).
LOOKBACK = timedelta(days=7)
_RATE_PLACES = Decimal("0.000001")


@dataclass(frozen=True, slots=True)
class Conversion:
    """One amount in its own currency and, when a rate is known, in the reporting currency."""

    amount: Decimal
    currency: str
    day: date  # the payment's date
    converted: Decimal | None  # None: not converted (``reason`` says why)
    rate: Decimal | None = None  # units of the reporting currency per unit of ``currency``
    rate_day: date | None = None  # the ECB day whose rate was used (None: same currency or funding.rates)
    source: str = ""  # "same currency" | "funding.rates" | "ECB"
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.converted is not None

    def text(self) -> str:
        """``5250.00 EUR = 5775.00 at 1.100000 (ECB 2026-03-16)`` or ``5000.00 EUR not converted: ...``."""
        if self.converted is None:
            return f"{self.amount:,.2f} {self.currency} not converted: {self.reason}"
        if self.source == "same currency":
            return f"{self.amount:,.2f} {self.currency} on {self.day}"
        where = f"ECB {self.rate_day}" if self.source == "ECB" else self.source
        return f"{self.amount:,.2f} {self.currency} on {self.day} = {self.converted:,.2f} at {self.rate} ({where})"


class RateBook:
    """Converts amounts into ``reporting`` at dated ECB rates, ``overrides`` winning."""

    def __init__(
        self,
        reporting: str,
        overrides: Mapping[str, float] | None = None,
        ecb: Mapping[date, Mapping[str, Decimal]] | None = None,
    ) -> None:
        self.reporting = reporting.upper()
        self.overrides = {k.upper(): Decimal(str(v)) for k, v in (overrides or {}).items()}
        self._ecb = {day: {c.upper(): r for c, r in rates.items()} for day, rates in (ecb or {}).items()}
        self._days = sorted(self._ecb)

    @property
    def ecb_days(self) -> int:
        return len(self._days)

    def _per_euro(self, currency: str, rates: Mapping[str, Decimal]) -> Decimal | None:
        return Decimal(1) if currency == "EUR" else rates.get(currency)

    def rate(self, currency: str, on: date) -> tuple[Decimal, date | None, str] | str:
        """(rate, ECB day or None, source), or the reason there is none."""
        currency = currency.upper()
        if currency == self.reporting:
            return Decimal(1), None, "same currency"
        if currency in self.overrides:
            return self.overrides[currency], None, "funding.rates"
        if not self._days:
            return f"no rate for {currency}: no ECB reference rates in the store and none in funding.rates"
        index = bisect.bisect_right(self._days, on) - 1
        if index < 0 or on - self._days[index] > LOOKBACK:
            return f"no rate for {on}"
        day = self._days[index]
        rates = self._ecb[day]
        target, source = self._per_euro(self.reporting, rates), self._per_euro(currency, rates)
        if source is None:
            return f"no rate for {currency}: the ECB does not publish it; set it in funding.rates"
        if target is None:
            return f"no rate for {self.reporting}: the ECB does not publish it; set it in funding.rates"
        return (target / source).quantize(_RATE_PLACES, rounding=ROUND_HALF_EVEN), day, "ECB"

    def convert(self, amount: Decimal, currency: str, on: date) -> Conversion:
        """``amount`` of ``currency`` paid on ``on``, in the reporting currency (to the cent) or with a reason."""
        found = self.rate(currency, on)
        if isinstance(found, str):
            return Conversion(amount, currency.upper(), on, None, reason=found)
        rate, day, source = found
        value = (amount * rate).quantize(CENT, rounding=ROUND_HALF_EVEN)
        return Conversion(amount, currency.upper(), on, value, rate, day, source)

    def share(self, payment: Payment) -> Conversion:
        """One attributed upstream's share of ``payment`` (the whole amount when it names none or one)."""
        return self.convert(payment.share(), payment.currency, payment.paid_on.date())

    def whole(self, payment: Payment) -> Conversion:
        return self.convert(payment.amount, payment.currency, payment.paid_on.date())


def unconverted_total(conversions: Iterable[Conversion]) -> dict[str, Decimal]:
    """currency → the amount left unconverted (for "money not converted" headlines)."""
    out: dict[str, Decimal] = {}
    for c in conversions:
        if c.converted is None:
            out[c.currency] = out.get(c.currency, Decimal(0)) + c.amount
    return out


def describe_unconverted(amounts: Mapping[str, Decimal]) -> str:
    """``5,000.00 EUR and 120.00 GBP`` (empty when everything converted)."""
    return " and ".join(f"{amount:,.2f} {currency}" for currency, amount in sorted(amounts.items()))
