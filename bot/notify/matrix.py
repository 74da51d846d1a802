"""Matrix: the digest as an ``m.room.message`` (``m.notice``) with an HTML ``formatted_body`` and a plain ``body``.

Sent with ``PUT /_matrix/client/v3/rooms/{roomId}/send/m.room.message/{txnId}`` whose transaction
id is derived from the outbox key, so a retried request is the same event, not a second one
(the homeserver answers it with the first ``event_id``). Servers keep transaction ids only for a
while (Synapse: about 30 minutes), so a retry after a crash first reads the room back
(``GET …/messages``, newest first) for an event from our own user carrying the key
(``org.upkeep.key``) and adopts it. ``m.mentions`` is empty: the digest pings nobody.
"""

from __future__ import annotations

import html
import logging
from datetime import timedelta
from typing import Any
from urllib.parse import quote

import httpx

from bot.deliver.interface import Channel, Delivery, DeliveryError
from bot.notify.content import DigestDocument, bullet, html_link, render
from bot.notify.escape import matrix_html, matrix_plain
from bot.notify.interface import PREVIEW, short_id

log = logging.getLogger(__name__)

KEY_FIELD = "org.upkeep.key"
API = "/_matrix/client/v3"
LOOKBACK = timedelta(hours=1)  # read back to this long before the item was queued
PAGES = 20
PERMANENT_CODES = frozenset(
    {"M_FORBIDDEN", "M_UNKNOWN_TOKEN", "M_MISSING_TOKEN", "M_TOO_LARGE", "M_BAD_JSON", "M_NOT_JSON"}
)


def render_matrix(document: DigestDocument) -> dict[str, Any]:
    """The event content: ``m.notice`` (bots post notices), plain and HTML bodies, no mentions, the key."""
    plain = [matrix_plain(document.title), ""]
    markup = [f"<h4>{matrix_html(document.title)}</h4>"]
    for part in render(document, matrix_plain, lambda s: s):
        if part.title:
            plain.append(part.title)
        plain += [bullet(part.style, i) + line for i, line in enumerate(part.lines, 1)]
        if part.note:
            plain.append(part.note)
        plain.append("")
    for part in render(document, matrix_html, lambda s: f"<strong>{s}</strong>", html_link):
        if part.title:
            markup.append(f"<p><strong>{part.title}</strong></p>")
        if part.style == "paragraph":
            markup.append("<p>" + "<br>".join(part.lines) + "</p>")
        else:
            tag = "ol" if part.style == "numbered" else "ul"
            markup.append(f"<{tag}>" + "".join(f"<li>{line}</li>" for line in part.lines) + f"</{tag}>")
        if part.note:
            markup.append(f"<p>{part.note}</p>")
    if document.review_url:
        plain.append(f"Latest quarterly review: {document.review_url}")
        markup.append(f'<p><a href="{html.escape(document.review_url)}">Latest quarterly review</a></p>')
    body = "\n".join(plain).strip()
    content = {
        "msgtype": "m.notice",
        "body": body,
        "format": "org.matrix.custom.html",
        "formatted_body": "".join(markup),
        "m.mentions": {},
        KEY_FIELD: document.key,
    }
    return {"content": content, PREVIEW: body}


class MatrixNotifier:
    """Sends to one room with one access token."""

    channel: Channel = "matrix"

    def __init__(self, client: httpx.Client, room_id: str) -> None:
        self._client = client
        self._room = room_id
        self._user: str | None = None

    def deliver(self, item: Delivery, *, maybe_sent: bool) -> str:
        try:
            if maybe_sent:
                found = self.find(item)
                if found:
                    log.info("matrix event found again", extra={"room": self._room, "event_id": found})
                    return found
            txn = "upkeep-" + short_id(item.key)
            url = f"{API}/rooms/{quote(self._room, safe='')}/send/m.room.message/{txn}"
            response = self._client.put(url, json=item.payload["content"])
            event_id = self._check(response).get("event_id")
        except httpx.HTTPError as exc:
            raise DeliveryError(f"matrix {self._room}: {type(exc).__name__}: {exc}") from exc
        if not isinstance(event_id, str) or not event_id:
            raise DeliveryError(f"matrix {self._room}: the send answered without an event_id")
        return event_id

    def _check(self, response: httpx.Response) -> dict[str, Any]:
        try:
            body = response.json()
        except ValueError:
            body = {}
        if response.status_code == 200 and isinstance(body, dict):
            return body
        code = str(body.get("errcode", "")) if isinstance(body, dict) else ""
        error = str(body.get("error", "")) if isinstance(body, dict) else ""
        raise DeliveryError(
            f"matrix {self._room}: HTTP {response.status_code} {code} {error}".rstrip(),
            permanent=code in PERMANENT_CODES or response.status_code in (401, 403),
        )

    def whoami(self) -> str:
        if self._user is None:
            self._user = str(self._check(self._client.get(f"{API}/account/whoami"))["user_id"])
        return self._user

    def find(self, item: Delivery) -> str | None:
        """The id of an event of ours in the room that carries ``item``'s key, looking back from the newest."""
        me = self.whoami()
        oldest_ms = int((item.created_at - LOOKBACK).timestamp() * 1000)
        params: dict[str, Any] = {"dir": "b", "limit": 100}
        for _ in range(PAGES):
            page = self._check(self._client.get(f"{API}/rooms/{quote(self._room, safe='')}/messages", params=params))
            events = page.get("chunk") or []
            for event in events:
                content = event.get("content") or {}
                if event.get("sender") == me and content.get(KEY_FIELD) == item.key:
                    return str(event["event_id"])
            if not events or page.get("end") is None or min(e.get("origin_server_ts", 0) for e in events) < oldest_ms:
                return None
            params["from"] = page["end"]
        return None
