"""Decisions with their money: what was planned, and what was paid to the upstream since the decision.

One computation for ``upkeep explain``, the review's decisions section and its totals: paid since is
the upstream's share of every payment from the decision's day to ``until``, converted to the
reporting currency; a payment in a currency without a rate is left out and named. A newer plan
(fund) for an upstream replaces its older ones: they are listed as replaced and left out of the totals.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.config import Settings
from bot.decisions.interface import Decision, DecisionLedger, DecisionLine
from bot.records import current_key
from bot.store.decisions import load_decisions
from bot.store.gap_inputs import payments_in
from bot.store.rates import rate_book
from bot.store.renames import load_renames


def decision_ledger(
    engine: Engine, settings: Settings, *, until: datetime, upstream: str | None = None
) -> DecisionLedger:
    """Every decision taken before ``until`` (or one upstream's), newest first, with planned and paid."""
    currency = settings.funding.reporting_currency
    with Session(engine) as session:
        decisions: Sequence[Decision] = [d for d in load_decisions(session, upstream=upstream) if d.decided_at < until]
        renames = load_renames(session)
    if not decisions:
        return DecisionLedger((), 0.0, 0.0, currency, ())
    start = min(d.decided_at for d in decisions)
    no_rate: set[str] = set()
    reasons: set[str] = set()
    paid: list[tuple[datetime, str, float]] = []
    book = rate_book(engine, settings)  # each amount at the rate of its own date, as every figure converts
    for payment in payments_in(engine, start=start, end=until, bounds="[start, end)"):
        conversion = book.convert(Decimal(1), payment.currency, payment.paid_on.date())
        rate = conversion.rate
        if rate is None:
            no_rate.add(payment.currency)
            reasons.add(f"{payment.currency}: {conversion.reason}")
            continue
        for key in payment.upstreams:
            paid.append((payment.paid_on, current_key(key, renames), float(payment.share() * rate)))
    lines = []
    newest_plan: set[str] = set()
    for d in sorted(decisions, key=lambda d: (d.decided_at, d.upstream), reverse=True):
        replaced = d.kind == "fund" and d.upstream in newest_plan
        if d.kind == "fund":
            newest_plan.add(d.upstream)
        planned = None
        if d.amount is not None:
            conversion = book.convert(Decimal(1), d.currency or currency, d.decided_at.date())
            rate = conversion.rate
            if rate is None:
                no_rate.add(d.currency or currency)
                reasons.add(f"{conversion.currency}: {conversion.reason}")
            else:
                planned = d.amount * float(rate)
        since = sum(amount for at, key, amount in paid if key == d.upstream and at >= d.decided_at)
        what = d.words().split(" by ", 1)[0]
        lines.append(
            DecisionLine(d.upstream, what, d.actor, d.decided_at, d.source, d.note, planned, since, d.words(), replaced)
        )
    current = [line for line in lines if not line.replaced]
    planned_total = sum(line.planned or 0.0 for line in current)
    paid_total = sum(line.paid_since for line in current if line.planned is not None)
    return DecisionLedger(
        tuple(lines), planned_total, paid_total, currency, tuple(sorted(no_rate)), tuple(sorted(reasons))
    )
