"""The query layer (CLI --json, API, MCP) reads people's decisions from the decisions table."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Engine

from bot.decisions.interface import Decision
from bot.query.decisions import load_current_decisions, load_decisions
from bot.store.decisions import save_decisions

KEY = "github.com/acme-oss/thing"
DAY = datetime(2026, 11, 1, tzinfo=UTC)


def test_the_newest_decision_stands_and_every_one_is_listed(engine: Engine) -> None:
    save_decisions(
        engine,
        [
            Decision(KEY, "decline", "alice", DAY, "issue", "acme/ospo#3"),
            Decision(KEY, "fund", "ospo", DAY + timedelta(days=2), "cli", amount=5000, currency="USD"),
            Decision("github.com/other/lib", "snooze", "bob", DAY, "dashboard", "acme/ospo#1"),
        ],
        now=DAY + timedelta(days=3),
    )
    assert load_current_decisions(engine) == {KEY: "fund", "github.com/other/lib": "snooze"}
    listed = load_decisions(engine, upstream=KEY)
    assert [(d.decision, d.by, d.source) for d in listed] == [("fund", "ospo", "cli"), ("decline", "alice", "issue")]
    assert load_decisions(engine, upstream="github.com/never/decided") == []
