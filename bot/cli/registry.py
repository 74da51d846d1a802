"""Every ``upkeep`` command in one table, so the command line imports only the module of the command it runs.

A command's module pulls in what its work needs (SQLAlchemy, httpx, the parsers, the sandbox), which
costs far more than the interpreter itself; ``upkeep --help`` needs none of it, and ``upkeep ingest``
needs none of the delivery code. The listing in ``upkeep --help`` is therefore written from this table,
and :class:`LazyGroup` imports a module the first time one of its commands is asked for (to run it, or
to show its own help). A test checks that the table names every command and that each help line is
the start of the command's own help text, so the two cannot drift apart.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from difflib import get_close_matches

import click
from typer.core import TyperGroup

from bot.gc_pause import cyclic_gc_paused


@dataclass(frozen=True)
class Entry:
    """One command: its name, the module that registers it on the app, and the first paragraph of its help."""

    name: str
    module: str
    help: str


#: In pipeline order, as ``upkeep --help`` lists them.
COMMANDS: tuple[Entry, ...] = (
    Entry(
        "ingest",
        "bot.cli.ingest",
        "Read SBOMs (CycloneDX JSON/XML, SPDX 2 JSON/tag-value, SPDX 3, GitHub exports) into the store.",
    ),
    Entry(
        "resolve",
        "bot.cli.resolve",
        "Map every inventoried package to its upstream repository (cached for resolve.ttl_days).",
    ),
    Entry(
        "packages", "bot.cli.packages", "List every inventoried package with its upstream, or the reason it has none."
    ),
    Entry(
        "sync",
        "bot.cli.sync",
        "Sync every configured GitHub org: list repositories and ingest their dependency-graph SBOMs.",
    ),
    Entry(
        "people",
        "bot.cli.people",
        "List the people whose contributions count, each account with its source (org, config, roster line).",
    ),
    Entry(
        "run",
        "bot.cli.run",
        "Run every stage once, in order, recorded as one run; a failed stage is resumed next time.",
    ),
    Entry(
        "worker",
        "bot.cli.run",
        "Run the scheduler: one leader per database, jobs from [schedule], graceful stop on SIGTERM.",
    ),
    Entry(
        "status",
        "bot.cli.run",
        "Last runs and their stages, the next scheduled times, the scheduler's leader, the outbox "
        "backlog, and the rate-limit budget left per service and resource as last seen.",
    ),
    Entry(
        "demo",
        "bot.cli.demo",
        "Run every stage against a generated world served on loopback; no configuration or tokens needed.",
    ),
    Entry("gather", "bot.cli.gather", "Gather evidence about the upstreams: signals, people and contributions, money."),
    Entry(
        "upstream",
        "bot.cli.gather",
        "Show everything known about one upstream: packages, users, signals with dates, drift events.",
    ),
    Entry(
        "score",
        "bot.cli.score",
        "Score every upstream (usage × risk against contributions and money) and store a snapshot.",
    ),
    Entry("explain", "bot.cli.score", "Print one upstream's score from the latest snapshot, term by term."),
    Entry(
        "report",
        "bot.cli.report",
        "Render the quarterly review (Markdown, HTML with charts) and its CSV, JSON and Pledge exports.",
    ),
    Entry(
        "deliver",
        "bot.cli.deliver",
        "Post the Slack digest and create, update or close the gap issues, each exactly once.",
    ),
    Entry("decide", "bot.cli.decide", "Record a decision about an upstream's gap (planned money for fund)."),
    Entry(
        "history",
        "bot.cli.query",
        "Show one upstream's score, usage and investment in every stored snapshot, oldest first.",
    ),
    Entry(
        "changes",
        "bot.cli.query",
        "What changed between the latest snapshot and an earlier one: gaps opened and closed, risk, money in.",
    ),
    Entry(
        "serve",
        "bot.cli.serve",
        "Serve the read-only JSON API (/api/v1/, /openapi.json), the latest review (/), a page per "
        "upstream and MCP (/mcp). /api/ and /mcp need a bearer token from UPKEEP_API_TOKENS (comma-"
        "separated).",
    ),
    Entry(
        "mcp",
        "bot.cli.serve",
        "Serve the MCP tools and the latest review over stdio (for an MCP client that starts upkeep itself).",
    ),
    Entry("db", "bot.cli.db", "Database schema management."),
    Entry("sandbox", "bot.cli.sandbox", "A generated world with fake GitHub, registries, Open Collective and Slack."),
)

BY_NAME: dict[str, Entry] = {entry.name: entry for entry in COMMANDS}


def load_all() -> None:
    """Import every command's module (for tools that walk the whole command tree at once)."""
    for module in dict.fromkeys(entry.module for entry in COMMANDS):
        importlib.import_module(module)


class LazyGroup(TyperGroup):
    """The ``upkeep`` group: lists commands from :data:`COMMANDS` and imports a command's module on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [entry.name for entry in COMMANDS]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = self.commands.get(cmd_name)
        if command is None and cmd_name in BY_NAME:
            with cyclic_gc_paused():  # imports build many objects and no garbage: the collector finds nothing
                importlib.import_module(BY_NAME[cmd_name].module)
            command = _built(cmd_name)
            if command is not None:
                self.commands[cmd_name] = command
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The listing of ``upkeep --help``, from the table: no command module is imported for it."""
        if not COMMANDS:
            return
        limit = formatter.width - 6 - max(len(entry.name) for entry in COMMANDS)
        # click shortens a help text as it would the command's own (its first sentence, up to ``limit``)
        rows = [
            (entry.name, click.Command(entry.name, help=entry.help).get_short_help_str(limit)) for entry in COMMANDS
        ]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        try:
            return click.Group.resolve_command(self, ctx, args)
        except click.UsageError as exc:
            matches = get_close_matches(args[0], list(BY_NAME)) if args else []
            if not matches:
                raise
            message = f"{exc.message.rstrip('.')}. Did you mean {', '.join(repr(m) for m in matches)}?"
            raise click.UsageError(message, ctx=exc.ctx) from None


def _built(name: str) -> click.Command | None:
    """The click command typer builds for ``name``, now that its module has registered it on the app."""
    import typer

    from bot.cli.app import app

    group = typer.main.get_group(app)
    return group.commands.get(name)
