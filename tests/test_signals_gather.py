"""The signals stage against a fake GitHub that executes queries on GitHub's published schema."""

from __future__ import annotations

import asyncio
import itertools
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from graphql import parse, validate
from pydantic import SecretStr
from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from typer.testing import CliRunner

from bot.cli import app
from bot.cli.app import AppContext
from bot.config import GitHubSettings, RegistrySettings, Secrets, Settings, SignalsSettings
from bot.http import RateLimited, make_client
from bot.pipeline import StageContext
from bot.resolve.stage import resolve_all
from bot.sandbox.github_graphql import github_schema
from bot.sandbox.model import Commit, Release, UpstreamRepo
from bot.sources.github_signals import history_query, signals_query
from bot.sources.signals_stage import gather_signals, signals_stage
from bot.store.engine import session_scope
from bot.store.tables import (
    ComponentRow,
    HttpCacheRow,
    LicenceDriftRow,
    PackageResolutionRow,
    RegistrySignalsRow,
    SignalScanRow,
    UpstreamRow,
    UpstreamSignalRow,
)
from tests.signals_fake import API_URL, DEPSDEV_URL, GRAPHQL_URL, FakeGitHub

NOW = datetime(2026, 11, 15, 12, tzinfo=UTC)
FUNDING = Path(__file__).parent / "data" / "funding"
_ids = itertools.count(1)


def commits(login: str | None, email: str, count: int, *, days_ago: int = 5) -> list[Commit]:
    return [
        Commit(f"{next(_ids):040x}", login or email, email, login, NOW - timedelta(days=days_ago, hours=i), "work")
        for i in range(count)
    ]


def repo(owner: str, name: str, owner_type: str, licences: list[str | None], history: list[Commit], **kw: object):  # type: ignore[no-untyped-def]
    history = sorted(history, key=lambda c: c.committed_at, reverse=True)
    return UpstreamRepo(
        host="github.com",
        owner=owner,
        name=name,
        owner_type=owner_type,  # type: ignore[arg-type]
        node_id=f"R_{owner}_{name}",
        database_id=next(_ids),
        description="",
        licenses=licences,
        commits=history,
        **kw,  # type: ignore[arg-type]
    )


def world() -> list[UpstreamRepo]:
    solo = repo(
        "solo",
        "tool",
        "User",
        ["MIT", "BUSL-1.1"],
        commits("solo", "solo@gmail.com", 6)
        + commits("helper", "helper@gmail.com", 3)
        + commits("dependabot[bot]", "49699333+dependabot[bot]@users.noreply.github.com", 9)
        + commits("ancient", "ancient@gmail.com", 20, days_ago=500),
        funding_yml="github: solo\nko_fi: solo\n",
        funding_json=(FUNDING / "funding-json_reactive-resume.json").read_text(),
        owner_has_sponsors_listing=True,
        releases=[Release("v1.0", "v1.0", NOW - timedelta(days=30)), Release("v1.1", "v1.1", NOW - timedelta(days=3))],
        scorecard=6.5,
    )
    # 130 commits in the window: the history needs a second page. 26 people with 5 commits each.
    crowd = [c for i in range(26) for c in commits(f"dev{i}", f"dev{i}@uni{i % 13}.example", 5)]
    apache = repo("apache", "big", "Organization", ["Apache-2.0", "Apache-2.0"], crowd, scorecard=8.1)
    company = repo(
        "acme-oss",
        "thing",
        "Organization",
        [None],
        commits("a1", "a1@acme.example", 8) + commits("a2", "a2@acme.example", 4) + commits(None, "x@gmail.com", 2),
        archived=True,
        funding_yml=(FUNDING / "qs_FUNDING.yml").read_text(),  # GitHub's template left in place
    )
    return [solo, apache, company]


KEYS = [
    "github.com/solo/tool",
    "github.com/apache/big",
    "github.com/acme-oss/thing",
    "github.com/gone/away",
    "gitlab.com/group/proj",
]


