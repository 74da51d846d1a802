"""From format-neutral entries and edges to the shared :class:`ParsedDocument`.

One place for the rules every format shares: purl normalisation, keys for purl-less components,
the document's subject (root) versus its dependencies, depth from the graph, scope, and warnings.
"""

from __future__ import annotations

from collections.abc import Collection, Container, Mapping, Sequence
from itertools import chain
from types import MappingProxyType
from typing import TypeVar

from bot.inventory.graph import SMALL_GRAPH, compute_depths, pass_through, reachable
from bot.inventory.interface import Entry
from bot.inventory.purls import PurlInfo, nopurl_keys, normalise_purl, version_warning
from bot.records import Component, Depth, DocumentSubject, ParsedDocument, SbomFormat, Scope, Usage

_DEPTH_RANK = {Depth.DIRECT: 0, Depth.TRANSITIVE: 1, Depth.UNKNOWN: 2}
_SCOPE_RANK = {Scope.RUNTIME: 0, Scope.DEVELOPMENT: 1, Scope.UNKNOWN: 2}
# members as plain names: an enum member looked up on its class costs ~70 ns, a few per node of a graph
_RUNTIME, _DEVELOPMENT, _UNKNOWN_DEPTH, _DIRECT = Scope.RUNTIME, Scope.DEVELOPMENT, Depth.UNKNOWN, Depth.DIRECT
_EXAMPLES = 5
_FEW_ROOTS = 4  # asked in a list: a set costs more to make than a few comparisons (some tools describe 10,000)
T = TypeVar("T")


class Warnings:
    """Warnings grouped by kind, so a document with 50,000 unversioned components yields one line, not 50,000.

    Plain slots, not a dataclass: made once per document, where a dataclass's field factories cost as much as
    reading a small document's components.
    """

    __slots__ = ("groups", "single")

    def __init__(self) -> None:
        self.groups: dict[str, dict[str, None]] = {}  # kind -> distinct examples, in order
        self.single: list[str] = []

    def add(self, kind: str, example: str) -> None:
        examples = self.groups.get(kind)
        if examples is None:
            self.groups[kind] = {example: None}
        else:
            examples[example] = None

    def note(self, text: str) -> None:
        self.single.append(text)

    def lines(self) -> tuple[str, ...]:
        if not self.groups:
            return tuple(self.single)
        out = list(self.single)
        for kind, distinct in self.groups.items():
            if len(distinct) == 1:
                out.append(f"1 {kind}: {next(iter(distinct))}")
                continue
            examples = list(distinct)
            shown = ", ".join(examples[:_EXAMPLES])
            more = f" and {len(examples) - _EXAMPLES} more" if len(examples) > _EXAMPLES else ""
            out.append(f"{len(examples)} {kind}: {shown}{more}")
        return tuple(out)


_NO_CONTAINERS: Mapping[str, str] = MappingProxyType({})  # shared, read-only: only CycloneDX nests components


class Graph:
    """Dependency edges by document ref, parent to children.

    ``edge_scopes`` is set by formats whose edge types say runtime or development (SPDX); then
    ``development`` holds the (parent, child) pairs of dev/test/build edges. Pass-through nodes are
    ``transparent`` (CycloneDX's grouping entries and scan targets, as its reader finds them; scan targets
    have no entries of their own and are listed in ``scan_targets`` too) and, when ``packages`` is given
    (SPDX 3), every node not in it; with ``entries_are_packages`` (SPDX 2), every node that is no entry's
    ref, worked out only when a walk needs it (a graph of one root and its children never does).
    Plain slots, not a dataclass, for the reason :class:`Warnings` gives.
    """

    __slots__ = (
        "containers",
        "development",
        "edge_scopes",
        "edges",
        "entries_are_packages",
        "flat_means_unknown",
        "packages",
        "roots",
        "scan_targets",
        "transparent",
    )

    def __init__(
        self,
        *,
        edges: dict[str, list[str]] | None = None,
        roots: list[str] | None = None,
        edge_scopes: bool = False,
        containers: Mapping[str, str] = _NO_CONTAINERS,
    ) -> None:
        self.edges: dict[str, list[str]] = {} if edges is None else edges
        self.roots: list[str] = [] if roots is None else roots
        # when known (SPDX 3): every other node is a file or snippet, passed through
        self.packages: Collection[str] | None = None
        self.entries_are_packages = False
        self.flat_means_unknown = False  # GitHub exports list every package under the repository
        self.edge_scopes = edge_scopes
        self.development: set[tuple[str, str]] = set()
        self.containers = containers  # nested ref -> container ref (CycloneDX)
        # refs of what a scanner scanned (trivy's lock files and binaries): passed through, and no entry
        self.scan_targets: Collection[str] = ()
        # refs of the nodes that pass their children through at their own depth (grouping nodes, scan targets)
        self.transparent: Collection[str] = ()

    def add(self, parent: str, child: str, *, development: bool = False) -> None:
        self.edges.setdefault(parent, []).append(child)
        if development:
            self.development.add((parent, child))

    def runtime_edges(self) -> dict[str, list[str]]:
        dev = self.development
        return {parent: [c for c in kids if (parent, c) not in dev] for parent, kids in self.edges.items()}


