"""The sandbox enforces GitHub's documented limits: primary budgets per token and per installation,
GraphQL cost by the published formula and the node limit, secondary limits with and without headers,
all on a compressed clock."""

from __future__ import annotations

import time
from dataclasses import replace

import httpx
import pytest

from bot.sandbox.github_graphql import GitHubGraphQLService
from bot.sandbox.github_rest import GitHubRestService
from bot.sandbox.limits import PROFILES, graphql_cost, profile
from bot.sandbox.model import World
from bot.sandbox.server import Knobs, Router
from bot.sources.contributions import contributions_query
from tests.sandbox_handmade import GITHUB_TOKEN, make_world

DOCS_EXAMPLE = (
    "query { viewer { repositories(first: 50) { edges { repository:node { name "
    "issues(first: 10) { totalCount edges { node { title bodyHTML } } } } } } } }"
)


@pytest.fixture
def world() -> World:
    return make_world()


def router_of(world: World, knobs: Knobs) -> Router:
    return Router(world, services=[GitHubRestService(world), GitHubGraphQLService(world)], knobs=knobs)


def client(router: Router, token: str = GITHUB_TOKEN) -> httpx.Client:
    return httpx.Client(
        transport=httpx.MockTransport(router.handler),
        base_url="http://sandbox.test",
        headers={"Authorization": f"Bearer {token}"},
    )


def test_graphql_cost_follows_the_published_formula() -> None:
    # GitHub's own worked example: 50 repositories + 50 x 10 issues = 550 nodes, two connections -> 1 point
    assert graphql_cost(DOCS_EXAMPLE).nodes == 550
    assert graphql_cost(DOCS_EXAMPLE).cost == 1
    # upkeep's contributions query: four lists with room for 100 repositories, each with a connection of 100
    full = {"repositories": 100}
    assert graphql_cost(contributions_query(1), full).cost == 4
    assert graphql_cost(contributions_query(10), full).cost == 40
    assert graphql_cost(contributions_query(50), full).cost == 200
    # the room is the price: room for 10 repositories per list costs a tenth
    assert graphql_cost(contributions_query(10), {"repositories": 10}).cost == 4
    assert (
        graphql_cost(contributions_query(10), {"repositories": 10}).nodes * 10
        == graphql_cost(contributions_query(10), full).nodes
    )
    # variables count like literals
    query = "query($n: Int!) { viewer { repositories(first: $n) { nodes { issues(first: 100) { totalCount } } } } }"
    literal = query.replace("($n: Int!)", "").replace("$n", "100")
    assert graphql_cost(query, {"n": 100}) == graphql_cost(literal)
    assert graphql_cost(literal).nodes == 100 + 100 * 100


def test_the_node_limit_is_an_error_inside_http_200(world: World) -> None:
    router = router_of(world, Knobs())
    with client(router) as c:
        over = c.post("/api/graphql", json={"query": contributions_query(50), "variables": {"repositories": 100}})
        under = c.post("/api/graphql", json={"query": "{ viewer { login } rateLimit { cost limit remaining } }"})
    assert over.status_code == 200
    [error] = over.json()["errors"]
    assert error["type"] == "MAX_NODE_LIMIT_EXCEEDED" and "500,000" in error["message"]
    assert under.status_code == 200 and "errors" not in under.json()


def test_graphql_charges_the_formula_and_reports_it(world: World) -> None:
    router = router_of(world, Knobs(time_compression=1))
    query = contributions_query(10) + "\nquery Probe { rateLimit { cost used remaining limit } }"
    with client(router) as c:
        variables: dict[str, object] = {
            "from": "2026-01-01T00:00:00Z",
            "to": "2026-03-31T00:00:00Z",
            "repositories": 100,
        }
        variables.update({f"l{i}": "alice" for i in range(10)})
        answer = c.post("/api/graphql", json={"query": query, "variables": variables, "operationName": "Contributions"})
        probe = c.post("/api/graphql", json={"query": "{ rateLimit { cost used remaining limit } }"})
    assert answer.status_code == 200
    assert answer.headers["x-ratelimit-used"] == "40" and answer.headers["x-ratelimit-resource"] == "graphql"
    assert probe.json()["data"]["rateLimit"] == {"cost": 1, "used": 41, "remaining": 5000 - 41, "limit": 5000}


def test_the_log_counts_the_points_answered_requests_spent(world: World) -> None:
    """Budgets renew each (compressed) window, so the points a run spent are the sum of what each
    answered request was charged: the refused ones and the refunded 304s spend nothing."""
    tiny = replace(profile("personal-token"), name="tiny", rest_per_hour=3)
    router = router_of(world, Knobs(limits=tiny, time_compression=1))
    with client(router) as c:
        variables: dict[str, object] = {
            "from": "2026-01-01T00:00:00Z",
            "to": "2026-03-31T00:00:00Z",
            "repositories": 100,
        }
        variables.update({f"l{i}": "alice" for i in range(10)})
        for _ in range(2):
            c.post("/api/graphql", json={"query": contributions_query(10), "variables": variables})
        first = c.get("/api/v3/users/alice")
        again = c.get("/api/v3/users/alice", headers={"If-None-Match": first.headers["etag"]})
        statuses = [c.get("/api/v3/users/bob").status_code for _ in range(3)]
    assert again.status_code == 304 and statuses == [200, 200, 403]
    assert router.stats()["points_by_service"] == {"/api/graphql": 80, "/api/v3": 3}


