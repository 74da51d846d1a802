"""Every real SBOM in tests/data/sboms parses, with counts checked independently of the parser.

CycloneDX counts are recomputed here from the raw JSON/XML with the standard library and
packageurl-python; the small SPDX documents were counted by hand (each number has its reasoning).
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET  # trusted test data, parsed only to count
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from packageurl import PackageURL

from bot.inventory.detect import parse_bytes
from bot.records import Depth, ParsedDocument, SbomFormat, Scope

SBOMS = Path(__file__).parent / "data" / "sboms"
GROUPER_TYPES = {"application", "operating-system", "container", "platform"}


@dataclass(frozen=True)
class Expected:
    format: SbomFormat
    components: int
    unique_purls: int
    direct: int
    has_graph: bool = True


def canon(purl: str) -> str:
    """The identity the issue asks for: packageurl-python's canonical form, PEP 503 names for PyPI."""
    parsed = PackageURL.from_string(purl)
    if parsed.type == "pypi":
        name = re.sub(r"[-_.]+", "-", parsed.name).lower()
        parsed = PackageURL("pypi", parsed.namespace, name, parsed.version, parsed.qualifiers, parsed.subpath)
    return str(parsed.to_string())


def identity(purl: str | None, group: str | None, name: str | None, version: str | None) -> object:
    return canon(purl).lower() if purl else (group, name, version)


def is_scan_target(component: dict[str, Any]) -> bool:
    """A lock file or binary trivy scanned: a file of the product, not a package it uses (no component)."""
    properties = {p.get("name"): p.get("value") for p in component.get("properties", [])}
    return not component.get("purl") and properties.get("aquasecurity:trivy:Class") == "lang-pkgs"


def cyclonedx_json_expected(document: dict[str, Any]) -> Expected:
    flat: list[dict[str, Any]] = []
    # the product's own parts (metadata.component.components) are components too
    todo = list(document.get("components", [])) + list(document["metadata"]["component"].get("components", []))
    while todo:
        component = todo.pop()
        flat.append(component)
        todo.extend(component.get("components", []))
    by_ref = {c["bom-ref"]: c for c in flat if "bom-ref" in c}
    graph = {d["ref"]: d.get("dependsOn", []) for d in document.get("dependencies", [])}
    root = document["metadata"]["component"]["bom-ref"]
    direct: set[object] = set()
    if graph.get(root):
        tops = graph[root]
    else:  # the graph never names the root: whatever nothing depends on is direct (issue 15)
        targets = {child for kids in graph.values() for child in kids}
        tops = [ref for ref in by_ref if ref not in targets]
    for ref in tops:
        component = by_ref[ref]
        if not is_scan_target(component):
            purl, group, name, version = (component.get(k) for k in ("purl", "group", "name", "version"))
            direct.add(identity(purl, group, name, version))
        if not component.get("purl") and component.get("type") in GROUPER_TYPES:  # trivy's pass-through nodes
            for child in graph.get(ref, []):
                c = by_ref[child]
                direct.add(identity(c.get("purl"), c.get("group"), c["name"], c.get("version")))
    flat = [c for c in flat if not is_scan_target(c)]
    return Expected(
        SbomFormat.CYCLONEDX_JSON,
        components=len(flat),
        unique_purls=len({canon(c["purl"]).lower() for c in flat if c.get("purl")}),
        direct=len(direct),
    )


def cyclonedx_xml_expected(path: Path) -> Expected:
    root = ET.parse(path).getroot()  # noqa: S314
    ns = {"c": root.tag[1:].split("}")[0]}
    flat = root.findall(".//c:components//c:component", ns)
    flat = [c for c in flat if c not in root.findall("c:metadata//c:component", ns)]
    purls = {c.findtext("c:purl", namespaces=ns) for c in flat} - {None}
    by_ref = {c.get("bom-ref"): c for c in flat}
    root_ref = root.find("c:metadata/c:component", ns).get("bom-ref")  # type: ignore[union-attr]
    top = [d for d in root.findall("c:dependencies/c:dependency", ns) if d.get("ref") == root_ref]
    direct = {by_ref[d.get("ref")].findtext("c:purl", namespaces=ns) for d in top[0].findall("c:dependency", ns)}
    return Expected(SbomFormat.CYCLONEDX_XML, len(flat), len({canon(p) for p in purls if p}), len(direct))


