"""Depth in a dependency graph: direct, transitive or unknown. Cycle-safe and linear in the edges.

Graphs come from untrusted documents: they can be cyclic (trivy's ``libc6 ⇄ libcrypt1``), point at
refs that do not exist, or route through pseudo components (trivy's operating-system and lock-file
nodes). Every walk here keeps a visited set, so no document can make it loop.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Container, Iterable, Mapping, Sequence
from itertools import chain

from bot.records import Depth

_DIRECT, _TRANSITIVE = Depth.DIRECT, Depth.TRANSITIVE  # plain names: a member looked up on its enum costs ~70 ns


class NotIn:
    """Pass-through nodes given by what they are not: every node outside ``members``, plus ``also``.

    An SPDX document passes its files and snippets through, i.e. every node that is not a package;
    saying so costs nothing, while listing them would cost a pass over every edge of the document.
    Plain slots, not a frozen dataclass: made once per document, where a frozen dataclass's
    ``object.__setattr__`` per field costs more than a small document's whole depth walk.
    """

    __slots__ = ("also", "members")

    def __init__(self, members: Collection[str], also: Collection[str] = frozenset()) -> None:
        self.members = members
        self.also = also

    def __contains__(self, node: object) -> bool:
        return node not in self.members or node in self.also


def pass_through(
    edges: Mapping[str, Sequence[str]], packages: Collection[str], also: Collection[str]
) -> Container[str]:
    """The pass-through nodes of a graph whose nodes outside ``packages`` pass through, plus ``also``.

    Only a node with children can pass anything through, so a small graph gets them as a set of its parents
    (asked in C); a large one as :class:`NotIn`, so that no pass over its edges is needed.
    """
    if len(edges) < SMALL_GRAPH:
        return set(edges).difference(packages).union(also)
    return NotIn(packages, also=also)


def compute_depths(
    roots: Iterable[str],
    edges: Mapping[str, Sequence[str]],
    transparent: Container[str] = (),
) -> dict[str, Depth]:
    """Depth of every node reachable from ``roots``; nodes not reached are left out (their depth is unknown).

    Distance counts one per edge, except that an edge leaving a ``transparent`` node costs nothing: a
    grouping node's children sit at the grouping node's own depth. Distance 1 is direct, more is
    transitive; the roots themselves are not dependencies and are omitted. Only that split matters, so
    no distances are kept: the direct nodes are the roots' children and whatever transparent ones among
    them pass through; every other reachable node is transitive, i.e. reachable from a direct one.
    ``transparent`` is only asked about direct nodes, so a rule (:class:`NotIn`) is as cheap as a set.
    """
    if len(edges) < SMALL_GRAPH:
        return _small_depths(roots, edges, transparent)
    children_of = edges.get
    root_set = set(roots)
    direct: set[str] = set()
    stack = [child for root in root_set for child in children_of(root, ())]
    while stack:
        node = stack.pop()
        if node not in direct:
            direct.add(node)
            if node in transparent:  # a root among them has its children here already
                stack.extend(children_of(node, ()))
    direct -= root_set
    seen = direct | root_set
    transitive = _reach(direct, seen, children_of)
    depths = dict.fromkeys(transitive, _TRANSITIVE)
    depths.update(dict.fromkeys(direct, _DIRECT))
    return depths


SMALL_GRAPH = 64  # parents; measured: below this the plain walk wins, above it the set operations


def _small_depths(
    roots: Iterable[str], edges: Mapping[str, Sequence[str]], transparent: Container[str]
) -> dict[str, Depth]:
    """:func:`compute_depths` for a graph of few parents (every small document): one dict and two plain walks.

    Same answer; the sets and level-by-level walk of the general path cost more than such a graph's whole
    walk. A leaf has no entry in ``edges``: ``get`` without a default, tested, is the cheapest way past it
    (called on ``edges``, not bound to a local first: Python 3.11 specialises the call, binding only costs).
    """
    root_set = set(roots)
    direct, transitive = _DIRECT, _TRANSITIVE
    depths: dict[str, Depth] = {}
    stack: list[str] = []
    for root in root_set:
        kids = edges.get(root)
        if kids:
            stack += kids
    # Direct: the roots' children and what transparent ones among them pass through. Each node's children are
    # looked up once: a transparent node's join the direct ones, any other's are where the transitive walk
    # starts (most direct nodes of a small document have none, and are not looked up again).
    beyond: list[str] = []
    while stack:
        node = stack.pop()
        if node not in depths:
            depths[node] = direct
            kids = edges.get(node)
            if kids:
                if node in transparent:  # a root among them has its children here already
                    stack += kids
                else:
                    beyond += kids
    for root in root_set:
        depths.pop(root, None)
    while beyond:
        node = beyond.pop()
        if node not in depths and node not in root_set:
            depths[node] = transitive
            kids = edges.get(node)
            if kids:
                beyond += kids
    return depths


def reachable(roots: Iterable[str], edges: Mapping[str, Sequence[str]]) -> set[str]:
    """Every node reachable from ``roots`` (roots included)."""
    seen = set(roots)
    if len(edges) < SMALL_GRAPH:  # a plain walk: the level-by-level one costs a small graph more
        stack = list(seen)
        while stack:
            kids = edges.get(stack.pop())
            if kids:
                for child in kids:
                    if child not in seen:
                        seen.add(child)
                        stack.append(child)
        return seen
    return seen | _reach(seen, set(seen), edges.get)


_SMALL = 32  # a frontier this small is walked in Python: building the iterators below costs more


def _reach(start: set[str], seen: set[str], children_of: Callable[[str], Sequence[str] | None]) -> set[str]:
    """What ``start``'s children reach, outside ``seen`` (which grows by it). Each node is visited once.

    Breadth first, one level at a time; a large level with set operations, so that the work per node
    happens in C (a 50,000-node graph takes a few milliseconds instead of tens), a small one (every
    level of a small document) with a plain loop, which costs less than setting those up.
    """
    found: set[str] = set()
    frontier = start
    while frontier:
        if len(frontier) < _SMALL:
            level: set[str] = set()
            for node in frontier:
                kids = children_of(node)
                if kids:
                    level.update(kids)
        else:
            level = set(chain.from_iterable(filter(None, map(children_of, frontier))))
        level -= seen
        seen |= level
        found |= level
        frontier = level
    return found
