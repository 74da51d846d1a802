"""CycloneDX 1.2–1.7, JSON and XML.

Nested ``components`` are an assembly hierarchy, not dependencies ("This is not a dependency tree",
bom-1.6 schema): they are flattened, and edges come only from ``dependencies``. The root is
``metadata.component``; its ``dependsOn`` are the direct dependencies. Trivy inserts purl-less
operating-system and lock-file components between the root and the packages; those are passed
through so that a lock file's packages count as direct. A lock file or binary trivy scanned (its
``aquasecurity:trivy:Class`` is ``lang-pkgs``) is a file of the product, not a package it uses: it is
no component, and a warning names it. The operating system trivy found (``os-pkgs``) stays a component.
"""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import unquote
from xml.etree.ElementTree import Element

from bot.inventory.assemble import Graph, Warnings, assemble
from bot.inventory.interface import Entry, MalformedDocument
from bot.inventory.json_model import (
    CdxComponent,
    CdxDependency,
    CdxExternalReference,
    CdxLicenseChoice,
    JsonSbom,
)
from bot.records import ParsedDocument, SbomFormat, Scope

KNOWN_VERSIONS = ("1.2", "1.3", "1.4", "1.5", "1.6", "1.7")
_KNOWN_VERSIONS = frozenset(KNOWN_VERSIONS)
_GROUPER_TYPES = frozenset({"application", "operating-system", "container", "platform"})
_DEV_PROPERTY = "cdx:npm:package:development"
_DEV_PROPERTIES = frozenset({_DEV_PROPERTY})
_RUNTIME, _DEVELOPMENT = Scope.RUNTIME, Scope.DEVELOPMENT
_ECOSYSTEM_PROPERTY = "aquasecurity:trivy:PkgType"
_CLASS_PROPERTY, _SCAN_TARGET_CLASS = "aquasecurity:trivy:Class", "lang-pkgs"
SCAN_TARGETS = "scan targets left out (trivy's lock files and binaries are files of the product, not packages)"
_NS = re.compile(r"\{http://cyclonedx\.org/schema/bom/(\d+\.\d+)\}bom")


def _scope(scope: object, development: bool) -> Scope:
    """``excluded`` is CycloneDX's only non-runtime scope; ``optional`` still ships. The default is ``required``."""
    if development or scope == "excluded":
        return Scope.DEVELOPMENT
    return Scope.RUNTIME


def _check_version(spec_version: str, warnings: Warnings) -> None:
    if spec_version not in _KNOWN_VERSIONS:
        warnings.note(f"CycloneDX specVersion {spec_version!r} is outside 1.2–1.7; read as the newest known")


def _license_names(choices: list[CdxLicenseChoice]) -> tuple[str, ...]:
    """Licence ids, names and expressions in document order; a choice naming none of them is skipped."""
    found: list[str] = []
    for choice in choices:
        if choice.expression is not None:
            found.append(choice.expression)
        elif choice.license is not None and (choice.license.id or choice.license.name):
            found.append(choice.license.id or choice.license.name or "")
    return tuple(found)


def _component_path(document: JsonSbom, wanted: CdxComponent) -> str:
    """Where a component sits (``components[3].components[0]``), for an error message: found by walking."""
    stack: list[tuple[list[CdxComponent], str]] = [(document.components or [], "components")]
    while stack:
        items, prefix = stack.pop()
        for index, component in enumerate(items):
            if component is wanted:
                return f"{prefix}[{index}]"
            if component.components:
                stack.append((component.components, f"{prefix}[{index}].components"))
    return "metadata.component"


@lru_cache(maxsize=4096)
def _one_licence(name: str) -> tuple[str, ...]:
    """The common single licence as one shared tuple, not 50,000 equal ones."""
    return (name,)


def _vcs_urls(references: list[CdxExternalReference]) -> list[str]:
    """The subject's VCS URLs, in document order."""
    return [r.url for r in references if r.type == "vcs" and r.url]


def _subject_entry(root: CdxComponent) -> Entry:
    """The document's own component as an entry: only what the subject record reads (ref, names, purl).

    Its licences, properties and scope are never read (the subject is no usage), and a trivy root carries a
    dozen properties that the component loop would walk.
    """
    return Entry(root.bom_ref, root.name or "", root.group, root.version, root.purl)


def _is_scan_target(component: CdxComponent) -> bool:
    """Whether a (purl-less grouper) component is a lock file or binary trivy scanned, not a package."""
    for prop in component.properties or ():  # noqa: SIM110 - a generator in any() costs a small document more
        if prop.name == _CLASS_PROPERTY and prop.value == _SCAN_TARGET_CLASS:
            return True
    return False


