"""SPDX 3: a plain document, decoded in one pass and read by the unchecking loop, reads as the general path reads it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from unittest.mock import patch

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.inventory import detect
from bot.inventory.detect import parse_bytes
from bot.inventory.json_model import decode_spdx3_document

SBOMS = Path(__file__).parent / "data" / "sboms"
SPDX3 = SBOMS / "spdx-3.0-cargo_hello-server.spdx3.json"
CONTEXT = "https://spdx.org/rdf/3.0.1/spdx-context.jsonld"


def outcome(data: bytes) -> object:
    """The parsed document, or the error's type and text (whatever it is: the two paths must fail alike)."""
    try:
        return parse_bytes(data, source="doc.json")
    except Exception as exc:  # compared, not swallowed: the two paths must fail alike
        return type(exc), str(exc)


def general(data: bytes) -> object:
    """The outcome without the one-pass decode: every document read as a :class:`JsonSbom` first."""
    with patch.object(detect, "decode_spdx3_document", lambda _data: None):
        return outcome(data)


@pytest.mark.parametrize(
    "layout",
    [
        {"separators": (",", ":")},
        {"indent": 2},
        {"indent": 4},
        {"indent": "\t"},
        {"indent": 2, "crlf": True},
        {"indent": 0},
    ],
)
def test_the_real_document_takes_the_one_pass_decode_and_agrees(layout: dict[str, Any]) -> None:
    crlf = layout.pop("crlf", False)
    text = json.dumps(json.loads(SPDX3.read_bytes()), **layout)
    data = (text.replace("\n", "\r\n") if crlf else text).encode()
    with patch.object(detect, "decode_json_sbom", side_effect=AssertionError("the general path was taken")):
        fast = parse_bytes(data, source="doc.json")
    assert fast == general(data) == general(SPDX3.read_bytes())


@pytest.mark.parametrize(
    "change",
    [
        {"name": "extra top-level key"},
        {"bomFormat": "CycloneDX"},
        {"spdxVersion": "SPDX-2.3"},
        {"sbom": {"spdxVersion": "SPDX-2.3"}},
        {"@context": "https://schema.org"},
        {"@context": None},
        {"@graph": None},
        {"@graph": {"a": 1}},
        {"@graph": [1, {"type": "software_Package"}]},
    ],
)
def test_any_other_document_takes_the_general_path(change: dict[str, Any]) -> None:
    document = {**json.loads(SPDX3.read_bytes()), **change}
    data = json.dumps(document).encode()
    assert decode_spdx3_document(data) is None
    assert outcome(data) == general(data)


@pytest.mark.parametrize(
    ("element", "plain"),
    [
        ({"type": "Relationship", "spdxId": "R", "relationshipType": "dependsOn", "to": ["P"]}, True),
        ({"type": "Relationship", "spdxId": "R", "from": "P", "relationshipType": 3, "to": ["P"]}, False),
        ({"type": "Relationship", "from": "P", "relationshipType": "dependsOn", "to": [{"spdxId": "Q"}]}, False),
        ({"type": "software_Package", "spdxId": "Q", "software_packageUrl": "  "}, True),
        ({"type": ["software_Package"], "spdxId": "Q", "name": "q"}, False),
        ({"type": "SpdxDocument", "spdxId": "Q", "rootElement": "P"}, False),
    ],
)
def test_elements_read_by_either_loop_are_read_alike(element: dict[str, Any], plain: bool) -> None:
    package = {"type": "software_Package", "spdxId": "P", "name": "p", "software_packageUrl": "pkg:cargo/p@1.0.0"}
    data = json.dumps({"@context": CONTEXT, "@graph": [package, element]}).encode()
    assert (decode_spdx3_document(data) is not None) is plain
    assert outcome(data) == general(data)


@pytest.mark.parametrize(
    "data",
    [
        SBOMS / "cdx-1.6-golang_trivy.json",
        SBOMS / "spdx-2.3-cargo_hello-server.spdx.json",
        SBOMS / "github-dependency-graph-sbom_docs-example.json",
    ],
)
def test_other_formats_are_never_read_as_spdx3(data: Path) -> None:
    assert decode_spdx3_document(data.read_bytes()) is None


