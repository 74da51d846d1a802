"""Depth computation: cycles never hang, pass-through nodes keep their children direct."""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.inventory.assemble import Graph, Warnings, _graph_facts, _graph_scopes
from bot.inventory.detect import parse_bytes
from bot.inventory.graph import NotIn, compute_depths, pass_through, reachable
from bot.inventory.interface import Entry
from bot.inventory.json_model import SpdxRelationship
from bot.inventory.spdx import Spdx2Content
from bot.records import Depth, Scope

SBOMS = Path(__file__).parent / "data" / "sboms"


def test_depths_from_the_root() -> None:
    edges = {"root": ["a", "b"], "a": ["c"], "c": ["d"], "b": ["a"]}
    assert compute_depths(["root"], edges) == {
        "a": Depth.DIRECT,
        "b": Depth.DIRECT,
        "c": Depth.TRANSITIVE,
        "d": Depth.TRANSITIVE,
    }


@pytest.mark.timeout(5)
def test_cycles_terminate_including_through_the_root() -> None:
    edges = {"root": ["a"], "a": ["b"], "b": ["a", "root", "b"]}
    assert compute_depths(["root"], edges) == {"a": Depth.DIRECT, "b": Depth.TRANSITIVE}
    assert reachable(["root"], edges) == {"root", "a", "b"}


@pytest.mark.timeout(5)
def test_a_long_cycle_is_linear() -> None:
    n = 30_000
    edges = {str(i): [str((i + 1) % n), str((i * 7) % n)] for i in range(n)}
    edges["root"] = ["0"]
    depths = compute_depths(["root"], edges)
    assert len(depths) == n
    assert depths["0"] == Depth.DIRECT and depths["1"] == Depth.TRANSITIVE


def test_transparent_nodes_pass_their_children_through() -> None:
    edges = {"root": ["os", "lib"], "os": ["musl"], "lib": ["dep"]}
    depths = compute_depths(["root"], edges, transparent={"os"})
    assert depths == {"os": Depth.DIRECT, "musl": Depth.DIRECT, "lib": Depth.DIRECT, "dep": Depth.TRANSITIVE}


def test_a_shorter_path_found_later_wins() -> None:
    # x is first reached at distance 2 through a, then at distance 1 through the transparent g
    edges = {"root": ["a", "g"], "a": ["x"], "g": ["h"], "h": ["x"]}
    assert compute_depths(["root"], edges, transparent={"g", "h"})["x"] == Depth.DIRECT


@pytest.mark.timeout(5)
def test_trivy_cyclic_document_parses_and_a_rooted_variant_too() -> None:
    raw = (SBOMS / "cdx-1.5-cyclic-graph_trivy.json").read_bytes()
    parsed = parse_bytes(raw, source="cyclic.json")
    assert len(parsed.components) == 3
    # the file's graph never names its root; give it one so the libc6 <-> libcrypt1 cycle is walked
    document = json.loads(raw)
    root = document["metadata"]["component"]["bom-ref"]
    document["dependencies"].append({"ref": root, "dependsOn": ["71577c3e-dbc6-41be-ba9e-c5268bc2e5d4"]})
    rooted = parse_bytes(json.dumps(document).encode(), source="rooted.json")
    depths = {u.component_key.split("@")[0]: u.depth for u in rooted.usages}
    # the ubuntu OS node is a purl-less pass-through, so both packages under it are direct
    assert depths == {
        "pkg:deb/ubuntu/libc6": Depth.DIRECT,
        "pkg:deb/ubuntu/libcrypt1": Depth.DIRECT,
        "nopurl:unknown/ubuntu": Depth.DIRECT,
    }


def _depths_by_distance(
    roots: Sequence[str], edges: Mapping[str, Sequence[str]], transparent: Collection[str]
) -> dict[str, Depth]:
    """Reference: exact distances by a 0-1 breadth-first search (an edge leaving a transparent node costs 0)."""
    distance = dict.fromkeys(roots, 0)
    queue = deque(roots)
    while queue:
        node = queue.popleft()
        cost = 0 if node in transparent and node not in roots else 1
        for child in edges.get(node, ()):
            if child not in distance or distance[node] + cost < distance[child]:
                distance[child] = distance[node] + cost
                queue.append(child) if cost else queue.appendleft(child)
    return {n: Depth.DIRECT if d <= 1 else Depth.TRANSITIVE for n, d in distance.items() if n not in roots}


_NODES = st.sampled_from([f"n{i}" for i in range(12)])