def _check_named(document: JsonSbom, components: list[CdxComponent], *, source: str) -> None:
    """Raise for the first component with neither a name nor a purl, saying where it sits."""
    for component in components:
        if not component.name and not component.purl:
            raise MalformedDocument(source, f"{_component_path(document, component)} has neither a name nor a purl")


def _edges(dependencies: list[CdxDependency] | None) -> dict[str, list[str]]:
    """``dependencies`` as edges by parent ref; a ref listed twice has its children merged."""
    edges: dict[str, list[str]] = {}
    for dependency in dependencies or ():
        depends_on = dependency.depends_on
        if depends_on:
            existing = edges.get(dependency.ref)
            edges[dependency.ref] = depends_on if existing is None else existing + depends_on
    return edges


class CycloneDxJsonParser:
    format = SbomFormat.CYCLONEDX_JSON

    def parse(self, document: JsonSbom, *, source: str) -> ParsedDocument:
        warnings = Warnings()
        spec_version = document.spec_version
        if spec_version is None:
            raise MalformedDocument(source, "specVersion is missing")
        if spec_version not in _KNOWN_VERSIONS:
            _check_version(spec_version, warnings)
        root = document.metadata.component if document.metadata else None
        root_ref = root.bom_ref if root is not None else None
        entries: list[Entry] = []
        containers: dict[str, str] = {}
        scan_targets: list[str] = []
        transparent: set[str] = set()  # grouping nodes and scan targets: they pass their children through
        # (components, their container's ref): the top level, and the root's own parts (metadata.component.components)
        stack: list[tuple[list[CdxComponent], str | None]] = [(document.components or [], None)]
        if root is not None and root.components:
            root_ref = root_ref or ""
            stack.append((root.components, root_ref))
        while stack:
            items, container = stack.pop()
            # Each component becomes an entry here, inline: this runs once per component (50,000 in a large
            # document), and a call per component cost a small document more than its entry's fields.
            # Types were checked while decoding.
            for component in items:
                purl, ref = component.purl, component.bom_ref
                if not purl and not component.name:
                    _check_named(document, [component], source=source)
                licenses = component.licenses
                if not licenses:
                    names: tuple[str, ...] = ()
                elif len(licenses) == 1 and (only := licenses[0].license) is not None and only.id:
                    names = _one_licence(only.id)
                else:
                    names = _license_names(licenses)
                hint, development = None, False
                properties = component.properties
                if properties:
                    # the two properties read, in one pass; of repeated ones the last counts, as in a dict of them
                    for prop in properties:
                        name = prop.name
                        if name == _ECOSYSTEM_PROPERTY:
                            hint = prop.value or None
                        elif name == _DEV_PROPERTY:
                            development = prop.value == "true"
                # a purl-less operating system, container or application (the schema types ``type`` a string)
                grouper = not purl and isinstance(component.type, str) and component.type in _GROUPER_TYPES
                if grouper and _is_scan_target(component):
                    warnings.add(SCAN_TARGETS, component.name or "")
                    if ref:
                        scan_targets.append(ref)
                        transparent.add(ref)
                else:
                    # the product's own module passes through too: its dependencies are the product's
                    if (grouper or (container is not None and container == root_ref)) and ref is not None:
                        transparent.add(ref)
                    scope = _DEVELOPMENT if development or component.scope == "excluded" else _RUNTIME
                    entries.append(
                        Entry(ref, component.name or "", component.group, component.version, purl, names, hint, scope)
                    )
                    if container is not None and ref:
                        containers[ref] = container
                if component.components:
                    stack.append((component.components, ref))
        graph = Graph(edges=_edges(document.dependencies), containers=containers)
        graph.scan_targets, graph.transparent = scan_targets, transparent
        subject: Entry | None = None
        vcs: dict[str, str] = {}
        if root is not None:
            if root.bom_ref:
                graph.roots.append(root.bom_ref)
            subject = _subject_entry(root)
            urls = _vcs_urls(root.external_references) if root.external_references else []
            if root.purl and "vcs_url=" in root.purl:
                urls.insert(0, unquote(root.purl.split("vcs_url=", 1)[1].split("&", 1)[0].split("#", 1)[0]))
            if urls:
                vcs[subject.ref or ""] = urls[0]
        return assemble(
            sbom_format=self.format,
            spec_version=spec_version,
            entries=entries,
            graph=graph,
            warnings=warnings,
            subject=subject,
            subject_vcs=vcs,
            subject_where="metadata.component",
        )


def _is_xml_scan_target(component: Element, ns: str) -> bool:
    """:func:`_is_scan_target` of an XML component."""
    return any(
        p.get("name") == _CLASS_PROPERTY and (p.text or "").strip() == _SCAN_TARGET_CLASS
        for p in component.findall(f"{ns}properties/{ns}property")
    )


