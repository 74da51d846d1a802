"""The world's repository facts: custom property values, topics and CODEOWNERS files, and what upkeep
should make of them under :data:`SANDBOX_USAGE` (the truth's ``repo_facts`` and ``usage_by_team``).

Facts are drawn from their own random stream (``repo-facts-<seed>``), so adding them changed nothing
else in a world. The world holds the cases a real organisation has: a team named by a property, by a
``team-`` topic, by CODEOWNERS in each of GitHub's three places (and in two at once, where the first
in GitHub's order counts), a CODEOWNERS naming only people, a later ``*`` rule overriding an earlier
one, and repositories nothing names a team for. The truth here is computed without upkeep's code.
"""

from __future__ import annotations

import fnmatch
import random
from collections import defaultdict
from typing import Any

from bot.sandbox.model import InternalRepo, World

TEAMS = ("payments", "platform", "data", "web", "mobile")
TIERS = ("critical", "standard", "experimental")
#: GitHub's order of CODEOWNERS locations (docs.github.com, "About code owners").
CODEOWNERS_ORDER = (".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS")

#: The ``[usage]`` settings the world is designed for (``load_settings(overrides={"usage.…": …})``).
SANDBOX_USAGE: dict[str, Any] = {
    "usage.team_property": "team",
    "usage.team_topic_prefix": "team-",
    "usage.team_from_codeowners": True,
    "usage.weight": [
        {"property": "tier", "value": "critical", "weight": 3.0},
        {"topic": "demo", "weight": 0.2},
        {"pattern": "*-service-*", "weight": 1.5},
        {"property": "tier", "value": "experimental", "weight": 0.5},
    ],
}


def assign_repo_facts(rng: random.Random, repos: list[InternalRepo]) -> None:
    """Give each repository properties, topics and CODEOWNERS files (in place)."""
    for repo in repos:
        team = rng.choice(TEAMS)
        roll = rng.random()
        if rng.random() < 0.7:
            repo.properties["tier"] = rng.choice(TIERS)
        if rng.random() < 0.15:
            repo.topics.append("demo")
        if rng.random() < 0.3:
            repo.topics.append("internal")
        if roll < 0.3:
            repo.properties["team"] = team
            if rng.random() < 0.3:  # a topic naming another team: the property wins
                repo.topics.append(f"team-{rng.choice(TEAMS)}")
        elif roll < 0.5:
            repo.topics.append(f"team-{team}")
        elif roll < 0.85:
            path = rng.choice(CODEOWNERS_ORDER)
            lines = ["# owners", f"* @{repo.org}/{rng.choice(TEAMS)}", "/docs/ @writer"]
            if rng.random() < 0.4:  # a later * rule overrides the earlier one
                lines.append(f"* @{repo.org}/{team} @someone")
            else:
                lines[1] = f"* @{repo.org}/{team}"
            repo.codeowners[path] = "\n".join(lines) + "\n"
            later = CODEOWNERS_ORDER[CODEOWNERS_ORDER.index(path) + 1 :]
            if later and rng.random() < 0.5:  # a second file GitHub does not read
                repo.codeowners[rng.choice(later)] = f"* @{repo.org}/{rng.choice(TEAMS)}\n"
        elif roll < 0.93:
            repo.codeowners["CODEOWNERS"] = "* @someone @other\n"  # people only: no team


def _codeowners_team(repo: InternalRepo) -> str | None:
    for path in CODEOWNERS_ORDER:
        text = repo.codeowners.get(path)
        if text is None:
            continue
        team = None
        for line in text.splitlines():
            words = line.split("#")[0].split()
            if words[:1] == ["*"]:
                teams = [w.split("/", 1)[1] for w in words[1:] if w.startswith("@") and "/" in w]
                team = teams[0] if teams else None
        return team
    return None


def expected_facts(repo: InternalRepo) -> dict[str, Any]:
    """The weight (None: the default) and team upkeep should give ``repo`` under :data:`SANDBOX_USAGE`."""
    weight = rule = None
    for r in SANDBOX_USAGE["usage.weight"]:
        if "property" in r:
            hit, label = repo.properties.get(r["property"]) == r["value"], f"{r['property']}={r['value']}"
        elif "topic" in r:
            hit, label = r["topic"] in repo.topics, f"topic:{r['topic']}"
        else:
            hit, label = fnmatch.fnmatchcase(repo.full_name.lower(), r["pattern"]), r["pattern"]
        if hit:
            weight, rule = r["weight"], label
            break
    team, source = repo.properties.get("team"), "property"
    if team is None:
        topics = [t[len("team-") :] for t in repo.topics if t.startswith("team-")]
        team, source = (topics[0], "topic") if topics else (_codeowners_team(repo), "codeowners")
    return {"weight": weight, "weight_rule": rule, "team": team, "team_source": source if team else None}


def live(repo: InternalRepo) -> bool:
    """Whether upkeep's default sync reads the repository (not a fork, not archived)."""
    return not repo.fork and not repo.archived


def repo_facts_truth(world: World) -> dict[str, dict[str, Any]]:
    """``owner/name`` (lower-cased) → expected weight and team, for every repository sync reads."""
    return {r.full_name.lower(): expected_facts(r) for r in world.internal_repos if live(r)}


def usage_by_team_truth(world: World) -> dict[str, dict[str, int]]:
    """Upstream → team (``""``: none) → repositories using it, over the repositories whose SBOM upkeep reads."""
    by_package = {p.package_key: p.true_upstream for p in world.packages}
    out: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for repo in world.internal_repos:
        if not live(repo) or not repo.dependency_graph_enabled:
            continue
        team = expected_facts(repo)["team"] or ""
        for key in {by_package.get(d.package) for d in repo.dependencies} - {None}:
            out[str(key)][team] += 1
    return {k: dict(sorted(v.items())) for k, v in sorted(out.items())}