def expected_for(name: str) -> Expected:
    path = SBOMS / name
    if name.endswith(".xml"):
        return cyclonedx_xml_expected(path)
    if name.startswith("cdx-"):
        return cyclonedx_json_expected(json.loads(path.read_bytes()))
    return HAND_COUNTED[name]


HAND_COUNTED = {
    # packages glibc, Apache Commons Lang, Jena, Saxon; glibc (SPDXRef-Package) is DESCRIBED, so it is the
    # subject, not a dependency: 3 components; only Jena has a purl; glibc DYNAMIC_LINK Saxon is the one direct edge.
    "spdx-2.3-canonical-example.spdx.json": Expected(SbomFormat.SPDX2_JSON, 3, 1, 1),
    "spdx-2.3-canonical-example.spdx": Expected(SbomFormat.SPDX2_TAG_VALUE, 3, 1, 1),
    # hello-server-src is described and DEPENDS_ON hyper, tokio and pretty_env_logger (cargo purls).
    "spdx-2.3-cargo_hello-server.spdx.json": Expected(SbomFormat.SPDX2_JSON, 3, 3, 3),
    # the same in SPDX 3: rootElement names the file and hello-server-src, which dependsOn the three crates.
    "spdx-3.0-cargo_hello-server.spdx3.json": Expected(SbomFormat.SPDX3_JSON_LD, 3, 3, 3),
    # 6 packages, SPDXRef-example is described; junit TEST_DEPENDENCY_OF example + 4 DYNAMIC_LINKs; no purls.
    "spdx-2.3-maven-no-purls_examplemaven-enriched.spdx.json": Expected(SbomFormat.SPDX2_JSON, 5, 0, 5),
    # syft: 4 packages (busybox, my-app twice with the same purl, original-my-app), no Relationship lines.
    "spdx-2.3-tag-value_syft.spdx": Expected(SbomFormat.SPDX2_TAG_VALUE, 4, 3, 0, has_graph=False),
    # rails plus the repository itself (described); the graph is flat (repository DEPENDS_ON everything),
    # so direct and transitive cannot be told apart: nothing is claimed direct.
    "github-dependency-graph-sbom_docs-example.json": Expected(SbomFormat.GITHUB_EXPORT, 1, 1, 0),
}

ALL = sorted(p.name for p in SBOMS.iterdir() if p.suffix in {".json", ".xml", ".spdx"})


def parse(name: str) -> ParsedDocument:
    return parse_bytes((SBOMS / name).read_bytes(), source=name)


def test_every_copied_document_is_covered() -> None:
    assert len(ALL) == 17
    assert set(HAND_COUNTED) <= set(ALL)


@pytest.mark.parametrize("name", ALL)
def test_counts_match_an_independent_count(name: str) -> None:
    expected = expected_for(name)
    parsed = parse(name)
    assert parsed.format == expected.format
    assert len(parsed.components) == expected.components
    assert len({c.key for c in parsed.components if c.purl}) == expected.unique_purls
    assert sum(1 for u in parsed.usages if u.depth == Depth.DIRECT) == expected.direct
    assert parsed.has_graph == expected.has_graph
    assert len(parsed.usages) == len({c.key for c in parsed.components})


def test_nested_components_are_flattened_not_treated_as_dependencies() -> None:
    parsed = parse("cdx-1.4-npm-nested_juice-shop.json")
    assert len(parsed.components) == 1115  # SOURCES.md: 837 top level, 1,115 in all
    by_key = {u.component_key: u for u in parsed.usages}
    # @mapbox/node-pre-gyp's nested ansi-regex@5.0.1 is reached through the graph, not through nesting
    assert by_key["pkg:npm/ansi-regex@5.0.1"].depth == Depth.TRANSITIVE
    assert "pkg:npm/%40babel/parser@7.21.2#packages/babel-parser" in by_key