def _text(element: Element, tag: str) -> str | None:
    child = element.find(tag)
    if child is None or child.text is None:
        return None
    return child.text.strip() or None


class CycloneDxXmlParser:
    format = SbomFormat.CYCLONEDX_XML

    def parse(self, document: Element, *, source: str) -> ParsedDocument:
        match = _NS.fullmatch(document.tag)
        if match is None:
            raise MalformedDocument(source, f"root element {document.tag!r} is not a CycloneDX <bom>")
        spec_version = match.group(1)
        ns = "{http://cyclonedx.org/schema/bom/" + spec_version + "}"
        warnings = Warnings()
        _check_version(spec_version, warnings)
        entries: list[Entry] = []
        scan_targets: list[str] = []
        transparent: set[str] = set()
        root = document.find(f"{ns}metadata/{ns}component")
        contained: dict[str, str] = {}
        pending: list[tuple[Element, str | None]] = [
            (c, None) for c in [document.find(f"{ns}components")] if c is not None
        ]
        root_ref = (root.get("bom-ref") or "") if root is not None else None
        if root is not None and (parts := root.find(f"{ns}components")) is not None:
            pending.append((parts, root_ref))
        while pending:
            container, container_ref = pending.pop()
            for component in container.findall(f"{ns}component"):
                entry = self._entry(component, ns, source)
                ref = component.get("bom-ref")
                grouper = not entry.purl and component.get("type") in _GROUPER_TYPES
                if grouper and _is_xml_scan_target(component, ns):
                    warnings.add(SCAN_TARGETS, entry.name)
                    if ref:
                        scan_targets.append(ref)
                        transparent.add(ref)
                else:
                    # the product's own module passes through too: its dependencies are the product's
                    if (grouper or (container_ref is not None and container_ref == root_ref)) and ref is not None:
                        transparent.add(ref)
                    entries.append(entry)
                    if container_ref is not None and ref:
                        contained[ref] = container_ref
                nested = component.find(f"{ns}components")
                if nested is not None:
                    pending.append((nested, ref))
        graph = Graph(containers=contained)
        graph.scan_targets, graph.transparent = scan_targets, transparent
        dependencies = document.find(f"{ns}dependencies")
        for dependency in dependencies.findall(f"{ns}dependency") if dependencies is not None else ():
            ref = dependency.get("ref")
            if not ref:
                raise MalformedDocument(source, "a <dependency> has no ref attribute")
            for child in dependency.findall(f"{ns}dependency"):
                child_ref = child.get("ref")
                if child_ref:
                    graph.add(ref, child_ref)
        subject: Entry | None = None
        vcs: dict[str, str] = {}
        if root is not None:
            if root.get("bom-ref"):
                graph.roots.append(root.get("bom-ref", ""))
            urls = [
                url.text.strip()
                for reference in root.findall(f"{ns}externalReferences/{ns}reference")
                if reference.get("type") == "vcs"
                for url in [reference.find(f"{ns}url")]
                if url is not None and url.text
            ]
            subject = Entry(
                ref=root.get("bom-ref") or "",
                name=_text(root, f"{ns}name") or "",
                group=_text(root, f"{ns}group"),
                version=_text(root, f"{ns}version"),
                purl=_text(root, f"{ns}purl"),
            )
            if urls:
                vcs[subject.ref or ""] = urls[0]
        return assemble(
            sbom_format=self.format,
            spec_version=spec_version,
            entries=entries,
            graph=graph,
            warnings=warnings,
            subject=subject,
            subject_vcs=vcs,
            subject_where="metadata.component",
        )

    @staticmethod
    def _entry(component: Element, ns: str, source: str) -> Entry:
        name = _text(component, f"{ns}name")
        purl = _text(component, f"{ns}purl")
        if not name and not purl:
            raise MalformedDocument(source, f"<component bom-ref={component.get('bom-ref')!r}> has no name or purl")
        licenses: list[str] = []
        for choice in component.findall(f"{ns}licenses/*"):
            if choice.tag == f"{ns}expression" and choice.text:
                licenses.append(choice.text.strip())
            elif choice.tag == f"{ns}license":
                value = _text(choice, f"{ns}id") or _text(choice, f"{ns}name")
                if value:
                    licenses.append(value)
        properties = {
            p.get("name", ""): (p.text or "").strip() for p in component.findall(f"{ns}properties/{ns}property")
        }
        development = any(properties.get(key) == "true" for key in _DEV_PROPERTIES)
        return Entry(
            ref=component.get("bom-ref"),
            name=name or "",
            group=_text(component, f"{ns}group"),
            version=_text(component, f"{ns}version"),
            purl=purl,
            licenses=tuple(licenses),
            ecosystem_hint=properties.get(_ECOSYSTEM_PROPERTY) or None,
            scope=_scope(_text(component, f"{ns}scope"), development),
        )
