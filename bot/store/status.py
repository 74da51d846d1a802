"""What ``upkeep status`` reads from the store: leader, next runs, backlogs and rate-limit budgets."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.store import leases
from bot.store.rate_limits import Budget, load_budgets


@dataclass
class StatusSnapshot:
    leader: str | None
    next_runs: dict[str, datetime | None]
    extra_lines: list[str] = field(default_factory=list)
    budgets: list[Budget] = field(default_factory=list)  # the last seen per service/resource


def read_status(engine: Engine) -> StatusSnapshot:
    """Read without starting a scheduler; ``apscheduler_jobs`` is APScheduler's own table."""
    next_runs: dict[str, datetime | None] = {}
    tables = set(inspect(engine).get_table_names())
    if "apscheduler_jobs" in tables:
        with engine.connect() as conn:
            for job_id, next_run in conn.execute(text("SELECT id, next_run_time FROM apscheduler_jobs")):
                next_runs[job_id] = datetime.fromtimestamp(next_run, UTC) if next_run is not None else None
    extra: list[str] = []
    if "outbox" in tables:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT state, COUNT(*) FROM outbox GROUP BY state")).all()
        extra.append("outbox: " + (", ".join(f"{state}={count}" for state, count in rows) or "empty"))
    budgets: list[Budget] = []
    if "rate_limits" in tables:
        with Session(engine) as session:
            budgets = load_budgets(session)
    return StatusSnapshot(
        leader=leases.holder_of(engine, leases.SCHEDULER_LEASE), next_runs=next_runs, extra_lines=extra, budgets=budgets
    )
