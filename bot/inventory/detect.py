"""Recognise an SBOM by its content, never by its file name, and hand it to the right parser.

JSON is decoded by msgspec straight into the fields upkeep reads (:mod:`bot.inventory.json_model`:
about twice as fast as ``json.loads`` into dicts, and types checked on the way); XML by defusedxml with DTDs
forbidden, so XXE and entity-expansion ("billion laughs") documents are refused before anything
is expanded. Each failure is an :class:`InventoryError` naming the source.
"""

from __future__ import annotations

import gc

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, fromstring

from bot.inventory.cyclonedx import CycloneDxJsonParser, CycloneDxXmlParser
from bot.inventory.github_export import GitHubExportParser, is_github_export
from bot.inventory.interface import DocumentTooLarge, NotParseable, UnknownFormat, UnsafeXml
from bot.inventory.json_model import decode_json_sbom, decode_spdx3_document, is_spdx3_context, no_format
from bot.inventory.spdx import Spdx2JsonParser, Spdx2TagValueParser
from bot.inventory.spdx3 import Spdx3Parser
from bot.records import ParsedDocument

_UTF8_BOM = b"\xef\xbb\xbf"
# Byte-order marks, longest first (UTF-32 LE's mark starts with UTF-16 LE's).
_BOMS = (
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
)


def _unmarked_encoding(head: bytes) -> str | None:
    """UTF-16/32 without a mark, told by where the zero bytes of the first (ASCII) characters fall."""
    if len(head) < 4:
        return None
    zeros = (head[0] == 0, head[1] == 0, head[2] == 0, head[3] == 0)
    return {
        (True, True, True, False): "utf-32-be",
        (False, True, True, True): "utf-32-le",
        (True, False, True, False): "utf-16-be",
        (False, True, False, True): "utf-16-le",
    }.get(zeros)


_MARK_STARTS = frozenset(b"\xef\xff\xfe\x00")  # first bytes of the marks above, and UTF-16/32 BE's zero


def to_utf8(data: bytes, *, source: str) -> bytes:
    """UTF-8 bytes without a mark: UTF-16 and UTF-32 (Windows tools write them), marked or not, are transcoded."""
    if data[:1] and data[0] not in _MARK_STARTS and 0 not in data[1:4]:
        return data  # no mark, and no zero byte among the first characters: UTF-8 (or ASCII) as it is
    if data.startswith(_UTF8_BOM):
        return data[len(_UTF8_BOM) :]
    encoding, body = _unmarked_encoding(data), data
    for mark, name in _BOMS:
        if data.startswith(mark):
            encoding, body = name, data[len(mark) :]
            break
    if encoding is None:
        return data
    try:
        return body.decode(encoding).encode("utf-8")
    except UnicodeError as exc:
        raise NotParseable(source, f"looks like {encoding.upper()} but does not decode: {exc}") from exc


# How a JSON object opening with a JSON-LD key ("@context", "@graph") starts, compact or indented as JSON
# writers indent. One startswith of them costs ~50 ns, half a bounded find's cost; a document laid out
# otherwise is read by the general path all the same.
_JSON_LD_STARTS = tuple(
    b"{" + space + b'"@' for space in (b"", b" ", b"\n", b"\n  ", b"\n    ", b"\n\t", b"\r\n  ", b"\r\n    ")
)


# The format adapters hold no state: one of each serves every document (a class call per document is ~60 ns).
_CYCLONEDX_JSON, _SPDX2_JSON, _SPDX3, _GITHUB_EXPORT = (
    CycloneDxJsonParser(),
    Spdx2JsonParser(),
    Spdx3Parser(),
    GitHubExportParser(),
)


def _parse_json(data: bytes, *, source: str) -> ParsedDocument:
    """Decode once into the shapes of :mod:`bot.inventory.json_model`, then tell the format from the fields.

    A document that opens with a JSON-LD key is first tried as a plain SPDX 3 document, decoded in one pass
    (:class:`~bot.inventory.json_model.Spdx3Document`); looking at its first bytes keeps every other
    document from the cost of a failed try.
    """
    if data.startswith(_JSON_LD_STARTS):
        spdx3 = decode_spdx3_document(data)
        if spdx3 is not None:
            return _SPDX3.parse(spdx3, source=source)
    document = decode_json_sbom(data, source=source)
    if (document.sbom is not None or document.creation_info is not None) and is_github_export(document):
        return _GITHUB_EXPORT.parse(document, source=source)
    if document.bom_format is not None:
        if document.bom_format != "CycloneDX":
            raise UnknownFormat(source, f"bomFormat {document.bom_format!r} is not 'CycloneDX'")
        return _CYCLONEDX_JSON.parse(document, source=source)
    if document.spdx_version is not None:
        return _SPDX2_JSON.parse(document, source=source)
    if document.graph is not None and is_spdx3_context(document.context):
        return _SPDX3.parse(document, source=source)
    raise no_format(source)


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
    """Parse one SBOM document of any supported format; raise :class:`InventoryError` naming ``source``.

    The cyclic garbage collector is paused meanwhile (see :mod:`bot.gc_pause`; inlined here, as this runs
    once per document and a 2 KB document takes only some microseconds).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        if data[:1] == b"{" and 0 not in data[1:4]:  # UTF-8 JSON, the common case: nothing to transcode or sniff
            return _parse_json(data, source=source)
        return _parse_bytes(to_utf8(data, source=source), source=source)
    except RecursionError as exc:
        raise NotParseable(source, f"nested too deeply to read ({exc})") from exc
    except MemoryError as exc:
        raise DocumentTooLarge(source, "ran out of memory while reading it") from exc
    finally:
        if enabled:
            gc.enable()


def _parse_bytes(data: bytes, *, source: str) -> ParsedDocument:
    first = data[:1]
    if first != b"{":  # a document that does not start its JSON object at once: look past blanks
        head = data[:64].lstrip()
        if not head:
            raise NotParseable(source, "empty file")
        first = head[:1]
    if first == b"{" or first == b"[":
        return _parse_json(data, source=source)
    if first == b"<":
        return _parse_xml(data, source=source)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NotParseable(source, f"not JSON, XML or UTF-8 text: {exc}") from exc
    if any(line.startswith("SPDXVersion:") for line in text.lstrip().splitlines()[:50]):
        return Spdx2TagValueParser().parse(text, source=source)
    raise UnknownFormat(source, "not JSON, XML or SPDX tag-value (no SPDXVersion line near the top)")
