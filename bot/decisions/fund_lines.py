"""Planned money written as a line in an issue: ``fund: 5000 USD`` in a gap issue, ``fund HOST/OWNER/NAME: 5000 USD``
on the dashboard.

The line is read only from a person's text (outside upkeep's section, which the caller removes), so
upkeep's own wording never counts as a plan. A line that starts like a plan but cannot be read (an
amount that is not a number, a currency upkeep cannot convert, an upstream it does not know, a
dashboard line naming no upstream) is a :class:`BadLine` with the reason, shown back in upkeep's
section of the same issue. Pure functions; who wrote a line and when come from the body's revisions
(:func:`bot.decisions.dashboard.first_shown`), as for ticks.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Final

from bot.config import Settings

#: The currencies the ECB publishes euro reference rates for (and the euro): what upkeep can convert
#: without a ``funding.rates`` entry (https://www.ecb.europa.eu/stats/policy_and_exchange_rates/).
_ECB = "EUR USD JPY BGN CZK DKK GBP HUF PLN RON SEK CHF ISK NOK TRY AUD BRL CAD CNY HKD IDR ILS INR KRW MXN MYR NZD"
ECB_CURRENCIES: Final = frozenset((*_ECB.split(), "PHP", "SGD", "THB", "ZAR"))


def fund_currencies(settings: Settings) -> frozenset[str]:
    """The codes a fund line may use: the ECB's, the reporting currency and those set in ``funding.rates``."""
    funding = settings.funding
    return ECB_CURRENCIES | {funding.reporting_currency.upper()} | {code.upper() for code in funding.rates}


# "fund" at the start of a line (a list bullet allowed), an optional upstream, a colon, then the rest.
_LINE = re.compile(
    r"^[ \t]*(?:[-*+][ \t]+)?fund(?:[ \t]+(?P<upstream>[^\s:]+))?[ \t]*:[ \t]*(?P<rest>.*)$",
    re.IGNORECASE | re.MULTILINE,
)
_AMOUNT = re.compile(r"^(?P<amount>[0-9][0-9,_ ]*(?:\.[0-9]+)?)[ \t]*(?P<currency>[A-Za-z]{3})\b[ \t]*(?P<note>.*)$")


@dataclass(frozen=True, slots=True)
class FundLine:
    """A readable plan: the upstream, the amount in its currency, the line as written (to find its revision)."""

    upstream: str
    amount: float
    currency: str
    note: str
    text: str


@dataclass(frozen=True, slots=True)
class BadLine:
    """A line that looks like a plan and was not recorded, with the reason."""

    text: str
    reason: str

    def words(self) -> str:
        return f"{self.text.strip()}: {self.reason}"


def parse_fund_lines(
    text: str,
    *,
    upstream: str | None,
    known: Callable[[str], str | None],
    currencies: Collection[str],
) -> tuple[list[FundLine], list[BadLine]]:
    """The plans in ``text`` (a person's part of one issue body) and the lines that could not be read.

    ``upstream`` is the gap issue's own upstream (``None`` on the dashboard, where a line must name
    one); ``known`` maps a written upstream to its key (``None``: unknown); ``currencies`` are the
    codes upkeep can convert.
    """
    plans: list[FundLine] = []
    bad: list[BadLine] = []
    for match in _LINE.finditer(text):
        line = match.group(0).strip()
        written = match.group("upstream")
        if written is not None:
            key = known(written)
            if key is None:
                bad.append(BadLine(line, f"upkeep knows no upstream {written!r} (write HOST/OWNER/NAME)"))
                continue
        elif upstream is None:
            bad.append(BadLine(line, "names no upstream: write `fund HOST/OWNER/NAME: AMOUNT CURRENCY`"))
            continue
        else:
            key = upstream
        found = _AMOUNT.match(match.group("rest").strip())
        if found is None:
            bad.append(BadLine(line, "not an amount and a currency, e.g. `fund: 5000 USD`"))
            continue
        try:
            amount = Decimal(re.sub(r"[,_ ]", "", found.group("amount")))
        except InvalidOperation:
            bad.append(BadLine(line, f"{found.group('amount')!r} is not a number"))
            continue
        currency = found.group("currency").upper()
        if currency not in currencies:
            bad.append(BadLine(line, f"{currency} is a currency upkeep cannot convert (add it to funding.rates)"))
            continue
        note = found.group("note").strip().lstrip("-–—(").rstrip(")").strip()
        plans.append(FundLine(key, float(amount), currency, note, line))
    return plans, bad
