"""The largest digest still fits every kind's limits, and what does not fit is counted, never dropped."""

from __future__ import annotations

import json
import re

import httpx

from bot.deliver.interface import DigestData, DigestGap
from bot.notify.content import build_document
from bot.notify.matrix import render_matrix
from bot.notify.mattermost import MESSAGE_LIMIT, render_mattermost
from bot.notify.teams import PAYLOAD_LIMIT, render_teams
from bot.sandbox.matrix import EVENT_LIMIT
from bot.sandbox.teams import TeamsWorkflowService, card_errors
from tests.sandbox_handmade import make_world, route

GAPS = 300


def biggest_digest() -> DigestData:
    # GitHub's longest owner (39) and repository (100) names, full of characters every format escapes
    gaps = tuple(
        DigestGap(f"github.com/{'o_' * 19}o/{'n*' * 48}{i:04d}", 0.1, 3.0, 123456.0, usage_share=0.2)
        for i in range(GAPS)
    )
    names = tuple(g.upstream for g in gaps)
    return DigestData("acme", "2026-W48", "EUR", GAPS, 9999, 1e6, 5e5, 1e4, gaps, names, names)


def counted(text: str) -> int:
    found = re.search(r"and (\d+) more upstreams with a gap", text)
    return int(found.group(1)) if found else 0


def test_teams_card_stays_under_28_kb_and_counts_what_it_leaves_out() -> None:
    payload = render_teams(build_document(biggest_digest(), key="k", top_gaps=40))
    message = payload["message"]
    assert len(json.dumps(message).encode()) <= PAYLOAD_LIMIT
    card = message["attachments"][0]["content"]
    assert card_errors(card) == []
    texts = [block["text"] for block in card["body"]]
    listed = next(t for t in texts if t.startswith("1. "))
    shown = len(listed.split("\n\n"))
    assert 0 < shown < 40
    assert shown + max(counted(t) for t in texts) == GAPS
    world = make_world()
    world.tokens["teams"] = ["sig"]
    answer = httpx.Client(transport=httpx.MockTransport(route([TeamsWorkflowService(world)]))).post(
        "http://sandbox.test/teams/workflows/x?sig=sig", json=message
    )
    assert answer.status_code == 202


def test_mattermost_and_matrix_stay_under_their_limits() -> None:
    document = build_document(biggest_digest(), key="k", top_gaps=40)
    post = render_mattermost(document)
    assert len(post["message"]) <= MESSAGE_LIMIT
    attachment = post["props"]["attachments"][0]["text"]
    assert len(re.findall(r"^\d+\. ", attachment, re.MULTILINE)) + counted(attachment) == GAPS
    content = render_matrix(document)["content"]
    assert len(json.dumps(content).encode()) + 512 <= EVENT_LIMIT
    assert counted(content["body"]) == GAPS - 40
