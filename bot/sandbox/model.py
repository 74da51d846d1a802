"""The sandbox world's data model: everything the fake services serve and the truth they imply.

This module is the contract between the world generator (``generate.py``), the services
that serve it (``github_rest.py``, ``github_graphql.py``, ``registries.py``,
``opencollective.py``, ``slack.py``) and the ground truth (``truth.py``). Plain dataclasses,
no behaviour beyond small derived properties, so that every part reads the same facts.

Time in the world is fixed: ``World.now`` is the instant the world was generated "at", so the
same seed gives the same world byte for byte, whatever the wall clock says.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Literal

ContributionKind = Literal["commit", "pr_opened", "pr_merged", "issue", "review"]
Governance = Literal["foundation", "company", "community", "individual"]


@dataclass
class Person:
    """Someone who may work for the organisation; bots and outsiders are people too."""

    login: str
    name: str
    emails: list[str]
    node_id: str
    database_id: int
    is_bot: bool = False
    org_member: bool = True  # listed by GET /orgs/{org}/members
    identity: Literal["member", "email-domain", "extra-login", "roster", "outsider", "bot"] = "member"
    roster_start: date | None = None  # when the roster says they joined (None: always)
    roster_end: date | None = None  # when they left (None: still there)
    has_sponsors_listing: bool = False
    member_of: list[str] = field(default_factory=list)  # which of World.orgs list them as members
    alias_of: str | None = None  # identity "extra-login": the login of the person this account also belongs to
    gitlab_username: str | None = None  # their account on the sandbox GitLab (None: none there)
    forgejo_username: str | None = None  # their account on the sandbox Forgejo (None: none there)


@dataclass
class Commit:
    sha: str
    author_name: str
    author_email: str
    author_login: str | None  # None when the email is linked to no account
    committed_at: datetime
    message: str


@dataclass
class Release:
    tag: str
    name: str
    published_at: datetime


@dataclass
class UpstreamRepo:
    """A source repository that makes one or more packages (the identity of an upstream)."""

    host: str  # github.com, gitlab.com, codeberg.org, ...
    owner: str
    name: str
    owner_type: Literal["User", "Organization"]
    node_id: str
    database_id: int
    description: str
    default_branch: str = "main"
    created_at: datetime | None = None
    pushed_at: datetime | None = None
    archived: bool = False
    # SPDX id per scan: licenses[0] at the first scan, licenses[1] at the second (drift when they differ).
    licenses: list[str | None] = field(default_factory=list)
    governance: Governance = "individual"
    funding_yml: str | None = None  # raw .github/FUNDING.yml text
    funding_json: str | None = None  # raw funding.json text (floss.fund, or an Optimism one as a trap)
    owner_has_sponsors_listing: bool = False
    commits: list[Commit] = field(default_factory=list)  # default branch, newest first
    releases: list[Release] = field(default_factory=list)
    stars: int = 0
    scorecard: float | None = None  # OpenSSF Scorecard overall score served by deps.dev
    # What the generator built the last 12 months' commits to give (bots excluded); None: not designed.
    designed_bus_factor: int | None = None
    designed_elephant_factor: int | None = None
    # Earlier "owner/name"s, oldest first: GitHub redirects them here (a rename, or a transfer to another owner).
    former_names: list[str] = field(default_factory=list)
    # More files at HEAD, path → text (CONTRIBUTING.md, CLA.md, ...), served by ``object(expression:)``.
    files: dict[str, str] = field(default_factory=dict)
    # What contributors must agree to, as the generator designed it: a CLA (rights granted to the owner,
    # who may then relicense), a DCO (a sign-off, no rights granted), or nothing asked.
    contributor_agreement: Literal["cla", "dco"] | None = None

    @property
    def key(self) -> str:
        return f"{self.host}/{self.owner}/{self.name}".lower()

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"

    @property
    def former_keys(self) -> list[str]:
        return [f"{self.host}/{former}".lower() for former in self.former_names]


@dataclass
class Package:
    """A package in a registry. ``metadata`` is the ecosystem-specific registry document data
    (messy repository strings and all) that ``registries.py`` renders; ``true_upstream`` is what
    a correct resolver must find (None: nothing in any metadata says, so it must stay unresolved)."""

    ecosystem: str  # purl type: pypi, npm, cargo, golang, maven, gem, nuget, composer, githubactions
    namespace: str | None
    name: str
    versions: list[str]
    true_upstream: str | None
    metadata: dict[str, Any] = field(default_factory=dict)
    repository_form: str = "plain"  # which messy form the metadata uses (for tests and truth)
    subdirectory: str | None = None  # monorepo directory, when the metadata says
    deprecated: bool = False
    license: str | None = None
    unresolvable_reason: str | None = None  # the reason a resolver should give when true_upstream is None
    # The repository the metadata still names when its upstream was renamed since (None: it names the true one).
    declared_upstream: str | None = None

    @property
    def package_key(self) -> str:
        return f"{self.ecosystem}/{self.namespace}/{self.name}" if self.namespace else f"{self.ecosystem}/{self.name}"


@dataclass
class Dependency:
    """An internal repository's use of one package version."""

    package: str  # Package.package_key
    version: str
    direct: bool
    scope: Literal["runtime", "development"]
    via: str | None = None  # transitive only: the package_key of the direct dependency that pulls it in


@dataclass
class InternalRepo:
    """A repository of the organisation; its dependency graph is served as a GitHub SBOM export."""

    org: str
    name: str
    node_id: str
    database_id: int
    private: bool = False
    fork: bool = False
    archived: bool = False
    dependency_graph_enabled: bool = True
    pushed_at: datetime | None = None
    created_at: datetime | None = None
    dependencies: list[Dependency] = field(default_factory=list)
    properties: dict[str, str] = field(default_factory=dict)  # custom property values (tier, team)
    topics: list[str] = field(default_factory=list)
    codeowners: dict[str, str] = field(default_factory=dict)  # path (.github/CODEOWNERS, ...) -> text

    @property
    def full_name(self) -> str:
        return f"{self.org}/{self.name}"


