"""``upkeep gather`` (evidence: signals, people and contributions, money) and ``upkeep upstream``.

``gather`` runs its parts in order; with no part option it runs every part that exists. Each
part is a resumable stage, so rerunning after a crash or a rate limit finishes the work.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from sqlmodel import Session, select

from bot.cli.app import AppContext, CliError, WorkFailed, app, context
from bot.cli.upstreams import UPSTREAM_HELP, resolve_upstream
from bot.http import RateLimited
from bot.progress import logged_stage
from bot.query.upstreams import SIGNAL_FIELDS
from bot.signals.exits import Exit, ExitListError, exit_line, load_configured_exits
from bot.signals.governance import FoundationListError
from bot.sources.evidence_stage import describe_evidence, describe_upstream, gather_evidence
from bot.sources.github_client import GitHubAuthError, GitHubQueryError
from bot.sources.github_signals import GitHubSignalsError
from bot.sources.opencollective import OpenCollectiveError
from bot.sources.signals_stage import SignalsSummary, gather_signals, signals_client
from bot.store import signals as store
from bot.store.rate_limits import BUDGETS
from bot.store.renames import load_renames
from bot.store.tables import UpstreamRow, UpstreamSignalRow

NOT_GATHERED = "not gathered yet"


def _run_signals(app_ctx: AppContext, rescan: bool) -> SignalsSummary:
    settings = app_ctx.settings
    with signals_client(settings) as client, BUDGETS.recording(app_ctx.engine):
        return gather_signals(app_ctx.engine, settings, app_ctx.secrets, client, now=datetime.now(UTC), rescan=rescan)


def _describe_signals(summary: SignalsSummary) -> str:
    calls = ", ".join(f"{k} {v}" for k, v in sorted(summary.calls.items()) if v)
    return (
        f"signals: scan {summary.scan_id}{' (new)' if summary.new_scan else ''}: "
        f"{summary.observed} of {summary.upstreams} upstreams observed ({summary.partial} partial, "
        f"{summary.missing} missing), {summary.renamed} renamed, {summary.drifts} licence drift(s), "
        f"{summary.sovereignty_risks} sovereignty risk(s); calls: {calls or 'none'}"
    )


@app.command("gather")
def gather(
    ctx: typer.Context,
    signals: Annotated[bool, typer.Option("--signals", help="Upstream health and sovereignty signals.")] = False,
    contributions: Annotated[
        bool, typer.Option("--contributions", help="People and their contributions upstream.")
    ] = False,
    money: Annotated[bool, typer.Option("--money", help="GitHub Sponsors, Open Collective and the ledger.")] = False,
    rescan: Annotated[bool, typer.Option("--rescan", help="Start a new scan even if the last one is fresh.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print each part's summary as one JSON object.")] = False,
) -> None:
    """Gather evidence about the upstreams: signals, people and contributions, money."""
    app_ctx = context(ctx)
    parts: list[tuple[str, Callable[[], Any]]] = []
    run_all = not (signals or contributions or money)  # no part named: every part that exists
    if signals or run_all:
        if as_json:
            parts.append(("signals", lambda: asdict(_run_signals(app_ctx, rescan))))
        else:
            parts.append(("signals", lambda: _describe_signals(_run_signals(app_ctx, rescan))))
    evidence_parts = [
        *(("people", "contributions") if contributions or run_all else ()),
        *(("money",) if money or run_all else ()),
    ]
    if evidence_parts:
        parts.append(("evidence", lambda: _run_evidence(app_ctx, evidence_parts, as_json=as_json)))
    done: dict[str, Any] = {}
    for name, run in parts:
        try:
            with logged_stage(f"gather {name}"):
                result = run()
            if as_json:
                done[name] = result
            else:
                typer.echo(result)
        except RateLimited as exc:
            raise WorkFailed(f"{name}: {exc}; rerun after that time to resume") from exc
        except (FoundationListError, GitHubAuthError) as exc:
            raise CliError(f"{name}: {exc}") from exc
        except (GitHubSignalsError, GitHubQueryError, OpenCollectiveError) as exc:
            raise WorkFailed(f"{name}: {exc}") from exc
    if as_json:
        typer.echo(json.dumps(done, indent=2, default=str))


def _run_evidence(app_ctx: AppContext, parts: list[str], *, as_json: bool = False) -> Any:
    with BUDGETS.recording(app_ctx.engine):
        summary = gather_evidence(app_ctx.engine, app_ctx.settings, app_ctx.secrets, now=datetime.now(UTC), parts=parts)
    return summary.to_dict() if as_json else describe_evidence(summary)


def _when(value: datetime | None) -> str:
    value = store.aware(value)
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "-"


def _value(row: UpstreamSignalRow, name: str) -> str:
    value: Any = getattr(row, name)
    if isinstance(value, datetime):
        value = _when(value)
    shown = "-" if value is None else str(value)
    source = row.sources.get(name)
    return f"{shown}  ({source}, {_when(row.observed_at)})" if source and value is not None else shown


def _exits(ctx: typer.Context) -> dict[str, Exit]:
    try:
        return load_configured_exits(context(ctx).settings)
    except ExitListError as exc:
        raise CliError(str(exc)) from exc


@app.command("upstream")
def upstream(
    ctx: typer.Context,
    key: Annotated[str, typer.Argument(metavar="HOST/OWNER/NAME", help=UPSTREAM_HELP)],
    as_json: Annotated[bool, typer.Option("--json", help="Print the whole record as JSON (docs/api.md).")] = False,
) -> None:
    """Show everything known about one upstream: packages, users, signals with dates, drift events."""
    app_context = context(ctx)
    engine = app_context.engine
    name = resolve_upstream(
        engine,
        key,
        web_host=app_context.settings.github.web_host,
        extra_forges=app_context.settings.resolve.extra_forges,
    )
    if as_json:
        from bot.query import Ledger, to_json

        typer.echo(to_json(Ledger(engine, app_context.settings).upstream(name)))
        return
    with Session(engine) as session:
        formerly = sorted(old for old, new in load_renames(session).items() if new == name)
        row = session.exec(select(UpstreamRow).where(UpstreamRow.key == name)).first()
        packages = store.load_packages_by_upstream(session, upstream_keys=[name]).get(name, [])
        history = store.load_signal_history(session, upstream_key=name)
        drifts = store.load_drifts(session, upstream_key=name)
        repos = store.load_repositories_using(session, package_keys=[p.package_key for p in packages])
    if row is None and not packages and not history:
        raise CliError(f"{name}: unknown upstream (run `upkeep resolve` first?)")
    echo = typer.echo
    echo(f"{name}" + (f"  (formerly {', '.join(formerly)})" if formerly else ""))
    echo(f"\npackages ({len(packages)}):")
    for package in sorted(packages, key=lambda p: p.package_key):
        where = f" [{package.subdirectory}]" if package.subdirectory else ""
        echo(f"  {package.package_key}{where}  ({package.provenance or package.status})")
    echo(f"\ninternal repositories using it ({len(repos)}):")
    for repo in repos:
        echo(f"  {repo}")
    echo("")
    with Session(engine) as session:
        for line in describe_upstream(
            session, name, now=datetime.now(UTC), window_days=context(ctx).settings.gaps.window_days
        ):
            echo(line)
    if not history:
        echo(f"\nsignals: {NOT_GATHERED} (run `upkeep gather --signals`)")
        return
    latest = history[0]
    partial = " (partially observed: registry-side only)" if latest.partial else ""
    echo(f"\nsignals (scan {latest.scan_id}, {_when(latest.observed_at)}){partial}:")
    if latest.missing:
        echo("  the forge says this repository does not exist")
    for field_name in SIGNAL_FIELDS:
        echo(f"  {field_name.replace('_', ' ')}: {_value(latest, field_name)}")
    echo(f"  credible exit: {exit_line(name, _exits(ctx), {}) or '-'}")
    echo(f"  funding channels ({len(latest.funding)}):")
    for channel in latest.funding:
        echo(f"    {channel['platform']}: {channel['url'] or channel['target']}  ({channel['source']})")
    for problem in latest.funding_problems:
        echo(f"    problem: {problem['key']}: {problem['message']}")
    for note in latest.notes:
        echo(f"  note: {note}")
    echo(f"\nlicence drift ({len(drifts)}):")
    for drift in drifts:
        risk = "  SOVEREIGNTY RISK" if drift.sovereignty_risk else ""
        echo(
            f"  {_when(drift.first_seen_at)}: {drift.from_spdx or 'none'} ({drift.from_class}) → "
            f"{drift.to_spdx or 'none'} ({drift.to_class}){risk}"
        )
    if len(history) > 1:
        echo(f"\nscans ({len(history)}):")
        for past in history:
            echo(
                f"  scan {past.scan_id} {_when(past.observed_at)}: licence {past.licence or '-'}, "
                f"bus factor {past.bus_factor if past.bus_factor is not None else '-'}, "
                f"maintainers {past.active_maintainers if past.active_maintainers is not None else '-'}"
            )