def test_subjects_are_what_the_documents_describe() -> None:
    juice = parse("cdx-1.4-npm-nested_juice-shop.json").subject
    assert juice is not None and juice.where == "metadata.component"
    assert (juice.name, juice.version) == ("juice-shop", "14.1.1")
    assert juice.vcs_urls and "github.com/juice-shop/juice-shop" in juice.vcs_urls[0]
    github = parse("github-dependency-graph-sbom_docs-example.json")
    assert (github.repo_hint, github.repo_hint_source) == ("github/example", "github export name")
    laravel = parse("cdx-1.4-composer_laravel.xml").subject
    assert laravel is not None and laravel.purl is not None
    assert laravel.purl.startswith("pkg:composer/cyclonedx/cyclonedx-php-composer-demo")
    canonical = parse("spdx-2.3-canonical-example.spdx.json").subject
    assert canonical is not None and (canonical.name, canonical.where) == ("glibc", "described package")
    assert parse("spdx-2.3-tag-value_syft.spdx").subject is None  # it describes no package of its own


def test_github_export_keeps_the_spec_breaking_purl_and_warns() -> None:
    parsed = parse("github-dependency-graph-sbom_docs-example.json")
    assert [c.purl for c in parsed.components] == ["pkg:gem/rails@1.0.0"]
    assert parsed.components[0].licenses == ("MIT",)
    assert any("pkg:github/example@main" in w and "Namespace is required" in w for w in parsed.warnings)
    assert any("cannot be told apart" in w for w in parsed.warnings)
    assert {u.depth for u in parsed.usages} == {Depth.UNKNOWN}


def test_github_export_without_wrapper_is_still_recognised() -> None:
    inner = json.loads((SBOMS / "github-dependency-graph-sbom_docs-example.json").read_bytes())["sbom"]
    parsed = parse_bytes(json.dumps(inner).encode(), source="inner.json")
    assert parsed.format == SbomFormat.GITHUB_EXPORT
    assert parsed.repo_hint == "github/example"


def test_pypi_names_are_keyed_by_pep503() -> None:
    parsed = parse("cdx-1.6-pypi_cyclonedx-py-environment.json")
    boolean = [c for c in parsed.components if c.package_key == "pypi/boolean-py"]
    assert [(c.purl, c.key) for c in boolean] == [("pkg:pypi/boolean.py@5.0", "pkg:pypi/boolean-py@5.0")]


def test_components_without_purl_keep_name_group_version() -> None:
    parsed = parse("cdx-1.5-no-purls_blackduck.json")
    raw = json.loads((SBOMS / "cdx-1.5-no-purls_blackduck.json").read_bytes())["components"]
    assert sum(1 for c in parsed.components if c.purl is None) == sum(1 for c in raw if "purl" not in c) == 113
    fatfs = next(c for c in parsed.components if c.name == "FatFS")
    assert (fatfs.key, fatfs.version, fatfs.licenses) == (
        "nopurl:unknown/FatFS@r0.12c_stm32cube_20230818",
        "r0.12c_stm32cube_20230818",
        ("BSD-3-Clause",),
    )
    assert any("113 components have no purl" in w for w in parsed.warnings)


def test_documents_without_graph_say_so_and_claim_no_depth() -> None:
    parsed = parse("spdx-2.3-tag-value_syft.spdx")
    assert not parsed.has_graph
    assert {u.depth for u in parsed.usages} == {Depth.UNKNOWN}
    assert "no dependency graph: usage depth is unknown" in parsed.warnings


