"""Store functions of the signals stage: scans, one signal row per upstream per scan, drift events.

The rows themselves are the checkpoint: a running scan is resumed by observing only the
upstreams it has no row for yet, and each batch is committed as it finishes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Row, Subquery, func
from sqlalchemy import select as sa_select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot.signals.records import Cached, FundingChannel, LicenceDrift, UpstreamSignals
from bot.signals.registry import PackageSignals
from bot.store.tables import (
    ComponentRow,
    HttpCacheRow,
    LicenceDriftRow,
    PackageResolutionRow,
    RegistrySignalsRow,
    RepositoryRow,
    SignalScanRow,
    UpstreamRenameRow,
    UpstreamRow,
    UpstreamSignalRow,
    UsageRow,
)


def aware(value: datetime | None) -> datetime | None:
    """SQLite returns naive datetimes; everything stored is UTC."""
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def load_upstream_keys(session: Session) -> list[str]:
    """Every upstream to observe: all known ones but the old names of renamed repositories."""
    old_names = select(UpstreamRenameRow.old_key)
    query = select(UpstreamRow.key).where(col(UpstreamRow.key).not_in(old_names)).order_by(col(UpstreamRow.key))
    return list(session.exec(query).all())


def load_latest_scan(session: Session) -> SignalScanRow | None:
    return session.exec(select(SignalScanRow).order_by(col(SignalScanRow.id).desc()).limit(1)).first()


def start_scan(session: Session, *, now: datetime) -> SignalScanRow:
    scan = SignalScanRow(started_at=now)
    session.add(scan)
    session.flush()
    return scan


def load_keys_in_scan(session: Session, *, scan_id: int) -> set[str]:
    rows = session.exec(select(UpstreamSignalRow.upstream_key).where(UpstreamSignalRow.scan_id == scan_id))
    return set(rows.all())


def load_previous_licences(
    session: Session, *, upstream_keys: Iterable[str], before_scan_id: int
) -> dict[str, str | None]:
    """For each of ``upstream_keys``, the licence of the latest earlier scan that observed one; a key
    no earlier scan observed is absent. One query for a whole batch, not one per upstream."""
    keys = sorted(set(upstream_keys))
    if not keys:
        return {}
    signal = UpstreamSignalRow.__table__.c  # type: ignore[attr-defined]
    latest = (
        sa_select(signal.upstream_key, func.max(signal.scan_id).label("scan_id"))
        .where(signal.upstream_key.in_(keys), signal.scan_id < before_scan_id, signal.licence_observed.is_(True))
        .group_by(signal.upstream_key)
        .subquery()
    )
    rows = session.connection().execute(
        sa_select(signal.upstream_key, signal.licence).join(
            latest, (signal.upstream_key == latest.c.upstream_key) & (signal.scan_id == latest.c.scan_id)
        )
    )
    return {key: licence for key, licence in rows}


def save_signals(session: Session, *, scan_id: int, signals: UpstreamSignals) -> bool:
    """Store one upstream's signals in a scan; False (and nothing written) when the scan has them already."""
    exists = session.exec(
        select(UpstreamSignalRow.id).where(
            UpstreamSignalRow.scan_id == scan_id, UpstreamSignalRow.upstream_key == signals.upstream_key
        )
    ).first()
    if exists is not None:
        return False
    session.add(
        UpstreamSignalRow(
            scan_id=scan_id,
            upstream_key=signals.upstream_key,
            observed_at=signals.observed_at,
            partial=signals.partial,
            missing=signals.missing,
            archived=signals.archived,
            deprecated=signals.deprecated,
            last_commit_at=signals.last_commit_at,
            last_release_at=signals.last_release_at,
            commits_12m=signals.commits_12m,
            active_maintainers=signals.active_maintainers,
            bus_factor=signals.bus_factor,
            elephant_factor=signals.elephant_factor,
            licence_repo=signals.licence_repo,
            licence_registry=signals.licence_registry,
            licence=signals.licence,
            licence_class=signals.licence_class.value,
            licence_observed=signals.licence_observed,
            governance=signals.governance.value,
            owner_type=signals.owner_type,
            has_sponsors_listing=signals.has_sponsors_listing,
            scorecard=signals.scorecard,
            contributor_agreement=signals.contributor_agreement,
            funding=[asdict(c) for c in signals.funding],
            funding_problems=[asdict(p) for p in signals.funding_problems],
            sources=dict(signals.sources),
            notes=list(signals.notes),
        )
    )
    return True


def save_drift(session: Session, *, scan_id: int, drift: LicenceDrift) -> bool:
    """Record a drift event once per upstream and scan."""
    exists = session.exec(
        select(LicenceDriftRow.id).where(
            LicenceDriftRow.upstream_key == drift.upstream_key, LicenceDriftRow.scan_id == scan_id
        )
    ).first()
    if exists is not None:
        return False
    session.add(
        LicenceDriftRow(
            upstream_key=drift.upstream_key,
            scan_id=scan_id,
            from_spdx=drift.from_spdx,
            to_spdx=drift.to_spdx,
            from_class=drift.from_class.value,
            to_class=drift.to_class.value,
            first_seen_at=drift.first_seen_at,
            sovereignty_risk=drift.sovereignty_risk,
        )
    )
    return True


def load_signal_history(session: Session, *, upstream_key: str) -> list[UpstreamSignalRow]:
    """Every scan's signals of one upstream, newest first."""
    rows = session.exec(
        select(UpstreamSignalRow)
        .where(UpstreamSignalRow.upstream_key == upstream_key)
        .order_by(col(UpstreamSignalRow.scan_id).desc())
    )
    return list(rows.all())


