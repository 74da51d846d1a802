"""GitHub's dependency-graph SBOM export: SPDX 2.3 JSON, possibly inside a ``{"sbom": ...}`` wrapper.

What differs from plain SPDX: the document ``name`` is the repository (``owner/name``); the described
package is the repository itself (its purl ``pkg:github/example@main`` may lack the namespace the purl
spec requires); packages may carry version ranges or no version; and most exports list every package
as ``DEPENDS_ON`` from the repository, so a flat graph says nothing about direct versus transitive.
"""

from __future__ import annotations

from typing import Any

from bot.inventory.interface import MalformedDocument
from bot.inventory.spdx import assemble_spdx2, read_spdx2_json
from bot.records import ParsedDocument, SbomFormat

GITHUB_CREATOR = "GitHub.com-Dependency-Graph"


def is_github_export(document: dict[str, Any]) -> bool:
    """True for the wrapper or for an SPDX 2 document whose creators name GitHub's dependency graph."""
    if isinstance(document.get("sbom"), dict) and "spdxVersion" in document["sbom"]:
        return True
    creation = document.get("creationInfo")
    creators = creation.get("creators") if isinstance(creation, dict) else None
    return isinstance(creators, list) and any(isinstance(c, str) and GITHUB_CREATOR in c for c in creators)


class GitHubExportParser:
    format = SbomFormat.GITHUB_EXPORT

    def parse(self, document: dict[str, Any], *, source: str) -> ParsedDocument:
        inner = document.get("sbom", document)
        if not isinstance(inner, dict):
            raise MalformedDocument(source, f"sbom must be an object, not {type(inner).__name__}")
        content = read_spdx2_json(inner, source=source)
        return assemble_spdx2(content, sbom_format=self.format, github=True, source=source)
