"""The inventory port: SBOM bytes in, one :class:`ParsedDocument` out.

Every format adapter (``cyclonedx.py``, ``spdx.py``, ``spdx3.py``, ``github_export.py``) turns its
decoded document into :class:`Entry` values and graph edges, and :func:`bot.inventory.assemble.assemble`
makes the shared record, so purl normalisation, depth and scope rules live in one place.
A bad document raises an :class:`InventoryError` whose text starts with the file it came from.
"""

from __future__ import annotations

from typing import Protocol, TypeVar

from msgspec import Struct

from bot.records import Component, Depth, ParsedDocument, SbomFormat, Scope, Usage

__all__ = [
    "Component",
    "Depth",
    "DocumentTooLarge",
    "Entry",
    "InventoryError",
    "MalformedDocument",
    "NotParseable",
    "ParsedDocument",
    "SbomFormat",
    "SbomParser",
    "Scope",
    "UnknownFormat",
    "UnsafeXml",
    "Usage",
]

DocumentT_contra = TypeVar("DocumentT_contra", contravariant=True)


class InventoryError(Exception):
    """A document that cannot be ingested. ``str()`` is one line: ``<source>: <what is wrong>``."""

    def __init__(self, source: str, message: str) -> None:
        super().__init__(f"{source}: {message}")
        self.source = source
        self.message = message


class NotParseable(InventoryError):
    """The bytes are not JSON, XML or text of the expected shape."""


class UnknownFormat(InventoryError):
    """The document parses but is no SBOM format upkeep reads."""


class MalformedDocument(InventoryError):
    """The format is known but fields have the wrong types or required fields are missing."""


class UnsafeXml(InventoryError):
    """The XML carries a DTD or entity declarations (XXE, billion laughs); refused without expanding."""


class DocumentTooLarge(InventoryError):
    """The file is over the configured size limit; refused before it is read whole."""


class Entry(Struct, gc=False):
    """One component as a document writes it, before normalisation.

    ``ref`` is the document-local id (CycloneDX ``bom-ref``, SPDX ``SPDXID``) that graph edges use.
    ``scope`` is what the entry says about itself (CycloneDX ``scope``); graph-derived scope is added later.
    Whether it passes its children through (a grouping node) is a fact of the graph, not of the entry
    (:attr:`bot.inventory.assemble.Graph.transparent`).
    A msgspec struct for the same reason as :class:`Component`: one per component, cheap to make.
    """

    ref: str | None
    name: str
    group: str | None = None
    version: str | None = None
    purl: str | None = None
    licenses: tuple[str, ...] = ()
    ecosystem_hint: str | None = None
    scope: Scope = Scope.UNKNOWN


class SbomParser(Protocol[DocumentT_contra]):
    """A format adapter: the decoded document (dict, XML element or text) in, the shared record out."""

    format: SbomFormat

    def parse(self, document: DocumentT_contra, *, source: str) -> ParsedDocument: ...
