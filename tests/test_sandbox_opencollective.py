"""The sandbox's Open Collective GraphQL v2 fake: schema validation and the org's outgoing contributions."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from bot.sandbox.generate import generate_world
from bot.sandbox.model import World
from bot.sandbox.opencollective import OpenCollectiveService
from tests.sandbox_handmade import NOW, OC_TOKEN, make_world, route

OUTGOING = """
query($slug: String!, $from: DateTime, $to: DateTime, $limit: Int!, $offset: Int!) {
  account(slug: $slug) {
    slug
    transactions(type: DEBIT, kind: [CONTRIBUTION], dateFrom: $from, dateTo: $to, limit: $limit, offset: $offset) {
      totalCount offset limit
      nodes {
        id createdAt kind type
        amount { valueInCents currency }
        toAccount { slug name ... on Collective { githubHandle repositoryUrl socialLinks { type url } } }
        oppositeAccount { slug }
      }
    }
  }
}
"""


def ask(world: World, query: str, variables: dict[str, Any], headers: dict[str, str] | None = None) -> httpx.Response:
    handler = route([OpenCollectiveService(world)])
    with httpx.Client(transport=httpx.MockTransport(handler), headers=headers or {}) as c:
        return c.post("http://sandbox.test/opencollective/graphql/v2", json={"query": query, "variables": variables})


@pytest.fixture
def world() -> World:
    return make_world()


def test_outgoing_contributions_in_a_window(world: World) -> None:
    start = NOW - timedelta(days=365)
    variables = {"slug": "acme", "from": start.isoformat(), "to": NOW.isoformat(), "limit": 100, "offset": 0}
    body = ask(world, OUTGOING, variables, {"Personal-Token": OC_TOKEN}).json()
    assert "errors" not in body, body
    transactions = body["data"]["account"]["transactions"]
    expected = [c for c in world.oc_contributions if start <= c.created_at <= NOW]
    assert transactions["totalCount"] == len(expected) == 2
    assert sorted(-n["amount"]["valueInCents"] for n in transactions["nodes"]) == sorted(
        c.amount_cents for c in expected
    )
    node = transactions["nodes"][0]
    assert (node["type"], node["kind"], node["toAccount"]["slug"], node["oppositeAccount"]["slug"]) == (
        "DEBIT",
        "CONTRIBUTION",
        "babel",
        "babel",
    )
    assert node["toAccount"]["githubHandle"] == "babel/babel"
    assert node["toAccount"]["repositoryUrl"] == "https://github.com/babel/babel"
    assert node["toAccount"]["socialLinks"] == [{"type": "GITHUB", "url": "https://github.com/babel/babel"}]


def test_offset_pagination_covers_everything_once(world: World) -> None:
    seen: list[str] = []
    offset = 0
    while True:
        variables = {"slug": "acme", "limit": 2, "offset": offset}
        page = ask(world, OUTGOING, variables).json()["data"]["account"]["transactions"]
        seen += [n["id"] for n in page["nodes"]]
        offset += 2
        if offset >= page["totalCount"]:
            break
    assert len(seen) == len(set(seen)) == len(world.oc_contributions)


def test_a_field_open_collective_does_not_have_is_rejected(world: World) -> None:
    response = ask(world, '{ account(slug: "acme") { slug sponsorshipsAsSponsor { totalCount } } }', {})
    assert response.status_code == 400
    assert "sponsorshipsAsSponsor" in response.json()["errors"][0]["message"]


def test_unknown_account_and_bad_token(world: World) -> None:
    missing = ask(world, OUTGOING, {"slug": "nobody", "limit": 10, "offset": 0}).json()
    assert missing["data"] == {"account": None}
    assert missing["errors"][0]["message"] == "Account Not Found"
    bad = ask(world, OUTGOING, {"slug": "acme", "limit": 10, "offset": 0}, {"Api-Key": "wrong"})
    assert bad.status_code == 401


def test_limit_over_1000_is_refused(world: World) -> None:
    body = ask(world, OUTGOING, {"slug": "acme", "limit": 1001, "offset": 0}).json()
    assert "Cannot fetch more than 1,000 transactions" in body["errors"][0]["message"]


def test_generated_world_org_account_sums_match() -> None:
    world = generate_world(seed=3, scale="small")
    variables = {"slug": world.opencollective_slug, "limit": 1000, "offset": 0}
    body = ask(world, OUTGOING, variables, {"Personal-Token": world.tokens["opencollective"][0]}).json()
    nodes = body["data"]["account"]["transactions"]["nodes"]
    assert sum(-n["amount"]["valueInCents"] for n in nodes) == sum(c.amount_cents for c in world.oc_contributions)
