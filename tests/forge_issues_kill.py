"""What the GitLab and Forgejo issue kill tests share: the world, one delivery, the kill -9 run and the read-back.

Each forge's test module names its :class:`Forge` (the ``[[forges]]`` name ``[issues].forge`` points at,
the sandbox's key for its issues and the sink class the settings must choose) and keeps only what is
its own; the rules asserted here are the same for every forge, as the sink's reconciliation is.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlmodel import Session, select

from bot.config import Secrets, Settings, load_settings
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


@dataclass(frozen=True)
class Forge:
    name: str  # the ``[[forges]]`` entry ``[issues].forge`` names
    kind: str  # the sandbox's key prefix for the repository's issues
    sink: type


def overrides(forge: Forge, base_url: str, world: World, tmp_path: Path) -> dict[str, Any]:
    return {
        **sandbox_settings(base_url, world),
        "database.url": f"sqlite:///{tmp_path / 'upkeep.db'}",
        "issues.forge": forge.name,
        "issues.repository": f"{world.orgs[0]}/ospo",
    }


def issues(forge: Forge, world: World) -> list[Issue]:
    return world.issues.get(f"{forge.kind}:{world.orgs[0]}/ospo", [])


def one_per_marker(forge: Forge, world: World) -> Counter[str | None]:
    markers = Counter(find_marker(issue.body) for issue in issues(forge, world))
    assert markers and None not in markers
    assert set(markers.values()) == {1}, [m for m, n in markers.items() if n > 1]
    return markers


def deliver_gaps(forge: Forge, settings: Settings, secrets: Secrets, now: datetime) -> Any:
    engine = make_engine(settings.database_url())
    upgrade(engine)
    sinks, notes = build_sinks(settings, secrets)
    assert isinstance(sinks["github"], forge.sink), notes
    gaps = world_inputs(generate_world(7, "small")).gap_issues
    summary = deliver(engine, settings, None, gaps, sinks=sinks, now=now, echo=lambda _: None)
    engine.dispose()
    return summary


def settings_and_secrets(forge: Forge, base_url: str, world: World, tmp_path: Path) -> tuple[Settings, Secrets]:
    settings = load_settings(None, overrides=overrides(forge, base_url, world, tmp_path), search=False)
    return settings, Secrets.from_environment(sandbox_environment(world), names=settings.notify_secret_names())


def gap_issues_go_once(forge: Forge, tmp_path: Path, shown: Callable[[str, World], str]) -> None:
    """One issue per gap, labelled, a second run changes nothing, and the digest links issue 2 where ``shown`` says."""
    world = generate_world(7, "small")
    now = datetime.now(UTC)
    with SandboxServer(world) as server:
        settings, secrets = settings_and_secrets(forge, server.base_url, world, tmp_path)
        first = deliver_gaps(forge, settings, secrets, now)
        assert first.failed == 0 and first.enqueued > 1
        markers = one_per_marker(forge, world)
        assert "<!-- upkeep:dashboard -->" in markers and any("upkeep:gap:" in m for m in markers if m)
        assert all(issue.labels == ["upkeep"] for issue in issues(forge, world))
        again = deliver_gaps(forge, settings, secrets, now)
        assert again.enqueued == 0 and again.failed == 0
        assert one_per_marker(forge, world) == markers
        assert issue_url(settings, 2) == shown(server.base_url, world)


def sigkill_after_a_write_leaves_one_issue_per_gap(forge: Forge, tmp_path: Path) -> None:
    """Kill the delivering child after the forge accepted its third write; the rerun adopts what it made."""
    world = generate_world(7, "small")
    now = datetime.now(UTC)
    with SandboxServer(world) as server:
        settings_overrides = overrides(forge, server.base_url, world, tmp_path)
        marker = tmp_path / "sent"
        setup = {
            "overrides": settings_overrides,
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
        made = len(issues(forge, world))
        assert made == 3  # the third issue exists on the forge; the outbox does not know it yet

        settings = load_settings(None, overrides=settings_overrides, search=False)
        engine = make_engine(settings.database_url())
        with Session(engine) as session:
            rows = session.exec(select(OutboxRow).where(OutboxRow.channel == "github")).all()
        killed = [r for r in rows if r.state == "pending" and r.attempts == 1]
        assert len(killed) == 1  # sent, not recorded: the worst moment
        secrets = Secrets.from_environment(sandbox_environment(world), names=settings.notify_secret_names())
        rerun = deliver_gaps(forge, settings, secrets, now)
        assert rerun.failed == 0
        markers = one_per_marker(forge, world)
        with Session(engine) as session:
            rows = session.exec(select(OutboxRow).where(OutboxRow.channel == "github")).all()
        assert rows and all(row.state == "delivered" for row in rows)
        assert len(markers) == len({r.subject for r in rows})  # one issue per subject, none twice
        adopted = next(r for r in rows if r.key == killed[0].key)
        assert adopted.remote_id == marker.read_text()  # the issue the killed run made, adopted
        third = deliver_gaps(forge, settings, secrets, now)
        assert third.enqueued == 0 and third.failed == 0 and one_per_marker(forge, world) == markers
        engine.dispose()


def a_person_closing_an_issue_is_their_decision(forge: Forge, tmp_path: Path) -> None:
    """A person closes a gap issue on the forge: it is read back as ``done`` by them, and stays closed."""
    from bot.sandbox.model import IssueEvent
    from bot.store.decisions import load_decisions

    world = generate_world(7, "small")
    now = datetime.now(UTC)
    with SandboxServer(world) as server:
        settings, secrets = settings_and_secrets(forge, server.base_url, world, tmp_path)
        deliver_gaps(forge, settings, secrets, now)
        issue = next(
            i for i in issues(forge, world) if "upkeep:gap:" in (find_marker(i.body) or "") and i.state == "open"
        )
        upstream = (find_marker(issue.body) or "").split("upkeep:gap:", 1)[1].removesuffix(" -->")
        closed_at = now.replace(microsecond=0)
        issue.state, issue.closed_at = "closed", closed_at  # a person closes it on the forge
        issue.events.append(IssueEvent(len(issue.events) + 1, "closed", "jdoe", closed_at))
        deliver_gaps(forge, settings, secrets, now)
        engine = make_engine(settings.database_url())
        with Session(engine) as session:
            decisions = load_decisions(session, upstream=upstream)
        engine.dispose()
        assert [(d.kind, d.actor, d.source_ref) for d in decisions] == [
            ("done", "jdoe", f"{world.orgs[0]}/ospo#{issue.number}")
        ]
        assert issue.state == "closed"  # a person's action wins: upkeep does not open it again