def _component(entry: Entry, info: PurlInfo | None, warnings: Warnings) -> Component:
    """The component of an entry whose purl is missing, invalid or not exact, its warnings added."""
    if info is not None:
        if info.problem:
            warnings.add("purls break the purl spec (kept as given)", f"{entry.purl} ({info.problem})")
        if info.valid:
            version = info.version if info.version is not None else entry.version
            problem = version_warning(version)
            if problem:
                warnings.add("components have no exact version (kept as given)", f"{info.purl} {problem}")
            # positional: this runs once per component of documents with 50,000 of them
            return Component(
                info.key,
                info.package_key,
                info.purl,
                info.ecosystem,
                info.namespace,
                info.name,
                version,
                entry.licenses,
            )
    key, package_key = nopurl_keys(entry.ecosystem_hint, entry.group, entry.name, entry.version)
    if not entry.purl:
        warnings.add("components have no purl (kept for name-based resolution)", key[7:])  # without "nopurl:"
    return Component(
        key,
        package_key,
        entry.purl,  # an unparseable purl is kept as given
        entry.ecosystem_hint,
        entry.group,
        entry.name,
        entry.version,
        entry.licenses,
    )


INFERRED_ROOT = "\x00inferred-root"  # never a document ref: it holds no NUL
_FLAT = (
    "every package is listed as a dependency of the repository itself: "
    "direct and transitive cannot be told apart, usage depth is unknown"
)


def _graph_facts(
    entries: Sequence[Entry], graph: Graph | None, warnings: Warnings
) -> tuple[bool, dict[str, Depth], bool, Mapping[str, Scope]]:
    """Whether the graph has edges, depth by ref, whether depth was inferred (:func:`_depths`), scope by ref
    (:func:`_graph_scopes`).

    A graph whose one parent is a root (most small documents) is answered here at once: its children are
    direct, with no walk and no pass-through rule, as nothing lies deeper.
    """
    if graph is not None and len(graph.edges) == 1:
        [(parent, kids)] = graph.edges.items()
        if kids and parent in graph.roots:
            if graph.flat_means_unknown:
                warnings.note(_FLAT)
                depths: dict[str, Depth] = {}
            else:
                depths = dict.fromkeys(kids, _DIRECT)
                depths.pop(parent, None)
                if graph.containers:
                    depths = _contained(depths, graph)
            if not graph.edge_scopes:
                return True, depths, False, {}
            if not graph.development:  # every edge is a runtime one
                return True, depths, False, dict.fromkeys(kids, _RUNTIME)
            return True, depths, False, _small_graph_scopes(graph)
    has_edges = graph is not None and any(graph.edges.values())
    depths, inferred = _depths(entries, graph, warnings, has_edges)
    if graph is None or not graph.edge_scopes or not has_edges:  # asked here: most formats' edges say no scope
        return has_edges, depths, inferred, {}
    return has_edges, depths, inferred, _graph_scopes(graph)


def _depths(
    entries: Sequence[Entry], graph: Graph | None, warnings: Warnings, has_edges: bool
) -> tuple[dict[str, Depth], bool]:
    """Depth by ref, and whether the root's direct dependencies were inferred (the graph never names the root)."""
    if graph is None or not has_edges:
        warnings.note("no dependency graph: usage depth is unknown")
        return _contained({}, graph), False
    edges: Mapping[str, Sequence[str]] = graph.edges
    roots = graph.roots
    if len(roots) != 1 or not edges.get(roots[0]):  # one root with children, the common case, is kept as it is
        roots = [root for root in roots if edges.get(root)]
    inferred = False
    if not roots:
        # Read the graph as it stands: what nothing depends on is what the (unnamed) root uses directly.
        targets: set[str] = set().union(*graph.edges.values())
        subjects = set(graph.roots)
        nodes = [e.ref for e in entries if e.ref is not None]
        tops = [ref for ref in [*nodes, *graph.scan_targets] if ref not in targets and ref not in subjects]
        warnings.note(
            "the dependency graph never references the document's root: the "
            f"{len(tops)} components nothing depends on are taken as its direct dependencies (inferred)"
        )
        edges = {**graph.edges, INFERRED_ROOT: tops}
        roots, inferred = [INFERRED_ROOT], True
    if graph.flat_means_unknown and _only_from(roots, graph.edges):
        warnings.note(_FLAT)
        return {}, False
    transparent: Container[str] = graph.transparent
    packages = graph.packages
    if packages is None and graph.entries_are_packages:
        packages = {entry.ref for entry in entries}  # type: ignore[misc]  # a ref of None is no node: harmless
    if packages is not None:
        transparent = pass_through(edges, packages, graph.transparent)
    depths = compute_depths(roots, edges, transparent)
    return (_contained(depths, graph) if graph.containers else depths), inferred