@settings(max_examples=300, deadline=None)
@given(
    edges=st.dictionaries(_NODES, st.lists(_NODES, max_size=4), max_size=12),
    roots=st.lists(_NODES, min_size=1, max_size=2, unique=True),
    transparent=st.frozensets(_NODES, max_size=5),
)
def test_depths_agree_with_exact_distances(
    edges: dict[str, list[str]], roots: list[str], transparent: frozenset[str]
) -> None:
    assert compute_depths(roots, edges, transparent) == _depths_by_distance(roots, edges, transparent)
    packages = {f"n{i}" for i in range(12)} - transparent
    assert compute_depths(roots, edges, NotIn(packages)) == _depths_by_distance(roots, edges, transparent)
    # the same graph with many unreached parents takes the general path (sets, level by level), not the small one
    padded = {**edges, **{f"unreached{i}": ["n0"] for i in range(100)}}
    assert compute_depths(roots, padded, transparent) == _depths_by_distance(roots, edges, transparent)
    for graph in (edges, padded):  # the pass-through rule as a set of parents (small graph) or as NotIn (large)
        rule = pass_through(graph, packages | {f"unreached{i}" for i in range(100)}, ())
        assert compute_depths(roots, graph, rule) == _depths_by_distance(roots, edges, transparent)
    reached = set(_depths_by_distance(roots, edges, ())) | set(roots)
    assert reachable(roots, edges) == reached
    assert reachable(roots, padded) == reached


def test_spdx_files_pass_their_packages_through_but_packages_do_not() -> None:
    document = json.loads((SBOMS / "spdx-2.3-canonical-example.spdx.json").read_bytes())
    document["relationships"] += [
        {"spdxElementId": a, "relationshipType": kind, "relatedSpdxElement": b}
        for a, kind, b in [
            ("SPDXRef-Package", "CONTAINS", "SPDXRef-CommonsLangSrc"),  # a file of the described package ...
            ("SPDXRef-CommonsLangSrc", "CONTAINS", "SPDXRef-fromDoap-1"),  # ... holding Apache Commons Lang
            ("SPDXRef-Saxon", "DEPENDS_ON", "SPDXRef-fromDoap-0"),  # Jena, under a package
        ]
    ]
    parsed = parse_bytes(json.dumps(document).encode(), source="files.spdx.json")
    depths = {c.name: u.depth for c, u in zip(parsed.components, parsed.usages, strict=True)}
    assert depths == {"Apache Commons Lang": Depth.DIRECT, "apache-jena": Depth.TRANSITIVE, "Saxon": Depth.DIRECT}


@settings(max_examples=300, deadline=None)
@given(
    edges=st.lists(st.tuples(_NODES, _NODES, st.booleans()), max_size=16),
    roots=st.lists(_NODES, max_size=2, unique=True),
)
def test_small_and_large_graphs_get_the_same_scopes(edges: list[tuple[str, str, bool]], roots: list[str]) -> None:
    # a small graph's scopes come from plain loops, a large one's from the runtime edges walked twice
    def scopes(padding: int) -> dict[str, Scope]:
        graph = Graph(edge_scopes=True, roots=list(roots))
        for parent, child, development in edges:
            graph.add(parent, child, development=development)
        for i in range(padding):  # unreached parents, each with a child of its own
            graph.add(f"pad{i}", f"padded{i}")
        if not edges and not padding:
            return {}  # no edges: _graph_facts asks for no scopes
        found = _graph_scopes(graph)
        return {node: scope for node, scope in found.items() if not node.startswith("pad")}

    assert scopes(0) == scopes(100)


_SPDX_ELEMENTS = st.sampled_from(["SPDXRef-DOCUMENT", "SPDXRef-a", "SPDXRef-b", "NONE", "DocumentRef-x:SPDXRef-a"])
_SPDX_KINDS = st.sampled_from(["DEPENDS_ON", "DEPENDENCY_OF", "DEV_DEPENDENCY_OF", "CONTAINS", "DESCRIBES", "OTHER"])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(_SPDX_ELEMENTS, _SPDX_KINDS, _SPDX_ELEMENTS), max_size=12))
def test_spdx_relationships_follow_the_spec_table(relationships: list[tuple[str, str, str]]) -> None:
    """Table 68 of SPDX 2.3, read here on its own: ``A DEPENDS_ON B`` and ``A CONTAINS B`` are edges A → B,
    ``A DEPENDENCY_OF B`` is B → A, ``A DEV_DEPENDENCY_OF B`` is B → A for development; ``DOCUMENT DESCRIBES X``
    names a subject; the document itself, ``NONE`` and other documents' elements are no nodes."""
    content = Spdx2Content("SPDX-2.3", None)
    content.relate_all(SpdxRelationship(left, kind, right) for left, kind, right in relationships)
    edges: dict[str, list[str]] = {}
    development: set[tuple[str, str]] = set()
    described: list[str] = []
    for left, kind, right in relationships:
        if kind == "DESCRIBES":
            if left == "SPDXRef-DOCUMENT":
                described.append(right)
            continue
        if kind == "OTHER" or left == "SPDXRef-DOCUMENT" or right == "NONE" or ":" in left + right:
            continue
        parent, child = (left, right) if kind in ("DEPENDS_ON", "CONTAINS") else (right, left)
        edges.setdefault(parent, []).append(child)
        if kind == "DEV_DEPENDENCY_OF":
            development.add((parent, child))
    assert content.graph.edges == edges
    assert content.graph.development == development
    assert content.described == described


