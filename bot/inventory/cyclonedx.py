"""CycloneDX 1.2–1.7, JSON and XML.

Nested ``components`` are an assembly hierarchy, not dependencies ("This is not a dependency tree",
bom-1.6 schema): they are flattened, and edges come only from ``dependencies``. The root is
``metadata.component``; its ``dependsOn`` are the direct dependencies. Trivy inserts purl-less
operating-system and lock-file components between the root and the packages; those are passed
through so that a lock file's packages count as direct.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote
from xml.etree.ElementTree import Element

from bot.inventory.assemble import Graph, Warnings, assemble
from bot.inventory.interface import Entry, MalformedDocument
from bot.records import ParsedDocument, SbomFormat, Scope

KNOWN_VERSIONS = ("1.2", "1.3", "1.4", "1.5", "1.6", "1.7")
_GROUPER_TYPES = frozenset({"application", "operating-system", "container", "platform"})
_DEV_PROPERTIES = frozenset({"cdx:npm:package:development"})
_ECOSYSTEM_PROPERTY = "aquasecurity:trivy:PkgType"
_FORGE_URL = re.compile(
    r"(?:github\.com|gitlab\.com|bitbucket\.org)[/:]([\w.-]+)/([\w.-]+?)(?:\.git)?(?:[/#?]|$)", re.I
)
_STR_OR_NONE = frozenset({str, type(None)})
_ONLY_STR = frozenset({str})
_NS = re.compile(r"\{http://cyclonedx\.org/schema/bom/(\d+\.\d+)\}bom")


def _scope(scope: object, development: bool) -> Scope:
    """``excluded`` is CycloneDX's only non-runtime scope; ``optional`` still ships. The default is ``required``."""
    if development or scope == "excluded":
        return Scope.DEVELOPMENT
    return Scope.RUNTIME


def _check_version(spec_version: str, warnings: Warnings) -> None:
    if spec_version not in KNOWN_VERSIONS:
        warnings.note(f"CycloneDX specVersion {spec_version!r} is outside 1.2–1.7; read as the newest known")


def _forge_repo(url: str) -> str | None:
    match = _FORGE_URL.search(url)
    return f"{match.group(1)}/{match.group(2)}".lower() if match else None


def _repo_hint(purl: str | None, vcs_urls: list[str], group: str | None, name: str | None) -> tuple[str | None, str]:
    """The repository a BOM belongs to, from its root component: a GitHub purl, a VCS link, else its name."""
    if purl and purl.lower().startswith("pkg:github/"):
        parts = purl.split("@", 1)[0].split("?", 1)[0].split("/")
        if len(parts) >= 3 and parts[1] and parts[2]:
            return f"{parts[1]}/{parts[2]}".lower(), "metadata.component purl"
    for url in vcs_urls:
        repo = _forge_repo(url)
        if repo:
            return repo, "metadata.component vcs"
    if name and name.strip():
        full = f"{group.strip()}/{name.strip()}" if group and group.strip() else name.strip()
        return full.lower(), "metadata.component name"
    return None, "metadata.component"


