"""Store queries of the quarterly review that no other stage needs: teams, unresolved packages, coverage."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass

from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.store.tables import ComponentRow, PackageResolutionRow, RepositoryRow, UsageRow
from bot.store.usage import RESOLVED_STATES

UNRESOLVED_STATES = ("unresolved", "retry")


@dataclass(frozen=True, slots=True)
class UnresolvedPackage:
    package_key: str
    status: str
    reason: str
    repos: int


def load_upstream_teams(engine: Engine) -> dict[str, str]:
    """upstream → the team whose repositories use it most (ties: the team name first in order).

    Contributions and money go to an upstream, not to a team, so "by team" means "by the team that
    depends on it most"; upstreams used only by repositories without a team are left out.
    """
    statement = (
        select(col(PackageResolutionRow.upstream_key), col(RepositoryRow.team), col(RepositoryRow.full_name))
        .select_from(UsageRow)
        .join(ComponentRow, col(ComponentRow.id) == col(UsageRow.component_id))
        .join(PackageResolutionRow, col(PackageResolutionRow.package_key) == col(ComponentRow.package_key))
        .join(RepositoryRow, col(RepositoryRow.id) == col(UsageRow.repository_id))
        .where(col(PackageResolutionRow.status).in_(RESOLVED_STATES), col(RepositoryRow.team).is_not(None))
        .distinct()
    )
    repos: dict[str, Counter[str]] = defaultdict(Counter)
    with Session(engine) as session:
        for upstream, team, _repo in session.execute(statement):
            if upstream and team:
                repos[upstream][team] += 1
    return {key: min(teams, key=lambda team: (-teams[team], team)) for key, teams in repos.items()}


def any_team(engine: Engine) -> bool:
    """Whether any repository is mapped to a team (else the review leaves out its "by team" table)."""
    with Session(engine) as session:
        return (
            session.exec(select(RepositoryRow.id).where(col(RepositoryRow.team).is_not(None)).limit(1)).first()
            is not None
        )


def load_unresolved(engine: Engine) -> list[UnresolvedPackage]:
    """Packages without an upstream (unresolved, or waiting for a retry), with the repositories using them."""
    repos = (
        select(col(ComponentRow.package_key), func.count(func.distinct(col(UsageRow.repository_id))))
        .select_from(UsageRow)
        .join(ComponentRow, col(ComponentRow.id) == col(UsageRow.component_id))
        .group_by(col(ComponentRow.package_key))
    )
    with Session(engine) as session:
        using = {key: int(count) for key, count in session.execute(repos)}
        rows = session.exec(
            select(PackageResolutionRow)
            .where(col(PackageResolutionRow.status).in_(UNRESOLVED_STATES))
            .order_by(col(PackageResolutionRow.package_key))
        ).all()
    return [
        UnresolvedPackage(
            r.package_key,
            r.status,
            r.reason or ("waiting for a retry" if r.status == "retry" else "no reason"),
            using.get(r.package_key, 0),
        )
        for r in rows
    ]
