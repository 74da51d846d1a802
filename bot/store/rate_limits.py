"""The last rate-limit budget per service and resource (``github/core``, ``github/graphql``, ...).

Clients note what each answer's ``x-ratelimit-*`` headers say, which can be many times a second,
so notes go to :data:`BUDGETS`, a write-behind log: while a :meth:`BudgetLog.recording` block is
open for an engine, the newest budget per key is written at most once per ``every_seconds`` and
once more when the block closes (one block per stage), never once per request. Notes made while no
block is open are dropped: a budget belongs to the store of the stage that spent it, and a process
without one (a test, a one-off client) must not leak figures into the next store that records.

Writing a budget is bookkeeping for ``upkeep status``: a failed write is logged, never raised
into the request or the stage that caused it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlmodel import Session, col, select

from bot.store.engine import session_scope
from bot.store.tables import RateLimitRow

log = logging.getLogger(__name__)

#: Write at most this often while a stage runs (the last figures are written when it ends anyway).
DEFAULT_EVERY_SECONDS = 30.0


@dataclass(frozen=True, slots=True)
class Budget:
    """What one answer said about one resource's budget; no token, no URL."""

    service: str
    resource: str
    limit: int
    remaining: int
    reset_at: datetime | None
    observed_at: datetime
    used: int | None = None

    @property
    def key(self) -> tuple[str, str]:
        return self.service, self.resource

    def supersedes(self, other: Budget) -> bool:
        """Whether this observation is later than ``other``. Within one window (same reset) the budget
        only shrinks, so the smaller remaining is the later one even when answers to concurrent
        requests arrive out of order; otherwise the later window, then the later observation."""
        if self.reset_at is not None and self.reset_at == other.reset_at and self.limit == other.limit:
            return self.remaining <= other.remaining
        if self.reset_at is not None and other.reset_at is not None and self.reset_at != other.reset_at:
            return self.reset_at > other.reset_at
        return self.observed_at >= other.observed_at


def _aware(value: datetime | None) -> datetime | None:
    """SQLite returns naive datetimes; everything stored is UTC."""
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def save_budgets(session: Session, budgets: Iterable[Budget]) -> int:
    """Upsert each budget by (service, resource); an older observation never replaces a newer one."""
    saved = 0
    for budget in budgets:
        row = session.get(RateLimitRow, budget.key)
        if row is None:
            row = RateLimitRow(
                service=budget.service, resource=budget.resource, limit=0, remaining=0, observed_at=budget.observed_at
            )
        else:
            stored = Budget(
                row.service,
                row.resource,
                row.limit,
                row.remaining,
                _aware(row.reset_at),
                _aware(row.observed_at) or budget.observed_at,
            )
            if not budget.supersedes(stored):
                continue
        row.limit, row.remaining, row.used = budget.limit, budget.remaining, budget.used
        row.reset_at, row.observed_at = budget.reset_at, budget.observed_at
        session.add(row)
        saved += 1
    return saved


def load_budgets(session: Session) -> list[Budget]:
    """Every stored budget, by service then resource."""
    rows = session.exec(select(RateLimitRow).order_by(col(RateLimitRow.service), col(RateLimitRow.resource))).all()
    return [
        Budget(
            service=row.service,
            resource=row.resource,
            limit=row.limit,
            remaining=row.remaining,
            used=row.used,
            reset_at=_aware(row.reset_at),
            observed_at=_aware(row.observed_at) or row.observed_at,
        )
        for row in rows
    ]


def write_budgets(engine: Engine, budgets: Iterable[Budget]) -> int:
    """Save in one transaction; a concurrent first insert of the same key is retried once as an update."""
    batch = list(budgets)
    try:
        with session_scope(engine) as session:
            return save_budgets(session, batch)
    except IntegrityError:  # another process inserted the same key first: now it is an update
        with session_scope(engine) as session:
            return save_budgets(session, batch)


@dataclass
class _Target:
    engine: Engine
    every_seconds: float
    last_write: float
    depth: int = 1
    pending: dict[tuple[str, str], Budget] = field(default_factory=dict)


class BudgetLog:
    """Thread-safe write-behind log of the newest budget per (service, resource), per recording engine."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._targets: dict[int, _Target] = {}

    def note(self, budget: Budget) -> None:
        """Remember ``budget``; write it (with the others pending) if the last write is ``every_seconds`` old."""
        due: list[tuple[Engine, list[Budget]]] = []
        with self._lock:
            if not self._targets:
                return
            now = self._clock()
            for target in self._targets.values():
                known = target.pending.get(budget.key)
                if known is None or budget.supersedes(known):
                    target.pending[budget.key] = budget
                if now - target.last_write >= target.every_seconds:
                    due.append((target.engine, list(target.pending.values())))
                    target.pending, target.last_write = {}, now
        for engine, batch in due:
            _write_quietly(engine, batch)

    @contextmanager
    def recording(self, engine: Engine, *, every_seconds: float = DEFAULT_EVERY_SECONDS) -> Iterator[None]:
        """Record notes into ``engine`` while the block runs (blocks may nest); write what is left at its end."""
        with self._lock:
            target = self._targets.get(id(engine))
            if target is None:
                self._targets[id(engine)] = _Target(engine, every_seconds, last_write=self._clock())
            else:
                target.depth += 1
        try:
            yield
        finally:
            with self._lock:
                target = self._targets[id(engine)]
                target.depth -= 1
                if target.depth <= 0:
                    del self._targets[id(engine)]
                batch, target.pending, target.last_write = list(target.pending.values()), {}, self._clock()
            if batch:
                _write_quietly(engine, batch)


def _write_quietly(engine: Engine, batch: list[Budget]) -> None:
    try:
        write_budgets(engine, batch)
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or type(exc).__name__).splitlines()[0][:200]
        log.warning("rate limits: could not store %d budget(s): %s", len(batch), reason)


#: The process's log; the GitHub client factories and the issue sink note into it.
BUDGETS = BudgetLog()
