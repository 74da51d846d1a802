"""The ECB reference rates kept in the store, and the :class:`~bot.sources.rates.RateBook` built on them."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.config import Settings
from bot.sources.ecb import Days
from bot.sources.rates import RateBook
from bot.store.tables import ReferenceRateRow


def newest_rate_day(session: Session) -> date | None:
    """The last day the store has rates for (None: none yet)."""
    value = session.exec(select(func.max(ReferenceRateRow.day))).one()
    return value if isinstance(value, date) else None


def save_rates(session: Session, days: Days, *, now: datetime) -> int:
    """Add the days the store does not have (a day once stored is never rewritten); return how many."""
    if not days:
        return 0
    known = set(session.exec(select(col(ReferenceRateRow.day)).distinct()).all())
    added = 0
    for day in sorted(days):
        if day in known:
            continue
        for currency, rate in sorted(days[day].items()):
            session.add(ReferenceRateRow(day=day, currency=currency, per_euro=str(rate), fetched_at=now))
        added += 1
    return added


def load_rates(session: Session) -> Days:
    out: Days = {}
    for row in session.exec(select(ReferenceRateRow)).all():
        out.setdefault(row.day, {})[row.currency] = Decimal(row.per_euro)
    return out


def rate_book(engine: Engine, settings: Settings) -> RateBook:
    """The one converter every figure uses: ``[funding.rates]`` over the stored ECB rates."""
    with Session(engine) as session:
        days = load_rates(session)
    funding = settings.funding
    return RateBook(funding.reporting_currency, funding.rates, days)
