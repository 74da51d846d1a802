"""Contributions: batching, the split of cut-short spans, checkpoints; against a small fake GraphQL handler."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

import httpx
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.config import Secrets, load_settings
from bot.sources.contributions import quarters, segments
from bot.sources.evidence_stage import Clients, gather_evidence
from bot.sources.github_client import GraphQLClient
from bot.sources.people import Identity
from bot.store import evidence as store
from bot.store.engine import session_scope

NOW = datetime(2026, 11, 15, 12, 0, tzinfo=UTC)
# commits twice a day for 400 days by "busy" to one repository: more than 100 in any quarter
EVENTS = [NOW - timedelta(days=d, hours=h) for d in range(1, 400) for h in (3, 15)]


class FakeGitHub:
    """Answers the contributions query like GitHub: at most 100 contributions per list, then hasNextPage."""

    def __init__(self) -> None:
        self.asked: list[dict[str, Any]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        payload = json.loads(request.content)
        variables = payload["variables"]
        self.asked.append(variables)
        start = datetime.fromisoformat(variables["from"].replace("Z", "+00:00"))
        end = datetime.fromisoformat(variables["to"].replace("Z", "+00:00"))
        assert end - start <= timedelta(days=366)
        data: dict[str, Any] = {}
        for key, login in variables.items():
            if not key.startswith("l"):
                continue
            alias = f"p{key[1:]}"
            if login == "ghost":
                data[alias] = None
                continue
            moments = [m for m in EVENTS if start <= m <= end] if login == "busy" else []
            nodes = [{"occurredAt": m.strftime("%Y-%m-%dT%H:%M:%SZ"), "commitCount": 2} for m in moments[:100]]
            lists = (
                [
                    {
                        "repository": {"nameWithOwner": "Owner/Repo", "isPrivate": False},
                        "contributions": {
                            "totalCount": len(moments),
                            "pageInfo": {"hasNextPage": len(moments) > 100},
                            "nodes": nodes,
                        },
                    }
                ]
                if moments
                else []
            )
            data[alias] = {
                "login": login,
                "contributionsCollection": {
                    "restrictedContributionsCount": 0,
                    "totalRepositoriesWithContributedCommits": len(lists),
                    "totalRepositoriesWithContributedIssues": 0,
                    "totalRepositoriesWithContributedPullRequests": 0,
                    "totalRepositoriesWithContributedPullRequestReviews": 0,
                    "commitContributionsByRepository": lists,
                    "issueContributionsByRepository": [],
                    "pullRequestContributionsByRepository": [],
                    "pullRequestReviewContributionsByRepository": [],
                },
            }
        errors = [{"type": "NOT_FOUND", "path": [a], "message": "no such user"} for a, v in data.items() if v is None]
        return httpx.Response(200, json={"data": data, **({"errors": errors} if errors else {})})


def _setup(engine: Engine, accounts: list[str]) -> tuple[Clients, FakeGitHub]:
    with session_scope(engine) as session:
        identities = [Identity(a, a, "member", "acme") for a in accounts]
        store.save_identities(session, identities, now=NOW, members_listed=True)
    fake = FakeGitHub()
    client = httpx.Client(transport=httpx.MockTransport(fake))
    return Clients(GraphQLClient(client, "https://api.github.test/graphql")), fake


def test_cut_short_spans_are_split_until_every_contribution_is_seen(engine: Engine) -> None:
    clients, _ = _setup(engine, ["busy", "quiet"])
    settings = load_settings(None, overrides={"github.orgs": ()})
    summary = gather_evidence(engine, settings, Secrets(), now=NOW, clients=clients, parts=("contributions",))
    assert summary.segments_split > 0 and summary.stopped is None
    with Session(engine) as session:
        for name, start, end in quarters(NOW, 6):
            counts = store.load_contribution_counts(session, start=start, end=end, bounds="[start, end)")
            expected = 2 * sum(1 for m in EVENTS if start <= m < end)
            assert counts.get("busy", {}).get("github.com/owner/repo", {}).get("commit", 0) == expected, name
        trailing = store.load_contribution_counts(
            session, start=NOW - timedelta(days=365), end=NOW, bounds="(start, end]"
        )
    assert trailing["busy"]["github.com/owner/repo"]["commit"] == 2 * sum(
        1 for m in EVENTS if NOW - timedelta(days=365) < m <= NOW
    )
    assert "quiet" not in trailing


def test_accounts_are_asked_together_and_a_rerun_asks_nothing(engine: Engine) -> None:
    accounts = [f"user{i}" for i in range(25)]
    clients, fake = _setup(engine, accounts)
    settings = load_settings(None, overrides={"github.people_per_query": 10})
    gather_evidence(engine, settings, Secrets(), now=NOW, clients=clients, parts=("contributions",))
    spans = segments(NOW, window_days=365, review_quarters=6)
    assert clients.github.calls["contributions"] == len(spans) * 3  # ⌈25 ÷ 10⌉ per quarter
    assert all(len([k for k in v if k.startswith("l")]) <= 10 for v in fake.asked)
    again = gather_evidence(engine, settings, Secrets(), now=NOW, clients=clients, parts=("contributions",))
    assert again.segments_fetched == 0 and clients.github.calls["contributions"] == len(spans) * 3


def test_a_later_run_asks_only_the_running_quarter_again(engine: Engine) -> None:
    clients, fake = _setup(engine, ["quiet"])
    settings = load_settings(None)
    gather_evidence(engine, settings, Secrets(), now=NOW, clients=clients, parts=("contributions",))
    fake.asked.clear()
    later = gather_evidence(
        engine, settings, Secrets(), now=NOW + timedelta(days=1), clients=clients, parts=("contributions",)
    )
    assert later.segments_fetched == 1
    assert [v["from"] for v in fake.asked] == ["2026-10-01T00:00:00Z"]


def test_an_account_that_does_not_exist_is_data(engine: Engine) -> None:
    clients, _ = _setup(engine, ["ghost", "quiet"])
    summary = gather_evidence(
        engine, load_settings(None), Secrets(), now=NOW, clients=clients, parts=("contributions",)
    )
    assert summary.missing_accounts == ["ghost"] and summary.stopped is None


def test_segments_cover_the_trailing_window_and_the_review_quarters() -> None:
    spans = segments(NOW, window_days=365, review_quarters=6)
    assert spans[0][0] == quarters(NOW, 6)[0][1] <= NOW - timedelta(days=365)
    assert spans[-1][0] <= NOW < spans[-1][1]
    assert all(a[1] == b[0] for a, b in pairwise(spans))
