"""Any value of a real SBOM replaced by a value of another JSON type: the parse reads it or refuses the file
with an :class:`InventoryError` naming it, never another exception (a bad input costs only itself)."""

from __future__ import annotations

import json
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
