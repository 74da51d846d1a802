"""Registry-side signals from registry documents the resolve stage already fetched (no extra calls).

npm packuments carry ``deprecated`` per version, a ``license`` and a ``funding`` field; PyPI's
JSON API carries ``license_expression`` (PEP 639) or a free-text ``license``, ``project_urls``
with a Funding label (PEP 753 well-known labels) and the "Development Status :: 7 - Inactive"
classifier. These signals work for upstreams on every forge.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from bot.signals.funding import parse_npm_funding
from bot.signals.records import FundingChannel

_FUNDING_LABELS = {"funding", "sponsor", "sponsors", "donate", "donation", "donations"}
_SPDX_LIKE = re.compile(r"^[A-Za-z0-9.+-]+( (AND|OR|WITH) [A-Za-z0-9.+-]+)*$")


@dataclass(frozen=True, slots=True)
class PackageSignals:
    """What one package's registry document says."""

    deprecated: bool | None = None
    licence: str | None = None
    funding: tuple[FundingChannel, ...] = ()


def npm_signals(doc: Any) -> PackageSignals:
    """Deprecated (the latest version), licence and funding from an npm packument."""
    if not isinstance(doc, dict):
        return PackageSignals()
    latest = (doc.get("dist-tags") or {}).get("latest")
    version = (doc.get("versions") or {}).get(latest) if isinstance(latest, str) else None
    version = version if isinstance(version, dict) else {}
    deprecated = bool(version.get("deprecated")) if version else None
    licence = version.get("license") or doc.get("license")
    if isinstance(licence, dict):  # the legacy {"type": "MIT", "url": ...} form
        licence = licence.get("type")
    funding = version.get("funding", doc.get("funding"))
    channels = parse_npm_funding(funding).channels if funding is not None else ()
    return PackageSignals(deprecated, licence if isinstance(licence, str) and licence else None, channels)


def pypi_signals(doc: Any) -> PackageSignals:
    """Inactive status, licence and Funding URLs from PyPI's ``/pypi/{name}/json``."""
    info = doc.get("info") if isinstance(doc, dict) else None
    if not isinstance(info, dict):
        return PackageSignals()
    classifiers = info.get("classifiers") or []
    deprecated = any(str(c).startswith("Development Status :: 7") for c in classifiers)
    licence = info.get("license_expression") or info.get("license")
    if not (isinstance(licence, str) and _SPDX_LIKE.match(licence.strip())):
        licence = None  # free text (often the whole licence file) is not an SPDX id
    channels: list[FundingChannel] = []
    for label, url in (info.get("project_urls") or {}).items():
        key = re.sub(r"[\W_]+", "", str(label)).lower()
        if key in _FUNDING_LABELS and isinstance(url, str) and url:
            channels.extend(parse_npm_funding(url, source="pypi").channels)
    return PackageSignals(deprecated, licence.strip() if licence else None, tuple(channels))
