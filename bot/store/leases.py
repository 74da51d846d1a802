"""Leases in the store: at most one holder per name across processes, expiring if the holder dies.

A lease is taken with one conditional UPDATE (free, expired, or already ours) or, when the
row does not exist yet, one INSERT that the primary key makes race-safe. This works the same
on SQLite files and PostgreSQL, which is what the worker needs: APScheduler 3.x cannot share
a job store between processes, so only the process holding the ``scheduler`` lease runs it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, insert, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from bot.store.tables import LeaseRow

#: The lease whose holder runs the scheduler.
SCHEDULER_LEASE = "scheduler"


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(UTC)


def try_acquire(engine: Engine, name: str, holder: str, *, ttl_seconds: float, now: datetime | None = None) -> bool:
    """Take or renew ``name`` for ``holder``; False when another live holder has it."""
    moment = _now(now).astimezone(UTC)
    expires = moment + timedelta(seconds=ttl_seconds)
    table = LeaseRow.__table__  # type: ignore[attr-defined]
    with engine.begin() as conn:
        result = conn.execute(
            update(table)
            .where(table.c.name == name)
            .where((table.c.holder == holder) | (table.c.expires_at < moment))
            .values(holder=holder, expires_at=expires, acquired_at=moment)
        )
        if result.rowcount:
            return True
    try:
        with engine.begin() as conn:
            conn.execute(insert(table).values(name=name, holder=holder, acquired_at=moment, expires_at=expires))
        return True
    except IntegrityError:
        return False


def release(engine: Engine, name: str, holder: str) -> None:
    """Give ``name`` up if we hold it (a no-op otherwise)."""
    table = LeaseRow.__table__  # type: ignore[attr-defined]
    with engine.begin() as conn:
        conn.execute(delete(table).where(table.c.name == name).where(table.c.holder == holder))


def holder_of(engine: Engine, name: str, *, now: datetime | None = None) -> str | None:
    """Who holds a live lease on ``name``, if anyone."""
    from sqlmodel import Session, select

    moment = _now(now).astimezone(UTC)
    with Session(engine) as session:
        row = session.exec(select(LeaseRow).where(LeaseRow.name == name)).first()
        if row is None or row.expires_at < moment:
            return None
        return row.holder
