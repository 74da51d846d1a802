"""``upkeep ingest PATH... [--repo OWNER/NAME] [--replace] [--json]``: read SBOMs into the store."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from bot.cli.app import CliError, app, context, make_console
from bot.inventory.ingest import IngestSummary, ingest_paths, iter_files, normalise_repo_name
from bot.store.inventory import save_run
from bot.store.tables import utcnow


def _print_summary(summary: IngestSummary, console: Console) -> None:
    totals = summary.to_dict()
    table = Table("document", "repository (from)", "format", "components", "purls", "direct", "transitive", "unknown")
    for document in summary.documents:
        table.add_row(
            Path(document.source).name,
            f"{document.repository} ({document.repository_from})",
            f"{document.format} {document.spec_version}",
            str(document.components),
            str(document.unique_purls),
            str(document.direct),
            str(document.transitive),
            str(document.unknown_depth) + ("" if document.has_graph else " (no graph)"),
        )
    if summary.documents:
        console.print(table)
    console.print(
        f"{totals['documents']} documents ({totals['unchanged']} unchanged), {totals['failed']} failed, "
        f"{totals['repositories']} repositories, {totals['components']} components, "
        f"{totals['unique_purls']} unique purls, {totals['without_purl']} without purl; "
        f"{totals['direct']} direct, {totals['transitive']} transitive, {totals['unknown_depth']} of unknown depth"
    )
    for document in summary.documents:
        if document.replaced:
            console.print(f"{document.repository}: {document.source} replaced the document from {document.replaced}")
    if totals["depth_inferred"]:
        console.print(
            "direct dependencies inferred (the graph never names the document's root; what nothing depends on "
            f"counts as direct) in: {', '.join(totals['depth_inferred'])}"
        )
    if totals["documents_without_graph"]:
        console.print(f"no dependency graph in: {', '.join(totals['documents_without_graph'])}")
    if totals["by_ecosystem"]:
        console.print("by ecosystem: " + ", ".join(f"{k} {v}" for k, v in totals["by_ecosystem"].items()))


def _check_paths(paths: list[Path]) -> None:
    """Refuse, before the store is touched, a path that does not exist or a folder with nothing to read."""
    for path in paths:
        if not path.exists():
            raise CliError(f"{path}: no such file or directory; name SBOM files or folders that hold them")
        if path.is_dir() and not any(iter_files([path], [])):
            raise CliError(
                f"{path}: the folder holds no files to read (hidden files and folders are skipped); "
                "name the folder that holds the SBOMs"
            )


@app.command("ingest")
def ingest_command(
    ctx: typer.Context,
    paths: Annotated[list[Path], typer.Argument(help="SBOM files or directories (walked).")],
    repo: Annotated[
        str | None, typer.Option("--repo", help="OWNER/NAME the documents belong to (default: from each document).")
    ] = None,
    replace: Annotated[
        bool,
        typer.Option("--replace", help="Let a document replace a repository's current one of another product."),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Read SBOMs (CycloneDX JSON/XML, SPDX 2 JSON/tag-value, SPDX 3, GitHub exports) into the store."""
    app_context = context(ctx)
    if repo is not None:
        try:
            repo = normalise_repo_name(repo)
        except ValueError as exc:
            raise CliError(f"--repo {exc}") from exc
    _check_paths(paths)
    settings, engine = app_context.settings, app_context.engine
    started = utcnow()
    summary = ingest_paths(engine, paths, repo=repo, max_file_bytes=settings.inventory.max_file_bytes, replace=replace)
    totals = summary.to_dict()
    status = "ok" if summary.ok else ("partial" if summary.documents else "failed")
    save_run(engine, kind="ingest", status=status, summary=totals, started_at=started)
    errors = make_console(stderr=True)
    for failure in summary.failures:
        errors.print(f"upkeep: {failure}", markup=False, soft_wrap=True)
    if as_json:
        typer.echo(json.dumps(totals, indent=2))
    else:
        for document in summary.documents:
            for warning in document.warnings:
                errors.print(f"warning: {document.source}: {warning}", markup=False, soft_wrap=True)
        _print_summary(summary, make_console())
    if not summary.ok:
        # SystemExit, not typer.Exit: main() runs click with standalone_mode=False, which turns
        # typer.Exit into a return value that main() does not pass on to the process.
        sys.exit(1)
