"""Ask and get JSON: ``upkeep resolve PURL...`` without ingesting, ``upkeep packages``, ``--refresh``, ``ttl_days = 0``.

The CLI runs against a real HTTP server on the loopback interface serving real registry documents.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from typer.testing import CliRunner

from bot.cli import app
from bot.config import Settings, load_settings
from bot.resolve.ask import Answer, resolve_purls
from bot.resolve.stage import resolve_all
from bot.store.engine import make_engine, upgrade
from bot.store.tables import ComponentRow, PackageResolutionRow
from tests.resolve_fakes import FakeRegistries, sample

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
PYPI, NPM = "https://pypi.test", "https://npm.test"
SBOMS = Path(__file__).parent / "data" / "sboms"


def fake() -> FakeRegistries:
    return FakeRegistries(
        {
            f"{PYPI}/pypi/luigi/json": sample("pypi_luigi-2.6.0.json"),
            f"{NPM}/is-stream": sample("npm_is-stream.json"),
        }
    )


def settings(**extra: Any) -> Settings:
    return load_settings(
        None,
        overrides={"registries.pypi": PYPI, "registries.npm": NPM, "resolve.use_depsdev": False, **extra},
    )


def ask(engine: Engine, registries: FakeRegistries, purls: list[str], config: Settings, **kw: Any) -> list[Answer]:
    async def go() -> list[Answer]:
        async with registries.client() as client:
            return await resolve_purls(engine, config, client, purls, now=kw.pop("now", NOW), **kw)

    return asyncio.run(go())


def test_each_purl_is_answered_as_given_and_nothing_is_stored(engine: Engine) -> None:
    registries = fake()
    purls = ["pkg:PyPI/Luigi@2.6.0", "pkg:npm/is-stream", "pkg:pypi/nope@1", "not a purl", "pkg:PyPI/Luigi@2.6.0"]
    answers = ask(engine, registries, purls, settings())
    assert [a.to_dict() for a in answers] == [
        {
            "purl": "pkg:PyPI/Luigi@2.6.0",
            "package": "pypi/luigi",
            "upstream": "github.com/spotify/luigi",
            "reason": None,
            "provenance": "pypi:home_page",
        },
        {
            "purl": "pkg:npm/is-stream",
            "package": "npm/is-stream",
            "upstream": "github.com/sindresorhus/is-stream",
            "reason": None,
            "provenance": "npm:repository",
        },
        {
            "purl": "pkg:pypi/nope@1",
            "package": "pypi/nope",
            "upstream": None,
            "reason": "registry 404",
            "provenance": None,
        },
        {"purl": "not a purl", "package": None, "upstream": None, "reason": answers[3].reason, "provenance": None},
        {**answers[0].to_dict()},
    ]
    assert answers[3].reason is not None and answers[3].reason.startswith("not a purl")
    assert len(registries.requests) == 3  # the repeated purl is asked once
    with Session(engine) as session:
        assert session.exec(select(func.count()).select_from(PackageResolutionRow)).one() == 0
        assert session.exec(select(func.count()).select_from(ComponentRow)).one() == 0


def inventory(engine: Engine) -> None:
    with Session(engine) as session:
        session.add(
            ComponentRow(
                key="pkg:pypi/luigi@2.6.0",
                package_key="pypi/luigi",
                purl="pkg:pypi/luigi@2.6.0",
                ecosystem="pypi",
                name="luigi",
                version="2.6.0",
            )
        )
        session.commit()


def run_stage(
    engine: Engine, registries: FakeRegistries, config: Settings, now: datetime, refresh: bool = False
) -> int:
    async def go() -> int:
        async with registries.client() as client:
            return (await resolve_all(engine, config, client, now=now, refresh=refresh)).attempted

    return asyncio.run(go())


def test_a_fresh_mapping_answers_unless_refresh_or_ttl_zero(engine: Engine) -> None:
    inventory(engine)
    assert run_stage(engine, fake(), settings(), NOW) == 1
    later = NOW + timedelta(days=1)
    quiet = fake()
    assert ask(engine, quiet, ["pkg:pypi/luigi@9"], settings(), now=later)[0].upstream == "github.com/spotify/luigi"
    assert quiet.requests == []  # answered from the store: the mapping is younger than ttl_days
    asked = fake()
    ask(engine, asked, ["pkg:pypi/luigi@9"], settings(), now=later, refresh=True)
    assert [r.url.path for r in asked.requests] == ["/pypi/luigi/json"]
    zero = fake()
    ask(engine, zero, ["pkg:pypi/luigi@9"], settings(**{"resolve.ttl_days": 0}), now=later)
    assert len(zero.requests) == 1
    # the stage: fresh rows are skipped, unless --refresh or ttl_days = 0
    assert run_stage(engine, fake(), settings(), later) == 0
    assert run_stage(engine, fake(), settings(), later, refresh=True) == 1
    assert run_stage(engine, fake(), settings(**{"resolve.ttl_days": 0}), later) == 1


@pytest.fixture
def loopback() -> Iterator[str]:
    """A real HTTP server on 127.0.0.1 serving the registry documents by path."""
    routes = {"/pypi/luigi/json": sample("pypi_luigi-2.6.0.json"), "/is-stream": sample("npm_is-stream.json")}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = routes.get(self.path)
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body or b"{}")

        def log_message(self, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_cli_resolve_purls_and_list_packages(tmp_path: Path, loopback: str) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    config = tmp_path / "upkeep.toml"
    config.write_text(
        f'[registries]\npypi = "{loopback}"\nnpm = "{loopback}"\n[resolve]\nuse_depsdev = false\nmax_retries = 0\n'
    )
    listed = tmp_path / "purls.txt"
    listed.write_text("# asked by the security team\npkg:npm/is-stream@3.0.0\n\npkg:cargo/serde@1.0.0\n")
    runner = CliRunner()
    base = ["--database-url", url, "--config", str(config)]
    result = runner.invoke(app, [*base, "resolve", "pkg:pypi/Luigi@2.6.0", "--from-file", str(listed), "--json"])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(d["purl"], d["upstream"]) for d in lines] == [
        ("pkg:pypi/Luigi@2.6.0", "github.com/spotify/luigi"),
        ("pkg:npm/is-stream@3.0.0", "github.com/sindresorhus/is-stream"),
        ("pkg:cargo/serde@1.0.0", None),
    ]
    assert all(set(d) == {"purl", "package", "upstream", "reason", "provenance"} for d in lines)
    assert lines[2]["reason"] is not None
    # packages: nothing inventoried yet (resolve PURL ingests nothing), then the inventory with its resolutions
    assert runner.invoke(app, [*base, "packages", "--json"]).stdout == ""
    ingest = runner.invoke(app, [*base, "ingest", str(SBOMS / "cdx-1.6-pypi_cyclonedx-py-environment.json")])
    assert ingest.exit_code == 0, ingest.output
    packages = [json.loads(line) for line in runner.invoke(app, [*base, "packages", "--json"]).stdout.splitlines()]
    assert len(packages) == 31 and {p["status"] for p in packages} == {"not resolved yet"}
    assert runner.invoke(app, [*base, "resolve", "--json"]).exit_code == 0
    packages = [json.loads(line) for line in runner.invoke(app, [*base, "packages", "--json"]).stdout.splitlines()]
    assert len(packages) == 31 and "not resolved yet" not in {p["status"] for p in packages}
    assert all(p["upstream"] or p["reason"] for p in packages)  # every package: an upstream or why not
    table = runner.invoke(app, [*base, "packages"])
    assert "31 packages" in table.stdout
