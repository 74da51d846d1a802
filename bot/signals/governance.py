"""Who controls an upstream: a foundation, a company, a community organisation or one person.

Foundations are a maintained list of forge owners in ``config/foundations.toml`` (extensible:
operators add owners or whole foundations there). A company is an organisation owner whose
commits are dominated by one company e-mail domain, or an owner listed under ``[companies]``.
Other organisations are communities; user-owned repositories belong to individuals.
"""

from __future__ import annotations

import fnmatch
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from bot.signals.records import Governance

#: A company "dominates" an organisation when its domain made at least two thirds of the window's commits;
#: a bare majority is common in community projects with one active employer among several.
COMPANY_SHARE = 2 / 3


class FoundationListError(Exception):
    """The foundations file cannot be read; the message names the file and the key."""


@dataclass(frozen=True, slots=True)
class Foundation:
    key: str
    name: str
    owners: tuple[str, ...]  # lower-cased owner names or fnmatch patterns


@dataclass(frozen=True, slots=True)
class GovernanceList:
    """Owners hosted by foundations, and owners known to be company-controlled."""

    foundations: tuple[Foundation, ...] = ()
    companies: tuple[str, ...] = ()

    def foundation_of(self, owner: str) -> Foundation | None:
        name = owner.lower()
        for foundation in self.foundations:
            if any(fnmatch.fnmatchcase(name, pattern) for pattern in foundation.owners):
                return foundation
        return None

    def is_company(self, owner: str) -> bool:
        name = owner.lower()
        return any(fnmatch.fnmatchcase(name, pattern) for pattern in self.companies)

    def extended(self, *, foundation_owners: Iterable[str] = (), company_owners: Iterable[str] = ()) -> GovernanceList:
        """This list plus owners named in the settings."""
        extra = tuple(o.lower() for o in foundation_owners)
        foundations = self.foundations + ((Foundation("config", "configured", extra),) if extra else ())
        return GovernanceList(foundations, self.companies + tuple(o.lower() for o in company_owners))


def _strings(value: object, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise FoundationListError(f"{where}: must be a list of owner names")
    return tuple(v.strip().lower() for v in value if v.strip())


def parse_governance_list(text: str, origin: str = "foundations.toml") -> GovernanceList:
    """Read the TOML text of a foundations file."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise FoundationListError(f"{origin}: not valid TOML: {exc}") from exc
    foundations = []
    table = data.get("foundations", {})
    if not isinstance(table, dict):
        raise FoundationListError(f"{origin}: foundations: must be a table of [foundations.<key>] tables")
    for key, entry in table.items():
        if not isinstance(entry, dict):
            raise FoundationListError(f"{origin}: foundations.{key}: must be a table with name and owners")
        owners = _strings(entry.get("owners", []), f"{origin}: foundations.{key}.owners")
        foundations.append(Foundation(key, str(entry.get("name", key)), owners))
    companies = data.get("companies", {})
    company_owners = _strings(companies.get("owners", []), f"{origin}: companies.owners") if companies else ()
    return GovernanceList(tuple(foundations), company_owners)


def load_governance_list(path: Path) -> GovernanceList:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise FoundationListError(f"{path}: cannot read the foundations file: {exc.strerror or exc}") from exc
    return parse_governance_list(text, str(path))


def compute_governance(
    owner: str,
    owner_type: str | None,
    *,
    top_domain_share: float,
    governance_list: GovernanceList,
) -> Governance:
    """Classify an upstream by its owner; ``owner_type`` is the forge's ``User``/``Organization`` (None: unknown)."""
    if governance_list.foundation_of(owner) is not None:
        return Governance.FOUNDATION
    if governance_list.is_company(owner):
        return Governance.COMPANY
    if owner_type == "User":
        return Governance.INDIVIDUAL
    if owner_type == "Organization":
        return Governance.COMPANY if top_domain_share >= COMPANY_SHARE else Governance.COMMUNITY
    return Governance.UNKNOWN
