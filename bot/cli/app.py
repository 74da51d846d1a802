"""The Typer application, its global options and the shared per-invocation context."""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy.engine import Engine

from bot import __version__
from bot.config import ConfigError, Secrets, Settings, load_settings
from bot.logs import configure_logging
from bot.progress import configure as configure_progress

app = typer.Typer(
    name="upkeep",
    help="Track which upstreams the organisation depends on and what it gives back.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
log = logging.getLogger("bot.cli")


class CliError(Exception):
    """An error the CLI reports in one line and exits non-zero for."""


@dataclass
class AppContext:
    """What every command needs, built once per invocation from the global options."""

    config_path: Path | None
    database_url: str | None
    verbose: bool
    secrets: Secrets
    _settings: Settings | None = None
    _engine: Engine | None = None
    overrides: dict[str, Any] = field(default_factory=dict)

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            overrides = dict(self.overrides)
            if self.database_url:
                overrides["database.url"] = self.database_url
            self._settings = load_settings(self.config_path, overrides=overrides)
        return self._settings

    @property
    def engine(self) -> Engine:
        """The store's engine, upgraded to the newest schema on first use."""
        if self._engine is None:
            from bot.store.engine import make_engine, upgrade

            self._engine = make_engine(self.settings.database_url())
            upgrade(self._engine)
        return self._engine


def version_callback(value: bool) -> None:
    if value:
        typer.echo(f"upkeep {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    config: Annotated[Path | None, typer.Option("--config", "-c", help="TOML config file.")] = None,
    database_url: Annotated[
        str | None, typer.Option("--database-url", envvar="UPKEEP_DATABASE_URL", help="SQLAlchemy URL.")
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Debug logs and tracebacks.")] = False,
    log_json: Annotated[bool, typer.Option("--log-json", help="One JSON object per log line.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=version_callback, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    secrets = Secrets.from_environment()
    configure_logging(verbose=verbose, json_lines=log_json, secrets=secrets.values())
    configure_progress(terminal=None if not log_json else False)  # JSON logs are for machines: no bars
    ctx.obj = AppContext(config_path=config, database_url=database_url, verbose=verbose, secrets=secrets)


def context(ctx: typer.Context) -> AppContext:
    obj = ctx.obj
    assert isinstance(obj, AppContext)
    return obj


def current_upstream(engine: Engine, key: str) -> str:
    """``key`` as the upstream is called now, saying so when GitHub redirects it (renamed or transferred)."""
    from sqlmodel import Session

    from bot.records import current_key
    from bot.store.renames import load_renames

    with Session(engine) as session:
        current = current_key(key, load_renames(session))
    if current != key:
        typer.echo(f"{key} is now {current} (renamed or transferred; GitHub redirects the old name)")
    return current


def main(argv: list[str] | None = None) -> None:
    """Entry point: one clear line per error, the traceback only with ``--verbose``."""
    args = sys.argv[1:] if argv is None else argv
    try:
        # Without standalone mode, click returns ``typer.Exit(code)`` as the return value.
        result = app(args=args, standalone_mode=False)
        if isinstance(result, int) and result:
            sys.exit(result)
    except (ConfigError, CliError) as exc:
        typer.echo(f"upkeep: {exc}", err=True)
        sys.exit(2)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        typer.echo("upkeep: aborted", err=True)
        sys.exit(130)
    except Exception as exc:  # the last line of defence: one line, the rest under --verbose
        import click

        if isinstance(exc, click.exceptions.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        if "--verbose" in args or "-v" in args:
            raise
        typer.echo(f"upkeep: {type(exc).__name__}: {exc} (run with --verbose for details)", err=True)
        sys.exit(1)
