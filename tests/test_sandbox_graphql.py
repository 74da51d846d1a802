"""The sandbox's GitHub GraphQL fake: validation against GitHub's schema and the subset upkeep resolves."""

from __future__ import annotations

import time
from collections import Counter
from datetime import timedelta
from typing import Any

import httpx
import pytest

from bot.sandbox.generate import generate_world
from bot.sandbox.github_graphql import GitHubGraphQLService, funding_links
from bot.sandbox.model import World
from tests.sandbox_handmade import GITHUB_TOKEN, NOW, make_world, route

CONTRIBUTIONS = """
query($login: String!, $from: DateTime, $to: DateTime) {
  user(login: $login) {
    login
    contributionsCollection(from: $from, to: $to) {
      totalCommitContributions totalPullRequestContributions totalIssueContributions
      totalPullRequestReviewContributions restrictedContributionsCount
      commitContributionsByRepository(maxRepositories: 100) {
        repository { nameWithOwner owner { login } name url isPrivate }
        contributions(first: 100) { totalCount nodes { occurredAt commitCount } }
      }
      pullRequestContributionsByRepository(maxRepositories: 100) {
        repository { nameWithOwner }
        contributions(first: 100) { totalCount nodes { occurredAt pullRequest { merged state } } }
      }
      issueContributionsByRepository(maxRepositories: 100) {
        repository { nameWithOwner } contributions(first: 1) { totalCount }
      }
      pullRequestReviewContributionsByRepository(maxRepositories: 100) {
        repository { nameWithOwner } contributions(first: 1) { totalCount }
      }
    }
  }
}
"""


_HANDLERS: dict[int, Any] = {}


@pytest.fixture
def world() -> World:
    return make_world()


def ask(
    world: World,
    query: str,
    variables: dict[str, Any] | None = None,
    token: str | None = GITHUB_TOKEN,
    service: GitHubGraphQLService | None = None,
) -> httpx.Response:
    # one router per service, so its limits count across the questions asked of that service
    if service is not None:
        handler = _HANDLERS.setdefault(id(service), route([service]))
    else:
        handler = route([GitHubGraphQLService(world)])
    headers = {"Authorization": f"bearer {token}"} if token else {}
    with httpx.Client(transport=httpx.MockTransport(handler), headers=headers) as c:
        return c.post("http://sandbox.test/api/graphql", json={"query": query, "variables": variables or {}})


def test_a_field_github_does_not_have_fails_as_on_github(world: World) -> None:
    query = '{ user(login: "alice") { login favouriteColour } }'
    response = ask(world, query)
    assert response.status_code == 200
    body = response.json()
    assert "data" not in body
    [error] = body["errors"]
    assert error["message"] == "Field 'favouriteColour' doesn't exist on type 'User'"
    assert error["locations"] == [{"line": 1, "column": query.index("favouriteColour") + 1}]


def test_an_unknown_argument_and_a_syntax_error_fail_too(world: World) -> None:
    bad_arg = ask(world, '{ user(login: "alice", nickname: "al") { login } }').json()
    syntax = ask(world, "{ user(login: ").json()
    assert "nickname" in bad_arg["errors"][0]["message"]
    assert syntax["errors"][0]["message"].startswith("Syntax Error")


def test_authentication_is_required(world: World) -> None:
    missing = ask(world, "{ viewer { login } }", token=None)
    wrong = ask(world, "{ viewer { login } }", token="ghp_wrong")
    assert missing.status_code == 401 and "requires you to be authenticated" in missing.json()["message"]
    assert wrong.status_code == 401 and wrong.json()["message"] == "Bad credentials"


