"""Fetch the registry documents of the labelled resolution set (tests/data/resolve/labelled/labels.tsv).

``python bench/labelled_set.py --fetch`` asks PyPI's JSON API and the npm registry (plain HTTPS) for
every labelled package and writes the documents, trimmed to the fields a resolver may read, to
``tests/data/resolve/labelled/{pypi,npm}.json``; the labels are not changed by it. Without ``--fetch``
(as ``make bench`` runs it) it only prints the size of the set: nothing is fetched or written.
"""

from __future__ import annotations

import json
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

HERE = Path(__file__).resolve().parent.parent / "tests" / "data" / "resolve" / "labelled"
PYPI_INFO = ("name", "version", "home_page", "download_url", "project_urls", "bugtrack_url")
NPM_FIELDS = ("name", "repository", "homepage", "bugs")


def labels() -> list[tuple[str, str]]:
    rows = []
    for line in (HERE / "labels.tsv").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            ecosystem, package = line.split("\t")[:2]
            rows.append((ecosystem, package))
    return rows


def trim_pypi(doc: dict[str, Any]) -> dict[str, Any]:
    info = doc.get("info") or {}
    return {"info": {key: info.get(key) for key in PYPI_INFO}}


def trim_npm(doc: dict[str, Any]) -> dict[str, Any]:
    latest = (doc.get("dist-tags") or {}).get("latest")
    version = (doc.get("versions") or {}).get(latest) or {}
    out = {key: doc[key] for key in NPM_FIELDS if key in doc}
    out["dist-tags"] = {"latest": latest}
    out["versions"] = {latest: {key: version[key] for key in NPM_FIELDS if key in version}} if latest else {}
    return out


def fetch(client: httpx.Client, ecosystem: str, package: str) -> tuple[str, str, Any]:
    if ecosystem == "pypi":
        response = client.get(f"https://pypi.org/pypi/{package}/json")
        return ecosystem, package, trim_pypi(response.json()) if response.status_code == 200 else response.status_code
    response = client.get(f"https://registry.npmjs.org/{quote(package, safe='@')}")
    return ecosystem, package, trim_npm(response.json()) if response.status_code == 200 else response.status_code


def main() -> int:
    if "--fetch" not in sys.argv[1:]:
        stored = {e: len(json.loads((HERE / f"{e}.json").read_text(encoding="utf-8"))) for e in ("pypi", "npm")}
        print(f"labelled set: {len(labels())} labels, stored documents {stored} (--fetch to refresh them)")
        return 0
    found: dict[str, dict[str, Any]] = {"pypi": {}, "npm": {}}
    with (
        httpx.Client(timeout=30, headers={"User-Agent": "upkeep-labelled-set"}) as client,
        ThreadPoolExecutor(8) as pool,
    ):
        for ecosystem, package, doc in pool.map(lambda row: fetch(client, *row), labels()):
            found[ecosystem][package] = doc
    for ecosystem, docs in found.items():
        (HERE / f"{ecosystem}.json").write_text(json.dumps(docs, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        failed = {k: v for k, v in docs.items() if not isinstance(v, dict)}
        print(f"{ecosystem}: {len(docs) - len(failed)} documents, {len(failed)} not found {sorted(failed)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
