"""Ingest a corpus of real SBOMs as a new user would, and print per file what happened.

Per file: the status (stored; refused, and why; stored again with ``--repo`` when refused for
identity, so its purls are still counted), the purls stored against an independent count, the
parse time as a multiple of ``json.loads`` on the same bytes (JSON files), the ingest time, and the
peak memory of parsing and storing it (``tracemalloc``, in a separate pass so it does not slow the
timed one).

The parse ratio compares the whole parse (``parse_bytes``: transcoding, decoding, format detection,
purl normalisation, depth and scope, the finished record) with ``json.loads`` of the same bytes,
measured alike on both sides: CPU time (``time.process_time``) of a loop of calls long enough to be
read (about ``--loop-ms``), the cyclic garbage collector off for both (``parse_bytes`` pauses it
itself, so ``json.loads`` gets the same), the two loops interleaved for ``--repeat`` rounds and the
fastest round of each kept, so that load from other processes hits both sides alike. Every memo of
the inventory modules (purl normalisation, version and licence caches) is emptied before each parse,
as for the first document a process reads; emptying it is counted, as freeing ``json.loads``'s
result is on its side.

The independent count reads the raw document with the standard library and packageurl-python only:
the distinct canonical purls of the components (CycloneDX, nested included, the subject left out)
or packages (SPDX: of several purls a package lists, the first that packageurl-python parses and
whose name holds no ``@``; the described package left out).

Default corpus: the real SBOMs of /work/shared/data/sboms and tests/data/sboms. A larger corpus is
given as directories, e.g. CycloneDX/bom-examples' ``SBOM/`` (CC0-1.0) checked out at bench time:

    git clone https://github.com/CycloneDX/bom-examples /tmp/bom-examples
    .venv/bin/python bench/corpus.py /tmp/bom-examples/SBOM [--repeat 3]
"""

from __future__ import annotations

import argparse
import gc
import importlib
import json
import pkgutil
import re
import tempfile
import time
import tracemalloc
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packageurl import PackageURL
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

import bot.inventory
from bot.inventory.detect import parse_bytes
from bot.inventory.identity import NoIdentity
from bot.inventory.ingest import DocumentConflict, ingest_bytes
from bot.inventory.interface import InventoryError
from bot.inventory.json_model import decode_json_sbom
from bot.inventory.purls import normalise_purl
from bot.store.engine import make_engine, upgrade
from bot.store.tables import ComponentRow, RepositoryRow, UsageRow

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = [Path("/work/shared/data/sboms"), ROOT / "tests" / "data" / "sboms"]
SUFFIXES = (".json", ".xml", ".spdx", ".cdx", ".jsonld")


@dataclass
class Row:
    file: str
    status: str
    stored: int | None = None
    independent: int | None = None
    ratio: float | None = None
    parse_ms: float | None = None
    loads_ms: float | None = None
    size: int = 0
    decode_ms: float | None = None  # --floor: the typed decode alone
    purls_ms: float | None = None  # --floor: the document's distinct purls normalised alone, memos emptied
    purl_count: int = 0
    ingest_ms: float | None = None
    peak_mb: float | None = None


def canonical(raw: str) -> str | None:
    """packageurl-python's canonical form (PEP 503 names for PyPI, npm names as written), or None."""
    try:
        parsed = PackageURL.from_string(raw.strip())
    except ValueError:
        return None
    name = parsed.name
    if parsed.type == "pypi":
        name = re.sub(r"[-_.]+", "-", name).lower()
    if parsed.type == "npm":
        written = PackageURL.from_string(raw.strip(), normalize_purl=False).name or name
        name = written if written.lower() == name else name
    rebuilt = PackageURL(parsed.type, parsed.namespace, name, parsed.version, parsed.qualifiers, parsed.subpath)
    return str(rebuilt.to_string()).lower()


