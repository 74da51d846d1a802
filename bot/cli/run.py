"""``upkeep run``, ``upkeep worker`` and ``upkeep status``."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from bot.cli.app import CliError, app, context
from bot.cli.preflight import STAGE_JOBS, missing_credentials, nothing_to_do
from bot.pipeline import STAGE_ORDER, StageContext, last_runs, run_pipeline
from bot.store.rate_limits import Budget
from bot.worker import Worker, job_schedules, load_registry


@app.command("run")
def run_command(
    ctx: typer.Context,
    stages: Annotated[str | None, typer.Option(help=f"Comma-separated subset of: {', '.join(STAGE_ORDER)}.")] = None,
    start_over: Annotated[bool, typer.Option(help="Do not resume a failed run; run every stage.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the run summary as JSON.")] = False,
    registry: Annotated[str | None, typer.Option(hidden=True, help="module:attribute of the stage registry")] = None,
) -> None:
    """Run every stage once, in order, recorded as one run; a failed stage is resumed next time."""
    app_ctx = context(ctx)
    stage_registry = load_registry(registry)
    selected = [s.strip() for s in stages.split(",") if s.strip()] if stages else None
    unknown = sorted(set(selected or ()) - set(stage_registry))
    if unknown:
        raise CliError(f"--stages: unknown stage(s) {', '.join(unknown)}; choose from {', '.join(stage_registry)}")
    settings = app_ctx.settings
    names = selected or list(stage_registry)
    jobs = {job for name in names for job in STAGE_JOBS.get(name, ())}
    problems = missing_credentials(settings, app_ctx.secrets, jobs)
    if registry is None:  # a test registry brings its own stages and needs no inventory
        reason = nothing_to_do(settings)
        problems += [reason] if reason else []
    if problems:
        raise CliError("; ".join(problems))
    stage_context = StageContext(
        settings=settings, secrets=app_ctx.secrets, engine=app_ctx.engine, now=datetime.now(UTC)
    )
    try:
        result = run_pipeline(stage_context, stage_registry, stages=selected, start_over=start_over)
    except ValueError as exc:
        raise CliError(str(exc)) from exc
    if as_json:
        typer.echo(json.dumps({"run_id": result.run_id, "status": result.status, "stages": result.stages}, indent=2))
    else:
        if result.resumed_from:
            typer.echo(f"resumed the last failed run at stage {result.resumed_from}")
        for name, summary in result.stages.items():
            details = ", ".join(f"{k}={v}" for k, v in summary.items() if k not in {"status"})
            typer.echo(f"{name:8} {summary['status']:7} {details}")
        typer.echo(f"run {result.run_id}: {result.status}")
    if result.status != "ok":
        raise typer.Exit(1)


@app.command("worker")
def worker_command(
    ctx: typer.Context,
    registry: Annotated[str | None, typer.Option(hidden=True, help="module:attribute of the stage registry")] = None,
    poll_seconds: Annotated[float | None, typer.Option(hidden=True)] = None,
) -> None:
    """Run the scheduler: one leader per database, jobs from [schedule], graceful stop on SIGTERM."""
    app_ctx = context(ctx)
    problems = missing_credentials(app_ctx.settings, app_ctx.secrets, job_schedules(app_ctx.settings.schedule))
    if problems:
        raise CliError("the worker's jobs would fail: " + "; ".join(problems))
    config_path = str(app_ctx.config_path) if app_ctx.config_path else None
    worker = Worker(app_ctx.settings, config_path=config_path, registry_path=registry, poll_seconds=poll_seconds)
    worker.install_signal_handlers()
    worker.run_forever()


@app.command("status")
def status_command(ctx: typer.Context, limit: int = 5) -> None:
    """Last runs and their stages, the next scheduled times, the scheduler's leader, the outbox backlog,
    and the rate-limit budget left per service and resource as last seen."""
    from bot.store import status as store_status

    app_ctx = context(ctx)
    console = Console()
    table = Table(title="last runs")
    for column in ("id", "kind", "status", "started", "stages"):
        table.add_column(column)
    for run in last_runs(app_ctx.engine, limit):
        stages = ", ".join(f"{name}:{info.get('status', '?')}" for name, info in run.stages.items())
        table.add_row(str(run.id), run.kind, run.status, run.started_at.strftime("%Y-%m-%d %H:%M:%S"), stages)
    console.print(table)
    snapshot = store_status.read_status(app_ctx.engine)
    console.print(f"scheduler leader: {snapshot.leader or 'none (no worker running)'}")
    if snapshot.next_runs:
        for job, when in sorted(snapshot.next_runs.items()):
            console.print(f"next {job:8} {when.isoformat() if when else 'paused'}")
    else:
        console.print("next runs: no jobs scheduled yet (start `upkeep worker`)")
    for line in snapshot.extra_lines:
        console.print(line)
    if snapshot.budgets:
        now = datetime.now(UTC)
        for budget in snapshot.budgets:
            console.print(budget_line(budget, now), soft_wrap=True, markup=False, highlight=False)
    else:
        console.print("rate limits: none seen yet (stages record them as they talk to GitHub)")


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def budget_line(budget: Budget, now: datetime) -> str:
    """One budget for ``upkeep status``: what was left, when the window resets, when it was seen."""
    line = f"rate limit {budget.service}/{budget.resource}: {budget.remaining}/{budget.limit} left"
    if budget.reset_at is not None:
        minutes = (budget.reset_at - now).total_seconds() / 60
        when = f"in {max(1, round(minutes))} min" if minutes > 0 else "passed: the budget is full again"
        line += f", resets {_utc(budget.reset_at)} ({when})"
    return f"{line}, seen {_utc(budget.observed_at)}"
