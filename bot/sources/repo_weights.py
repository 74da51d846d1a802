"""A repository's weight and team from what GitHub says about it: pure rules, no I/O.

``[[usage.weight]]`` rules are tried in order and the first that matches gives the weight; none
matching leaves the weight unset, so the gap model's ``usage.default_repo_weight`` applies when it
scores (a change of that default then needs no new sync). The team comes from the first source that
names one: the ``usage.team_property`` custom property, a topic starting with
``usage.team_topic_prefix``, then (``usage.team_from_codeowners``) the owning team of CODEOWNERS'
``*`` rule.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from bot.config import UsageSettings, WeightRule

#: Where GitHub looks for CODEOWNERS, in its order: the first file found is the one it uses
#: (docs.github.com, "About code owners", "CODEOWNERS file location").
CODEOWNERS_PATHS = (".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS")


@dataclass(frozen=True, slots=True)
class RepoFacts:
    """What sync learnt about one repository: custom property values, topics, CODEOWNERS' owning team."""

    full_name: str  # owner/name, lower-cased
    properties: Mapping[str, str | tuple[str, ...]] = field(default_factory=dict)
    topics: tuple[str, ...] = ()
    codeowners_team: str | None = None


@dataclass(frozen=True, slots=True)
class RepoWeight:
    """A repository's weight and team, and where each came from (``None``: nothing set it)."""

    weight: float | None
    weight_rule: str | None  # the rule's label, e.g. "tier=critical"
    team: str | None
    team_source: str | None  # property | topic | codeowners


def _values(value: str | tuple[str, ...] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


def _property(facts: RepoFacts, name: str) -> tuple[str, ...]:
    wanted = name.lower()
    for key, value in facts.properties.items():
        if key.lower() == wanted:
            return _values(value)
    return ()


def rule_matches(rule: WeightRule, facts: RepoFacts) -> bool:
    """Whether ``rule`` applies to the repository (property values and topics compare case-insensitively;
    a multi-select property matches when any of its values does)."""
    if rule.property:
        wanted = (rule.value or "").lower()
        return any(v.lower() == wanted for v in _property(facts, rule.property))
    if rule.topic:
        return rule.topic.lower() in {t.lower() for t in facts.topics}
    return fnmatch.fnmatchcase(facts.full_name.lower(), (rule.pattern or "").lower())


def compute_repo_weight(facts: RepoFacts, settings: UsageSettings) -> RepoWeight:
    """The first matching rule's weight and the first source naming a team."""
    rule = next((r for r in settings.weight if rule_matches(r, facts)), None)
    team, source = _team(facts, settings)
    return RepoWeight(
        weight=rule.weight if rule is not None else None,
        weight_rule=rule.label() if rule is not None else None,
        team=team,
        team_source=source,
    )


def _team(facts: RepoFacts, settings: UsageSettings) -> tuple[str | None, str | None]:
    if settings.team_property:
        named = [v.strip() for v in _property(facts, settings.team_property) if v.strip()]
        if named:
            return named[0], "property"
    if settings.team_topic_prefix:
        prefix = settings.team_topic_prefix.lower()
        for topic in facts.topics:
            if topic.lower().startswith(prefix) and len(topic) > len(prefix):
                return topic[len(prefix) :].lower(), "topic"
    if settings.team_from_codeowners and facts.codeowners_team:
        return facts.codeowners_team, "codeowners"
    return None, None


def parse_codeowners_team(text: str) -> str | None:
    """The first team (``@org/team`` gives ``team``) owning CODEOWNERS' ``*`` rule, or None.

    The last ``*`` line counts, as GitHub lets a later rule override an earlier one; users
    (``@login``) and e-mail owners name no team."""
    owners: Sequence[str] = ()
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip() if not raw.lstrip().startswith("\\#") else raw.strip()
        parts = line.split()
        if parts and parts[0] in ("*", "/*", "/**", "**"):
            owners = parts[1:]
    for owner in owners:
        if owner.startswith("@") and "/" in owner:
            team = owner.split("/", 1)[1].strip().lower()
            if team:
                return team
    return None
