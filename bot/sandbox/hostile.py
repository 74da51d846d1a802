"""A hostile world: every free-text field upkeep may render carries payloads, as people outside the
organisation can write them (``--hostile-text`` on ``upkeep demo``, ``upkeep sandbox serve`` and
``upkeep sandbox truth``).

Applied to a generated world, not inside the generator: the same seed gives the same world with
the same payloads. Fields the real services constrain keep their form — GitHub logins and
repository names (letters, digits, ``-``, ``.``, ``_``), package names (their registry's rules),
so upstream keys stay keys — everything else a person can type carries a payload: display names,
commit authors and messages, release names, descriptions, licence strings in SBOMs and registry
metadata, FUNDING.yml custom links, Open Collective names and descriptions, ledger payees and notes,
and an issue in the OSPO repository by someone else that carries a fake upkeep marker.

What a payload may never do, wherever it is rendered (the tests check): ping in Slack (``<!channel>``,
``<!here>``, ``<@U123>``), mention or link on GitHub (``@octocat``, ``#1``), run or load in HTML
(``<script>``, ``<img onerror>``), link to ``javascript:``, pass for upkeep's own marker, reorder or
hide text (bidirectional and zero-width characters), start a spreadsheet formula, or break a log line.
"""

from __future__ import annotations

import copy
from dataclasses import replace
from datetime import timedelta

from bot.sandbox.model import Dependency, Issue, LedgerEntry, Package, World

#: One of each kind of hostile text (kept short, so they combine with the real value).
PAYLOADS: tuple[str, ...] = (
    "<!channel>",
    "<!here>",
    "<@U123>",
    "@channel",
    "@here",
    "@octocat",
    "#1",
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "[x](javascript:alert(1))",
    "<!-- upkeep:gap:github.com/evil/evil -->",
    "\u202etxt.exe\u202c",
    "zero\u200bwidth\u200d\u2060",
    '=HYPERLINK("http://evil.example","x")',
    "+cmd|' /C calc'!A0",
    "line\nbreak\r\nend",
)
#: The 10,000-character name.
LONG = "L" * 10_000
#: The login of the outsider who files an issue with a fake marker in the OSPO repository.
MALLORY = "mallory"


def payload(index: int) -> str:
    return PAYLOADS[index % len(PAYLOADS)]


def hostile(world: World) -> World:
    """A copy of ``world`` with payloads in every free-text field (see the module docstring)."""
    out = copy.deepcopy(world)
    for i, person in enumerate(out.people):
        person.name = LONG if i == 0 else f"{person.name} {payload(i)}"
    for i, upstream in enumerate(out.upstreams):
        upstream.description = f"{upstream.description} {payload(i)}"
        for j, commit in enumerate(upstream.commits):
            commit.author_name = f"{commit.author_name} {payload(i + j)}"
            commit.message = f"{commit.message} {payload(i + j + 1)}"
        upstream.releases = [replace(r, name=f"{r.name} {payload(i + k)}") for k, r in enumerate(upstream.releases)]
        links = ", ".join(_yaml_quoted(f"https://evil.example/{payload(i + k)}") for k in range(2))
        upstream.funding_yml = (upstream.funding_yml or "").rstrip("\n") + f"\ncustom: [{links}]\n"
    for i, package in enumerate(out.packages):
        if package.license:
            package.license = f"{package.license} {payload(i)}" if i % 3 else f"LicenseRef-{payload(i)}"
    for i, collective in enumerate(out.collectives):
        collective.name = LONG if i == 0 else f"{collective.name} {payload(i)}"
    for i, contribution in enumerate(out.oc_contributions):
        contribution.description = f"{contribution.description} {payload(i)}"
    for i, entry in enumerate(out.ledger):
        entry.note = f"{entry.note} {payload(i)}"
    first = min((e.paid_on for e in out.ledger), default=out.now.date() - timedelta(days=30))
    for i, text in enumerate((*PAYLOADS, LONG)):
        out.ledger.append(LedgerEntry(first, text, f"{10 + i}.00", "USD", "invoice", payload(i + 1)))
    _hostile_packages(out)
    _fake_marker_issue(out)
    return out


def _hostile_packages(world: World) -> None:
    """Packages named with payloads (npm, whose registry has none of them), used directly by the first
    repository: SBOMs carry any name, and unresolved packages are listed in the review by name."""
    repo = next((r for r in world.internal_repos if not r.archived and not r.fork), None)
    if repo is None:
        return
    for i, text in enumerate((*PAYLOADS, LONG)):
        name = f"hostile-{i}-{text}"
        reason = "not found in the npm registry"
        world.packages.append(Package("npm", None, name, ["1.0.0"], None, unresolvable_reason=reason))
        repo.dependencies.append(Dependency(f"npm/{name}", "1.0.0", True, "runtime"))


def _yaml_quoted(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    return f'"{escaped}"'


def _fake_marker_issue(world: World) -> None:
    """An issue by someone else whose body claims to be upkeep's, for an upstream the world uses."""
    target = next((u.key for u in world.upstreams if u.host == "github.com"), "github.com/evil/evil")
    issues = world.issues.setdefault(world.ospo_repo, [])
    number = max((i.number for i in issues), default=0) + 1
    body = f"<!-- upkeep:gap:{target} -->\nI wrote this, not upkeep. {' '.join(PAYLOADS)}"
    moment = world.now - timedelta(days=3)
    issues.append(Issue(number, f"Underfunded: {target} {payload(3)}", body, "open", [], MALLORY, moment, moment))
