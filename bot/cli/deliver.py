"""``upkeep deliver [--dry-run]``: post the digest and reconcile the GitHub issues, exactly once.

The inputs come from the store through :func:`bot.deliver.inputs.load_delivery_inputs` (the latest gap snapshot,
the resolved packages and SBOM usages, licence drift events, and the state the last digest
recorded). When the gap stage has not run yet it says so and only drains the outbox.
"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated

import typer
from sqlalchemy.exc import OperationalError, ProgrammingError

from bot.cli.app import CliError, app, context
from bot.deliver.inputs import load_delivery_inputs
from bot.deliver.sinks import build_sinks
from bot.deliver.stage import deliver as deliver_stage
from bot.progress import logged_stage
from bot.store.rate_limits import BUDGETS


class Part(StrEnum):
    DIGEST = "digest"
    ISSUES = "issues"


@app.command("deliver")
def deliver(
    ctx: typer.Context,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print what would be posted or changed; touch nothing.")
    ] = False,
    only: Annotated[
        Part | None, typer.Option("--only", help="Plan only the digest or only the issues (their schedules differ).")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="With --dry-run: print the plan as one JSON object (docs/api.md).")
    ] = False,
) -> None:
    """Post the Slack digest and create, update or close the gap issues, each exactly once."""
    app_ctx = context(ctx)
    if as_json and not dry_run:
        raise CliError("--json goes with --dry-run (a real delivery reports in lines)")
    settings = app_ctx.settings
    now = datetime.now(UTC)
    lines: list[str] = []
    echo = lines.append if as_json else typer.echo
    if dry_run:
        from bot.store.engine import make_engine

        engine = make_engine(settings.database_url())  # no schema upgrade: a dry run writes nothing
    else:
        engine = app_ctx.engine
    try:
        inputs = load_delivery_inputs(engine, settings, now)
    except (OperationalError, ProgrammingError) as exc:
        raise CliError(f"{settings.database_url().split('@')[-1]}: store not ready (run `upkeep db upgrade`)") from exc
    if only is Part.DIGEST:
        inputs.gap_issues = None
    elif only is Part.ISSUES:
        inputs.digest = None
    if not as_json:
        for line in inputs.missing:
            typer.echo(line)
    sinks, notes = ({}, []) if dry_run else build_sinks(settings, app_ctx.secrets)
    for line in notes:
        typer.echo(line)
    with contextlib.nullcontext() if dry_run else BUDGETS.recording(engine), logged_stage("deliver"):
        summary = deliver_stage(
            engine, settings, inputs.digest, inputs.gap_issues, sinks=sinks, now=now, dry_run=dry_run, echo=echo
        )
    if as_json:
        from bot.query.models import DeliveryPlan

        plan = DeliveryPlan(
            missing=list(inputs.missing),
            # The stage echoes the plan, then its notes, then its summary line: keep the plan only.
            planned=lines[: max(0, len(lines) - len(summary.notes) - 1)],
            enqueued=summary.enqueued,
            skipped=summary.skipped,
            waiting=summary.waiting,
            dead=summary.dead,
            notes=list(summary.notes),
        )
        typer.echo(plan.model_dump_json(indent=2))
    if summary.failed or summary.dead:
        raise typer.Exit(1)
