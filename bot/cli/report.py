"""``upkeep report [--quarter 2026Q3] [--out DIR]``: write the quarterly OSPO review and its exports."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from bot.cli.app import CliError, WorkFailed, app, context
from bot.pipeline import StageContext
from bot.progress import logged_stage
from bot.report.interface import ReviewError
from bot.report.quarters import Quarter
from bot.report.report_stage import report_stage


@app.command("report")
def report_command(
    ctx: typer.Context,
    quarter: Annotated[
        str | None, typer.Option("--quarter", help="Quarter to review, e.g. 2026Q3 (default: the last complete one).")
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Output directory (default: report.out_dir).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the stage summary as JSON.")] = False,
) -> None:
    """Render the quarterly review (Markdown, HTML with charts) and its CSV, JSON and Pledge exports."""
    options: dict[str, Any] = {}
    if quarter is not None:
        try:
            options["quarter"] = str(Quarter.parse(quarter))
        except ValueError as exc:
            raise CliError(f"--quarter {exc}") from exc
    if out is not None:
        options["out"] = str(out)
    app_context = context(ctx)
    stage_context = StageContext(
        settings=app_context.settings,
        secrets=app_context.secrets,
        engine=app_context.engine,
        now=datetime.now(UTC),
        options=options,
    )
    try:
        with logged_stage("report"):
            summary = report_stage(stage_context)
    except ReviewError as exc:
        raise WorkFailed(str(exc)) from exc
    if as_json:
        typer.echo(json.dumps(summary, indent=2))
        return
    to_date = " to date (the last complete quarter has no gap snapshot)" if summary.get("to_date") else ""
    typer.echo(f"review of {summary['quarter']}{to_date} written to {summary['out_dir']}:")
    for path in summary["files"]:
        typer.echo(f"  {path}")
    if not summary["scored"]:
        typer.echo(f"no gap snapshot at or before the end of {summary['quarter']}: run `upkeep score` first")
