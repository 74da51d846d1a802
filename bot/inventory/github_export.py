"""GitHub's dependency-graph SBOM export: SPDX 2.3 JSON, possibly inside a ``{"sbom": ...}`` wrapper.

What differs from plain SPDX: the document ``name`` is the repository (``owner/name``); the described
package is the repository itself (its purl ``pkg:github/example@main`` may lack the namespace the purl
spec requires); packages may carry version ranges or no version; and most exports list every package
as ``DEPENDS_ON`` from the repository, so a flat graph says nothing about direct versus transitive.
"""

from __future__ import annotations

from bot.inventory.json_model import JsonSbom
from bot.inventory.spdx import parse_spdx2_json
from bot.records import ParsedDocument, SbomFormat

GITHUB_CREATOR = "GitHub.com-Dependency-Graph"


def is_github_export(document: JsonSbom) -> bool:
    """True for the wrapper or for an SPDX 2 document whose creators name GitHub's dependency graph."""
    if document.sbom is not None:
        return True
    creators = document.creation_info.creators if document.creation_info else None
    return any(isinstance(c, str) and GITHUB_CREATOR in c for c in creators or ())


class GitHubExportParser:
    format = SbomFormat.GITHUB_EXPORT

    def parse(self, document: JsonSbom, *, source: str) -> ParsedDocument:
        inner = document.sbom if document.sbom is not None else document
        return parse_spdx2_json(inner, sbom_format=self.format, github=True, source=source)