def seed(engine: Engine) -> None:
    with session_scope(engine) as session:
        for key in KEYS:
            host, owner, name = key.split("/")
            session.add(UpstreamRow(key=key, host=host, owner=owner, name=name))
        session.add(
            PackageResolutionRow(package_key="npm/proj", status="resolved", upstream_key="gitlab.com/group/proj")
        )
        session.add(ComponentRow(key="pkg:npm/proj@1.0.0", package_key="npm/proj", name="proj", licenses=["MPL-2.0"]))


def settings(batch_size: int = 50) -> Settings:
    return Settings(
        github=GitHubSettings(graphql_url=GRAPHQL_URL, api_url=API_URL),
        registries=RegistrySettings(depsdev=DEPSDEV_URL),
        signals=SignalsSettings(batch_size=batch_size),
    )


SECRETS = Secrets(github_token=SecretStr("test-token"))


def client(fake: FakeGitHub) -> httpx.Client:
    return make_client(transport=httpx.MockTransport(fake.handler))


def rows(engine: Engine, scan_id: int) -> dict[str, UpstreamSignalRow]:
    with Session(engine) as session:
        found = session.exec(select(UpstreamSignalRow).where(UpstreamSignalRow.scan_id == scan_id)).all()
    return {r.upstream_key: r for r in found}


def test_query_texts_are_valid_against_githubs_schema() -> None:
    for text in (signals_query(1), signals_query(50), history_query(1), history_query(50)):
        assert validate(github_schema(), parse(text)) == []


def test_cold_scan_observes_every_upstream_in_one_batched_query(engine: Engine) -> None:
    seed(engine)
    fake = FakeGitHub(world())
    summary = gather_signals(engine, settings(), SECRETS, client(fake), now=NOW)
    # one batched query for the 4 GitHub upstreams, one follow-up page for apache/big's history
    assert (fake.calls["graphql"], fake.calls["rest"], fake.calls["depsdev"]) == (2, 1, 5)
    assert set(fake.auth) == {"Bearer test-token"}
    assert all(validate(github_schema(), parse(q["query"])) == [] for q in fake.queries)
    assert (summary.upstreams, summary.observed, summary.partial, summary.missing, summary.drifts) == (5, 5, 2, 1, 0)
    got = rows(engine, summary.scan_id)

    solo = got["github.com/solo/tool"]
    assert (solo.commits_12m, solo.active_maintainers, solo.bus_factor, solo.elephant_factor) == (9, 2, 1, 1)
    assert (solo.licence, solo.licence_class, solo.governance, solo.owner_type) == (
        "MIT",
        "permissive",
        "individual",
        "User",
    )
    assert solo.sources["bus_factor"] == "github-graphql" and solo.observed_at is not None
    assert solo.scorecard == 6.5 and solo.sources["scorecard"] == "deps.dev"
    assert solo.last_release_at is not None and solo.last_release_at.replace(tzinfo=UTC) == NOW - timedelta(days=3)
    sources = {(c["platform"], c["source"]) for c in solo.funding}
    assert {("github", "fundingLinks"), ("ko_fi", "fundingLinks"), ("payment-provider", "funding.json")} <= sources
    assert ("github", "sponsors-listing") in sources

    big = got["github.com/apache/big"]
    assert (big.commits_12m, big.active_maintainers, big.bus_factor, big.elephant_factor) == (130, 26, 13, 7)
    assert big.governance == "foundation" and big.licence_class == "permissive"

    thing = got["github.com/acme-oss/thing"]
    assert (thing.archived, thing.governance, thing.licence, thing.licence_class) == (True, "company", None, "unknown")
    assert (thing.bus_factor, thing.elephant_factor) == (1, 1)
    assert [(c["platform"], c["target"]) for c in thing.funding] == [
        ("tidelift", "https://example.test/tidelift/npm/qs")
    ]
    problems = {p["key"] for p in thing.funding_problems}
    assert {"FUNDING.yml: otechie", "FUNDING.yml: patreon"} <= problems

    gone = got["github.com/gone/away"]
    assert gone.missing and gone.partial and gone.bus_factor is None

    gitlab = got["gitlab.com/group/proj"]
    assert gitlab.partial and not gitlab.missing
    assert (gitlab.licence, gitlab.licence_class, gitlab.sources["licence"]) == ("MPL-2.0", "copyleft", "sbom")
    assert gitlab.bus_factor is None and gitlab.governance == "unknown"


