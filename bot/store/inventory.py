"""Store functions of the inventory stage: repositories, SBOM documents, components and usages.

A repository's usages always come from exactly one document, its current one. Saving a document
replaces the repository's usages inside the caller's transaction, so a reader sees either the old
set or the new one. Saving the current document again (same sha256) changes nothing.
Components are shared by key across repositories and inserted with ON CONFLICT DO NOTHING, so two
processes ingesting at once do not trip over each other.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, delete, insert, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.records import Component, ParsedDocument
from bot.store.engine import session_scope
from bot.store.tables import ComponentRow, RepositoryRow, RunRow, SbomDocumentRow, UsageRow, utcnow

BATCH = 500


@dataclass(frozen=True, slots=True)
class SavedDocument:
    """What :func:`save_document` did: ``changed`` is false when the document was already current;
    ``replaced`` is the source of the document it took the place of, if any."""

    repository_id: int
    document_id: int
    changed: bool
    replaced: str | None = None


class NotSameProduct(Exception):
    """A repository's current document describes another product (or none can be told): not replaced."""

    def __init__(self, repo_full_name: str, current_source: str, current: str | None, new: str | None) -> None:
        self.repo_full_name = repo_full_name
        self.current_source = current_source
        self.current = current
        self.new = new
        said = f"describes {current!r}" if current else "names no product"
        this = f"this one describes {new!r}" if new else "this one names no product"
        super().__init__(
            f"{repo_full_name} already holds a document that {said} (from {current_source}) and {this}: "
            "not replaced; pass --replace to replace it, or --repo to store this one under another repository"
        )


@dataclass(frozen=True, slots=True)
class StoredUsage:
    component_key: str
    purl: str | None
    depth: str
    scope: str


