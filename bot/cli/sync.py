"""``upkeep sync [--json]``: list the organisations' repositories and ingest their SBOM exports."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated

import typer

from bot.cli.app import CliError, WorkFailed, app, context
from bot.pipeline import StageContext
from bot.progress import logged_stage
from bot.sources.github_client import GitHubAuthError
from bot.sources.github_sync import SbomExportError, SyncSummary, sync_stage
from bot.store.inventory import save_run
from bot.store.rate_limits import BUDGETS


def describe_sync(summary: SyncSummary) -> str:
    """One paragraph a person reads after ``upkeep sync``."""
    lines = [
        f"sync: {summary.listed} repositories in {', '.join(summary.orgs) or 'no org'} "
        f"({summary.listing_not_modified} of {summary.listing_pages} listing pages unchanged); "
        f"{summary.skipped_forks} forks and {summary.skipped_archived} archived skipped, "
        f"{summary.unchanged_repos} unchanged since their last export",
        f"exported {summary.exported} ({summary.reports_requested} reports, {summary.sync_exports} synchronous): "
        f"{summary.ingested} ingested, {summary.unchanged_documents} documents unchanged",
    ]
    if summary.weighted or summary.teams or summary.property_pages or summary.codeowners_requests:
        lines.append(
            f"weights and teams: {summary.weighted} repositories weighted by a rule, {summary.teams} with a team "
            f"({summary.property_pages_not_modified} of {summary.property_pages} property pages unchanged, "
            f"{summary.codeowners_requests} CODEOWNERS requests, {summary.codeowners_reused} kept since no push)"
        )
    lines += [f"warning: {message}" for message in summary.warnings]
    lines += [f"dependency graph disabled: {name}" for name in summary.disabled]
    lines += [f"failed: {message}" for message in summary.failed]
    if summary.stopped:
        lines.append(f"stopped by a rate limit until {summary.stopped}; rerun then to continue")
    return "\n".join(lines)


@app.command("sync")
def sync_command(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Sync every configured GitHub org: list repositories and ingest their dependency-graph SBOMs."""
    app_ctx = context(ctx)
    settings = app_ctx.settings
    if not settings.github.orgs:
        raise CliError("github.orgs: no organisation configured to sync; set [github].orgs in the config")
    started = datetime.now(UTC)
    try:
        with BUDGETS.recording(app_ctx.engine), logged_stage("sync"):
            done = sync_stage(StageContext(settings, app_ctx.secrets, app_ctx.engine, started))
            forges = done.pop("forges", None)  # the [[forges]] groups' part, when any is configured
            summary = SyncSummary(**done)
    except GitHubAuthError as exc:
        raise CliError(str(exc)) from exc
    except SbomExportError as exc:
        raise WorkFailed(str(exc)) from exc
    status = "partial" if summary.stopped or summary.failed else "ok"
    shown = {**summary.to_dict(), **({"forges": forges} if forges is not None else {})}
    save_run(app_ctx.engine, kind="sync", status=status, summary=shown, started_at=started)
    typer.echo(json.dumps(shown, indent=2) if as_json else describe_sync(summary))
    if forges is not None and not as_json:
        typer.echo(
            f"forges: {forges['repositories']} repositories, {forges['documents']} SBOMs stored "
            f"({forges['changed']} changed), {len(forges['without_sbom'])} without SBOM, {len(forges['failed'])} failed"
        )
        for line in [*forges["without_sbom"], *forges["failed"]]:
            typer.echo(f"  {line}")
