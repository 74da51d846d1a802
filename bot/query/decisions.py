"""People's recorded decisions about upstreams, as the query layer shows them.

The decisions table (``bot.store.decisions``, docs/decisions.md) keeps every decision; the newest
about an upstream is the one that stands. These two functions are the only readers the query
layer, the API and the MCP tools use.
"""

from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.decisions.interface import Decision as Recorded
from bot.query.models import Decision
from bot.store import decisions as store


def _shown(decision: Recorded) -> Decision:
    return Decision(
        upstream=decision.upstream,
        decision=decision.kind,  # fund | contribute | decline | done | snooze | reopen
        by=decision.actor,
        at=decision.decided_at,
        source=decision.source,
    )


def load_decisions(engine: Engine, *, upstream: str) -> list[Decision]:
    """Every decision recorded about ``upstream``, newest first."""
    with Session(engine) as session:
        found = store.load_decisions(session, upstream=upstream)
    return [_shown(d) for d in sorted(found, key=lambda d: d.decided_at, reverse=True)]


def load_current_decisions(engine: Engine) -> dict[str, str]:
    """upstream → the kind of its standing decision (the newest one)."""
    with Session(engine) as session:
        found = store.load_decisions(session)
    newest: dict[str, Recorded] = {}
    for decision in sorted(found, key=lambda d: d.decided_at):
        newest[decision.upstream] = decision
    return {key: decision.kind for key, decision in newest.items()}