@settings(max_examples=500, deadline=None)
@given(
    kids=st.lists(st.tuples(_NODES, st.booleans()), min_size=1, max_size=6),
    other_roots=st.lists(_NODES, max_size=2),
    packages=st.none() | st.frozensets(_NODES, max_size=12),  # none: SPDX 2's rule, the entries are the packages
    containers=st.dictionaries(_NODES, _NODES, max_size=3),
    flat=st.booleans(),
    edge_scopes=st.booleans(),
)
def test_one_parent_graphs_get_the_answers_of_the_walk(
    kids: list[tuple[str, bool]],
    other_roots: list[str],
    packages: frozenset[str] | None,
    containers: dict[str, str],
    flat: bool,
    edge_scopes: bool,
) -> None:
    # a graph whose one parent is a root takes no walk: the same depths, scopes and notes as the walk over it
    entries = [Entry(ref=f"n{i}", name=f"n{i}") for i in range(12)]

    def facts(*, padded: bool) -> tuple[bool, dict[str, Depth], bool, dict[str, Scope], tuple[str, ...]]:
        graph = Graph(
            edges={"n0": [kid for kid, _ in kids]},
            roots=["n0", *other_roots],
            containers=dict(containers),
            edge_scopes=edge_scopes,
        )
        graph.development = {("n0", kid) for kid, development in kids if development}
        graph.flat_means_unknown = flat
        graph.packages = packages
        graph.entries_are_packages = packages is None
        if padded:  # a second parent without children changes nothing but takes the walk
            graph.edges["pad"] = []
        warnings = Warnings()
        has_edges, depths, inferred, scopes = _graph_facts(entries, graph, warnings)
        return has_edges, depths, inferred, dict(scopes), warnings.lines()

    assert facts(padded=False) == facts(padded=True)


def test_a_component_listed_twice_is_one_usage_at_its_closest_depth_and_runtime_if_either_is() -> None:
    """Two entries of one purl (different refs): one usage, in the place of the first, closest depth and
    runtime scope winning whichever entry carries them; the components are kept as listed."""
    document = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "metadata": {"component": {"bom-ref": "app", "type": "application", "name": "app"}},
        "components": [
            {"bom-ref": "a", "name": "a", "version": "1.0.0", "purl": "pkg:npm/a@1.0.0"},
            {"bom-ref": "b", "name": "b", "version": "2.0.0", "purl": "pkg:npm/b@2.0.0"},
            {"bom-ref": "b-dev", "name": "b", "version": "2.0.0", "purl": "pkg:npm/b@2.0.0", "scope": "excluded"},
            {"bom-ref": "c", "name": "c", "version": "3.0.0", "purl": "pkg:npm/c@3.0.0", "scope": "excluded"},
            {"bom-ref": "c-again", "name": "c", "version": "3.0.0", "purl": "pkg:npm/c@3.0.0"},
        ],
        "dependencies": [
            {"ref": "app", "dependsOn": ["a", "b-dev", "c"]},
            {"ref": "a", "dependsOn": ["b", "c-again"]},
        ],
    }
    parsed = parse_bytes(json.dumps(document).encode(), source="twice.json")
    assert [c.key for c in parsed.components] == [
        "pkg:npm/a@1.0.0",
        "pkg:npm/b@2.0.0",
        "pkg:npm/b@2.0.0",
        "pkg:npm/c@3.0.0",
        "pkg:npm/c@3.0.0",
    ]
    assert [(u.component_key, u.depth, u.scope) for u in parsed.usages] == [
        ("pkg:npm/a@1.0.0", Depth.DIRECT, Scope.RUNTIME),
        ("pkg:npm/b@2.0.0", Depth.DIRECT, Scope.RUNTIME),  # transitive runtime + direct development
        ("pkg:npm/c@3.0.0", Depth.DIRECT, Scope.RUNTIME),  # direct development + transitive runtime
    ]
