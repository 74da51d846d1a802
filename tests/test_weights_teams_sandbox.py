"""Weights and teams end to end on the served sandbox: sync reads custom properties, topics and CODEOWNERS,
the store's weights and teams equal the world's truth, and so does each upstream's usage by team
(small world seed 7, and seed 11)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, select

from bot.config import Secrets, Settings, load_settings
from bot.gaps.interface import GapScore, RepoUse, UpstreamUsage
from bot.gaps.model import compute_budget, compute_gaps
from bot.gaps.score_stage import load_gap_weights, score_stage
from bot.pipeline import StageContext
from bot.resolve.stage import resolve_stage
from bot.sandbox import SandboxServer, generate_world, sandbox_environment, sandbox_settings, truth
from bot.sandbox.gap_inputs import model_inputs
from bot.sandbox.repo_facts import SANDBOX_USAGE, expected_facts
from bot.sources.github_client import make_api_client, make_download_client
from bot.sources.github_sync import SyncSummary, sync_organisations
from bot.store.engine import make_engine
from bot.store.gaps import latest_snapshots, load_scores
from bot.store.tables import RepositoryRow
from tests.sandbox_fixtures import run_stages

BUDGET = 60000.0


@dataclass(frozen=True)
class Synced:
    engine: Engine
    settings: Settings
    world: Any
    first: SyncSummary
    second: SyncSummary
    scores: dict[str, GapScore]


def _settings(base_url: str, world: Any, db_url: str) -> Settings:
    overrides = {
        **sandbox_settings(base_url, world),
        **SANDBOX_USAGE,
        "database.url": db_url,
        "gaps.yearly_budget": BUDGET,
        "github.report_poll_seconds": 0.05,
    }
    return load_settings(None, overrides=overrides)


def _sync(engine: Engine, settings: Settings, world: Any) -> SyncSummary:
    token = sandbox_environment(world)["GITHUB_TOKEN"]
    with make_api_client(settings, token) as api, make_download_client(settings) as download:
        summary = sync_organisations(engine, settings, api=api, download=download, now=world.now)
    # the tests compare one sync's counts with another's: a sync a limit cut short would compare a part
    assert summary.stopped is None, f"the sync was stopped by a rate limit until {summary.stopped}"
    return summary


@pytest.fixture(scope="module", params=[7, 11], ids=["seed7", "seed11"])
def synced(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synced]:
    world = generate_world(request.param, "small")
    tmp = tmp_path_factory.mktemp(f"weights{request.param}")
    db_url = f"sqlite:///{tmp / 'store.db'}"
    engine = make_engine(db_url)
    SQLModel.metadata.create_all(engine)
    with SandboxServer(world) as server:
        settings = _settings(server.base_url, world, db_url)
        first = _sync(engine, settings, world)
        second = _sync(engine, settings, world)
        context = StageContext(settings, Secrets.from_environment(sandbox_environment(world)), engine, world.now)
        run_stages(context, resolve_stage, score_stage)
    snapshot = latest_snapshots(engine, limit=1)[0]
    # the truth names upstreams as they are called today; without the signals stage, which learns renames,
    # the store still knows a few by their old name
    renamed = truth(world)["renamed_upstreams"]
    scores = {renamed.get(s.upstream, s.upstream): s for s in load_scores(engine, snapshot_id=snapshot.id)}
    yield Synced(engine, settings, world, first, second, scores)
    engine.dispose()


def test_weights_and_teams_equal_the_truth(synced: Synced) -> None:
    want = truth(synced.world)["repo_facts"]
    with Session(synced.engine) as session:
        rows = {r.full_name: r for r in session.exec(select(RepositoryRow)).all()}
    got = {
        name: {"weight": r.weight, "weight_rule": r.weight_rule, "team": r.team, "team_source": r.team_source}
        for name, r in rows.items()
        if name in want
    }
    assert got == want
    sources = {f["team_source"] for f in want.values()}
    assert {"property", "topic", "codeowners", None} <= sources  # the world holds every case
    assert synced.first.weighted == sum(f["weight"] is not None for f in want.values())
    assert not synced.first.warnings


def test_an_unchanged_second_sync_reads_no_codeowners_and_revalidates_properties(synced: Synced) -> None:
    first, second = synced.first, synced.second
    assert first.codeowners_requests > 0 and first.property_pages >= 1
    assert second.codeowners_requests == 0
    assert first.codeowners_reused == 0 and second.codeowners_reused > 0  # read once, then kept until a push
    assert second.property_pages_not_modified == second.property_pages


def test_usage_by_team_equals_the_truth_and_adds_up_to_the_usage(synced: Synced) -> None:
    want = truth(synced.world)["usage_by_team"]
    assert synced.scores
    teams_seen = set()
    for key, score in synced.scores.items():
        got = {(t.team or ""): t.repos for t in score.usage_by_team}
        assert got == want[key], key
        assert sum(t.usage for t in score.usage_by_team) == pytest.approx(score.usage_weight, rel=1e-12)
        assert sum(t.repos for t in score.usage_by_team) == score.repos
        teams_seen |= set(got)
    assert len(teams_seen) > 2


def test_scores_equal_the_model_on_the_truths_weights_and_teams(synced: Synced) -> None:
    """The same usage, weighted by the truth's weights (default where none) and split by its teams."""
    world = synced.world
    live = replace(world, internal_repos=[r for r in world.internal_repos if not r.fork and not r.archived])
    usages, _, _ = model_inputs(live)
    facts = {r.full_name: expected_facts(r) for r in live.internal_repos}
    weighted = [
        UpstreamUsage(
            u.upstream,
            tuple(RepoUse(r.repo, r.depth, r.scope, facts[r.repo]["weight"], facts[r.repo]["team"]) for r in u.repos),
        )
        for u in usages
    ]
    weights = load_gap_weights(synced.settings)
    expected = compute_gaps(weighted, [], [], weights, budget=compute_budget(yearly_budget=BUDGET, developers=None))
    for score in expected:
        got = synced.scores[score.upstream]
        assert got.usage_weight == pytest.approx(score.usage_weight)
        assert [(t.team, t.repos) for t in got.usage_by_team] == [(t.team, t.repos) for t in score.usage_by_team]
        assert [t.usage for t in got.usage_by_team] == pytest.approx([t.usage for t in score.usage_by_team])


