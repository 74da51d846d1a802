"""The inventory's forge half: each configured group's repositories and their SBOMs, stored like any other.

For every ``[[forges]]`` entry with ``groups``: the groups' repositories (subgroups included, forks
and archived ones as configured) are listed, each one's SBOM is fetched (:meth:`GitLabForge.sbom`)
and stored under the key ``HOST/group/subgroup/name``. A repository without an SBOM, or whose
document cannot be read, is listed with its reason, never dropped silently; a document unchanged
since the last sync changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.engine import Engine

from bot.config import Settings
from bot.forges.forgejo import ForgejoForge
from bot.forges.gitlab import GitLabForge
from bot.forges.interface import Forge, ForgeError
from bot.inventory.ingest import ingest_bytes
from bot.inventory.interface import InventoryError

log = logging.getLogger(__name__)


@dataclass
class ForgeSyncSummary:
    repositories: int = 0
    documents: int = 0
    changed: int = 0
    without_sbom: list[str] = field(default_factory=list)  # "KEY: reason"
    failed: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def sync_forges(engine: Engine, settings: Settings, forges: Mapping[str, Forge]) -> ForgeSyncSummary:
    from bot.sources.signals_stage import store_cache  # the stage's cache, imported late: it loads the sources

    summary = ForgeSyncSummary()
    cache = store_cache(engine, datetime.now(UTC))
    for name, forge in sorted(forges.items()):
        if not isinstance(forge, GitLabForge | ForgejoForge) or not forge.config.groups:
            continue
        if isinstance(forge, ForgejoForge) and forge.cache is None:
            forge.cache = cache  # conditional reads: an unchanged listing, file or release answers 304
        try:
            repositories = forge.repositories()
        except ForgeError as exc:
            summary.failed.append(f"{name}: {exc}")
            continue
        for repo in repositories:
            summary.repositories += 1
            key = f"{forge.web_host}/{repo.path}".lower()
            try:
                found = forge.sbom(repo)
            except ForgeError as exc:
                summary.failed.append(f"{key}: {exc}")
                continue
            if isinstance(found, str):
                summary.without_sbom.append(f"{key}: {found}")
                continue
            data, how = found
            try:
                stored = ingest_bytes(
                    engine,
                    data,
                    source=f"{name}:{repo.path} ({how})",
                    repo=key,
                    max_file_bytes=settings.inventory.max_file_bytes,
                    repository_source=f"{forge.kind}-{how.split(':', 1)[0]}",
                )
            except InventoryError as exc:
                summary.failed.append(f"{key}: {exc}")
                continue
            summary.documents += 1
            summary.changed += bool(stored.changed)
    for line in summary.without_sbom:
        log.info("sync: %s", line)
    return summary