# Hostile documents: the keys SPDX 3 elements are read by, with values of every JSON shape, and a few
# tokens json.dumps cannot write (a number beyond float range, a string that is no UTF-8, deep nesting).
_IDS = st.sampled_from(["P", "Q", "L0", "L1", "D", "R", "missing", "", "NOASSERTION"])
_KINDS = st.sampled_from(
    [
        "software_Package",
        "Package",
        "SpdxDocument",
        "software_Sbom",
        "Relationship",
        "LifecycleScopedRelationship",
        "CreationInfo",
        "simplelicensing_LicenseExpression",
        "Tool",
    ]
)
_RELATIONS = st.sampled_from(
    ["describes", "dependsOn", "contains", "usesTool", "hasDeclaredLicense", "hasConcludedLicense", "generates"]
)
_TEXTS = st.sampled_from(["MIT", " Apache-2.0 ", "NONE", "", "pkg:cargo/p@1.0.0", "pkg:npm/%40a/b@1", "3.0.1", "build"])
_RAW = {"__BIG__": "1e400", "__NOT_UTF8__": '"\xff"', "__DEEP__": "[" * 5000 + "]" * 5000}
_SCALARS = st.one_of(
    _IDS, _KINDS, _RELATIONS, _TEXTS, st.integers(), st.booleans(), st.none(), st.sampled_from(sorted(_RAW))
)
_VALUES = st.recursive(
    _SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_TEXTS, inner, max_size=2), max_leaves=6
)
_PROPERTIES = st.sampled_from(
    [
        "type",
        "@type",
        "spdxId",
        "@id",
        "specVersion",
        "rootElement",
        "name",
        "software_packageUrl",
        "externalIdentifier",
        "software_packageVersion",
        "from",
        "relationshipType",
        "to",
        "scope",
        "simplelicensing_licenseExpression",
        "expandedlicensing_licenseId",
        "creationInfo",
    ]
)
_IDENTIFIER = st.fixed_dictionaries(
    {"externalIdentifierType": st.sampled_from(["packageUrl", "cpe23"]), "identifier": _TEXTS | _SCALARS}
)
_ELEMENT_VALUES = st.one_of(_VALUES, st.lists(_IDS, max_size=3), st.lists(_IDENTIFIER, max_size=2))
# plausible elements of each kind read, then (some of them) spoilt: a property added again or changed
_PLAUSIBLE = st.one_of(
    st.fixed_dictionaries(
        {"type": st.sampled_from(["software_Package", "Package"]), "spdxId": _IDS},
        optional={
            "name": _TEXTS,
            "software_packageUrl": _TEXTS,
            "software_packageVersion": _TEXTS,
            "externalIdentifier": st.lists(_IDENTIFIER, max_size=2),
        },
    ),
    st.fixed_dictionaries(
        {
            "type": st.sampled_from(["Relationship", "LifecycleScopedRelationship"]),
            "spdxId": _IDS,
            "from": _IDS,
            "relationshipType": _RELATIONS,
            "to": st.lists(_IDS, max_size=3),
        },
        optional={"scope": st.sampled_from(["build", "test", "runtime"])},
    ),
    st.fixed_dictionaries(
        {"type": st.just("simplelicensing_LicenseExpression"), "spdxId": _IDS},
        optional={"simplelicensing_licenseExpression": _TEXTS, "expandedlicensing_licenseId": _TEXTS, "name": _TEXTS},
    ),
    st.fixed_dictionaries(
        {"type": st.sampled_from(["SpdxDocument", "software_Sbom"]), "spdxId": _IDS},
        optional={"rootElement": st.lists(_IDS, max_size=2)},
    ),
    st.fixed_dictionaries({"type": st.just("CreationInfo"), "@id": _IDS}, optional={"specVersion": _TEXTS}),
)
_SPOILS = st.lists(st.tuples(_PROPERTIES, _ELEMENT_VALUES), max_size=2)
# an element as pairs, so that a key may come twice
_ELEMENTS = st.builds(lambda plain, spoils: ("object", [*plain.items(), *spoils]), _PLAUSIBLE, _SPOILS | st.just([]))
_PLAIN_GRAPHS = st.lists(_ELEMENTS, max_size=12)
_GRAPHS = st.lists(_ELEMENTS | _SCALARS, max_size=4) | _SCALARS
_CONTEXTS = st.sampled_from([CONTEXT, CONTEXT, CONTEXT, [CONTEXT, {"x": 1}], "https://schema.org", None, "__BIG__"])
_TOP_KEYS = st.sampled_from(["@context", "@graph", "name", "bomFormat", "spdxVersion", "sbom", "creationInfo"])


def _write(value: object) -> str:
    """JSON text; ``("object", pairs)`` is an object that may repeat a key; ``_RAW``'s names become their tokens."""
    if isinstance(value, tuple):
        return "{" + ", ".join(f"{json.dumps(k)}: {_write(v)}" for k, v in value[1]) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_write(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)}: {_write(v)}" for k, v in value.items()) + "}"
    if isinstance(value, str) and value in _RAW:
        return _RAW[value]
    return json.dumps(value)


