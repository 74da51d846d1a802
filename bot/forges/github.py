"""The GitHub adapter of the forge port: today's GitHub code behind the port, unchanged.

The stages keep calling the GitHub code directly (GraphQL batches, App installations per org, the
SBOM export's report flow are GitHub's own and tuned there); this adapter lets anything written
against :class:`~bot.forges.interface.Forge` treat GitHub as one forge among others. It adds no
request of its own: members come from :func:`bot.sources.people.fetch_members`, observations from
:class:`~bot.sources.github_signals.GitHubSignalSource`, contributions from
:class:`~bot.sources.contributions.GitHubContributionSource`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime

from bot.forges.interface import ForgeMember, ForgeRepository, MembersResult
from bot.records import UpstreamKey
from bot.signals.records import RepoObservation
from bot.sources.contributions import GitHubContributionSource, Span, SpanResult
from bot.sources.github_client import GraphQLClient
from bot.sources.github_signals import GitHubSignalSource
from bot.sources.people import fetch_members, is_bot


class GitHubForge:
    """GitHub (github.com or an Enterprise Server) as a forge; accounts are plain logins, as stored today."""

    kind = "github"

    def __init__(
        self,
        gql: GraphQLClient,
        signals: GitHubSignalSource,
        *,
        orgs: Sequence[str] = (),
        hosts: Sequence[str] = ("github.com",),
        bots: Sequence[str] = (),
        name: str = "github",
    ) -> None:
        self.gql, self.signals = gql, signals
        self.orgs, self.hosts, self.bots, self.name = tuple(orgs), tuple(hosts), tuple(bots), name
        self.contribution_source = GitHubContributionSource(gql, web_host=self.hosts[0])

    def members(self) -> MembersResult:
        result = MembersResult()
        for org in self.orgs:
            found = fetch_members(self.gql, org)
            if found is None:
                result.problems.append(f"github.orgs: {org}: no such organisation visible to the token")
                continue
            result.groups_seen[org] = len(found)
            result.members += [
                ForgeMember(login.lower(), login, name, org, bot=is_bot(login, self.bots)) for login, name in found
            ]
        return result

    def repositories(self) -> list[ForgeRepository]:
        """Not through the port: the sync stage lists and exports GitHub repositories itself (``github_sync``)."""
        return []

    def observe(self, upstreams: Sequence[UpstreamKey], *, since: datetime, now: datetime) -> list[RepoObservation]:
        return self.signals.observe([(str(u), u.owner, u.name) for u in upstreams], since=since, now=now)

    def contributions(self, spans: Sequence[Span]) -> Iterator[SpanResult]:
        return self.contribution_source.fetch(spans)
