"""SPDX 3.0 JSON-LD: a flat ``@graph`` of typed elements.

Packages are ``software_Package`` elements (purl in ``software_packageUrl`` or an ``externalIdentifier``
of type ``packageUrl``); relationships are elements with ``from``, ``relationshipType`` (lowerCamelCase)
and a ``to`` list. ``LifecycleScopedRelationship`` adds a ``scope``: development, test and build use
count as development. Licences hang off packages through ``hasDeclaredLicense``/``hasConcludedLicense``.

Elements are read by one of two loops. :func:`_read_plain` reads the elements of a plain document
(:class:`Spdx3Document`), whose properties msgspec has typed while decoding, so it checks none of them
and tells each kind in one lookup: 9.3 µs against the checking loop's 13.4 µs on the cargo hello-server
example, a third of whose parse this is. :func:`_read` reads elements of any shape (JSON-LD lets them
vary) and checks each property it reads. A property test holds the two to one answer.
"""

from __future__ import annotations

from bot.inventory.assemble import Graph, Warnings, assemble
from bot.inventory.interface import Entry, MalformedDocument
from bot.inventory.json_model import JsonSbom, Spdx3Document, Spdx3Element, Spdx3PlainElement, decode_spdx3_graph
from bot.inventory.purls import best_purl
from bot.records import ParsedDocument, SbomFormat

_PACKAGE_TYPES = frozenset({"software_Package", "Package", "software:Package"})
_DOCUMENT_TYPES = frozenset({"SpdxDocument", "software_Sbom", "Sbom", "software:Sbom"})
_RELATIONSHIP_TYPES = frozenset({"Relationship", "LifecycleScopedRelationship"})
_USES = frozenset(
    {
        "dependsOn",
        "contains",
        "hasDynamicLink",
        "hasStaticLink",
        "hasPrerequisite",
        "hasOptionalDependency",
        "hasProvidedDependency",
        "hasOptionalComponent",
    }
)
_DEV_USES = frozenset({"usesTool"})
_DEV_LIFECYCLES = frozenset({"development", "test", "build"})
_LICENSES = frozenset({"hasDeclaredLicense", "hasConcludedLicense"})
_NO_LICENSE = frozenset({"NOASSERTION", "NONE", ""})
# The same, for _read_plain: what is read of an element or a relationship, in one lookup of its type.
_RELATIONSHIP, _CREATION_INFO, _DOCUMENT, _PACKAGE = range(4)
_KINDS = {
    **dict.fromkeys(_RELATIONSHIP_TYPES, _RELATIONSHIP),
    "CreationInfo": _CREATION_INFO,
    **dict.fromkeys(_DOCUMENT_TYPES, _DOCUMENT),
    **dict.fromkeys(_PACKAGE_TYPES, _PACKAGE),
}
_DESCRIBES, _LICENSE, _USE, _DEV_USE = range(4)
_RELATIONS = {
    "describes": _DESCRIBES,
    **dict.fromkeys(_LICENSES, _LICENSE),
    **dict.fromkeys(_USES, _USE),
    **dict.fromkeys(_DEV_USES, _DEV_USE),
}


def _kind(value: object) -> str | None:
    """An element's type: JSON-LD allows a list of them; of a list, the first that upkeep reads is the kind."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return next((v for v in value if isinstance(v, str) and v in _KINDS), None)
    return None


def _strings(value: object) -> list[str]:
    """A property that holds references: JSON-LD allows one value instead of a list of one."""
    if isinstance(value, str):
        return [value]
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _id(element: Spdx3Element) -> str | None:
    value = element.spdx_id or element.at_id
    return value if isinstance(value, str) else None


def _purl(element: Spdx3Element) -> str | None:
    """The package's purl; of several (``software_packageUrl`` and identifiers), the valid one."""
    purl = element.package_url
    found = [purl] if isinstance(purl, str) else []
    identifiers = element.external_identifier
    for identifier in identifiers if isinstance(identifiers, list) else ():
        if isinstance(identifier, dict) and identifier.get("externalIdentifierType") == "packageUrl":
            value = identifier.get("identifier")
            if isinstance(value, str):
                found.append(value)
    return best_purl(found)


def _license_text(element: Spdx3Element | None) -> str | None:
    if element is None:
        return None
    for value in (element.license_expression, element.license_id, element.name):
        if isinstance(value, str):
            text = value.strip()
            if text not in _NO_LICENSE:
                return text
    return None


def _add_edges(graph: Graph, parent: str, children: list[str], *, development: bool) -> None:
    """One relationship's edges, without a :meth:`Graph.add` call per target."""
    if not children:
        return
    kids = graph.edges.get(parent)
    if kids is None:
        graph.edges[parent] = children
    else:
        kids += children
    if development:
        graph.development.update((parent, child) for child in children)


_Read = tuple[str, dict[str, Entry], Graph]  # the spec version, the packages by ref, the graph


