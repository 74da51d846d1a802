"""Decisions that stick (issue 14), against the sandbox's GitHub with people acting through their own tokens:
closing as not planned is a decline that holds while the numbers change; a ticked snooze hides an upstream
for ``decisions.snooze_days`` and brings it back once the sandbox's clock has moved past them."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from github import Auth, Github
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.decisions.dashboard import control_marker
from bot.deliver.issue_bodies import DASHBOARD_MARKER, find_marker, gap_marker
from bot.deliver.sinks import build_sinks
from bot.deliver.stage import DeliverySummary, deliver, gap_definition, select_gap_issues
from bot.report.build import build_review
from bot.report.quarters import Quarter
from bot.report.review import DEFAULT_TEMPLATES_DIR, MARKDOWN_TEMPLATE, render_template, review_context
from bot.sandbox.generate import generate_world
from bot.sandbox.github_rest import person_token
from bot.sandbox.model import Issue
from bot.sandbox.server import SandboxServer
from bot.store.decisions import load_decisions
from tests.deliver_world import WorldInputs, world_inputs
from tests.test_deliver_sandbox import Sandbox, make_sandbox


@pytest.fixture
def sandbox(engine: Engine) -> Iterator[Sandbox]:
    world = generate_world(7, "small")
    with SandboxServer(world) as server:
        yield make_sandbox(world, engine, server.base_url)


def run(sandbox: Sandbox, inputs: WorldInputs, **kwargs: Any) -> DeliverySummary:
    """One run on the sandbox's clock (the wall clock moved by ``clock_shift``), as `upkeep run` would."""
    sinks, _ = build_sinks(sandbox.settings, sandbox.secrets)
    now = datetime.now(UTC) + sandbox.world.clock_shift
    return deliver(
        sandbox.engine, sandbox.settings, inputs.digest, inputs.gap_issues, sinks=sinks, now=now, echo=lambda _: None
    )


def grown(inputs: WorldInputs, factor: float) -> WorldInputs:
    """The same upstreams with every gap and amount ``factor`` times as large (the numbers change)."""
    gaps = tuple(
        replace(g, gap=g.gap * factor, recommended_amount=g.recommended_amount * factor) for g in inputs.gap_issues
    )
    return replace(inputs, gap_issues=gaps)


def person(sandbox: Sandbox, login: str) -> Any:
    token = person_token(sandbox.world, login)
    client = Github(auth=Auth.Token(token), base_url=sandbox.settings.github.api_url.rstrip("/"), retry=None)
    return client.get_repo(sandbox.world.ospo_repo)


def issue_of(sandbox: Sandbox, marker: str) -> list[Issue]:
    return [i for i in sandbox.issues if find_marker(i.body) == marker]


def test_closed_as_not_planned_stays_closed_over_three_runs_of_changing_numbers(sandbox: Sandbox) -> None:
    inputs = world_inputs(sandbox.world)
    run(sandbox, inputs)
    top = select_gap_issues(inputs.gap_issues, gap_definition(sandbox.settings))[0].upstream
    (issue,) = issue_of(sandbox, gap_marker(top))
    person(sandbox, "alice").get_issue(issue.number).edit(state="closed", state_reason="not_planned")
    count = len(sandbox.issues)

    for factor in (1.1, 1.3, 1.2):  # three runs in which the upstream's numbers change
        summary = run(sandbox, grown(inputs, factor))
        assert summary.failed == 0
        assert (issue.state, issue.state_reason) == ("closed", "not_planned")
        assert len(sandbox.issues) == count + 1  # the next upstream in line takes the freed slot; no copy
        assert issue_of(sandbox, gap_marker(top)) == [issue]
        assert not [c for c in issue.comments if c.user == "upkeep-bot"]  # nothing said on a person's close

    with Session(sandbox.engine) as session:
        (decision,) = load_decisions(session, upstream=top)
    assert (decision.kind, decision.actor, decision.source) == ("decline", "alice", "issue")
    assert decision.source_ref == f"{sandbox.world.ospo_repo}#{issue.number}"
    assert decision.gap == pytest.approx(
        inputs.gap_issues[[g.upstream for g in inputs.gap_issues].index(top)].gap * 1.1
    )
    (dashboard,) = issue_of(sandbox, DASHBOARD_MARKER)
    assert f"declined by @alice on {decision.decided_at:%Y-%m-%d}" in dashboard.body

    now = datetime.now(UTC)
    data = build_review(sandbox.engine, sandbox.settings, quarter=Quarter.of(now.date()), now=now)
    review = render_template(DEFAULT_TEMPLATES_DIR, MARKDOWN_TEMPLATE, review_context(data), markdown=True)
    section = review.split("## Decisions\n", 1)[1].split("\n## ", 1)[0]
    (row,) = [line for line in section.splitlines() if line.startswith("| ") and "alice" in line]
    assert f"| declined | alice | {decision.decided_at:%Y-%m-%d} | — |" in row


