"""Store functions of the resolve stage: which packages need resolving, and saving what was found.

Rows are keyed by package key (``package_resolutions``) and upstream key (``upstreams``) and written
by select-then-update in batches, so a rerun or a resumed run never duplicates a row.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Table, bindparam, func, insert, update
from sqlalchemy import select as sa_select
from sqlalchemy.engine import Connection, Engine
from sqlmodel import col, select

from bot.records import UpstreamKey
from bot.resolve.fetch import CachedResponse
from bot.resolve.interface import Outcome, PackageRef, Resolution
from bot.store.engine import session_scope
from bot.store.renames import load_renames, renamed_provenance
from bot.store.tables import ComponentRow, HttpCacheRow, PackageResolutionRow, UpstreamRow, UsageRow

BATCH = 500


@dataclass(frozen=True, slots=True)
class PackageState:
    """A package of the inventory and what the store already says about it (None: never resolved)."""

    ref: PackageRef
    status: str | None
    provenance: str | None
    expires_at: datetime | None

    def is_due(self, now: datetime) -> bool:
        """No row, a ``retry`` row, or an expired mapping: resolve again."""
        if self.status is None or self.status == "retry" or self.expires_at is None:
            return True
        return as_utc(self.expires_at) <= now


def as_utc(moment: datetime) -> datetime:
    """SQLite hands datetimes back naive; they were written in UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def load_package_states(engine: Engine) -> list[PackageState]:
    """One entry per package key, from a representative component (one with a purl, newest first).

    Reads plain columns, not model instances: building 20,000 SQLModel objects costs seconds.
    """
    c, r = ComponentRow.__table__.c, PackageResolutionRow.__table__.c  # type: ignore[attr-defined]
    with engine.connect() as conn:
        components = conn.execute(
            sa_select(c.package_key, c.ecosystem, c.namespace, c.name, c.version, c.purl).order_by(c.id.desc())
        ).all()
        resolutions = {
            row.package_key: row
            for row in conn.execute(sa_select(r.package_key, r.status, r.provenance, r.expires_at)).all()
        }
    chosen: dict[str, Any] = {}
    for row in components:
        current = chosen.get(row.package_key)
        if current is None or (current.purl is None and row.purl is not None):
            chosen[row.package_key] = row
    states = []
    for key, row in sorted(chosen.items()):
        ref = PackageRef(key, row.ecosystem, row.namespace, row.name, row.version, row.purl)
        existing = resolutions.get(key)
        if existing is None:
            states.append(PackageState(ref, None, None, None))
        else:
            states.append(PackageState(ref, existing.status, existing.provenance, existing.expires_at))
    return states


def _row_values(ref: PackageRef, outcome: Outcome, now: datetime, ttl: timedelta) -> dict[str, Any]:
    values: dict[str, Any] = {"package_key": ref.package_key, "ecosystem": ref.ecosystem, "resolved_at": now}
    if isinstance(outcome, Resolution):
        values.update(
            status="override" if outcome.is_override else "resolved",
            upstream_key=str(outcome.upstream),
            subdirectory=outcome.subdirectory,
            source_url=outcome.source_url,
            provenance=outcome.provenance,
            reason=None,
            expires_at=now + ttl,
        )
    else:
        values.update(
            status="retry" if outcome.retry else "unresolved",
            upstream_key=None,
            subdirectory=None,
            source_url=outcome.source_url,
            provenance=None,
            reason=outcome.reason,
            expires_at=now if outcome.retry else now + ttl,  # a retry row is due at once
        )
    return values


def _renamed(outcome: Outcome, renames: dict[str, str]) -> Outcome:
    """A resolution to a repository known to be renamed names the repository as it is called now."""
    if not isinstance(outcome, Resolution) or str(outcome.upstream) not in renames:
        return outcome
    old = str(outcome.upstream)
    provenance = renamed_provenance(outcome.provenance, old)
    return replace(outcome, upstream=UpstreamKey.parse(renames[old]), provenance=provenance)


def save_outcomes(
    engine: Engine, outcomes: Sequence[tuple[PackageRef, Outcome]], *, now: datetime, ttl: timedelta
) -> None:
    """Upsert the package rows (by package key) and add the upstreams they name (by upstream key).

    Registries keep naming renamed repositories by their old names; a rename the store knows of
    (:mod:`bot.store.renames`) is applied here, so a re-resolved package keeps its current upstream.
    """
    table, upstreams_table = PackageResolutionRow.__table__, UpstreamRow.__table__  # type: ignore[attr-defined]
    with session_scope(engine) as session:
        renames = load_renames(session)
    outcomes = [(ref, _renamed(outcome, renames)) for ref, outcome in outcomes]
    for start in range(0, len(outcomes), BATCH):
        batch = outcomes[start : start + BATCH]
        values = {ref.package_key: _row_values(ref, outcome, now, ttl) for ref, outcome in batch}
        named = {str(o.upstream): o.upstream for _, o in batch if isinstance(o, Resolution)}
        with engine.begin() as conn:
            known = set(
                conn.execute(sa_select(upstreams_table.c.key).where(upstreams_table.c.key.in_(list(named)))).scalars()
            )
            new_upstreams = [
                {"key": k, "host": u.host, "owner": u.owner, "name": u.name, "first_seen_at": now}
                for k, u in named.items()
                if k not in known
            ]
            if new_upstreams:
                conn.execute(insert(upstreams_table), new_upstreams)
            _upsert(conn, table, "package_key", values)


