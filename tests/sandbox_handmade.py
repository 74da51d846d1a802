"""A small hand-made sandbox world with known values, and a tiny router to serve it.

The generated world (``bot.sandbox.generate``) is large and random by design; these tests pin
exact values (counts, licences, sponsorships) on a world small enough to read in one screen.
``route`` and ``serve`` put chosen services behind the sandbox's own router and server.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta

import httpx

from bot.sandbox.interface import Service, ServiceContext
from bot.sandbox.model import (
    Collective,
    Commit,
    Contribution,
    Dependency,
    InternalRepo,
    Issue,
    LedgerEntry,
    OpenCollectiveContribution,
    Package,
    Person,
    Release,
    Sponsorship,
    UpstreamRepo,
    World,
)
from bot.sandbox.server import Router, SandboxServer

NOW = datetime(2026, 11, 1, tzinfo=UTC)
GITHUB_TOKEN = "ghp_handmade0000000000000000000000000000"
SLACK_TOKEN = "xoxb-handmade-0000"
OC_TOKEN = "oc-handmade-0000"
CONTEXT = ServiceContext(base_url="http://sandbox.test", alt_base_url="http://downloads.sandbox.test")

FUNDING_YML = "github: [kennethreitz]\nopen_collective: requests\ncustom: https://psf.org/donate\notechie: null\n"


def _person(login: str, n: int, **kw: object) -> Person:
    return Person(
        login=login,
        name=login.title(),
        emails=[f"{login}@acme.example"],
        node_id=f"U_hand{n}",
        database_id=1000 + n,
        **kw,  # type: ignore[arg-type]
    )


def _commits(owner: str, authors: Sequence[tuple[str, str | None]], start: datetime) -> list[Commit]:
    out = []
    for i, (email, login) in enumerate(authors):
        out.append(
            Commit(
                sha=hashlib.sha1(f"{owner}:{i}".encode(), usedforsecurity=False).hexdigest(),
                author_name=email.split("@")[0].title(),
                author_email=email,
                author_login=login,
                committed_at=start - timedelta(days=10 * i),
                message=f"change {i}",
            )
        )
    return out


def make_world() -> World:
    """A fresh hand-made world (fresh each call: services mutate issues and Slack messages)."""
    people = [
        _person("alice", 1),
        _person("bob", 2),
        _person("dave", 3),
        _person("carol", 4, org_member=False, identity="email-domain"),
        _person("dependabot[bot]", 5, is_bot=True, org_member=False, identity="bot"),
    ]
    deps_web = [
        Dependency("npm/@babel/core", "7.24.0", direct=True, scope="runtime"),
        Dependency("npm/lodash", "4.17.21", direct=False, scope="runtime"),
        Dependency("pypi/requests", "2.32.3", direct=True, scope="runtime"),
        Dependency("pypi/sphinx-autobuild", "", direct=True, scope="development"),
        Dependency("pypi/pytest", "8.3.0", direct=True, scope="development"),
        Dependency("pypi/pluggy", "1.5.0", direct=False, scope="development"),
        Dependency("githubactions/actions/github-script", "7.*.*", direct=True, scope="development"),
    ]
    internal = [
        InternalRepo(
            "acme", "web", "R_web", 501, pushed_at=NOW, created_at=NOW - timedelta(days=900), dependencies=deps_web
        ),
        InternalRepo(
            "acme",
            "api",
            "R_api",
            502,
            private=True,
            pushed_at=NOW,
            created_at=NOW - timedelta(days=800),
            dependencies=[Dependency("golang/github.com/spf13/cobra", "v1.8.0", direct=True, scope="runtime")],
        ),
        InternalRepo("acme", "ospo", "R_ospo", 503, created_at=NOW - timedelta(days=400)),
        InternalRepo("acme", "legacy", "R_legacy", 504, archived=True, dependency_graph_enabled=False),
        InternalRepo("acme", "fork-of-x", "R_fork", 505, fork=True),
    ]
    packages = [
        Package("npm", "@babel", "core", ["7.24.0"], "github.com/babel/babel", license="MIT"),
        Package("npm", None, "lodash", ["4.17.21"], "github.com/lodash/lodash", license="MIT"),
        Package("pypi", None, "requests", ["2.32.3"], "github.com/psf/requests", license="Apache-2.0"),
        Package("pypi", None, "sphinx-autobuild", ["2024.10.3"], "github.com/sphinx-doc/sphinx-autobuild"),
        Package("pypi", None, "pytest", ["8.3.0"], "github.com/pytest-dev/pytest", license="MIT"),
        Package("pypi", None, "pluggy", ["1.5.0"], "github.com/pytest-dev/pluggy", license="MIT"),
        Package("githubactions", "actions", "github-script", ["7.0.1"], "github.com/actions/github-script"),
        Package("golang", "github.com/spf13", "cobra", ["v1.8.0"], "github.com/spf13/cobra", license="Apache-2.0"),
    ]
    requests_repo = UpstreamRepo(
        host="github.com",
        owner="psf",
        name="requests",
        owner_type="Organization",
        node_id="R_requests",
        database_id=9001,
        description="A simple, yet elegant, HTTP library.",
        created_at=NOW - timedelta(days=5000),
        pushed_at=NOW - timedelta(days=3),
        licenses=["Apache-2.0", "Apache-2.0"],
        governance="foundation",
        funding_yml=FUNDING_YML,
        owner_has_sponsors_listing=False,
        stars=52000,
        commits=_commits(
            "psf",
            [
                ("alice@acme.example", "alice"),
                ("nate@psf.example", "nateprewitt"),
                ("alice@acme.example", "alice"),
                ("ghost@nowhere.example", None),
            ],
            NOW - timedelta(days=2),
        ),
        releases=[
            Release("v2.32.3", "v2.32.3", NOW - timedelta(days=100)),
            Release("v2.32.2", "v2.32.2", NOW - timedelta(days=200)),
        ],
    )
    upstreams = [
        requests_repo,
        UpstreamRepo(
            "github.com",
            "babel",
            "babel",
            "Organization",
            "R_babel",
            9002,
            "The compiler",
            licenses=["MIT"],
            pushed_at=NOW - timedelta(days=1),
            created_at=NOW - timedelta(days=4000),
            stars=43000,
            funding_json='{"version": "v1.0.0", "entity": {"type": "organisation"}}',
        ),
        UpstreamRepo(
            "github.com",
            "lodash",
            "lodash",
            "Organization",
            "R_lodash",
            9003,
            "A utility library",
            archived=True,
            licenses=["MIT"],
            pushed_at=NOW - timedelta(days=700),
            created_at=NOW - timedelta(days=5000),
        ),
        UpstreamRepo(
            "github.com",
            "hashicorp",
            "terraform",
            "Organization",
            "R_tf",
            9004,
            "Infrastructure as code",
            licenses=["MPL-2.0", "BUSL-1.1"],
            pushed_at=NOW,
            created_at=NOW - timedelta(days=4500),
        ),
        UpstreamRepo(
            "github.com",
            "pytest-dev",
            "pytest",
            "Organization",
            "R_pytest",
            9005,
            "pytest",
            licenses=["MIT"],
            owner_has_sponsors_listing=True,
            pushed_at=NOW,
            created_at=NOW - timedelta(days=4500),
        ),
        UpstreamRepo(
            "github.com",
            "sindresorhus",
            "is-stream",
            "User",
            "R_isstream",
            9006,
            "is-stream",
            licenses=[None],
            owner_has_sponsors_listing=True,
            pushed_at=NOW,
            created_at=NOW - timedelta(days=4500),
        ),
        UpstreamRepo(
            "gitlab.com",
            "inkscape",
            "inkscape",
            "Organization",
            "R_ink",
            9007,
            "Inkscape",
            licenses=["GPL-2.0-or-later"],
        ),
    ]
    day = NOW - timedelta(days=30)
    contributions = [
        Contribution("alice", "github.com/psf/requests", "commit", day, 3),
        Contribution("alice", "github.com/psf/requests", "commit", day - timedelta(days=5), 2),
        Contribution("alice", "github.com/psf/requests", "pr_merged", day, 2),
        Contribution("alice", "github.com/psf/requests", "pr_opened", day, 1),
        Contribution("alice", "github.com/babel/babel", "issue", day - timedelta(days=60), 1),
        Contribution("alice", "github.com/babel/babel", "review", day - timedelta(days=2), 4),
        Contribution(
            "alice", "github.com/psf/requests", "commit", NOW - timedelta(days=500), 7
        ),  # outside a 1-year window
        Contribution("bob", "github.com/pytest-dev/pytest", "commit", day, 1),
        Contribution("bob", "gitlab.com/inkscape/inkscape", "commit", day, 5),  # not visible through GitHub
    ]
    sponsorships = [
        Sponsorship("acme", "sindresorhus", 50000, False, NOW - timedelta(days=300), tier_name="$500 a month"),
        Sponsorship(
            "acme", "pytest-dev", 10000, False, NOW - timedelta(days=200), privacy="PRIVATE", tier_name="$100 a month"
        ),
        Sponsorship(
            "acme",
            "sindresorhus",
            100000,
            True,
            NOW - timedelta(days=100),
            ended_at=NOW - timedelta(days=100),
            tier_name="$1,000 one time",
        ),
        Sponsorship("alice", "pytest-dev", 500, False, NOW - timedelta(days=50), tier_name="$5 a month"),
    ]
    collectives = [
        Collective("babel", "Babel", "babel/babel"),
        Collective("webpack", "webpack", "webpack"),
    ]
    oc = [
        OpenCollectiveContribution("babel", 200000, "USD", NOW - timedelta(days=40), "Quarterly"),
        OpenCollectiveContribution("babel", 200000, "USD", NOW - timedelta(days=130), "Quarterly"),
        OpenCollectiveContribution("webpack", 50000, "USD", NOW - timedelta(days=400), "One-off"),
    ]
    ledger = [LedgerEntry(date(2026, 3, 1), "github.com/psf/requests", "1500.00", "USD", "tidelift")]
    issues = {
        "acme/ospo": [
            Issue(
                1,
                "Existing gap: lodash",
                "<!-- upkeep:gap:lodash -->\nlodash is archived",
                "open",
                ["upkeep", "gap"],
                "upkeep-bot",
                NOW - timedelta(days=10),
                NOW - timedelta(days=10),
            ),
            Issue(
                2,
                "Old report",
                "nothing here",
                "closed",
                ["report"],
                "alice",
                NOW - timedelta(days=90),
                NOW - timedelta(days=80),
                closed_at=NOW - timedelta(days=80),
                state_reason="completed",
            ),
        ]
    }
    return World(
        seed=7,
        scale="handmade",
        now=NOW,
        orgs=["acme"],
        ospo_repo="acme/ospo",
        email_domains=["acme.example"],
        people=people,
        internal_repos=internal,
        packages=packages,
        upstreams=upstreams,
        contributions=contributions,
        sponsorships=sponsorships,
        collectives=collectives,
        oc_contributions=oc,
        ledger=ledger,
        tokens={"github": [GITHUB_TOKEN], "slack": [SLACK_TOKEN], "opencollective": [OC_TOKEN]},
        issues=issues,
    )


Handler = Callable[[httpx.Request], httpx.Response]


def route(services: Sequence[Service], context: ServiceContext = CONTEXT) -> Handler:
    """An ``httpx.MockTransport`` handler: the sandbox router (no knobs) with just ``services`` mounted."""
    return Router(services=services, context=context).handler


@contextmanager
def serve(world: World, services: Sequence[Service]) -> Iterator[str]:
    """Serve ``services`` over ``world`` on a loopback port (the real ``SandboxServer``); yields the base URL."""
    with SandboxServer(world, router=Router(world, services=services)) as server:
        yield server.base_url
