"""Repository weights and teams: ``[usage]`` validation, rule matching, CODEOWNERS lookup and parsing,
and GitHub refusing properties or CODEOWNERS (a warning naming the org or repository, never a failure)."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.config import ConfigError, Settings, UsageSettings, load_settings
from bot.sources.github_repo_facts import FactsCalls, fetch_codeowners_team, fetch_property_values
from bot.sources.github_sync import Repo, SyncSummary, _save_listing, _weigh
from bot.sources.repo_weights import RepoFacts, compute_repo_weight, parse_codeowners_team
from bot.store.tables import RepositoryRow

API = "https://api.example.test"


def _usage(**values: object) -> UsageSettings:
    return UsageSettings.model_validate(values)


# --------------------------------------------------------------------------- configuration


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        (
            '[[usage.weight]]\ntopic = "x"\npattern = "a/*"\nweight = 2.0\n',
            "usage.weight.0: Value error, a rule matches",
        ),
        ('[[usage.weight]]\nproperty = "tier"\nweight = 2.0\n', "property 'tier': give the value"),
        ('[[usage.weight]]\nvalue = "critical"\nweight = 2.0\n', "a rule matches by exactly one"),
        ('[[usage.weight]]\ntopic = "x"\n', "usage.weight.0.weight: Field required"),
        ('[[usage.weight]]\ntopic = "x"\nweight = -1\n', "usage.weight.0.weight: Input should be greater"),
        ('[[usage.weight]]\ntopik = "x"\nweight = 1\n', "usage.weight.0.topik: unknown key (did you mean topic?)"),
        ('[usage]\nteam_property = ""\n', "usage.team_property: Value error, must not be blank"),
        ("[usage]\nteam_from_codeowners = 3\n", "usage.team_from_codeowners: expected true or false"),
    ],
)
def test_usage_settings_errors_name_the_key(tmp_path: Path, toml: str, message: str) -> None:
    path = tmp_path / "upkeep.toml"
    path.write_text(toml)
    with pytest.raises(ConfigError) as err:
        load_settings(path)
    assert str(err.value).startswith(f"{path}: ")
    assert message in str(err.value)


def test_usage_settings_load_in_order(tmp_path: Path) -> None:
    path = tmp_path / "upkeep.toml"
    path.write_text(
        '[usage]\nteam_topic_prefix = "team-"\n'
        '[[usage.weight]]\nproperty = "tier"\nvalue = "critical"\nweight = 3.0\n'
        '[[usage.weight]]\npattern = "acme/demo-*"\nweight = 0.2\n'
    )
    usage = load_settings(path).usage
    assert [r.label() for r in usage.weight] == ["tier=critical", "acme/demo-*"]
    assert usage.needs_properties() and not Settings().usage.needs_properties()


# --------------------------------------------------------------------------- rules


RULES = _usage(
    weight=[
        {"property": "tier", "value": "critical", "weight": 3.0},
        {"topic": "demo", "weight": 0.2},
        {"pattern": "acme/pay-*", "weight": 1.5},
    ]
)


@pytest.mark.parametrize(
    ("facts", "weight", "rule"),
    [
        (RepoFacts("acme/pay-api", {"tier": "critical"}, ("demo",)), 3.0, "tier=critical"),  # first match wins
        (RepoFacts("acme/pay-api", {"tier": "standard"}, ("demo",)), 0.2, "topic:demo"),
        (RepoFacts("acme/pay-api", {"tier": "standard"}), 1.5, "acme/pay-*"),
        (RepoFacts("acme/web", {"Tier": "CRITICAL"}), 3.0, "tier=critical"),  # names and values ignore case
        (RepoFacts("acme/web", {"tier": ("standard", "critical")}), 3.0, "tier=critical"),  # multi-select
        (RepoFacts("acme/web", {"tier": "standard"}, ("Demo",)), 0.2, "topic:demo"),
        (RepoFacts("acme/web", {"tier": "standard"}), None, None),  # none: the default weight applies
    ],
)
def test_the_first_matching_rule_gives_the_weight(facts: RepoFacts, weight: float | None, rule: str | None) -> None:
    result = compute_repo_weight(facts, RULES)
    assert (result.weight, result.weight_rule) == (weight, rule)


def test_team_comes_from_property_then_topic_then_codeowners() -> None:
    usage = _usage(team_property="team", team_topic_prefix="team-", team_from_codeowners=True)
    both = RepoFacts("acme/a", {"team": "payments"}, ("team-web",), "data")
    assert compute_repo_weight(both, usage).team == "payments"
    assert compute_repo_weight(both, usage).team_source == "property"
    topic = RepoFacts("acme/a", {}, ("team-Web",), "data")
    assert (compute_repo_weight(topic, usage).team, compute_repo_weight(topic, usage).team_source) == ("web", "topic")
    owners = RepoFacts("acme/a", {}, ("team-",), "data")  # a bare prefix names no team
    assert (compute_repo_weight(owners, usage).team, compute_repo_weight(owners, usage).team_source) == (
        "data",
        "codeowners",
    )
    off = _usage(team_property="team")
    assert compute_repo_weight(owners, off).team is None and compute_repo_weight(owners, off).team_source is None


@pytest.mark.parametrize(
    ("text", "team"),
    [
        ("* @acme/payments\n", "payments"),
        ("# owners\n*   @alice  @acme/Platform   # the platform team\n/docs/ @acme/writers\n", "platform"),
        ("* @acme/web\n*.js @acme/frontend\n* @acme/data @acme/web\n", "data"),  # the last * rule counts
        ("* @alice bob@example.com\n", None),  # people only
        ("/src/ @acme/core\n", None),  # no * rule
        ("", None),
    ],
)
def test_codeowners_team_is_the_first_team_of_the_last_star_rule(text: str, team: str | None) -> None:
    assert parse_codeowners_team(text) == team


# --------------------------------------------------------------------------- fetching


def _content(text: str) -> dict[str, str]:
    return {"type": "file", "encoding": "base64", "content": base64.b64encode(text.encode()).decode()}


def _client(routes: dict[str, httpx.Response], seen: list[str]) -> httpx.Client:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        return routes.get(request.url.path, httpx.Response(404, json={"message": "Not Found"}))

    return httpx.Client(transport=httpx.MockTransport(handler))


def test_codeowners_are_looked_for_in_githubs_order() -> None:
    seen: list[str] = []
    routes = {
        "/repos/acme/a/contents/CODEOWNERS": httpx.Response(200, json=_content("* @acme/root\n")),
        "/repos/acme/a/contents/docs/CODEOWNERS": httpx.Response(200, json=_content("* @acme/docs\n")),
    }
    calls = FactsCalls()
    assert fetch_codeowners_team(_client(routes, seen), API, "acme/a", calls) == ("root", True)
    assert seen == ["/repos/acme/a/contents/.github/CODEOWNERS", "/repos/acme/a/contents/CODEOWNERS"]
    seen.clear()
    assert fetch_codeowners_team(_client({}, seen), API, "acme/a", calls) == (None, True)
    assert [p.split("/contents/")[1] for p in seen] == [".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS"]
    assert calls.codeowners_requests == 5 and not calls.warnings


def test_a_forbidden_codeowners_is_a_warning_naming_the_repository() -> None:
    routes = {
        "/repos/acme/a/contents/.github/CODEOWNERS": httpx.Response(
            403, json={"message": "Resource not accessible by integration"}
        )
    }
    calls = FactsCalls()
    assert fetch_codeowners_team(_client(routes, []), API, "acme/a", calls) == (None, False)  # asked again next run
    assert calls.warnings == ["acme/a: CODEOWNERS not readable (403: Resource not accessible by integration)"]


@pytest.mark.parametrize("status", [403, 404])
def test_unreadable_properties_are_a_warning_naming_the_organisation(engine: Engine, status: int) -> None:
    routes = {"/orgs/acme/properties/values": httpx.Response(status, json={"message": "Not allowed"})}
    calls = FactsCalls()
    assert fetch_property_values(engine, _client(routes, []), API, "acme", calls) is None
    assert len(calls.warnings) == 1
    assert calls.warnings[0].startswith(f"acme: custom properties not readable ({status}: Not allowed)")


def test_property_pages_are_revalidated_with_their_etag(engine: Engine) -> None:
    page = [
        {
            "repository_id": 1,
            "repository_name": "A",
            "repository_full_name": "acme/A",
            "properties": [
                {"property_name": "tier", "value": "critical"},
                {"property_name": "langs", "value": ["go", "py"]},
                {"property_name": "unset", "value": None},
            ],
        }
    ]
    sent: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request.headers.get("if-none-match"))
        if request.headers.get("if-none-match") == '"v1"':
            return httpx.Response(304)
        return httpx.Response(200, json=page, headers={"etag": '"v1"'})

    client = httpx.Client(transport=httpx.MockTransport(handler))
    want = {"acme/a": {"tier": "critical", "langs": ("go", "py")}}
    first, second = FactsCalls(), FactsCalls()
    assert fetch_property_values(engine, client, API, "acme", first) == want
    assert fetch_property_values(engine, client, API, "acme", second) == want
    assert sent == [None, '"v1"']
    assert (first.property_pages_not_modified, second.property_pages_not_modified) == (0, 1)


def test_sync_keeps_going_and_warns_when_github_refuses_properties_and_codeowners(engine: Engine) -> None:
    settings = load_settings(
        None,
        search=False,
        overrides={
            "github.api_url": API,
            "usage.team_property": "team",
            "usage.team_from_codeowners": True,
            "usage.weight": [{"pattern": "acme/*", "weight": 2.0}],
        },
    )
    refused = httpx.Response(403, json={"message": "Resource not accessible by integration"})
    routes = {"/orgs/acme/properties/values": refused, "/repos/acme/a/contents/.github/CODEOWNERS": refused}
    repo = Repo("acme/a", private=False, fork=False, archived=False, pushed_at=datetime(2026, 11, 1, tzinfo=UTC))
    _save_listing(engine, [repo])
    summary = SyncSummary()
    _weigh(engine, settings, _client(routes, []), "acme", [repo], summary)
    assert [w.split(" (")[0] for w in summary.warnings] == [
        "acme: custom properties not readable",
        "acme/a: CODEOWNERS not readable",
    ]
    with Session(engine) as session:
        row = session.exec(select(RepositoryRow)).one()
    assert (row.weight, row.weight_rule, row.team, row.codeowners_pushed_at) == (2.0, "acme/*", None, None)
    assert json.dumps(summary.to_dict())  # the stage's summary stays plain data


def test_a_weight_set_by_hand_is_kept_when_no_rule_matches(engine: Engine) -> None:
    settings = load_settings(
        None, search=False, overrides={"github.api_url": API, "usage.weight": [{"topic": "demo", "weight": 0.2}]}
    )
    repo = Repo("acme/a", private=False, fork=False, archived=False, pushed_at=None)
    _save_listing(engine, [repo])
    with Session(engine) as session:
        row = session.exec(select(RepositoryRow)).one()
        row.weight, row.team = 4.0, "finance"
        session.add(row)
        session.commit()
    _weigh(engine, settings, _client({}, []), "acme", [repo], SyncSummary())
    with Session(engine) as session:
        row = session.exec(select(RepositoryRow)).one()
    assert (row.weight, row.weight_rule, row.team, row.team_source) == (4.0, None, "finance", None)


def test_the_sync_paragraph_names_weights_teams_and_warnings() -> None:
    from bot.cli.sync import describe_sync

    summary = SyncSummary(
        orgs=["acme"], weighted=3, teams=5, property_pages=2, property_pages_not_modified=2, codeowners_reused=4
    )
    summary.warnings.append("acme/a: CODEOWNERS not readable (403: Resource not accessible by integration)")
    text = describe_sync(summary)
    assert "weights and teams: 3 repositories weighted by a rule, 5 with a team (2 of 2 property pages" in text
    assert "warning: acme/a: CODEOWNERS not readable" in text
    assert "weights and teams" not in describe_sync(SyncSummary(orgs=["acme"]))
