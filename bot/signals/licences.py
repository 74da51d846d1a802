"""Licence classes and licence drift.

SPDX ids (and simple SPDX expressions) are sorted into permissive, copyleft,
source-available (BUSL-1.1, SSPL-1.0, Elastic-2.0, Commons Clause, FSL, PolyForm, ...),
proprietary or unknown. A change of licence between two scans is a drift event; a move from
an open licence (permissive or copyleft) to a source-available or proprietary one is a
sovereignty risk: the project the organisation relies on is no longer open source.
"""

from __future__ import annotations

import re
from datetime import datetime

from bot.signals.records import LicenceClass, LicenceDrift

_PERMISSIVE = {
    "0bsd",
    "afl-3.0",
    "apache-1.1",
    "apache-2.0",
    "artistic-2.0",
    "blueoak-1.0.0",
    "bsd-1-clause",
    "bsd-2-clause",
    "bsd-2-clause-patent",
    "bsd-3-clause",
    "bsd-3-clause-clear",
    "bsd-4-clause",
    "bsl-1.0",  # Boost, not the Business Source License (BUSL-1.1)
    "cc-by-4.0",
    "cc0-1.0",
    "curl",
    "ecl-2.0",
    "hpnd",
    "icu",
    "isc",
    "mit",
    "mit-0",
    "mit-cmu",
    "mulanpsl-2.0",
    "ncsa",
    "openssl",
    "postgresql",
    "psf-2.0",
    "python-2.0",
    "ruby",
    "unicode-3.0",
    "unicode-dfs-2016",
    "unlicense",
    "upl-1.0",
    "w3c",
    "wtfpl",
    "x11",
    "zlib",
    "zpl-2.1",
}
_COPYLEFT_PREFIXES = (
    "agpl-",
    "gpl-",
    "lgpl-",
    "mpl-",
    "epl-",
    "eupl-",
    "cddl-",
    "cpl-",
    "osl-",
    "cecill",
    "cc-by-sa-",
    "ms-rl",
    "apsl-",
    "sleepycat",
    "gfdl-",
    "qpl-",
    "lppl-",
)
_SOURCE_AVAILABLE = {
    "busl-1.1",
    "sspl-1.0",
    "elastic-2.0",
    "elv2",
    "commons-clause",
    "licenseref-commons-clause",
    "confluent-community-1.0",
    "rsalv2",
    "rsal-2.0",
    "redis-source-available-2.0",
    "sustainable-use-1.0",
    "fair-source-0.9",
    "fcl-1.0",
}
_SOURCE_AVAILABLE_PREFIXES = ("fsl-1.", "polyform-", "cc-by-nc", "busl-", "sspl-", "fcl-1.0-")
_PROPRIETARY = {"unlicensed", "proprietary", "commercial", "licenseref-proprietary", "licenseref-commercial", "none"}
_UNKNOWN = {"", "noassertion", "other", "unknown", "see license", "licenseref-other", "non-standard"}

#: The order an ``OR`` prefers (the licensee picks the most open branch); ``AND`` takes the worst.
_OPENNESS = [
    LicenceClass.PERMISSIVE,
    LicenceClass.COPYLEFT,
    LicenceClass.UNKNOWN,
    LicenceClass.SOURCE_AVAILABLE,
    LicenceClass.PROPRIETARY,
]
OPEN_CLASSES = frozenset({LicenceClass.PERMISSIVE, LicenceClass.COPYLEFT})
CLOSED_CLASSES = frozenset({LicenceClass.SOURCE_AVAILABLE, LicenceClass.PROPRIETARY})
_TOKEN = re.compile(r"\(|\)|[^\s()]+")


def normalise_spdx(value: str | None) -> str | None:
    """Trim an SPDX id; the placeholders GitHub and registries use for "not known" become None."""
    if value is None:
        return None
    text = value.strip()
    if text.lower().removeprefix("spdx:") in _UNKNOWN:
        return None
    return text.removeprefix("spdx:")


def _classify_id(spdx: str) -> LicenceClass:
    key = spdx.lower().removesuffix("+")
    if key in _UNKNOWN:
        return LicenceClass.UNKNOWN
    if key in _PROPRIETARY:
        return LicenceClass.PROPRIETARY
    if key in _SOURCE_AVAILABLE or key.startswith(_SOURCE_AVAILABLE_PREFIXES):
        return LicenceClass.SOURCE_AVAILABLE
    if key in _PERMISSIVE:
        return LicenceClass.PERMISSIVE
    if key.startswith(_COPYLEFT_PREFIXES):
        return LicenceClass.COPYLEFT
    return LicenceClass.UNKNOWN


class _Parser:
    """A small SPDX expression reader: ``OR`` binds looser than ``AND``; ``WITH`` applies an exception."""

    def __init__(self, text: str) -> None:
        self.tokens: list[str] = _TOKEN.findall(text)
        self.pos = 0

    def peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> str:
        token: str = self.tokens[self.pos]
        self.pos += 1
        return token

    def expression(self) -> LicenceClass:
        best = self.term()
        while (self.peek() or "").upper() == "OR":
            self.take()
            other = self.term()
            best = min(best, other, key=_OPENNESS.index)
        return best

    def term(self) -> LicenceClass:
        worst = self.factor()
        while (self.peek() or "").upper() == "AND":
            self.take()
            other = self.factor()
            worst = max(worst, other, key=_OPENNESS.index)
        return worst

    def factor(self) -> LicenceClass:
        head = self.peek()
        if head is None:
            return LicenceClass.UNKNOWN
        if head == "(":
            self.take()
            inner = self.expression()
            if self.peek() == ")":
                self.take()
            return inner
        result = _classify_id(self.take())
        if (self.peek() or "").upper() == "WITH":
            self.take()
            exception = self.take() if self.peek() not in (None, ")") else ""
            if "commons-clause" in exception.lower():
                return LicenceClass.SOURCE_AVAILABLE
        return result


def classify_licence(spdx: str | None) -> LicenceClass:
    """The class of an SPDX id or expression; ``None``, ``NOASSERTION`` and ``other`` are unknown."""
    text = normalise_spdx(spdx)
    if text is None:
        return LicenceClass.UNKNOWN
    if len(_TOKEN.findall(text)) == 1:
        return _classify_id(text)
    return _Parser(text).expression()


def same_licence(a: str | None, b: str | None) -> bool:
    """SPDX ids are case-insensitive; ``NOASSERTION`` and ``None`` are the same "not known"."""
    left, right = normalise_spdx(a), normalise_spdx(b)
    return (left or "").lower() == (right or "").lower()


def detect_drift(
    upstream_key: str, previous: str | None, current: str | None, *, first_seen_at: datetime
) -> LicenceDrift | None:
    """A drift event when the licence changed between two observed scans, else None."""
    if same_licence(previous, current):
        return None
    before, after = classify_licence(previous), classify_licence(current)
    return LicenceDrift(
        upstream_key=upstream_key,
        from_spdx=normalise_spdx(previous),
        to_spdx=normalise_spdx(current),
        from_class=before,
        to_class=after,
        first_seen_at=first_seen_at,
        sovereignty_risk=before in OPEN_CLASSES and after in CLOSED_CLASSES,
    )
