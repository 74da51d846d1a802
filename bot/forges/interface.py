"""The forge port: what upkeep asks of any forge (GitHub, GitLab, Forgejo), whatever its API.

A forge answers four questions, each in the records the stages already speak:

* **who the organisation is there**: the members of its groups (:meth:`Forge.members`), accounts
  named ``FORGE:username`` so they never collide with GitHub logins;
* **what an upstream looks like**: :meth:`Forge.observe` gives one
  :class:`~bot.signals.records.RepoObservation` per upstream (commits and their authors, last commit
  and release, archived, licence, FUNDING.yml and funding.json), which ``assemble_signals`` turns into
  signals exactly as it does for GitHub;
* **what the people gave there**: :meth:`Forge.contributions` answers spans of one account each (a
  person's whole activity on the forge in a quarter, never one person × one upstream), as the
  :class:`~bot.sources.contributions.SpanResult` the evidence store keeps;
* **the organisation's repositories** (:meth:`Forge.repositories`), for the inventory.

Adapters live beside this module, one per kind; :mod:`bot.forges.registry` builds them from
``[[forges]]``. The GitHub adapter wraps the existing GitHub code without changing it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from bot.records import UpstreamKey
from bot.signals.records import RepoObservation
from bot.sources.contributions import Span, SpanResult


class ForgeError(Exception):
    """A forge answered something upkeep cannot use; the message names the forge and the URL."""


@dataclass(frozen=True, slots=True)
class ForgeRepository:
    """One repository of the organisation on a forge (a GitLab project of a group or subgroup)."""

    path: str  # group/subgroup/name
    web_url: str
    default_branch: str | None
    archived: bool = False
    fork: bool = False


@dataclass(frozen=True, slots=True)
class ForgeMember:
    """One member of a group: ``account`` is ``FORGE:username``."""

    account: str
    username: str
    name: str | None
    group: str
    bot: bool = False


@dataclass
class MembersResult:
    """Members of each configured group; groups that could not be read are problems, not empty groups."""

    members: list[ForgeMember] = field(default_factory=list)
    groups_seen: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def account_of(forge: str, username: str) -> str:
    """The store's account name of a forge user: ``FORGE:username`` (GitHub logins carry no colon)."""
    return f"{forge}:{username.lower()}"


def split_account(account: str) -> tuple[str | None, str]:
    """``FORGE:username`` → (forge, username); a GitHub login → (None, login)."""
    forge, sep, username = account.partition(":")
    return (forge, username) if sep else (None, account)


class Forge(Protocol):
    """One forge instance, as configured by a ``[[forges]]`` entry."""

    name: str
    kind: str
    hosts: tuple[str, ...]  # upstream hosts this forge answers for

    def members(self) -> MembersResult:
        """The members of the configured groups (with their subgroups), bots marked."""
        ...

    def repositories(self) -> list[ForgeRepository]:
        """The configured groups' repositories, subgroups included, forks and archived ones as configured."""
        ...

    def observe(self, upstreams: Sequence[UpstreamKey], *, since: datetime, now: datetime) -> list[RepoObservation]:
        """One observation per upstream (``found=False`` when the forge does not know it)."""
        ...

    def contributions(self, spans: Sequence[Span]) -> Iterator[SpanResult]:
        """Each span's counts by (repository key, kind, instant); ``missing`` when the account does not exist."""
        ...
