"""Every GraphQL query the evidence stage sends is valid against the published schemas, on its own.

The schemas are GitHub's (octokit/graphql-schema, MIT) and Open Collective's v2 (opencollective-api,
MIT), the copies the sandbox serves from (``bot/sandbox/data``; the GitHub one is byte-identical to
``shared/data/specs/github/graphql-schema.graphql``).
"""

from __future__ import annotations

import pytest
from graphql import GraphQLSchema, parse, validate

from bot.sandbox.github_graphql import GITHUB_SCHEMA
from bot.sandbox.opencollective import OPENCOLLECTIVE_SCHEMA
from bot.sources.contributions import contributions_query
from bot.sources.opencollective import TRANSACTIONS_QUERY
from bot.sources.people import MEMBERS_QUERY
from bot.sources.sponsors import ORG_SPONSORSHIPS_QUERY, USER_SPONSORSHIPS_QUERY, funding_links_query, totals_query


@pytest.fixture(scope="module")
def github_schema() -> GraphQLSchema:
    return GITHUB_SCHEMA.schema()  # GitHub's published IDL (bot/sandbox/data/SOURCES.md)


@pytest.fixture(scope="module")
def opencollective_schema() -> GraphQLSchema:
    return OPENCOLLECTIVE_SCHEMA.schema()


GITHUB_QUERIES = {
    "contributions x1": contributions_query(1),
    "contributions x10": contributions_query(10),
    "members": MEMBERS_QUERY,
    "org sponsorships": ORG_SPONSORSHIPS_QUERY,
    "user sponsorships": USER_SPONSORSHIPS_QUERY,
    "sponsorship totals x3": totals_query(3),
    "funding links x2": funding_links_query(2),
}


@pytest.mark.parametrize("name", sorted(GITHUB_QUERIES))
def test_github_query_is_valid_against_the_published_schema(github_schema: GraphQLSchema, name: str) -> None:
    errors = validate(github_schema, parse(GITHUB_QUERIES[name]))
    assert errors == [], [e.message for e in errors]


def test_open_collective_query_is_valid_against_its_schema(opencollective_schema: GraphQLSchema) -> None:
    errors = validate(opencollective_schema, parse(TRANSACTIONS_QUERY))
    assert errors == [], [e.message for e in errors]


def test_a_wrong_field_would_be_caught(github_schema: GraphQLSchema) -> None:
    broken = contributions_query(1).replace("restrictedContributionsCount", "restrictedContributions")
    assert [e.message for e in validate(github_schema, parse(broken))]


def test_contributions_sets_the_room_of_all_four_lists_by_one_variable() -> None:
    query = contributions_query(2)
    assert query.count("maxRepositories: $repositories") == 4 and "$repositories: Int!" in query
    assert "p1: user(login: $l1)" in query