def test_rescan_with_a_licence_change_records_exactly_one_drift(engine: Engine) -> None:
    seed(engine)
    fake = FakeGitHub(world(), scan=0)
    first = gather_signals(engine, settings(), SECRETS, client(fake), now=NOW)

    fresh = gather_signals(engine, settings(), SECRETS, client(fake), now=NOW + timedelta(days=1))
    assert (fresh.scan_id, fresh.new_scan, fresh.observed) == (first.scan_id, False, 0)
    assert fake.calls["graphql"] == 2  # nothing stale, nothing missing: no calls at all

    fake.scan = 1
    later = NOW + timedelta(days=8)
    second = gather_signals(engine, settings(), SECRETS, client(fake), now=later)
    assert second.new_scan and second.scan_id != first.scan_id
    assert (second.drifts, second.sovereignty_risks) == (1, 1)
    assert (second.calls["rest"], second.calls["rest_not_modified"]) == (1, 1)  # funding.json revalidated: 304
    assert second.calls["depsdev_not_modified"] == 2

    third = gather_signals(engine, settings(), SECRETS, client(fake), now=later + timedelta(days=8))
    assert third.new_scan and third.drifts == 0
    with Session(engine) as session:
        drifts = session.exec(select(LicenceDriftRow)).all()
    assert [(d.upstream_key, d.from_spdx, d.to_spdx, d.sovereignty_risk) for d in drifts] == [
        ("github.com/solo/tool", "MIT", "BUSL-1.1", True)
    ]
    assert drifts[0].first_seen_at.replace(tzinfo=UTC) == later


def test_a_rate_limited_scan_resumes_where_it_stopped(engine: Engine) -> None:
    seed(engine)
    fake = FakeGitHub(world())
    first_batch = {"thing", "big"}

    def limited(request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and str(request.url) == GRAPHQL_URL:  # not the deps.dev batch
            variables = json.loads(request.content)["variables"]
            names = {value for name, value in variables.items() if name.startswith("n")}
            if names - first_batch:  # batch 2 (asked while batch 1 is stored) is rate limited for an hour
                reset = str(int(datetime.now(UTC).timestamp()) + 3600)
                return httpx.Response(403, headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset})
        return fake.handler(request)

    limited_client = make_client(transport=httpx.MockTransport(limited))
    with pytest.raises(RateLimited):
        gather_signals(engine, settings(batch_size=2), SECRETS, limited_client, now=NOW)
    with Session(engine) as session:
        scan = session.exec(select(SignalScanRow)).one()
        assert scan.status == "running"
    assert set(rows(engine, scan.id or 0)) == {"github.com/acme-oss/thing", "github.com/apache/big"}

    before = fake.calls["graphql"]
    resumed = gather_signals(engine, settings(batch_size=2), SECRETS, client(fake), now=NOW + timedelta(hours=2))
    assert (resumed.scan_id, resumed.new_scan, resumed.observed) == (scan.id, False, 3)
    assert fake.calls["graphql"] - before == 1  # only the batch that was missing
    with Session(engine) as session:
        assert session.get(SignalScanRow, scan.id).status == "ok"  # type: ignore[union-attr]