def _newest_scans() -> Subquery:
    """Each upstream's newest scan id, as a subquery to join (the older scans' rows grow every night)."""
    return (
        select(col(UpstreamSignalRow.upstream_key), func.max(UpstreamSignalRow.scan_id).label("scan_id"))
        .group_by(col(UpstreamSignalRow.upstream_key))
        .subquery()
    )


def load_latest_signal_fields(session: Session, fields: Sequence[str]) -> list[Row[Any]]:
    """Only ``fields`` (column names) of every upstream's newest signals, ``upstream_key`` first (in no
    order): what the gap model reads, without building row objects or decoding the unread JSON columns."""
    newest = _newest_scans()
    table = UpstreamSignalRow.__table__.c  # type: ignore[attr-defined]
    query = sa_select(table.upstream_key, *(table[name] for name in fields)).join(
        newest, (table.upstream_key == newest.c.upstream_key) & (table.scan_id == newest.c.scan_id)
    )
    return list(session.connection().execute(query))


def load_drifts(session: Session, *, upstream_key: str | None = None) -> list[LicenceDriftRow]:
    query = select(LicenceDriftRow).order_by(col(LicenceDriftRow.first_seen_at), col(LicenceDriftRow.id))
    if upstream_key is not None:
        query = query.where(LicenceDriftRow.upstream_key == upstream_key)
    return list(session.exec(query).all())


def load_packages_by_upstream(session: Session, *, upstream_keys: list[str]) -> dict[str, list[PackageResolutionRow]]:
    rows = session.exec(select(PackageResolutionRow).where(col(PackageResolutionRow.upstream_key).in_(upstream_keys)))
    out: dict[str, list[PackageResolutionRow]] = defaultdict(list)
    for row in rows.all():
        out[str(row.upstream_key)].append(row)
    return out


def load_component_licences(session: Session, *, package_keys: list[str]) -> dict[str, list[str]]:
    """Licences the SBOMs declared per package (registry metadata, as the SBOM tools read it)."""
    out: dict[str, list[str]] = defaultdict(list)
    rows = session.exec(select(ComponentRow).where(col(ComponentRow.package_key).in_(package_keys)))
    for row in rows.all():
        for licence in row.licenses:
            if licence not in out[row.package_key]:
                out[row.package_key].append(licence)
    return out


def load_repositories_using(session: Session, *, package_keys: list[str]) -> list[str]:
    """Internal repositories whose current SBOMs use any of these packages."""
    if not package_keys:
        return []
    rows = session.exec(
        select(RepositoryRow.full_name)
        .join(UsageRow, col(UsageRow.repository_id) == col(RepositoryRow.id))
        .join(ComponentRow, col(ComponentRow.id) == col(UsageRow.component_id))
        .where(col(ComponentRow.package_key).in_(package_keys))
        .distinct()
        .order_by(col(RepositoryRow.full_name))
    )
    return list(rows.all())


def load_cached(session: Session, url: str) -> Cached | None:
    row = session.exec(select(HttpCacheRow).where(HttpCacheRow.url == url)).first()
    if row is None:
        return None
    return Cached(row.url, row.status_code, row.body, row.etag, row.last_modified)


def load_cached_many(session: Session, urls: Iterable[str]) -> dict[str, Cached]:
    """The cached answers of ``urls`` by URL, in one query; a URL never cached is absent."""
    wanted = sorted(set(urls))
    if not wanted:
        return {}
    rows = session.exec(select(HttpCacheRow).where(col(HttpCacheRow.url).in_(wanted))).all()
    return {row.url: Cached(row.url, row.status_code, row.body, row.etag, row.last_modified) for row in rows}


def save_cached(session: Session, entry: Cached, *, now: datetime) -> None:
    """Upsert a validator; a concurrent writer of the same URL wins without an error."""
    row = session.exec(select(HttpCacheRow).where(HttpCacheRow.url == entry.url)).first()
    if row is None:
        row = HttpCacheRow(url=entry.url, body=entry.body)
    row.etag, row.last_modified, row.status_code, row.body, row.fetched_at = (
        entry.etag,
        entry.last_modified,
        entry.status_code,
        entry.body,
        now,
    )
    session.add(row)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        pass


REGISTRY_SIGNALS_BATCH = 500  # keys per DELETE ... IN and per INSERT


def save_registry_signals(
    session: Session, observed: dict[str, tuple[str, PackageSignals | None]], *, now: datetime
) -> None:
    """Replace what registry documents said, by document cache key, in a few statements (resolve
    writes them with each batch of outcomes); None leaves the key without a row (the document is
    gone or unreadable now, so it says nothing)."""
    table = RegistrySignalsRow.__table__  # type: ignore[attr-defined]
    urls = sorted(observed)
    for start in range(0, len(urls), REGISTRY_SIGNALS_BATCH):
        chunk = urls[start : start + REGISTRY_SIGNALS_BATCH]
        session.execute(table.delete().where(table.c.url.in_(chunk)))
        rows = [
            {
                "url": url,
                "source": source,
                "deprecated": signals.deprecated,
                "licence": signals.licence,
                "funding": [asdict(channel) for channel in signals.funding],
                "observed_at": now,
            }
            for url in chunk
            for source, signals in (observed[url],)
            if signals is not None
        ]
        if rows:
            session.execute(table.insert(), rows)


def load_registry_signals(session: Session, urls: Iterable[str]) -> dict[str, tuple[str, PackageSignals]]:
    """What the registry documents at these cache keys said, in one query; a key never read is absent."""
    wanted = sorted(set(urls))
    if not wanted:
        return {}
    rows = session.exec(select(RegistrySignalsRow).where(col(RegistrySignalsRow.url).in_(wanted))).all()
    return {
        row.url: (
            row.source,
            PackageSignals(row.deprecated, row.licence, tuple(FundingChannel(**channel) for channel in row.funding)),
        )
        for row in rows
    }
