"""Installed size of upkeep's runtime dependencies, and of the trees only one of them pulls in.

    .venv/bin/python bench/dependency_sizes.py [--only mcp]

Reads the installed distributions' RECORD files (the bytes pip wrote for each), walks the
requirements of ``upkeep`` (without extras), and prints each distribution's size, the total, and
for each direct dependency the size of what only it needs (what dropping it would save in the
image). Run it in the environment the image installs (the lock file's versions).
"""

from __future__ import annotations

import argparse
import re
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement


def _name(text: str) -> str:
    return re.sub(r"[-_.]+", "-", text).lower()


def installed_bytes(dist: metadata.Distribution) -> int:
    total = 0
    for file in dist.files or ():
        path = Path(str(dist.locate_file(file)))
        if path.is_file():
            total += path.stat().st_size
    return total


def requirements(dist: metadata.Distribution, dists: dict[str, metadata.Distribution]) -> list[str]:
    """Names this distribution needs at run time on this platform, with the extras it asks of them
    (``psycopg[binary]`` brings ``psycopg-binary``); its own extras (``upkeep[dev]``) are left out."""
    names = []
    for line in dist.requires or ():
        requirement = Requirement(line)
        if requirement.marker is not None and not requirement.marker.evaluate({"extra": ""}):
            continue
        names.append(_name(requirement.name))
        wanted = dists.get(_name(requirement.name))
        for extra in requirement.extras if wanted is not None else ():
            for sub in wanted.requires or ():
                needed = Requirement(sub)
                if needed.marker is not None and needed.marker.evaluate({"extra": extra}):
                    names.append(_name(needed.name))
    return names


def closure(roots: list[str], graph: dict[str, list[str]]) -> set[str]:
    seen: set[str] = set()
    stack = list(roots)
    while stack:
        name = stack.pop()
        if name in seen or name not in graph:
            continue
        seen.add(name)
        stack.extend(graph[name])
    return seen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="print only this direct dependency's exclusive tree")
    args = parser.parse_args()
    dists = {_name(d.metadata["Name"]): d for d in metadata.distributions()}
    graph = {name: requirements(dist, dists) for name, dist in dists.items()}
    sizes = {name: installed_bytes(dist) for name, dist in dists.items()}
    direct = graph["upkeep"]
    everything = closure(direct, graph)
    mib = 1024 * 1024
    total = sum(sizes[n] for n in everything) / mib
    print(f"upkeep runtime: {len(everything)} distributions, {total:.1f} MiB installed")
    for name in [args.only] if args.only else sorted(direct):
        others = closure([d for d in direct if d != name], graph)
        exclusive = closure([name], graph) - others
        total = sum(sizes[n] for n in exclusive)
        parts = ", ".join(f"{n} {sizes[n] / mib:.1f}" for n in sorted(exclusive, key=lambda n: -sizes[n]))
        print(f"{name:22} only it needs {total / mib:6.1f} MiB: {parts}")


if __name__ == "__main__":
    main()
