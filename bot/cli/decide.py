"""``upkeep decide HOST/OWNER/NAME KIND [AMOUNT CURRENCY] --note TEXT`` records a decision about an upstream.

The same record as a closed gap issue or a ticked dashboard box (docs/decisions.md): it shows in
``upkeep explain``, the review's decisions section, the digest and the upstream's issue.
"""

from __future__ import annotations

import getpass
from datetime import UTC, datetime
from typing import Annotated

import typer

from bot.cli.app import app, context
from bot.cli.upstreams import resolve_upstream
from bot.decisions.interface import KINDS, Decision, DecisionKind
from bot.store.decisions import save_decisions
from bot.store.gaps import latest_snapshots, load_score


@app.command("decide")
def decide_command(
    ctx: typer.Context,
    upstream: Annotated[
        str, typer.Argument(metavar="HOST/OWNER/NAME", help="The upstream, e.g. github.com/psf/requests.")
    ],
    kind: Annotated[str, typer.Argument(metavar="KIND", help="fund | contribute | decline | done | snooze | reopen")],
    amount: Annotated[float | None, typer.Argument(help="Planned money (fund), e.g. 5000.")] = None,
    currency: Annotated[str | None, typer.Argument(help="Its currency, e.g. USD (default: the reporting one).")] = None,
    note: Annotated[str, typer.Option("--note", help="Why, in a line.")] = "",
    by: Annotated[str | None, typer.Option("--by", help="Who decided (default: the local user).")] = None,
) -> None:
    """Record a decision about an upstream's gap (planned money for fund)."""
    if kind not in KINDS:
        typer.echo(f"upkeep: decide: {kind!r} is not one of {', '.join(KINDS)}", err=True)
        raise typer.Exit(2)
    if amount is not None and not amount >= 0:
        typer.echo(f"upkeep: decide: the amount must be a number ≥ 0 (got {amount})", err=True)
        raise typer.Exit(2)
    if amount is not None and kind != "fund":
        typer.echo("upkeep: decide: only fund takes an amount", err=True)
        raise typer.Exit(2)
    app_context = context(ctx)
    engine, settings = app_context.engine, app_context.settings
    key = resolve_upstream(
        engine, upstream, web_host=settings.github.web_host, extra_forges=settings.resolve.extra_forges
    )
    if key.count("/") != 2:
        typer.echo(f"upkeep: decide: {upstream!r} is not HOST/OWNER/NAME", err=True)
        raise typer.Exit(2)
    snapshots = latest_snapshots(engine, limit=1)
    score = load_score(engine, upstream=key, snapshot_id=snapshots[0].id) if snapshots else None
    kind_value: DecisionKind = kind  # type: ignore[assignment]  # checked against KINDS above
    decision = Decision(
        upstream=key,
        kind=kind_value,
        actor=by or getpass.getuser(),
        decided_at=datetime.now(UTC).replace(microsecond=0),
        source="cli",
        amount=amount,
        currency=(currency or app_context.settings.funding.reporting_currency).upper() if amount is not None else None,
        note=note,
        gap=score.gap if score is not None else None,
    )
    save_decisions(engine, [decision], now=datetime.now(UTC))
    typer.echo(f"{key}: {decision.words()}")
