"""Gap issues on a Forgejo repository (``[issues].forge`` naming a Forgejo), exactly once, also under kill -9.

Mirrors tests/test_gitlab_issues_kill.py: a child process (the same ``tests.gitlab_issues_crash_child``,
which delivers to whatever sink the settings choose) delivers the gap issues to the sandbox Forgejo's
``ospo`` repository and is killed with SIGKILL right after Forgejo accepted one write and before the
outbox recorded it. The next run finds the issue by its hidden marker and adopts it: one issue per
gap, every outbox row delivered, and a third run changes nothing. A person's close is read back as
their decision, "not planned" when they labelled it so (Forgejo states no close reason).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import httpx
from sqlmodel import Session, select

from bot.config import Secrets, load_settings
from bot.deliver.forgejo_issues import ForgejoIssueSink
from bot.deliver.issue_bodies import find_marker
from bot.sandbox import SandboxServer, generate_world, sandbox_environment
from bot.sandbox.model import World
from bot.store.engine import make_engine
from bot.store.tables import OutboxRow
from tests.forge_issues_kill import (
    Forge,
    a_person_closing_an_issue_is_their_decision,
    deliver_gaps,
    gap_issues_go_once,
    issues,
    one_per_marker,
    overrides,
    settings_and_secrets,
    sigkill_after_a_write_leaves_one_issue_per_gap,
)

FORGEJO = Forge(name="codeberg", kind="forgejo", sink=ForgejoIssueSink)


def _shown(base_url: str, world: World) -> str:
    """Where Forgejo itself says issue 2 is shown."""
    with httpx.Client(headers={"Authorization": f"token {world.tokens['forgejo'][0]}"}) as client:
        return str(client.get(f"{base_url}/forgejo/api/v1/repos/{world.orgs[0]}/ospo/issues/2").json()["html_url"])


def test_gap_issues_go_to_the_forgejo_repository_once(tmp_path: Path) -> None:
    gap_issues_go_once(FORGEJO, tmp_path, _shown)


def test_sigkill_after_an_issue_write_leaves_one_issue_per_gap(tmp_path: Path) -> None:
    sigkill_after_a_write_leaves_one_issue_per_gap(FORGEJO, tmp_path)


def test_a_person_closing_a_forgejo_issue_is_read_back_as_their_decision(tmp_path: Path) -> None:
    a_person_closing_an_issue_is_their_decision(FORGEJO, tmp_path)


def test_a_close_labelled_not_planned_is_read_back_as_declined(tmp_path: Path) -> None:
    from bot.sandbox.model import IssueEvent
    from bot.store.decisions import load_decisions

    world = generate_world(7, "small")
    now = datetime.now(UTC)
    with SandboxServer(world) as server:
        settings, secrets = settings_and_secrets(FORGEJO, server.base_url, world, tmp_path)
        deliver_gaps(FORGEJO, settings, secrets, now)
        gaps = [i for i in issues(FORGEJO, world) if "upkeep:gap:" in (find_marker(i.body) or "") and i.state == "open"]
        declined, done = gaps[0], gaps[1]
        closed_at = now.replace(microsecond=0)
        for issue in (declined, done):
            issue.state, issue.closed_at = "closed", closed_at
            issue.events.append(IssueEvent(len(issue.events) + 1, "closed", "jdoe", closed_at))
        declined.labels.append("Not Planned")  # Forgejo has no close reason: the label tells
        deliver_gaps(FORGEJO, settings, secrets, now)
        engine = make_engine(settings.database_url())
        found = {}
        with Session(engine) as session:
            for issue in (declined, done):
                upstream = (find_marker(issue.body) or "").split("upkeep:gap:", 1)[1].removesuffix(" -->")
                found[issue.number] = [d.kind for d in load_decisions(session, upstream=upstream)]
        engine.dispose()
        assert found == {declined.number: ["decline"], done.number: ["done"]}


def test_faults_after_forgejo_acted_never_duplicate_an_issue(tmp_path: Path) -> None:
    """Resets and cut bodies arrive after Forgejo stored the write (an issue, a label, a comment); reruns adopt."""
    from datetime import timedelta

    from bot.sandbox import Knobs

    world = generate_world(7, "small")
    now = datetime.now(UTC)
    knobs = Knobs(
        fault_rate=0.25,
        fault_kinds=("reset", "truncated", "500", "429"),
        fault_prefixes=("/forgejo",),
        retry_after_seconds=0,
        fault_seed=5,
    )
    with SandboxServer(world, knobs=knobs) as server:
        faulty = {**overrides(FORGEJO, server.base_url, world, tmp_path), "issues.max_attempts": 20}
        settings = load_settings(None, overrides=faulty, search=False)
        secrets = Secrets.from_environment(sandbox_environment(world), names=settings.notify_secret_names())
        for day in range(15):
            deliver_gaps(FORGEJO, settings, secrets, now + timedelta(days=day))
            engine = make_engine(settings.database_url())
            with Session(engine) as session:
                states = {r.state for r in session.exec(select(OutboxRow).where(OutboxRow.channel == "github"))}
            engine.dispose()
            if states == {"delivered"}:
                break
        faults = [r for r in server.router.log if r.fault in ("reset", "truncated") and r.method == "POST"]
    assert states == {"delivered"}
    assert any(r.path.endswith("/issues") for r in faults)  # an issue was made and its answer lost
    markers = one_per_marker(FORGEJO, world)
    assert len(issues(FORGEJO, world)) == len(markers)  # no copy was ever created, not even one closed later
