"""``upkeep history HOST/OWNER/NAME`` and ``upkeep changes [--since DATE]``: the ledger over time.

Both read through :mod:`bot.query` (as the HTTP API and the MCP server do); ``--json`` prints the
records documented in docs/api.md.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer

from bot.cli.app import AppContext, CliError, app, context
from bot.query import Ledger, to_json
from bot.query.history import parse_since
from bot.query.models import GapChange
from bot.records import UpstreamKey


def ledger(app_ctx: AppContext) -> Ledger:
    """The query layer over this invocation's store and settings."""
    return Ledger(app_ctx.engine, app_ctx.settings)


def _num(value: float | None, fmt: str) -> str:
    return "-" if value is None else format(value, fmt)


@app.command("history")
def history_command(
    ctx: typer.Context,
    upstream: Annotated[
        str, typer.Argument(metavar="HOST/OWNER/NAME", help="The upstream, e.g. github.com/psf/requests.")
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print the history as JSON (docs/api.md).")] = False,
) -> None:
    """Show one upstream's score, usage and investment in every stored snapshot, oldest first."""
    try:
        UpstreamKey.parse(upstream)
    except ValueError as exc:
        raise CliError(str(exc)) from exc
    found = ledger(context(ctx)).history(upstream)
    if as_json:
        typer.echo(to_json(found))
        return
    if not found.points:
        typer.echo(f"{found.upstream}: in no stored snapshot (run `upkeep score`, or check the name)")
        return
    typer.echo(found.upstream)
    typer.echo("snapshot  taken             repos  usage   risk   invested  gap      recommended")
    for p in found.points:
        if not p.scored:
            typer.echo(
                f"{p.snapshot_id:<9} {p.snapshot_at:%Y-%m-%d %H:%M}  {p.repos or 0:>5}  "
                f"not scored: {p.not_scored_reason}"
            )
            continue
        typer.echo(
            f"{p.snapshot_id:<9} {p.snapshot_at:%Y-%m-%d %H:%M}  {p.repos or 0:>5}  {_num(p.usage_share, '.1%'):>6}  "
            f"×{_num(p.risk, '.2f'):<5} {_num(p.investment_share, '.1%'):>8}  {_num(p.gap, '+.1%'):>7}  "
            f"{_num(p.recommended, ',.0f')} {p.currency}"
        )


def _since(value: str | None) -> datetime | None:
    try:
        return parse_since(value)
    except ValueError as exc:
        raise CliError(f"--since: {exc}") from exc


def _lines(title: str, changes: list[GapChange]) -> list[str]:
    lines = [f"{title} ({len(changes)}):"]
    for c in changes:
        lines.append(
            f"  {c.upstream}: gap {_num(c.gap_before, '+.1%')} → {_num(c.gap_after, '+.1%')}; {'; '.join(c.reasons)}"
        )
    return lines


@app.command("changes")
def changes_command(
    ctx: typer.Context,
    since: Annotated[
        str | None, typer.Option("--since", metavar="DATE", help="Compare with the last snapshot at or before DATE.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the changes as JSON (docs/api.md).")] = False,
) -> None:
    """What changed between the latest snapshot and an earlier one: gaps opened and closed, risk, money in."""
    when = _since(since)  # a bad date is a usage error, refused before the store is opened
    found = ledger(context(ctx)).changes(since=when)
    if as_json:
        typer.echo(to_json(found))
        return
    if found.note:
        typer.echo(found.note)
        if found.before_snapshot_id is None:
            return
    typer.echo(
        f"snapshot {found.before_snapshot_id} ({found.before_at:%Y-%m-%d}) → snapshot {found.after_snapshot_id} "
        f"({found.after_at:%Y-%m-%d}); a gap is open above {found.threshold:.1%}"
        if found.before_at and found.after_at
        else ""
    )
    for line in [
        *_lines("new gaps", found.new_gaps),
        *_lines("closed gaps", found.closed_gaps),
        *_lines("biggest moves", found.movers),
    ]:
        typer.echo(line)
    typer.echo(f"risk changes ({len(found.risk_changes)}):")
    for r in found.risk_changes:
        moved = ", ".join([*(f"+{s}" for s in r.signals_added), *(f"-{s}" for s in r.signals_removed)])
        typer.echo(f"  {r.upstream}: ×{r.risk_before:.2f} → ×{r.risk_after:.2f}" + (f" ({moved})" if moved else ""))
    typer.echo(f"money in ({len(found.money_in)} payments):")
    for p in found.money_in:
        to = ", ".join(p.upstreams) or f"no upstream we use ({p.attribution})"
        typer.echo(f"  {p.paid_on:%Y-%m-%d} {p.channel} {p.amount} {p.currency} → {to}")
