"""The organisation's people on other forges: group members and the accounts ``[people.accounts]`` names.

A member of a configured group counts as the person of the same name (their GitHub login, when it is
the same), unless ``[people.accounts]`` says whose account it is; a mapped account counts for its
person even when it is in no group. Bots are dropped on every forge: GitLab's bot users, the users of
group and project access tokens, and ``people.bots``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from bot.config import Settings
from bot.forges.interface import Forge, ForgeError, split_account
from bot.sources.people import Identity, is_bot


@dataclass
class ForgePeople:
    identities: list[Identity] = field(default_factory=list)
    bots: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    groups_seen: list[str] = field(default_factory=list)  # "FORGE:group" for each group that answered


def expected_groups(settings: Settings, forges: Mapping[str, Forge]) -> set[str]:
    """Every ``FORGE:group`` whose members are listed (membership history moves only when all answered)."""
    return {f"{f.name}:{g}" for f in settings.forges if f.name in forges for g in f.groups}


def forge_identities(settings: Settings, forges: Mapping[str, Forge]) -> ForgePeople:
    out = ForgePeople()
    owner = {
        account.lower(): person.lower() for person, accounts in settings.people.accounts.items() for account in accounts
    }
    seen: set[str] = set()
    for name, forge in sorted(forges.items()):
        try:
            result = forge.members()
        except ForgeError as exc:  # the forge's groups count as not listed: no membership ends on this run
            out.problems.append(str(exc))
            continue
        out.problems += result.problems
        out.groups_seen += [f"{name}:{g}" for g in result.groups_seen]
        for member in result.members:
            if member.bot or is_bot(member.username, settings.people.bots):
                if member.account not in out.bots:
                    out.bots.append(member.account)
                continue
            person = owner.get(member.account, member.username.lower())
            out.identities.append(Identity(member.account, person, "member", f"{name}:{member.group}", member.name))
            seen.add(member.account)
    for account, person in sorted(owner.items()):
        forge_name, username = split_account(account)
        if is_bot(username, settings.people.bots):
            out.bots.append(account)
            continue
        out.identities.append(Identity(account, person, "extra-login", f"people.accounts.{person} ({forge_name})"))
    out.bots.sort()
    return out