def test_spdx_dev_relationships_mark_development_scope() -> None:
    parsed = parse("spdx-2.3-maven-no-purls_examplemaven-enriched.spdx.json")
    scopes = {c.name: u.scope for c, u in zip(parsed.components, parsed.usages, strict=True)}
    assert scopes["JUnit"] == Scope.DEVELOPMENT  # junit TEST_DEPENDENCY_OF example
    assert scopes["Apache Log4j Core"] == Scope.RUNTIME  # example DYNAMIC_LINK log4j-core


def test_spdx3_build_lifecycle_counts_as_development_and_licences_are_followed() -> None:
    parsed = parse("spdx-3.0-cargo_hello-server.spdx3.json")
    tokio = next(c for c in parsed.components if c.name == "tokio")
    assert tokio.licenses == ("MIT",)  # hasConcludedLicense -> MIT; hasDeclaredLicense -> NOASSERTION (dropped)
    assert {u.scope for u in parsed.usages} == {Scope.DEVELOPMENT}  # LifecycleScopedRelationship scope "build"


def test_tag_value_and_json_of_the_same_document_agree() -> None:
    as_json, as_text = parse("spdx-2.3-canonical-example.spdx.json"), parse("spdx-2.3-canonical-example.spdx")
    assert sorted(c.key for c in as_json.components) == sorted(c.key for c in as_text.components)
    assert sorted(as_json.usages, key=lambda u: u.component_key) == sorted(
        as_text.usages, key=lambda u: u.component_key
    )


def test_version_ranges_and_missing_versions_are_kept_with_a_warning() -> None:
    parsed = parse("cdx-1.6-golang_trivy.json")
    unversioned = next(c for c in parsed.components if c.purl == "pkg:golang/github.com/aquasecurity/test")
    assert unversioned.version is None
    assert any("pkg:golang/github.com/aquasecurity/test has no version" in w for w in parsed.warnings)


@pytest.mark.parametrize(("version", "warned"), [("1.2", False), ("1.3", False), ("1.7", False), ("1.8", True)])
def test_cyclonedx_spec_versions(version: str, warned: bool) -> None:
    document = json.loads((SBOMS / "cdx-1.6-golang_trivy.json").read_bytes())
    document["specVersion"] = version
    parsed = parse_bytes(json.dumps(document).encode(), source="v.json")
    assert parsed.spec_version == version
    assert len(parsed.components) == 5  # six components, one of them the gobinary trivy scanned (no package)
    assert any("outside 1.2–1.7" in w for w in parsed.warnings) is warned


def test_cyclonedx_xml_reads_licences_scope_and_older_namespaces() -> None:
    text = (SBOMS / "cdx-1.4-composer_laravel.xml").read_text(encoding="utf-8")
    parsed = parse_bytes(text.encode(), source="laravel.xml")
    cors = next(c for c in parsed.components if c.name == "stack-cors")
    assert (cors.namespace, cors.licenses, cors.purl) == ("asm89", ("MIT",), "pkg:composer/asm89/stack-cors@1.3.0")
    excluded = text.replace("schema/bom/1.4", "schema/bom/1.2").replace(
        "<purl><![CDATA[pkg:composer/asm89/stack-cors@1.3.0]]></purl>",
        "<scope>excluded</scope><purl><![CDATA[pkg:composer/asm89/stack-cors@1.3.0]]></purl>",
    )
    older = parse_bytes(excluded.encode(), source="laravel-1.2.xml")
    assert older.spec_version == "1.2"
    scopes = {u.component_key: u.scope for u in older.usages}
    assert scopes["pkg:composer/asm89/stack-cors@1.3.0"] == Scope.DEVELOPMENT


def test_spdx_2_2_is_read_without_complaint() -> None:
    document = json.loads((SBOMS / "spdx-2.3-cargo_hello-server.spdx.json").read_bytes())
    document["spdxVersion"] = "SPDX-2.2"
    parsed = parse_bytes(json.dumps(document).encode(), source="v22.json")
    assert parsed.spec_version == "SPDX-2.2" and parsed.warnings == ()
    assert len(parsed.components) == 3


