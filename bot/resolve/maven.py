"""Maven Central: the POM's ``<scm>`` (url, connection, developerConnection), following ``<parent>``.

A POM without ``<scm>`` inherits it from its parent, and Maven appends the child's artifactId to an
inherited ``<scm><url>``; the URL is cut to the repository root by ``repo_url`` anyway, so the
appended segment never reaches the upstream key. Parents are fetched once per run (shared) and the
walk stops at a cycle or after :data:`MAX_PARENTS`. The project ``<url>`` counts only when it is a
forge repository. Without a version, ``maven-metadata.xml`` gives the release.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from xml.etree.ElementTree import Element

from defusedxml import ElementTree
from defusedxml.common import DefusedXmlException

from bot.resolve.fetch import Fetcher, unresolved_for
from bot.resolve.interface import BAD_DOCUMENT, REGISTRY_404, Outcome, PackageRef, Resolution, Unresolved
from bot.resolve.repo_url import Candidate, choose_repository

MAX_PARENTS = 8
_PROPERTY = re.compile(r"\$\{([^}]+)\}")


@dataclass
class Pom:
    """The few POM fields resolution needs."""

    group_id: str | None
    artifact_id: str | None
    version: str | None
    scm: list[tuple[str, str]]  # (field, value) in preference order
    url: str | None
    parent: tuple[str, str, str] | None
    properties: dict[str, str] = field(default_factory=dict)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def xml_child(element: Element | None, name: str) -> Element | None:
    if element is None:
        return None
    for child in element:
        if isinstance(child.tag, str) and _local(child.tag) == name:
            return child
    return None


def xml_text(element: Element | None, name: str) -> str | None:
    child = xml_child(element, name)
    text = child.text.strip() if child is not None and child.text else None
    return text or None


def parse_pom(xml: bytes) -> Pom:
    """Read a POM (any namespace); ``ValueError`` when it is not XML."""
    try:
        root = ElementTree.fromstring(xml)
    except (ElementTree.ParseError, DefusedXmlException) as exc:
        raise ValueError(f"not a POM: {exc}") from exc
    parent_el = xml_child(root, "parent")
    parent = None
    if parent_el is not None:
        group, artifact, version = (xml_text(parent_el, k) for k in ("groupId", "artifactId", "version"))
        if group and artifact and version:
            parent = (group, artifact, version)
    scm_el = xml_child(root, "scm")
    scm = [(f"scm.{k}", v) for k in ("url", "connection", "developerConnection") if (v := xml_text(scm_el, k))]
    properties_el = xml_child(root, "properties")
    properties = {}
    if properties_el is not None:
        for prop in properties_el:
            if isinstance(prop.tag, str) and prop.text:
                properties[_local(prop.tag)] = prop.text.strip()
    group_id = xml_text(root, "groupId") or (parent[0] if parent else None)
    version = xml_text(root, "version") or (parent[2] if parent else None)
    return Pom(group_id, xml_text(root, "artifactId"), version, scm, xml_text(root, "url"), parent, properties)


def interpolate(text: str, values: dict[str, str]) -> str:
    """Replace ``${project.artifactId}``-style properties that are known; leave the others."""
    return _PROPERTY.sub(lambda m: values.get(m.group(1), m.group(0)), text)


def pom_path(group: str, artifact: str, version: str) -> str:
    return f"{group.replace('.', '/')}/{artifact}/{version}/{artifact}-{version}.pom"


class MavenResolver:
    ecosystem = "maven"

    def __init__(self, base_url: str, forges: frozenset[str]) -> None:
        self.base_url = base_url.rstrip("/")
        self.forges = forges

    async def latest_version(self, group: str, artifact: str, client: Fetcher) -> str | Unresolved:
        result = await client.get(f"{self.base_url}/{group.replace('.', '/')}/{artifact}/maven-metadata.xml")
        if not result.ok:
            return unresolved_for(result)
        try:
            root = ElementTree.fromstring(result.body)
        except (ElementTree.ParseError, DefusedXmlException) as exc:
            return Unresolved(f"{BAD_DOCUMENT}: {result.url}: {exc}", source_url=result.url)
        versioning = xml_child(root, "versioning")
        version = xml_text(versioning, "release") or xml_text(versioning, "latest")
        if version is None:
            versions = xml_child(versioning, "versions")
            listed = [v.text.strip() for v in (versions if versions is not None else []) if v.text]
            version = listed[-1] if listed else None
        return version or Unresolved(f"{REGISTRY_404}: no version of {group}:{artifact}", source_url=result.url)

    async def resolve(self, package: PackageRef, client: Fetcher) -> Outcome:
        if not package.namespace:
            return Unresolved(f"{BAD_DOCUMENT}: maven package {package.name} has no groupId")
        group, artifact = package.namespace, package.name
        version = package.version or await self.latest_version(group, artifact, client)
        if isinstance(version, Unresolved):
            return version
        chain: list[tuple[str, Pom]] = []
        seen: set[tuple[str, str, str]] = set()
        coordinates: tuple[str, str, str] | None = (group, artifact, version)
        while coordinates is not None and coordinates not in seen and len(chain) <= MAX_PARENTS:
            seen.add(coordinates)
            is_parent = bool(chain)
            result = await client.get(f"{self.base_url}/{pom_path(*coordinates)}", share=is_parent)
            if not result.ok:
                if not chain:
                    return unresolved_for(result)
                break  # a missing parent ends the walk; what the child said still counts
            try:
                pom = parse_pom(result.body)
            except ValueError as exc:
                if not chain:
                    return Unresolved(f"{BAD_DOCUMENT}: {result.url}: {exc}", source_url=result.url)
                break
            chain.append((":".join(coordinates), pom))
            if pom.scm:
                break  # the nearest <scm> wins, as in Maven's inheritance
            coordinates = pom.parent
        return self._choose(chain, artifact)

    def _choose(self, chain: list[tuple[str, Pom]], artifact: str) -> Outcome:
        child = chain[0][1]
        values: dict[str, str] = {}
        for _, pom in reversed(chain):  # the child's properties win
            values.update(pom.properties)
        values.update(
            {
                "project.artifactId": artifact,
                "artifactId": artifact,
                "project.groupId": child.group_id or "",
                "project.version": child.version or "",
            }
        )
        candidates: list[Candidate] = []
        for index, (coordinates, pom) in enumerate(chain):
            where = "" if index == 0 else f" (parent {coordinates})"
            candidates.extend(Candidate(f"maven:{k}{where}", interpolate(v, values), True) for k, v in pom.scm)
        for index, (coordinates, pom) in enumerate(chain):
            where = "" if index == 0 else f" (parent {coordinates})"
            if pom.url:
                candidates.append(Candidate(f"maven:url{where}", interpolate(pom.url, values), False))
        outcome = choose_repository(candidates, forges=self.forges)
        if isinstance(outcome, Resolution) and " (parent " in outcome.provenance:
            # A directory in a parent's URL is the parent's, not this artifact's.
            outcome = replace(outcome, subdirectory=None)
        return outcome
