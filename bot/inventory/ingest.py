"""Files and directories → parsed documents → the store, one transaction per document, and a summary.

Bad files are data here: each becomes one :class:`FileFailure` line naming the file, the good ones are
still ingested, and nothing from a bad file reaches the store (a document is parsed completely before
its transaction starts). The GitHub sync stage calls :func:`ingest_bytes` with a downloaded export.
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.inventory.detect import parse_bytes
from bot.inventory.identity import document_identity
from bot.inventory.interface import DocumentTooLarge, InventoryError, NotParseable
from bot.records import Depth, ParsedDocument, Scope
from bot.store.engine import session_scope
from bot.store.inventory import NotSameProduct, SavedDocument, save_document

DEFAULT_MAX_FILE_BYTES = 200 * 1024 * 1024
log = logging.getLogger(__name__)


class DocumentConflict(InventoryError):
    """The repository's current document describes another product; it is kept unless ``--replace``."""


@dataclass(frozen=True, slots=True)
class FileFailure:
    source: str
    message: str

    def __str__(self) -> str:
        return f"{self.source}: {self.message}"


@dataclass(slots=True)
class DocumentSummary:
    """One ingested document: where it went, why there, and what it holds."""

    source: str
    repository: str
    repository_from: str
    format: str
    spec_version: str
    changed: bool
    has_graph: bool
    components: int
    unique_purls: int
    without_purl: int
    direct: int
    transitive: int
    unknown_depth: int
    runtime: int
    development: int
    warnings: list[str] = field(default_factory=list)
    product: str | None = None
    replaced: str | None = None  # the source of the document this one took the place of
    depth_inferred: bool = False  # direct dependencies read as "what nothing depends on" (no root in the graph)


@dataclass(slots=True)
class IngestSummary:
    """What one ``upkeep ingest`` did; :meth:`to_dict` is its machine-readable form."""

    documents: list[DocumentSummary] = field(default_factory=list)
    failures: list[FileFailure] = field(default_factory=list)
    purls: set[str] = field(default_factory=set)
    ecosystem_keys: set[tuple[str, str]] = field(default_factory=set)

    @property
    def ok(self) -> bool:
        return not self.failures

    def total(self, name: str) -> int:
        return sum(int(getattr(document, name)) for document in self.documents)

    def to_dict(self) -> dict[str, Any]:
        return {
            "documents": len(self.documents),
            "unchanged": sum(1 for d in self.documents if not d.changed),
            "failed": len(self.failures),
            "repositories": len({d.repository for d in self.documents}),
            "components": self.total("components"),
            "unique_purls": len(self.purls),
            "without_purl": self.total("without_purl"),
            "direct": self.total("direct"),
            "transitive": self.total("transitive"),
            "unknown_depth": self.total("unknown_depth"),
            "runtime": self.total("runtime"),
            "development": self.total("development"),
            "documents_without_graph": [d.source for d in self.documents if not d.has_graph],
            "depth_inferred": [d.source for d in self.documents if d.depth_inferred],
            "replaced": [{"source": d.source, "replaced": d.replaced} for d in self.documents if d.replaced],
            "by_ecosystem": dict(sorted(Counter(ecosystem for ecosystem, _ in self.ecosystem_keys).items())),
            "per_document": [asdict(d) for d in self.documents],
            "failures": [{"source": f.source, "message": f.message} for f in self.failures],
        }


def normalise_repo_name(text: str) -> str:
    """``OWNER/NAME`` lower-cased; raise ``ValueError`` naming the text when it is not of that shape."""
    parts = text.strip().strip("/").lower().split("/")
    if len(parts) != 2 or not all(part.strip() for part in parts):
        raise ValueError(f"{text!r}: a repository is written OWNER/NAME")
    return "/".join(part.strip() for part in parts)


def summarise(parsed: ParsedDocument, *, source: str, repository: str, repository_from: str) -> DocumentSummary:
    depths = Counter(usage.depth for usage in parsed.usages)
    scopes = Counter(usage.scope for usage in parsed.usages)
    return DocumentSummary(
        source=source,
        repository=repository,
        repository_from=repository_from,
        format=parsed.format.value,
        spec_version=parsed.spec_version,
        changed=True,
        has_graph=parsed.has_graph,
        components=len(parsed.components),
        unique_purls=len({c.key for c in parsed.components if c.purl}),
        without_purl=sum(1 for c in parsed.components if c.purl is None),
        direct=depths[Depth.DIRECT],
        transitive=depths[Depth.TRANSITIVE],
        unknown_depth=depths[Depth.UNKNOWN],
        runtime=scopes[Scope.RUNTIME],
        development=scopes[Scope.DEVELOPMENT],
        warnings=list(parsed.warnings),
        depth_inferred=parsed.depth_inferred,
    )


