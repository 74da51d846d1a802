"""``upkeep db``: schema management."""

from __future__ import annotations

import typer

from bot.cli.app import app, context
from bot.store.engine import make_engine, upgrade

db_app = typer.Typer(help="Database schema management.", no_args_is_help=True)
app.add_typer(db_app, name="db")


@db_app.command("upgrade")
def db_upgrade(ctx: typer.Context, revision: str = typer.Argument("head")) -> None:
    """Apply Alembic migrations up to REVISION (default: head)."""
    settings = context(ctx).settings
    url = settings.database_url()
    upgrade(make_engine(url), revision)
    typer.echo(f"database at {revision}: {url.split('@')[-1]}")
