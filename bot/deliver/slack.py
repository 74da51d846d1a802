"""Slack delivery: the digest through the Web API (bot token) or, as a weaker alternative, an incoming webhook.

With a bot token every message carries its outbox key in message metadata
(``event_type`` :data:`EVENT_TYPE`, ``event_payload`` ``{"key": ...}``), so after a crash
between posting and recording, ``conversations.history`` finds the message and its ``ts`` is
adopted instead of posting twice. An incoming webhook returns no ``ts`` and cannot read the
channel, so it cannot tell whether an interrupted attempt posted: such an item is reported
dead rather than risk a duplicate.

``conversations.history`` takes only channel ids, so a configured name (``#ospo``) is resolved to
its id once per sink with ``conversations.list`` (scope ``channels:read``); a name that cannot be
resolved is refused at once with a message saying what to set, never posted to and then
unrecoverable after an interrupted post.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from http.client import HTTPException
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.webhook import WebhookClient

from bot.config import Secrets, Settings
from bot.deliver.interface import Channel, Delivery, DeliveryError

log = logging.getLogger(__name__)

EVENT_TYPE = "upkeep_digest"
#: Slack errors that the same request will meet again (https://docs.slack.dev/reference/methods/chat.postMessage).
PERMANENT_ERRORS = frozenset(
    {"invalid_blocks", "invalid_blocks_format", "msg_blocks_too_long", "msg_too_long", "no_text", "invalid_metadata"}
)
HISTORY_SLACK = timedelta(hours=1)  # look back this far before the item was queued (clock skew)
HISTORY_PAGES = 20
#: A Slack conversation id: public (C), private or multi-person (G), direct (D).
CHANNEL_ID = re.compile(r"[CGD][A-Z0-9]{6,}")
CHANNEL_PAGES = 50
#: ``chat.postMessage`` takes one message a second per channel (https://api.slack.com/docs/rate-limits).
POST_INTERVAL_SECONDS = 1.0


class SlackSink:
    """Posts digest items with ``chat.postMessage`` and finds them again with ``conversations.history``.

    ``client`` (reads) may retry anything. ``post_client`` must not retry after a connection
    error or a 5xx, because Slack may have posted already: instead the sink looks in the
    history at once and adopts what it finds (defaults to ``client`` for tests that pass one).
    """

    channel: Channel = "slack"

    def __init__(
        self,
        client: WebClient,
        *,
        post_client: WebClient | None = None,
        post_interval: float = POST_INTERVAL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._client = client
        self._post_client = post_client or client
        self._ids: dict[str, str] = {}
        self.post_interval = post_interval
        self._clock, self._sleep = clock, sleep
        self._last_post: dict[str, float] = {}  # channel id -> when its last chat.postMessage answered

    def _pace(self, channel: str) -> None:
        """Wait until ``channel``'s last post is ``post_interval`` old: Slack takes one message a second per channel."""
        last = self._last_post.get(channel)
        if last is not None:
            wait = last + self.post_interval - self._clock()
            if wait > 0:
                self._sleep(wait)

    def channel_id(self, target: str) -> str:
        """``target``'s channel id: itself when it is one, else looked up by name once (``conversations.list``)."""
        if CHANNEL_ID.fullmatch(target):
            return target
        if target in self._ids:
            return self._ids[target]
        name = target.lstrip("#")
        cursor: str | None = None
        try:
            for _ in range(CHANNEL_PAGES):
                response = self._client.conversations_list(
                    limit=200, cursor=cursor, exclude_archived=True, types="public_channel,private_channel"
                )
                for channel in response.get("channels") or ():
                    if channel.get("name") == name:
                        self._ids[target] = str(channel["id"])
                        return self._ids[target]
                cursor = (response.get("response_metadata") or {}).get("next_cursor") or None
                if not cursor:
                    break
        except SlackApiError as exc:
            error = str(exc.response.get("error", "unknown_error"))
            raise DeliveryError(
                f"slack.channel {target!r} is a name and Slack refused to list channels ({error}): set "
                "slack.channel to the channel id (C…, in the channel's details), or grant the bot channels:read",
                permanent=error in ("missing_scope", "not_allowed_token_type", "invalid_auth", "not_authed"),
            ) from exc
        raise DeliveryError(
            f"slack.channel {target!r}: no channel of that name is visible to the bot; set slack.channel to the "
            "channel id (C…), and invite the bot to the channel",
            permanent=True,
        )

    def deliver(self, item: Delivery, *, maybe_sent: bool) -> str:
        target = item.target
        try:
            item = replace(item, target=self.channel_id(item.target))
            if item.action == "update":  # the week's digest edited in place (chat.update is idempotent)
                self._post_client.chat_update(
                    channel=item.target,
                    ts=str(item.payload["ts"]),
                    text=item.payload["text"],
                    blocks=item.payload["blocks"],
                )
                return str(item.payload["ts"])
            if maybe_sent:
                found = self.find(item)
                if found:
                    log.info("slack message found again", extra={"channel": target, "ts": found})
                    return found
            return self._post(item)
        except SlackApiError as exc:
            error = str(exc.response.get("error", "unknown_error"))
            raise DeliveryError(f"slack {target}: {error}", permanent=error in PERMANENT_ERRORS) from exc
        except (SlackClientError, OSError, HTTPException) as exc:  # URLError, resets, timeouts, cut bodies
            raise DeliveryError(f"slack {target}: {type(exc).__name__}: {exc}") from exc

    def _post(self, item: Delivery) -> str:
        target = item.target
        self._pace(target)
        try:
            response = self._post_client.chat_postMessage(
                channel=target,
                text=item.payload["text"],
                blocks=item.payload["blocks"],
                metadata={"event_type": EVENT_TYPE, "event_payload": {"key": item.key}},
                unfurl_links=False,
                unfurl_media=False,
                link_names=False,
            )
        except SlackApiError as exc:
            if exc.response.status_code < 500:
                raise
            found = self.find(item)  # a 5xx may come after the post was stored
            if found:
                return found
            raise
        except (OSError, HTTPException):  # the answer was lost, the post may have happened
            found = self.find(item)
            if found:
                log.info("slack post answer lost; message found", extra={"channel": target, "ts": found})
                return found
            raise
        finally:
            self._last_post[target] = self._clock()  # counted from the answer: the post arrived before it
        ts = str(response.get("ts") or "")
        if not ts:
            raise DeliveryError(f"slack {target}: chat.postMessage answered ok without a ts")
        return ts

    def find(self, item: Delivery) -> str | None:
        """The ``ts`` of a message in the channel that carries ``item``'s key in its metadata, if any."""
        oldest = (item.created_at - HISTORY_SLACK).timestamp()
        cursor: str | None = None
        for _ in range(HISTORY_PAGES):
            response = self._client.conversations_history(
                channel=item.target, oldest=f"{oldest:.6f}", include_all_metadata=True, limit=200, cursor=cursor
            )
            for message in response.get("messages") or ():
                metadata: dict[str, Any] = message.get("metadata") or {}
                payload = metadata.get("event_payload") or {}
                if metadata.get("event_type") == EVENT_TYPE and payload.get("key") == item.key:
                    return str(message["ts"])
            cursor = (response.get("response_metadata") or {}).get("next_cursor") or None
            if not cursor:
                return None
        return None


