"""``upkeep run``, ``upkeep worker`` and ``upkeep status``."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy.engine import Engine

from bot.cli.app import CliError, app, context, make_console
from bot.cli.preflight import STAGE_JOBS, missing_credentials, nothing_to_do
from bot.config import ConfigError
from bot.pipeline import STAGE_ORDER, StageContext, last_pipeline_run, last_runs, run_pipeline
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
            typer.echo(f"resumed the last unfinished run at stage {result.resumed_from}")
        for name, summary in result.stages.items():
            details = ", ".join(f"{k}={v}" for k, v in summary.items() if k not in {"status"})
            typer.echo(f"{name:8} {summary['status']:7} {details}")
        typer.echo(f"run {result.run_id}: {result.status}")
    if result.status == "paused":  # a rate limit: not a failure; the next run resumes (EX_TEMPFAIL)
        raise typer.Exit(75)
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
    # An empty store is no reason to refuse: `upkeep ingest` can fill it while the worker runs. Said once.
    reason = nothing_to_do(app_ctx.settings) if registry is None else None
    if reason:
        make_console(stderr=True).print(
            f"upkeep worker: starting with {reason}; until then its jobs find no work", markup=False
        )
    config_path = str(app_ctx.config_path) if app_ctx.config_path else None
    worker = Worker(app_ctx.settings, config_path=config_path, registry_path=registry, poll_seconds=poll_seconds)
    worker.install_signal_handlers()
    worker.run_forever()


def health(engine: Engine, now: datetime) -> tuple[bool, str]:
    """Whether the deployment is healthy: a worker holds the scheduler lease (its heartbeat renews it)
    and the last pipeline run did not fail. Reads only; a store never migrated is unhealthy."""
    from sqlalchemy.exc import SQLAlchemyError

    from bot.store import leases

    try:
        leader = leases.holder_of(engine, leases.SCHEDULER_LEASE, now=now)
        last = last_pipeline_run(engine)
    except SQLAlchemyError as exc:
        first = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        return False, f"unhealthy: the store cannot be read ({first}); has a worker started on it?"
    if leader is None:
        return False, "unhealthy: no worker holds the scheduler lease (none running, or its heartbeat stopped)"
    if last is not None and last.status == "failed":
        return False, f"unhealthy: the last pipeline run ({last.id}) failed: {last.error or 'see upkeep status'}"
    run = f"last run {last.id} {last.status}" if last is not None else "no run yet"
    return True, f"healthy: {leader} leads the scheduler; {run}"


@app.command("status")
def status_command(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option(min=1, help="Runs listed (the last pipeline run is always shown).")] = 5,
    as_json: Annotated[bool, typer.Option("--json", help="Print the status as JSON (docs/api.md).")] = False,
    check: Annotated[
        bool,
        typer.Option(
            "--check",
            help="Print one line and exit 0 when a worker leads the scheduler and the last pipeline run did "
            "not fail, 1 otherwise (the container's HEALTHCHECK). Writes nothing.",
        ),
    ] = False,
) -> None:
    """Last runs and their stages, the next scheduled times, the scheduler's leader, the outbox backlog,
    and the rate-limit budget left per service and resource as last seen."""
    from bot.store import status as store_status

    app_ctx = context(ctx)
    if check:
        from bot.store.engine import make_engine

        url = app_ctx.settings.database_url()
        try:
            engine = make_engine(url)
        except ConfigError as exc:
            raise CliError(str(exc)) from exc
        database = engine.url.database if url.startswith("sqlite") else None
        if database and not Path(database).exists():  # connecting would create an empty file
            typer.echo(f"unhealthy: no store at {database}; has a worker started on it?")
            raise typer.Exit(1)
        healthy, line = health(engine, datetime.now(UTC))
        engine.dispose()
        typer.echo(line)
        if not healthy:
            raise typer.Exit(1)
        return
    if as_json:
        from bot.query import Ledger, to_json

        typer.echo(to_json(Ledger(app_ctx.engine, app_ctx.settings).status(runs=limit)))
        return
    console = make_console()
    runs = last_runs(app_ctx.engine, limit)
    pipeline = last_pipeline_run(app_ctx.engine)
    if pipeline is not None and all(run.id != pipeline.id for run in runs):
        runs.append(pipeline)  # a few ingests after it must not push the last pipeline run out of view
    table = Table(title="last runs")
    for column in ("id", "kind", "status", "started", "stages"):
        table.add_column(column)
    for run in runs:
        stages = ", ".join(f"{name}:{info.get('status', '?')}" for name, info in run.stages.items())
        table.add_row(str(run.id), run.kind, run.status, run.started_at.strftime("%Y-%m-%d %H:%M:%S"), stages)
    console.print(table)
    if pipeline is None:
        console.print("last pipeline run: none yet (`upkeep run`, or a worker's jobs)")
    elif pipeline.status == "failed":
        console.print(f"last pipeline run {pipeline.id} failed: {pipeline.error}", markup=False)
    snapshot = store_status.read_status(app_ctx.engine)
    console.print(f"scheduler leader: {snapshot.leader or 'none (no worker running)'}", markup=False)
    if snapshot.next_runs:
        for job, when in sorted(snapshot.next_runs.items()):
            console.print(f"next {job:8} {when.isoformat() if when else 'paused'}")
    else:
        console.print("next runs: no jobs scheduled yet (start `upkeep worker`)")
    for line in snapshot.extra_lines:
        console.print(line, markup=False)
    if snapshot.budgets:
        now = datetime.now(UTC)
        for budget in snapshot.budgets:
            console.print(budget_line(budget, now), markup=False)
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
