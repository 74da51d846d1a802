"""End to end against the sandbox world: slack-sdk and PyGithub talking to the fake Slack and GitHub.

First delivery, identical rerun, a gap closing and returning, crashes between the remote
write and the outbox update, duplicates, an upstream named to ping everyone. The large world's
digest is sent to the sandbox Slack in test_deliver_blocks (it shares that module's world).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.config import Secrets, Settings
from bot.deliver.issue_bodies import DASHBOARD_MARKER, find_marker, gap_marker
from bot.deliver.sinks import build_sinks
from bot.deliver.slack import EVENT_TYPE
from bot.deliver.stage import DeliverySummary, deliver, gap_definition, select_gap_issues
from bot.sandbox.generate import generate_world
from bot.sandbox.model import Issue, World
from bot.sandbox.server import Knobs, Router, SandboxServer
from bot.sandbox.slack import channel_id
from bot.store.engine import session_scope
from bot.store.renames import save_renames
from bot.store.tables import OutboxRow
from tests.deliver_world import WorldInputs, world_inputs

EVIL = "<!channel> @everyone [x](http://evil)"


@dataclass
class Sandbox:
    world: World
    settings: Settings
    secrets: Secrets
    engine: Engine
    router: Router | None = None

    @property
    def issues(self) -> list[Issue]:
        return self.world.issues.get(self.world.ospo_repo, [])

    def run(
        self, inputs: WorldInputs | None, *, days: int = 0, digest_only: bool = False, **kwargs: Any
    ) -> DeliverySummary:
        sinks, _ = build_sinks(self.settings, self.secrets)  # a new process each run: nothing cached
        return deliver(
            self.engine,
            self.settings,
            inputs.digest if inputs else None,
            inputs.gap_issues if inputs and not digest_only else None,
            sinks=sinks,
            now=self.world.now + timedelta(days=days),
            echo=lambda _: None,
            **kwargs,
        )

    def snapshot(self) -> list[tuple[Any, ...]]:
        issues = [(i.number, i.title, i.body, i.state, i.updated_at, len(i.comments)) for i in self.issues]
        return [*issues, *((m.ts, m.text) for m in self.world.slack_messages)]


def make_sandbox(world: World, engine: Engine, base: str, **slack: Any) -> Sandbox:
    settings = Settings(
        organisation="acme",
        github={"api_url": f"{base}/api/v3"},
        slack={"api_url": f"{base}/slack/api/", "channel": channel_id(world.slack_channel), **slack},
        issues={
            "repository": world.ospo_repo,
            "max_open": 6,  # the top six of the world's gaps: enough to show everything, quick to run
            "seconds_between_requests": 0,
            "seconds_between_writes": 0,
        },
    )
    secrets = Secrets(
        github_token=SecretStr(world.tokens["github"][0]), slack_bot_token=SecretStr(world.tokens["slack"][0])
    )
    return Sandbox(world, settings, secrets, engine)


@pytest.fixture
def sandbox(engine: Engine) -> Iterator[Sandbox]:
    world = generate_world(7, "small")
    with SandboxServer(world) as server:
        sandbox = make_sandbox(world, engine, server.base_url)
        sandbox.router = server.router
        yield sandbox


def open_by_marker(sandbox: Sandbox) -> dict[str, list[Issue]]:
    found: dict[str, list[Issue]] = {}
    for issue in sandbox.issues:
        if issue.state == "open":
            found.setdefault(find_marker(issue.body) or "", []).append(issue)
    return found


def test_first_delivery_then_identical_rerun_changes_nothing(sandbox: Sandbox) -> None:
    inputs = world_inputs(sandbox.world)
    over = select_gap_issues(inputs.gap_issues, gap_definition(sandbox.settings))
    expected = over[: sandbox.settings.issues.max_open]
    assert len(over) > len(expected) == 6  # the world's under-invested upstreams cross the threshold

    first = sandbox.run(inputs)
    assert (first.failed, first.dead, first.delivered) == (0, 0, len(expected) + 2)
    markers = open_by_marker(sandbox)
    assert set(markers) == {gap_marker(g.upstream) for g in expected} | {DASHBOARD_MARKER}
    assert all(len(issues) == 1 and issues[0].labels == ["upkeep"] for issues in markers.values())
    (message,) = sandbox.world.slack_messages
    assert message.channel == sandbox.settings.slack.channel and message.blocks
    assert message.metadata is not None and message.metadata["event_type"] == EVENT_TYPE
    with Session(sandbox.engine) as session:
        delivered = {row.subject: row.remote_id for row in session.exec(select(OutboxRow))}
    assert delivered["digest"] == message.ts
    assert delivered[f"gap:{expected[0].upstream}"] == str(markers[gap_marker(expected[0].upstream)][0].number)

    before = sandbox.snapshot()
    assert sandbox.router is not None
    sandbox.router.reset_stats()
    again = sandbox.run(inputs, days=1)
    assert (again.enqueued, again.delivered, again.failed) == (0, 0, 0)
    assert sandbox.snapshot() == before  # no post, no PATCH (updated_at unchanged), no comment
    calls = [(r.method, r.service) for r in sandbox.router.log]
    assert calls == [("GET", "/api/v3")] * 2  # the repository and one listing (the duplicate sweep)


def test_gap_that_closes_closes_its_issue_and_reopens_when_it_returns(sandbox: Sandbox) -> None:
    inputs = world_inputs(sandbox.world)
    sandbox.run(inputs)
    over = select_gap_issues(inputs.gap_issues, gap_definition(sandbox.settings))
    top, seventh = over[0].upstream, over[6].upstream
    number = open_by_marker(sandbox)[gap_marker(top)][0].number
    assert gap_marker(seventh) not in open_by_marker(sandbox)  # beyond max_open

    resolved = world_inputs(sandbox.world, resolved=[top])
    summary = sandbox.run(resolved, days=1)
    assert summary.enqueued == 4  # close the top one, open the seventh in its place, the dashboard, the digest
    assert gap_marker(seventh) in open_by_marker(sandbox)
    issue = next(i for i in sandbox.issues if i.number == number)
    assert (issue.state, issue.state_reason) == ("closed", "completed")
    assert "resolved" in issue.comments[-1].body
    dashboard = open_by_marker(sandbox)[DASHBOARD_MARKER][0]
    assert top not in dashboard.body
    assert len(sandbox.world.slack_messages) == 1  # same week: one digest, edited in place
    assert sandbox.run(resolved, days=2).enqueued == 0

    sandbox.run(inputs, days=3)
    assert (issue.state, issue.state_reason) == ("open", "reopened")
    assert [i.number for i in open_by_marker(sandbox)[gap_marker(top)]] == [number]


class Crash(Exception):
    pass


@pytest.mark.parametrize("channel", ["github", "slack"])
def test_crash_after_the_remote_write_then_rerun_leaves_exactly_one_each(sandbox: Sandbox, channel: str) -> None:
    inputs = world_inputs(sandbox.world)

    def crash(row: OutboxRow, remote_id: str) -> None:
        if row.channel == channel:
            raise Crash(f"{row.key} posted as {remote_id}, not recorded")

    with pytest.raises(Crash):
        sandbox.run(inputs, after_send=crash)
    posted = len(sandbox.world.slack_messages)
    created = len(sandbox.issues)
    assert (posted, created) == ((0, 1) if channel == "github" else (1, len(sandbox.issues)))

    summary = sandbox.run(inputs)
    assert summary.failed == 0
    assert len(sandbox.world.slack_messages) == 1
    markers = open_by_marker(sandbox)
    assert all(len(issues) == 1 for issues in markers.values())
    assert len(sandbox.issues) == len(markers)
    with Session(sandbox.engine) as session:
        rows = list(session.exec(select(OutboxRow)))
    assert {row.state for row in rows} == {"delivered"}
    digest = next(row for row in rows if row.subject == "digest")
    assert digest.remote_id == sandbox.world.slack_messages[0].ts
    assert sandbox.run(inputs, days=1).delivered == 0


def test_duplicate_open_issues_are_closed_down_to_one(sandbox: Sandbox) -> None:
    inputs = world_inputs(sandbox.world)
    sandbox.run(inputs)
    top = select_gap_issues(inputs.gap_issues, gap_definition(sandbox.settings))[0]
    original = open_by_marker(sandbox)[gap_marker(top.upstream)][0]
    copy = Issue(
        number=max(i.number for i in sandbox.issues) + 1,
        title="copy",
        body=original.body,
        state="open",
        labels=["upkeep"],
        user="upkeep-bot",
        created_at=original.created_at,
        updated_at=original.updated_at,
    )
    sandbox.issues.append(copy)
    assert sandbox.run(inputs, days=1).enqueued == 0  # nothing due: the sweep finds the copy anyway
    assert [i.number for i in open_by_marker(sandbox)[gap_marker(top.upstream)]] == [original.number]
    assert (copy.state, copy.state_reason) == ("closed", "not_planned")
    assert f"#{original.number}" in copy.comments[-1].body


def renamed_inputs(inputs: WorldInputs, old: str, new: str) -> WorldInputs:
    """The same scores, with ``old`` now known by its new name (as the signals stage records it)."""
    gaps = tuple(replace(g, upstream=new) if g.upstream == old else g for g in inputs.gap_issues)
    return replace(inputs, gap_issues=gaps)


def test_a_renamed_upstream_keeps_its_issue_under_the_new_name(sandbox: Sandbox) -> None:
    inputs = world_inputs(sandbox.world)
    sandbox.run(inputs)
    old = select_gap_issues(inputs.gap_issues, gap_definition(sandbox.settings))[0].upstream
    new = old + "-ng"
    number = open_by_marker(sandbox)[gap_marker(old)][0].number
    with session_scope(sandbox.engine) as session:
        save_renames(session, {old: new}, source="test", now=sandbox.world.now)

    summary = sandbox.run(renamed_inputs(inputs, old, new), days=1)

    assert summary.enqueued == 2  # the issue re-marked under its new name, and the dashboard
    markers = open_by_marker(sandbox)
    assert gap_marker(old) not in markers
    assert [i.number for i in markers[gap_marker(new)]] == [number]  # the same issue: not closed, not copied
    issue = markers[gap_marker(new)][0]
    assert issue.state_reason is None and issue.comments == []
    assert sandbox.run(renamed_inputs(inputs, old, new), days=2).enqueued == 0  # and it stays so


def test_an_open_copy_under_the_new_name_goes_as_a_duplicate_of_the_older_issue(sandbox: Sandbox) -> None:
    inputs = world_inputs(sandbox.world)
    sandbox.run(inputs)
    old = select_gap_issues(inputs.gap_issues, gap_definition(sandbox.settings))[0].upstream
    new = old + "-ng"
    original = open_by_marker(sandbox)[gap_marker(old)][0]
    copy = replace(
        original,
        number=max(i.number for i in sandbox.issues) + 1,
        body=original.body.replace(gap_marker(old), gap_marker(new), 1),
        comments=[],
    )  # opened by hand under the new name, say
    sandbox.issues.append(copy)
    with session_scope(sandbox.engine) as session:
        save_renames(session, {old: new}, source="test", now=sandbox.world.now)

    sandbox.run(renamed_inputs(inputs, old, new), days=1)

    assert [i.number for i in open_by_marker(sandbox)[gap_marker(new)]] == [original.number]
    assert (copy.state, copy.state_reason) == ("closed", "not_planned")
    assert f"#{original.number}" in copy.comments[-1].body


def test_upstream_named_to_ping_everyone_reaches_no_one(sandbox: Sandbox) -> None:
    base = world_inputs(sandbox.world)
    top = select_gap_issues(base.gap_issues, gap_definition(sandbox.settings))[0].upstream
    inputs = world_inputs(sandbox.world, rename={top: EVIL})
    sandbox.run(inputs)
    (message,) = sandbox.world.slack_messages
    posted = message.text + str(message.blocks)
    assert "&lt;!channel&gt;" in posted  # it is there, as text
    for forbidden in ("<!channel>", "<!", "<@", "<http://evil", "@everyone", "http://evil"):
        assert forbidden not in posted
    issue = open_by_marker(sandbox)[gap_marker(top)][0]
    for text in (issue.title, issue.body):
        for forbidden in ("<!channel>", "@everyone", "http://evil"):
            assert forbidden not in text
    assert "](http" not in issue.body  # titles render no links; bodies would
    assert "everyone" in issue.title


def test_slack_error_is_retried_later_with_its_code(engine: Engine) -> None:
    world = generate_world(7, "small")
    with SandboxServer(world) as server:
        base = server.base_url
        sandbox = make_sandbox(world, engine, base, channel="C0NOSUCH")
        first = sandbox.run(world_inputs(world), digest_only=True)
        assert (first.failed, first.waiting) == (1, 1)
        with Session(engine) as session:
            (row,) = session.exec(select(OutboxRow))
        assert row.state == "failed" and "channel_not_found" in (row.last_error or "")
        assert sandbox.run(None).failed == 0  # backing off


def test_webhook_posts_once_and_refuses_to_guess_after_a_crash(engine: Engine) -> None:
    world = generate_world(7, "small")
    with SandboxServer(world) as server:
        base = server.base_url
        sandbox = make_sandbox(world, engine, base)
        sandbox.secrets = Secrets(slack_webhook_url=SecretStr(f"{base}/slack/api/webhooks/T0/B0/secret"))

        def crash(row: OutboxRow, remote_id: str) -> None:
            raise Crash(remote_id)

        with pytest.raises(Crash):
            sandbox.run(world_inputs(world), after_send=crash, digest_only=True)
        summary = sandbox.run(None)
    assert len(world.slack_messages) == 1
    assert summary.dead == 1  # reported, not posted twice


def test_faults_after_the_server_acted_never_duplicate(engine: Engine) -> None:
    """Resets and cut bodies arrive after Slack or GitHub stored the write; reruns adopt, never repeat."""
    world = generate_world(7, "small")
    knobs = Knobs(
        fault_rate=0.25,
        fault_kinds=("reset", "truncated", "500", "429"),
        fault_prefixes=("/slack/api", "/api/v3"),
        retry_after_seconds=0,
        fault_seed=11,
    )
    inputs = world_inputs(world)
    with SandboxServer(world, knobs=knobs) as server:
        sandbox = make_sandbox(world, engine, server.base_url)
        patient = sandbox.settings.issues.model_copy(update={"max_attempts": 12})
        sandbox.settings = sandbox.settings.model_copy(update={"issues": patient})
        for day in range(12):
            summary = sandbox.run(inputs, days=day)
            with Session(engine) as session:
                if {row.state for row in session.exec(select(OutboxRow))} == {"delivered"}:
                    break
        faults = Counter(f"{r.service} {r.method} {r.fault}" for r in server.router.log if r.fault)
    assert summary.dead == 0 and sum(faults.values()) >= 1, faults
    assert len(world.slack_messages) == 1
    markers = open_by_marker(sandbox)
    assert len(markers) == 7 and all(len(issues) == 1 for issues in markers.values())
    assert len(sandbox.issues) == 7  # no copy was ever created, not even one closed later


class LosingRouter(Router):
    """Drops the connection after the first post to Slack and the first issue creation were stored."""

    def _fault(self, knobs: Knobs, prefix: str, url_key: str, nth: int) -> str | None:
        first_write = nth == 0 and url_key.startswith("POST")
        return "reset" if first_write and ("chat.postMessage" in url_key or url_key.endswith("/issues")) else None


def test_answer_lost_after_the_write_is_adopted_not_repeated(engine: Engine) -> None:
    world = generate_world(7, "small")
    inputs = world_inputs(world)
    with SandboxServer(router=LosingRouter(world)) as server:
        sandbox = make_sandbox(world, engine, server.base_url)
        first = sandbox.run(inputs)
        assert (first.failed, len(world.slack_messages), len(sandbox.issues)) == (1, 1, 7)
        with Session(engine) as session:
            digest = session.exec(select(OutboxRow).where(OutboxRow.subject == "digest")).one()
        assert digest.remote_id == world.slack_messages[0].ts  # found in the history in the same run
        second = sandbox.run(inputs, days=1)  # after the backoff: the marker finds the issue
    # the issue, then the dashboard now linking it, then the week's digest edited in place to link it too
    assert (second.delivered, second.failed) == (3, 0)
    assert len(world.slack_messages) == 1 and len(sandbox.issues) == 7
    blocks = json.dumps(world.slack_messages[0].blocks)
    shown = {gap.upstream for gap in inputs.digest.top_gaps[:10]}
    linked = [i for i in sandbox.issues if (find_marker(i.body) or "").removeprefix("<!-- upkeep:gap:")[:-4] in shown]
    assert linked and all(f"/issues/{issue.number}|" in blocks for issue in linked)


class PatchFailingRouter(Router):
    """While ``failing``, every PATCH answers 500 before reaching GitHub (retries included)."""

    failing = False

    def _fault(self, knobs: Knobs, prefix: str, url_key: str, nth: int) -> str | None:
        return "500" if self.failing and url_key.startswith("PATCH") else None


def test_close_interrupted_after_its_comment_does_not_comment_twice(engine: Engine) -> None:
    world = generate_world(7, "small")
    inputs = world_inputs(world)
    router = PatchFailingRouter(world)
    with SandboxServer(router=router) as server:
        sandbox = make_sandbox(world, engine, server.base_url)
        sandbox.run(inputs)
        top = select_gap_issues(inputs.gap_issues, gap_definition(sandbox.settings))[0].upstream
        issue = open_by_marker(sandbox)[gap_marker(top)][0]
        resolved = world_inputs(world, resolved=[top])
        router.failing = True
        assert sandbox.run(resolved, days=1).failed == 2  # the close (after its comment) and the dashboard
        assert issue.state == "open" and len(issue.comments) == 1
        router.failing = False
        assert sandbox.run(resolved, days=2).delivered == 2
    assert issue.state == "closed" and len(issue.comments) == 1
