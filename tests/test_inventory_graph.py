"""Depth computation: cycles never hang, pass-through nodes keep their children direct."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.inventory.detect import parse_bytes
from bot.inventory.graph import compute_depths, reachable
from bot.records import Depth

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
