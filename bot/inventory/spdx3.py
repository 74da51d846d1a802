"""SPDX 3.0 JSON-LD: a flat ``@graph`` of typed elements.

Packages are ``software_Package`` elements (purl in ``software_packageUrl`` or an ``externalIdentifier``
of type ``packageUrl``); relationships are elements with ``from``, ``relationshipType`` (lowerCamelCase)
and a ``to`` list. ``LifecycleScopedRelationship`` adds a ``scope``: development, test and build use
count as development. Licences hang off packages through ``hasDeclaredLicense``/``hasConcludedLicense``.
"""

from __future__ import annotations

from typing import Any

from bot.inventory.assemble import Graph, Warnings, assemble
from bot.inventory.interface import Entry, MalformedDocument
from bot.inventory.json_model import JsonSbom, decode_raw
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


def _id(element: dict[str, Any]) -> str | None:
    value = element.get("spdxId") or element.get("@id")
    return value if isinstance(value, str) else None


def _purl(element: dict[str, Any]) -> str | None:
    """The package's purl; of several (``software_packageUrl`` and identifiers), the valid one."""
    purl = element.get("software_packageUrl")
    found = [purl] if isinstance(purl, str) else []
    for identifier in element.get("externalIdentifier") or ():
        if isinstance(identifier, dict) and identifier.get("externalIdentifierType") == "packageUrl":
            value = identifier.get("identifier")
            if isinstance(value, str):
                found.append(value)
    return best_purl(found)


def _license_text(element: dict[str, Any] | None) -> str | None:
    if element is None:
        return None
    for key in ("simplelicensing_licenseExpression", "expandedlicensing_licenseId", "name"):
        value = element.get(key)
        if isinstance(value, str) and value.strip() not in _NO_LICENSE:
            return value.strip()
    return None


class Spdx3Parser:
    format = SbomFormat.SPDX3_JSON_LD

    def parse(self, document: JsonSbom, *, source: str) -> ParsedDocument:
        """JSON-LD elements vary too much for fixed shapes: ``@graph`` is decoded into plain values here."""
        elements = decode_raw(document.graph, source=source, where="@graph") if document.graph is not None else None
        if not isinstance(elements, list):
            raise MalformedDocument(source, f"@graph must be a list, not {type(elements).__name__}")
        by_id: dict[str, dict[str, Any]] = {}
        for index, element in enumerate(elements):
            if not isinstance(element, dict):
                raise MalformedDocument(source, f"@graph[{index}] must be an object, not {type(element).__name__}")
            element_id = _id(element)
            if element_id:
                by_id[element_id] = element
        spec_version = "3.0"
        packages: dict[str, Entry] = {}
        graph = Graph(edge_scopes=True)
        doc_ids: set[str] = set()
        for element in elements:
            kind = element.get("type") or element.get("@type")
            if kind == "CreationInfo" and isinstance(element.get("specVersion"), str):
                spec_version = element["specVersion"]
            elif kind in _DOCUMENT_TYPES:
                element_id = _id(element)
                if element_id:
                    doc_ids.add(element_id)
                roots = element.get("rootElement") or []
                graph.roots.extend(r for r in roots if isinstance(r, str))
            elif kind in _PACKAGE_TYPES:
                element_id = _id(element)
                package_name, purl = element.get("name"), _purl(element)
                if not isinstance(package_name, str) and not purl:
                    raise MalformedDocument(source, f"package {element_id!r} has neither a name nor a purl")
                version = element.get("software_packageVersion")
                packages[element_id or f"#{len(packages)}"] = Entry(
                    ref=element_id,
                    name=package_name if isinstance(package_name, str) else "",
                    version=version if isinstance(version, str) else None,
                    purl=purl,
                )
        for element in elements:
            if (element.get("type") or element.get("@type")) not in _RELATIONSHIP_TYPES:
                continue
            parent, kind, targets = element.get("from"), element.get("relationshipType"), element.get("to") or []
            if not isinstance(parent, str) or not isinstance(kind, str) or not isinstance(targets, list):
                raise MalformedDocument(source, f"relationship {_id(element)!r} needs from, relationshipType and to")
            if kind == "describes" and parent in doc_ids:
                graph.roots.extend(t for t in targets if isinstance(t, str))
            elif kind in _LICENSES and parent in packages:
                entry = packages[parent]
                found = [_license_text(by_id.get(t)) for t in targets if isinstance(t, str)]
                entry.licenses = tuple(dict.fromkeys([*entry.licenses, *(f for f in found if f)]))
            elif kind in _USES or kind in _DEV_USES:
                development = kind in _DEV_USES or element.get("scope") in _DEV_LIFECYCLES
                for target in targets:
                    if isinstance(target, str):
                        graph.add(parent, target, development=development)
        graph.roots = list(dict.fromkeys(graph.roots))
        graph.packages = packages.keys()  # any other node (a file, a snippet) is passed through
        return assemble(
            sbom_format=self.format,
            spec_version=spec_version,
            entries=list(packages.values()),
            graph=graph,
            warnings=Warnings(),
        )
