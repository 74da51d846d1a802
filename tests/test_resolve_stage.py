"""The resolve stage on a store: selection, TTL, revalidation, outages, overrides, summary, CLI."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select
from typer.testing import CliRunner

from bot.cli import app
from bot.config import Settings, load_settings
from bot.resolve.stage import ResolveSummary, resolve_all
from bot.store.engine import make_engine, session_scope, upgrade
from bot.store.resolution import load_resolutions
from bot.store.tables import ComponentRow, HttpCacheRow, PackageResolutionRow, UpstreamRow
from tests.resolve_fakes import RESOLVE_DATA, FakeRegistries, sample

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
PYPI, NPM, CRATES, DEPSDEV = "https://pypi.test", "https://npm.test", "https://crates.test", "https://depsdev.test"

# (key, package_key, purl, ecosystem, namespace, name, version)
COMPONENTS = [
    ("pkg:pypi/luigi@2.6.0", "pypi/luigi", "pkg:pypi/luigi@2.6.0", "pypi", None, "luigi", "2.6.0"),
    ("pkg:pypi/luigi@2.5.0", "pypi/luigi", "pkg:pypi/luigi@2.5.0", "pypi", None, "luigi", "2.5.0"),
    ("pkg:npm/is-stream@3.0.0", "npm/is-stream", "pkg:npm/is-stream@3.0.0", "npm", None, "is-stream", "3.0.0"),
    ("pkg:cargo/bitflags@1.0.0", "cargo/bitflags", "pkg:cargo/bitflags@1.0.0", "cargo", None, "bitflags", "1.0.0"),
    (
        "pkg:githubactions/actions/checkout@v4",
        "githubactions/actions/checkout",
        "pkg:githubactions/actions/checkout@v4",
        "githubactions",
        "actions",
        "checkout",
        "v4",
    ),
    ("pkg:pypi/nope@1.0", "pypi/nope", "pkg:pypi/nope@1.0", "pypi", None, "nope", "1.0"),
    ("pkg:pypi/nometa@1.0.0", "pypi/nometa", "pkg:pypi/nometa@1.0.0", "pypi", None, "nometa", "1.0.0"),
    ("pkg:deb/debian/libc6@2.36", "deb/debian/libc6", "pkg:deb/debian/libc6@2.36", "deb", "debian", "libc6", "2.36"),
    ("nopurl:mystery@1", "nopurl/mystery", None, None, None, "mystery", "1"),
    ("nopurl:pip/etag@1.8.1", "pypi/etag-hint", None, "pip", None, "luigi", "1.8.1"),
    ("pkg:npm/%40babel/core@7.0.0", "npm/@babel/core", "pkg:npm/%40babel/core@7.0.0", "npm", "@babel", "core", "7.0.0"),
]


def registries() -> FakeRegistries:
    nometa = json.loads(sample("pypi_luigi-2.6.0.json"))
    nometa["info"].update({"home_page": "", "project_urls": None, "name": "nometa"})
    return FakeRegistries(
        {
            f"{PYPI}/pypi/luigi/json": sample("pypi_luigi-2.6.0.json"),
            f"{PYPI}/pypi/nometa/json": json.dumps(nometa).encode(),
            f"{NPM}/is-stream": sample("npm_is-stream.json"),
            f"{CRATES}/api/v1/crates/bitflags": sample("cratesio_bitflags.json"),
            f"{DEPSDEV}/v3/systems/pypi/packages/nometa/versions/1.0.0": (
                RESOLVE_DATA / "depsdev_GetVersion_pypi.json"
            ).read_bytes(),
        }
    )


def settings(**extra: Any) -> Settings:
    overrides: dict[str, Any] = {
        "registries.pypi": PYPI,
        "registries.npm": NPM,
        "registries.crates": CRATES,
        "registries.depsdev": DEPSDEV,
        "resolve.max_retries": 1,
        "resolve.overrides": {"pkg:npm/@babel/*": "github.com/babel/babel"},
    }
    overrides.update(extra)
    return load_settings(None, overrides=overrides)


def add_components(engine: Engine) -> None:
    with session_scope(engine) as session:
        for key, package_key, purl, ecosystem, namespace, name, version in COMPONENTS:
            session.add(
                ComponentRow(
                    key=key,
                    package_key=package_key,
                    purl=purl,
                    ecosystem=ecosystem,
                    namespace=namespace,
                    name=name,
                    version=version,
                )
            )


def resolve(engine: Engine, fake: FakeRegistries, config: Settings, now: datetime = NOW) -> ResolveSummary:
    async def go() -> ResolveSummary:
        async with fake.client() as client:
            return await resolve_all(engine, config, client, now=now)

    return asyncio.run(go())


def rows(engine: Engine) -> dict[str, PackageResolutionRow]:
    return {row.package_key: row for row in load_resolutions(engine)}


def test_first_run_resolves_and_keeps_every_package(engine: Engine) -> None:
    add_components(engine)
    fake = registries()
    summary = resolve(engine, fake, settings())
    found = rows(engine)
    assert len(found) == 10  # one row per package key, none dropped
    assert found["pypi/luigi"].upstream_key == "github.com/spotify/luigi"
    assert found["npm/is-stream"].upstream_key == "github.com/sindresorhus/is-stream"
    assert found["cargo/bitflags"].upstream_key == "github.com/rust-lang-nursery/bitflags"
    assert found["githubactions/actions/checkout"].upstream_key == "github.com/actions/checkout"
    assert (found["pypi/nometa"].upstream_key, found["pypi/nometa"].provenance) == (
        "github.com/example/nometa",
        "depsdev:relatedProjects.PYPI_PUBLISH_ATTESTATION",
    )
    assert (found["npm/@babel/core"].status, found["npm/@babel/core"].provenance) == (
        "override",
        "override:pkg:npm/@babel/*",
    )
    assert (found["pypi/nope"].status, found["pypi/nope"].reason) == ("unresolved", "registry 404")
    assert found["deb/debian/libc6"].reason == "no resolver for ecosystem: deb"
    assert found["nopurl/mystery"].reason == "no purl and no ecosystem"
    assert found["pypi/etag-hint"].upstream_key == "github.com/spotify/luigi"  # resolved by name through the hint
    assert found["pypi/luigi"].expires_at is not None
    # the summary adds up
    assert (summary.packages, summary.attempted, summary.resolved, summary.overrides) == (10, 10, 6, 1)
    assert summary.unresolved == {"registry 404": 1, "no resolver for ecosystem": 1, "no purl and no ecosystem": 1}
    assert summary.by_ecosystem["pypi"] == {"resolved": 3, "unresolved": 1}
    assert summary.requests == len(fake.requests)
    # the registry's 404 sends nope to deps.dev too (issue 15); deps.dev knows nothing, so the 404 stands
    assert f"{DEPSDEV}/v3/systems/pypi/packages/nope/versions/1.0" in [str(r.url) for r in fake.requests]
    with session_scope(engine) as session:
        upstreams = set(session.exec(select(UpstreamRow.key)).all())
    assert "github.com/babel/babel" in upstreams and "github.com/spotify/luigi" in upstreams


def test_rerun_inside_ttl_makes_no_request(engine: Engine) -> None:
    add_components(engine)
    resolve(engine, registries(), settings())
    fake = registries()
    summary = resolve(engine, fake, settings(), now=NOW + timedelta(days=6))
    assert fake.requests == []
    assert (summary.requests, summary.attempted, summary.fresh) == (0, 0, 10)
    assert summary.cache_hits == 10


def test_expired_mappings_are_revalidated_with_etags(engine: Engine) -> None:
    add_components(engine)
    resolve(engine, registries(), settings())
    with session_scope(engine) as session:
        cached = {row.url for row in session.exec(select(HttpCacheRow)).all()}
    assert f"{PYPI}/pypi/luigi/json" in cached
    fake = registries()
    summary = resolve(engine, fake, settings(), now=NOW + timedelta(days=8))
    conditional = [r for r in fake.requests if "if-none-match" in r.headers]
    assert conditional and {str(r.url) for r in conditional} <= cached
    assert summary.revalidated == len(conditional)
    assert rows(engine)["pypi/luigi"].upstream_key == "github.com/spotify/luigi"


def test_registry_down_marks_retry_and_the_run_goes_on(engine: Engine) -> None:
    add_components(engine)
    fake = registries()
    fake.down.add("pypi.test")
    summary = resolve(engine, fake, settings())
    found = rows(engine)
    assert found["pypi/luigi"].status == "retry"
    assert (found["pypi/luigi"].reason or "").startswith(
        "registry unavailable: https://pypi.test/pypi/luigi/json: HTTP 503"
    )
    assert found["npm/is-stream"].status == "resolved"
    # PyPI down: deps.dev is asked instead and knows nometa; luigi, nope and the etag hint wait for PyPI
    assert (found["pypi/nometa"].status, found["pypi/nometa"].provenance) == (
        "resolved",
        "depsdev:relatedProjects.PYPI_PUBLISH_ATTESTATION",
    )
    assert summary.retry == 3
    # next run, inside the TTL: only the retry rows are asked again
    again = registries()
    second = resolve(engine, again, settings(), now=NOW + timedelta(hours=1))
    assert second.attempted == 3
    assert rows(engine)["pypi/luigi"].status == "resolved"


def test_override_change_applies_without_waiting_for_the_ttl(engine: Engine) -> None:
    add_components(engine)
    resolve(engine, registries(), settings())
    changed = settings(**{"resolve.overrides": {"pkg:pypi/luigi": "github.com/example/luigi-fork"}})
    summary = resolve(engine, registries(), changed, now=NOW + timedelta(hours=1))
    found = rows(engine)
    assert (found["pypi/luigi"].status, found["pypi/luigi"].upstream_key) == (
        "override",
        "github.com/example/luigi-fork",
    )
    assert found["npm/@babel/core"].status == "unresolved"  # its override is gone: resolved again from the registry
    assert summary.attempted == 2


def test_bad_override_target_names_the_pattern(engine: Engine) -> None:
    add_components(engine)
    with pytest.raises(ValueError, match=r"resolve\.overrides\.'pkg:npm/x': 'nowhere'"):
        resolve(engine, registries(), settings(**{"resolve.overrides": {"pkg:npm/x": "nowhere"}}))


def test_cli_lists_unresolved_and_resolves_without_network(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    engine = make_engine(url)
    upgrade(engine)
    with session_scope(engine) as session:
        session.add(
            ComponentRow(
                key="pkg:githubactions/actions/setup-python@v5",
                package_key="githubactions/actions/setup-python",
                purl="pkg:githubactions/actions/setup-python@v5",
                ecosystem="githubactions",
                namespace="actions",
                name="setup-python",
                version="v5",
            )
        )
        session.add(ComponentRow(key="nopurl:thing@1", package_key="nopurl/thing", name="thing", version="1"))
    engine.dispose()
    runner = CliRunner()
    result = runner.invoke(app, ["--database-url", url, "resolve", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)  # the stage logs its start and end on stderr
    assert (summary["resolved"], summary["unresolved"], summary["requests"]) == (1, {"no purl and no ecosystem": 1}, 0)
    listed = runner.invoke(app, ["--database-url", url, "resolve", "--unresolved", "--json"])
    assert listed.exit_code == 0, listed.output
    assert json.loads(listed.output) == [
        {"package": "nopurl/thing", "status": "unresolved", "reason": "no purl and no ecosystem", "source_url": None}
    ]
    table = runner.invoke(app, ["--database-url", url, "resolve"])
    assert "1 still fresh" not in table.output and "2 packages" in table.output


def test_store_upserts_on_sqlite_and_postgres(db_url: str) -> None:
    from bot.records import UpstreamKey
    from bot.resolve.interface import PackageRef, Resolution, Unresolved
    from bot.store.resolution import load_package_states, save_outcomes

    engine = make_engine(db_url)
    upgrade(engine)
    add_components(engine)
    luigi = PackageRef("pypi/luigi", "pypi", None, "luigi", "2.6.0", "pkg:pypi/luigi@2.6.0")
    nope = PackageRef("pypi/nope", "pypi", None, "nope", "1.0", "pkg:pypi/nope@1.0")
    ttl = timedelta(days=7)
    save_outcomes(
        engine,
        [(luigi, Unresolved("registry unavailable: x", retry=True)), (nope, Unresolved("registry 404"))],
        now=NOW,
        ttl=ttl,
    )
    found = Resolution(
        UpstreamKey("github.com", "spotify", "luigi"), "https://github.com/spotify/luigi", "pypi:home_page"
    )
    save_outcomes(engine, [(luigi, found)], now=NOW, ttl=ttl)
    states = {s.ref.package_key: s for s in load_package_states(engine)}
    assert states["pypi/luigi"].ref.version == "2.5.0"  # the last ingested component represents the package
    assert states["pypi/luigi"].status == "resolved" and not states["pypi/luigi"].is_due(NOW + timedelta(days=6))
    assert states["pypi/luigi"].is_due(NOW + timedelta(days=7))
    assert states["pypi/nope"].status == "unresolved"
    assert states["npm/is-stream"].status is None and states["npm/is-stream"].is_due(NOW)
    found_rows = rows(engine)
    assert len(found_rows) == 2 and found_rows["pypi/luigi"].reason is None
    with session_scope(engine) as session:
        assert session.exec(select(UpstreamRow.key)).all() == ["github.com/spotify/luigi"]
    engine.dispose()


def test_pipeline_stage_returns_the_summary(engine: Engine) -> None:
    from bot.config import Secrets
    from bot.pipeline import StageContext
    from bot.resolve.stage import resolve_stage

    with session_scope(engine) as session:
        session.add(
            ComponentRow(
                key="pkg:github/octokit/fixtures@v1",
                package_key="github/octokit/fixtures",
                purl="pkg:github/octokit/fixtures@v1",
                ecosystem="github",
                namespace="octokit",
                name="fixtures",
                version="v1",
            )
        )
    context = StageContext(settings=settings(), secrets=Secrets(), engine=engine, now=NOW)
    summary = resolve_stage(context)
    assert (summary["resolved"], summary["requests"], summary["by_ecosystem"]) == (1, 0, {"github": {"resolved": 1}})
    assert rows(engine)["github/octokit/fixtures"].resolved_at.replace(tzinfo=UTC) == NOW


def test_a_misshapen_document_leaves_one_package_unresolved(engine: Engine) -> None:
    add_components(engine)
    fake = registries()
    fake.routes[f"{NPM}/is-stream"] = json.dumps({"name": "is-stream", "dist-tags": "latest"}).encode()
    summary = resolve(engine, fake, settings())
    row = rows(engine)["npm/is-stream"]
    assert (row.status, (row.reason or "").split(":")[0]) == ("unresolved", "registry document unreadable")
    assert summary.resolved == 5  # the others went on
