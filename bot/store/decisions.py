"""Store functions for people's decisions about gaps (:class:`bot.store.tables.DecisionRow`).

Rows are only added: a decision read twice (the same close, the same tick) is kept once, by its
upstream, kind, source, issue and time.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.decisions.interface import Decision, DecisionKind, DecisionSource
from bot.store.engine import session_scope
from bot.store.tables import DecisionRow


def _utc(moment: datetime) -> datetime:
    """Aware UTC to the second (the store refuses naive times), so equal instants compare equal."""
    return (moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)).replace(microsecond=0)


def _decision(row: DecisionRow) -> Decision:
    kind: DecisionKind = row.kind  # type: ignore[assignment]  # written only from DecisionKind values
    source: DecisionSource = row.source  # type: ignore[assignment]
    return Decision(
        upstream=row.upstream,
        kind=kind,
        actor=row.actor,
        decided_at=row.decided_at.replace(tzinfo=UTC) if row.decided_at.tzinfo is None else row.decided_at,
        source=source,
        source_ref=row.source_ref,
        amount=row.amount,
        currency=row.currency,
        note=row.note,
        gap=row.gap,
    )


def save_decisions(engine: Engine, decisions: Iterable[Decision], *, now: datetime) -> list[Decision]:
    """Add the decisions not stored yet; return those."""
    added: list[Decision] = []
    with session_scope(engine) as session:
        for d in decisions:
            at = _utc(d.decided_at)
            exists = session.exec(
                select(DecisionRow.id).where(
                    DecisionRow.upstream == d.upstream,
                    DecisionRow.kind == d.kind,
                    DecisionRow.source == d.source,
                    DecisionRow.source_ref == d.source_ref,
                    DecisionRow.decided_at == at,
                )
            ).first()
            if exists is not None:
                continue
            session.add(
                DecisionRow(
                    upstream=d.upstream,
                    kind=d.kind,
                    actor=d.actor,
                    decided_at=at,
                    source=d.source,
                    source_ref=d.source_ref,
                    amount=d.amount,
                    currency=d.currency,
                    note=d.note,
                    gap=d.gap,
                    recorded_at=_utc(now),
                )
            )
            session.flush()
            added.append(d)
    return added


def load_decisions(session: Session, *, upstream: str | None = None) -> list[Decision]:
    """Every decision (or one upstream's), oldest first."""
    statement = select(DecisionRow).order_by(col(DecisionRow.decided_at), col(DecisionRow.id))
    if upstream is not None:
        statement = statement.where(DecisionRow.upstream == upstream)
    return [_decision(row) for row in session.exec(statement)]


def load_decisions_recorded_since(session: Session, *, since: datetime | None) -> list[Decision]:
    """The decisions upkeep recorded after ``since`` (all when ``None``), in the order they were taken.

    By the time upkeep *recorded* a decision, not when it was taken: a box ticked before the last
    digest but read after it is still news to the next one.
    """
    statement = select(DecisionRow).order_by(col(DecisionRow.decided_at), col(DecisionRow.id))
    if since is not None:
        statement = statement.where(DecisionRow.recorded_at > _utc(since))
    return [_decision(row) for row in session.exec(statement)]
