"""The weekly digest as Block Kit, built to stay inside Slack's limits whatever the world's size.

Documented limits: 50 blocks per message, section text 3,000 characters, header text 150
(https://docs.slack.dev/reference/block-kit/blocks). Slack has also refused messages with
about 13,200 characters of block text in total (``msg_blocks_too_long``, slackapi/bolt-js#2509),
so the whole message keeps to :data:`TEXT_BUDGET`. Lists that do not fit end with
"…and N more". The text comes from ``templates/slack/digest.*.j2``; upstream text passes
through :func:`bot.deliver.escape.slack_text` there.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from bot.deliver.escape import clean, clip, slack_text, template_environment
from bot.deliver.interface import DigestData

MAX_BLOCKS = 50
SECTION_TEXT_LIMIT = 3000
HEADER_TEXT_LIMIT = 150
TEXT_BUDGET = 10_000  # all block text together; well under the ~13,200 seen refused
FALLBACK_TEXT_LIMIT = 3000  # notification text; Slack truncates at 40,000 and chat.update refuses 4,000
LIST_NAMES = 10  # names shown per "since the last digest" list
T = TypeVar("T")
_SAFE_URL = re.compile(r"^https?://[^\s<>|]+$")


@dataclass(frozen=True, slots=True)
class SlackMessage:
    """What ``chat.postMessage`` receives: blocks and the plain-text fallback."""

    text: str
    blocks: list[dict[str, Any]]

    def text_size(self) -> int:
        return block_text_size(self.blocks)


def block_text_size(blocks: Sequence[dict[str, Any]]) -> int:
    """Characters of text in ``blocks`` (section, header and context text), as Slack's budget counts them."""
    total = 0
    for block in blocks:
        if "text" in block:
            total += len(block["text"]["text"])
        for element in block.get("elements", ()):
            total += len(element.get("text", ""))
        for item in block.get("fields", ()):
            total += len(item["text"])
    return total


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": clip(text, SECTION_TEXT_LIMIT)}}


def _pack(lines: Sequence[str], *, budget: int, max_blocks: int, more: str) -> list[dict[str, Any]]:
    """Lines packed into as few sections as fit, inside ``budget`` characters and ``max_blocks`` blocks.

    Whatever does not fit is counted in a last ``more`` line (formatted with ``n``).
    """
    reserve = len(more.format(n=len(lines))) + 1
    sections: list[list[str]] = [[]]
    used = 0
    shown = 0
    for line in lines:
        line = clip(line, SECTION_TEXT_LIMIT - reserve - 1)
        current = sections[-1]
        size = sum(len(x) + 1 for x in current) + len(line)
        if used + len(line) + 1 + reserve > budget:
            break
        if size + reserve > SECTION_TEXT_LIMIT:
            if len(sections) >= max_blocks:
                break
            sections.append([])
        sections[-1].append(line)
        used += len(line) + 1
        shown += 1
    if shown < len(lines):
        sections[-1].append(more.format(n=len(lines) - shown))
    return [_section("\n".join(chunk)) for chunk in sections if chunk]


def _limited(names: Sequence[T], count: int = LIST_NAMES) -> tuple[list[T], int]:
    return list(names[:count]), max(0, len(names) - count)


def _linker(links: Mapping[str, str]) -> Callable[[str], str]:
    """An upstream's name as mrkdwn: escaped, and a link to its gap issue when it has one."""

    def link(name: str) -> str:
        url = links.get(name)
        return f"<{url}|{slack_text(name)}>" if url and _SAFE_URL.match(url) else slack_text(name)

    return link


def _decision(line: str) -> tuple[str, str, str]:
    return line.partition(": ")  # DigestData.decisions lines are "HOST/OWNER/NAME: words"


