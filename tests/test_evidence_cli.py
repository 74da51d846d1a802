"""``upkeep sync``, ``upkeep people`` and ``upkeep gather --contributions --money`` against the served sandbox."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from bot.cli import app
from bot.cli.app import AppContext
from bot.sandbox import roster_csv, sandbox_toml
from tests.sandbox_fixtures import RunningSandbox

pytest_plugins = ["tests.sandbox_fixtures"]  # harmless once the lead registers it globally


@pytest.fixture
def cli(sandbox: RunningSandbox, engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The global options for a config pointing at the sandbox (the store is the test's, made without migrations)."""
    monkeypatch.setattr(AppContext, "engine", property(lambda _self: engine))
    for name, value in sandbox.environment.items():
        monkeypatch.setenv(name, value)
    roster = tmp_path / "roster.csv"
    roster.write_text(roster_csv(sandbox.world), encoding="utf-8")
    config = tmp_path / "upkeep.toml"
    text = sandbox_toml(sandbox.base_url, sandbox.world)
    text = text.replace("[people]\n", f'[people]\nroster_csv = "{roster}"\n')
    text = text.replace("[github]\n", "[github]\nreport_poll_seconds = 0.0\n")
    config.write_text(text, encoding="utf-8")
    return ["--config", str(config)]


def test_sync_then_people_then_gather(cli: list[str], sandbox: RunningSandbox) -> None:
    runner = CliRunner()
    synced = runner.invoke(app, [*cli, "sync"])
    assert synced.exit_code == 0, synced.output
    assert "dependency graph disabled: acme/" in synced.output
    again = runner.invoke(app, [*cli, "sync", "--json"])
    summary = json.loads(again.stdout)
    assert summary["reports_requested"] == 0 and summary["listing_pages"] == summary["listing_not_modified"]

    people = runner.invoke(app, [*cli, "people", "--refresh", "--json"])
    assert people.exit_code == 0, people.output
    identities = json.loads(people.stdout)
    leaver = next(p for p in sandbox.world.people if p.identity == "roster")
    row = next(i for i in identities if i["account"] == leaver.login)
    assert (row["source"], row["until"]) == ("roster", str(leaver.roster_end))
    assert re.fullmatch(r".*roster\.csv:\d+", row["detail"]), row["detail"]
    table = runner.invoke(app, [*cli, "people"])
    assert "people," in table.output and "identities" in table.output

    gathered = runner.invoke(app, [*cli, "gather", "--contributions", "--money"])
    assert gathered.exit_code == 0, gathered.output
    assert "contributions:" in gathered.output and "money: payments github_sponsors" in gathered.output
    assert "stopped" not in gathered.output