def _table(model: type[Any]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


def _insert_ignoring_conflicts(session: Session, model: type[Any], rows: list[dict[str, Any]], unique: str) -> None:
    """Insert rows; those whose ``unique`` column already exists are skipped (not updated)."""
    if not rows:
        return
    table = _table(model)
    dialect = session.get_bind().dialect.name
    connection = session.connection()
    # The dialect's module only when it is the store's: importing PostgreSQL's costs a SQLite command time.
    if dialect == "postgresql":
        from sqlalchemy.dialects import postgresql

        connection.execute(postgresql.insert(table).on_conflict_do_nothing(index_elements=[unique]), rows)
    elif dialect == "sqlite":
        from sqlalchemy.dialects import sqlite

        connection.execute(sqlite.insert(table).on_conflict_do_nothing(index_elements=[unique]), rows)
    else:  # portable fallback: look first, then insert the rest
        column = table.c[unique]
        present = set(connection.execute(select(column).where(column.in_([r[unique] for r in rows]))).scalars())
        missing = [r for r in rows if r[unique] not in present]
        if missing:
            connection.execute(insert(table), missing)


def _repository(session: Session, full_name: str, source: str) -> int:
    _insert_ignoring_conflicts(
        session, RepositoryRow, [{"full_name": full_name, "source": source, "created_at": utcnow()}], "full_name"
    )
    repository_id = session.exec(select(RepositoryRow.id).where(RepositoryRow.full_name == full_name)).one()
    assert repository_id is not None
    return repository_id


def _component_ids(session: Session, components: Iterable[Component]) -> dict[str, int]:
    unique: dict[str, Component] = {}
    for component in components:
        unique.setdefault(component.key, component)
    keys = list(unique)
    ids: dict[str, int] = {}
    for start in range(0, len(keys), BATCH):
        chunk = keys[start : start + BATCH]
        rows = [
            {
                "key": key,
                "package_key": unique[key].package_key,
                "purl": unique[key].purl,
                "ecosystem": unique[key].ecosystem,
                "namespace": unique[key].namespace,
                "name": unique[key].name,
                "version": unique[key].version,
                "licenses": list(unique[key].licenses),
            }
            for key in chunk
        ]
        _insert_ignoring_conflicts(session, ComponentRow, rows, "key")
        found = session.exec(select(ComponentRow.key, ComponentRow.id).where(col(ComponentRow.key).in_(chunk)))
        ids.update((key, row_id) for key, row_id in found if row_id is not None)
    return ids


def save_document(
    session: Session,
    parsed: ParsedDocument,
    *,
    repo_full_name: str,
    source: str,
    digest: str,
    repo_hint_source: str,
    repository_source: str = "file",
    product: str | None = None,
    replace: bool = False,
) -> SavedDocument:
    """Make ``parsed`` the current document of the repository and replace its usages (in ``session``'s transaction).

    A current document of another product is replaced only with ``replace``, else :class:`NotSameProduct`
    is raised before anything is written. A GitHub export always describes its own repository.
    """
    repository_id = _repository(session, repo_full_name, repository_source)
    existing = session.exec(
        select(SbomDocumentRow).where(SbomDocumentRow.repository_id == repository_id, SbomDocumentRow.digest == digest)
    ).first()
    if existing is not None and existing.is_current:
        assert existing.id is not None
        return SavedDocument(repository_id, existing.id, changed=False)
    current = session.exec(
        select(SbomDocumentRow).where(SbomDocumentRow.repository_id == repository_id, SbomDocumentRow.is_current)
    ).first()
    same = current is not None and current.product is not None and current.product == product
    if current is not None and not (same or replace or repository_source == "github"):
        raise NotSameProduct(repo_full_name, current.source, current.product, product)
    replaced = current.source if current is not None else None
    connection = session.connection()
    connection.execute(
        update(_table(SbomDocumentRow))
        .where(_table(SbomDocumentRow).c.repository_id == repository_id)
        .values(is_current=False)
    )
    if existing is None:
        existing = SbomDocumentRow(
            repository_id=repository_id,
            source=source,
            format=parsed.format.value,
            spec_version=parsed.spec_version,
            digest=digest,
            has_graph=parsed.has_graph,
            component_count=len(parsed.components),
            repo_hint_source=repo_hint_source,
        )
    existing.product = product
    existing.depth_inferred = parsed.depth_inferred
    existing.is_current = True
    existing.source = source
    existing.repo_hint_source = repo_hint_source
    existing.ingested_at = utcnow()
    session.add(existing)
    session.flush()
    assert existing.id is not None
    ids = _component_ids(session, parsed.components)
    connection.execute(delete(_table(UsageRow)).where(_table(UsageRow).c.repository_id == repository_id))
    usage_rows = [
        {
            "repository_id": repository_id,
            "component_id": ids[usage.component_key],
            "document_id": existing.id,
            "depth": usage.depth.value,
            "scope": usage.scope.value,
        }
        for usage in parsed.usages
    ]
    for start in range(0, len(usage_rows), BATCH * 10):
        connection.execute(insert(_table(UsageRow)), usage_rows[start : start + BATCH * 10])
    return SavedDocument(repository_id, existing.id, changed=True, replaced=replaced)


def load_usages(session: Session, repo_full_name: str) -> list[StoredUsage]:
    """The repository's current usages, sorted by component key."""
    rows = session.exec(
        select(ComponentRow.key, ComponentRow.purl, UsageRow.depth, UsageRow.scope)
        .join(UsageRow, col(UsageRow.component_id) == col(ComponentRow.id))
        .join(RepositoryRow, col(RepositoryRow.id) == col(UsageRow.repository_id))
        .where(RepositoryRow.full_name == repo_full_name)
        .order_by(col(ComponentRow.key))
    ).all()
    return [StoredUsage(key, purl, depth, scope) for key, purl, depth, scope in rows]


def load_documents(session: Session, repo_full_name: str) -> Sequence[SbomDocumentRow]:
    """Every document ingested for the repository, oldest first."""
    return session.exec(
        select(SbomDocumentRow)
        .join(RepositoryRow, col(RepositoryRow.id) == col(SbomDocumentRow.repository_id))
        .where(RepositoryRow.full_name == repo_full_name)
        .order_by(col(SbomDocumentRow.id))
    ).all()


def save_run(
    engine: Engine,
    *,
    kind: str,
    status: str,
    summary: dict[str, Any],
    started_at: datetime,
    error: str | None = None,
) -> int:
    """Record one finished command (``upkeep ingest``) with its summary under ``stages[kind]``."""
    with session_scope(engine) as session:
        row = RunRow(
            kind=kind, status=status, started_at=started_at, finished_at=utcnow(), stages={kind: summary}, error=error
        )
        session.add(row)
        session.flush()
        assert row.id is not None
        return row.id
