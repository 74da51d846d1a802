"""The fields of JSON SBOMs that upkeep reads, as typed shapes decoded straight from the bytes.

msgspec decodes a document into these shapes in one pass: fields upkeep never reads are skipped
without building a Python object for them, and every type is checked on the way, so a wrong type is
reported with its path (``components[3].purl must be a string, not int``) and the format adapters
need no checks of their own. This is what makes parsing a 50,000-component document cost about as
much as ``json.loads`` alone (``bench/parse_sboms.py``).

One shape, :class:`JsonSbom`, covers CycloneDX and SPDX 2 (their top-level keys do not collide), so
the format is told from the decoded document without decoding anything twice. SPDX 3's ``@graph`` is kept
as raw bytes and decoded once its format is known, unless the document is plainly SPDX 3 (nothing but
``@context`` and ``@graph``, its elements as tools write them): then :class:`Spdx3Document` reads it in one
pass, typed, and anything else takes the general path. The GitHub export's ``sbom`` wrapper holds the same
shape as :class:`JsonSbom` and is decoded with it.
Every field is typed as its schema types it, so a document that breaks its schema is refused with
the field named, not half read; fields whose shape really varies between producers (``type``,
``scope``, SPDX 3's elements outside a plain document) stay ``Any`` and the adapter decides.

``gc=False``: decoded values cannot form reference cycles, and 50,000 untracked components keep the
cyclic garbage collector from walking them again and again while the document is built.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec
from msgspec import Raw, Struct, field

from bot.inventory.interface import MalformedDocument, NotParseable, UnknownFormat


class CdxLicense(Struct, gc=False):
    id: str | None = None
    name: str | None = None


class CdxLicenseChoice(Struct, gc=False):
    """One entry of ``licenses``: a licence (by SPDX id or name) or an SPDX expression."""

    license: CdxLicense | None = None
    expression: str | None = None


class CdxProperty(Struct, gc=False):
    name: str | None = None
    value: str | None = None


class CdxExternalReference(Struct, gc=False):
    type: str | None = None
    url: str | None = None


class CdxComponent(Struct, gc=False):
    """A CycloneDX component; ``components`` nests (an assembly, not a dependency tree)."""

    name: str | None = None
    group: str | None = None
    version: str | None = None
    purl: str | None = None
    type: Any = None
    scope: Any = None
    bom_ref: str | None = field(default=None, name="bom-ref")
    licenses: list[CdxLicenseChoice] | None = None
    properties: list[CdxProperty] | None = None
    components: list[CdxComponent] | None = None


class CdxSubject(CdxComponent, gc=False):
    """The document's own component (``metadata.component``): its VCS reference names the product.

    Only here are ``externalReferences`` read; every other component's are skipped undecoded.
    """

    external_references: list[CdxExternalReference] | None = field(default=None, name="externalReferences")


class CdxDependency(Struct, gc=False):
    ref: str
    depends_on: list[str] | None = field(default=None, name="dependsOn")


class CdxMetadata(Struct, gc=False):
    component: CdxSubject | None = None


class SpdxExternalRef(Struct, gc=False):
    reference_type: str | None = field(default=None, name="referenceType")
    reference_locator: str | None = field(default=None, name="referenceLocator")


class SpdxPackage(Struct, gc=False):
    spdx_id: str | None = field(default=None, name="SPDXID")
    name: str | None = None
    version_info: str | None = field(default=None, name="versionInfo")
    external_refs: list[SpdxExternalRef] | None = field(default=None, name="externalRefs")
    license_declared: str | None = field(default=None, name="licenseDeclared")
    license_concluded: str | None = field(default=None, name="licenseConcluded")
    download_location: str | None = field(default=None, name="downloadLocation")


class SpdxRelationship(Struct, gc=False):
    spdx_element_id: str = field(name="spdxElementId")
    relationship_type: str = field(name="relationshipType")
    related_spdx_element: str = field(name="relatedSpdxElement")


class SpdxCreationInfo(Struct, gc=False):
    creators: list[Any] | None = None


class JsonSbom(Struct, gc=False):
    """Every top-level field upkeep reads, of CycloneDX, SPDX 2, SPDX 3 and the GitHub export wrapper."""

    bom_format: Any = field(default=None, name="bomFormat")
    spec_version: str | None = field(default=None, name="specVersion")
    metadata: CdxMetadata | None = None
    components: list[CdxComponent] | None = None
    dependencies: list[CdxDependency] | None = None
    spdx_version: str | None = field(default=None, name="spdxVersion")
    name: str | None = None
    creation_info: SpdxCreationInfo | None = field(default=None, name="creationInfo")
    packages: list[SpdxPackage] | None = None
    relationships: list[SpdxRelationship] | None = None
    document_describes: list[str] | None = field(default=None, name="documentDescribes")
    context: Any = field(default=None, name="@context")
    graph_raw: Raw = field(default_factory=Raw, name="@graph")
    # GitHub's wrapper around an SPDX 2.3 document, decoded in the same pass: a wrong type inside is
    # reported with its path (``sbom.packages[0].name``), and a 2 KB export is not decoded twice
    sbom: JsonSbom | None = None

    @property
    def graph(self) -> Raw | None:
        """SPDX 3's ``@graph``, undecoded; ``None`` when absent or null."""
        return _present(self.graph_raw)


