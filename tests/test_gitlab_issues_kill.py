"""Gap issues on a GitLab project (``[issues].forge``), exactly once, also under kill -9.

Mirrors the GitHub and notification kill tests: a child process delivers the gap issues to the
sandbox GitLab's OSPO project and is killed with SIGKILL right after GitLab accepted one write and
before the outbox recorded it (the worst moment). The next run finds the issue by its hidden marker
and adopts it: one issue per gap, every outbox row delivered, and a third run changes nothing.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlmodel import Session, select

from bot.config import Secrets, Settings, load_settings
from bot.deliver.gitlab_issues import GitLabIssueSink
from bot.deliver.issue_bodies import find_marker
from bot.deliver.issue_links import issue_url
from bot.deliver.sinks import build_sinks
from bot.deliver.stage import deliver
from bot.sandbox import SandboxServer, generate_world, sandbox_environment, sandbox_settings
from bot.sandbox.model import Issue, World
from bot.store.engine import make_engine, upgrade
from bot.store.tables import OutboxRow
from tests.deliver_world import world_inputs

ROOT = Path(__file__).parent.parent


def _overrides(base_url: str, world: World, tmp_path: Path) -> dict[str, Any]:
    return {
        **sandbox_settings(base_url, world),
        "database.url": f"sqlite:///{tmp_path / 'upkeep.db'}",
        "issues.forge": "gitlab",
        "issues.repository": f"{world.orgs[0]}/ospo",
    }


def _issues(world: World) -> list[Issue]:
    return world.issues.get(f"gitlab:{world.orgs[0]}/ospo", [])


def _one_per_marker(world: World) -> Counter[str | None]:
    markers = Counter(find_marker(issue.body) for issue in _issues(world))
    assert markers and None not in markers
    assert set(markers.values()) == {1}, [m for m, n in markers.items() if n > 1]
    return markers


def _deliver(settings: Settings, secrets: Secrets, world: World, now: datetime) -> Any:
    engine = make_engine(settings.database_url())
    upgrade(engine)
    sinks, notes = build_sinks(settings, secrets)
    assert isinstance(sinks["github"], GitLabIssueSink), notes
    gaps = world_inputs(generate_world(7, "small")).gap_issues
    summary = deliver(engine, settings, None, gaps, sinks=sinks, now=now, echo=lambda _: None)
    engine.dispose()
    return summary


def test_gap_issues_go_to_the_gitlab_project_once(tmp_path: Path) -> None:
    world = generate_world(7, "small")
    now = datetime.now(UTC)
    with SandboxServer(world) as server:
        settings = load_settings(None, overrides=_overrides(server.base_url, world, tmp_path), search=False)
        secrets = Secrets.from_environment(sandbox_environment(world), names=settings.notify_secret_names())
        first = _deliver(settings, secrets, world, now)
        assert first.failed == 0 and first.enqueued > 1
        markers = _one_per_marker(world)
        assert "<!-- upkeep:dashboard -->" in markers and any("upkeep:gap:" in m for m in markers if m)
        assert all(issue.labels == ["upkeep"] for issue in _issues(world))
        again = _deliver(settings, secrets, world, now)
        assert again.enqueued == 0 and again.failed == 0
        assert _one_per_marker(world) == markers
        # the digest links each issue where GitLab shows it
        assert issue_url(settings, 2) == f"{server.base_url}/gitlab/{world.orgs[0]}/ospo/-/issues/2"


def test_sigkill_after_an_issue_write_leaves_one_issue_per_gap(tmp_path: Path) -> None:
    world = generate_world(7, "small")
    now = datetime.now(UTC)
    with SandboxServer(world) as server:
        overrides = _overrides(server.base_url, world, tmp_path)
        marker = tmp_path / "sent"
        setup = {
            "overrides": overrides,
            "environment": sandbox_environment(world),
            "kill_after": 3,
            "marker": str(marker),
            "now": now.isoformat(),
        }
        (tmp_path / "setup.json").write_text(json.dumps(setup, default=list))
        child = subprocess.Popen(
            [sys.executable, "-m", "tests.gitlab_issues_crash_child", str(tmp_path / "setup.json")],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=subprocess.DEVNULL,
            stderr=(tmp_path / "child.log").open("wb"),
        )
        try:
            deadline = time.monotonic() + 120
            while not marker.exists() and child.poll() is None and time.monotonic() < deadline:
                time.sleep(0.05)
            assert marker.exists(), (tmp_path / "child.log").read_text()[-2000:]
            child.send_signal(signal.SIGKILL)
        finally:
            child.kill()
            child.wait(timeout=30)
        assert child.returncode == -signal.SIGKILL
        made = len(_issues(world))
        assert made == 3  # the third issue exists on GitLab; the outbox does not know it yet

        settings = load_settings(None, overrides=overrides, search=False)
        engine = make_engine(settings.database_url())
        with Session(engine) as session:
            rows = session.exec(select(OutboxRow).where(OutboxRow.channel == "github")).all()
        killed = [r for r in rows if r.state == "pending" and r.attempts == 1]
        assert len(killed) == 1  # sent, not recorded: the worst moment
        secrets = Secrets.from_environment(sandbox_environment(world), names=settings.notify_secret_names())
        rerun = _deliver(settings, secrets, world, now)
        assert rerun.failed == 0
        markers = _one_per_marker(world)
        with Session(engine) as session:
            rows = session.exec(select(OutboxRow).where(OutboxRow.channel == "github")).all()
        assert rows and all(row.state == "delivered" for row in rows)
        assert len(markers) == len({r.subject for r in rows})  # one issue per subject, none twice
        adopted = next(r for r in rows if r.key == killed[0].key)
        assert adopted.remote_id == marker.read_text()  # the issue the killed run made, adopted
        third = _deliver(settings, secrets, world, now)
        assert third.enqueued == 0 and third.failed == 0 and _one_per_marker(world) == markers
        engine.dispose()


def test_a_person_closing_a_gitlab_issue_is_read_back_as_their_decision(tmp_path: Path) -> None:
    from bot.sandbox.model import IssueEvent
    from bot.store.decisions import load_decisions

    world = generate_world(7, "small")
    now = datetime.now(UTC)
    with SandboxServer(world) as server:
        settings = load_settings(None, overrides=_overrides(server.base_url, world, tmp_path), search=False)
        secrets = Secrets.from_environment(sandbox_environment(world), names=settings.notify_secret_names())
        _deliver(settings, secrets, world, now)
        issue = next(i for i in _issues(world) if "upkeep:gap:" in (find_marker(i.body) or "") and i.state == "open")
        upstream = (find_marker(issue.body) or "").split("upkeep:gap:", 1)[1].removesuffix(" -->")
        closed_at = now.replace(microsecond=0)
        issue.state, issue.closed_at = "closed", closed_at  # a person closes it on GitLab
        issue.events.append(IssueEvent(len(issue.events) + 1, "closed", "jdoe", closed_at))
        _deliver(settings, secrets, world, now)
        engine = make_engine(settings.database_url())
        with Session(engine) as session:
            decisions = load_decisions(session, upstream=upstream)
        engine.dispose()
        assert [(d.kind, d.actor, d.source_ref) for d in decisions] == [
            ("done", "jdoe", f"{world.orgs[0]}/ospo#{issue.number}")
        ]
        assert issue.state == "closed"  # a person's action wins: upkeep does not open it again
