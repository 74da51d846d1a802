"""Mattermost (API v4): the digest as a Markdown post with a message attachment for the top gaps.

``POST /api/v4/posts`` is not idempotent and is never retried blindly: the post carries the
outbox key in its props (``upkeep_key``), and when an earlier attempt may have posted (a crash,
a lost answer, a 5xx) the sink reads the channel back (``GET /api/v4/channels/{id}/posts?since=``)
for a post by its own user with that key and adopts it. Mentions (``@channel``, ``@all``, ``@here``,
``@user``, ``~channel``), links and HTML in any text are escaped (:mod:`bot.notify.escape`).
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import httpx

from bot.deliver.escape import clip
from bot.deliver.interface import Channel, Delivery, DeliveryError
from bot.notify.content import DigestDocument, fit, markdown_link, more_gaps, render
from bot.notify.escape import mattermost_text
from bot.notify.interface import PREVIEW

log = logging.getLogger(__name__)

KEY_PROP = "upkeep_key"
MESSAGE_LIMIT = 16383  # Mattermost's post message limit (runes)
ATTACHMENT_TEXT_LIMIT = 7000
LOOKBACK = timedelta(hours=1)


def _lines(style: str, lines: list[str]) -> list[str]:
    if style == "numbered":
        return [f"{i}. {line}" for i, line in enumerate(lines, 1)]
    if style == "bullets":
        return [f"- {line}" for line in lines]
    return [line + "  " for line in lines]  # two spaces: a hard line break in Markdown


def render_mattermost(document: DigestDocument) -> dict[str, Any]:
    """The post: Markdown message (headline and changes) and one attachment listing the top gaps."""
    message = [f"#### {mattermost_text(document.title)}", ""]
    attachment_text: list[str] = []
    for part in render(document, mattermost_text, lambda s: f"**{s}**", markdown_link):
        if part.top_gaps:
            shown, left_out = fit(_lines(part.style, part.lines), ATTACHMENT_TEXT_LIMIT - 100)
            note = mattermost_text(more_gaps(left_out + part.hidden)) if left_out else part.note
            attachment_text += shown + ([note] if note else [])
            continue
        if part.title:
            message.append(f"**{part.title}**")
        message += _lines(part.style, part.lines)
        message.append("")
    if document.review_url:
        message.append(f"[Latest quarterly review]({document.review_url})")
    attachments = []
    if attachment_text:
        text = clip("\n".join(attachment_text), ATTACHMENT_TEXT_LIMIT)
        attachments.append({"fallback": "Top gaps", "color": "#d97706", "title": "Top gaps", "text": text})
    body = clip("\n".join(message).strip(), MESSAGE_LIMIT)
    props = {"attachments": attachments, KEY_PROP: document.key}
    preview = body + ("\n\nTop gaps\n" + attachments[0]["text"] if attachments else "")
    return {"message": body, "props": props, PREVIEW: preview}


class MattermostNotifier:
    """Posts to one channel as one bot or user (a personal access token or a bot token).

    ``post_client`` must not retry (a retried POST can post twice); ``client`` reads and may retry.
    """

    channel: Channel = "mattermost"

    def __init__(self, client: httpx.Client, channel_id: str, *, post_client: httpx.Client | None = None) -> None:
        self._client = client
        self._post_client = post_client or client
        self._channel_id = channel_id
        self._user: str | None = None

    def deliver(self, item: Delivery, *, maybe_sent: bool) -> str:
        try:
            if maybe_sent:
                found = self.find(item)
                if found:
                    log.info("mattermost post found again", extra={"channel": self._channel_id, "post_id": found})
                    return found
            return self._post(item)
        except httpx.HTTPError as exc:
            raise DeliveryError(f"mattermost {self._channel_id}: {type(exc).__name__}: {exc}") from exc

    def _post(self, item: Delivery) -> str:
        body = {"channel_id": self._channel_id, "message": item.payload["message"], "props": item.payload["props"]}
        try:
            response = self._post_client.post("/api/v4/posts", json=body)
        except httpx.TransportError:  # the answer was lost; the post may be there
            found = self.find(item)
            if found:
                return found
            raise
        if response.status_code >= 500:
            found = self.find(item)
            if found:
                return found
        post = self._check(response, expect=201)
        return str(post["id"])

    def _check(self, response: httpx.Response, *, expect: int = 200) -> dict[str, Any]:
        try:
            body = response.json()
        except ValueError:
            body = {}
        if response.status_code == expect and isinstance(body, dict):
            return body
        detail = body.get("id") or body.get("message") if isinstance(body, dict) else ""
        raise DeliveryError(
            f"mattermost {self._channel_id}: HTTP {response.status_code} {detail or ''}".rstrip(),
            permanent=response.status_code in (400, 401, 403, 404, 413),
        )

    def me(self) -> str:
        if self._user is None:
            self._user = str(self._check(self._client.get("/api/v4/users/me"))["id"])
        return self._user

    def find(self, item: Delivery) -> str | None:
        """The id of a post of ours in the channel whose props carry ``item``'s key, if any."""
        me = self.me()
        since = int((item.created_at - LOOKBACK).timestamp() * 1000)
        page = self._check(self._client.get(f"/api/v4/channels/{self._channel_id}/posts", params={"since": since}))
        posts: dict[str, Any] = page.get("posts") or {}
        for post_id in page.get("order") or list(posts):
            post = posts.get(post_id) or {}
            if post.get("user_id") == me and (post.get("props") or {}).get(KEY_PROP) == item.key:
                return str(post_id)
        return None