def _upsert(conn: Connection, table: Table, key: str, rows: dict[str, dict[str, Any]]) -> None:
    """Insert the new rows and update the existing ones of ``table``, matched on the unique ``key`` column."""
    existing = set(conn.execute(sa_select(table.c[key]).where(table.c[key].in_(list(rows)))).scalars())
    inserts = [values for k, values in rows.items() if k not in existing]
    if inserts:
        conn.execute(insert(table), inserts)
    updates = [{**values, "match_": k} for k, values in rows.items() if k in existing]
    if updates:
        columns: dict[str, Any] = {name: bindparam(name) for name in updates[0] if name not in {"match_", key}}
        conn.execute(update(table).where(table.c[key] == bindparam("match_")).values(columns), updates)


def load_resolutions(engine: Engine, *, statuses: Iterable[str] | None = None) -> list[PackageResolutionRow]:
    """Package rows ordered by key, optionally only some statuses (``unresolved``, ``retry``)."""
    query = select(PackageResolutionRow).order_by(col(PackageResolutionRow.package_key))
    if statuses is not None:
        query = query.where(col(PackageResolutionRow.status).in_(list(statuses)))
    with session_scope(engine) as session:
        return list(session.exec(query).all())


class StoreHttpCache:
    """The fetch layer's :class:`~bot.resolve.fetch.HttpCache` on ``http_cache``; writes are buffered."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.pending: dict[str, CachedResponse] = {}
        # Only the URLs are loaded up front: a cold run then costs no query per request.
        with session_scope(engine) as session:
            self.known: set[str] = set(session.exec(select(HttpCacheRow.url)).all())

    def get(self, url: str) -> CachedResponse | None:
        if url in self.pending:
            return self.pending[url]
        if url not in self.known:
            return None
        with session_scope(self.engine) as session:
            row = session.exec(select(HttpCacheRow).where(HttpCacheRow.url == url)).first()
        if row is None:
            return None
        return CachedResponse(row.url, row.status_code, row.body, row.etag, row.last_modified)

    def put(self, entry: CachedResponse) -> None:
        self.pending[entry.url] = entry

    def flush(self, now: datetime | None = None) -> None:
        """Write the buffered entries (upsert by URL)."""
        entries, self.pending = list(self.pending.values()), {}
        moment = now or datetime.now(UTC)
        table = HttpCacheRow.__table__  # type: ignore[attr-defined]
        for start in range(0, len(entries), BATCH):
            batch = {
                e.url: {
                    "url": e.url,
                    "etag": e.etag,
                    "last_modified": e.last_modified,
                    "status_code": e.status_code,
                    "body": e.body,
                    "fetched_at": moment,
                }
                for e in entries[start : start + BATCH]
            }
            with self.engine.begin() as conn:
                _upsert(conn, table, "url", batch)
        self.known.update(e.url for e in entries)


@dataclass(frozen=True, slots=True)
class PackageListing:
    """One inventoried package and what resolution made of it (``status`` ``None``: not resolved yet)."""

    package_key: str
    ecosystem: str | None
    repositories: int
    status: str | None
    upstream_key: str | None
    reason: str | None
    provenance: str | None


def load_package_listing(engine: Engine) -> list[PackageListing]:
    """Every package the inventory holds (current usages), with its resolution row if any, by key."""
    components, usages = ComponentRow.__table__, UsageRow.__table__  # type: ignore[attr-defined]
    c, u = components.c, usages.c
    r = PackageResolutionRow.__table__.c  # type: ignore[attr-defined]
    query = (
        sa_select(c.package_key, func.min(c.ecosystem), func.count(func.distinct(u.repository_id)))
        .select_from(components.join(usages, u.component_id == c.id))
        .group_by(c.package_key)
        .order_by(c.package_key)
    )
    with engine.connect() as conn:
        packages = conn.execute(query).all()
        rows = {row.package_key: row for row in conn.execute(sa_select(r)).all()}
    listing = []
    for key, ecosystem, repositories in packages:
        row = rows.get(key)
        listing.append(
            PackageListing(
                key,
                ecosystem,
                int(repositories),
                row.status if row is not None else None,
                row.upstream_key if row is not None else None,
                row.reason if row is not None else None,
                row.provenance if row is not None else None,
            )
        )
    return listing