def _only_from(roots: Collection[str], edges: Mapping[str, Sequence[str]]) -> bool:
    """Whether every edge leaves one of ``roots`` (a flat graph); a plain loop, cheaper than a generator."""
    for parent, kids in edges.items():  # noqa: SIM110 - a generator in all() costs a small document more
        if kids and parent not in roots:
            return False
    return True


def _contained(depths: dict[str, Depth], graph: Graph | None) -> dict[str, Depth]:
    """A nested component the graph does not place sits at its container's depth (the root's parts are direct)."""
    if graph is None or not graph.containers:
        return depths
    roots = set(graph.roots)
    for child in graph.containers:
        if child in depths:
            continue
        seen: set[str] = set()
        container: str | None = graph.containers[child]
        while container is not None and container not in seen and container not in depths and container not in roots:
            seen.add(container)
            container = graph.containers.get(container)
        if container is not None and container in roots:
            depths[child] = Depth.DIRECT
        elif container is not None and container in depths:
            depths[child] = depths[container]
    return depths


def _graph_scopes(graph: Graph) -> Mapping[str, Scope]:
    """Scope from edge types (SPDX), for a graph with edges whose types say it: reached only through
    dev/test/build edges means development."""
    if not graph.development:  # every edge is a runtime one: whatever an edge reaches is runtime
        return dict.fromkeys(chain.from_iterable(graph.edges.values()), _RUNTIME)  # the dict drops repeats
    if len(graph.edges) < SMALL_GRAPH:
        return _small_graph_scopes(graph)
    runtime_edges = graph.runtime_edges()
    scopes: dict[str, Scope] = {}
    incoming_runtime: set[str] = set().union(*runtime_edges.values())
    for kids in graph.edges.values():
        for child in kids:
            scopes[child] = _RUNTIME if child in incoming_runtime else _DEVELOPMENT
    if graph.roots:
        everything = reachable(graph.roots, graph.edges)
        runtime = reachable(graph.roots, runtime_edges)
        for node in everything:
            scopes[node] = _RUNTIME if node in runtime else _DEVELOPMENT
    return scopes


def _small_graph_scopes(graph: Graph) -> dict[str, Scope]:
    """:func:`_graph_scopes` of a small graph with development edges: the same answer from plain loops that
    ask each edge whether it is a development one, instead of building the runtime edges and walking twice.
    From the roots, one walk along runtime edges, then one over what lies past a development edge alone
    (not a second walk over everything reached: a small document's dev edges lead to a leaf or two)."""
    edges, development = graph.edges, graph.development
    scopes: dict[str, Scope] = {}
    for parent, kids in edges.items():  # runtime if any runtime edge comes in, else development
        for child in kids:
            if (parent, child) not in development:
                scopes[child] = _RUNTIME
            elif child not in scopes:
                scopes[child] = _DEVELOPMENT
    if graph.roots:  # what the roots reach: runtime only if reached through runtime edges alone
        runtime = set(graph.roots)
        stack = list(runtime)
        crossed: list[str] = []  # children reached over a development edge: the rest of what the roots reach
        while stack:
            node = stack.pop()
            children = edges.get(node)
            if children:
                for child in children:
                    if child not in runtime:
                        if (node, child) in development:
                            crossed.append(child)
                        else:
                            runtime.add(child)
                            stack.append(child)
        for node in runtime:
            scopes[node] = _RUNTIME
        # the development side alone, from where it was crossed into: no second walk over everything reached
        developed: set[str] = set()
        while crossed:
            node = crossed.pop()
            if node not in runtime and node not in developed:
                developed.add(node)
                scopes[node] = _DEVELOPMENT
                children = edges.get(node)
                if children:
                    crossed += children
    return scopes


def _merged(previous: Usage, depth: Depth, scope: Scope) -> Usage:
    """The usage of a component listed more than once: the closest depth and the runtime scope win."""
    return Usage(
        previous.component_key,
        min(previous.depth, depth, key=_DEPTH_RANK.__getitem__),
        min(previous.scope, scope, key=_SCOPE_RANK.__getitem__),
    )


