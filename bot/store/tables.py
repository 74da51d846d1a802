"""All SQLModel table models, in one module so migrations see them together.

Each later stage appends its tables in its own section below. Identities are natural keys
(purl, package key, upstream key) with unique indexes, so every stage can upsert and a
rerun never duplicates a row.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


# --------------------------------------------------------------------------- inventory


class RepositoryRow(SQLModel, table=True):
    """An internal repository of the organisation, whose SBOMs say what it uses."""

    __tablename__ = "repositories"

    id: int | None = Field(default=None, primary_key=True)
    full_name: str = Field(index=True, unique=True, description="owner/name, lower-cased")
    host: str = "github.com"
    weight: float = 1.0
    team: str | None = None
    source: str = Field(default="file", description="file | github")
    private: bool = False
    fork: bool = False
    archived: bool = False
    pushed_at: datetime | None = None
    export_etag: str | None = None
    exported_pushed_at: datetime | None = Field(default=None, description="pushed_at at the last export")
    note: str | None = Field(default=None, description="why the last sync could not export, if it could not")
    created_at: datetime = Field(default_factory=utcnow)


class SbomDocumentRow(SQLModel, table=True):
    """One ingested SBOM document; the current one per repository carries its usages."""

    __tablename__ = "sbom_documents"
    __table_args__ = (UniqueConstraint("repository_id", "digest", name="uq_document_repo_digest"),)

    id: int | None = Field(default=None, primary_key=True)
    repository_id: int = Field(foreign_key="repositories.id", index=True)
    source: str = Field(description="file path or URL it came from")
    format: str
    spec_version: str
    digest: str = Field(index=True, description="sha256 of the document bytes")
    has_graph: bool
    component_count: int
    repo_hint_source: str
    is_current: bool = True
    ingested_at: datetime = Field(default_factory=utcnow)


class ComponentRow(SQLModel, table=True):
    """A package at a version, identified by its normalised purl (or a ``nopurl:`` key)."""

    __tablename__ = "components"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(index=True, unique=True)
    package_key: str = Field(index=True)
    purl: str | None = None
    ecosystem: str | None = Field(default=None, index=True)
    namespace: str | None = None
    name: str
    version: str | None = None
    licenses: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))


class UsageRow(SQLModel, table=True):
    """Repository × component, with depth and scope from the current document."""

    __tablename__ = "usages"
    __table_args__ = (
        UniqueConstraint("repository_id", "component_id", name="uq_usage_repo_component"),
        Index("ix_usages_component", "component_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    repository_id: int = Field(foreign_key="repositories.id", index=True)
    component_id: int = Field(foreign_key="components.id")
    document_id: int = Field(foreign_key="sbom_documents.id")
    depth: str
    scope: str


# --------------------------------------------------------------------------- pipeline runs


class RunRow(SQLModel, table=True):
    """One pipeline run (or one command) with a summary per stage."""

    __tablename__ = "runs"

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(index=True, description="run | ingest | resolve | ...")
    status: str = Field(default="running", description="running | ok | failed | partial")
    started_at: datetime = Field(default_factory=utcnow, index=True)
    finished_at: datetime | None = None
    stages: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    error: str | None = None


# --------------------------------------------------------------------------- resolution


class UpstreamRow(SQLModel, table=True):
    """An upstream project, identified by its canonical source repository ``host/owner/name``."""

    __tablename__ = "upstreams"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(index=True, unique=True)
    host: str
    owner: str
    name: str
    first_seen_at: datetime = Field(default_factory=utcnow)


class PackageResolutionRow(SQLModel, table=True):
    """Package → upstream, or why not. Many packages map to one upstream (monorepos)."""

    __tablename__ = "package_resolutions"

    id: int | None = Field(default=None, primary_key=True)
    package_key: str = Field(index=True, unique=True)
    ecosystem: str | None = None
    status: str = Field(index=True, description="resolved | override | unresolved | retry")
    upstream_key: str | None = Field(default=None, index=True)
    subdirectory: str | None = Field(default=None, description="path inside a monorepo, when known")
    source_url: str | None = Field(default=None, description="the repository string the metadata gave")
    provenance: str | None = Field(default=None, description="which registry field or fallback decided")
    reason: str | None = Field(default=None, description="why unresolved")
    resolved_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime | None = None


class HttpCacheRow(SQLModel, table=True):
    """Validators and bodies of GET responses, for ``If-None-Match`` revalidation across runs."""

    __tablename__ = "http_cache"

    id: int | None = Field(default=None, primary_key=True)
    url: str = Field(index=True, unique=True)
    etag: str | None = None
    last_modified: str | None = None
    status_code: int = 200
    body: bytes
    fetched_at: datetime = Field(default_factory=utcnow)
