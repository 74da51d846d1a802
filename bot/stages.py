"""The stage registry: the concrete adapter for every pipeline stage, chosen here at the edge.

``upkeep run``, ``upkeep worker`` and ``upkeep demo`` run these in :data:`bot.pipeline.STAGE_ORDER`.
Each function takes a :class:`~bot.pipeline.StageContext` and returns its summary; each is
idempotent and resumable, so the pipeline may rerun any of them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.pipeline import StageContext, StageFunction


def sync_stage(context: StageContext) -> dict[str, Any]:
    """Inventory: SBOM files from ``[inventory].paths``, then every configured org's GitHub export."""
    from bot.inventory.ingest import ingest_paths

    settings = context.settings
    summary: dict[str, Any] = {}
    if settings.inventory.paths:
        ingested = ingest_paths(
            context.engine, settings.inventory.paths, max_file_bytes=settings.inventory.max_file_bytes
        )
        summary["files"] = ingested.to_dict()
        if ingested.failures:
            summary["file_failures"] = [f"{f.source}: {f.message}" for f in ingested.failures]
    if settings.github.orgs:
        from bot.sources.github_sync import sync_stage as github_sync_stage

        summary["github"] = github_sync_stage(context)
    if not summary:
        summary["note"] = "nothing to sync: set [github].orgs or [inventory].paths"
    return summary


def resolve_stage(context: StageContext) -> dict[str, Any]:
    from bot.resolve.stage import resolve_stage as run

    return run(context)


def gather_stage(context: StageContext) -> dict[str, Any]:
    """Evidence: the upstreams' signals, then the organisation's people, contributions and money."""
    from bot.sources.evidence_stage import evidence_stage
    from bot.sources.signals_stage import signals_stage

    return {"signals": signals_stage(context), "evidence": evidence_stage(context)}


def score_stage(context: StageContext) -> dict[str, Any]:
    from bot.gaps.score_stage import score_stage as run

    return run(context)


def report_stage(context: StageContext) -> dict[str, Any]:
    from bot.report.report_stage import report_stage as run

    return run(context)


def deliver_stage(context: StageContext) -> dict[str, Any]:
    """Digest and issues through the outbox; ``options["channels"]`` narrows it (the worker's jobs)."""
    from bot.deliver.inputs import load_delivery_inputs
    from bot.deliver.sinks import build_sinks
    from bot.deliver.stage import deliver

    settings = context.settings
    inputs = load_delivery_inputs(context.engine, settings, context.now)
    channels = set(context.options.get("channels") or ("slack", "issues"))
    digest = inputs.digest if "slack" in channels else None
    issues = inputs.gap_issues if "issues" in channels else None
    sinks, notes = build_sinks(settings, context.secrets)
    result = deliver(context.engine, settings, digest, issues, sinks=sinks, now=context.now, dry_run=False)
    return {
        "enqueued": result.enqueued,
        "delivered": result.delivered,
        "failed": result.failed,
        "dead": result.dead,
        "waiting": result.waiting,
        "notes": [*inputs.missing, *notes, *result.notes],
    }


REGISTRY: Mapping[str, StageFunction] = {
    "sync": sync_stage,
    "resolve": resolve_stage,
    "gather": gather_stage,
    "score": score_stage,
    "report": report_stage,
    "deliver": deliver_stage,
}
