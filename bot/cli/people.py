"""``upkeep people [--refresh] [--json]``: who counts for the organisation, and where each identity came from."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.table import Table
from sqlmodel import Session

from bot.cli.app import CliError, WorkFailed, app, context, make_console
from bot.sources.evidence_stage import gather_evidence
from bot.sources.github_client import GitHubAuthError, GitHubQueryError
from bot.store import evidence as store


@app.command("people")
def people_command(
    ctx: typer.Context,
    refresh: Annotated[
        bool, typer.Option("--refresh", help="Read org members, config and roster again first.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the identities as JSON.")] = False,
) -> None:
    """List the people whose contributions count, each account with its source (org, config, roster line)."""
    app_ctx = context(ctx)
    engine = app_ctx.engine
    if refresh:
        try:
            summary = gather_evidence(
                engine, app_ctx.settings, app_ctx.secrets, now=datetime.now(UTC), parts=("people",)
            )
        except GitHubAuthError as exc:
            raise CliError(str(exc)) from exc
        except GitHubQueryError as exc:
            raise WorkFailed(str(exc)) from exc
        for problem in summary.people_problems:
            typer.echo(f"upkeep: {problem}", err=True)
        if summary.stopped:
            typer.echo(f"upkeep: stopped by a rate limit until {summary.stopped}; rerun then", err=True)
        if summary.bots:
            typer.echo(f"bots excluded: {', '.join(summary.bots)}", err=True)
    with Session(engine) as session:
        identities = store.load_identities(session)
    if as_json:
        from bot.query import Ledger, to_json

        typer.echo(to_json(Ledger(engine, app_ctx.settings).people()))
        return
    if not identities:
        typer.echo("no people yet (run `upkeep people --refresh` or `upkeep gather`)")
        return
    table = Table("person", "account", "source", "where", "counted from", "until")
    for i in identities:
        table.add_row(
            i.person,
            i.account,
            i.source,
            i.detail,
            i.valid_from.isoformat() if i.valid_from else "-",
            i.valid_until.isoformat() if i.valid_until else "-",
        )
    console = make_console()
    console.print(table)
    by_person: dict[str, int] = defaultdict(int)
    for i in identities:
        by_person[i.person] += 1
    console.print(f"{len(by_person)} people, {len(identities)} identities")
