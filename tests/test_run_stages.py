"""The fixtures' :func:`run_stages` resumes a stage a rate limit stopped, and :func:`wait_if_paused` a paused
``upkeep run``, as the next scheduled run would."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.http import RateLimited
from tests.sandbox_fixtures import run_stages, wait_if_paused


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


def test_a_paused_run_is_waited_for_then_run_again() -> None:
    soon = (datetime.now(UTC) + timedelta(seconds=0.2)).isoformat()
    log = f"info    stage started stage=resolve\nwarning bot.pipeline: stage paused stage=resolve until={soon}\n"
    started = time.monotonic()
    assert wait_if_paused(75, log) is True
    assert time.monotonic() - started >= 0.2  # waited for the reset
    assert wait_if_paused(0, log) is False  # it ended: nothing to resume
    assert wait_if_paused(1, log) is False  # a failure is no pause
    assert wait_if_paused(75, "no pause named") is False  # 75 without the pause's reset: not run again blindly