@st.composite
def documents(draw: st.DrawFn) -> bytes:
    """Mostly plain SPDX 3 documents of (sometimes spoilt) elements; a quarter spoilt at the top level too."""
    pairs: list[tuple[str, object]] = [("@context", CONTEXT), ("@graph", draw(_PLAIN_GRAPHS))]
    if draw(st.integers(0, 3)) == 0:
        pairs = [("@context", draw(_CONTEXTS)), ("@graph", draw(_GRAPHS))]
        for key in draw(st.lists(_TOP_KEYS, max_size=2)):  # other keys, or @context and @graph again
            value = draw(_GRAPHS if key == "@graph" else _CONTEXTS if key == "@context" else _VALUES)
            pairs.insert(draw(st.integers(0, len(pairs))), (key, value))
        if draw(st.booleans()):
            pairs.reverse()
    text = _write(("object", pairs))
    return (
        (("\n  " if draw(st.booleans()) else "") + text)
        .encode("utf-8")
        .replace(
            b"\xc3\xbf",
            b"\xff",  # "\xff" as written by _RAW: the byte itself, no UTF-8
        )
    )


@settings(max_examples=1500, deadline=None)
@given(documents())
def test_the_one_pass_decode_agrees_with_the_general_path_on_hostile_documents(data: bytes) -> None:
    assert outcome(data) == general(data)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_the_one_pass_decode_agrees_on_the_real_document_with_elements_changed(data: st.DataObject) -> None:
    document = json.loads(SPDX3.read_bytes())
    graph = document["@graph"]
    for _ in range(data.draw(st.integers(1, 3))):
        element = graph[data.draw(st.integers(0, len(graph) - 1))]
        element[data.draw(_PROPERTIES)] = data.draw(_VALUES)
    text = _write(("object", [("@context", CONTEXT), ("@graph", graph)]))
    encoded = text.encode("utf-8").replace(b"\xc3\xbf", b"\xff")
    assert outcome(encoded) == general(encoded)


def _document(*elements: dict[str, Any]) -> bytes:
    return json.dumps({"@context": CONTEXT, "@graph": list(elements)}).encode()


def test_json_ld_shapes_the_schema_allows_are_read_not_refused() -> None:
    """JSON-LD lets a type be a list of types and a reference list be one reference: read as such, not as
    characters, and a list where a string was expected is no crash."""
    data = _document(
        {"type": "SpdxDocument", "spdxId": "doc", "rootElement": "app"},  # one reference, no list
        {"type": ["software_Package", "Thing"], "spdxId": "app", "name": "app"},
        {"type": "software_Package", "spdxId": "lib", "name": "lib", "software_packageUrl": "pkg:cargo/lib@1.0.0"},
        {"type": "software_Package", "spdxId": "dev", "name": "dev", "software_packageUrl": "pkg:cargo/dev@2.0.0"},
        {"type": "Relationship", "spdxId": "r1", "from": "app", "relationshipType": "dependsOn", "to": "lib"},
        {
            "type": "LifecycleScopedRelationship",
            "spdxId": "r2",
            "from": "app",
            "relationshipType": "dependsOn",
            "to": ["dev"],
            "scope": ["development"],  # not a lifecycle: read as no scope, not a TypeError
        },
    )
    document = parse_bytes(data, source="doc.json")
    assert document.subject is not None and document.subject.name == "app"  # the root is "app", not "a", "p"
    assert sorted(c.key for c in document.components) == ["pkg:cargo/dev@2.0.0", "pkg:cargo/lib@1.0.0"]
    assert {u.component_key: u.depth.value for u in document.usages} == {
        "pkg:cargo/dev@2.0.0": "direct",
        "pkg:cargo/lib@1.0.0": "direct",
    }
    assert all(u.scope.value == "runtime" for u in document.usages)


def test_a_graph_string_that_is_not_utf8_is_refused_naming_the_file() -> None:
    data = _document({"type": "software_Package", "spdxId": "p", "name": "x"}).replace(b'"x"', b'"\xff"')
    with pytest.raises(detect.NotParseable) as caught:
        parse_bytes(data, source="repo/sbom.spdx3.json")
    assert str(caught.value).startswith("repo/sbom.spdx3.json: ")


def test_a_relationship_without_targets_is_no_edge_not_a_refusal() -> None:
    """``to`` left out (or empty) names nothing: the relationship adds no edge, and the document is read."""
    for relationship in ({}, {"to": []}, {"to": None}):
        data = _document(
            {"type": ["SpdxDocument"], "spdxId": "doc", "rootElement": ["app"]},  # a list type: the checking loop
            {"type": "software_Package", "spdxId": "app", "name": "app"},
            {"type": "software_Package", "spdxId": "lib", "name": "lib", "software_packageUrl": "pkg:cargo/lib@1.0.0"},
            {"type": "Relationship", "spdxId": "r", "from": "app", "relationshipType": "dependsOn", **relationship},
        )
        parsed = parse_bytes(data, source="doc.json")
        assert [c.key for c in parsed.components] == ["pkg:cargo/lib@1.0.0"], relationship
