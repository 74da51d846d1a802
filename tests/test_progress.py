"""Progress of long stages: a log line every ten seconds without a terminal, a bar on one, and the
pipeline's start and end lines for every stage."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot import progress
from bot.config import Secrets, load_settings
from bot.pipeline import StageContext, run_pipeline
from bot.store.engine import make_engine, upgrade


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Iterator[FakeClock]:
    fake = FakeClock()
    saved = (progress._mode.terminal, progress._mode.clock, progress._mode.bar_after, progress._mode.log_every)
    progress._mode.clock = fake
    yield fake
    progress._mode.terminal, progress._mode.clock, progress._mode.bar_after, progress._mode.log_every = saved


def test_eta_is_the_pace_so_far() -> None:
    assert progress.eta_seconds(0, 10, 5.0) is None
    assert progress.eta_seconds(5, 10, 5.0) == pytest.approx(5.0)
    assert progress.eta_seconds(1, 4, 2.0) == pytest.approx(6.0)
    assert progress.eta_seconds(10, 10, 5.0) == 0.0


def test_description_counts_share_and_time_left() -> None:
    line = progress.describe("sync", 120, 2000, "repositories", 60.0)
    assert line.startswith("sync: 120/2,000 repositories (6%)")
    assert "about 16 min left" in line  # 60 s per 120 → 940 s for the 1,880 left
    assert progress.describe("sync", 2000, 2000, "repositories", 60.0) == "sync: 2,000/2,000 repositories (100%)"


def test_without_a_terminal_one_line_every_ten_seconds(clock: FakeClock, caplog: pytest.LogCaptureFixture) -> None:
    progress.configure(terminal=False, log_every=10.0)
    caplog.set_level(logging.INFO, logger="bot.progress")
    with progress.track("gather signals", total=100, unit="upstreams") as shown:
        for _ in range(100):
            clock.now += 0.5  # 50 s in all → lines at 10, 20, 30, 40, 50 s
            shown.advance()
    lines = [r.getMessage() for r in caplog.records if r.name == "bot.progress"]
    assert len(lines) == 5
    assert lines[0].startswith("gather signals: 20/100 upstreams (20%)")
    assert "about 40 s left" in lines[0]


def test_quick_work_shows_nothing(clock: FakeClock, caplog: pytest.LogCaptureFixture) -> None:
    progress.configure(terminal=False, log_every=10.0)
    caplog.set_level(logging.INFO, logger="bot.progress")
    with progress.track("sync", total=3, unit="repositories") as shown:
        for _ in range(3):
            clock.now += 1.0
            shown.advance()
    assert not [r for r in caplog.records if r.name == "bot.progress"]


def test_on_a_terminal_a_bar_only_after_two_seconds(clock: FakeClock) -> None:
    progress.configure(terminal=True, bar_after=2.0)
    with progress.track("sync", total=10, unit="repositories") as shown:
        clock.now += 1.0
        shown.advance()
        assert shown._bar is None  # under two seconds: no bar
        clock.now += 1.5
        shown.advance()
        assert shown._bar is not None
        task = shown._bar.tasks[0]
        assert (task.completed, task.total, task.description) == (2, 10, "sync")
    assert shown._bar is None  # closed with the block


def test_every_stage_logs_its_start_and_its_end(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    settings = load_settings(None, overrides={"database.url": f"sqlite:///{tmp_path / 'u.db'}"}, search=False)
    engine = make_engine(settings.database_url())
    upgrade(engine)
    context = StageContext(
        settings=settings, secrets=Secrets.from_environment({}), engine=engine, now=datetime(2026, 11, 15, tzinfo=UTC)
    )

    def quiet(_: StageContext) -> dict[str, Any]:
        return {}

    caplog.set_level(logging.INFO, logger="bot.pipeline")
    run_pipeline(context, {"sync": quiet, "score": quiet}, start_over=True)
    events = [(r.getMessage(), getattr(r, "stage", None)) for r in caplog.records if r.name == "bot.pipeline"]
    assert events == [
        ("stage started", "sync"),
        ("stage done", "sync"),
        ("stage started", "score"),
        ("stage done", "score"),
    ]
    done = [r for r in caplog.records if r.getMessage() == "stage done"]
    assert all(isinstance(getattr(r, "seconds", None), float) for r in done)
    engine.dispose()


def test_each_counts_an_item_when_its_work_is_done_even_a_skipped_one(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    progress.configure(terminal=False, log_every=0.0)  # a line at every step, to see each count
    caplog.set_level(logging.INFO, logger="bot.progress")
    shown = progress.start_progress("deliver", total=3, unit="deliveries")
    seen = []
    for item in shown.each(["a", "b", "c"]):
        clock.now += 1.0
        lines = [r.getMessage() for r in caplog.records if r.name == "bot.progress"]
        seen.append((item, len(lines)))  # the item being worked on is not counted yet
        if item == "b":
            continue
    assert seen == [("a", 0), ("b", 1), ("c", 2)]
    lines = [r.getMessage() for r in caplog.records if r.name == "bot.progress"]
    assert [line.split(" ")[1] for line in lines] == ["1/3", "2/3", "3/3"]


def test_each_closes_its_bar_when_the_work_fails(clock: FakeClock) -> None:
    progress.configure(terminal=True, bar_after=0.0)
    shown = progress.start_progress("deliver", total=3, unit="deliveries")
    with pytest.raises(RuntimeError):
        for _item in shown.each(range(3)):
            clock.now += 1.0
            if shown.done == 1:
                raise RuntimeError("a sink failed")
    assert shown._bar is None


def test_a_stage_run_on_its_own_logs_its_start_and_its_end(clock: FakeClock, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="bot.progress")
    with progress.logged_stage("score"):
        clock.now += 3.0
    with pytest.raises(ValueError), progress.logged_stage("report"):
        raise ValueError("no snapshot")
    events = [(r.getMessage(), r.stage, getattr(r, "seconds", None)) for r in caplog.records]  # type: ignore[attr-defined]
    assert events == [
        ("stage started", "score", None),
        ("stage done", "score", 3.0),
        ("stage started", "report", None),
        ("stage ended early", "report", 0.0),
    ]


def test_score_reports_its_steps(tmp_path: Path, clock: FakeClock, caplog: pytest.LogCaptureFixture) -> None:
    from bot.gaps.score_stage import SCORE_STEPS, score_stage

    settings = load_settings(None, overrides={"database.url": f"sqlite:///{tmp_path / 'u.db'}"}, search=False)
    engine = make_engine(settings.database_url())
    upgrade(engine)
    context = StageContext(
        settings=settings, secrets=Secrets.from_environment({}), engine=engine, now=datetime(2026, 11, 15, tzinfo=UTC)
    )
    progress.configure(terminal=False, log_every=0.0)
    caplog.set_level(logging.INFO, logger="bot.progress")
    score_stage(context)
    lines = [r.getMessage() for r in caplog.records if r.name == "bot.progress"]
    assert lines[-1] == f"score: {SCORE_STEPS}/{SCORE_STEPS} steps (100%)"
    assert len(lines) == SCORE_STEPS
    engine.dispose()