class _FormatProbe(Struct, gc=False):
    """Only what tells the formats apart, every field untyped: it decodes whatever the object holds."""

    bom_format: Any = field(default=None, name="bomFormat")
    spdx_version: Any = field(default=None, name="spdxVersion")
    context: Any = field(default=None, name="@context")
    graph_raw: Raw = field(default_factory=Raw, name="@graph")
    sbom_raw: Raw = field(default_factory=Raw, name="sbom")


def _present(raw: Raw) -> Raw | None:
    """msgspec has no optional ``Raw``: an absent field is an empty one, and ``null`` is kept as it is."""
    return raw if raw and (len(raw) != 4 or bytes(raw) != b"null") else None  # no copy of a present part


_DECODER = msgspec.json.Decoder(JsonSbom)
_PROBE = msgspec.json.Decoder(_FormatProbe)
_WRONG_TYPE = re.compile(r"Expected `(?P<expected>[^`]+)`, got `(?P<got>[^`]+)`(?: - at `\$(?P<path>[^`]*)`)?")
_MISSING = re.compile(r"Object missing required field `(?P<field>[^`]+)`(?: - at `\$(?P<path>[^`]*)`)?")
_JSON_NAMES = {"array": "list", "object": "dict", "null": "null", "str": "str", "int": "int", "float": "float"}
_EXPECTED = {"str": "a string", "array": "a list", "object": "an object", "int": "an integer", "bool": "a boolean"}


def decode_json_sbom(data: bytes, *, source: str) -> JsonSbom:
    """Decode the fields upkeep reads; raise an :class:`InventoryError` naming ``source`` and the field."""
    try:
        return _DECODER.decode(data)
    except msgspec.ValidationError as exc:
        if not looks_like_sbom(data):
            raise UnknownFormat(source, _NO_FORMAT) from exc
        raise MalformedDocument(source, describe_validation_error(str(exc))) from exc
    except msgspec.DecodeError as exc:
        raise NotParseable(source, f"not JSON: {exc}") from exc


def decode_raw(raw: Raw, *, source: str, where: str) -> Any:
    """Decode a part kept raw (SPDX 3's ``@graph``, the export's ``sbom``) into plain Python values."""
    try:
        return msgspec.json.decode(raw)
    except msgspec.DecodeError as exc:  # pragma: no cover - the bytes were valid JSON a moment ago
        raise NotParseable(source, f"{where}: not JSON: {exc}") from exc


_NO_FORMAT = "JSON, but no SBOM format: no bomFormat, spdxVersion, SPDX 3 @context or sbom wrapper"


def looks_like_sbom(data: bytes) -> bool:
    """Whether a JSON object that failed typed decoding still claims an SBOM format (else it is no SBOM)."""
    try:
        probe = _PROBE.decode(data)
    except (msgspec.ValidationError, msgspec.DecodeError):
        return True  # not even an object: the typed error ("the top level must be ...") says it best
    return (
        probe.bom_format is not None
        or probe.spdx_version is not None
        or _present(probe.sbom_raw) is not None
        or (_present(probe.graph_raw) is not None and probe.context is not None)
    )


class Spdx3Element(Struct, gc=False):
    """One element of SPDX 3's ``@graph``: only the properties read. JSON-LD lets their shapes vary, so
    they stay untyped and :mod:`bot.inventory.spdx3` decides; every other property is skipped unbuilt."""

    type: Any = None
    at_type: Any = field(default=None, name="@type")
    spdx_id: Any = field(default=None, name="spdxId")
    at_id: Any = field(default=None, name="@id")
    spec_version: Any = field(default=None, name="specVersion")
    root_element: Any = field(default=None, name="rootElement")
    name: Any = None
    package_url: Any = field(default=None, name="software_packageUrl")
    external_identifier: Any = field(default=None, name="externalIdentifier")
    package_version: Any = field(default=None, name="software_packageVersion")
    source: Any = field(default=None, name="from")
    relationship_type: Any = field(default=None, name="relationshipType")
    to: Any = None
    scope: Any = None
    license_expression: Any = field(default=None, name="simplelicensing_licenseExpression")
    license_id: Any = field(default=None, name="expandedlicensing_licenseId")


