"""Resolve purls someone asks about, without ingesting them (``upkeep resolve PURL...``).

A purl is answered from the store when its package was resolved within the TTL (unless ``refresh``),
else by the same resolvers, overrides and deps.dev fallback as the stage. Nothing is written but the
HTTP cache: the inventory and its mappings stay what the pipeline made them. Each answer keeps the
purl exactly as it was given.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy.engine import Engine

from bot.config import Settings
from bot.inventory.purls import normalise_purl
from bot.records import current_key
from bot.resolve.interface import PackageRef, Resolution
from bot.resolve.overrides import Overrides
from bot.resolve.stage import build_package_resolver, resolve_many
from bot.store.engine import session_scope
from bot.store.renames import load_renames
from bot.store.resolution import StoreHttpCache, as_utc, load_resolutions


@dataclass(frozen=True, slots=True)
class Answer:
    """One asked purl and what it resolves to; :meth:`to_dict` is its ``--json`` line."""

    purl: str
    package: str | None
    upstream: str | None
    reason: str | None
    provenance: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "purl": self.purl,
            "package": self.package,
            "upstream": self.upstream,
            "reason": self.reason,
            "provenance": self.provenance,
        }


def package_ref(purl: str) -> PackageRef | str:
    """The package a purl names, or why it names none."""
    info = normalise_purl(purl)
    if not info.valid or info.ecosystem is None:
        return f"not a purl: {info.problem or 'unparseable'}"
    return PackageRef(info.package_key, info.ecosystem, info.namespace, info.name, info.version, info.purl)


async def resolve_purls(
    engine: Engine,
    settings: Settings,
    client: httpx.AsyncClient,
    purls: Sequence[str],
    *,
    refresh: bool = False,
    now: datetime | None = None,
) -> list[Answer]:
    """One answer per purl, in the order given (a purl given twice is answered twice)."""
    moment = now or datetime.now(UTC)
    refresh = refresh or settings.resolve.ttl_days == 0
    overrides = Overrides(settings.resolve.overrides)
    stored = {row.package_key: row for row in load_resolutions(engine)}
    refs: dict[str, PackageRef] = {}
    answers: dict[str, Answer] = {}
    for purl in purls:
        ref = package_ref(purl)
        if isinstance(ref, str):
            continue
        row = stored.get(ref.package_key)
        fresh = row is not None and row.status != "retry" and row.expires_at and as_utc(row.expires_at) > moment
        if row is not None and fresh and not refresh and overrides.match(ref) is None:
            answers[ref.package_key] = Answer("", ref.package_key, row.upstream_key, row.reason, row.provenance)
        else:
            refs.setdefault(ref.package_key, ref)
    if refs:
        cache = StoreHttpCache(engine)
        resolver = build_package_resolver(settings, client, cache, overrides)

        with session_scope(engine) as session:
            renames = load_renames(session)

        def keep(ref: PackageRef, outcome: Resolution | Any) -> None:
            if isinstance(outcome, Resolution):
                upstream = current_key(str(outcome.upstream), renames)  # named as it is called now, as stored
                answers[ref.package_key] = Answer("", ref.package_key, upstream, None, outcome.provenance)
            else:
                answers[ref.package_key] = Answer("", ref.package_key, None, outcome.reason, None)

        try:
            await resolve_many(list(refs.values()), resolver, workers=settings.resolve.global_limit, on_result=keep)
        finally:
            cache.flush(moment)
    out: list[Answer] = []
    for purl in purls:
        ref = package_ref(purl)
        if isinstance(ref, str):
            out.append(Answer(purl, None, None, ref, None))
        else:
            found = answers[ref.package_key]
            out.append(Answer(purl, found.package, found.upstream, found.reason, found.provenance))
    return out