def _json_licenses(raw: object, prefix: str, index: int, source: str) -> tuple[str, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise MalformedDocument(source, f"{prefix}[{index}].licenses must be a list, not {type(raw).__name__}")
    found: list[str] = []
    for choice in raw:
        if not isinstance(choice, dict):
            raise MalformedDocument(
                source, f"{prefix}[{index}].licenses must hold objects, not {type(choice).__name__}"
            )
        expression = choice.get("expression")
        if isinstance(expression, str):
            found.append(expression)
            continue
        license_ = choice.get("license")
        if isinstance(license_, dict):
            value = license_.get("id") or license_.get("name")
            if isinstance(value, str) and value:
                found.append(value)
    return tuple(found)


def _string(component: dict[str, Any], field: str, where: str, source: str) -> str | None:
    value = component.get(field)
    if value is None or isinstance(value, str):
        return value
    raise MalformedDocument(source, f"{where}.{field} must be a string, not {type(value).__name__}")


def _properties(raw: object) -> dict[str, str]:
    if not isinstance(raw, list):
        return {}
    return {p["name"]: str(p.get("value", "")) for p in raw if isinstance(p, dict) and isinstance(p.get("name"), str)}


class CycloneDxJsonParser:
    format = SbomFormat.CYCLONEDX_JSON

    def parse(self, document: dict[str, Any], *, source: str) -> ParsedDocument:
        warnings = Warnings()
        spec_version = document.get("specVersion")
        if not isinstance(spec_version, str):
            raise MalformedDocument(source, f"specVersion must be a string, not {type(spec_version).__name__}")
        _check_version(spec_version, warnings)
        top = document.get("components") or []
        if not isinstance(top, list):
            raise MalformedDocument(source, f"components must be a list, not {type(top).__name__}")
        entries: list[Entry] = []
        entry_of = self._entry
        stack: list[tuple[list[Any], str]] = [(top, "components")]
        while stack:
            items, prefix = stack.pop()
            for index, component in enumerate(items):
                if not isinstance(component, dict):
                    raise MalformedDocument(
                        source, f"{prefix}[{index}] must be an object, not {type(component).__name__}"
                    )
                entries.append(entry_of(component, prefix, index, source))
                nested = component.get("components")
                if nested:
                    if not isinstance(nested, list):
                        raise MalformedDocument(source, f"{prefix}[{index}].components must be a list")
                    stack.append((nested, f"{prefix}[{index}].components"))
        graph = Graph()
        dependencies = document.get("dependencies")
        if dependencies is not None and not isinstance(dependencies, list):
            raise MalformedDocument(source, f"dependencies must be a list, not {type(dependencies).__name__}")
        edges = graph.edges
        for index, dependency in enumerate(dependencies or ()):
            ref = dependency.get("ref") if type(dependency) is dict else None
            depends_on = (dependency.get("dependsOn") or []) if type(dependency) is dict else None
            if type(ref) is not str or type(depends_on) is not list:
                raise MalformedDocument(source, f"dependencies[{index}] must have a string ref and a dependsOn list")
            if not depends_on:
                continue
            if not set(map(type, depends_on)) <= _ONLY_STR:
                raise MalformedDocument(source, f"dependencies[{index}].dependsOn must hold strings")
            existing = edges.get(ref)
            edges[ref] = depends_on if existing is None else existing + depends_on
        metadata = document.get("metadata")
        root = metadata.get("component") if isinstance(metadata, dict) else None
        hint: tuple[str | None, str] = (None, "")
        if isinstance(root, dict):
            ref = root.get("bom-ref")
            if isinstance(ref, str):
                graph.roots.append(ref)
            purl = root.get("purl") if isinstance(root.get("purl"), str) else None
            vcs = [
                r["url"]
                for r in root.get("externalReferences") or ()
                if isinstance(r, dict) and r.get("type") == "vcs" and isinstance(r.get("url"), str)
            ]
            if purl and "vcs_url=" in purl:
                vcs.insert(0, unquote(purl.split("vcs_url=", 1)[1].split("&", 1)[0].split("#", 1)[0]))
            group, name = root.get("group"), root.get("name")
            hint = _repo_hint(
                purl, vcs, group if isinstance(group, str) else None, name if isinstance(name, str) else None
            )
        return assemble(
            sbom_format=self.format,
            spec_version=spec_version,
            entries=entries,
            graph=graph,
            repo_hint=hint[0],
            repo_hint_source=hint[1],
            warnings=warnings,
        )

    @staticmethod
    def _entry(component: dict[str, Any], prefix: str, index: int, source: str) -> Entry:
        """One component; ``prefix[index]`` names it in errors (formatted only when there is one)."""
        get = component.get
        name, purl, group, version = get("name"), get("purl"), get("group"), get("version")
        if (
            type(name) not in _STR_OR_NONE
            or type(purl) not in _STR_OR_NONE
            or type(group) not in _STR_OR_NONE
            or type(version) not in _STR_OR_NONE
        ):
            for field in ("name", "purl", "group", "version"):
                _string(component, field, f"{prefix}[{index}]", source)
        if not name and not purl:
            raise MalformedDocument(source, f"{prefix}[{index}] has neither a name nor a purl")
        ref = get("bom-ref")
        licenses = get("licenses")
        hint, development = None, False
        if "properties" in component:
            properties = _properties(get("properties"))
            development = any(properties.get(key) == "true" for key in _DEV_PROPERTIES)
            hint = properties.get(_ECOSYSTEM_PROPERTY) or None
        return Entry(
            ref if type(ref) is str else None,
            name or "",
            group,
            version,
            purl,
            _json_licenses(licenses, prefix, index, source) if licenses else (),
            hint,
            Scope.DEVELOPMENT if development or get("scope") == "excluded" else Scope.RUNTIME,
            not purl and get("type") in _GROUPER_TYPES,
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
        containers = [c for c in [document.find(f"{ns}components")] if c is not None]
        while containers:
            container = containers.pop()
            for component in container.findall(f"{ns}component"):
                entries.append(self._entry(component, ns, source))
                nested = component.find(f"{ns}components")
                if nested is not None:
                    containers.append(nested)
        graph = Graph()
        dependencies = document.find(f"{ns}dependencies")
        for dependency in dependencies.findall(f"{ns}dependency") if dependencies is not None else ():
            ref = dependency.get("ref")
            if not ref:
                raise MalformedDocument(source, "a <dependency> has no ref attribute")
            for child in dependency.findall(f"{ns}dependency"):
                child_ref = child.get("ref")
                if child_ref:
                    graph.add(ref, child_ref)
        root = document.find(f"{ns}metadata/{ns}component")
        hint: tuple[str | None, str] = (None, "")
        if root is not None:
            if root.get("bom-ref"):
                graph.roots.append(root.get("bom-ref", ""))
            vcs = [
                url.text.strip()
                for reference in root.findall(f"{ns}externalReferences/{ns}reference")
                if reference.get("type") == "vcs"
                for url in [reference.find(f"{ns}url")]
                if url is not None and url.text
            ]
            hint = _repo_hint(_text(root, f"{ns}purl"), vcs, _text(root, f"{ns}group"), _text(root, f"{ns}name"))
        return assemble(
            sbom_format=self.format,
            spec_version=spec_version,
            entries=entries,
            graph=graph,
            repo_hint=hint[0],
            repo_hint_source=hint[1],
            warnings=warnings,
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
            grouper=not purl and component.get("type") in _GROUPER_TYPES,
        )
