"""Gap issues on a GitLab project (``[issues].forge``), exactly once, also under kill -9.

Mirrors the GitHub and notification kill tests: a child process delivers the gap issues to the
sandbox GitLab's OSPO project and is killed with SIGKILL right after GitLab accepted one write and
before the outbox recorded it (the worst moment). The next run finds the issue by its hidden marker
and adopts it: one issue per gap, every outbox row delivered, and a third run changes nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from bot.deliver.gitlab_issues import GitLabIssueSink
from bot.deliver.issue_links import issue_url
from bot.sandbox import SandboxServer, generate_world
from tests.forge_issues_kill import (
    Forge,
    a_person_closing_an_issue_is_their_decision,
    deliver_gaps,
    issues,
    one_per_marker,
    settings_and_secrets,
    sigkill_after_a_write_leaves_one_issue_per_gap,
)

GITLAB = Forge(name="gitlab", kind="gitlab", sink=GitLabIssueSink)


def test_gap_issues_go_to_the_gitlab_project_once(tmp_path: Path) -> None:
    world = generate_world(7, "small")
    now = datetime.now(UTC)
    with SandboxServer(world) as server:
        settings, secrets = settings_and_secrets(GITLAB, server.base_url, world, tmp_path)
        first = deliver_gaps(GITLAB, settings, secrets, now)
        assert first.failed == 0 and first.enqueued > 1
        markers = one_per_marker(GITLAB, world)
        assert "<!-- upkeep:dashboard -->" in markers and any("upkeep:gap:" in m for m in markers if m)
        assert all(issue.labels == ["upkeep"] for issue in issues(GITLAB, world))
        again = deliver_gaps(GITLAB, settings, secrets, now)
        assert again.enqueued == 0 and again.failed == 0
        assert one_per_marker(GITLAB, world) == markers
        # the digest links each issue where GitLab shows it
        assert issue_url(settings, 2) == f"{server.base_url}/gitlab/{world.orgs[0]}/ospo/-/issues/2"


def test_sigkill_after_an_issue_write_leaves_one_issue_per_gap(tmp_path: Path) -> None:
    sigkill_after_a_write_leaves_one_issue_per_gap(GITLAB, tmp_path)


def test_a_person_closing_a_gitlab_issue_is_read_back_as_their_decision(tmp_path: Path) -> None:
    a_person_closing_an_issue_is_their_decision(GITLAB, tmp_path)
