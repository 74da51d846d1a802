"""Resolution accuracy on the labelled set of real registry documents, per ecosystem.

The set is ``tests/data/resolve/labelled/``: ``labels.tsv`` gives, for each package, the repository
that makes it (or none, when it has no repository on a known forge), whether the registry document
names it at all, and why; ``pypi.json`` and
``npm.json`` hold the real PyPI JSON API and npm registry documents, trimmed to the fields a
resolver may read (fetched by ``bench/labelled_set.py``). The documents are served to the real
resolvers (the same ``PackageResolver`` the stage uses, deps.dev off: the labelled set holds no
deps.dev answers), and each answer is scored:

* right: the expected repository, or unresolved when none is expected or the document names none
  (only deps.dev could know it then; its answers are not in the set);
* missed: unresolved although the document names the expected repository;
* wrong: a repository other than the expected one (a confident wrong answer).

Accuracy is over the resolvable packages: a repository is expected and the document names it.

    .venv/bin/python bench/resolve_accuracy.py [--show-misses]
"""

from __future__ import annotations

import argparse
import asyncio
import json
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import httpx

from bot.http import RetryPolicy, make_async_client
from bot.inventory.purls import normalise_purl
from bot.resolve.fetch import Fetcher
from bot.resolve.interface import PackageRef, Resolution
from bot.resolve.npm import NpmResolver
from bot.resolve.overrides import Overrides
from bot.resolve.pypi import PyPIResolver, pep503_name
from bot.resolve.repo_url import forge_hosts
from bot.resolve.stage import PackageResolver

LABELLED = Path(__file__).resolve().parent.parent / "tests" / "data" / "resolve" / "labelled"
PYPI, NPM = "https://pypi.labelled", "https://npm.labelled"


@dataclass(frozen=True)
class Scored:
    ecosystem: str
    package: str
    expected: str | None
    in_document: bool
    got: str | None
    detail: str  # provenance or reason
    verdict: str  # right | missed | wrong


def load_labels() -> list[tuple[str, str, str | None, bool, str]]:
    """(ecosystem, package, expected upstream or None, whether the document names it, why)."""
    rows = []
    for line in (LABELLED / "labels.tsv").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            ecosystem, package, expected, in_document, why = line.split("\t")
            rows.append((ecosystem, package, expected or None, in_document == "yes", why))
    return rows


def routes() -> dict[str, bytes]:
    served: dict[str, bytes] = {}
    for name, document in json.loads((LABELLED / "pypi.json").read_text(encoding="utf-8")).items():
        served[f"{PYPI}/pypi/{pep503_name(name)}/json"] = json.dumps(document).encode()
    for name, document in json.loads((LABELLED / "npm.json").read_text(encoding="utf-8")).items():
        served[f"{NPM}/{name.replace('/', '%2F')}"] = json.dumps(document).encode()
    return served


def verdict(expected: str | None, in_document: bool, got: str | None) -> str:
    if got is None:
        return "right" if expected is None or not in_document else "missed"
    return "right" if got == expected else "wrong"


async def evaluate() -> list[Scored]:
    served = routes()

    def handler(request: httpx.Request) -> httpx.Response:
        body = served.get(str(request.url))
        return httpx.Response(200, content=body) if body is not None else httpx.Response(404)

    forges = forge_hosts(())
    client = make_async_client(transport=httpx.MockTransport(handler), policy=RetryPolicy(max_retries=0))
    async with client:
        fetcher = Fetcher(client, per_host_limit=16, global_limit=32)
        resolvers = {"pypi": PyPIResolver(PYPI, forges), "npm": NpmResolver(NPM, forges)}
        resolver = PackageResolver(resolvers, Overrides({}), None, fetcher, forges)  # type: ignore[arg-type]
        scored = []
        for ecosystem, package, expected, in_document, _why in load_labels():
            info = normalise_purl(f"pkg:{ecosystem}/{package.replace('@', '%40')}")
            ref = PackageRef(info.package_key, ecosystem, info.namespace, info.name, None, info.purl)
            outcome = await resolver.resolve(ref)
            got = str(outcome.upstream) if isinstance(outcome, Resolution) else None
            detail = outcome.provenance if isinstance(outcome, Resolution) else outcome.reason
            scored.append(
                Scored(ecosystem, package, expected, in_document, got, detail, verdict(expected, in_document, got))
            )
    return scored


def table(scored: list[Scored]) -> list[str]:
    by: dict[str, Counter[str]] = defaultdict(Counter)
    for s in scored:
        by[s.ecosystem][s.verdict] += 1
        resolvable = bool(s.expected and s.in_document)
        by[s.ecosystem]["resolvable" if resolvable else "not resolvable"] += 1
        if resolvable and s.verdict == "right":
            by[s.ecosystem]["resolvable right"] += 1
    lines = [f"{'ecosystem':<10} {'labelled':>8} {'resolvable':>10} {'right':>6} {'missed':>6} {'wrong':>6} accuracy"]
    for ecosystem in [*sorted(by), "all"]:
        counts = sum(by.values(), Counter()) if ecosystem == "all" else by[ecosystem]
        resolvable = counts["resolvable"]
        accuracy = counts["resolvable right"] / resolvable if resolvable else 1.0
        lines.append(
            f"{ecosystem:<10} {counts['right'] + counts['missed'] + counts['wrong']:>8} {resolvable:>10} "
            f"{counts['right']:>6} {counts['missed']:>6} {counts['wrong']:>6} {accuracy:8.1%}"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--show-misses", action="store_true", help="List every missed or wrong package.")
    args = parser.parse_args()
    scored = asyncio.run(evaluate())
    print("\n".join(table(scored)))
    print("accuracy: resolvable packages resolved to the labelled repository; wrong: a confident wrong answer")
    print("not covered here (this machine reaches only PyPI and npm): crates.io, Go, Maven, RubyGems, NuGet,")
    print("Packagist, deps.dev; their rules are tested on real documents in tests/test_resolve_registries.py")
    if args.show_misses:
        for s in scored:
            if s.verdict != "right":
                print(f"{s.verdict:<7} {s.ecosystem}/{s.package}: expected {s.expected}, got {s.got} ({s.detail})")


if __name__ == "__main__":
    main()
