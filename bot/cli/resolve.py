"""``upkeep resolve [PURL...] [--from-file FILE] [--json] [--refresh] [--unresolved]``.

Without purls: map every inventoried package to its upstream (or list the ones that could not be).
With purls: resolve just those, without ingesting them; ``--json`` prints one object per line.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy.engine import Engine

from bot.cli.app import CliError, app, context, make_console
from bot.config import Settings
from bot.progress import logged_stage
from bot.resolve.ask import Answer, resolve_purls
from bot.resolve.stage import ResolveSummary, make_resolve_client, resolve_all
from bot.store.resolution import load_resolutions


async def _run(settings: Settings, engine: Engine, show_progress: bool, refresh: bool) -> ResolveSummary:
    async with make_resolve_client(settings) as client:
        if not show_progress:
            return await resolve_all(engine, settings, client, refresh=refresh)
        columns = (TextColumn("resolving"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
            task = bar.add_task("resolve", total=None)

            def advance(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            return await resolve_all(engine, settings, client, progress=advance, refresh=refresh)


async def _ask(settings: Settings, engine: Engine, purls: list[str], refresh: bool) -> list[Answer]:
    async with make_resolve_client(settings) as client:
        return await resolve_purls(engine, settings, client, purls, refresh=refresh)


def _purls_from_file(path: Path) -> list[str]:
    """One purl per line; blank lines and ``#`` comments skipped, each line otherwise kept as written."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CliError(f"--from-file {path}: cannot read: {exc}") from exc
    return [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def _print_answers(answers: list[Answer], console: Console) -> None:
    table = Table("purl", "upstream", "provenance / reason", title=f"{len(answers)} purls")
    for answer in answers:
        table.add_row(answer.purl, answer.upstream or "-", answer.provenance or answer.reason or "")
    console.print(table)


def _print_summary(summary: ResolveSummary, console: Console) -> None:
    console.print(
        f"{summary.packages} packages: {summary.resolved} resolved, {summary.overrides} by override, "
        f"{sum(summary.unresolved.values())} unresolved, {summary.retry} to retry, {summary.fresh} still fresh"
    )
    console.print(
        f"{summary.requests} registry requests, {summary.cache_hits} cache hits "
        f"({summary.fresh} fresh mappings, {summary.revalidated} revalidated, {summary.shared} shared), "
        f"{summary.seconds:.1f} s"
    )
    if summary.unresolved:
        table = Table("unresolved reason", "packages", title="Unresolved by reason")
        for reason, count in summary.unresolved.most_common():
            table.add_row(reason, str(count))
        console.print(table)
    if summary.by_ecosystem:
        kinds = ("resolved", "override", "unresolved", "retry")
        table = Table("ecosystem", *kinds, title="By ecosystem")
        for ecosystem, counts in sorted(summary.by_ecosystem.items()):
            table.add_row(ecosystem, *(str(counts.get(k, 0)) for k in kinds))
        console.print(table)


@app.command("resolve")
def resolve_command(
    ctx: typer.Context,
    purls: Annotated[
        list[str] | None, typer.Argument(help="Purls to resolve without ingesting them (default: the inventory).")
    ] = None,
    from_file: Annotated[
        Path | None, typer.Option("--from-file", help="Read purls to resolve from FILE, one per line.")
    ] = None,
    refresh: Annotated[
        bool, typer.Option("--refresh", help="Ignore the age of cached mappings: resolve again now.")
    ] = False,
    unresolved: Annotated[
        bool, typer.Option("--unresolved", help="List packages left unresolved (and why) instead of resolving.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
) -> None:
    """Map every inventoried package to its upstream repository (cached for resolve.ttl_days)."""
    app_context = context(ctx)
    settings, engine = app_context.settings, app_context.engine
    console = make_console()
    asked = list(purls or []) + (_purls_from_file(from_file) if from_file is not None else [])
    if asked or from_file is not None:
        answers = asyncio.run(_ask(settings, engine, asked, refresh))
        if as_json:
            for answer in answers:
                typer.echo(json.dumps(answer.to_dict()))
        else:
            _print_answers(answers, console)
        return
    if unresolved:
        rows = load_resolutions(engine, statuses=("unresolved", "retry"))
        if as_json:
            items = [
                {"package": r.package_key, "status": r.status, "reason": r.reason, "source_url": r.source_url}
                for r in rows
            ]
            typer.echo(json.dumps(items, indent=2))
            return
        table = Table("package", "status", "reason", title=f"{len(rows)} unresolved packages")
        for row in rows:
            table.add_row(row.package_key, row.status, row.reason or "")
        console.print(table)
        return
    show_progress = sys.stderr.isatty() and not as_json
    with logged_stage("resolve"):
        summary = asyncio.run(_run(settings, engine, show_progress, refresh))
    if as_json:
        typer.echo(json.dumps(summary.to_dict(), indent=2))
    else:
        _print_summary(summary, console)