def test_a_spent_primary_budget_answers_403_until_the_compressed_reset(world: World) -> None:
    tiny = replace(profile("personal-token"), name="tiny", rest_per_hour=5)
    router = router_of(world, Knobs(limits=tiny, time_compression=3600))  # an hour is a second
    with client(router) as c:
        statuses = [c.get("/api/v3/users/alice").status_code for _ in range(6)]
        refused = c.get("/api/v3/users/alice")
        free = c.get("/api/v3/rate_limit")
        assert statuses == [200] * 5 + [403]
        assert refused.headers["x-ratelimit-remaining"] == "0"
        assert free.status_code == 200 and free.json()["resources"]["core"]["remaining"] == 0
        reset = int(refused.headers["x-ratelimit-reset"])
        assert reset <= time.time() + 2  # one hour, compressed 3600-fold
        time.sleep(max(0.0, reset - time.time()) + 0.05)
        assert c.get("/api/v3/users/alice").status_code == 200


def test_installation_tokens_share_their_installation_budget(world: World) -> None:
    tiny = replace(profile("app-installation-ghec"), name="tiny", rest_per_hour=4)
    router = router_of(world, Knobs(limits=tiny, time_compression=1))
    first, second = "sandbox-installation-token-7000001-1", "sandbox-installation-token-7000001-2"
    world.tokens["github"] += [first, second]
    with client(router, first) as a, client(router, second) as b:
        assert [a.get("/api/v3/users/alice").status_code for _ in range(2)] == [200, 200]
        assert [b.get("/api/v3/users/alice").status_code for _ in range(3)] == [200, 200, 403]
    with client(router) as personal:  # another credential: its own budget
        assert personal.get("/api/v3/users/alice").status_code == 200


@pytest.mark.parametrize(("share", "has_header"), [(0.0, True), (1.0, False)])
def test_secondary_limits_come_with_or_without_headers(world: World, share: float, has_header: bool) -> None:
    tight = replace(profile("personal-token"), name="tight", rest_points_per_minute=10)
    router = router_of(world, Knobs(limits=tight, time_compression=1, headerless_share=share))
    with client(router) as c:
        answers = [c.get("/api/v3/users/alice") for _ in range(11)]
        other_endpoint = c.get("/api/v3/orgs/acme")  # the points are counted per endpoint
    assert [a.status_code for a in answers[:10]] == [200] * 10
    limited = answers[10]
    assert limited.status_code == 403 and "secondary rate limit" in limited.json()["message"]
    assert ("retry-after" in limited.headers) is has_header
    assert "x-ratelimit-remaining" not in limited.headers
    if has_header:
        assert limited.headers["retry-after"] == "60"
    assert other_endpoint.status_code in (200, 404)


def test_content_creation_is_limited_per_minute(world: World) -> None:
    few = replace(profile("personal-token"), name="few", content_per_minute=2)
    router = router_of(world, Knobs(limits=few, time_compression=1, headerless_share=0.0))
    repo = world.ospo_repo
    with client(router) as c:
        made = [c.post(f"/api/v3/repos/{repo}/issues", json={"title": f"t{i}"}).status_code for i in range(3)]
    assert made[:2] == [201, 201] and made[2] == 403


def test_injected_secondary_faults_follow_the_headerless_share(world: World) -> None:
    knobs = Knobs(fault_rate=1.0, fault_kinds=("403",), headerless_share=0.5, time_compression=60)
    router = router_of(world, knobs)
    with client(router) as c:
        answers = [c.get(f"/api/v3/users/u{i}") for i in range(40)]
    with_header = [a for a in answers if "retry-after" in a.headers]
    assert 0 < len(with_header) < 40  # some of each, reproducibly
    assert {a.headers["retry-after"] for a in with_header} == {"1.000"}  # 60 s compressed 60-fold


def test_profiles_are_named_and_off_means_none() -> None:
    assert {"personal-token", "app-installation-ghec", "off"} <= set(PROFILES)
    assert PROFILES["app-installation-ghec"].rest_per_hour == 15000
    assert PROFILES["app-installation-ghec"].graphql_points_per_hour == 10000
    assert PROFILES["personal-token"].rest_per_hour == PROFILES["personal-token"].graphql_points_per_hour == 5000
    assert not PROFILES["off"].enforcing
    with pytest.raises(ValueError, match="unknown limit profile"):
        Knobs(limits="generous")


def test_off_enforces_nothing(world: World) -> None:
    router = router_of(world, Knobs(limits="off"))
    with client(router) as c:
        over = c.post("/api/graphql", json={"query": contributions_query(50), "variables": {"repositories": 100}})
    assert "MAX_NODE_LIMIT_EXCEEDED" not in over.text


def test_slack_methods_keep_to_their_tier() -> None:
    from bot.sandbox.generate import generate_world
    from bot.sandbox.slack import SlackService

    world = generate_world(7, "small")
    router = Router(world, services=[SlackService(world)], knobs=Knobs(time_compression=1))
    headers = {"Authorization": f"Bearer {world.tokens['slack'][0]}"}
    with httpx.Client(transport=httpx.MockTransport(router.handler), base_url="http://sandbox.test") as c:
        lists = [c.post("/slack/api/conversations.list", headers=headers) for _ in range(21)]
        history = c.post("/slack/api/conversations.history", headers=headers, data={"channel": "nope"})
    assert [r.status_code for r in lists] == [200] * 20 + [429]  # tier 2: 20 a minute
    assert lists[20].json() == {"ok": False, "error": "ratelimited"} and int(lists[20].headers["retry-after"]) >= 1
    assert history.status_code == 200  # another method, its own tier
