"""``upkeep packages [--json]``: every inventoried package with its resolution (or why it has none)."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from bot.cli.app import app, context
from bot.store.resolution import load_package_listing


@app.command("packages")
def packages_command(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object per package and line.")] = False,
) -> None:
    """List every inventoried package with its upstream, or the reason it has none."""
    listing = load_package_listing(context(ctx).engine)
    if as_json:
        for item in listing:
            line = {
                "package": item.package_key,
                "ecosystem": item.ecosystem,
                "repositories": item.repositories,
                "status": item.status or "not resolved yet",
                "upstream": item.upstream_key,
                "reason": item.reason,
                "provenance": item.provenance,
            }
            typer.echo(json.dumps(line))
        return
    table = Table("package", "repositories", "upstream", "provenance / reason", title=f"{len(listing)} packages")
    for item in listing:
        why = item.provenance or item.reason or ("not resolved yet: run upkeep resolve" if item.status is None else "")
        table.add_row(item.package_key, str(item.repositories), item.upstream_key or "-", why)
    Console(highlight=False).print(table)
