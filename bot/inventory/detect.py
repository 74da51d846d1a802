"""Recognise an SBOM by its content, never by its file name, and hand it to the right parser.

JSON is decoded with the standard library (orjson was measured: within 5% once the cyclic GC is
paused, see :func:`bot.gc_pause.cyclic_gc_paused`, so not worth a dependency); XML with defusedxml with DTDs
forbidden, so XXE and entity-expansion ("billion laughs") documents are refused before anything
is expanded. Each failure is an :class:`InventoryError` naming the source.
"""

from __future__ import annotations

import json
from typing import Any

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, fromstring

from bot.gc_pause import cyclic_gc_paused
from bot.inventory.cyclonedx import CycloneDxJsonParser, CycloneDxXmlParser
from bot.inventory.github_export import GitHubExportParser, is_github_export
from bot.inventory.interface import MalformedDocument, NotParseable, UnknownFormat, UnsafeXml
from bot.inventory.spdx import Spdx2JsonParser, Spdx2TagValueParser
from bot.inventory.spdx3 import Spdx3Parser
from bot.records import ParsedDocument

_UTF8_BOM = b"\xef\xbb\xbf"


def _is_spdx3(document: dict[str, Any]) -> bool:
    context = document.get("@context")
    contexts = context if isinstance(context, list) else [context]
    return any(isinstance(c, str) and "spdx" in c.lower() for c in contexts) and "@graph" in document


def parse_json(document: object, *, source: str) -> ParsedDocument:
    """Dispatch an already decoded JSON document (used by callers that hold parsed JSON, e.g. an API reply)."""
    if not isinstance(document, dict):
        raise MalformedDocument(source, f"the top level must be a JSON object, not {type(document).__name__}")
    if is_github_export(document):
        return GitHubExportParser().parse(document, source=source)
    if "bomFormat" in document:
        if document["bomFormat"] != "CycloneDX":
            raise UnknownFormat(source, f"bomFormat {document['bomFormat']!r} is not 'CycloneDX'")
        return CycloneDxJsonParser().parse(document, source=source)
    if "spdxVersion" in document:
        return Spdx2JsonParser().parse(document, source=source)
    if _is_spdx3(document):
        return Spdx3Parser().parse(document, source=source)
    raise UnknownFormat(source, "JSON, but no SBOM format: no bomFormat, spdxVersion, SPDX 3 @context or sbom wrapper")


def _parse_xml(data: bytes, *, source: str) -> ParsedDocument:
    try:
        root = fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise UnsafeXml(
            source, f"XML with a DTD or entity declarations is refused (possible XXE or entity expansion): {exc}"
        ) from exc
    except ParseError as exc:
        raise NotParseable(source, f"not well-formed XML: {exc}") from exc
    if not root.tag.startswith("{http://cyclonedx.org/schema/bom/"):
        raise UnknownFormat(source, f"XML, but the root element {root.tag!r} is not a CycloneDX <bom>")
    return CycloneDxXmlParser().parse(root, source=source)


def parse_bytes(data: bytes, *, source: str) -> ParsedDocument:
    """Parse one SBOM document of any supported format; raise :class:`InventoryError` naming ``source``."""
    with cyclic_gc_paused():
        return _parse_bytes(data, source=source)


def _parse_bytes(data: bytes, *, source: str) -> ParsedDocument:
    data = data.removeprefix(_UTF8_BOM)
    head = data[:64].lstrip()
    if not head:
        raise NotParseable(source, "empty file")
    first = head[:1]
    if first in (b"{", b"["):
        try:
            document = json.loads(data)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise NotParseable(source, f"not JSON: {exc}") from exc
        return parse_json(document, source=source)
    if first == b"<":
        return _parse_xml(data, source=source)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NotParseable(source, f"not JSON, XML or UTF-8 text: {exc}") from exc
    if any(line.startswith("SPDXVersion:") for line in text.lstrip().splitlines()[:50]):
        return Spdx2TagValueParser().parse(text, source=source)
    raise UnknownFormat(source, "not JSON, XML or SPDX tag-value (no SPDXVersion line near the top)")