def test_contributions_match_the_world_in_a_window(world: World) -> None:
    start, end = NOW - timedelta(days=365), NOW
    variables = {"login": "alice", "from": start.isoformat(), "to": end.isoformat()}
    body = ask(world, CONTRIBUTIONS, variables).json()
    assert "errors" not in body, body
    collection = body["data"]["user"]["contributionsCollection"]
    mine = [c for c in world.contributions if c.login == "alice" and start <= c.occurred_at <= end]
    totals = Counter[str]()
    for c in mine:
        totals[c.kind] += c.count
    assert collection["totalCommitContributions"] == totals["commit"]
    assert collection["totalPullRequestContributions"] == totals["pr_opened"] + totals["pr_merged"]
    assert collection["totalIssueContributions"] == totals["issue"]
    assert collection["totalPullRequestReviewContributions"] == totals["review"]
    commits = {
        r["repository"]["nameWithOwner"]: sum(n["commitCount"] for n in r["contributions"]["nodes"])
        for r in collection["commitContributionsByRepository"]
    }
    assert commits == {"psf/requests": 5}  # the 7 commits 500 days ago are outside the window
    prs = collection["pullRequestContributionsByRepository"][0]["contributions"]["nodes"]
    assert sorted(p["pullRequest"]["merged"] for p in prs) == [False, True, True]
    assert {p["pullRequest"]["state"] for p in prs if p["pullRequest"]["merged"]} == {"MERGED"}
    reviews = collection["pullRequestReviewContributionsByRepository"]
    assert [(r["repository"]["nameWithOwner"], r["contributions"]["totalCount"]) for r in reviews] == [
        ("babel/babel", 4)
    ]


def test_contributions_outside_github_are_invisible(world: World) -> None:
    body = ask(world, CONTRIBUTIONS, {"login": "bob"}).json()
    repos = [
        r["repository"]["nameWithOwner"]
        for r in body["data"]["user"]["contributionsCollection"]["commitContributionsByRepository"]
    ]
    assert repos == ["pytest-dev/pytest"]  # the gitlab.com upstream is not on GitHub


def test_a_window_over_one_year_is_refused(world: World) -> None:
    body = ask(
        world, CONTRIBUTIONS, {"login": "alice", "from": "2024-01-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"}
    ).json()
    assert body["data"] == {"user": None}
    assert body["errors"][0]["message"] == "The total time spanned by 'from' and 'to' must not exceed 1 year"
    assert body["errors"][0]["path"] == ["user", "contributionsCollection"]


def test_unknown_logins_are_null_with_not_found_next_to_found_ones(world: World) -> None:
    body = ask(
        world,
        '{ a: user(login: "alice") { login } b: user(login: "nobody") { login } '
        'c: user(login: "dependabot[bot]") { login } }',
    ).json()
    assert body["data"] == {"a": {"login": "alice"}, "b": None, "c": None}
    assert [(e["type"], e["path"]) for e in body["errors"]] == [("NOT_FOUND", ["b"]), ("NOT_FOUND", ["c"])]
    outside = ask(
        world, '{ o: user(login: "sindresorhus") { login hasSponsorsListing } org: user(login: "psf") { login } }'
    )
    assert outside.json()["data"] == {"o": {"login": "sindresorhus", "hasSponsorsListing": True}, "org": None}


SPONSORSHIPS = """
query($after: String, $active: Boolean) {
  organization(login: "acme") {
    sponsorshipsAsSponsor(first: 2, after: $after, activeOnly: $active) {
      totalCount pageInfo { hasNextPage endCursor }
      nodes {
        sponsorable { __typename ... on User { login } ... on Organization { login } }
        tier { monthlyPriceInCents isOneTime name } isOneTimePayment isActive createdAt tierSelectedAt privacyLevel
      }
    }
  }
}
"""


