"""Gap issues on a GitLab project (``[issues].forge``), exactly once, also under kill -9.

Mirrors the GitHub and notification kill tests: a child process delivers the gap issues to the
sandbox GitLab's OSPO project and is killed with SIGKILL right after GitLab accepted one write and
before the outbox recorded it (the worst moment). The next run finds the issue by its hidden marker
and adopts it: one issue per gap, every outbox row delivered, and a third run changes nothing.
"""

from __future__ import annotations

from pathlib import Path

from bot.deliver.gitlab_issues import GitLabIssueSink
from tests.forge_issues_kill import (
    Forge,
    a_person_closing_an_issue_is_their_decision,
    gap_issues_go_once,
    sigkill_after_a_write_leaves_one_issue_per_gap,
)

GITLAB = Forge(name="gitlab", kind="gitlab", sink=GitLabIssueSink)


def test_gap_issues_go_to_the_gitlab_project_once(tmp_path: Path) -> None:
    gap_issues_go_once(GITLAB, tmp_path, lambda base, world: f"{base}/gitlab/{world.orgs[0]}/ospo/-/issues/2")


def test_sigkill_after_an_issue_write_leaves_one_issue_per_gap(tmp_path: Path) -> None:
    sigkill_after_a_write_leaves_one_issue_per_gap(GITLAB, tmp_path)


def test_a_person_closing_a_gitlab_issue_is_read_back_as_their_decision(tmp_path: Path) -> None:
    a_person_closing_an_issue_is_their_decision(GITLAB, tmp_path)
