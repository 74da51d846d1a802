"""Extension point: people's recorded decisions about upstreams.

This branch's store has no decisions table (issue 14 adds one). Until it does, every upstream has
no decision; when the table exists, these two functions read it and nothing else in the query
layer, the API or the MCP tools needs to change (the shapes already carry ``decision``/``decisions``).
"""

from __future__ import annotations

from sqlalchemy.engine import Engine

from bot.query.models import Decision


def load_decisions(engine: Engine, *, upstream: str) -> list[Decision]:
    """Every decision recorded about ``upstream``, newest first (none until decisions are stored)."""
    del engine, upstream
    return []


def load_current_decisions(engine: Engine) -> dict[str, str]:
    """upstream → its standing decision (none until decisions are stored)."""
    del engine
    return {}
