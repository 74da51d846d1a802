"""Read what a document says: the valid purl of several, nested components with their depth, and a graph
that never names its root read as "what nothing depends on is direct", inferred and warned about."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.inventory.detect import parse_bytes
from bot.inventory.ingest import ingest_paths
from bot.inventory.purls import best_purl
from bot.records import Depth
from bot.store.tables import SbomDocumentRow

BAD = "pkg:golang/github.com/briandowns/spinner%40v1.19.0"
GOOD = "pkg:golang/github.com/briandowns/spinner@v1.19.0"


def spdx(*refs: str) -> bytes:
    return json.dumps(
        {
            "spdxVersion": "SPDX-2.3",
            "SPDXID": "SPDXRef-DOCUMENT",
            "name": "app",
            "documentDescribes": ["SPDXRef-app"],
            "packages": [
                {"SPDXID": "SPDXRef-app", "name": "app", "versionInfo": "1.0"},
                {
                    "SPDXID": "SPDXRef-spinner",
                    "name": "spinner@v1.19.0",
                    "externalRefs": [
                        {"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl", "referenceLocator": r}
                        for r in refs
                    ],
                },
            ],
            "relationships": [
                {
                    "spdxElementId": "SPDXRef-app",
                    "relationshipType": "DEPENDS_ON",
                    "relatedSpdxElement": "SPDXRef-spinner",
                }
            ],
        }
    ).encode()


def test_the_valid_purl_wins_over_a_malformed_one_listed_first() -> None:
    assert best_purl([BAD, GOOD]) == GOOD
    assert best_purl([GOOD, BAD]) == GOOD
    assert best_purl(["not a purl", BAD]) == BAD  # parses, though it breaks the spec: better than nothing
    parsed = parse_bytes(spdx(BAD, GOOD), source="s.json")
    assert [c.purl for c in parsed.components] == [GOOD]
    assert parsed.components[0].package_key == "golang/github.com/briandowns/spinner"
    alone = parse_bytes(spdx(BAD), source="s.json")  # the only purl: kept as given, and warned about
    assert [c.purl for c in alone.components] == [BAD]
    assert any("holds an '@'" in w for w in alone.warnings)


def test_tag_value_picks_the_valid_purl_too() -> None:
    text = (
        "SPDXVersion: SPDX-2.3\nDataLicense: CC0-1.0\nSPDXID: SPDXRef-DOCUMENT\nDocumentName: app\n"
        "PackageName: spinner\nSPDXID: SPDXRef-spinner\n"
        f"ExternalRef: PACKAGE-MANAGER purl {BAD}\nExternalRef: PACKAGE-MANAGER purl {GOOD}\n"
    )
    assert [c.purl for c in parse_bytes(text.encode(), source="t.spdx").components] == [GOOD]


def cyclonedx(root: dict[str, object], components: list[dict[str, object]], deps: list[dict[str, object]]) -> bytes:
    return json.dumps(
        {
            "bomFormat": "CycloneDX",
            "specVersion": "1.5",
            "metadata": {"component": {"name": "product", "bom-ref": "root", **root}},
            "components": components,
            "dependencies": deps,
        }
    ).encode()


def lib(name: str, **more: object) -> dict[str, object]:
    return {"name": name, "purl": f"pkg:maven/org.acme/{name}@1.0?type=jar", "bom-ref": name, **more}


def test_the_product_s_own_modules_are_stored_and_their_dependencies_are_direct() -> None:
    data = cyclonedx(
        {"components": [lib("module-a"), lib("module-b")]},
        [lib("x"), lib("y"), lib("z")],
        [
            {"ref": "root", "dependsOn": ["module-a", "module-b"]},
            {"ref": "module-a", "dependsOn": ["x"]},
            {"ref": "module-b", "dependsOn": ["y"]},
            {"ref": "y", "dependsOn": ["z"]},
        ],
    )
    parsed = parse_bytes(data, source="m.json")
    depth = {u.component_key.split("/")[-1].split("@")[0]: u.depth for u in parsed.usages}
    assert depth == {
        "module-a": Depth.DIRECT,
        "module-b": Depth.DIRECT,
        "x": Depth.DIRECT,
        "y": Depth.DIRECT,
        "z": Depth.TRANSITIVE,
    }


def test_nested_components_outside_the_graph_take_their_container_s_depth() -> None:
    data = cyclonedx(
        {"components": [lib("part", components=[lib("inner")])]},
        [lib("a", components=[lib("a-shaded")]), lib("b", components=[lib("b-shaded")])],
        [{"ref": "root", "dependsOn": ["a"]}, {"ref": "a", "dependsOn": ["b"]}],
    )
    parsed = parse_bytes(data, source="n.json")
    depth = {u.component_key.split("/")[-1].split("@")[0]: u.depth for u in parsed.usages}
    assert depth == {
        "part": Depth.DIRECT,
        "inner": Depth.DIRECT,
        "a": Depth.DIRECT,
        "a-shaded": Depth.DIRECT,
        "b": Depth.TRANSITIVE,
        "b-shaded": Depth.TRANSITIVE,
    }


def test_a_graph_that_never_names_its_root_is_read_as_inferred(tmp_path: Path, engine: Engine) -> None:
    data = cyclonedx(
        {},
        [lib("a"), lib("b"), lib("c"), lib("lonely")],
        [{"ref": "a", "dependsOn": ["b"]}, {"ref": "b", "dependsOn": ["c"]}, {"ref": "c", "dependsOn": ["b"]}],
    )
    parsed = parse_bytes(data, source="r.json")
    depth = {u.component_key.split("/")[-1].split("@")[0]: u.depth for u in parsed.usages}
    assert depth == {"a": Depth.DIRECT, "lonely": Depth.DIRECT, "b": Depth.TRANSITIVE, "c": Depth.TRANSITIVE}
    assert parsed.depth_inferred
    assert any("never references the document's root" in w and "2 components" in w for w in parsed.warnings)
    path = tmp_path / "r.json"
    path.write_bytes(data)
    summary = ingest_paths(engine, [path], repo="acme/r")
    assert summary.to_dict()["depth_inferred"] == [str(path)]
    with Session(engine) as session:
        assert session.exec(select(SbomDocumentRow.depth_inferred)).all() == [True]


def test_a_graph_that_names_its_root_is_not_inferred() -> None:
    data = cyclonedx({}, [lib("a"), lib("b")], [{"ref": "root", "dependsOn": ["a"]}, {"ref": "a", "dependsOn": ["b"]}])
    parsed = parse_bytes(data, source="r.json")
    assert not parsed.depth_inferred
    assert not any("never references" in w for w in parsed.warnings)


def test_a_component_type_that_is_no_string_is_read_as_no_grouper_not_a_crash() -> None:
    """The schema says ``type`` is a string; a list or an object there is no pass-through node and no TypeError."""
    for odd in (["application"], {"x": 1}, 5):
        document = {
            "bomFormat": "CycloneDX",
            "specVersion": "1.6",
            "components": [{"name": "tool", "type": odd}, {"name": "lib", "purl": "pkg:npm/lib@1.0.0"}],
        }
        parsed = parse_bytes(json.dumps(document).encode(), source="odd.json")
        assert sorted(c.key for c in parsed.components) == ["nopurl:unknown/tool", "pkg:npm/lib@1.0.0"], odd
