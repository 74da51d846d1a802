"""Progress of a long stage: a bar on a terminal, a log line every ten seconds elsewhere.

A stage announces its work with :func:`track` (``with track("sync", total=len(due), unit="repositories")
as progress: ... progress.advance()``) and never learns where the progress goes. The pipeline (or a
command) decides once per process with :func:`configure`: on a terminal, a Rich bar with counts and
the estimated time left appears for any stage that has run for longer than ``bar_after`` seconds;
without one (a worker, CI, a pipe), one log line every ``log_every`` seconds says how far it is.
Nothing is shown for work that finishes quickly, and reporting is thread-safe, since stages advance
from worker threads.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

log = logging.getLogger("bot.progress")
T = TypeVar("T")


@dataclass
class _Mode:
    terminal: bool = False
    bar_after: float = 2.0
    log_every: float = 10.0
    clock: Callable[[], float] = time.monotonic


_mode = _Mode()


def configure(*, terminal: bool | None = None, bar_after: float = 2.0, log_every: float = 10.0) -> None:
    """Choose how progress shows in this process; ``terminal`` defaults to whether stderr is one."""
    _mode.terminal = sys.stderr.isatty() if terminal is None else terminal
    _mode.bar_after = bar_after
    _mode.log_every = log_every


def eta_seconds(done: int, total: int, elapsed: float) -> float | None:
    """Seconds left at the pace so far; None before anything is done (no pace to go by)."""
    if done <= 0 or total <= 0 or done >= total:
        return None if done < total else 0.0
    return elapsed / done * (total - done)


def describe(stage: str, done: int, total: int, unit: str, elapsed: float) -> str:
    """One line of progress: ``sync: 120/2,000 repositories (6 %), about 3 min left``."""
    share = f" ({done / total:.0%})" if total else ""
    left = eta_seconds(done, total, elapsed)
    when = ""
    if left is not None and done < total:
        when = f", about {left:.0f} s left" if left < 90 else f", about {left / 60:.0f} min left"
    return f"{stage}: {done:,}/{total:,} {unit}{share}{when}"


@dataclass
class Progress:
    """Counts one stage's units of work; ``advance`` may be called from any thread."""

    stage: str
    total: int
    unit: str
    done: int = 0
    started: float = field(default_factory=lambda: _mode.clock())
    _last_log: float = field(default=0.0)
    _bar: Any = None
    _task: Any = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def advance(self, count: int = 1) -> None:
        with self._lock:
            self.done += count
            now = _mode.clock()
            elapsed = now - self.started
            if _mode.terminal:
                self._show_bar(elapsed)
            elif now - (self._last_log or self.started) >= _mode.log_every:
                self._last_log = now
                log.info(describe(self.stage, self.done, self.total, self.unit, elapsed), extra={"stage": self.stage})

    def _show_bar(self, elapsed: float) -> None:
        if self._bar is None:
            if elapsed < _mode.bar_after or self.done >= self.total:
                return
            from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeRemainingColumn
            from rich.progress import Progress as Bar

            self._bar = Bar(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn(self.unit),
                TimeRemainingColumn(),
                transient=True,
            )
            self._bar.start()
            self._task = self._bar.add_task(self.stage, total=self.total)
        self._bar.update(self._task, completed=self.done)

    def each(self, items: Iterable[T]) -> Iterator[T]:
        """``items``, advancing after each one's work (a ``continue`` counts too); closes when the loop ends."""
        try:
            for item in items:
                yield item
                self.advance()
        finally:
            self.close()

    def close(self) -> None:
        with self._lock:
            if self._bar is not None:
                self._bar.stop()
                self._bar = None


def start_progress(stage: str, total: int, unit: str) -> Progress:
    """Like :func:`track` for a loop that cannot be indented into a block; call ``close()`` after it."""
    return Progress(stage=stage, total=total, unit=unit)


@contextmanager
def track(stage: str, total: int, unit: str) -> Iterator[Progress]:
    """Report progress over ``total`` units of ``unit`` for the duration of the block."""
    progress = Progress(stage=stage, total=total, unit=unit)
    try:
        yield progress
    finally:
        progress.close()


@contextmanager
def logged_stage(stage: str) -> Iterator[None]:
    """Log a stage's start and its end with the seconds it took, as ``bot.pipeline`` does for a run, for a
    stage a command runs on its own (``upkeep score``): the log says what runs even when nothing else does."""
    started = _mode.clock()
    log.info("stage started", extra={"stage": stage})
    try:
        yield
    except BaseException:
        log.info("stage ended early", extra={"stage": stage, "seconds": round(_mode.clock() - started, 3)})
        raise
    log.info("stage done", extra={"stage": stage, "seconds": round(_mode.clock() - started, 3)})
