"""Parse time of upkeep's SBOM parsers on large generated documents, next to plain JSON decoding.

Generates a CycloneDX 1.6 JSON document (≥ 50,000 components, a dependency graph) and an SPDX 2.3
JSON document of the same size, then prints the CPU time (``time.process_time``, so a busy machine
distorts less), best of ``--repeat`` interleaved runs, of:

* ``json.loads`` of the bytes, the plain call (the cyclic GC running, as in any program), and with
  the GC paused: the floor any Python reader of JSON pays;
* upkeep's ``parse_bytes`` (bytes → ParsedDocument with normalised purls, keys, depth and scope),
  with the purl caches cleared before every run, as for a first document: as it is called (it
  pauses the cyclic GC itself), and with the GC running throughout, as ``json.loads`` runs;
* cyclonedx-python-lib's ``Bom.from_json`` deserialiser, when installed (CycloneDX only), GC paused.

The ``json.loads`` target is read against the plain call, at equal GC conditions: upkeep with the GC
running (no pause of its own) against ``json.loads`` with the GC running. The ratio with the GC
paused on both sides is printed too: that is the decoding floor, and what is left above it is
normalising 50,000 distinct purls and walking the graph in Python.

Targets: upkeep ≤ 1.5 × json.loads; upkeep ≥ 5 × faster than cyclonedx-python-lib.

    .venv/bin/python bench/parse_sboms.py [--components 50000] [--repeat 3] [--skip-cdx-lib]
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

from bot.inventory.detect import _parse_bytes, parse_bytes  # _parse_bytes: the same, without the GC pause
from bot.inventory.purls import _written_version_warning, normalise_purl

LICENSES = ["MIT", "Apache-2.0", "BSD-3-Clause", "ISC", "MPL-2.0"]


def _package(index: int) -> tuple[str, str | None, str, str]:
    """(purl, group, name, version) spread over the common ecosystems, with npm scopes and Maven groups."""
    version = f"{index % 9}.{index % 17}.{index % 5}"
    kind = index % 5
    if kind == 0:
        return f"pkg:npm/pkg-{index}@{version}", None, f"pkg-{index}", version
    if kind == 1:
        scope = f"@scope{index % 97}"
        return f"pkg:npm/%40scope{index % 97}/lib-{index}@{version}", scope, f"lib-{index}", version
    if kind == 2:
        return f"pkg:pypi/py-project-{index}@{version}", None, f"py_project.{index}", version
    if kind == 3:
        group = f"org.example{index % 53}"
        return f"pkg:maven/{group}/artifact-{index}@{version}", group, f"artifact-{index}", version
    module = f"github.com/owner{index % 71}/mod{index}"
    return f"pkg:golang/{module}@v{version}", None, module, f"v{version}"


def _edges(count: int, rng: random.Random) -> list[list[int]]:
    return [sorted({rng.randrange(count) for _ in range(rng.randint(0, 4))} - {i}) for i in range(count)]


def make_cyclonedx(count: int, seed: int = 7) -> bytes:
    rng = random.Random(seed)  # test data, not secrets
    components: list[dict[str, Any]] = []
    for index in range(count):
        purl, group, name, version = _package(index)
        component: dict[str, Any] = {
            "type": "library",
            "bom-ref": f"ref-{index}",
            "name": name,
            "version": version,
            "purl": purl,
            "licenses": [{"license": {"id": LICENSES[index % len(LICENSES)]}}],
        }
        if group:
            component["group"] = group
        if index % 11 == 0:
            component["scope"] = "excluded"
        components.append(component)
    edges = _edges(count, rng)
    dependencies = [{"ref": "root", "dependsOn": [f"ref-{i}" for i in range(0, count, max(1, count // 300))]}]
    dependencies += [{"ref": f"ref-{i}", "dependsOn": [f"ref-{j}" for j in kids]} for i, kids in enumerate(edges)]
    document = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "serialNumber": "urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79",
        "version": 1,
        "metadata": {
            "component": {"type": "application", "bom-ref": "root", "name": "bench-app", "group": "acme"},
            "tools": {"components": [{"type": "application", "name": "bench"}]},
        },
        "components": components,
        "dependencies": dependencies,
    }
    return json.dumps(document, indent=1).encode()


def make_spdx(count: int, seed: int = 11) -> bytes:
    rng = random.Random(seed)
    packages = [
        {
            "name": "acme/bench-app",
            "SPDXID": "SPDXRef-root",
            "downloadLocation": "NOASSERTION",
            "versionInfo": "main",
            "externalRefs": [
                {
                    "referenceCategory": "PACKAGE-MANAGER",
                    "referenceType": "purl",
                    "referenceLocator": "pkg:github/acme/bench-app@main",
                }
            ],
        }
    ]
    relationships = [
        {"spdxElementId": "SPDXRef-DOCUMENT", "relationshipType": "DESCRIBES", "relatedSpdxElement": "SPDXRef-root"}
    ]
    for index in range(count):
        purl, _, name, version = _package(index)
        packages.append(
            {
                "name": name,
                "SPDXID": f"SPDXRef-{index}",
                "versionInfo": version,
                "downloadLocation": "NOASSERTION",
                "filesAnalyzed": False,
                "licenseConcluded": LICENSES[index % len(LICENSES)],
                "licenseDeclared": "NOASSERTION",
                "copyrightText": "NOASSERTION",
                "externalRefs": [
                    {"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl", "referenceLocator": purl}
                ],
            }
        )
    for index in range(0, count, max(1, count // 300)):
        relationships.append(
            {
                "spdxElementId": "SPDXRef-root",
                "relationshipType": "DEPENDS_ON",
                "relatedSpdxElement": f"SPDXRef-{index}",
            }
        )
    for index, kids in enumerate(_edges(count, rng)):
        kind = "DEPENDS_ON"
        for kid in kids:
            relationships.append(
                {"spdxElementId": f"SPDXRef-{index}", "relationshipType": kind, "relatedSpdxElement": f"SPDXRef-{kid}"}
            )
    document = {
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": "acme/bench-app",
        "documentNamespace": "https://example.com/spdx/bench",
        "creationInfo": {"created": "2026-11-26T00:00:00Z", "creators": ["Tool: bench"]},
        "packages": packages,
        "relationships": relationships,
    }
    return json.dumps(document, indent=1).encode()


def gc_paused(run: Callable[[], object]) -> object:
    """Run with the cyclic GC paused, as ``parse_bytes`` runs: the same GC conditions for every contender."""
    gc.disable()
    try:
        return run()
    finally:
        gc.enable()


def cold_caches() -> None:
    """Forget every normalised purl and version, as for the first document a process reads."""
    normalise_purl.cache_clear()
    _written_version_warning.cache_clear()


def nothing() -> None:
    """No preparation before a run."""


def cpu_time(run: Callable[[], object], before: Callable[[], None] = lambda: None) -> float:
    """CPU seconds of one run: process time, so other busy processes on the machine do not count."""
    before()
    gc.collect()
    started = time.process_time()
    run()
    return time.process_time() - started


def interleaved(repeat: int, runs: dict[str, tuple[Callable[[], object], Callable[[], None]]]) -> dict[str, float]:
    """Best of ``repeat`` for each run, taking turns so that drifting machine load hits all of them alike."""
    best = dict.fromkeys(runs, float("inf"))
    for _ in range(repeat):
        for name, (run, before) in runs.items():
            best[name] = min(best[name], cpu_time(run, before))
    return best


def peak_memory(run: Callable[[], object]) -> int:
    """Peak bytes Python allocated during one run (tracemalloc), the result included while it is held."""
    tracemalloc.start()
    try:
        result = run()
        peak = tracemalloc.get_traced_memory()[1]
        del result
        return peak
    finally:
        tracemalloc.stop()


def cyclonedx_lib_loader() -> Callable[[bytes], object] | None:
    try:
        from cyclonedx.model.bom import Bom
    except ImportError:
        return None

    def load(data: bytes) -> object:
        return Bom.from_json(json.loads(data))  # type: ignore[attr-defined]

    return load


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--components", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-cdx-lib", action="store_true", help="do not time cyclonedx-python-lib")
    args = parser.parse_args()

    documents = {"CycloneDX 1.6 JSON": make_cyclonedx(args.components), "SPDX 2.3 JSON": make_spdx(args.components)}
    cdx_lib = None if args.skip_cdx_lib else cyclonedx_lib_loader()
    print(f"{args.components:,} components per document, best of {args.repeat}")
    for label, data in documents.items():
        parsed = parse_bytes(data, source=label)
        edges = "graph" if parsed.has_graph else "no graph"
        print(f"\n{label}: {len(data) / 1e6:.1f} MB, {len(parsed.components):,} components, {edges}")
        # Drop it: live objects make every cyclic-GC pass slower, which would flatter upkeep (GC paused)
        # against json.loads (GC running).
        del parsed
        times = interleaved(
            args.repeat,
            {
                "json": (lambda d=data: json.loads(d), nothing),
                "json-gc-paused": (lambda d=data: gc_paused(lambda: json.loads(d)), nothing),
                "upkeep": (lambda d=data, s=label: parse_bytes(d, source=s), cold_caches),
                "upkeep-gc-running": (lambda d=data, s=label: _parse_bytes(d, source=s), cold_caches),
            },
        )
        plain, floor = times["json"], times["json-gc-paused"]
        upkeep, running = times["upkeep"], times["upkeep-gc-running"]
        print(f"  json.loads, GC running (the plain call)  {plain * 1000:7.0f} ms")
        print(f"  json.loads, GC paused (the floor)        {floor * 1000:7.0f} ms")
        print(f"  upkeep parse_bytes, as called            {upkeep * 1000:7.0f} ms   (it pauses the GC itself)")
        print(f"  upkeep parse_bytes, GC running           {running * 1000:7.0f} ms")
        print(f"  upkeep / json.loads, both GC running     {running / plain:7.2f} x    target <= 1.5")
        print(f"  upkeep as called / plain json.loads      {upkeep / plain:7.2f} x    target <= 1.5")
        print(f"  upkeep / json.loads, both GC paused      {upkeep / floor:7.2f} x    (above the decoding floor)")
        json_peak = peak_memory(lambda d=data: json.loads(d))
        upkeep_peak = peak_memory(lambda d=data, s=label: parse_bytes(d, source=s))
        print(f"  peak memory: json.loads {json_peak / 1e6:.0f} MB, upkeep parse_bytes {upkeep_peak / 1e6:.0f} MB")
        if cdx_lib is not None and label.startswith("CycloneDX"):
            t_lib = cpu_time(lambda d=data: gc_paused(lambda: cdx_lib(d)))
            print(
                f"  cyclonedx-python-lib, GC paused          {t_lib * 1000:7.0f} ms   "
                f"upkeep is {t_lib / upkeep:.1f} x faster (target >= 5)"
            )
    if cdx_lib is None and not args.skip_cdx_lib:
        print("\ncyclonedx-python-lib is not installed: pip install -e '.[dev]' to compare")


if __name__ == "__main__":
    main()
