"""``upkeep score [--json]`` scores every upstream and stores a snapshot; ``upkeep explain HOST/OWNER/NAME``
prints how one upstream's numbers were reached."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy.engine import Engine

from bot.cli.app import WorkFailed, app, context, make_console
from bot.cli.upstreams import UPSTREAM_HELP, resolve_upstream
from bot.decisions.ledger import decision_ledger
from bot.gaps.explain import explain
from bot.gaps.score_stage import ranked, score_stage
from bot.pipeline import StageContext
from bot.progress import logged_stage
from bot.store.gap_inputs import conversions_of
from bot.store.gaps import latest_snapshots, load_score, load_scores


def _table(engine: Engine, snapshot_id: int, currency: str, top: int) -> Table:
    scores = ranked(load_scores(engine, snapshot_id=snapshot_id, with_terms=False))
    table = Table(
        "#", "upstream", "repos", "usage", "expected", "invested", "gap", "risk", "recommended", "given",
        title=f"Top gaps (snapshot {snapshot_id}, {currency} per year)",
    )  # fmt: skip
    for rank, s in enumerate(scores[:top], start=1):
        table.add_row(
            str(rank),
            s.upstream,
            str(s.repos),
            f"{s.usage_share:.1%}",
            f"{s.expected_share:.1%}",
            f"{s.investment_share:.1%}",
            f"{s.gap:+.1%}",
            f"×{s.risk:.2f}",
            f"{s.recommended:,.0f}",
            f"{s.given:,.0f}",
        )
    return table


@app.command("score")
def score_command(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print the stage summary as JSON.")] = False,
    top: Annotated[int, typer.Option("--top", min=1, help="Rows in the top gaps table.")] = 10,
) -> None:
    """Score every upstream (usage × risk against contributions and money) and store a snapshot."""
    app_context = context(ctx)
    stage_context = StageContext(
        settings=app_context.settings, secrets=app_context.secrets, engine=app_context.engine, now=datetime.now(UTC)
    )
    with logged_stage("score"):
        summary = score_stage(stage_context)
    if as_json:
        typer.echo(json.dumps(summary, indent=2))
        return
    console = make_console()
    console.print(_table(stage_context.engine, summary["snapshot"], summary["currency"], top))
    console.print(
        f"{summary['upstreams']} upstreams scored, {summary['open_gaps']} open gaps; budget "
        f"{summary['budget']:,.2f} {summary['currency']} per year ({summary['budget_source']}; "
        f"developers: {summary['developers_source']})"
    )
    since = summary["since_last_snapshot"]
    if since is not None:
        console.print(
            f"since the last snapshot: {len(since['new_gaps'])} new gaps, {len(since['closed_gaps'])} closed"
            + (f" (new: {', '.join(since['new_gaps'][:5])})" if since["new_gaps"] else "")
        )
    for note, items in (
        ("used but not scored", [f"{n['upstream']} ({n['reason']})" for n in summary["not_scored"]]),
        (
            "payments left out of given (not converted)",
            [f"{n['upstream']}: {n['channel']} {n['payment']}" for n in summary["not_converted"]],
        ),
        ("contribution kinds without a weight", summary["unknown_contribution_kinds"]),
    ):
        if items:
            console.print(f"{note}: {', '.join(items)}")


@app.command("explain")
def explain_command(
    ctx: typer.Context,
    upstream: Annotated[str, typer.Argument(metavar="HOST/OWNER/NAME", help=UPSTREAM_HELP)],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the score and its terms as JSON (docs/api.md).")
    ] = False,
) -> None:
    """Print one upstream's score from the latest snapshot, term by term."""
    app_context = context(ctx)
    engine = app_context.engine
    if as_json:
        from bot.query import Ledger, to_json

        latest = latest_snapshots(engine, limit=1)
        named = resolve_upstream(
            engine,
            upstream,
            web_host=app_context.settings.github.web_host,
            extra_forges=app_context.settings.resolve.extra_forges,
            also_known=[n.upstream for n in latest[0].not_scored] if latest else [],
        )
        found = Ledger(engine, app_context.settings).explain(named)
        typer.echo(to_json(found))
        if not found.scored and found.summary is None:
            raise WorkFailed(f"{named}: not scored in the latest snapshot")
        return
    snapshots = latest_snapshots(engine, limit=1)
    if not snapshots:
        raise WorkFailed("no gap snapshot yet; run `upkeep score` first")
    github = app_context.settings.github
    key = resolve_upstream(
        engine,
        upstream,
        web_host=github.web_host,
        extra_forges=app_context.settings.resolve.extra_forges,
        also_known=[n.upstream for n in snapshots[0].not_scored],
    )
    left_out = next((n for n in snapshots[0].not_scored if n.upstream == key), None)
    if left_out is not None:
        typer.echo(f"{key}: used by {left_out.repos} repositories, not scored: {left_out.reason}")
        return
    score = load_score(engine, upstream=key, snapshot_id=snapshots[0].id)
    if score is None:
        raise WorkFailed(
            f"{key}: not in snapshot {snapshots[0].id} (no internal repository uses it now); "
            "`upkeep score` takes a new snapshot"
        )
    typer.echo(explain(score, currency=snapshots[0].currency), nl=False)
    snapshot = snapshots[0]
    conversions = conversions_of(
        engine, context(ctx).settings, key, window_start=snapshot.window_start, window_end=snapshot.window_end
    )
    if conversions:
        typer.echo(f"  payments in the window, in {snapshot.currency} at the rate of each payment's date:")
        for conversion in conversions:
            typer.echo(f"    {conversion.text()}")
    ledger = decision_ledger(engine, context(ctx).settings, until=datetime.now(UTC), upstream=key)
    if ledger.lines:
        typer.echo("  decisions:")
        for line in ledger.lines:
            paid = f"; paid since {line.paid_since:,.0f} {ledger.currency}" if line.planned is not None else ""
            typer.echo(f"    {line.words}{paid}{' (replaced)' if line.replaced else ''}")
