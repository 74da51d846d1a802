"""The Typer application, its global options and the shared per-invocation context."""

from __future__ import annotations

import atexit
import gc
import logging
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Annotated, Any

import click
import typer
import typer.core

from bot import __version__
from bot.cli.registry import LazyGroup
from bot.errors import EXIT_FAILED, EXIT_USAGE, ConfigError
from bot.logs import configure_logging
from bot.progress import configure as configure_progress

if TYPE_CHECKING:
    from rich.console import Console
    from sqlalchemy.engine import Engine

    from bot.config import Secrets, Settings

# Importing nothing here that a command's work needs keeps ``upkeep --help`` and small commands fast
# (bench/startup.py): a command's module is imported only when it runs (bot.cli.registry).
app = typer.Typer(
    cls=LazyGroup,
    name="upkeep",
    help="Track which upstreams the organisation depends on and what it gives back.",
    no_args_is_help=True,
    # Help text is plain text: with Rich markup on, "[schedule]" in a docstring would vanish.
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    add_completion=False,
)
log = logging.getLogger("bot.cli")


# Typer escapes "[default: ...]" for Rich whenever Rich is installed, even when help is plain text
# (``rich_markup_mode=None``), so help would read "\\[default: ...]" -- and it imports all of Rich to
# do so. upkeep's help is never Rich markup: typer is told Rich is absent, which leaves the text as it is.
typer.core.HAS_RICH = False


class CliError(click.ClickException):
    """A usage or configuration error, found before anything is written: one line, exit 2.

    The message names what is wrong (option, key, value, file) and what to do instead. A click
    exception, so the exit code and the line are the same under ``main`` and click's own runner."""

    exit_code = EXIT_USAGE

    def show(self, file: IO[Any] | None = None) -> None:
        typer.echo(f"upkeep: {self.format_message()}", err=True)


class WorkFailed(CliError):
    """The work itself failed (a service, a file, a stage): one line naming it, exit 1."""

    exit_code = EXIT_FAILED


#: Options of the ``upkeep`` group that may also follow the command (``upkeep explain X --verbose``),
#: with whether each takes a value.
GLOBAL_OPTIONS: dict[str, bool] = {
    "--config": True,
    "-c": True,
    "--database-url": True,
    "--verbose": False,
    "-v": False,
    "--log-json": False,
}


def hoist_global_options(args: list[str]) -> list[str]:
    """Move global options written after the command to before it, so both orders work.

    Stops at ``--``; ``--database-url=URL`` forms are moved whole."""
    head: list[str] = []
    rest: list[str] = []
    index = 0
    while index < len(args):
        arg = args[index]
        if arg == "--":
            rest.extend(args[index:])
            break
        name = arg.split("=", 1)[0]
        takes_value = GLOBAL_OPTIONS.get(name)
        if takes_value is None:
            rest.append(arg)
        elif takes_value and "=" not in arg and index + 1 < len(args):
            head.extend(args[index : index + 2])
            index += 1
        else:
            head.append(arg)
        index += 1
    return head + rest


def make_console(*, stderr: bool = False) -> Console:
    """A Rich console that wraps only on a terminal: piped output keeps each line whole."""
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    width = None if stream.isatty() else 10_000
    return Console(stderr=stderr, width=width, highlight=False, soft_wrap=not stream.isatty())


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
            from bot.config import load_settings

            overrides = dict(self.overrides)
            if self.database_url:
                overrides["database.url"] = self.database_url
            try:
                self._settings = load_settings(self.config_path, overrides=overrides)
            except ConfigError as exc:
                raise CliError(str(exc)) from exc
        return self._settings

    @property
    def engine(self) -> Engine:
        """The store's engine, upgraded to the newest schema on first use."""
        if self._engine is None:
            from sqlalchemy.exc import DBAPIError

            from bot.errors import redact_url
            from bot.store.engine import make_engine, upgrade

            url = self.settings.database_url()
            try:
                engine = make_engine(url)
            except ConfigError as exc:
                raise CliError(str(exc)) from exc
            try:
                upgrade(engine)
            except DBAPIError as exc:
                first = str(exc.orig or exc).strip().splitlines()[0]
                raise WorkFailed(
                    f"database {redact_url(url)}: {first}: check database.url (or --database-url, "
                    "UPKEEP_DATABASE_URL) and that the server runs and accepts this user"
                ) from exc
            self._engine = engine
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
    from bot.config import Secrets

    secrets = Secrets.from_environment()
    configure_logging(verbose=verbose, json_lines=log_json, secrets=secrets.values())
    configure_progress(terminal=None if not log_json else False)  # JSON logs are for machines: no bars
    ctx.obj = AppContext(config_path=config, database_url=database_url, verbose=verbose, secrets=secrets)


def context(ctx: typer.Context) -> AppContext:
    obj = ctx.obj
    assert isinstance(obj, AppContext)
    return obj


def _skip_the_last_collection() -> None:
    """Spare the process the cyclic collection at exit, which walks every object the imports made
    (SQLAlchemy's, pydantic's): a quarter of a second of a short command's CPU (bench/startup.py).
    Freezing moves them out of the collector's sight; what the process owns is released on exit anyway."""
    if gc.freeze not in _registered:
        _registered.append(gc.freeze)
        atexit.register(gc.freeze)


_registered: list[Any] = []


def main(argv: list[str] | None = None) -> None:
    """Entry point: one clear line per error, the traceback only with ``--verbose``.

    Exit codes (docs/cli.md): 0 done, 1 the work failed, 2 a usage or configuration error."""
    from bot.errors import describe_error

    _skip_the_last_collection()
    args = hoist_global_options(sys.argv[1:] if argv is None else list(argv))
    try:
        # Without standalone mode, click returns ``typer.Exit(code)`` as the return value.
        result = app(args=args, standalone_mode=False)
        if isinstance(result, int) and result:
            sys.exit(result)
    except CliError as exc:
        typer.echo(f"upkeep: {exc}", err=True)
        sys.exit(exc.exit_code)
    except ConfigError as exc:
        typer.echo(f"upkeep: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        typer.echo("upkeep: aborted", err=True)
        sys.exit(130)
    except click.exceptions.ClickException as exc:  # usage errors exit 2, as click does
        exc.show()
        sys.exit(EXIT_USAGE if isinstance(exc, click.exceptions.UsageError) else EXIT_FAILED)
    except Exception as exc:  # the last line of defence: one line, the rest under --verbose
        if "--verbose" in args or "-v" in args:
            raise
        typer.echo(f"upkeep: {describe_error(exc)} (run with --verbose for details)", err=True)
        sys.exit(EXIT_FAILED)