class SlackWebhookSink:
    """Posts through an incoming webhook: one fixed channel, no ``ts``, no way to look back."""

    channel: Channel = "slack"

    def __init__(self, client: WebhookClient) -> None:
        self._client = client

    def deliver(self, item: Delivery, *, maybe_sent: bool) -> str:
        if maybe_sent:
            raise DeliveryError(
                f"slack webhook: {item.key}: an earlier attempt may have posted and a webhook cannot check; "
                "not posting twice (look in the channel, or use a bot token)",
                permanent=True,
            )
        try:
            response = self._client.send(
                text=item.payload["text"], blocks=item.payload["blocks"], unfurl_links=False, unfurl_media=False
            )
        except (SlackClientError, OSError, HTTPException) as exc:
            raise DeliveryError(f"slack webhook: {type(exc).__name__}: {exc}") from exc
        if response.status_code != 200:
            raise DeliveryError(
                f"slack webhook: HTTP {response.status_code}: {response.body[:200]}",
                permanent=response.status_code in (400, 403, 404, 410),
            )
        return "webhook:" + hashlib.sha256(item.key.encode()).hexdigest()[:16]


def retry_handlers(*, posting: bool = False) -> list[Any]:
    """slack-sdk retries only connection errors by default; rate limits and 5xx need their handlers.

    A 429 means Slack did not take the message, so posts retry it too; connection errors and
    5xx are retried only for reads (a post may have gone through: :class:`SlackSink` looks instead).
    """
    if posting:
        return [RateLimitErrorRetryHandler(max_retry_count=3)]
    return [
        ConnectionErrorRetryHandler(max_retry_count=2),
        RateLimitErrorRetryHandler(max_retry_count=3),
        ServerErrorRetryHandler(max_retry_count=2),
    ]


def make_slack_sink(settings: Settings, secrets: Secrets) -> SlackSink | SlackWebhookSink | None:
    """A bot-token sink when ``SLACK_BOT_TOKEN`` is set, else a webhook sink, else None."""
    if secrets.slack_bot_token is not None:
        token = secrets.slack_bot_token.get_secret_value()
        reader, poster = (
            WebClient(
                token=token,
                base_url=settings.slack.api_url,
                timeout=settings.slack.timeout_seconds,
                retry_handlers=retry_handlers(posting=posting),
            )
            for posting in (False, True)
        )
        # one message a second per channel, on the service's clock (compressed in the sandbox)
        interval = POST_INTERVAL_SECONDS / settings.github.time_compression
        return SlackSink(reader, post_client=poster, post_interval=interval)
    if secrets.slack_webhook_url is not None:
        webhook = WebhookClient(
            secrets.slack_webhook_url.get_secret_value(),
            timeout=settings.slack.timeout_seconds,
            retry_handlers=retry_handlers(posting=True),
        )
        return SlackWebhookSink(webhook)
    return None
