"""``upkeep deliver`` from the command line: inputs from the store's gap snapshot, dry run, real run, rerun."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, select

from bot.cli import main
from bot.config import Settings
from bot.deliver.inputs import load_delivery_inputs
from bot.deliver.issue_bodies import render_gap_issue
from bot.gaps.interface import Budget, ContributionKind, Investment, RepoUse, UpstreamUsage
from bot.gaps.stage import score_from_inputs
from bot.gaps.weights import load_weights
from bot.query.models import DeliveryPlan
from bot.sandbox.generate import generate_world
from bot.sandbox.model import World
from bot.sandbox.server import SandboxServer
from bot.sandbox.slack import channel_id
from bot.store.engine import make_engine, session_scope
from bot.store.renames import save_renames
from bot.store.tables import OutboxRow

ROOT = Path(__file__).resolve().parents[1]


def score_world(url: str, world: World) -> None:
    """Store one gap snapshot of the world through the gap stage, as ``upkeep score`` would."""
    upstream_of = {p.package_key: p.true_upstream for p in world.packages if p.true_upstream}
    uses: dict[str, list[RepoUse]] = defaultdict(list)
    for repo in world.internal_repos:
        for dep in repo.dependencies:
            if dep.package in upstream_of:
                uses[upstream_of[dep.package]].append(RepoUse(repo.full_name))
    counts: dict[str, int] = defaultdict(int)
    for contribution in world.contributions:
        counts[contribution.upstream] += contribution.count
    engine = make_engine(url)
    score_from_inputs(
        engine,
        [UpstreamUsage(u, tuple(r)) for u, r in uses.items()],
        [Investment(u, {ContributionKind.COMMIT: n}) for u, n in counts.items()],
        [],
        load_weights(ROOT / "config" / "gaps.toml"),
        Budget(yearly_amount=60_000.0),
        world.now,
    )
    engine.dispose()


def outbox(url: str) -> list[OutboxRow]:
    engine = make_engine(url)
    with Session(engine) as session:
        rows = list(session.exec(select(OutboxRow)))
    engine.dispose()
    return rows


def test_dry_run_then_run_then_rerun(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    world = generate_world(7, "small")
    url = f"sqlite:///{tmp_path / 'upkeep.db'}"
    monkeypatch.chdir(tmp_path)
    for name in ("UPKEEP_CONFIG", "SLACK_WEBHOOK_URL", "GITHUB_APP_PRIVATE_KEY"):
        monkeypatch.delenv(name, raising=False)
    main(["--database-url", url, "db", "upgrade"])
    score_world(url, world)
    with SandboxServer(world) as server:
        base = server.base_url
        env = {
            "GITHUB_TOKEN": world.tokens["github"][0],
            "SLACK_BOT_TOKEN": world.tokens["slack"][0],
            "UPKEEP_GITHUB__API_URL": f"{base}/api/v3",
            "UPKEEP_SLACK__API_URL": f"{base}/slack/api/",
            "UPKEEP_SLACK__CHANNEL": channel_id(world.slack_channel),
            "UPKEEP_ISSUES__REPOSITORY": world.ospo_repo,
            "UPKEEP_ISSUES__SECONDS_BETWEEN_REQUESTS": "0",
            "UPKEEP_ISSUES__SECONDS_BETWEEN_WRITES": "0",
        }
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        capsys.readouterr()

        main(["--database-url", url, "deliver", "--dry-run"])
        dry = capsys.readouterr().out
        assert outbox(url) == [] and world.slack_messages == [] and not world.issues.get(world.ospo_repo)
        assert dry.count("would post to Slack") == 1
        planned = dry.count("would open or update the issue marked <!-- upkeep:gap:")
        assert planned >= 1 and "<!-- upkeep:dashboard -->" in dry
        main(["--database-url", url, "deliver", "--dry-run", "--json"])
        plan = DeliveryPlan.model_validate_json(capsys.readouterr().out)
        assert plan.enqueued == len(plan.planned) == planned + 2  # the gaps, the dashboard and the digest
        assert dry.startswith("\n".join(plan.planned))  # the same plan as the text, one entry per change
        assert outbox(url) == []

        main(["--database-url", url, "deliver"])
        assert (
            capsys.readouterr().out.strip().endswith(f"delivered {planned + 2}, failed 0, waiting 0, dead 0, skipped 0")
        )
        assert len(world.slack_messages) == 1 and len(world.issues[world.ospo_repo]) == planned + 1

        main(["--database-url", url, "deliver"])
        assert "enqueued 0, delivered 0" in capsys.readouterr().out
    assert len(world.slack_messages) == 1 and len(world.issues[world.ospo_repo]) == planned + 1
    assert {row.state for row in outbox(url)} == {"delivered"}


def scored_store(tmp_path: Path, world: World) -> Engine:
    """A fresh SQLite store holding one gap snapshot of ``world``."""
    url = f"sqlite:///{tmp_path / 'upkeep.db'}"
    engine = make_engine(url)
    SQLModel.metadata.create_all(engine)
    score_world(url, world)
    return engine


def test_the_digest_tells_no_new_gap_for_an_upstream_that_was_renamed(tmp_path: Path) -> None:
    world = generate_world(7, "small")
    engine = scored_store(tmp_path, world)
    settings = Settings(slack={"channel": "C0UPKEEP"})
    first = load_delivery_inputs(engine, settings, world.now)
    assert first.digest is not None and first.digest.new_gaps
    top = first.digest.new_gaps[0]
    old = top + "-old"
    with session_scope(engine) as session:  # the last digest named the gap by its old name
        state = {"gaps": [old if g == top else g for g in first.digest.new_gaps], "given_total": 0.0}
        session.add(
            OutboxRow(
                key="digest-1",
                channel="slack",
                target="C0UPKEEP",
                subject="digest",
                action="post",
                content_hash="x",
                payload={"state": state},
                state="delivered",
                delivered_at=world.now,
            )
        )
    unaware = load_delivery_inputs(engine, settings, world.now + timedelta(days=7))
    assert unaware.digest is not None and unaware.digest.new_gaps == (top,)
    with session_scope(engine) as session:
        save_renames(session, {old: top}, source="test", now=world.now)
    later = load_delivery_inputs(engine, settings, world.now + timedelta(days=7))
    assert later.digest is not None
    assert later.digest.new_gaps == () and later.digest.closed_gaps == ()
    engine.dispose()


def test_a_gap_issue_names_its_credible_exit_and_a_broken_exits_file_only_drops_them(tmp_path: Path) -> None:
    world = generate_world(7, "small")
    engine = scored_store(tmp_path, world)
    top, fork = world.under_invested[:2]
    exits = tmp_path / "exits.toml"
    exits.write_text(
        f'[exits."{top}"]\nfork = "{fork}"\nwhy = "an open fork, @everyone <b>"\nsource = "https://x.example"\n'
    )
    inputs = load_delivery_inputs(engine, Settings(signals={"exits_file": str(exits)}), world.now)
    assert inputs.gap_issues is not None and inputs.missing == []
    issue = next(i for i in inputs.gap_issues if i.upstream == top)
    assert issue.credible_exit is not None and issue.credible_exit.startswith(f"{fork}: an open fork")
    assert "already used by" in issue.credible_exit
    body = render_gap_issue(issue, organisation="acme", labels=())["body"]
    section = body.split("### Credible exit", 1)[1].split("###", 1)[0]
    assert fork in section and "@everyone" not in section and "<b>" not in section  # escaped, pings no one
    assert all(i.credible_exit is None for i in inputs.gap_issues if i.upstream != top)

    exits.write_text("[exits\n")
    broken = load_delivery_inputs(engine, Settings(signals={"exits_file": str(exits)}), world.now)
    assert broken.gap_issues is not None and all(i.credible_exit is None for i in broken.gap_issues)
    assert len(broken.missing) == 1 and "exits.toml: not TOML" in broken.missing[0]
    engine.dispose()