def _names_a_root(entries: Sequence[Entry], roots: Collection[str]) -> bool:
    """Whether an entry is one of the graph's roots (mostly none is: the subject is given apart)."""
    for entry in entries:  # noqa: SIM110 - a generator in any() costs a small document more
        if entry.ref in roots:
            return True
    return False


def assemble(
    *,
    sbom_format: SbomFormat,
    spec_version: str,
    entries: Sequence[Entry],
    graph: Graph | None,
    repo_hint: str | None = None,
    repo_hint_source: str | None = None,
    warnings: Warnings | None = None,
    subject: Entry | None = None,
    subject_vcs: Mapping[str, str] | None = None,
    subject_where: str = "described package",
) -> ParsedDocument:
    """Build the document record. Entries that are the document's subject (graph roots) are not usages.

    ``subject`` is the document's root when it is not among ``entries`` (CycloneDX ``metadata.component``);
    otherwise the one entry the graph's roots name is the subject (none when they name several).
    ``subject_vcs`` maps a ref to a VCS URL the document gives for it (SPDX ``downloadLocation``).
    """
    warnings = warnings or Warnings()
    roots = graph.roots if graph is not None else None
    used: Sequence[Entry] = entries
    # refs are strings: a ref of None is never among the roots. Asked at once first: mostly no entry is a root
    if roots and (subject is None or _names_a_root(entries, roots)):
        root_refs = roots if len(roots) < _FEW_ROOTS else set(roots)
        kept: list[Entry] = []
        described: list[Entry] = []
        for entry in entries:  # one pass, in document order (no call, no bound methods: cheaper at any size)
            (described if entry.ref in root_refs else kept).append(entry)
        used = kept
        if subject is None:
            subject = described[0] if len(described) == 1 else None
        if not used and len(entries) > 1 and not (graph and graph.flat_means_unknown):
            # Every package is described (some tools DESCRIBE each one): they are the inventory, not one
            # subject. A lone described package (a GitHub export of a repository without dependencies)
            # is the repository itself and is not a usage of anything.
            used = entries
        elif len(used) < len(entries):
            for entry in described:
                if entry.purl:
                    problem = normalise_purl(entry.purl).problem
                    if problem:
                        warnings.note(f"the document's subject {entry.purl} breaks the purl spec: {problem}")
    has_edges, depths, inferred, scopes = _graph_facts(entries, graph, warnings)
    # typed for refs that may be None: a None is never a key, so the default comes back
    depth_by_ref: dict[str | None, Depth] = depths  # type: ignore[assignment]
    scope_by_ref: Mapping[str | None, Scope] = scopes  # type: ignore[assignment]
    unknown = _UNKNOWN_DEPTH
    components: list[Component] = []
    usages: dict[str, Usage] = {}  # by component key: a component listed twice is merged as it comes
    # once per component (50,000 in a large document): the common case inlined, the rest in _component;
    # depth and scope by document ref (a ref of None, or outside the graph, is unknown / the entry's own).
    # Methods called on their objects, not bound once to locals: Python 3.11 specialises list.append and
    # dict.get calls, and binding them costs a small document more than it saves a large one (nothing).
    for entry in used:
        purl = entry.purl
        info = normalise_purl(purl) if purl else None
        if info is not None and info.exact:
            key = info.key
            components.append(
                Component(
                    key,
                    info.package_key,
                    info.purl,
                    info.ecosystem,
                    info.namespace,
                    info.name,
                    info.version,
                    entry.licenses,
                )
            )
        else:
            component = _component(entry, info, warnings)
            key = component.key
            components.append(component)
        ref = entry.ref
        scope = scope_by_ref.get(ref, entry.scope) if scopes else entry.scope
        if key in usages:
            usages[key] = _merged(usages[key], depth_by_ref.get(ref, unknown), scope)
        else:
            usages[key] = Usage(key, depth_by_ref.get(ref, unknown), scope)
    return ParsedDocument(
        sbom_format,
        spec_version,
        tuple(components),
        tuple(usages.values()),
        has_edges,
        repo_hint,
        repo_hint_source if repo_hint else None,
        warnings.lines(),
        None if subject is None else _subject(subject, subject_vcs, subject_where),
        inferred,
    )


def _subject(entry: Entry, vcs: Mapping[str, str] | None, where: str) -> DocumentSubject:
    url = vcs.get(entry.ref or "") if vcs else None
    return DocumentSubject(entry.purl, entry.name or None, entry.group, entry.version, (url,) if url else (), where)
