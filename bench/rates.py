"""Time of the ECB reference rates: parsing a full-history feed, storing it, loading the rate book, and
converting payments at their dated rates.

The real ``eurofxref-hist.xml`` holds every TARGET day since 1999 (about 7,000 days × up to 41
currencies, some 6 MB); this benchmark writes a feed of that size with :func:`bot.sources.ecb.feed_xml`,
then times each step in a fresh SQLite store and prints the figures.

    .venv/bin/python bench/rates.py [--days 7000] [--currencies 30] [--payments 100000]
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from alembic import command
from sqlmodel import Session, SQLModel

from bot.config import load_settings
from bot.sources.ecb import feed_xml, parse_feed
from bot.sources.money import Payment
from bot.store.engine import alembic_config, make_engine, session_scope
from bot.store.rates import load_rates, rate_book, save_rates

CODES = [f"C{n:02d}" for n in range(100)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=7000)
    parser.add_argument("--currencies", type=int, default=30)
    parser.add_argument("--payments", type=int, default=100_000)
    args = parser.parse_args()
    rng = random.Random(7)
    currencies = ["USD", "GBP", "JPY", *CODES[: max(0, args.currencies - 3)]]
    last = date(2026, 11, 13)
    days: dict[date, dict[str, Decimal]] = {}
    day = last
    while len(days) < args.days:
        if day.weekday() < 5:
            days[day] = {c: Decimal(f"{rng.uniform(0.5, 150):.4f}") for c in currencies}
        day -= timedelta(days=1)
    text = feed_xml(days).encode()
    print(f"feed: {len(days):,} days × {len(currencies)} currencies, {len(text) / 1e6:.1f} MB")

    started = time.perf_counter()
    parsed = parse_feed(text)
    print(f"parse: {time.perf_counter() - started:.2f} s")
    assert parsed == days

    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'store.db'}")
        SQLModel.metadata.create_all(engine)
        command.stamp(alembic_config(engine), "head")
        started = time.perf_counter()
        with session_scope(engine) as session:
            added = save_rates(session, parsed, now=datetime.now(UTC))
        print(f"store: {added:,} days in {time.perf_counter() - started:.2f} s")
        started = time.perf_counter()
        with Session(engine) as session:
            assert len(load_rates(session)) == len(days)
        settings = load_settings(None, overrides={"funding.reporting_currency": "USD"}, search=False)
        book = rate_book(engine, settings)
        print(f"load the rate book: {time.perf_counter() - started:.2f} s ({book.ecb_days:,} days)")
        first = min(days)
        payments = [
            Payment(
                "ledger",
                "x",
                datetime.combine(first + timedelta(days=rng.randrange((last - first).days)), datetime.min.time(), UTC),
                Decimal(rng.randrange(100, 1_000_000)) / 100,
                rng.choice(["EUR", "GBP", "JPY", "USD"]),
                ("github.com/a/b",),
            )
            for _ in range(args.payments)
        ]
        started = time.perf_counter()
        converted = [book.whole(p) for p in payments]
        elapsed = time.perf_counter() - started
        missing = sum(1 for c in converted if c.converted is None)
        rate = len(payments) / elapsed
        print(f"convert: {len(payments):,} payments in {elapsed:.2f} s ({rate:,.0f}/s), {missing} without a rate")
        engine.dispose()


if __name__ == "__main__":
    main()
