"""Microsoft Teams: the digest as an Adaptive Card (1.5) posted to a Workflows webhook.

A Workflows ("When a Teams webhook request is received") URL takes
``{"type": "message", "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive", …}]}``
and answers 202 with no id, and nothing lets upkeep read the channel back. So Teams delivery is
**at least once**; the risk is narrowed as follows (docs/notifications.md):

* the POST is never retried by the HTTP layer, except when the connection was refused (nothing sent);
* the attempt is on disk before the POST and the delivery right after the 202, so only a crash or a
  lost answer inside that window repeats the card on the next run;
* every card shows the digest's reference (derived from the outbox key), so a repeated card is
  recognisably the same digest, never a second one with other numbers.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

import httpx

from bot.deliver.interface import Channel, Delivery, DeliveryError
from bot.notify.content import DigestDocument, bullet, fit, markdown_link, more_gaps, render
from bot.notify.escape import teams_text
from bot.notify.interface import PREVIEW, short_id

log = logging.getLogger(__name__)
_SIGNATURE = re.compile(r"(?i)([?&](?:sig|code)=)[^&\s\"']+")


class _HideSignature(logging.Filter):
    """httpx logs every request URL; a Workflows URL carries its secret in ``sig``, which must never be logged."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "sig=" in message.lower() or "code=" in message.lower():
            record.msg, record.args = _SIGNATURE.sub(r"\1[redacted]", message), None
        return True


logging.getLogger("httpx").addFilter(_HideSignature())

CARD_TYPE = "application/vnd.microsoft.card.adaptive"
CARD_VERSION = "1.5"
PAYLOAD_LIMIT = 28 * 1024  # Teams refuses messages over about 28 KB
TEXT_BUDGET = 20_000  # characters of card text, leaving room for the card's JSON around it


def reference(key: str) -> str:
    return "ref " + short_id(key, 12)


def render_teams(document: DigestDocument) -> dict[str, Any]:
    """The webhook body: one message with one Adaptive Card."""
    body: list[dict[str, Any]] = [
        {"type": "TextBlock", "text": teams_text(document.title), "size": "Large", "weight": "Bolder", "wrap": True}
    ]
    preview = [document.title, ""]
    for part in render(document, teams_text, lambda s: f"**{s}**", markdown_link):
        if part.title:
            title = {"type": "TextBlock", "text": part.title, "weight": "Bolder", "wrap": True, "spacing": "Medium"}
            body.append(title)
        # Markdown lists need one TextBlock with "\r" line breaks in Teams; numbering is written out instead.
        lines = [bullet(part.style, i).replace("• ", "· ") + line for i, line in enumerate(part.lines, 1)]
        lines, left_out = fit(lines, TEXT_BUDGET // 2 if part.top_gaps else TEXT_BUDGET // 4)
        body.append({"type": "TextBlock", "text": "\n\n".join(lines), "wrap": True})
        note = part.note or ""
        if left_out:  # kept under Teams' message size, counted rather than cut mid-name
            note = (
                teams_text(more_gaps(left_out + part.hidden)) if part.top_gaps else teams_text(f"…and {left_out} more")
            )
        if note:
            body.append({"type": "TextBlock", "text": note, "wrap": True, "isSubtle": True})
    for part in render(document, lambda s: s, lambda s: s):
        preview += [part.title] if part.title else []
        preview += [bullet(part.style, i) + x for i, x in enumerate(part.lines, 1)]
    body.append({"type": "TextBlock", "text": teams_text(reference(document.key)), "isSubtle": True, "size": "Small"})
    card: dict[str, Any] = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": CARD_VERSION,
        "body": body,
    }
    if document.review_url:
        card["actions"] = [{"type": "Action.OpenUrl", "title": "Latest quarterly review", "url": document.review_url}]
    message = {"type": "message", "attachments": [{"contentType": CARD_TYPE, "contentUrl": None, "content": card}]}
    return {"message": message, PREVIEW: "\n".join(preview).strip()}


class TeamsNotifier:
    """Posts to one Workflows webhook URL (the URL is the secret). See the module docstring for the risk."""

    channel: Channel = "teams"

    def __init__(self, client: httpx.Client, webhook_url: str, label: str) -> None:
        self._client = client
        self._url = webhook_url
        self._label = label

    def deliver(self, item: Delivery, *, maybe_sent: bool) -> str:
        message = item.payload["message"]
        size = len(json.dumps(message).encode())
        if size > PAYLOAD_LIMIT:
            raise DeliveryError(f"teams {self._label}: card is {size} bytes, over {PAYLOAD_LIMIT}", permanent=True)
        if maybe_sent:
            log.warning(
                "teams: an earlier attempt may have posted this card and a webhook cannot be read back; "
                "posting again (at least once)",
                extra={"target": self._label, "reference": reference(item.key)},
            )
        try:
            response = self._client.post(self._url, json=message)
        except httpx.ConnectError as exc:  # refused before anything was sent: safe to try again later
            raise DeliveryError(f"teams {self._label}: {type(exc).__name__}") from exc
        except httpx.HTTPError as exc:
            # Never echo the exception text: it may carry the webhook URL, which is the secret.
            raise DeliveryError(f"teams {self._label}: {type(exc).__name__} (the card may have been posted)") from exc
        if response.status_code not in (200, 202):
            raise DeliveryError(
                f"teams {self._label}: HTTP {response.status_code} {response.text[:200]}",
                permanent=response.status_code in (400, 401, 403, 404, 413),
            )
        return "teams:" + reference(item.key).removeprefix("ref ")
