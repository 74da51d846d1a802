"""SPDX 2.2/2.3, JSON and tag-value.

The document's subject is what ``SPDXRef-DOCUMENT DESCRIBES`` (or the deprecated but still common
``documentDescribes``) names; its dependencies are direct. Relationship direction follows Table 68 of
the 2.3 spec: ``A DEPENDS_ON B`` but ``B *_DEPENDENCY_OF A``; the dev/test/build family marks
development use. Right-hand sides ``NONE``, ``NOASSERTION`` and ``DocumentRef-x:...`` (other documents)
are not edges. Files and snippets are passed through (``Package CONTAINS file CONTAINS Package``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.inventory.assemble import Graph, Warnings, assemble
from bot.inventory.interface import Entry, MalformedDocument
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
_STR_OR_NONE = frozenset({str, type(None)})
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


@dataclass(slots=True)
class Spdx2Content:
    """The parts of an SPDX 2 document that matter here, whichever serialisation it came from.

    Relationships become graph edges as they are read (:meth:`relate`) instead of being kept and
    walked again: a large document has 100,000 of them.
    """

    version: str
    name: str | None
    packages: list[Entry] = field(default_factory=list)
    graph: Graph = field(default_factory=lambda: Graph(edge_scopes=True))
    describes: list[str] = field(default_factory=list)  # documentDescribes
    described: list[str] = field(default_factory=list)  # DESCRIBES / DESCRIBED_BY relationships, in order

    def relate(self, left: str, kind: str, right: str) -> None:
        """Take in one ``left kind right`` relationship: a subject of the document, an edge, or nothing."""
        edge = _EDGES.get(kind)
        if edge is None:
            if kind == "DESCRIBES" and left == DOCUMENT:
                self.described.append(right)
            elif kind == "DESCRIBED_BY" and right == DOCUMENT:
                self.described.append(left)
        elif not (left == DOCUMENT or right in _NOT_ELEMENTS or ":" in right or ":" in left):
            reverse, development = edge
            if reverse:
                self.graph.add(right, left, development=development)
            else:
                self.graph.add(left, right)


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
    warnings = Warnings()
    if content.version not in KNOWN_VERSIONS:
        warnings.note(f"spdxVersion {content.version!r} is not 2.2 or 2.3; read as 2.3")
    graph = content.graph
    graph.flat_means_unknown = github
    graph.roots = list(dict.fromkeys([*content.describes, *content.described]))
    graph.packages = {entry.ref for entry in content.packages if entry.ref is not None}
    hint_source = "github export name" if github else "document name"
    name = (content.name or "").strip()
    if github and name.count("/") != 1:
        hint_source = "document name"
    return assemble(
        sbom_format=sbom_format,
        spec_version=content.version,
        entries=content.packages,
        graph=graph,
        repo_hint=name.lower() or None,
        repo_hint_source=hint_source,
        warnings=warnings,
    )


def _str_field(obj: dict[str, Any], key: str, where: str, source: str) -> str | None:
    value = obj.get(key)
    if value is None or isinstance(value, str):
        return value
    raise MalformedDocument(source, f"{where}.{key} must be a string, not {type(value).__name__}")


def read_spdx2_json(document: dict[str, Any], *, source: str) -> Spdx2Content:
    """Pick the packages and relationships out of an SPDX 2 JSON document, checking types as it goes."""
    version = document.get("spdxVersion")
    if not isinstance(version, str):
        raise MalformedDocument(source, f"spdxVersion must be a string, not {type(version).__name__}")
    name = _str_field(document, "name", "document", source)
    content = Spdx2Content(version=version, name=name)
    packages = document.get("packages") or []
    if not isinstance(packages, list):
        raise MalformedDocument(source, f"packages must be a list, not {type(packages).__name__}")
    append = content.packages.append
    for index, package in enumerate(packages):
        if type(package) is not dict:
            raise MalformedDocument(source, f"packages[{index}] must be an object, not {type(package).__name__}")
        get = package.get
        spdx_id, package_name, version = get("SPDXID"), get("name"), get("versionInfo")
        if (
            type(spdx_id) not in _STR_OR_NONE
            or type(package_name) not in _STR_OR_NONE
            or type(version) not in _STR_OR_NONE
        ):
            for key in ("SPDXID", "name", "versionInfo"):
                _str_field(package, key, f"packages[{index}]", source)
        refs = get("externalRefs") or ()
        if type(refs) is not list and refs != ():
            raise MalformedDocument(source, f"packages[{index}].externalRefs must be a list, not {type(refs).__name__}")
        purl = None
        for ref in refs:
            if type(ref) is dict and ref.get("referenceType") == "purl" and type(ref.get("referenceLocator")) is str:
                purl = ref["referenceLocator"]
                break
        if not package_name and not purl:
            raise MalformedDocument(source, f"packages[{index}] has neither a name nor a purl")
        shown, ecosystem = (
            _hint_from_name(package_name) if package_name and ":" in package_name else (package_name, None)
        )
        declared, concluded = get("licenseDeclared"), get("licenseConcluded")
        licenses = _licenses(declared, concluded) if declared or concluded else ()
        append(Entry(spdx_id, shown or "", None, version, purl, licenses, ecosystem))
    relationships = document.get("relationships") or []
    if not isinstance(relationships, list):
        raise MalformedDocument(source, f"relationships must be a list, not {type(relationships).__name__}")
    relate = content.relate
    for index, rel in enumerate(relationships):
        if type(rel) is dict:
            left, kind, right = rel.get("spdxElementId"), rel.get("relationshipType"), rel.get("relatedSpdxElement")
            if type(left) is str and type(kind) is str and type(right) is str:
                relate(left, kind, right)
                continue
        raise MalformedDocument(source, f"relationships[{index}] must have three string fields")
    describes = document.get("documentDescribes") or []
    if not isinstance(describes, list) or not all(isinstance(d, str) for d in describes):
        raise MalformedDocument(source, "documentDescribes must be a list of strings")
    content.describes.extend(describes)
    return content


class Spdx2JsonParser:
    format = SbomFormat.SPDX2_JSON

    def parse(self, document: dict[str, Any], *, source: str) -> ParsedDocument:
        return assemble_spdx2(read_spdx2_json(document, source=source), sbom_format=self.format, source=source)


def read_spdx2_tag_value(text: str, *, source: str) -> Spdx2Content:
    """Read the tag-value serialisation: ``Tag: value`` lines, ``<text>`` blocks, sections per element."""
    content = Spdx2Content(version="", name=None)
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
            content.relate(parts[0], parts[1], parts[2])
        elif section == "package" and package is not None:
            if tag == "SPDXID":
                package.ref = value
            elif tag == "PackageVersion":
                package.version = value
            elif tag in ("PackageLicenseDeclared", "PackageLicenseConcluded"):
                package.licenses = _licenses(*package.licenses, value)
            elif tag == "ExternalRef":
                parts = value.split()
                if len(parts) >= 3 and parts[1] == "purl" and package.purl is None:
                    package.purl = parts[2]
    if not content.version:
        raise MalformedDocument(source, "no SPDXVersion line")
    for entry in content.packages:
        entry.name, entry.ecosystem_hint = _hint_from_name(entry.name)
    return content


class Spdx2TagValueParser:
    format = SbomFormat.SPDX2_TAG_VALUE

    def parse(self, document: str, *, source: str) -> ParsedDocument:
        return assemble_spdx2(read_spdx2_tag_value(document, source=source), sbom_format=self.format, source=source)