_SPDX3_GRAPH = msgspec.json.Decoder(list[Spdx3Element])


class Spdx3PlainElement(Spdx3Element, gc=False):
    """An element as SPDX 3 tools write it: each read property a string, or a list of strings (``to``,
    ``rootElement``: references as IRIs, not the inline objects JSON-LD also allows), so that the adapter
    checks none of them. Only ``externalIdentifier`` (objects, read by ``_purl``) stays untyped. An element
    of any other shape fails :class:`Spdx3Document`, and its document takes the general path."""

    type: str | None = None
    at_type: str | None = field(default=None, name="@type")
    spdx_id: str | None = field(default=None, name="spdxId")
    at_id: str | None = field(default=None, name="@id")
    spec_version: str | None = field(default=None, name="specVersion")
    root_element: list[str] | None = field(default=None, name="rootElement")
    name: str | None = None
    package_url: str | None = field(default=None, name="software_packageUrl")
    package_version: str | None = field(default=None, name="software_packageVersion")
    source: str | None = field(default=None, name="from")
    relationship_type: str | None = field(default=None, name="relationshipType")
    to: list[str] | None = None
    scope: str | None = None
    license_expression: str | None = field(default=None, name="simplelicensing_licenseExpression")
    license_id: str | None = field(default=None, name="expandedlicensing_licenseId")


class Spdx3Document(Struct, forbid_unknown_fields=True, gc=False):
    """An SPDX 3 document as its serialisation writes it: ``@context`` and a ``@graph`` of plain elements.

    Decoded in one pass, not as a :class:`JsonSbom` whose ``@graph`` is kept raw and scanned again (about a
    third of the decoding of a small document). Any other key, a missing one, or a graph of anything but
    plain elements fails it, and the document takes the general path, which reads it exactly as before.
    """

    context: Any = field(name="@context")
    graph: list[Spdx3PlainElement] = field(name="@graph")


_SPDX3_DOCUMENT = msgspec.json.Decoder(Spdx3Document)


def decode_spdx3_document(data: bytes) -> Spdx3Document | None:
    """The document if it is plainly SPDX 3 (see :class:`Spdx3Document`), else ``None``, never an error: what
    fails here, broken or not, is left to :func:`decode_json_sbom` and the format detection to judge."""
    try:
        document = _SPDX3_DOCUMENT.decode(data)
    except (msgspec.DecodeError, RecursionError, MemoryError):  # a ValidationError is a DecodeError
        return None  # the general path skips what it does not read: it may still read the document
    return document if is_spdx3_context(document.context) else None


def decode_spdx3_graph(raw: Raw, *, source: str) -> list[Spdx3Element]:
    """SPDX 3's ``@graph`` as elements; a graph that is no list of objects is refused with the culprit named."""
    try:
        return _SPDX3_GRAPH.decode(raw)
    except msgspec.ValidationError:
        elements = decode_raw(raw, source=source, where="@graph")
        if not isinstance(elements, list):
            raise MalformedDocument(source, f"@graph must be a list, not {type(elements).__name__}") from None
        index, element = next((i, e) for i, e in enumerate(elements) if not isinstance(e, dict))
        raise MalformedDocument(source, f"@graph[{index}] must be an object, not {type(element).__name__}") from None
    except msgspec.DecodeError as exc:  # kept raw, it was only skipped: a string in it may not be UTF-8
        raise NotParseable(source, f"@graph: not JSON: {exc}") from exc


def is_spdx3_context(context: object) -> bool:
    if isinstance(context, str):  # as SPDX 3 writes it: asked without a list and a generator (~0.25 µs)
        return "spdx" in context.lower()
    contexts = context if isinstance(context, list) else [context]
    return any(isinstance(c, str) and "spdx" in c.lower() for c in contexts)


def no_format(source: str) -> UnknownFormat:
    return UnknownFormat(source, _NO_FORMAT)


def describe_validation_error(message: str) -> str:
    """msgspec's ``Expected `str | null`, got `int` - at `$.components[0].purl``` in upkeep's words."""
    wrong = _WRONG_TYPE.fullmatch(message)
    if wrong:
        path = (wrong["path"] or "").lstrip(".")
        expected = [part for part in wrong["expected"].split(" | ") if part != "null"]
        wanted = " or ".join(_EXPECTED.get(part, part) for part in expected) or "null"
        got = _JSON_NAMES.get(wrong["got"], wrong["got"])
        return f"{path} must be {wanted}, not {got}" if path else f"the top level must be a JSON object, not {got}"
    missing = _MISSING.fullmatch(message)
    if missing:
        return f"{(missing['path'] or '').lstrip('.') or 'the document'} has no {missing['field']}"
    return message