def independent_count(data: bytes) -> int | None:
    """Distinct purls of the document's components, read without upkeep's parsers."""
    text = data.decode("utf-8-sig", errors="replace").lstrip()
    purls: set[str] = set()
    if text.startswith("<"):
        root = ET.fromstring(text)  # noqa: S314 - trusted corpus
        ns = root.tag.split("}")[0] + "}"
        subject = root.find(f"{ns}metadata/{ns}component")
        found = [e.findtext(f"{ns}purl") for e in root.iter(f"{ns}component") if e is not subject]
        purls = {c for c in (canonical(p) for p in found if p) if c}
        return len(purls)
    if not text.startswith(("{", "[")):
        return tag_value_count(text)
    document: dict[str, Any] = json.loads(text)
    document = document.get("sbom", document) if isinstance(document.get("sbom"), dict) else document
    if "@graph" in document:
        return spdx3_count(document["@graph"])
    if "bomFormat" in document:
        todo = list(document.get("components") or [])
        todo += list(((document.get("metadata") or {}).get("component") or {}).get("components") or [])
        while todo:
            component = todo.pop()
            todo.extend(component.get("components") or [])
            if component.get("purl") and (c := canonical(component["purl"])):
                purls.add(c)
        return len(purls)
    if "spdxVersion" in document:
        described = set(document.get("documentDescribes") or [])
        described |= {
            r["relatedSpdxElement"]
            for r in document.get("relationships") or []
            if r.get("relationshipType") == "DESCRIBES" and r.get("spdxElementId") == "SPDXRef-DOCUMENT"
        }
        packages = document.get("packages") or []
        if len(packages) > 1 and all(p.get("SPDXID") in described for p in packages):
            described = set()  # every package described: they are the inventory
        for package in packages:
            if package.get("SPDXID") in described and len(described) < len(packages):
                continue
            refs = [
                r["referenceLocator"] for r in package.get("externalRefs") or [] if r.get("referenceType") == "purl"
            ]
            purls.update(_spdx_choice(refs))
        return len(purls)
    return None


def spdx3_count(elements: list[dict[str, Any]]) -> int:
    """SPDX 3: ``software_packageUrl`` of the packages that are not a document's root element."""
    roots = {r for e in elements for r in e.get("rootElement") or []}
    packages = [e for e in elements if e.get("type") == "software_Package" and e.get("spdxId") not in roots]
    return len({c for e in packages if e.get("software_packageUrl") and (c := canonical(e["software_packageUrl"]))})


def _spdx_choice(refs: list[str]) -> list[str]:
    """Of a package's purls, the first that parses with no ``@`` in its name, else the first that parses."""
    parsed = [c for c in (canonical(r) for r in refs) if c]
    good = [c for c in parsed if "@" not in c.split("?")[0].split("@")[0].rsplit("/", 1)[-1]]
    return (good or parsed)[:1]


def tag_value_count(text: str) -> int:
    """The same for SPDX tag-value: packages' ``ExternalRef: ... purl`` lines, described packages left out."""
    packages: list[tuple[str, list[str]]] = []
    described: set[str] = set()
    for line in text.splitlines():
        tag, _, value = line.strip().partition(":")
        value = value.strip()
        if tag == "PackageName":
            packages.append(("", []))
        elif tag == "SPDXID" and packages and not packages[-1][0]:
            packages[-1] = (value, packages[-1][1])
        elif tag == "ExternalRef" and packages and value.split()[1:2] == ["purl"]:
            packages[-1][1].append(value.split()[2])
        elif tag == "Relationship" and value.split()[:2] == ["SPDXRef-DOCUMENT", "DESCRIBES"]:
            described.add(value.split()[2])
    if len(packages) > 1 and all(ref in described for ref, _ in packages):
        described = set()
    return len({c for ref, refs in packages if ref not in described for c in _spdx_choice(refs)})


def stored_purls(engine: Engine, repository: str) -> int:
    with Session(engine) as session:
        keys = session.exec(
            select(ComponentRow.key)
            .join(UsageRow, col(UsageRow.component_id) == col(ComponentRow.id))
            .join(RepositoryRow, col(RepositoryRow.id) == col(UsageRow.repository_id))
            .where(RepositoryRow.full_name == repository, col(ComponentRow.purl).is_not(None))
        ).all()
    return len({key.lower() for key in keys})


