"""Usage per upstream, read from the inventory and the resolutions: the gap model's first input."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from bot.gaps.interface import RepoUse, UpstreamUsage
from bot.records import Depth, Scope
from bot.store.tables import ComponentRow, PackageResolutionRow, RepositoryRow, UsageRow

RESOLVED_STATES = ("resolved", "override")


def load_upstream_usages(engine: Engine) -> list[UpstreamUsage]:
    """One record per resolved upstream: every internal repository using any of its packages, with
    the depth and scope of that use. Repositories appear once per package; the model keeps the strongest."""
    statement = (
        select(
            col(PackageResolutionRow.upstream_key),
            col(RepositoryRow.full_name),
            col(RepositoryRow.weight),
            col(RepositoryRow.team),
            col(UsageRow.depth),
            col(UsageRow.scope),
        )
        .select_from(UsageRow)
        .join(ComponentRow, col(ComponentRow.id) == col(UsageRow.component_id))
        .join(PackageResolutionRow, col(PackageResolutionRow.package_key) == col(ComponentRow.package_key))
        .join(RepositoryRow, col(RepositoryRow.id) == col(UsageRow.repository_id))
        .where(col(PackageResolutionRow.status).in_(RESOLVED_STATES))
    )
    uses: dict[str, set[RepoUse]] = defaultdict(set)
    with Session(engine) as session:
        for upstream, repo, weight, team, depth, scope in session.execute(statement):
            if upstream:
                uses[upstream].add(RepoUse(repo=repo, depth=Depth(depth), scope=Scope(scope), weight=weight, team=team))
    return [
        UpstreamUsage(upstream=key, repos=tuple(sorted(repo_uses, key=lambda u: (u.repo, u.depth, u.scope))))
        for key, repo_uses in sorted(uses.items())
    ]
