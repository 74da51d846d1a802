"""Store reads of the query layer (``bot.query``) that no stage needs: who uses a package, ecosystems
per upstream, the outbox by state."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.store.tables import ComponentRow, OutboxRow, PackageResolutionRow, RepositoryRow, UsageRow


@dataclass(frozen=True, slots=True)
class PackageUse:
    """One internal repository's use of one package (one row per version, depth and scope)."""

    package_key: str
    repository: str
    team: str | None
    version: str | None
    depth: str
    scope: str


def load_package_uses(engine: Engine, *, package_keys: list[str]) -> list[PackageUse]:
    """Every use of these packages by an internal repository, ordered by package, repository, version."""
    if not package_keys:
        return []
    statement = (
        sa_select(
            col(ComponentRow.package_key),
            col(RepositoryRow.full_name),
            col(RepositoryRow.team),
            col(ComponentRow.version),
            col(UsageRow.depth),
            col(UsageRow.scope),
        )
        .select_from(UsageRow)
        .join(ComponentRow, col(ComponentRow.id) == col(UsageRow.component_id))
        .join(RepositoryRow, col(RepositoryRow.id) == col(UsageRow.repository_id))
        .where(col(ComponentRow.package_key).in_(package_keys))
        .distinct()
    )
    with Session(engine) as session:
        rows = [PackageUse(*row) for row in session.execute(statement)]
    return sorted(rows, key=lambda u: (u.package_key, u.repository, u.version or "", u.depth, u.scope))


def find_package_keys(engine: Engine, query: str) -> list[str]:
    """Package keys equal to ``query`` (``pypi/requests``) or, failing that, whose name part is ``query``."""
    text = query.strip().lower()
    with Session(engine) as session:
        exact = session.exec(
            select(ComponentRow.package_key).where(func.lower(col(ComponentRow.package_key)) == text).distinct()
        ).all()
        if exact:
            return sorted(set(exact))
        named = session.exec(
            select(ComponentRow.package_key).where(func.lower(col(ComponentRow.name)) == text).distinct()
        ).all()
    return sorted(set(named))


def load_resolution(engine: Engine, package_key: str) -> PackageResolutionRow | None:
    with Session(engine) as session:
        return session.exec(select(PackageResolutionRow).where(PackageResolutionRow.package_key == package_key)).first()


def load_ecosystems_by_upstream(engine: Engine) -> dict[str, list[str]]:
    """upstream → the sorted ecosystems of the packages resolved to it."""
    statement = (
        select(col(PackageResolutionRow.upstream_key), col(PackageResolutionRow.ecosystem))
        .where(col(PackageResolutionRow.upstream_key).is_not(None))
        .distinct()
    )
    found: dict[str, set[str]] = defaultdict(set)
    with Session(engine) as session:
        for upstream, ecosystem in session.execute(statement):
            if upstream and ecosystem:
                found[upstream].add(ecosystem)
    return {key: sorted(values) for key, values in found.items()}


def load_outbox_counts(engine: Engine) -> dict[str, int]:
    """Outbox rows by state; empty when the outbox is."""
    statement = select(col(OutboxRow.state), func.count()).group_by(col(OutboxRow.state))
    with Session(engine) as session:
        return {str(state): int(count) for state, count in session.execute(statement)}
