"""A first run on a new database, on the real clock, against ``upkeep sandbox serve``'s loopback server:
``upkeep run`` scores now, so ``upkeep report`` without ``--quarter`` reviews the running quarter to date
(the last complete quarter has no snapshot) and has gaps, risks and money to show."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app
from bot.report.quarters import Quarter
from bot.sandbox import (
    SandboxServer,
    generate_world,
    ledger_csv,
    roster_csv,
    sandbox_environment,
    sandbox_toml,
)
from tests.sandbox_fixtures import RESUMPTIONS, wait_if_paused


@pytest.fixture(scope="module")
def first_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str, str]]:
    tmp = tmp_path_factory.mktemp("first-run")
    world = generate_world(7, "small")
    (tmp / "roster.csv").write_text(roster_csv(world), encoding="utf-8")
    (tmp / "ledger.csv").write_text(ledger_csv(world), encoding="utf-8")
    with SandboxServer(world) as server:
        config = tmp / "upkeep.toml"
        text = sandbox_toml(server.base_url, world)
        text = text.replace("[people]\n", '[people]\nroster_csv = "roster.csv"\n', 1)
        text = text.replace("[funding]\n", '[funding]\nledger_csv = "ledger.csv"\n', 1)
        config.write_text(text, encoding="utf-8")
        base = ["--config", str(config), "--database-url", f"sqlite:///{tmp / 'upkeep.db'}"]
        runner = CliRunner(env=sandbox_environment(world))
        logger = logging.getLogger("bot")  # the CLI installs its own handler; later tests' caplog needs it back
        saved = (logger.level, logger.propagate, list(logger.handlers))
        try:
            for _ in range(RESUMPTIONS):  # a run a rate limit paused resumes when run again
                ran = runner.invoke(app, [*base, "run", "--stages", "sync,resolve,gather,score"])
                if not wait_if_paused(ran.exit_code, ran.output):
                    break
            reported = runner.invoke(app, [*base, "report", "--out", str(tmp / "review")])
        finally:
            logger.level, logger.propagate, logger.handlers = saved
        assert ran.exit_code == 0, ran.output
        assert reported.exit_code == 0, reported.output
        yield tmp / "review", reported.stdout, ran.output  # the report logs its start and end on stderr


def test_the_first_report_reviews_the_running_quarter_to_date_and_says_so(first_run: tuple[Path, str, str]) -> None:
    out, output, _ = first_run
    running = Quarter.of(datetime.now(UTC).date())
    assert output.splitlines()[0].startswith(f"review of {running} to date (the last complete quarter has no gap")
    review = json.loads((out / "review.json").read_text(encoding="utf-8"))
    assert review["quarter"] == str(running)
    markdown = (out / "review.md").read_text(encoding="utf-8")
    summary = markdown.split("## Summary", 1)[1].split("## Top gaps", 1)[0]
    assert f"covers {running} to date ({running.start.isoformat()} to " in summary
    assert "run `upkeep score`" not in markdown


def test_the_first_report_has_gaps_risks_and_money(first_run: tuple[Path, str, str]) -> None:
    out, _, _ = first_run
    review = json.loads((out / "review.json").read_text(encoding="utf-8"))
    headline = {h["key"]: h["value"] for h in review["headline"]}
    assert review["top_gaps"] and review["risks"] and review["payments"]
    assert headline["gaps"] > 0 and headline["money_given"] > 0
