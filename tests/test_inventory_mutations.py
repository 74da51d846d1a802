"""Any value of a real SBOM replaced by a value of another JSON type, a tag-value line dropped or replaced, an
XML element dropped or its text replaced: the parse reads it or refuses the file with an
:class:`InventoryError` naming it, never another exception (a bad input costs only itself)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET  # trusted test data, parsed only to mutate it
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.inventory.detect import parse_bytes
from bot.inventory.interface import InventoryError

SBOMS = Path(__file__).parent / "data" / "sboms"
# the small real documents of every JSON format: each mutation parses in microseconds
SMALL = sorted(p for p in SBOMS.glob("*.json") if p.stat().st_size < 40_000)
_ODD = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False),
    st.text(max_size=8),
    st.lists(st.one_of(st.integers(), st.text(max_size=4), st.none()), max_size=3),
    st.dictionaries(st.text(max_size=4), st.one_of(st.integers(), st.text(max_size=4)), max_size=2),
)


def _paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a decoded document: each key of each object and each item of each list."""
    found = [path]
    if isinstance(value, dict):
        for key, child in value.items():
            found += _paths(child, (*path, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += _paths(child, (*path, index))
    return found


def _replaced(document: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    copy = dict(document) if isinstance(document, dict) else list(document)
    copy[path[0]] = _replaced(document[path[0]], path[1:], new)
    return copy


def test_the_corpus_covers_every_json_format() -> None:
    names = " ".join(p.name for p in SMALL)
    assert all(kind in names for kind in ("cdx-", "spdx-2.3", "spdx-3.0", "github-dependency-graph"))


@pytest.mark.parametrize("path", SMALL, ids=lambda p: p.name)
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_value_of_another_type_anywhere_is_read_or_refused_naming_the_file(path: Path, data: st.DataObject) -> None:
    document = json.loads(path.read_bytes())
    places = _paths(document)
    where = data.draw(st.sampled_from(places[1:]), label="where")
    mutated = json.dumps(_replaced(document, where, data.draw(_ODD, label="value"))).encode()
    try:
        parse_bytes(mutated, source="repo/odd.json")
    except InventoryError as exc:
        assert str(exc).startswith("repo/odd.json: ") and "\n" not in str(exc)


TEXT_DOCUMENTS = sorted(SBOMS.glob("*.spdx"))
_ODD_LINE = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["Relationship: a", "ExternalRef: PACKAGE-MANAGER purl", "PackageName:", "SPDXID:", "<text>"]),
    st.builds(
        lambda tag, value: f"{tag}: {value}", st.sampled_from(["PackageName", "SPDXID", "ExternalRef"]), st.text()
    ),
)


@pytest.mark.parametrize("path", TEXT_DOCUMENTS, ids=lambda p: p.name)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_tag_value_line_dropped_or_replaced_is_read_or_refused_naming_the_file(
    path: Path, data: st.DataObject
) -> None:
    lines = path.read_text(encoding="utf-8").splitlines()
    where = data.draw(st.integers(min_value=0, max_value=len(lines) - 1), label="line")
    new = data.draw(st.one_of(st.none(), _ODD_LINE), label="new line")  # None: the line is dropped
    lines[where : where + 1] = [] if new is None else [new]
    try:
        parse_bytes("\n".join(lines).encode(), source="repo/odd.spdx")
    except InventoryError as exc:
        assert str(exc).startswith("repo/odd.spdx: ") and "\n" not in str(exc)


XML = SBOMS / "cdx-1.4-composer_laravel.xml"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_an_xml_element_dropped_or_its_text_replaced_is_read_or_refused_naming_the_file(data: st.DataObject) -> None:
    root = ET.fromstring(XML.read_bytes())  # noqa: S314
    elements = [(parent, child) for parent in root.iter() for child in parent]
    parent, child = data.draw(st.sampled_from(elements), label="element")
    if data.draw(st.booleans(), label="drop"):
        parent.remove(child)
    else:
        child.text = data.draw(st.text(max_size=12), label="text")
    mutated = ET.tostring(root, encoding="utf-8")
    try:
        parse_bytes(mutated, source="repo/odd.xml")
    except InventoryError as exc:
        assert str(exc).startswith("repo/odd.xml: ") and "\n" not in str(exc)