def test_sponsorships_page_and_filter_active(world: World) -> None:
    seen: list[dict[str, Any]] = []
    after = None
    while True:
        page = ask(world, SPONSORSHIPS, {"after": after, "active": False}).json()["data"]["organization"][
            "sponsorshipsAsSponsor"
        ]
        seen += page["nodes"]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    mine = [s for s in world.sponsorships if s.sponsor == "acme"]
    assert len(seen) == page["totalCount"] == len(mine)
    assert [(n["sponsorable"]["login"], n["tier"]["monthlyPriceInCents"], n["isOneTimePayment"]) for n in seen] == [
        (s.sponsorable, s.monthly_cents, s.is_one_time) for s in sorted(mine, key=lambda s: s.created_at)
    ]
    assert {n["sponsorable"]["__typename"] for n in seen} == {"User", "Organization"}
    active = ask(world, SPONSORSHIPS, {"active": True}).json()["data"]["organization"]["sponsorshipsAsSponsor"]
    assert active["totalCount"] == sum(1 for s in mine if s.ended_at is None)


def test_repository_signals_and_licence_drift(world: World) -> None:
    query = """
    query {
      r: repository(owner: "psf", name: "requests") {
        licenseInfo { spdxId } fundingLinks { platform url } isArchived pushedAt stargazerCount
        owner { __typename login ... on Organization { hasSponsorsListing } }
        releases(first: 1, orderBy: {field: CREATED_AT, direction: DESC}) { nodes { tagName publishedAt } }
        latestRelease { tagName }
      }
      l: repository(owner: "lodash", name: "lodash") { isArchived }
      t: repository(owner: "hashicorp", name: "terraform") { licenseInfo { spdxId } }
      rateLimit { cost remaining resetAt limit }
    }
    """
    service = GitHubGraphQLService(world)
    first = ask(world, query, service=service).json()["data"]
    world.scan = 1
    second = ask(world, query, service=service).json()["data"]
    requests_repo = next(u for u in world.upstreams if u.name == "requests")
    assert first["r"]["fundingLinks"] == funding_links(requests_repo.funding_yml)
    assert [link["platform"] for link in first["r"]["fundingLinks"]] == [
        "GITHUB",
        "OPEN_COLLECTIVE",
        "CUSTOM",
    ]  # otechie dropped
    assert first["r"]["releases"]["nodes"][0]["tagName"] == first["r"]["latestRelease"]["tagName"] == "v2.32.3"
    assert first["r"]["owner"] == {"__typename": "Organization", "login": "psf", "hasSponsorsListing": False}
    assert first["l"]["isArchived"] is True
    assert (first["t"]["licenseInfo"]["spdxId"], second["t"]["licenseInfo"]["spdxId"]) == ("MPL-2.0", "BUSL-1.1")
    assert first["rateLimit"]["limit"] == 5000 and first["rateLimit"]["remaining"] > second["rateLimit"]["remaining"]


HISTORY = """
query($after: String, $since: GitTimestamp) {
  repository(owner: "psf", name: "requests") {
    defaultBranchRef { target { ... on Commit {
      history(first: 3, after: $after, since: $since) {
        totalCount pageInfo { hasNextPage endCursor } nodes { oid committedDate author { email name user { login } } }
      }
    } } }
  }
}
"""


def test_upkeeps_signals_query_runs_unchanged(world: World) -> None:
    from bot.sources.github_signals import signals_query

    variables = {"since": "2026-01-01T00:00:00Z", "o0": "psf", "n0": "requests", "o1": "babel", "n1": "babel"}
    variables |= {"o2": "gone", "n2": "away"}
    body = ask(world, signals_query(3), variables).json()
    assert [e["type"] for e in body.get("errors", [])] == ["NOT_FOUND"]
    requests_repo, babel = body["data"]["r0"], body["data"]["r1"]
    assert requests_repo["fundingJson"] is None and babel["fundingJson"] == {"__typename": "Blob"}
    assert requests_repo["defaultBranchRef"]["target"]["history"]["totalCount"] == 4
    blob = ask(
        world,
        '{ repository(owner: "babel", name: "babel") '
        '{ object(expression: "HEAD:funding.json") { ... on Blob { text } } } }',
    )
    assert (
        blob.json()["data"]["repository"]["object"]["text"]
        == next(u for u in world.upstreams if u.name == "babel").funding_json
    )