def test_spdx3_licences_are_kept_once_each_in_the_order_first_named() -> None:
    licence = [
        {"spdxId": f"L{n}", "type": "simplelicensing_LicenseExpression", "simplelicensing_licenseExpression": text}
        for n, text in enumerate(["MIT", "Apache-2.0", "NOASSERTION"])
    ]
    relate = [
        {"spdxId": f"R{n}", "type": "Relationship", "from": "P", "relationshipType": kind, "to": targets}
        for n, (kind, targets) in enumerate(
            [("hasDeclaredLicense", ["L1", "L0", 7]), ("hasConcludedLicense", ["L2", "L0", "L1", "missing"])]
        )
    ]
    package = {"spdxId": "P", "type": "software_Package", "name": "p", "software_packageUrl": "pkg:cargo/p@1.0.0"}
    document = {"@context": "https://spdx.org/rdf/3.0.1/spdx-context.jsonld", "@graph": [package, *licence, *relate]}
    parsed = parse_bytes(json.dumps(document).encode(), source="licences.spdx3.json")
    assert [c.licenses for c in parsed.components] == [("Apache-2.0", "MIT")]


def test_the_files_trivy_scanned_are_no_packages_and_their_packages_are_direct() -> None:
    """trivy's lock files and binaries (``lang-pkgs``) pass their packages through and are left out, named in a
    warning; the operating system it found (``os-pkgs``) stays a component."""
    parsed = parse("cdx-1.6-multi-ecosystem_trivy.json")
    names = {c.name for c in parsed.components}
    assert not names & {"app/composer/composer.lock", "app/gobinary/gobinary", "app/gradle/target/gradle.lockfile"}
    assert "alpine" in names  # the operating system
    depths = {c.key: u.depth for c, u in zip(parsed.components, parsed.usages, strict=True)}
    assert depths["pkg:composer/pear/log@1.13.1"] == Depth.DIRECT  # under composer.lock, which passes it through
    assert depths["pkg:golang/github.com/package-url/packageurl-go@v0.1.1-0.20220203205134-d70459300c8a"] == (
        Depth.DIRECT
    )
    warning = next(w for w in parsed.warnings if "scan targets left out" in w)
    assert warning.startswith("3 scan targets") and "app/composer/composer.lock" in warning


def test_scan_targets_read_alike_from_xml_and_json() -> None:
    def component(ref: str, name: str, purl: str | None, klass: str | None) -> str:
        purl_tag = f"<purl>{purl}</purl>" if purl else ""
        props = (
            f'<properties><property name="aquasecurity:trivy:Class">{klass}</property></properties>' if klass else ""
        )
        kind = "library" if purl else "application"
        return f'<component type="{kind}" bom-ref="{ref}"><name>{name}</name>{purl_tag}{props}</component>'

    xml = (
        '<bom xmlns="http://cyclonedx.org/schema/bom/1.5" version="1"><metadata>'
        '<component type="application" bom-ref="root"><name>app</name></component></metadata><components>'
        + component("lock", "app/Gemfile.lock", None, "lang-pkgs")
        + component("tool", "a-first-party-tool", None, None)
        + component("rails", "rails", "pkg:gem/rails@7.1.0", None)
        + component("rack", "rack", "pkg:gem/rack@3.0.0", None)
        + "</components><dependencies>"
        + '<dependency ref="root"><dependency ref="lock"/><dependency ref="tool"/></dependency>'
        + '<dependency ref="lock"><dependency ref="rails"/></dependency>'
        + '<dependency ref="rails"><dependency ref="rack"/></dependency>'
        + "</dependencies></bom>"
    )
    parsed = parse_bytes(xml.encode(), source="trivy.xml")
    depths = {c.name: u.depth for c, u in zip(parsed.components, parsed.usages, strict=True)}
    assert depths == {"a-first-party-tool": Depth.DIRECT, "rails": Depth.DIRECT, "rack": Depth.TRANSITIVE}
    assert any(w.startswith("1 scan targets left out") and "app/Gemfile.lock" in w for w in parsed.warnings)