def test_ticked_snooze_hides_the_upstream_for_ninety_days_and_it_comes_back(sandbox: Sandbox) -> None:
    inputs = world_inputs(sandbox.world)
    run(sandbox, inputs)
    top = select_gap_issues(inputs.gap_issues, gap_definition(sandbox.settings))[0].upstream
    (issue,) = issue_of(sandbox, gap_marker(top))
    (dashboard,) = issue_of(sandbox, DASHBOARD_MARKER)
    box = control_marker("snooze", top)
    assert f"- [ ] {box}" in dashboard.body
    ospo = person(sandbox, "bob")
    ospo.get_issue(dashboard.number).edit(body=dashboard.body.replace(f"- [ ] {box}", f"- [x] {box}"))

    run(sandbox, inputs)
    with Session(sandbox.engine) as session:
        (decision,) = load_decisions(session, upstream=top)
    assert (decision.kind, decision.actor, decision.source) == ("snooze", "bob", "dashboard")
    assert (issue.state, issue.state_reason) == ("closed", "not_planned")  # hidden
    assert "snoozed by @bob" in issue.comments[-1].body
    assert f"- [ ] {box}" in dashboard.body  # the box is cleared, the decision shown
    assert "snoozed by @bob" in dashboard.body

    sandbox.world.clock_shift = timedelta(days=89)
    run(sandbox, grown(inputs, 1.5))
    assert issue.state == "closed"  # still hidden after 89 days, though the numbers changed

    sandbox.world.clock_shift = timedelta(days=91)
    run(sandbox, inputs)
    assert (issue.state, issue.state_reason) == ("open", "reopened")  # back, the same issue
    assert "the snooze ended" in issue.comments[-1].body
    assert issue_of(sandbox, gap_marker(top)) == [issue]
    with Session(sandbox.engine) as session:
        assert len(load_decisions(session, upstream=top)) == 1  # the tick was read once, not again


def test_a_done_comes_back_only_after_expiry_and_material_growth_and_says_why(sandbox: Sandbox) -> None:
    inputs = world_inputs(sandbox.world)
    run(sandbox, inputs)
    top = select_gap_issues(inputs.gap_issues, gap_definition(sandbox.settings))[0].upstream
    (issue,) = issue_of(sandbox, gap_marker(top))
    person(sandbox, "alice").get_issue(issue.number).edit(state="closed", state_reason="completed")
    run(sandbox, inputs)
    with Session(sandbox.engine) as session:
        (decision,) = load_decisions(session, upstream=top)
    assert (decision.kind, decision.actor) == ("done", "alice")

    rules = sandbox.settings.decisions
    sandbox.world.clock_shift = timedelta(days=rules.expiry_days - 1)
    run(sandbox, grown(inputs, 3.0))
    assert issue.state == "closed"  # before expiry, however much the gap grew

    sandbox.world.clock_shift = timedelta(days=rules.expiry_days + 1)
    run(sandbox, grown(inputs, 1 + rules.material_growth / 2))
    assert issue.state == "closed"  # expired, but the gap has not grown materially

    run(sandbox, grown(inputs, 1 + rules.material_growth * 2))
    assert (issue.state, issue.state_reason) == ("open", "reopened")  # the same issue, not a copy
    assert issue_of(sandbox, gap_marker(top)) == [issue]
    why = issue.comments[-1].body
    assert why.startswith("upkeep reopens this: done by @alice") and "that decision expired on" in why
    assert "and the gap grew from" in why
