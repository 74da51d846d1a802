"""The fixtures' :func:`run_stages` resumes a stage a rate limit stopped, as the next scheduled run would."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.http import RateLimited
from tests.sandbox_fixtures import run_stages


def _soon() -> str:
    return (datetime.now(UTC) - timedelta(seconds=1)).isoformat()  # already past: no real wait beyond the margin


def test_a_stopped_stage_runs_again_until_it_finishes_and_the_next_stage_then_runs() -> None:
    calls: list[str] = []

    def sync(context: object) -> dict[str, Any]:
        calls.append("sync")
        return {"stopped": _soon()} if calls.count("sync") < 3 else {"repositories": 5}

    def resolve(context: object) -> dict[str, Any]:
        calls.append("resolve")
        if calls.count("resolve") == 1:
            raise RateLimited("http://registry/x", datetime.now(UTC))
        return {"resolved": 4, "evidence": {"stopped": None}}

    summaries = run_stages(None, sync, resolve)
    assert calls == ["sync", "sync", "sync", "resolve", "resolve"]
    assert summaries == [{"repositories": 5}, {"resolved": 4, "evidence": {"stopped": None}}]


def test_a_stage_still_stopped_at_the_bound_fails_the_fixture_naming_it() -> None:
    def gather(context: object) -> dict[str, Any]:
        return {"evidence": {"stopped": _soon()}}  # one level down, as the gather stage reports it

    with pytest.raises(AssertionError, match="gather still stopped by a rate limit after 1 resumptions"):
        run_stages(None, gather, max_resumptions=1)
