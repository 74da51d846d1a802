"""Store functions for the delivery outbox (:class:`bot.store.tables.OutboxRow`).

Every state change is its own short transaction, so an attempt is on disk before the
remote call it announces, and a delivery is on disk as soon as its remote id is known.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import or_
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.store.engine import session_scope
from bot.store.tables import OutboxRow


def load_row(session: Session, *, key: str) -> OutboxRow | None:
    return session.exec(select(OutboxRow).where(OutboxRow.key == key)).first()


def load_latest(session: Session, *, channel: str, target: str, subject: str) -> OutboxRow | None:
    """The newest row of one subject (whatever its state), which a new change follows."""
    statement = (
        select(OutboxRow)
        .where(OutboxRow.channel == channel, OutboxRow.target == target, OutboxRow.subject == subject)
        .order_by(col(OutboxRow.id).desc())
    )
    return session.exec(statement).first()


def load_latest_by_subject(session: Session, *, channel: str, target: str, prefix: str) -> dict[str, OutboxRow]:
    """The newest row of every subject starting with ``prefix`` (e.g. ``gap:``) for one target."""
    statement = (
        select(OutboxRow)
        .where(
            OutboxRow.channel == channel,
            OutboxRow.target == target,
            col(OutboxRow.subject).startswith(prefix, autoescape=True),
        )
        .order_by(col(OutboxRow.id))
    )
    return {row.subject: row for row in session.exec(statement)}


def load_last_digest(session: Session, *, not_period: str) -> OutboxRow | None:
    """The newest digest delivered on any channel (Slack, Mattermost, Matrix, Teams, email), leaving out
    those of ``not_period`` (this week's, and their edits): the point the next digest counts changes from."""
    statement = (
        select(OutboxRow)
        .where(
            OutboxRow.subject == "digest",
            OutboxRow.state == "delivered",
            ~col(OutboxRow.key).contains(f":digest:{not_period}", autoescape=True),
        )
        .order_by(col(OutboxRow.delivered_at).desc().nulls_last(), col(OutboxRow.id).desc())
    )
    return session.exec(statement).first()


def load_issue_identities(session: Session, *, target: str) -> dict[str, tuple[int, str | None]]:
    """Per issue subject of ``target``: the issue number delivered last, and the title upkeep set last.

    The number is the issue's identity (its marker is only the fallback); the title tells whether a
    person changed it since.
    """
    statement = (
        select(OutboxRow)
        .where(OutboxRow.channel == "github", OutboxRow.target == target, OutboxRow.state == "delivered")
        .order_by(col(OutboxRow.id))
    )
    found: dict[str, tuple[int, str | None]] = {}
    for row in session.exec(statement):
        if row.remote_id is None or not row.remote_id.isdigit():
            continue
        title = row.payload.get("title") if row.action == "open" else None
        previous = found.get(row.subject)
        found[row.subject] = (int(row.remote_id), title if title is not None else (previous[1] if previous else None))
    return found


def load_unfinished(session: Session) -> list[OutboxRow]:
    """Rows still to deliver (pending or failed), oldest first."""
    statement = select(OutboxRow).where(col(OutboxRow.state).in_(("pending", "failed"))).order_by(col(OutboxRow.id))
    return list(session.exec(statement))


def load_due(session: Session, *, now: datetime) -> list[OutboxRow]:
    """Unfinished rows whose backoff has passed, oldest first."""
    statement = (
        select(OutboxRow)
        .where(
            col(OutboxRow.state).in_(("pending", "failed")),
            or_(col(OutboxRow.next_attempt_at).is_(None), col(OutboxRow.next_attempt_at) <= now),
        )
        .order_by(col(OutboxRow.id))
    )
    return list(session.exec(statement))


def load_dead(session: Session) -> list[OutboxRow]:
    return list(session.exec(select(OutboxRow).where(OutboxRow.state == "dead").order_by(col(OutboxRow.id))))


def save_new_rows(engine: Engine, rows: Sequence[OutboxRow], *, supersede: Sequence[str] = ()) -> None:
    """Insert ``rows`` (keys already there are kept as they are) and mark the unfinished rows with keys in
    ``supersede`` as superseded, in one transaction."""
    with session_scope(engine) as session:
        if supersede:
            for row in session.exec(select(OutboxRow).where(col(OutboxRow.key).in_(list(supersede)))):
                if row.state in ("pending", "failed"):
                    row.state = "superseded"
                    session.add(row)
        keys = [row.key for row in rows]
        present = set(session.exec(select(OutboxRow.key).where(col(OutboxRow.key).in_(keys)))) if keys else set()
        for row in rows:
            if row.key not in present:  # another run planned the same change first: its row stands
                session.add(row)


def _update(engine: Engine, row_id: int, **values: Any) -> OutboxRow:
    with session_scope(engine) as session:
        row = session.get(OutboxRow, row_id)
        if row is None:
            raise LookupError(f"outbox row {row_id}: not found")
        for name, value in values.items():
            setattr(row, name, value)
        session.add(row)
        return row


def save_attempt(engine: Engine, *, row_id: int, attempts: int, now: datetime) -> OutboxRow:
    """Record that attempt number ``attempts`` starts now (committed before the remote call)."""
    return _update(engine, row_id, attempts=attempts, updated_at=now)


def save_delivered(engine: Engine, *, row_id: int, remote_id: str, now: datetime) -> OutboxRow:
    """Mark a row delivered; only ever with the remote id that proves it."""
    if not remote_id:
        raise ValueError(f"outbox row {row_id}: delivered needs a remote id")
    return _update(
        engine,
        row_id,
        state="delivered",
        remote_id=remote_id,
        delivered_at=now,
        updated_at=now,
        last_error=None,
        next_attempt_at=None,
    )


def save_failure(
    engine: Engine, *, row_id: int, state: str, error: str, next_attempt_at: datetime | None, now: datetime
) -> OutboxRow:
    return _update(
        engine, row_id, state=state, last_error=error[:2000], next_attempt_at=next_attempt_at, updated_at=now
    )