def _read(elements: list[Spdx3Element], source: str) -> _Read:
    """Elements of any shape: each read property is checked here."""
    by_id: dict[str, Spdx3Element] = {}  # licences are elements that relationships name
    spec_version = "3.0"
    packages: dict[str, Entry] = {}
    graph = Graph(edge_scopes=True)
    doc_ids: set[str] = set()
    relationships: list[Spdx3Element] = []
    for element in elements:
        element_id = element.spdx_id or element.at_id  # _id, inlined: this runs once per element
        if not isinstance(element_id, str):
            element_id = None
        elif element_id:
            by_id[element_id] = element
        kind = _kind(element.type or element.at_type)
        if kind in _RELATIONSHIP_TYPES:
            relationships.append(element)
        elif kind == "CreationInfo" and isinstance(element.spec_version, str):
            spec_version = element.spec_version
        elif kind in _DOCUMENT_TYPES:
            if element_id:
                doc_ids.add(element_id)
            graph.roots.extend(_strings(element.root_element))
        elif kind in _PACKAGE_TYPES:
            package_name, purl = element.name, _purl(element)
            if not isinstance(package_name, str) and not purl:
                raise MalformedDocument(source, f"package {element_id!r} has neither a name nor a purl")
            version = element.package_version
            packages[element_id or f"#{len(packages)}"] = Entry(
                ref=element_id,
                name=package_name if isinstance(package_name, str) else "",
                version=version if isinstance(version, str) else None,
                purl=purl,
            )
    for element in relationships:
        parent, kind, to = element.source, element.relationship_type, element.to or []
        if not isinstance(parent, str) or not isinstance(kind, str) or not isinstance(to, (list, str)):
            raise MalformedDocument(source, f"relationship {_id(element)!r} needs from, relationshipType and to")
        targets = _strings(to)
        if kind == "describes" and parent in doc_ids:
            graph.roots.extend(targets)
        elif kind in _LICENSES and parent in packages:
            entry = packages[parent]
            for target in targets:  # each licence once, in the order first named
                text = _license_text(by_id.get(target))
                if text and text not in entry.licenses:
                    entry.licenses = (*entry.licenses, text)
        elif kind in _USES or kind in _DEV_USES:
            scope = element.scope
            development = kind in _DEV_USES or (isinstance(scope, str) and scope in _DEV_LIFECYCLES)
            _add_edges(graph, parent, targets, development=development)
    return spec_version, packages, graph


def _read_plain(elements: list[Spdx3PlainElement], source: str) -> _Read:
    """:func:`_read` of elements whose properties have their schema's types (``str | None``, ``list[str] |
    None``): the same steps, no check of a type, each property read once and a kind told in one lookup."""
    by_id: dict[str, Spdx3Element] = {}
    spec_version = "3.0"
    packages: dict[str, Entry] = {}
    graph = Graph(edge_scopes=True)
    roots = graph.roots
    doc_ids: set[str] = set()
    relationships: list[Spdx3PlainElement] = []
    kind_of = _KINDS.get
    for element in elements:
        element_id = element.spdx_id or element.at_id
        if element_id:
            by_id[element_id] = element
        kind = kind_of(element.type or element.at_type)  # type: ignore[arg-type]  # a None is no key
        if kind is None:  # a licence, a tool, a file...: read only if a relationship names it
            continue
        if kind == _RELATIONSHIP:
            relationships.append(element)
        elif kind == _PACKAGE:
            package_name, purl = element.name, element.package_url
            if isinstance(element.external_identifier, list):  # purls to choose from
                purl = _purl(element)
            elif purl is not None and not purl.strip():  # _purl of one candidate, inlined
                purl = None
            if package_name is None and not purl:
                raise MalformedDocument(source, f"package {element_id!r} has neither a name nor a purl")
            # positional: cheaper than keywords
            packages[element_id or f"#{len(packages)}"] = Entry(
                element_id, package_name or "", None, element.package_version, purl
            )
        elif kind == _DOCUMENT:
            if element_id:
                doc_ids.add(element_id)
            if element.root_element:
                roots += element.root_element
        elif element.spec_version is not None:  # CreationInfo
            spec_version = element.spec_version
    edges, development, relation_of = graph.edges, graph.development, _RELATIONS.get
    for element in relationships:
        parent, relation_type, targets = element.source, element.relationship_type, element.to or []
        if parent is None or relation_type is None:
            raise MalformedDocument(source, f"relationship {_id(element)!r} needs from, relationshipType and to")
        relation = relation_of(relation_type)
        if relation == _LICENSE:
            entry = packages.get(parent)
            if entry is not None:
                for target in targets:  # each licence once, in the order first named
                    text = _license_text(by_id.get(target))
                    if text and text not in entry.licenses:
                        entry.licenses = (*entry.licenses, text)
        elif relation in (_USE, _DEV_USE):
            if targets:  # the decoded list itself: the document is this parse's own, and read once
                kids = edges.get(parent)
                if kids is None:
                    edges[parent] = targets
                else:
                    kids += targets
                if relation == _DEV_USE or element.scope in _DEV_LIFECYCLES:
                    for child in targets:  # mostly one: a plain loop, cheaper than a generator or zip(repeat())
                        development.add((parent, child))
        elif relation == _DESCRIBES and parent in doc_ids:
            roots += targets
    return spec_version, packages, graph


class Spdx3Parser:
    format = SbomFormat.SPDX3_JSON_LD

    def parse(self, document: JsonSbom | Spdx3Document, *, source: str) -> ParsedDocument:
        """A plain document's elements are read without checks (:func:`_read_plain`), any other's with them."""
        if isinstance(document, Spdx3Document):
            spec_version, packages, graph = _read_plain(document.graph, source)
        elif document.graph is None:
            raise MalformedDocument(source, "@graph must be a list, not NoneType")
        else:
            spec_version, packages, graph = _read(decode_spdx3_graph(document.graph, source=source), source)
        graph.roots = list(dict.fromkeys(graph.roots))
        graph.packages = packages.keys()  # any other node (a file, a snippet) is passed through
        return assemble(
            sbom_format=self.format,
            spec_version=spec_version,
            entries=list(packages.values()),
            graph=graph,
            warnings=Warnings(),
        )
