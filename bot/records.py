"""Typed records that flow between the pipeline stages.

Stages exchange these plain, frozen values; only ``bot.store`` turns them into table rows.
Expected misses are data here (an unresolved package, a component without purl), not exceptions.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from msgspec import Struct


class Depth(StrEnum):
    """How a repository reaches a component in its dependency graph."""

    DIRECT = "direct"
    TRANSITIVE = "transitive"
    UNKNOWN = "unknown"  # the document carries no graph, or the component is outside it


class Scope(StrEnum):
    """Whether a component ships with the product or only helps build and test it."""

    RUNTIME = "runtime"
    DEVELOPMENT = "development"
    UNKNOWN = "unknown"


class SbomFormat(StrEnum):
    CYCLONEDX_JSON = "cyclonedx-json"
    CYCLONEDX_XML = "cyclonedx-xml"
    SPDX2_JSON = "spdx2-json"
    SPDX2_TAG_VALUE = "spdx2-tag-value"
    SPDX3_JSON_LD = "spdx3-json-ld"
    GITHUB_EXPORT = "github-dependency-graph"


class Component(Struct, frozen=True, gc=False):
    """One package as a document names it.

    ``key`` is the store identity: the normalised purl when there is one, otherwise a
    ``nopurl:`` key built from the ecosystem hint, group, name and version.
    ``package_key`` drops the version (``pypi/requests``, ``npm/@babel/core``,
    ``maven/org.slf4j/slf4j-api``): resolution works per package, not per version.

    A frozen msgspec struct rather than a frozen dataclass, like :class:`Usage`: a large SBOM makes
    50,000 of each, and a frozen dataclass sets every field through ``object.__setattr__`` (measured:
    0.87 µs against 0.06 µs a component).
    """

    key: str
    package_key: str
    purl: str | None
    ecosystem: str | None
    namespace: str | None
    name: str
    version: str | None
    licenses: tuple[str, ...] = ()


class Usage(Struct, frozen=True, gc=False):
    """A repository's use of one component."""

    component_key: str
    depth: Depth
    scope: Scope


class DocumentSubject(Struct, frozen=True, gc=False):
    """What a document says it describes (CycloneDX ``metadata.component``, SPDX's described package):
    the product whose SBOM it is, from which its repository key and its product identity are derived.

    A frozen msgspec struct, like :class:`ParsedDocument`: made once per document, where a frozen
    dataclass's ``object.__setattr__`` per field costs as much as decoding a 2 KB document.
    """

    purl: str | None = None
    name: str | None = None
    group: str | None = None
    version: str | None = None
    vcs_urls: tuple[str, ...] = ()
    where: str = "subject"  # e.g. "metadata.component", "described package"


class ParsedDocument(Struct, frozen=True, gc=False):
    """Everything the inventory stage takes from one SBOM document (a frozen msgspec struct: cheap to make)."""

    format: SbomFormat
    spec_version: str
    components: tuple[Component, ...]
    usages: tuple[Usage, ...]
    has_graph: bool
    repo_hint: str | None = None
    repo_hint_source: str | None = None  # e.g. "metadata.component", "document name"
    warnings: tuple[str, ...] = ()
    subject: DocumentSubject | None = None
    depth_inferred: bool = False  # the graph never named the root: direct = what nothing depends on


@dataclass(frozen=True, slots=True)
class UpstreamKey:
    """The identity of an upstream project: its canonical source repository."""

    host: str
    owner: str
    name: str

    def __str__(self) -> str:
        return f"{self.host}/{self.owner}/{self.name}"

    @classmethod
    def parse(cls, text: str) -> UpstreamKey:
        """Parse ``host/owner/name`` (lower-cased); raise ``ValueError`` naming the text."""
        parts = text.strip().strip("/").lower().split("/")
        if len(parts) != 3 or not all(parts):
            raise ValueError(f"{text!r}: an upstream is written HOST/OWNER/NAME")
        return cls(*parts)


def current_key(key: str, renames: Mapping[str, str]) -> str:
    """The upstream key as it is called now: ``renames`` (old → new) followed to the end, loops ignored.

    A repository can be renamed more than once (``a → b → c``); a rename back (``a → b → a``) ends
    where it started.
    """
    seen = {key}
    while key in renames and renames[key] not in seen:
        key = renames[key]
        seen.add(key)
    return key