@dataclass
class Contribution:
    """``count`` contributions of one kind by one person to one upstream on one day."""

    login: str
    upstream: str  # UpstreamRepo.key
    kind: ContributionKind
    occurred_at: datetime
    count: int = 1


@dataclass
class Sponsorship:
    """A GitHub Sponsors sponsorship by the organisation (or, if ``sponsor`` is a person, by them)."""

    sponsor: str  # org login or person login
    sponsorable: str  # the sponsored account login
    monthly_cents: int
    is_one_time: bool
    created_at: datetime
    ended_at: datetime | None = None  # None: still active
    privacy: Literal["PUBLIC", "PRIVATE"] = "PUBLIC"
    tier_name: str = ""


@dataclass
class Collective:
    """An Open Collective account; ``github_repo`` is its linked repository (an upstream key), if any."""

    slug: str
    name: str
    github_handle: str | None  # "owner" or "owner/repo" as Open Collective stores it
    currency: str = "USD"


@dataclass
class OpenCollectiveContribution:
    collective: str  # Collective.slug
    amount_cents: int
    currency: str
    created_at: datetime
    description: str = ""


@dataclass
class LedgerEntry:
    """A payment outside GitHub and Open Collective, as the OSPO's ledger CSV records it."""

    paid_on: date
    upstream: str  # upstream key or payee
    amount: str  # decimal text, e.g. "1500.00"
    currency: str
    channel: str  # tidelift, thanks.dev, foundation-membership, invoice, grant
    note: str = ""


@dataclass
class SlackMessage:
    """A message the Slack fake accepted (tests and the demo read these)."""

    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]] | None
    thread_ts: str | None
    metadata: dict[str, Any] | None
    user: str


@dataclass
class IssueComment:
    id: int
    body: str
    user: str
    created_at: datetime


@dataclass
class IssueEvent:
    """One entry of an issue's event log, as GitHub's ``/issues/{n}/events`` lists it."""

    id: int
    event: str  # closed | reopened | renamed
    actor: str
    created_at: datetime
    state_reason: str | None = None  # closed: completed | not_planned | duplicate; reopened: reopened
    rename_from: str | None = None
    rename_to: str | None = None


@dataclass
class BodyEdit:
    """One revision of an issue body (GraphQL ``userContentEdits``): who saved it, when, the text."""

    editor: str
    edited_at: datetime
    body: str


@dataclass
class Issue:
    """An issue in a sandbox repository (the OSPO repository receives upkeep's issues)."""

    number: int
    title: str
    body: str
    state: Literal["open", "closed"]
    labels: list[str]
    user: str
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None = None
    state_reason: str | None = None
    comments: list[IssueComment] = field(default_factory=list)
    events: list[IssueEvent] = field(default_factory=list)
    edits: list[BodyEdit] = field(default_factory=list)  # empty until the body is first edited
    closed_by: str | None = None


@dataclass
class World:
    """A whole generated world. Mutable parts (issues, Slack messages, ``scan``) change as upkeep acts."""

    seed: int
    scale: str
    now: datetime
    orgs: list[str]
    ospo_repo: str  # "org/name" where upkeep creates issues
    email_domains: list[str]  # the organisation's commit email domains
    people: list[Person]
    internal_repos: list[InternalRepo]
    packages: list[Package]
    upstreams: list[UpstreamRepo]
    contributions: list[Contribution]
    sponsorships: list[Sponsorship]
    collectives: list[Collective]
    oc_contributions: list[OpenCollectiveContribution]
    ledger: list[LedgerEntry]
    # Upstreams the generator made heavily used and under-invested, in the order of the intended gap.
    under_invested: list[str] = field(default_factory=list)
    # Tokens the fake services accept, by service: {"github": [...], "slack": [...], "opencollective": [...]}
    tokens: dict[str, list[str]] = field(default_factory=dict)
    scan: int = 0  # which licence a repository shows: licenses[min(scan, len - 1)]
    issues: dict[str, list[Issue]] = field(default_factory=dict)  # "owner/name" -> issues
    slack_messages: list[SlackMessage] = field(default_factory=list)
    opencollective_slug: str = ""  # the organisation's own Open Collective account (whose DEBITs are its payments)
    slack_channel: str = ""  # the channel upkeep posts to (a name without "#", e.g. "upkeep")
    # What the Mattermost, Matrix, Teams and SMTP fakes accepted, by kind (plain JSON-able dicts).
    notify_posts: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    # People's own GitHub tokens (token -> login), for tests acting as a person in the OSPO repository.
    person_tokens: dict[str, str] = field(default_factory=dict)
    # How far the sandbox's clock for writes (issues, comments, events) runs ahead of the wall clock.
    clock_shift: timedelta = field(default_factory=timedelta)
    # The organisation's groups on the sandbox GitLab, path -> member usernames ("acme", "acme/platform").
    gitlab_groups: dict[str, list[str]] = field(default_factory=dict)
    gitlab_hosts: tuple[str, ...] = ("gitlab.com",)  # upstream hosts the sandbox GitLab serves
    # The organisation on the sandbox Forgejo (Codeberg-like), name -> member usernames.
    forgejo_orgs: dict[str, list[str]] = field(default_factory=dict)
    forgejo_hosts: tuple[str, ...] = ("codeberg.org",)  # upstream hosts the sandbox Forgejo serves