def inventory_caches() -> list[Any]:
    """Every ``functools`` memo defined in the inventory modules (found, so a new one is not forgotten)."""
    found: list[Any] = []
    for module in pkgutil.iter_modules(bot.inventory.__path__):
        for value in vars(importlib.import_module(f"bot.inventory.{module.name}")).values():
            ours = (getattr(value, "__module__", None) or "").startswith("bot.inventory")  # a builtin's may be None
            if ours and hasattr(value, "cache_clear") and all(value is not known for known in found):
                found.append(value)
    return found


CACHES = inventory_caches()


def _loop(call: Any, count: int, *, first_document: bool) -> float:
    """CPU seconds per call of ``count`` calls; memos emptied before each call when ``first_document``."""
    clock = time.process_time
    started = clock()
    for _ in range(count):
        if first_document:
            for cache in CACHES:
                cache.cache_clear()
        call()
    return (clock() - started) / count


def _calls_per_loop(call: Any, loop_seconds: float, *, first_document: bool) -> int:
    count = 1
    while (per_call := _loop(call, count, first_document=first_document)) * count < loop_seconds / 4:
        count *= 2
    return max(1, round(loop_seconds / max(per_call, 1e-9)))


def interleaved(calls: dict[str, tuple[Any, bool]], *, rounds: int, loop_seconds: float) -> dict[str, float]:
    """CPU seconds per call of each ``name: (call, first_document)``: loops interleaved, fastest round kept.

    The cyclic garbage collector is off for every loop alike (``parse_bytes`` pauses it itself).
    """
    was_enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        counts = {
            name: _calls_per_loop(call, loop_seconds, first_document=first) for name, (call, first) in calls.items()
        }
        best = dict.fromkeys(calls, float("inf"))
        for _ in range(rounds):
            for name, (call, first) in calls.items():
                best[name] = min(best[name], _loop(call, counts[name], first_document=first))
    finally:
        if was_enabled:
            gc.enable()
    return best


def raw_purls(data: bytes) -> list[str]:
    """The distinct purl strings written in a JSON document (components, refs, the subject), as written."""
    return sorted({json.loads(m) for m in re.findall(rb'"pkg:(?:[^"\\]|\\.)*"', data)})


def timed_parse(data: bytes, source: str, *, rounds: int, loop_seconds: float, floor: bool) -> dict[str, float]:
    """``parse`` and ``loads`` per call; with ``floor`` also the typed decode alone and the document's purls
    normalised alone (memos emptied), the two costs no parse of it can avoid."""
    calls: dict[str, tuple[Any, bool]] = {
        "parse": (lambda: parse_bytes(data, source=source), True),
        "loads": (lambda: json.loads(data), False),
    }
    if floor:
        purls = raw_purls(data)
        calls["decode"] = (lambda: decode_json_sbom(data, source=source), False)
        calls["purls"] = (lambda: [normalise_purl(raw) for raw in purls], True)
    return interleaved(calls, rounds=rounds, loop_seconds=loop_seconds)


def measure(engine: Engine, path: Path, index: int, repeat: int, loop_seconds: float, *, floor: bool = False) -> Row:
    data = path.read_bytes()
    row = Row(path.name, "stored", size=len(data))
    try:
        parse_bytes(data, source=str(path))
    except InventoryError as exc:
        return Row(path.name, f"refused: {exc.message[:70]}")
    if data.lstrip()[:1] in (b"{", b"["):
        times = timed_parse(data, str(path), rounds=repeat, loop_seconds=loop_seconds, floor=floor)
        parse, loads = times["parse"], times["loads"]
        row.ratio, row.parse_ms, row.loads_ms = parse / max(loads, 1e-9), parse * 1000, loads * 1000
        if floor:
            row.decode_ms, row.purls_ms = times["decode"] * 1000, times["purls"] * 1000
            row.purl_count = len(raw_purls(data))
    started = time.perf_counter()
    tracemalloc.start()
    try:
        summary = ingest_bytes(engine, data, source=str(path))
    except NoIdentity:
        row.status = "no identity: stored with --repo"
        summary = ingest_bytes(engine, data, source=str(path), repo=f"corpus/file-{index}")
    except DocumentConflict:
        row.status = "other product under its key: --repo"
        summary = ingest_bytes(engine, data, source=str(path), repo=f"corpus/file-{index}")
    row.peak_mb = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.stop()
    row.ingest_ms = (time.perf_counter() - started) * 1000
    if summary.replaced:
        row.status = f"replaced {Path(summary.replaced).name} (same product)"
    row.stored = stored_purls(engine, summary.repository)
    row.independent = independent_count(data)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dirs", nargs="*", type=Path, help="Directories of SBOMs (default: the real corpus).")
    parser.add_argument("--repeat", type=int, default=15, help="Interleaved rounds of each timed loop.")
    parser.add_argument("--loop-ms", type=float, default=5.0, help="CPU time of one timed loop of calls.")
    parser.add_argument(
        "--floor", action="store_true", help="Also time the typed decode and the purls alone: what no parse avoids."
    )
    args = parser.parse_args()
    files = sorted(
        (p, p.relative_to(d.parent) if len(args.dirs or DEFAULT) > 1 else p.relative_to(d))
        for d in (args.dirs or DEFAULT)
        if d.is_dir()
        for p in d.rglob("*")
        if p.suffix in SUFFIXES and p.is_file()
    )
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{tmp}/corpus.db")
        upgrade(engine)
        rows = []
        for index, (path, shown) in enumerate(files):
            row = measure(engine, path, index, args.repeat, args.loop_ms / 1000, floor=args.floor)
            row.file = str(shown)
            rows.append(row)
        engine.dispose()
    print_table(rows)
    if args.floor:
        print_floor(rows)


