"""Depth in a dependency graph: direct, transitive or unknown. Cycle-safe and linear in the edges.

Graphs come from untrusted documents: they can be cyclic (trivy's ``libc6 ⇄ libcrypt1``), point at
refs that do not exist, or route through pseudo components (trivy's operating-system and lock-file
nodes). Every walk here keeps a visited set, so no document can make it loop.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Collection, Iterable, Mapping, Sequence

from bot.records import Depth


def compute_depths(
    roots: Iterable[str],
    edges: Mapping[str, Sequence[str]],
    transparent: Collection[str] = (),
) -> dict[str, Depth]:
    """Depth of every node reachable from ``roots``; nodes not reached are left out (their depth is unknown).

    Distance counts one per edge, except that an edge leaving a ``transparent`` node costs nothing: a
    grouping node's children sit at the grouping node's own depth (a 0-1 breadth-first search).
    Distance 1 is direct, more is transitive; the roots themselves are not dependencies and are omitted.
    """
    root_set = set(roots)
    distance: dict[str, int] = dict.fromkeys(root_set, 0)
    queue: deque[str] = deque(root_set)
    while queue:
        node = queue.popleft()
        here = distance[node]
        cost = 0 if node in transparent and node not in root_set else 1
        for child in edges.get(node, ()):
            seen = distance.get(child)
            if seen is None or here + cost < seen:
                distance[child] = here + cost
                if cost:
                    queue.append(child)
                else:
                    queue.appendleft(child)
    return {
        node: Depth.DIRECT if dist <= 1 else Depth.TRANSITIVE for node, dist in distance.items() if node not in root_set
    }


def reachable(roots: Iterable[str], edges: Mapping[str, Sequence[str]]) -> set[str]:
    """Every node reachable from ``roots`` (roots included)."""
    seen = set(roots)
    stack = list(seen)
    while stack:
        for child in edges.get(stack.pop(), ()):
            if child not in seen:
                seen.add(child)
                stack.append(child)
    return seen
