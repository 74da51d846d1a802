"""Turn one scan's observations of an upstream into its signals (pure; no I/O)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime

from bot.records import UpstreamKey
from bot.signals.agreements import detect_agreement
from bot.signals.funding import dedupe_channels, parse_funding_json, parse_funding_yml
from bot.signals.governance import GovernanceList, compute_governance
from bot.signals.licences import classify_licence, normalise_spdx
from bot.signals.people import compute_people
from bot.signals.records import (
    FundingChannel,
    FundingProblem,
    Governance,
    RegistryObservation,
    RepoObservation,
    UpstreamSignals,
)


def _registry_licence(registry: RegistryObservation) -> tuple[str | None, str | None]:
    """The registry-side licence and where it came from: deps.dev's project licence, else the packages'."""
    if normalise_spdx(registry.depsdev_licence):
        return normalise_spdx(registry.depsdev_licence), registry.sources.get("depsdev_licence", "deps.dev")
    known = sorted({n for n in (normalise_spdx(x) for x in registry.licences) if n})
    if known:
        return " AND ".join(known) if len(known) > 1 else known[0], registry.sources.get("licences", "packages")
    return None, None


def assemble_signals(
    upstream: UpstreamKey,
    repo: RepoObservation | None,
    registry: RegistryObservation,
    *,
    now: datetime,
    window_days: int,
    bots: Iterable[str],
    governance_list: GovernanceList,
) -> UpstreamSignals:
    """Combine forge and registry observations; ``repo`` is None when the forge was not read (partial)."""
    key = str(upstream)
    sources: dict[str, str] = {}
    notes: list[str] = []
    registry_licence, registry_source = _registry_licence(registry)
    funding: list[FundingChannel] = list(registry.funding)
    problems: list[FundingProblem] = []
    if registry.funding:
        sources["funding"] = registry.sources.get("funding", "registry")
    if registry.scorecard is not None:
        sources["scorecard"] = registry.sources.get("scorecard", "deps.dev")
    if registry.deprecated is not None:
        sources["deprecated"] = registry.sources.get("deprecated", "registry")
    if registry_licence:
        sources["licence_registry"] = registry_source or "registry"

    if repo is None or not repo.found:
        if repo is not None:
            notes.append(f"{repo.source}: repository not found")
        licence = registry_licence
        if licence:
            sources["licence"] = sources["licence_class"] = sources["licence_registry"]
        owner_governance = compute_governance(
            upstream.owner, None, top_domain_share=0.0, governance_list=governance_list
        )
        return UpstreamSignals(
            upstream_key=key,
            observed_at=now,
            partial=True,
            missing=repo is not None and not repo.found,
            deprecated=registry.deprecated,
            licence_registry=registry_licence,
            licence=licence,
            licence_class=classify_licence(licence),
            licence_observed=bool(registry_licence),
            governance=owner_governance,
            funding=dedupe_channels(funding),
            scorecard=registry.scorecard,
            sources=sources,
            notes=tuple(notes),
        )

    people = compute_people(repo.commits, now=now, window_days=window_days, bots=bots)
    if not repo.commits_complete:
        notes.append("history incomplete: people signals are a lower bound")
    for name in ("archived", "last_commit_at", "last_release_at", "commits_12m", "active_maintainers"):
        sources[name] = repo.source
    sources.update(bus_factor=repo.source, elephant_factor=repo.source, governance=repo.source, owner_type=repo.source)
    if repo.has_sponsors_listing is not None:
        sources["has_sponsors_listing"] = repo.source
    licence_repo = normalise_spdx(repo.licence_spdx)
    if repo.licence_seen:
        sources["licence_repo"] = repo.source
    licence = licence_repo or registry_licence
    if licence:
        sources["licence"] = sources["licence_repo"] if licence_repo else sources["licence_registry"]
        sources["licence_class"] = sources["licence"]
    funding = list(repo.funding_links) + funding
    if repo.funding_links:
        sources["funding"] = repo.source
    if repo.funding_yml_text is not None:
        declared = parse_funding_yml(repo.funding_yml_text, source="FUNDING.yml")
        problems.extend(replace(p, key=f"FUNDING.yml: {p.key}") for p in declared.problems)
        if not repo.funding_links:  # GitHub's parsed view is preferred; the file is the fallback
            funding.extend(declared.channels)
    if repo.funding_json_text is not None:
        parsed = parse_funding_json(repo.funding_json_text, source="funding.json")
        funding.extend(parsed.channels)
        problems.extend(replace(p, key=f"funding.json: {p.key}") for p in parsed.problems)
        if parsed.kind and not parsed.kind.startswith("floss.fund"):
            notes.append(f"funding.json is {parsed.kind}, not a funding manifest")
        sources["funding_json"] = repo.funding_json_source or "github-rest"
    if repo.has_sponsors_listing:
        owner = upstream.owner
        funding.append(FundingChannel("github", owner, f"https://github.com/sponsors/{owner}", "sponsors-listing"))
    governance = compute_governance(
        upstream.owner, repo.owner_type, top_domain_share=people.top_domain_share, governance_list=governance_list
    )
    agreement: str | None = None
    if repo.contribution_files:
        found = detect_agreement(dict(repo.contribution_files))
        agreement = found.kind.value if found else "none"
        sources["contributor_agreement"] = f"{repo.source}: {found.evidence}" if found else repo.source
    return UpstreamSignals(
        upstream_key=key,
        observed_at=now,
        partial=False,
        archived=repo.archived,
        deprecated=registry.deprecated,
        last_commit_at=repo.last_commit_at,
        last_release_at=repo.last_release_at,
        commits_12m=people.commits,
        active_maintainers=people.active_maintainers,
        bus_factor=people.bus_factor,
        elephant_factor=people.elephant_factor,
        licence_repo=licence_repo,
        licence_registry=registry_licence,
        licence=licence,
        licence_class=classify_licence(licence),
        licence_observed=repo.licence_seen or bool(registry_licence),
        governance=governance if governance is not Governance.UNKNOWN else Governance.COMMUNITY,
        owner_type=repo.owner_type,
        has_sponsors_listing=repo.has_sponsors_listing,
        funding=dedupe_channels(funding),
        funding_problems=tuple(problems),
        scorecard=registry.scorecard,
        contributor_agreement=agreement,
        sources=sources,
        notes=tuple(notes),
    )
