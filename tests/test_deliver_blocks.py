"""The digest stays inside Slack's Block Kit limits, from an empty week to the large world."""

from __future__ import annotations

from dataclasses import replace

import pytest
from slack_sdk import WebClient
from slack_sdk.models.blocks import Block
from sqlalchemy.engine import Engine

from bot.config import Settings
from bot.deliver.interface import DigestData, DigestGap, LicenceDrift
from bot.deliver.issue_bodies import (
    BODY_CAP,
    BODY_LIMIT,
    find_marker,
    gap_marker,
    render_dashboard,
    render_gap_issue,
)
from bot.deliver.slack import SlackSink
from bot.deliver.slack_blocks import (
    HEADER_TEXT_LIMIT,
    MAX_BLOCKS,
    SECTION_TEXT_LIMIT,
    TEXT_BUDGET,
    SlackMessage,
    build_digest,
)
from bot.deliver.stage import deliver, select_gap_issues
from bot.gaps.under_invested import UnderInvestment
from bot.sandbox.generate import generate_world
from bot.sandbox.model import World
from bot.sandbox.server import Router, SandboxServer
from bot.sandbox.slack import SlackService, channel_id
from tests.deliver_world import WorldInputs, world_inputs


@pytest.fixture(scope="module")
def large_world() -> World:
    return generate_world(7, "large")  # the slowest part of the deliver tests: made once


@pytest.fixture(scope="module")
def large_inputs(large_world: World) -> WorldInputs:
    return world_inputs(large_world)


@pytest.fixture(scope="module")
def large_digest(large_inputs: WorldInputs) -> DigestData:
    return large_inputs.digest


def assert_within_limits(message: SlackMessage) -> None:
    assert 0 < len(message.blocks) <= MAX_BLOCKS
    for raw in message.blocks:
        Block.parse(raw).validate_json()  # slack-sdk's own validators (section 3,000, header 150, ...)
        if raw["type"] == "section":
            assert 0 < len(raw["text"]["text"]) <= SECTION_TEXT_LIMIT
        if raw["type"] == "header":
            assert len(raw["text"]["text"]) <= HEADER_TEXT_LIMIT
    assert message.text_size() <= TEXT_BUDGET
    assert 0 < len(message.text) <= 3000


def test_large_world_digest_fits_and_says_how_many_are_left_out(large_digest: DigestData) -> None:
    assert len(large_digest.top_gaps) > 1000 and len(large_digest.new_gaps) > 1000
    message = build_digest(large_digest, top_gaps=40)
    assert_within_limits(message)
    text = "\n".join(b["text"]["text"] for b in message.blocks if b["type"] == "section")
    assert f"and {len(large_digest.new_gaps) - 10} more" in text
    context = [e["text"] for b in message.blocks if b["type"] == "context" for e in b["elements"]]
    assert any(f"{len(large_digest.top_gaps) - 40} more upstreams" in t for t in context)
    assert large_digest.top_gaps[0].upstream in text


def test_huge_names_are_cut_not_refused(large_digest: DigestData) -> None:
    long = "x" * 5000
    digest = replace(
        large_digest,
        organisation=long,
        period=long,
        top_gaps=tuple(DigestGap(f"{long}/{i}", 0.1, 1.0, 10.0) for i in range(40)),
        new_gaps=tuple(long for _ in range(30)),
        licence_drift=tuple(LicenceDrift(long, long, long) for _ in range(30)),
    )
    message = build_digest(digest, top_gaps=40)
    assert_within_limits(message)
    assert any("more" in b["text"]["text"] for b in message.blocks if b["type"] == "section")


def test_quiet_week_has_no_gap_list_and_links_the_review() -> None:
    digest = DigestData(
        "acme", "2026-W48", "USD", 3, 10, 2000.0, 0.0, 0.0, review_url="https://ospo.example/q3?a=1&b=2"
    )
    message = build_digest(digest)
    assert_within_limits(message)
    assert not any("Top gaps" in b.get("text", {}).get("text", "") for b in message.blocks)
    review = [e["text"] for b in message.blocks if b["type"] == "context" for e in b["elements"]]
    assert review == ["<https://ospo.example/q3?a=1&amp;b=2|Latest quarterly review>"]


def test_review_url_that_could_break_out_is_dropped() -> None:
    digest = DigestData("acme", "W", "USD", 1, 1, 1.0, 0.0, 0.0, review_url="https://x|<!channel>")
    assert "channel" not in str(build_digest(digest).blocks)


def test_large_world_digest_is_accepted_by_the_sandbox_slack(
    large_world: World, large_digest: DigestData, engine: Engine
) -> None:
    settings = Settings(slack={"api_url": "", "channel": channel_id(large_world.slack_channel), "top_gaps": 40})
    lines: list[str] = []
    with SandboxServer(router=Router(large_world, services=[SlackService(large_world)])) as server:
        base = server.base_url
        client = WebClient(token=large_world.tokens["slack"][0], base_url=f"{base}/slack/api/")
        summary = deliver(
            engine,
            settings,
            large_digest,
            None,
            sinks={"slack": SlackSink(client)},
            now=large_world.now,
            echo=lines.append,
        )
    assert (summary.delivered, summary.failed) == (1, 0), lines
    (message,) = large_world.slack_messages
    assert message.blocks is not None and len(message.blocks) <= MAX_BLOCKS


def test_large_world_dashboard_and_a_huge_issue_stay_under_githubs_body_limit(large_inputs: WorldInputs) -> None:
    settings = Settings()
    selected = select_gap_issues(large_inputs.gap_issues, UnderInvestment(0.0, 0.0))
    assert len(selected) > 1000
    dashboard = render_dashboard(selected, organisation="acme", settings=settings.issues, issued=100)["body"]
    assert len(dashboard) <= BODY_CAP < BODY_LIMIT
    shown = dashboard.count("\n| ") - 2  # table rows below the header and its separator
    assert f"…and {len(selected) - shown} more upstreams." in dashboard

    huge = replace(
        selected[0],
        packages=tuple(f"npm/{'x' * 200}-{i}" for i in range(5000)),
        internal_repos=tuple(f"acme/{'y' * 100}-{i}" for i in range(3000)),
    )
    body = render_gap_issue(huge, organisation="acme", labels=["upkeep"])["body"]
    assert len(body) <= BODY_CAP and "- …and " in body
    assert find_marker(body) == gap_marker(huge.upstream)