def print_floor(rows: list[Row]) -> None:
    """Per JSON file: the typed decode and the purls alone against ``json.loads``, and the rest of the parse."""
    timed = [r for r in rows if r.decode_ms is not None and r.purls_ms is not None and r.loads_ms and r.parse_ms]
    if not timed:
        return
    width = max(len(r.file) for r in timed)
    head = f"{'loads ms':>9} {'decode ms':>9} {'purls ms':>9} {'purls':>5} {'rest ms':>9}"
    print(f"\n{'file':<{width}}  {head}  (decode + purls) / loads")
    for r in timed:
        decode, purls, loads, parse = r.decode_ms or 0.0, r.purls_ms or 0.0, r.loads_ms or 1e-9, r.parse_ms or 0.0
        print(
            f"{r.file:<{width}}  {loads:>9.3f} {decode:>9.3f} {purls:>9.3f} {r.purl_count:>5} "
            f"{parse - decode - purls:>9.3f}  {(decode + purls) / loads:.2f}x"
        )


def print_table(rows: list[Row]) -> None:
    width = max(len(r.file) for r in rows)
    head = (
        f"{'bytes':>9} {'parse ms':>9} {'loads ms':>9} {'ratio':>6} "
        f"{'stored':>6} {'indep.':>6} {'ingest ms':>9} {'peak MB':>7}"
    )
    print(f"{'file':<{width}}  {head}  status")
    for r in rows:
        timed = (
            f"{r.parse_ms:>9.3f} {r.loads_ms:>9.3f} {r.ratio:>5.2f}x"
            if r.ratio is not None and r.parse_ms is not None and r.loads_ms is not None
            else f"{'-':>9} {'-':>9} {'-':>6}"
        )
        match = "" if r.stored == r.independent else "  <- differs"
        print(
            f"{r.file:<{width}}  {r.size:>9} {timed} {r.stored if r.stored is not None else '-':>6} "
            f"{r.independent if r.independent is not None else '-':>6} "
            f"{r.ingest_ms if r.ingest_ms is not None else 0:>9.0f} {r.peak_mb or 0:>7.1f}  {r.status}{match}"
        )
    ratios = [r for r in rows if r.ratio is not None]
    agree = sum(1 for r in rows if r.stored is not None and r.stored == r.independent)
    counted = sum(1 for r in rows if r.stored is not None)
    print(f"{len(rows)} files, {counted} stored, purl counts agree on {agree} of {counted}")
    if ratios:
        worst = max(ratios, key=lambda r: r.ratio or 0.0)
        over = sum(1 for r in ratios if (r.ratio or 0.0) > 1.5)
        print(
            f"worst parse/json.loads: {worst.ratio:.2f}x on {worst.file} ({worst.parse_ms:.3f} ms); "
            f"{over} of {len(ratios)} JSON files over the goal of 1.5x"
        )


if __name__ == "__main__":
    main()