def test_explain_and_the_query_layer_show_the_same_usage_by_team(synced: Synced) -> None:
    from bot.gaps.explain import explain
    from bot.query import Ledger

    score = max(synced.scores.values(), key=lambda s: (len(s.usage_by_team), s.upstream))
    text = explain(score, currency="USD")
    assert "usage by team" in text
    answer = Ledger(synced.engine, synced.settings).explain(score.upstream)
    assert answer.summary is not None
    got = [(t.team, t.repos, t.share, t.recommended) for t in answer.summary.usage_by_team]
    assert got == [(p.team, p.repos, share, rec) for p, share, rec in score.team_parts()]
    assert sum(t.share for t in answer.summary.usage_by_team) == pytest.approx(1.0)
    for team, repos, share, _ in got:
        assert f"{team or '(no team)'}: usage" in text and f"= {share:.1%} ({repos} repositor" in text


@pytest.mark.parametrize("granted", [True, False], ids=["app-with-custom-properties", "app-without"])
def test_the_app_asks_for_custom_properties_only_when_it_has_them(
    granted: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An App without ``organization_custom_properties`` still gets its token (asking for a permission it
    lacks would be refused for every stage); the properties' 403 is then a warning naming the org."""
    from bot.sandbox import github_app
    from bot.sources.github_sync import sync_stage

    if not granted:
        lacking = {k: v for k, v in github_app.PERMISSIONS.items() if k != "organization_custom_properties"}
        monkeypatch.setattr(github_app, "PERMISSIONS", lacking)
    world = generate_world(7, "small")
    db_url = f"sqlite:///{tmp_path / 'store.db'}"
    engine = make_engine(db_url)
    SQLModel.metadata.create_all(engine)
    with SandboxServer(world) as server:
        overrides = {**sandbox_settings(server.base_url, world, app=True), **SANDBOX_USAGE, "database.url": db_url}
        settings = load_settings(None, overrides=overrides)
        secrets = Secrets.from_environment(sandbox_environment(world, app=True))
        summary = sync_stage(StageContext(settings, secrets, engine, world.now))
    assert summary["exported"] > 0  # every other read still works
    with Session(engine) as session:
        rows = {r.full_name: r for r in session.exec(select(RepositoryRow)).all()}
    want = truth(world)["repo_facts"]
    by_property = [name for name, f in want.items() if f["team_source"] == "property"]
    assert by_property
    if granted:
        assert not summary["warnings"]
        assert all(rows[name].team == want[name]["team"] for name in by_property)
    else:
        assert [w.split(" (")[0] for w in summary["warnings"]] == [
            f"{org}: custom properties not readable" for org in world.orgs
        ]
        assert all(rows[name].team_source != "property" for name in by_property)
    engine.dispose()


# The shape GitHub's REST description (github/rest-api-description, operation
# orgs/custom-properties-for-repos-get-organization-values) gives the answer: an array of
# org-repo-custom-property-values, each holding custom-property-value items (value: string, array or null).
PROPERTY_VALUES_SCHEMA = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["repository_id", "repository_name", "repository_full_name", "properties"],
        "properties": {
            "repository_id": {"type": "integer"},
            "repository_name": {"type": "string"},
            "repository_full_name": {"type": "string"},
            "properties": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["property_name", "value"],
                    "properties": {
                        "property_name": {"type": "string"},
                        "value": {"type": ["string", "array", "null"], "items": {"type": "string"}},
                    },
                },
            },
        },
    },
}