def build_digest(digest: DigestData, *, top_gaps: int = 10) -> SlackMessage:
    """The digest message for ``digest``, within every limit above (checked by :func:`check_limits`).

    Every upstream named links to its gap issue when it has one (``digest.links``).
    """
    env = template_environment()
    link = _linker(digest.links)
    currency = digest.currency
    header = clip(
        clean(
            env.get_template("slack/digest.header.txt.j2").render(
                organisation=clean(digest.organisation), period=clean(digest.period)
            )
        ),
        HEADER_TEXT_LIMIT,
    )
    blocks: list[dict[str, Any]] = [{"type": "header", "text": {"type": "plain_text", "text": header}}]
    headline = env.get_template("slack/digest.headline.mrkdwn.j2").render(
        upstream_count=digest.upstream_count,
        under_invested=len(digest.top_gaps),
        usage_total=digest.usage_total,
        recommended_total=digest.recommended_total,
        yearly_budget=digest.yearly_budget,
        given_total=digest.given_total,
        currency=currency,
    )
    blocks.append(_section(headline.strip()))

    new_gaps, new_more = _limited(digest.new_gaps)
    closed_gaps, closed_more = _limited(digest.closed_gaps)
    drift, drift_more = _limited(digest.licence_drift)
    decisions, decisions_more = _limited(digest.decisions)
    changes = env.get_template("slack/digest.changes.mrkdwn.j2").render(
        new_gaps=[link(name) for name in new_gaps],
        new_gaps_count=len(digest.new_gaps),
        new_gaps_more=new_more,
        closed_gaps=[link(name) for name in closed_gaps],
        closed_gaps_count=len(digest.closed_gaps),
        closed_gaps_more=closed_more,
        drift=drift,
        drift_count=len(digest.licence_drift),
        drift_more=drift_more,
        decisions=[
            link(upstream) + ": " + slack_text(words) for upstream, _, words in (d.partition(": ") for d in decisions)
        ],
        decisions_count=len(digest.decisions),
        decisions_more=decisions_more,
        dashboard=link("dashboard") if "dashboard" in digest.links else None,
        contributions=digest.contributions_since_last,
        money_given=digest.money_given_since_last,
        currency=currency,
    )
    tail: list[dict[str, Any]] = [{"type": "divider"}, _section(changes.strip())]
    if digest.review_url and _SAFE_URL.match(digest.review_url):
        review = env.get_template("slack/digest.review.mrkdwn.j2").render(
            review_url=digest.review_url.replace("&", "&amp;")
        )
        tail.append({"type": "context", "elements": [{"type": "mrkdwn", "text": review.strip()}]})

    gap_template = env.get_template("slack/digest.gap.mrkdwn.j2")
    chosen = digest.top_gaps[:top_gaps]
    lines = [
        gap_template.render(rank=i, gap=gap, name=link(gap.upstream), currency=currency).strip()
        for i, gap in enumerate(chosen, 1)
    ]
    hidden = len(digest.top_gaps) - len(chosen)
    if lines:
        title = _section("*Top gaps*")
        fixed = [*blocks, title, *tail]
        budget = TEXT_BUDGET - block_text_size(fixed)
        gap_blocks = _pack(
            lines,
            budget=budget,
            max_blocks=MAX_BLOCKS - len(fixed) - 1,
            more="…and {n} more" if not hidden else "…and {n} more of these",
        )
        if hidden:
            gap_blocks.append(
                {
                    "type": "context",
                    "elements": [{"type": "mrkdwn", "text": f"…and {hidden} more upstreams with a gap"}],
                }
            )
        blocks += [{"type": "divider"}, title, *gap_blocks]
    blocks += tail

    top, top_more = list(digest.top_gaps[:5]), max(0, len(digest.top_gaps) - 5)
    text = env.get_template("slack/digest.text.j2").render(
        organisation=digest.organisation,
        period=digest.period,
        upstream_count=digest.upstream_count,
        under_invested=len(digest.top_gaps),
        recommended_total=digest.recommended_total,
        given_total=digest.given_total,
        currency=currency,
        top=top,
        top_more=top_more,
        is_material=digest.is_material(),
        new_gaps_count=len(digest.new_gaps),
        closed_gaps_count=len(digest.closed_gaps),
        drift_count=len(digest.licence_drift),
        contributions=digest.contributions_since_last,
        money_given=digest.money_given_since_last,
    )
    message = SlackMessage(text=clip(text.strip(), FALLBACK_TEXT_LIMIT), blocks=blocks)
    check_limits(message)
    return message


def check_limits(message: SlackMessage) -> None:
    """Raise ``ValueError`` naming the limit a message breaks (a bug in the builder, never expected)."""
    if len(message.blocks) > MAX_BLOCKS:
        raise ValueError(f"digest: {len(message.blocks)} blocks, Slack allows {MAX_BLOCKS}")
    for block in message.blocks:
        if block["type"] == "header" and len(block["text"]["text"]) > HEADER_TEXT_LIMIT:
            raise ValueError(f"digest: header text over {HEADER_TEXT_LIMIT} characters")
        if block["type"] == "section" and not 0 < len(block["text"]["text"]) <= SECTION_TEXT_LIMIT:
            raise ValueError(f"digest: section text not within 1..{SECTION_TEXT_LIMIT} characters")
    if message.text_size() > TEXT_BUDGET:
        raise ValueError(f"digest: {message.text_size()} characters of block text, budget is {TEXT_BUDGET}")
    if not message.text or len(message.text) > FALLBACK_TEXT_LIMIT:
        raise ValueError(f"digest: fallback text not within 1..{FALLBACK_TEXT_LIMIT} characters")
