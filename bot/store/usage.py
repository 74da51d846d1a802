"""Usage per upstream, read from the inventory and the resolutions: the gap model's first input."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import col

from bot.gaps.interface import RepoUse, UpstreamUsage
from bot.records import Depth, Scope
from bot.store.tables import ComponentRow, PackageResolutionRow, RepositoryRow, UsageRow

RESOLVED_STATES = ("resolved", "override")


#: Rows fetched from the database at a time while reading the usages.
ROWS_PER_FETCH = 5_000


def load_upstream_usages(engine: Engine, *, rows_per_fetch: int = ROWS_PER_FETCH) -> list[UpstreamUsage]:
    """One record per resolved upstream: every internal repository using any of its packages, with
    the depth and scope of that use. Repositories appear once per package; the model keeps the strongest.

    The database drops the duplicates (a repository using several packages of one upstream the same
    way) and the rows are read ``rows_per_fetch`` at a time, so a large inventory's usages are never
    all held as rows."""
    statement = (
        select(
            col(PackageResolutionRow.upstream_key),
            col(RepositoryRow.full_name),
            col(RepositoryRow.weight),
            col(RepositoryRow.team),
            col(UsageRow.depth),
            col(UsageRow.scope),
        )
        .distinct()
        .select_from(UsageRow)
        .join(ComponentRow, col(ComponentRow.id) == col(UsageRow.component_id))
        .join(PackageResolutionRow, col(PackageResolutionRow.package_key) == col(ComponentRow.package_key))
        .join(RepositoryRow, col(RepositoryRow.id) == col(UsageRow.repository_id))
        .where(col(PackageResolutionRow.status).in_(RESOLVED_STATES))
    )
    uses: dict[str, set[RepoUse]] = defaultdict(set)
    depths, scopes = {d.value: d for d in Depth}, {s.value: s for s in Scope}
    with engine.connect() as connection:
        result = connection.execution_options(yield_per=rows_per_fetch).execute(statement)
        for upstream, repo, weight, team, depth, scope in result:
            if upstream:
                uses[upstream].add(
                    RepoUse(repo=repo, depth=depths[depth], scope=scopes[scope], weight=weight, team=team)
                )
    out = []
    for key in sorted(uses):
        repo_uses = uses.pop(key)  # each set goes as its tuple is made: never both whole
        out.append(
            UpstreamUsage(upstream=key, repos=tuple(sorted(repo_uses, key=lambda u: (u.repo, u.depth, u.scope))))
        )
    return out