def ingest_document(
    store: Engine | Session,
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
    """Store one parsed document as its repository's current one; in a new transaction when given an engine.

    Raise :class:`DocumentConflict` naming ``source`` when the current document describes another product.
    """
    options: dict[str, Any] = {
        "repo_full_name": repo_full_name,
        "source": source,
        "digest": digest,
        "repo_hint_source": repo_hint_source,
        "repository_source": repository_source,
        "product": product,
        "replace": replace,
    }
    try:
        if isinstance(store, Session):
            return save_document(store, parsed, **options)
        with session_scope(store) as session:
            return save_document(session, parsed, **options)
    except NotSameProduct as exc:
        raise DocumentConflict(source, str(exc)) from exc


def ingest_bytes(
    store: Engine | Session,
    data: bytes,
    *,
    source: str,
    repo: str | None = None,
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
    repository_source: str = "file",
    replace: bool = False,
) -> DocumentSummary:
    """Parse and store one document held in memory (a file, or an export GitHub sent); raise :class:`InventoryError`."""
    if len(data) > max_file_bytes:
        raise DocumentTooLarge(source, f"{len(data):,} bytes is over the size limit of {max_file_bytes:,} bytes")
    parsed = parse_bytes(data, source=source)
    return _store(store, parsed, data, source=source, repo=repo, replace=replace, repository_source=repository_source)


def _store(
    store: Engine | Session,
    parsed: ParsedDocument,
    data: bytes,
    *,
    source: str,
    repo: str | None,
    replace: bool,
    repository_source: str = "file",
) -> DocumentSummary:
    identity = document_identity(parsed, repo=repo, source=source)
    saved = ingest_document(
        store,
        parsed,
        repo_full_name=identity.key,
        source=source,
        digest=hashlib.sha256(data).hexdigest(),
        repo_hint_source=identity.key_from,
        repository_source=repository_source,
        product=identity.product,
        replace=replace,
    )
    summary = summarise(parsed, source=source, repository=identity.key, repository_from=identity.key_from)
    summary.changed = saved.changed
    summary.product = identity.product
    summary.replaced = saved.replaced
    return summary


def read_limited(path: Path, max_file_bytes: int) -> bytes:
    """The file's bytes, refusing files over the limit before reading them whole."""
    try:
        size = path.stat().st_size
        if size > max_file_bytes:
            raise DocumentTooLarge(str(path), f"{size:,} bytes is over the size limit of {max_file_bytes:,} bytes")
        with path.open("rb") as handle:
            data = handle.read(max_file_bytes + 1)
    except OSError as exc:
        raise NotParseable(str(path), f"cannot read: {exc.strerror or exc}") from exc
    if len(data) > max_file_bytes:  # it grew while we looked
        raise DocumentTooLarge(str(path), f"over the size limit of {max_file_bytes:,} bytes")
    return data


def iter_files(paths: Iterable[Path], failures: list[FileFailure]) -> Iterator[Path]:
    """Files named, and every non-hidden file under directories named, in a stable order."""
    for path in paths:
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                relative = child.relative_to(path).parts
                if child.is_file() and not any(part.startswith(".") for part in relative):
                    yield child
        elif path.is_file():
            yield path
        else:
            failures.append(FileFailure(str(path), "no such file or directory"))


def ingest_paths(
    engine: Engine,
    paths: Iterable[Path | str],
    *,
    repo: str | None = None,
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
    replace: bool = False,
) -> IngestSummary:
    """Ingest every SBOM under ``paths``; bad files are reported in the summary, never raised.

    ``replace`` lets a document take the place of a current one describing another product.
    """
    if repo is not None:
        repo = normalise_repo_name(repo)
    summary = IngestSummary()
    for path in iter_files([Path(p) for p in paths], summary.failures):
        try:
            _ingest_one(engine, path, summary, repo=repo, max_file_bytes=max_file_bytes, replace=replace)
        except InventoryError as exc:
            summary.failures.append(FileFailure(exc.source, exc.message))
            log.debug("refused %s: %s", path, exc.message)
        except (RecursionError, MemoryError) as exc:  # nothing of this file was stored (its transaction rolled back)
            summary.failures.append(FileFailure(str(path), f"too deep or too large to ingest: {type(exc).__name__}"))
        except Exception as exc:  # one file never sinks the batch; the failure names it and its cause
            log.exception("failed to ingest %s", path)
            summary.failures.append(FileFailure(str(path), f"could not be ingested: {type(exc).__name__}: {exc}"))
    return summary


def _ingest_one(
    engine: Engine, path: Path, summary: IngestSummary, *, repo: str | None, max_file_bytes: int, replace: bool
) -> None:
    """Read, parse and store one file, adding it to ``summary``; raise whatever went wrong for the caller to record."""
    data = read_limited(path, max_file_bytes)
    parsed = parse_bytes(data, source=str(path))
    document = _store(engine, parsed, data, source=str(path), repo=repo, replace=replace)
    summary.documents.append(document)
    for component in parsed.components:
        if component.purl:
            summary.purls.add(component.key)
    summary.ecosystem_keys.update((c.ecosystem or "(none)", c.key) for c in parsed.components)
