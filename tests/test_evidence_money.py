"""Sponsors payments and attribution, and the GraphQL client's failure vocabulary."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.http import RateLimited
from bot.sandbox.truth import sponsorship_payments as sponsorship_payments_of
from bot.sources.github_client import GitHubQueryError, GraphQLClient
from bot.sources.people import Identity
from bot.sources.sponsors import Sponsorship, attribute, sponsorship_payments, total_asks
from bot.store import evidence as store
from bot.store.engine import session_scope
from tests.sandbox_fixtures import RunningSandbox

pytest_plugins = ["tests.sandbox_fixtures"]  # harmless once the lead registers it globally

NOW = datetime(2026, 11, 15, 12, 0, tzinfo=UTC)
START = datetime(2026, 1, 10, 15, 0, tzinfo=UTC)


def test_an_account_standing_for_several_upstreams_is_split_evenly_and_says_so() -> None:
    owners = {"alice": ["github.com/alice/a", "github.com/alice/b"]}
    keys, why = attribute("Alice", owners, {"alice": ["github.com/org/c"]})
    assert keys == ("github.com/alice/a", "github.com/alice/b", "github.com/org/c")
    assert "split evenly" in why
    assert attribute("nobody", owners, {}) == ((), "nobody owns no upstream and no FUNDING.yml names it")


def test_monthly_payments_run_to_now_and_ended_ones_to_what_github_says_was_paid() -> None:
    active = Sponsorship("acme", "alice", START, 500, one_time=False, active=True)
    ended = Sponsorship("acme", "bob", START, 1000, one_time=False, active=False)
    unknown = Sponsorship("acme", "carol", START, 2500, one_time=False, active=False)
    once = Sponsorship("acme", "dave", START, 10000, one_time=True, active=False)
    owners = {"alice": ["github.com/alice/a"]}
    payments = sponsorship_payments(
        [active, ended, unknown, once], {1: 3000, 2: None}, now=NOW, owners=owners, funding_github={}
    )
    by_payee: dict[str, list[datetime]] = {}
    for p in payments:
        by_payee.setdefault(p.payee, []).append(p.paid_on)
    assert len(by_payee["alice"]) == 11  # 10 January .. 10 November, each before now
    assert by_payee["bob"] == [START, START.replace(month=2), START.replace(month=3)]
    assert by_payee["carol"] == [START] and by_payee["dave"] == [START]
    carol = next(p for p in payments if p.payee == "carol")
    assert "end unknown" in carol.attribution
    assert all(p.currency == "USD" for p in payments)


def test_a_total_stops_where_the_next_tier_of_the_same_account_starts() -> None:
    first = Sponsorship("acme", "alice", START, 500, one_time=False, active=False)
    second = Sponsorship("acme", "alice", START + timedelta(days=100), 1000, one_time=False, active=True)
    asks = total_asks([first, second], NOW)
    assert asks == [(0, ("alice", START, second.created_at - timedelta(seconds=1)))]


def _client(handler: Callable[[httpx.Request], httpx.Response]) -> GraphQLClient:
    return GraphQLClient(httpx.Client(transport=httpx.MockTransport(handler)), "https://api.github.test/graphql")


def test_graphql_rate_limit_errors_become_rate_limited() -> None:
    reset = int((NOW + timedelta(hours=1)).timestamp())

    def handler(request: httpx.Request) -> httpx.Response:
        body = {"errors": [{"type": "RATE_LIMITED", "message": "API rate limit exceeded"}]}
        return httpx.Response(200, json=body, headers={"x-ratelimit-reset": str(reset)})

    with pytest.raises(RateLimited) as caught:
        _client(handler).query("query { viewer { login } }", {}, purpose="test")
    assert caught.value.reset_at == datetime.fromtimestamp(reset, tz=UTC)


def test_a_forbidden_answer_that_is_no_rate_limit_is_an_error_naming_the_purpose() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(403, json={"message": "Resource protected by organization SAML enforcement."})

    with pytest.raises(GitHubQueryError, match=r"^members: GraphQL answered HTTP 403"):
        _client(handler).query("query { viewer { login } }", {}, purpose="members")


def test_the_sandbox_answers_sponsorship_totals_only_to_the_organisation(sandbox: RunningSandbox) -> None:
    world = sandbox.world
    ended = next(s for s in world.sponsorships if s.ended_at is not None and not s.is_one_time)
    query = (
        "query($o: String!, $a: [String!], $s: DateTime) {"
        " organization(login: $o) { totalSponsorshipAmountAsSponsorInCents(since: $s, sponsorableLogins: $a) } }"
    )
    token = sandbox.environment["GITHUB_TOKEN"]
    with httpx.Client(headers={"Authorization": f"Bearer {token}"}) as client:

        def ask(org: str) -> object:
            variables = {"o": org, "a": [ended.sponsorable], "s": "2000-01-01T00:00:00Z"}
            answer = client.post(f"{sandbox.base_url}/api/graphql", json={"query": query, "variables": variables})
            return answer.json()["data"]["organization"]["totalSponsorshipAmountAsSponsorInCents"]

        expected = sum(
            cents
            for sponsor, sponsorable, _, cents in sponsorship_payments_of(world)
            if sponsor == ended.sponsor and sponsorable == ended.sponsorable
        )
        assert ask(ended.sponsor) == expected > 0
        other = next(u.owner for u in world.upstreams if u.owner_type == "Organization" and u.host == "github.com")
        assert ask(other) is None


def test_members_no_longer_listed_keep_their_past(engine: Engine) -> None:
    with session_scope(engine) as session:
        store.save_identities(session, [Identity("ann", "ann", "member", "acme")], now=NOW, members_listed=True)
    later = NOW + timedelta(days=30)
    with session_scope(engine) as session:
        store.save_identities(session, [], now=later, members_listed=True)
    with Session(engine) as session:
        (ann,) = store.load_identities(session)
    assert ann.valid_until == date(2026, 11, 15) and ann.valid_from is None