def test_the_sandbox_serves_property_values_topics_and_codeowners_as_github_does() -> None:
    import httpx
    import jsonschema

    world = generate_world(7, "small")
    org = world.orgs[0]
    with SandboxServer(world) as server:
        api = f"{server.base_url}/api/v3"
        auth = {"Authorization": f"Bearer {sandbox_environment(world)['GITHUB_TOKEN']}"}
        first = httpx.get(f"{api}/orgs/{org}/properties/values?per_page=5", headers=auth)
        assert first.status_code == 200 and 'rel="next"' in first.headers["link"]
        jsonschema.validate(first.json(), PROPERTY_VALUES_SCHEMA)
        assert httpx.get(f"{api}/orgs/{org}/properties/values").status_code == 403  # not for anonymous callers
        listing = httpx.get(f"{api}/orgs/{org}/repos?per_page=100", headers=auth).json()
        topics = {r["full_name"]: r["topics"] for r in listing}
        owned = next(r for r in world.internal_repos if r.codeowners)
        path = next(iter(owned.codeowners))
        answer = httpx.get(f"{api}/repos/{owned.full_name}/contents/{path}", headers=auth).json()
    assert {r.full_name: r.topics for r in world.internal_repos if r.org == org} == topics
    assert answer["type"] == "file" and answer["encoding"] == "base64"


def _repository_rows(engine: Engine) -> list[tuple[Any, ...]]:
    with Session(engine) as session:
        rows = session.exec(select(RepositoryRow).order_by(RepositoryRow.full_name)).all()  # type: ignore[arg-type]
        fields = ("full_name", "pushed_at", "exported_pushed_at", "export_etag", "weight", "weight_rule", "team")
        fields += ("team_source", "codeowners_team", "codeowners_pushed_at", "note")
        return [tuple(getattr(r, name) for name in fields) for r in rows]


def test_a_listing_saved_a_few_repositories_per_session_stores_the_same(
    synced: Synced, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Sync saves and weighs the listing in sessions of a bounded number of repositories (its memory
    is then flat in the organisation's size): three per session store what one session for all did."""
    import bot.sources.github_sync as github_sync

    world = synced.world
    assert synced.first.listed > 3 * 3  # several sessions
    monkeypatch.setattr(github_sync, "REPOS_PER_SESSION", 3)
    db_url = f"sqlite:///{tmp_path / 'chunked.db'}"
    engine = make_engine(db_url)
    SQLModel.metadata.create_all(engine)
    with SandboxServer(world) as server:
        chunked = _settings(server.base_url, world, db_url)
        first = _sync(engine, chunked, world)
        second = _sync(engine, chunked, world)
    assert (first.listed, first.ingested, first.weighted, first.teams) == (
        synced.first.listed,
        synced.first.ingested,
        synced.first.weighted,
        synced.first.teams,
    )
    assert second.unchanged_repos == synced.second.unchanged_repos > 0 and second.exported == synced.second.exported
    assert _repository_rows(engine) == _repository_rows(synced.engine)
