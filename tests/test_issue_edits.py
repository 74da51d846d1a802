"""Issues people can edit (issue 14): the stored number is an issue's identity, upkeep rewrites only its own
section, keeps a person's title and notes, puts back a section a person removed, and never duplicates an
issue whose marker is gone. People act through the sandbox's GitHub with their own token."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest
from github import Auth, Github
from sqlalchemy.engine import Engine

from bot.deliver.issue_bodies import END_MARKER, find_marker, gap_marker, merge_body
from bot.deliver.stage import gap_definition, select_gap_issues
from bot.sandbox.generate import generate_world
from bot.sandbox.github_rest import person_token
from bot.sandbox.server import SandboxServer
from tests.deliver_world import world_inputs
from tests.test_deliver_sandbox import Sandbox, make_sandbox


@pytest.fixture
def sandbox(engine: Engine) -> Iterator[Sandbox]:
    world = generate_world(7, "small")
    with SandboxServer(world) as server:
        sandbox = make_sandbox(world, engine, server.base_url)
        sandbox.router = server.router
        yield sandbox


def as_person(sandbox: Sandbox, login: str) -> Github:
    token = person_token(sandbox.world, login)
    return Github(auth=Auth.Token(token), base_url=sandbox.settings.github.api_url.rstrip("/"), retry=None)


def test_merge_body_keeps_text_around_the_section_and_puts_a_removed_section_back() -> None:
    section = f"{gap_marker('github.com/a/b')}\nnumbers v2\n{END_MARKER}"
    old = f"my note\n\n{gap_marker('github.com/a/b')}\nnumbers v1\n{END_MARKER}\n\nafter"
    assert merge_body(old, section) == f"my note\n\n{section}\n\nafter"
    assert merge_body("only my words", section) == f"only my words\n\n{section}"
    assert merge_body(f"> {gap_marker('github.com/a/b')}\nquoted", section).endswith(section)  # a quote is not ours
    assert find_marker(f"> {gap_marker('github.com/a/b')}") is None


def test_merging_the_same_section_again_changes_nothing() -> None:
    section = f"{gap_marker('github.com/a/b')}\nnumbers\n{END_MARKER}\n"
    once = merge_body(None, section)
    assert merge_body(once, section) == once == section
    with_note = f"{section}\nmy note after it\n"
    assert merge_body(with_note, section) == with_note


def test_retitle_notes_and_removed_marker_survive_an_update_with_no_duplicate(sandbox: Sandbox) -> None:
    inputs = world_inputs(sandbox.world)
    sandbox.run(inputs)
    top, second = (g.upstream for g in select_gap_issues(inputs.gap_issues, gap_definition(sandbox.settings))[:2])
    by_marker = {find_marker(i.body): i for i in sandbox.issues}
    first_issue, second_issue = by_marker[gap_marker(top)], by_marker[gap_marker(second)]
    count = len(sandbox.issues)

    person = as_person(sandbox, "alice").get_repo(sandbox.world.ospo_repo)
    retitled = "Fund this one in Q1 (alice)"
    person.get_issue(first_issue.number).edit(
        title=retitled, body=f"Note from alice: ask finance.\n\n{first_issue.body}\n\nP.S. see the budget sheet."
    )
    person.get_issue(second_issue.number).edit(body="We talked to the maintainers; notes only, no marker.")
    before_first, before_second = first_issue.body, second_issue.body

    # The numbers move (every recommended amount grows), so every issue is due for an update.
    grown = tuple(replace(g, recommended_amount=g.recommended_amount + 500) for g in inputs.gap_issues)
    changed = replace(inputs, gap_issues=grown)
    summary = sandbox.run(changed, days=1)
    assert summary.failed == 0 and summary.delivered > 0

    assert len(sandbox.issues) == count  # no copy for the issue whose marker a person removed
    assert first_issue.title == retitled and first_issue.state == "open"
    assert first_issue.body.startswith("Note from alice: ask finance.\n\n")
    assert first_issue.body.endswith("\n\nP.S. see the budget sheet.")
    assert first_issue.body != before_first and first_issue.body.count(gap_marker(top)) == 1  # numbers rewritten
    assert second_issue.body.startswith("We talked to the maintainers; notes only, no marker.\n\n")
    assert find_marker(second_issue.body) == gap_marker(second) and second_issue.body != before_second
    assert second_issue.state == "open" and second_issue.title.startswith("Under-investment")
    assert sum(1 for i in sandbox.issues if find_marker(i.body) == gap_marker(second)) == 1
    assert sandbox.run(changed, days=2).enqueued == 0  # and it stays so
    assert first_issue.title == retitled
