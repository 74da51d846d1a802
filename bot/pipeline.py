"""The pipeline: stages run in order, each recorded in a run with its summary or its error.

Stages are idempotent and keep their own checkpoints, so rerunning one is always safe. A run
that fails at a stage records why; the next run (unless told to start over) begins at that
stage, so the stages before it are not repeated for nothing.

A rate limit never fails a stage: a stage that stops at a spent budget (it raises
:class:`bot.http.RateLimited`, or its summary says ``stopped``) is recorded as ``paused`` with
"paused: rate limited until T", the run stops there as ``paused``, and the next run resumes at
that stage, whose own checkpoints skip what it already did. :func:`run_resuming` does what the
scheduler would in one process: sleep until the reset and resume, a bounded number of times (the
demo and the bench, whose sandbox clock is compressed, so the reset is seconds away).
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.config import Secrets, Settings
from bot.errors import describe_error
from bot.http import RateLimited
from bot.store.engine import session_scope
from bot.store.rate_limits import BUDGETS
from bot.store.tables import RunRow

log = logging.getLogger("bot.pipeline")

#: The order of the stages; ``upkeep run --stages`` picks from these.
STAGE_ORDER: tuple[str, ...] = ("sync", "resolve", "gather", "score", "report", "deliver")


@dataclass
class StageContext:
    """What a stage receives: configuration, credentials, the store, and the time it runs at."""

    settings: Settings
    secrets: Secrets
    engine: Engine
    now: datetime
    options: dict[str, Any] = field(default_factory=dict)


StageFunction = Callable[[StageContext], Mapping[str, Any]]


class StageFailed(Exception):
    """A stage raised; the run records it and stops there."""

    def __init__(self, stage: str, cause: BaseException) -> None:
        super().__init__(f"stage {stage} failed: {type(cause).__name__}: {cause}")
        self.stage = stage


@dataclass(frozen=True)
class RunResult:
    run_id: int
    status: str
    stages: dict[str, Any]
    resumed_from: str | None
    pauses: int = 0  # resumptions after a pause (run_resuming); the stages then add up every run's summaries
    paused_s: float = 0.0  # time slept through those pauses


def _ordered(selected: Sequence[str] | None, registry: Mapping[str, StageFunction]) -> list[str]:
    names = list(selected) if selected else [name for name in STAGE_ORDER if name in registry]
    unknown = [name for name in names if name not in registry]
    if unknown:
        known = ", ".join(name for name in STAGE_ORDER if name in registry)
        raise ValueError(f"unknown stage(s) {', '.join(unknown)}; known: {known}")
    return sorted(names, key=lambda name: STAGE_ORDER.index(name) if name in STAGE_ORDER else len(STAGE_ORDER))


def resume_point(engine: Engine, stages: Sequence[str]) -> str | None:
    """The stage the last run stopped at, if it failed, paused or was killed (left ``running``).

    Runs do not overlap (the worker's leases see to it), so a ``running`` run found here was cut
    short by a crash; it is marked ``interrupted`` and resumed like a failed one. A run that itself
    resumed records only the stages from its resume point on: a stage it did not record but a later
    one it did is behind it, done by an earlier run, so a second pause resumes at the paused stage
    again rather than from the first stage.
    """
    with session_scope(engine) as session:
        last = session.exec(select(RunRow).where(RunRow.kind == "run").order_by(col(RunRow.id).desc()).limit(1)).first()
        if last is None or last.status not in ("failed", "running", "paused"):
            return None
        if last.status == "running":
            last.status = "interrupted"
            last.error = "the process stopped before the run finished"
            session.add(last)
        done = dict(last.stages)
    for index, name in enumerate(stages):
        if name not in done and any(later in done for later in stages[index + 1 :]):
            continue  # before the resume point of the last run: an earlier run did it
        if done.get(name, {}).get("status") != "ok":
            return name
    return None


def run_pipeline(
    context: StageContext,
    registry: Mapping[str, StageFunction],
    *,
    stages: Sequence[str] | None = None,
    start_over: bool = False,
) -> RunResult:
    """Run the chosen stages (default: all registered, in order), recording one run."""
    names = _ordered(stages, registry)
    resumed_from = None if start_over else resume_point(context.engine, names)
    if resumed_from:
        names = names[names.index(resumed_from) :]
        log.info("resuming the last failed run", extra={"stage": resumed_from})
    with session_scope(context.engine) as session:
        run = RunRow(kind="run", started_at=context.now, stages={})
        session.add(run)
        session.flush()
        run_id = run.id
    assert run_id is not None
    summaries: dict[str, Any] = {}
    status = "ok"
    for name in names:
        started = datetime.now(UTC)
        log.info("stage started", extra={"stage": name, "run": run_id})
        try:
            with BUDGETS.recording(context.engine):  # the rate-limit budgets `upkeep status` shows
                summary = dict(registry[name](context))
        except RateLimited as exc:
            summary = {"stopped": exc.reset_at.isoformat()}
        except Exception as exc:
            summaries[name] = {
                "status": "failed",
                "error": describe_error(exc, context.settings),
                "seconds": round((datetime.now(UTC) - started).total_seconds(), 3),
            }
            log.error("stage failed", extra={"stage": name, "error": str(exc)})
            log.debug("traceback", extra={"trace": traceback.format_exc()})
            status = "failed"
            _save(context.engine, run_id, summaries, status, error=summaries[name]["error"])
            break
        until = stopped_until(summary)
        summaries[name] = {
            "status": "ok" if until is None else "paused",
            "seconds": round((datetime.now(UTC) - started).total_seconds(), 3),
            **summary,
        }
        if until is not None:
            summaries[name]["note"] = f"paused: rate limited until {until}"
            log.warning("stage paused", extra={"stage": name, "until": until})
            status = "paused"
            _save(context.engine, run_id, summaries, status, error=summaries[name]["note"], finished=True)
            break
        log.info("stage done", extra={"stage": name, "run": run_id, "seconds": summaries[name]["seconds"]})
        _save(context.engine, run_id, summaries, "running")
    if status == "ok":
        _save(context.engine, run_id, summaries, "ok", finished=True)
    return RunResult(run_id=run_id, status=status, stages=summaries, resumed_from=resumed_from)


#: What a run does after a pause: told which stage paused, until when, and how long it will sleep.
PauseHook = Callable[[str, str | None, float], None]


def run_resuming(
    context: StageContext,
    registry: Mapping[str, StageFunction],
    *,
    max_resumptions: int,
    start_over: bool = True,
    on_pause: PauseHook | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> RunResult:
    """Run the pipeline and, each time it pauses, sleep until the reset it names and resume it,
    at most ``max_resumptions`` times (the result stays ``paused`` beyond that).

    The stages of the result are every run's summaries, the latest per stage."""
    result = run_pipeline(context, registry, start_over=start_over)
    stages = dict(result.stages)
    pauses, paused = 0, 0.0
    while result.status == "paused" and pauses < max_resumptions:
        stage, until = next(
            ((name, stopped_until(summary)) for name, summary in result.stages.items() if stopped_until(summary)),
            ("?", None),
        )
        seconds = seconds_until_reset(until)
        if on_pause is not None:
            on_pause(stage, until, seconds)
        sleep(seconds)
        pauses, paused = pauses + 1, paused + seconds
        result = run_pipeline(context, registry)  # resumes at the paused stage, as the next scheduled run
        stages.update(result.stages)
    return RunResult(result.run_id, result.status, stages, result.resumed_from, pauses=pauses, paused_s=paused)


def seconds_until_reset(until: str | None, *, now: datetime | None = None) -> float:
    """How long to wait for a pause's reset (an ISO time): a little past it, as its second is rounded
    up; a second when no time was given; never more than an hour."""
    if until is None:
        return 1.0
    left = (datetime.fromisoformat(until) - (now or datetime.now(UTC))).total_seconds()
    return min(max(0.0, left) + 0.5, 3600.0)


def stopped_until(summary: Mapping[str, Any]) -> str | None:
    """When a stage's summary says a rate limit stopped it (``stopped``, at the top or one level down)."""
    for value in (summary.get("stopped"), *(v.get("stopped") for v in summary.values() if isinstance(v, Mapping))):
        if value:
            return str(value)
    return None


def _save(
    engine: Engine,
    run_id: int,
    stages: dict[str, Any],
    status: str,
    *,
    error: str | None = None,
    finished: bool = False,
) -> None:
    with session_scope(engine) as session:
        run = session.get(RunRow, run_id)
        assert run is not None
        run.stages = dict(stages)
        run.status = status
        run.error = error
        if finished or status == "failed":
            run.finished_at = datetime.now(UTC)
        session.add(run)


def last_pipeline_run(engine: Engine) -> RunRow | None:
    """The newest pipeline run (``upkeep run``, the demo or a worker job), whatever ran after it."""
    with Session(engine) as session:
        return session.exec(select(RunRow).where(RunRow.kind == "run").order_by(col(RunRow.id).desc()).limit(1)).first()


def last_runs(engine: Engine, limit: int = 5) -> list[RunRow]:
    """The newest runs first (for ``upkeep status``)."""
    with Session(engine) as session:
        return list(session.exec(select(RunRow).order_by(col(RunRow.id).desc()).limit(limit)).all())
