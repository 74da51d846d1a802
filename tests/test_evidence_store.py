"""The evidence store on SQLite and (when configured) PostgreSQL: segments replace, payments replace, windows count."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlmodel import Session, SQLModel

from bot.sources.money import Payment
from bot.sources.people import Identity
from bot.store import evidence as store
from bot.store.engine import make_engine, session_scope

NOW = datetime(2026, 11, 15, 12, 0, tzinfo=UTC)
Q4 = datetime(2026, 10, 1, tzinfo=UTC)


def test_segments_payments_and_windows_round_trip(db_url: str) -> None:
    engine = make_engine(db_url)
    SQLModel.metadata.create_all(engine)
    leaver = Identity("bob", "bob", "roster", "roster.csv:3", valid_until=date(2026, 10, 20))
    alias = Identity("ann-work", "ann", "extra-login", "people.extra_logins.ann")
    with session_scope(engine) as session:
        store.save_identities(
            session, [Identity("ann", "ann", "member", "acme"), alias, leaver], now=NOW, members_listed=True
        )
    day = Q4 + timedelta(days=15, hours=12)
    late = Q4 + timedelta(days=40, hours=12)
    counts = {("github.com/o/r", "commit", day): 3, ("github.com/o/r", "review", late): 1}
    with session_scope(engine) as session:
        for account in ("ann-work", "bob"):
            store.save_segment(
                session, account=account, segment_start=Q4, segment_end=NOW, fetched_until=NOW, counts=counts, now=NOW
            )
    with session_scope(engine) as session:  # asked again: replaced, not added
        store.save_segment(
            session, account="bob", segment_start=Q4, segment_end=NOW, fetched_until=NOW, counts=counts, now=NOW
        )
    with Session(engine) as session:
        got = store.load_contribution_counts(session, start=Q4, end=NOW, bounds="[start, end)")
        checkpoints = store.load_checkpoints(session)
    assert got == {
        "ann": {"github.com/o/r": {"commit": 3, "review": 1}},
        "bob": {"github.com/o/r": {"commit": 3}},  # the review came after bob left
    }
    assert checkpoints[("bob", Q4)].fetched_until == NOW
    payment = Payment("ledger", "github.com/o/r", day, Decimal("12.50"), "EUR", ("github.com/o/r",), subchannel="grant")
    with session_scope(engine) as session:
        store.replace_payments(session, "ledger", [payment, payment], now=NOW)
    with session_scope(engine) as session:
        assert store.replace_payments(session, "ledger", [payment], now=NOW) == 1
    with Session(engine) as session:
        (loaded,) = store.load_payments(session, start=Q4, end=NOW)
        assert store.load_payments(session, start=day, end=NOW) == []  # (start, end] leaves the start out
    assert loaded == payment
    engine.dispose()
