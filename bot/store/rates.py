"""The ECB reference rates kept in the store, and the :class:`~bot.sources.rates.RateBook` built on them."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import func, insert
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
    new = [day for day in sorted(days) if day not in known]
    rows = [
        {"day": day, "currency": currency, "per_euro": str(rate), "source": "ecb", "fetched_at": now}
        for day in new
        for currency, rate in sorted(days[day].items())
    ]
    if rows:  # one executemany: the whole history is some 200,000 rows
        session.execute(insert(ReferenceRateRow), rows)
    return len(new)


def load_rates(session: Session) -> Days:
    """Every stored day (plain columns, not ORM objects: the whole history loads in well under a second)."""
    out: Days = {}
    columns = select(col(ReferenceRateRow.day), col(ReferenceRateRow.currency), col(ReferenceRateRow.per_euro))
    for day, currency, per_euro in session.execute(columns):
        out.setdefault(day, {})[currency] = Decimal(per_euro)
    return out


def rate_book(engine: Engine, settings: Settings) -> RateBook:
    """The one converter every figure uses: ``[funding.rates]`` over the stored ECB rates."""
    with Session(engine) as session:
        days = load_rates(session)
    funding = settings.funding
    return RateBook(funding.reporting_currency, funding.rates, days)
