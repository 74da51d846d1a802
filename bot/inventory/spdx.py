"""SPDX 2.2/2.3, JSON and tag-value.

The document's subject is what ``SPDXRef-DOCUMENT DESCRIBES`` (or the deprecated but still common
``documentDescribes``) names; its dependencies are direct. Relationship direction follows Table 68 of
the 2.3 spec: ``A DEPENDS_ON B`` but ``B *_DEPENDENCY_OF A``; the dev/test/build family marks
development use. Right-hand sides ``NONE``, ``NOASSERTION`` and ``DocumentRef-x:...`` (other documents)
are not edges. Files and snippets are passed through (``Package CONTAINS file CONTAINS Package``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from bot.inventory.assemble import Graph, Warnings, assemble
from bot.inventory.interface import Entry, MalformedDocument
from bot.inventory.json_model import JsonSbom, SpdxExternalRef, SpdxPackage, SpdxRelationship
from bot.inventory.purls import best_purl
from bot.records import ParsedDocument, SbomFormat

KNOWN_VERSIONS = ("SPDX-2.2", "SPDX-2.3")
DOCUMENT = "SPDXRef-DOCUMENT"
_FORWARD = ("DEPENDS_ON", "CONTAINS", "DYNAMIC_LINK", "STATIC_LINK", "HAS_PREREQUISITE")
_REVERSE = (
    "DEPENDENCY_OF",
    "RUNTIME_DEPENDENCY_OF",
    "OPTIONAL_DEPENDENCY_OF",
    "PROVIDED_DEPENDENCY_OF",
    "CONTAINED_BY",
    "PREREQUISITE_FOR",
)
_REVERSE_DEV = (
    "DEV_DEPENDENCY_OF",
    "TEST_DEPENDENCY_OF",
    "BUILD_DEPENDENCY_OF",
    "DEV_TOOL_OF",
    "BUILD_TOOL_OF",
    "TEST_TOOL_OF",
)
# relationship type -> (the parent is the right-hand side, development use); any other type is no edge
_EDGES: dict[str, tuple[bool, bool]] = {
    **dict.fromkeys(_FORWARD, (False, False)),
    **dict.fromkeys(_REVERSE, (True, False)),
    **dict.fromkeys(_REVERSE_DEV, (True, True)),
}
_NOT_ELEMENTS = frozenset({"NONE", "NOASSERTION"})
_NO_LICENSE = frozenset({"NOASSERTION", "NONE", ""})
# Older GitHub exports prefix package names with the manifest ecosystem ("pip:flake8").
_NAME_PREFIXES = {
    "pip": "pypi",
    "npm": "npm",
    "actions": "githubactions",
    "rubygems": "gem",
    "maven": "maven",
    "go": "golang",
    "nuget": "nuget",
    "composer": "composer",
    "rust": "cargo",
}


class Spdx2Content:
    """The parts of an SPDX 2 tag-value document that matter here (:func:`parse_spdx2_json` keeps a JSON
    document's in plain locals, cheaper to make for a small document).

    Relationships become graph edges by the rule the JSON reader uses (:func:`_relate_all`). Plain slots, not
    a dataclass: made once per document, where a dataclass's field factories cost as much as reading a small
    one's packages.
    """

    __slots__ = ("described", "describes", "graph", "locations", "name", "packages", "version")

    def __init__(self, version: str, name: str | None) -> None:
        self.version = version
        self.name = name
        self.packages: list[Entry] = []
        self.graph = Graph(edge_scopes=True)
        self.describes: list[str] = []  # documentDescribes
        self.described: list[str] = []  # DESCRIBES / DESCRIBED_BY relationships, in order
        self.locations: dict[str, str] = {}  # SPDXID -> downloadLocation naming a forge

    def relate_all(self, relationships: Iterable[SpdxRelationship]) -> None:
        """Take in the document's relationships: its subjects, its edges (:func:`_relate_all`)."""
        _relate_all(relationships, self.graph.edges, self.graph.development, self.described)


def _relate_all(
    relationships: Iterable[SpdxRelationship],
    edges: dict[str, list[str]],
    development: set[tuple[str, str]],
    described: list[str],
) -> None:
    """Each ``left kind right`` relationship as a subject of the document (into ``described``), an edge (into
    ``edges``, and ``development`` for dev/test/build ones) or nothing; ``DEPENDS_ON``, the common one, first.

    A large document has 100,000 relationships: one loop, no call per relationship.
    """
    for rel in relationships:
        left, kind, right = rel.spdx_element_id, rel.relationship_type, rel.related_spdx_element
        if kind == "DEPENDS_ON" and left != DOCUMENT and ":" not in right and ":" not in left:
            if right not in _NOT_ELEMENTS:
                kids = edges.get(left)
                if kids is None:
                    edges[left] = [right]
                else:
                    kids.append(right)
            continue
        edge = _EDGES.get(kind)
        if edge is None:  # a subject of the document, or nothing
            if kind == "DESCRIBES":
                if left == DOCUMENT:
                    described.append(right)
            elif kind == "DESCRIBED_BY" and right == DOCUMENT:
                described.append(left)
        elif not (left == DOCUMENT or right in _NOT_ELEMENTS or ":" in right or ":" in left):
            reverse, dev = edge
            parent, child = (right, left) if reverse else (left, right)
            kids = edges.get(parent)
            if kids is None:
                edges[parent] = [child]
            else:
                kids.append(child)
            if dev:
                development.add((parent, child))


# A package's licences by (declared, concluded), one shared tuple per distinct pair: a document repeats a few
# pairs thousands of times. The memo is the document's own (a process-wide cache costs a small document more
# to fill and empty than it saves).
LicenceMemo = dict[tuple[str | None, str | None], tuple[str, ...]]


def _licenses(*values: object) -> tuple[str, ...]:
    seen: list[str] = []
    for value in values:
        if isinstance(value, str) and value.strip() not in _NO_LICENSE and value.strip() not in seen:
            seen.append(value.strip())
    return tuple(seen)


def _hint_from_name(name: str) -> tuple[str, str | None]:
    prefix, sep, rest = name.partition(":")
    if sep and prefix in _NAME_PREFIXES and rest:
        return rest, _NAME_PREFIXES[prefix]
    return name, None


def assemble_spdx2(
    content: Spdx2Content, *, sbom_format: SbomFormat, github: bool = False, source: str
) -> ParsedDocument:
    """Turn SPDX 2 content into the shared record; ``github`` applies the dependency-graph export's rules."""
    return _assemble_spdx2(
        content.version,
        content.name,
        content.packages,
        content.graph,
        content.describes,
        content.described,
        content.locations,
        sbom_format,
        github,
    )


def _assemble_spdx2(
    version: str,
    name: str | None,
    packages: list[Entry],
    graph: Graph,
    describes: Sequence[str],
    described: list[str],
    locations: dict[str, str],
    sbom_format: SbomFormat,
    github: bool,
) -> ParsedDocument:
    """:func:`assemble_spdx2` of the parts, as the JSON reader has them without a :class:`Spdx2Content`."""
    warnings = Warnings()
    if version not in KNOWN_VERSIONS:
        warnings.note(f"spdxVersion {version!r} is not 2.2 or 2.3; read as 2.3")
    graph.flat_means_unknown = github
    # mostly one DESCRIBES and no documentDescribes: that list is the roots as it is
    graph.roots = described if not describes and len(described) < 2 else list(dict.fromkeys([*describes, *described]))
    graph.entries_are_packages = True  # every other node is a file or snippet, passed through
    hint = None
    if github and name:
        # only a GitHub export's name is its repository; other document names ("istio release 1.13.1") are not keys
        name = name.strip()
        hint = name.lower() if name.count("/") == 1 else None
    return assemble(
        sbom_format=sbom_format,
        spec_version=version,
        entries=packages,
        graph=graph,
        repo_hint=hint,
        repo_hint_source="github export name",
        warnings=warnings,
        subject_vcs=locations,
    )


def _purl_of(refs: list[SpdxExternalRef]) -> str | None:
    """A package's purl; of several, the valid one (:func:`best_purl`)."""
    purls = [ref.reference_locator for ref in refs if ref.reference_type == "purl" and ref.reference_locator]
    return best_purl(purls) if len(purls) > 1 else (purls[0] if purls else None)


def _package_path(document: JsonSbom, wanted: SpdxPackage) -> str:
    """``packages[3]``, for an error message."""
    return next(f"packages[{i}]" for i, package in enumerate(document.packages or ()) if package is wanted)


def parse_spdx2_json(
    document: JsonSbom, *, sbom_format: SbomFormat, github: bool = False, source: str
) -> ParsedDocument:
    """Read an SPDX 2 JSON document (types were checked decoding it) straight into entries and a graph, and
    assemble them: no :class:`Spdx2Content` in between, made once per document for ~0.2 µs of a 2 KB one's."""
    version = document.spdx_version
    if version is None:
        raise MalformedDocument(source, "spdxVersion is missing")
    entries: list[Entry] = []
    locations: dict[str, str] = {}
    memo: LicenceMemo = {}
    for package in document.packages or ():
        name, refs, ecosystem = package.name, package.external_refs, None
        if not refs:
            purl = None
        elif len(refs) == 1:  # the common case, without a list: one reference, a purl or not
            ref = refs[0]
            purl = (ref.reference_locator or None) if ref.reference_type == "purl" else None
        else:
            purl = _purl_of(refs)
        if not name:
            if not purl:
                raise MalformedDocument(source, f"{_package_path(document, package)} has neither a name nor a purl")
            name = ""
        elif ":" in name:
            name, ecosystem = _hint_from_name(name)
        declared, concluded = package.license_declared, package.license_concluded
        if declared or concluded:
            pair = (declared, concluded)
            licenses = memo.get(pair)
            if licenses is None:
                licenses = memo[pair] = _licenses(declared, concluded)
        else:
            licenses = ()
        spdx_id = package.spdx_id
        entries.append(Entry(spdx_id, name, None, package.version_info, purl, licenses, ecosystem))
        location = package.download_location
        if location and spdx_id and location not in _NOT_ELEMENTS:
            locations[spdx_id] = location
    graph = Graph()  # a class called with a keyword argument packs it in a dict: ~70 ns
    graph.edge_scopes = True
    described: list[str] = []
    if document.relationships:
        _relate_all(document.relationships, graph.edges, graph.development, described)
    describes = document.document_describes or ()
    return _assemble_spdx2(version, document.name, entries, graph, describes, described, locations, sbom_format, github)


class Spdx2JsonParser:
    format = SbomFormat.SPDX2_JSON

    def parse(self, document: JsonSbom, *, source: str) -> ParsedDocument:
        return parse_spdx2_json(document, sbom_format=self.format, source=source)


def read_spdx2_tag_value(text: str, *, source: str) -> Spdx2Content:
    """Read the tag-value serialisation: ``Tag: value`` lines, ``<text>`` blocks, sections per element."""
    content = Spdx2Content(version="", name=None)
    relationships: list[SpdxRelationship] = []
    section = "document"
    package: Entry | None = None
    lines = iter(enumerate(text.splitlines(), start=1))
    for number, line in lines:
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        tag, sep, value = stripped.partition(":")
        if not sep:
            raise MalformedDocument(source, f"line {number}: expected 'Tag: value', got {stripped[:60]!r}")
        value = value.strip()
        if value.startswith("<text>"):
            block = [value.removeprefix("<text>")]
            while "</text>" not in block[-1]:
                following = next(lines, None)
                if following is None:
                    raise MalformedDocument(source, f"line {number}: <text> is never closed")
                block.append(following[1])
            value = "\n".join(block).split("</text>", 1)[0].strip()
        if tag == "PackageName":
            section = "package"
            package = Entry(ref=None, name=value)
            content.packages.append(package)
        elif tag in ("FileName", "SnippetSPDXID", "LicenseID"):
            section, package = "other", None
        elif tag == "SPDXVersion":
            content.version = value
        elif tag == "DocumentName":
            content.name = value
        elif tag == "Relationship":
            parts = value.split()
            if len(parts) < 3:
                raise MalformedDocument(source, f"line {number}: Relationship needs 'A TYPE B', got {value!r}")
            relationships.append(SpdxRelationship(parts[0], parts[1], parts[2]))
        elif section == "package" and package is not None:
            if tag == "SPDXID":
                package.ref = value
            elif tag == "PackageVersion":
                package.version = value
            elif tag == "PackageDownloadLocation" and value not in _NOT_ELEMENTS:
                content.locations[package.ref or ""] = value
            elif tag in ("PackageLicenseDeclared", "PackageLicenseConcluded"):
                package.licenses = _licenses(*package.licenses, value)
            elif tag == "ExternalRef":
                parts = value.split()
                if len(parts) >= 3 and parts[1] == "purl":
                    package.purl = best_purl([package.purl, parts[2]]) if package.purl else parts[2]
    content.relate_all(relationships)
    if not content.version:
        raise MalformedDocument(source, "no SPDXVersion line")
    for entry in content.packages:
        entry.name, entry.ecosystem_hint = _hint_from_name(entry.name)
    return content


class Spdx2TagValueParser:
    format = SbomFormat.SPDX2_TAG_VALUE

    def parse(self, document: str, *, source: str) -> ParsedDocument:
        return assemble_spdx2(read_spdx2_tag_value(document, source=source), sbom_format=self.format, source=source)