def test_upstream_command_shows_signals_drift_and_gaps(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    # The command's own engine would run the Alembic migrations, which the lead generates later.
    monkeypatch.setattr(AppContext, "engine", property(lambda _self: engine))
    seed(engine)
    fake = FakeGitHub(world())
    gather_signals(engine, settings(), SECRETS, client(fake), now=NOW)
    fake.scan = 1
    gather_signals(engine, settings(), SECRETS, client(fake), now=NOW + timedelta(days=8))
    result = CliRunner().invoke(app, ["upstream", "GitHub.com/solo/tool"])
    assert result.exit_code == 0, result.output
    assert "bus factor: 1  (github-graphql, 2026-11-23 12:00 UTC)" in result.output
    assert "MIT (permissive) → BUSL-1.1 (source-available)  SOVEREIGNTY RISK" in result.output
    assert "contributions: not gathered yet" in result.output
    missing = CliRunner().invoke(app, ["upstream", "github.com/no/such"])
    assert missing.exit_code != 0


def test_registry_documents_cached_by_resolve_give_signals_for_other_forges(engine: Engine) -> None:
    seed(engine)
    packument = (FUNDING / "npm_is-stream.json").read_bytes()
    with session_scope(engine) as session:
        session.add(HttpCacheRow(url="https://registry.npmjs.org/proj", body=packument, etag='"x"'))
    fake = FakeGitHub(world())
    summary = gather_signals(engine, settings(), SECRETS, client(fake), now=NOW)
    gitlab = rows(engine, summary.scan_id)["gitlab.com/group/proj"]
    assert (gitlab.licence, gitlab.sources["licence"], gitlab.deprecated) == ("MIT", "npm", False)
    assert [(c["url"], c["source"]) for c in gitlab.funding] == [("https://github.com/sponsors/sindresorhus", "npm")]


def test_an_unfinished_scan_older_than_the_ttl_is_closed_and_a_new_one_started(engine: Engine) -> None:
    seed(engine)
    fake = FakeGitHub([])  # every GitHub repository "exists" nowhere yet: observed as missing
    broken = make_client(transport=httpx.MockTransport(lambda r: httpx.Response(200, json={"data": {}})))
    first = gather_signals(engine, settings(), SECRETS, broken, now=NOW)  # GraphQL answers with no aliases
    assert first.observed == 5 and first.missing == 4
    with session_scope(engine) as session:  # pretend one upstream kept failing: its row is missing
        row = session.exec(select(UpstreamSignalRow).where(UpstreamSignalRow.upstream_key == KEYS[0])).one()
        session.delete(row)
        scan = session.get(SignalScanRow, first.scan_id)
        assert scan is not None
        scan.status = "running"
    later = gather_signals(engine, settings(), SECRETS, client(fake), now=NOW + timedelta(days=8))
    assert later.new_scan and later.observed == 5
    with Session(engine) as session:
        assert session.get(SignalScanRow, first.scan_id).status == "partial"  # type: ignore[union-attr]


def test_gather_command_runs_the_signals_part(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    seed(engine)
    fake = FakeGitHub(world())
    monkeypatch.setattr(AppContext, "engine", property(lambda _self: engine))
    monkeypatch.setattr(AppContext, "settings", property(lambda _self: settings()))
    monkeypatch.setattr("bot.sources.signals_stage.make_client", lambda **_: client(fake))
    monkeypatch.setenv("GITHUB_TOKEN", "test-token")
    result = CliRunner().invoke(app, ["gather", "--signals"])
    assert result.exit_code == 0, result.output
    assert "5 of 5 upstreams observed (2 partial, 1 missing)" in result.output
    assert fake.auth == ["Bearer test-token", "Bearer test-token"]
    again = CliRunner().invoke(app, ["gather"])  # no part named: every part; the fresh scan needs nothing
    assert "0 of 5 upstreams observed" in again.output and "calls: none" in again.output


def test_pipeline_stage_function_returns_the_summary(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    seed(engine)
    fake = FakeGitHub(world())
    monkeypatch.setattr("bot.sources.signals_stage.make_client", lambda **_: client(fake))
    context = StageContext(settings=settings(), secrets=SECRETS, engine=engine, now=NOW, options={"rescan": True})
    summary = signals_stage(context)
    assert (summary["upstreams"], summary["observed"], summary["calls"]["graphql"]) == (5, 5, 2)


def test_graphql_rate_limit_errors_stop_the_stage_until_the_reset(engine: Engine) -> None:
    seed(engine)
    reset = int((NOW + timedelta(hours=1)).timestamp())
    answer = {"data": None, "errors": [{"type": "RATE_LIMITED", "message": "API rate limit exceeded"}]}
    limited = make_client(
        transport=httpx.MockTransport(
            lambda _r: httpx.Response(200, json=answer, headers={"X-RateLimit-Reset": str(reset)})
        )
    )
    with pytest.raises(RateLimited) as caught:
        gather_signals(engine, settings(), SECRETS, limited, now=NOW)
    assert caught.value.reset_at == NOW + timedelta(hours=1)


def test_previous_licences_are_read_for_a_whole_batch_at_once(engine: Engine) -> None:
    from bot.store.signals import load_previous_licences
    from bot.store.tables import SignalScanRow

    at = datetime(2026, 1, 1, tzinfo=UTC)
    with session_scope(engine) as session:
        scans = [SignalScanRow(started_at=at + timedelta(days=n)) for n in range(3)]
        session.add_all(scans)
        session.flush()
        first, second, third = (s.id for s in scans)
        assert first is not None and second is not None and third is not None
        rows = [
            ("h/a/one", first, "MIT", True),
            ("h/a/one", second, "BUSL-1.1", True),  # the latest observed before the third scan
            ("h/a/one", third, "Apache-2.0", True),  # the scan asking: not earlier
            ("h/a/two", first, "MIT", True),
            ("h/a/two", second, None, False),  # not observed: does not count
            ("h/a/three", second, None, True),  # observed, without a licence
            ("h/a/four", second, "MIT", False),
        ]
        session.add_all(
            UpstreamSignalRow(scan_id=scan, upstream_key=key, observed_at=at, licence=licence, licence_observed=seen)
            for key, scan, licence, seen in rows
        )
    with Session(engine) as session:
        found = load_previous_licences(
            session, upstream_keys=["h/a/one", "h/a/two", "h/a/three", "h/a/four", "h/a/five"], before_scan_id=third
        )
    assert found == {"h/a/one": "BUSL-1.1", "h/a/two": "MIT", "h/a/three": None}


def _resolve_npm_proj(engine: Engine, answer: httpx.Response) -> None:
    """The resolve stage, refreshing npm/proj against a registry that gives ``answer``."""

    def registry(request: httpx.Request) -> httpx.Response:
        return answer if request.url.path == "/proj" else httpx.Response(404)

    async def run() -> None:
        async with httpx.AsyncClient(transport=httpx.MockTransport(registry)) as http:
            await resolve_all(engine, Settings(), http, now=NOW, refresh=True)

    asyncio.run(run())


def test_signals_come_from_what_resolve_read_without_decoding_the_document_again(engine: Engine) -> None:
    seed(engine)
    packument = json.loads((FUNDING / "npm_is-stream.json").read_bytes())
    packument["repository"] = {"type": "git", "url": "git+https://gitlab.com/group/proj.git"}
    with session_scope(engine) as session:
        component = session.exec(select(ComponentRow)).one()
        component.ecosystem, component.purl = "npm", "pkg:npm/proj@1.0.0"
        session.add(component)
    _resolve_npm_proj(engine, httpx.Response(200, json=packument, headers={"etag": '"v1"'}))
    with session_scope(engine) as session:
        resolution = session.exec(select(PackageResolutionRow)).one()
        assert resolution.upstream_key == "gitlab.com/group/proj"
        # the stored document can no longer be decoded: the signals must come from what resolve read
        cached = session.exec(select(HttpCacheRow).where(HttpCacheRow.url == "https://registry.npmjs.org/proj")).one()
        cached.body = b"{ not json"
        session.add(cached)
    summary = gather_signals(engine, settings(), SECRETS, client(FakeGitHub(world())), now=NOW)
    gitlab = rows(engine, summary.scan_id)["gitlab.com/group/proj"]
    assert (gitlab.licence, gitlab.sources["licence"], gitlab.deprecated) == ("MIT", "npm", False)
    assert [(c["url"], c["source"]) for c in gitlab.funding] == [("https://github.com/sponsors/sindresorhus", "npm")]
    # the package is gone from the registry now: what its old document said is forgotten with it
    _resolve_npm_proj(engine, httpx.Response(404))
    with Session(engine) as session:
        assert session.exec(select(RegistrySignalsRow)).all() == []