def test_history_pages_through_every_commit(world: World) -> None:
    oids: list[str] = []
    after = None
    while True:
        history = ask(world, HISTORY, {"after": after}).json()["data"]["repository"]["defaultBranchRef"]["target"][
            "history"
        ]
        oids += [n["oid"] for n in history["nodes"]]
        if not history["pageInfo"]["hasNextPage"]:
            break
        after = history["pageInfo"]["endCursor"]
    requests_repo = next(u for u in world.upstreams if u.name == "requests")
    assert oids == [c.sha for c in requests_repo.commits]
    since = requests_repo.commits[1].committed_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    recent = ask(world, HISTORY, {"since": since}).json()["data"]["repository"]["defaultBranchRef"]["target"]["history"]
    assert recent["totalCount"] == 2
    assert recent["nodes"][0]["author"]["user"] == {"login": "alice"}


def test_connections_need_first_or_last_at_most_100(world: World) -> None:
    no_first = ask(world, '{ organization(login: "acme") { membersWithRole { totalCount } } }').json()
    too_many = ask(world, '{ organization(login: "acme") { membersWithRole(first: 101) { totalCount } } }').json()
    assert no_first["errors"][0]["type"] == "MISSING_PAGINATION_BOUNDARIES"
    assert too_many["errors"][0]["message"].startswith("Requesting 101 records on the `membersWithRole` connection")


def test_members_with_role_and_nodes(world: World) -> None:
    members = ask(
        world, '{ organization(login: "acme") { membersWithRole(first: 100) { nodes { login } edges { role } } } }'
    ).json()
    logins = [n["login"] for n in members["data"]["organization"]["membersWithRole"]["nodes"]]
    assert logins == [p.login for p in world.people if p.org_member and not p.is_bot]
    nodes = ask(
        world,
        '{ nodes(ids: ["U_hand1", "missing", "R_requests"]) '
        "{ ... on User { login } ... on Repository { nameWithOwner } } }",
    ).json()
    assert nodes["data"]["nodes"] == [{"login": "alice"}, None, {"nameWithOwner": "psf/requests"}]
    assert nodes["errors"][0]["path"] == ["nodes", 1]


def test_ten_people_per_query_on_a_generated_world_is_fast_and_exact() -> None:
    world = generate_world(seed=11, scale="small")
    service = GitHubGraphQLService(world)
    handler = route([service])
    people = [p for p in world.people if not p.is_bot][:10]
    fields = (
        "contributionsCollection(from: $from, to: $to) { totalCommitContributions totalPullRequestContributions "
        "commitContributionsByRepository(maxRepositories: 100) "
        "{ repository { nameWithOwner } contributions(first: 100) { totalCount } } }"
    )
    query = (
        "query($from: DateTime, $to: DateTime) {"
        + " ".join(f'u{i}: user(login: "{p.login}") {{ login {fields} }}' for i, p in enumerate(people))
        + "}"
    )
    start, end = world.now - timedelta(days=365), world.now
    variables = {"from": start.isoformat(), "to": end.isoformat()}
    with httpx.Client(
        transport=httpx.MockTransport(handler), headers={"Authorization": f"Bearer {world.tokens['github'][0]}"}
    ) as c:
        began = time.perf_counter()
        body = c.post("http://sandbox.test/api/graphql", json={"query": query, "variables": variables}).json()
        elapsed = time.perf_counter() - began
    assert "errors" not in body, body.get("errors")
    github_hosted = {u.key for u in world.upstreams if u.host == "github.com"}
    for i, person in enumerate(people):
        expected = sum(
            c.count
            for c in world.contributions
            if c.login == person.login
            and c.kind == "commit"
            and c.upstream in github_hosted
            and start <= c.occurred_at <= end
        )
        assert body["data"][f"u{i}"]["contributionsCollection"]["totalCommitContributions"] == expected
    assert elapsed < 2.0  # schema already built by earlier tests or this one; a query is milliseconds
