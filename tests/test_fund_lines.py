"""Planned money written as a line in an issue (issue 14): ``fund: 5000 USD`` in a gap issue or
``fund HOST/OWNER/NAME: 5000 USD`` on the dashboard is recorded on the next run with who wrote it and
when; a newer plan replaces an older one; a line that cannot be read is shown back with its reason."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from github import Auth, Github
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.config import Settings
from bot.decisions.fund_lines import fund_currencies, parse_fund_lines
from bot.decisions.ledger import decision_ledger
from bot.deliver.issue_bodies import DASHBOARD_MARKER, END_MARKER, find_marker, gap_marker, outside_section
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

KNOWN = {"github.com/acme/lib": "github.com/acme/lib"}
CURRENCIES = fund_currencies(Settings())


def parse(text: str, upstream: str | None = "github.com/acme/lib") -> tuple[list[Any], list[str]]:
    plans, bad = parse_fund_lines(text, upstream=upstream, known=KNOWN.get, currencies=CURRENCIES)
    return [(p.upstream, p.amount, p.currency, p.note) for p in plans], [b.reason for b in bad]


def test_fund_lines_are_read_and_bad_ones_say_why() -> None:
    assert parse("Some notes.\nfund: 5000 USD\n- Fund: 1,250.50 eur for the CI work\n") == (
        [("github.com/acme/lib", 5000.0, "USD", ""), ("github.com/acme/lib", 1250.5, "EUR", "for the CI work")],
        [],
    )
    assert parse("fund github.com/acme/lib: 300 GBP", upstream=None)[0] == [("github.com/acme/lib", 300.0, "GBP", "")]
    plans, reasons = parse("fund: 300 XYZ\nfund: lots USD\nfund github.com/x/y: 1 USD\nfunding is great: 5 USD\n")
    assert plans == []
    assert reasons[0] == "XYZ is a currency upkeep cannot convert (add it to funding.rates)"
    assert reasons[1].startswith("not an amount and a currency")
    assert reasons[2] == "upkeep knows no upstream 'github.com/x/y' (write HOST/OWNER/NAME)"
    assert len(reasons) == 3  # "funding is great" is not a fund line
    assert parse("fund: 10 USD", upstream=None)[1] == [
        "names no upstream: write `fund HOST/OWNER/NAME: AMOUNT CURRENCY`"
    ]
    rates = Settings(funding={"rates": {"XYZ": 0.5}})
    assert parse_fund_lines("fund: 3 xyz", upstream="a/b/c", known=KNOWN.get, currencies=fund_currencies(rates))[0]


def test_outside_section_leaves_out_upkeeps_own_text() -> None:
    body = f"fund: 1 USD\n{gap_marker('github.com/a/b')}\nfund: 2 USD\n{END_MARKER}\nfund: 3 USD"
    assert outside_section(body) == "fund: 1 USD\n\nfund: 3 USD"


@pytest.fixture
def sandbox(engine: Engine) -> Iterator[Sandbox]:
    world = generate_world(7, "small")
    with SandboxServer(world) as server:
        yield make_sandbox(world, engine, server.base_url)


def run(sandbox: Sandbox, inputs: WorldInputs) -> DeliverySummary:
    sinks, _ = build_sinks(sandbox.settings, sandbox.secrets)
    now = datetime.now(UTC) + sandbox.world.clock_shift
    return deliver(
        sandbox.engine, sandbox.settings, inputs.digest, inputs.gap_issues, sinks=sinks, now=now, echo=lambda _: None
    )


def edit(sandbox: Sandbox, login: str, issue: Issue, body: str) -> None:
    token = person_token(sandbox.world, login)
    client = Github(auth=Auth.Token(token), base_url=sandbox.settings.github.api_url.rstrip("/"), retry=None)
    client.get_repo(sandbox.world.ospo_repo).get_issue(issue.number).edit(body=body)


def by_marker(sandbox: Sandbox, marker: str) -> Issue:
    (issue,) = [i for i in sandbox.issues if find_marker(i.body) == marker]
    return issue


def test_fund_lines_in_issues_record_planned_money_and_bad_lines_come_back(sandbox: Sandbox) -> None:
    inputs = world_inputs(sandbox.world)
    run(sandbox, inputs)
    ranked = [g.upstream for g in select_gap_issues(inputs.gap_issues, gap_definition(sandbox.settings))]
    top, second, third = ranked[:3]
    first_issue, second_issue = by_marker(sandbox, gap_marker(top)), by_marker(sandbox, gap_marker(second))
    dashboard = by_marker(sandbox, DASHBOARD_MARKER)

    edit(sandbox, "alice", first_issue, f"fund: 5000 USD for the CI work\n\n{first_issue.body}")
    edit(sandbox, "bob", second_issue, f"{second_issue.body}\n\nfund: 300 XYZ")
    edit(
        sandbox,
        "bob",
        dashboard,
        f"fund {third}: 2,500 USD\nfund github.com/nobody/nothing: 10 USD\n\n{dashboard.body}",
    )
    edited_at = {i.number: i.updated_at for i in (first_issue, dashboard)}

    summary = run(sandbox, inputs)
    assert summary.failed == 0
    with Session(sandbox.engine) as session:
        (plan,) = load_decisions(session, upstream=top)
        (other,) = load_decisions(session, upstream=third)
        assert load_decisions(session, upstream=second) == []
    assert (plan.kind, plan.amount, plan.currency, plan.note) == ("fund", 5000.0, "USD", "for the CI work")
    assert (plan.actor, plan.source, plan.source_ref) == (
        "alice",
        "issue",
        f"{sandbox.world.ospo_repo}#{first_issue.number}",
    )
    assert plan.decided_at == edited_at[first_issue.number].replace(microsecond=0)
    assert (other.kind, other.amount, other.actor, other.source) == ("fund", 2500.0, "bob", "dashboard")
    assert "Decision:** fund 5,000 USD by @\u200dalice" in first_issue.body  # the mention broken

    # Bad lines come back in upkeep's section of the issue they were written in, with the reason.
    section = second_issue.body.split(gap_marker(second), 1)[1]
    assert "Fund lines upkeep could not read" in section
    assert "XYZ is a currency upkeep cannot convert" in section
    assert "upkeep knows no upstream" in dashboard.body.split(DASHBOARD_MARKER, 1)[1]
    assert second_issue.body.endswith("fund: 300 XYZ")  # the person's line stays where they wrote it

    run(sandbox, inputs)  # read again: nothing new
    with Session(sandbox.engine) as session:
        assert len(load_decisions(session, upstream=top)) == 1

    edit(sandbox, "bob", first_issue, first_issue.body.replace("fund: 5000 USD", "fund: 7000 USD"))
    run(sandbox, inputs)
    with Session(sandbox.engine) as session:
        older, newer = load_decisions(session, upstream=top)
    assert (older.amount, newer.amount, newer.actor) == (5000.0, 7000.0, "bob")

    now = datetime.now(UTC)
    ledger = decision_ledger(sandbox.engine, sandbox.settings, until=now, upstream=top)
    assert [(line.planned, line.replaced) for line in ledger.lines] == [(7000.0, False), (5000.0, True)]
    assert ledger.planned_total == 7000.0
    data = build_review(sandbox.engine, sandbox.settings, quarter=Quarter.of(now.date()), now=now)
    review = render_template(DEFAULT_TEMPLATES_DIR, MARKDOWN_TEMPLATE, review_context(data), markdown=True)
    decisions = review.split("## Decisions\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in decisions.splitlines() if line.startswith("| ") and top in line]
    assert len(rows) == 2 and "(replaced)" in rows[1] and "(replaced)" not in rows[0]
    assert "7,000" in rows[0]


def test_a_plan_that_cannot_be_converted_is_left_out_with_the_real_reason(engine: Engine) -> None:
    from bot.decisions.interface import Decision
    from bot.store.decisions import save_decisions

    at = datetime(2026, 11, 2, tzinfo=UTC)
    save_decisions(
        engine, [Decision("github.com/a/b", "fund", "alice", at, "cli", amount=900.0, currency="JPY")], now=at
    )
    ledger = decision_ledger(engine, Settings(), until=datetime(2026, 12, 1, tzinfo=UTC))
    assert (ledger.no_rate, ledger.planned_total) == (("JPY",), 0.0)
    assert ledger.no_rate_reasons == (
        "JPY: no rate for JPY: no ECB reference rates in the store and none in funding.rates",
    )


def test_the_digest_of_the_run_that_reads_a_decision_tells_it_with_a_link(sandbox: Sandbox) -> None:
    inputs = world_inputs(sandbox.world)
    run(sandbox, inputs)
    top = select_gap_issues(inputs.gap_issues, gap_definition(sandbox.settings))[0].upstream
    issue = by_marker(sandbox, gap_marker(top))
    (message,) = sandbox.world.slack_messages
    assert "Decisions (" not in json.dumps(message.blocks)
    edit(sandbox, "alice", issue, f"fund: 1200 USD\n\n{issue.body}")

    run(sandbox, inputs)  # the same week: the digest is edited in place and now tells the decision
    (message,) = sandbox.world.slack_messages
    changes = json.dumps(message.blocks)
    assert "Decisions (1): " in changes
    assert f"/issues/{issue.number}|{top}>: fund 1,200 USD by @" in changes


def test_a_decision_taken_before_the_last_digest_but_recorded_after_it_is_news(engine: Engine) -> None:
    from bot.decisions.interface import Decision
    from bot.store.decisions import load_decisions_recorded_since, save_decisions

    digest_at = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    ticked = Decision("github.com/a/b", "snooze", "bob", digest_at.replace(hour=8), "dashboard", "acme/ospo#9")
    save_decisions(engine, [ticked], now=digest_at.replace(hour=10))  # read by the run after the digest
    with Session(engine) as session:
        assert [d.kind for d in load_decisions_recorded_since(session, since=digest_at)] == ["snooze"]
        assert load_decisions_recorded_since(session, since=digest_at.replace(hour=11)) == []


def test_a_bad_line_shown_back_cannot_end_upkeeps_section_or_ping() -> None:
    from bot.deliver.interface import GapIssueData
    from bot.deliver.issue_bodies import render_gap_issue

    data = GapIssueData("github.com/a/b", "b", 0.1, 0.1, 0.0, 0.1, 1.0, 0.1, 500.0, 0.0)
    hostile = f"fund: {END_MARKER} @alice [x](https://evil.example) USD: not an amount and a currency"
    body = render_gap_issue(data, organisation="acme", labels=(), unread=[hostile])["body"]
    assert body.count(END_MARKER) == 1 and body.rstrip().endswith(END_MARKER)
    assert "@alice" not in body and "](https://evil" not in body
    assert "Fund lines upkeep could not read" in body
