"""The sandbox's Slack Web API: the methods upkeep posts with, Slack's limits and error codes.

Served under ``/slack/api`` (slack-sdk reaches it with ``WebClient(base_url=f"{sandbox}/slack/api/")``):
``auth.test``, ``chat.postMessage``, ``chat.update``, ``conversations.history`` and the
``files_upload_v2`` flow (``files.getUploadURLExternal``, a POST of the bytes to the returned
``upload_url`` under ``/slack/api/_upload/{file_id}``, ``files.completeUploadExternal``).
Arguments are read from the query string, form bodies and JSON bodies alike, as Slack does.

Limits are enforced with Slack's codes (HTTP 200, ``{"ok": false, "error": ...}``): more than 50
blocks, a section text over 3,000 characters, more than 10 section fields or one over 2,000, or a
header over 150 give ``invalid_blocks``; more than 12,000 characters of block text in total give
``msg_blocks_too_long``; ``chat.update`` text over 4,000 gives ``msg_too_long``; neither text nor
blocks gives ``no_text``; an unknown channel gives ``channel_not_found``. A missing token gives
``not_authed``, a wrong one ``invalid_auth``. With ``per_channel_rate=True`` a second message in the
same channel within a second answers 429 ``ratelimited`` with ``Retry-After: 1`` (Slack's "special
tier" for chat.postMessage); off by default.

Channels: the world's ``slack_channel`` (default ``upkeep``) plus ``general``. Posting takes an id,
a name or ``#name``, as Slack's ``chat.postMessage`` does; ``conversations.history`` and
``chat.update`` take only the id (a name is ``channel_not_found``, as on Slack), and
``conversations.list`` (cursor-paged) maps names to ids. Accepted messages are appended to
``world.slack_messages`` (under a lock) with monotonic timestamps ``f"{int(world.now) + n}.{n:06d}"``,
so tests read exactly what was posted.

Incoming webhooks: ``POST /slack/api/webhooks/{any/path}`` (the sandbox's stand-in for
``https://hooks.slack.com/services/T…/B…/…``) takes ``{"text", "blocks"}`` as JSON or a form
``payload``, applies the same block checks, posts to the world's channel and answers plain ``ok``
(errors as plain text, e.g. ``400 invalid_blocks``), as Slack's webhooks do.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
import time
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qsl

import httpx

from bot.sandbox.github_rest import bearer_token
from bot.sandbox.interface import ServiceContext
from bot.sandbox.model import SlackMessage, World

MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
MAX_SECTION_FIELDS = 10
MAX_FIELD_TEXT = 2000
MAX_HEADER_TEXT = 150
MAX_BLOCK_TEXT_TOTAL = 12000
MAX_UPDATE_TEXT = 4000
MAX_TEXT = 40000
TEAM_ID, TEAM = "T0SANDBOX", "upkeep-sandbox"
BOT_USER, BOT_ID = "U0UPKEEPBOT", "B0UPKEEPBOT"


#: What the sandbox's channel ids look like (``channel_id``).
CHANNEL_ID = re.compile(r"C[0-9A-F]{10}")


def channel_id(name: str) -> str:
    """A stable Slack-looking channel id for a channel name."""
    return "C" + hashlib.sha256(name.encode()).hexdigest()[:10].upper()


class SlackError(Exception):
    """A Slack ``ok: false`` answer; ``detail`` goes to ``response_metadata.messages``."""

    def __init__(self, code: str, detail: str | None = None) -> None:
        super().__init__(code)
        self.code, self.detail = code, detail


def check_blocks(blocks: Any) -> None:
    """Raise ``SlackError`` as Slack would for ``blocks`` (``invalid_blocks``, ``msg_blocks_too_long``)."""
    if not isinstance(blocks, list):
        raise SlackError("invalid_blocks_format", "[ERROR] blocks must be an array")
    if len(blocks) > MAX_BLOCKS:
        raise SlackError("invalid_blocks", f"[ERROR] must be less than {MAX_BLOCKS + 1} items [json-pointer:/blocks]")
    total = 0
    for i, block in enumerate(blocks):
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            raise SlackError("invalid_blocks", f"[ERROR] missing required field: type [json-pointer:/blocks/{i}]")
        text = _text(block.get("text"))
        total += len(text)
        if block["type"] == "header" and len(text) > MAX_HEADER_TEXT:
            raise SlackError(
                "invalid_blocks",
                f"[ERROR] must be less than {MAX_HEADER_TEXT + 1} characters [json-pointer:/blocks/{i}/text]",
            )
        if block["type"] == "section":
            if len(text) > MAX_SECTION_TEXT:
                raise SlackError(
                    "invalid_blocks",
                    f"[ERROR] must be less than {MAX_SECTION_TEXT + 1} characters [json-pointer:/blocks/{i}/text/text]",
                )
            fields = block.get("fields") or []
            if len(fields) > MAX_SECTION_FIELDS:
                raise SlackError(
                    "invalid_blocks", f"[ERROR] must be less than 11 items [json-pointer:/blocks/{i}/fields]"
                )
            for j, field in enumerate(fields):
                field_text = _text(field)
                total += len(field_text)
                if len(field_text) > MAX_FIELD_TEXT:
                    raise SlackError(
                        "invalid_blocks",
                        f"[ERROR] must be less than 2001 characters [json-pointer:/blocks/{i}/fields/{j}/text]",
                    )
            if not text and not fields:
                raise SlackError(
                    "invalid_blocks", f"[ERROR] must provide either text or fields [json-pointer:/blocks/{i}]"
                )
        if block["type"] == "context":
            total += sum(len(_text(e)) for e in block.get("elements") or [])
    if total > MAX_BLOCK_TEXT_TOTAL:
        raise SlackError("msg_blocks_too_long")


def _text(obj: Any) -> str:
    if isinstance(obj, dict):
        value = obj.get("text")
        return value if isinstance(value, str) else ""
    return obj if isinstance(obj, str) else ""


class SlackService:
    """Slack's Web API over a sandbox ``World`` (see the module docstring)."""

    prefix = "/slack/api"

    def __init__(self, world: World, *, per_channel_rate: bool = False) -> None:
        self.world = world
        self.per_channel_rate = per_channel_rate
        names = [world.slack_channel or "upkeep", "general"]
        self.channels = {channel_id(n): n for n in names}
        self._lock = threading.Lock()
        self._base = int(world.now.timestamp())
        self._seq = len(world.slack_messages)
        self._last_post: dict[str, float] = {}
        self.uploads: dict[str, dict[str, Any]] = {}  # file_id -> {"filename", "length", "content", "title"}

    # -- plumbing ---------------------------------------------------------------------------------

    def handle(self, request: httpx.Request, path: str, context: ServiceContext) -> httpx.Response:
        if path.startswith("/webhooks/"):
            return self._webhook(request)
        if path.startswith("/_upload/"):
            return self._upload(request, path.removeprefix("/_upload/"))
        method = path.strip("/")
        handler = {
            "auth.test": self.auth_test,
            "chat.postMessage": self.post_message,
            "chat.update": self.update,
            "conversations.history": self.history,
            "conversations.list": self.list_channels,
            "files.getUploadURLExternal": self.get_upload_url,
            "files.completeUploadExternal": self.complete_upload,
        }.get(method)
        if handler is None:
            return httpx.Response(404, json={"ok": False, "error": "unknown_method", "req_method": method})
        args = _args(request)
        token = bearer_token(request) or args.get("token")
        if not token:
            return _fail("not_authed")
        if token not in self.world.tokens.get("slack", []):
            return _fail("invalid_auth")
        try:
            return handler(args, context)
        except SlackError as exc:
            return _fail(exc.code, exc.detail)

    def _channel(self, value: Any, *, ids_only: bool = False) -> str:
        text = str(value or "")
        if text in self.channels:
            return text
        if ids_only:
            raise SlackError("channel_not_found")
        text = text.lstrip("#")
        for cid, name in self.channels.items():
            if name == text:
                return cid
        raise SlackError("channel_not_found")

    def _record(
        self, channel: str, text: str, blocks: list[dict[str, Any]] | None, thread_ts: str | None, metadata: Any
    ) -> SlackMessage:
        with self._lock:
            if self.per_channel_rate:
                now = time.monotonic()
                if now - self._last_post.get(channel, -10.0) < 1.0:
                    raise _RateLimited
                self._last_post[channel] = now
            self._seq += 1
            ts = f"{self._base + self._seq}.{self._seq:06d}"
            message = SlackMessage(
                channel=channel,
                ts=ts,
                text=text[:MAX_TEXT],
                blocks=blocks,
                thread_ts=thread_ts,
                metadata=metadata if isinstance(metadata, dict) else None,
                user=BOT_USER,
            )
            self.world.slack_messages.append(message)
        return message

    def _message_json(self, message: SlackMessage, with_metadata: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": "message",
            "user": message.user,
            "bot_id": BOT_ID,
            "app_id": "A0UPKEEP",
            "text": message.text,
            "ts": message.ts,
            "team": TEAM_ID,
        }
        if message.blocks is not None:
            out["blocks"] = message.blocks
        if message.thread_ts:
            out["thread_ts"] = message.thread_ts
        if message.metadata is not None and with_metadata:
            out["metadata"] = message.metadata
        return out

    # -- methods ----------------------------------------------------------------------------------

    def auth_test(self, args: dict[str, Any], context: ServiceContext) -> httpx.Response:
        return httpx.Response(
            200,
            json={
                "ok": True,
                "url": f"{context.base_url}/",
                "team": TEAM,
                "user": "upkeep",
                "team_id": TEAM_ID,
                "user_id": BOT_USER,
                "bot_id": BOT_ID,
                "is_enterprise_install": False,
            },
        )

    def _content(self, args: dict[str, Any]) -> tuple[str, list[dict[str, Any]] | None]:
        blocks = _json_arg(args.get("blocks"))
        if blocks is not None:
            check_blocks(blocks)
        text = args.get("text")
        text = text if isinstance(text, str) else ""
        if not text and not blocks:
            raise SlackError("no_text")
        return text, blocks

    def post_message(self, args: dict[str, Any], context: ServiceContext) -> httpx.Response:
        channel = self._channel(args.get("channel"))
        text, blocks = self._content(args)
        try:
            message = self._record(
                channel,
                text,
                blocks,
                _str(args.get("thread_ts")),
                _json_arg(args.get("metadata"), "invalid_metadata_format"),
            )
        except _RateLimited:
            return _rate_limited()
        return httpx.Response(
            200, json={"ok": True, "channel": channel, "ts": message.ts, "message": self._message_json(message)}
        )

    def update(self, args: dict[str, Any], context: ServiceContext) -> httpx.Response:
        channel = self._channel(args.get("channel"), ids_only=True)
        ts = _str(args.get("ts"))
        text = args.get("text")
        if isinstance(text, str) and len(text) > MAX_UPDATE_TEXT:
            raise SlackError("msg_too_long")
        text, blocks = self._content(args)
        metadata = _json_arg(args.get("metadata"), "invalid_metadata_format")
        with self._lock:
            index = next(
                (i for i, m in enumerate(self.world.slack_messages) if m.channel == channel and m.ts == ts), None
            )
            if index is None:
                raise SlackError("message_not_found")
            old = self.world.slack_messages[index]
            new = replace(
                old,
                text=text,
                blocks=blocks,
                metadata=metadata if isinstance(metadata, dict) else old.metadata,
            )
            self.world.slack_messages[index] = new
        return httpx.Response(
            200,
            json={"ok": True, "channel": channel, "ts": new.ts, "text": new.text, "message": self._message_json(new)},
        )

    def list_channels(self, args: dict[str, Any], context: ServiceContext) -> httpx.Response:
        """``conversations.list``: the public channels, ``limit`` a page (cursor-paged like history)."""
        try:
            limit = max(1, min(1000, int(args.get("limit") or 100)))
            start = int(base64.b64decode(str(args["cursor"])).decode().split(":")[1]) if args.get("cursor") else 0
        except (ValueError, IndexError) as exc:
            raise SlackError("invalid_cursor" if args.get("cursor") else "invalid_arguments") from exc
        channels = sorted(self.channels.items(), key=lambda item: item[1])
        page = channels[start : start + limit]
        body: dict[str, Any] = {
            "ok": True,
            "channels": [
                {"id": cid, "name": name, "is_channel": True, "is_private": False, "is_archived": False}
                for cid, name in page
            ],
        }
        more = start + limit < len(channels)
        cursor = base64.b64encode(f"offset:{start + limit}".encode()).decode() if more else ""
        body["response_metadata"] = {"next_cursor": cursor}
        return httpx.Response(200, json=body)

    def history(self, args: dict[str, Any], context: ServiceContext) -> httpx.Response:
        channel = self._channel(args.get("channel"), ids_only=True)
        try:
            limit = max(1, min(999, int(args.get("limit") or 100)))
            start = int(base64.b64decode(str(args["cursor"])).decode().split(":")[1]) if args.get("cursor") else 0
        except (ValueError, IndexError) as exc:
            raise SlackError("invalid_cursor" if args.get("cursor") else "invalid_arguments") from exc
        oldest, latest = _float(args.get("oldest"), 0.0), _float(args.get("latest"), float("inf"))
        inclusive = str(args.get("inclusive", "")).lower() in {"1", "true"}
        with_metadata = str(args.get("include_all_metadata", "")).lower() in {"1", "true"}
        with self._lock:
            messages = [
                m
                for m in self.world.slack_messages
                if m.channel == channel
                and (m.thread_ts is None or m.thread_ts == m.ts)
                and (oldest < float(m.ts) < latest or (inclusive and float(m.ts) in {oldest, latest}))
            ]
        messages.sort(key=lambda m: float(m.ts), reverse=True)
        page = messages[start : start + limit]
        has_more = start + limit < len(messages)
        body: dict[str, Any] = {
            "ok": True,
            "messages": [self._message_json(m, with_metadata) for m in page],
            "has_more": has_more,
            "pin_count": 0,
            "channel_actions_ts": None,
            "channel_actions_count": 0,
        }
        if has_more:
            body["response_metadata"] = {"next_cursor": base64.b64encode(f"offset:{start + limit}".encode()).decode()}
        return httpx.Response(200, json=body)

    def get_upload_url(self, args: dict[str, Any], context: ServiceContext) -> httpx.Response:
        filename = _str(args.get("filename"))
        try:
            length = int(args.get("length") or 0)
        except ValueError:
            length = 0
        if not filename or length <= 0:
            raise SlackError("invalid_arguments")
        with self._lock:
            file_id = "F" + hashlib.sha256(f"{filename}:{len(self.uploads)}".encode()).hexdigest()[:10].upper()
            self.uploads[file_id] = {"filename": filename, "length": length, "content": None, "title": filename}
        url = f"{context.base_url}{self.prefix}/_upload/{file_id}"
        return httpx.Response(200, json={"ok": True, "upload_url": url, "file_id": file_id})

    def _upload(self, request: httpx.Request, file_id: str) -> httpx.Response:
        upload = self.uploads.get(file_id)
        if upload is None or request.method != "POST":
            return httpx.Response(404, text="not found")
        upload["content"] = request.content
        return httpx.Response(200, text=f"OK - {len(request.content)}")

    def complete_upload(self, args: dict[str, Any], context: ServiceContext) -> httpx.Response:
        files = _json_arg(args.get("files"), "invalid_arguments")
        if not isinstance(files, list) or not files:
            raise SlackError("invalid_arguments")
        channel = self._channel(args["channel_id"]) if args.get("channel_id") else None
        out = []
        for item in files:
            upload = self.uploads.get(str(item.get("id")) if isinstance(item, dict) else "")
            if upload is None or upload["content"] is None:
                raise SlackError("file_not_found")
            upload["title"] = item.get("title") or upload["filename"]
            out.append(
                {
                    "id": item["id"],
                    "name": upload["filename"],
                    "title": upload["title"],
                    "size": len(upload["content"]),
                    "user": BOT_USER,
                    "created": self._base,
                    "timestamp": self._base,
                    "mimetype": "application/octet-stream",
                    "permalink": f"{context.base_url}/files/{BOT_USER}/{item['id']}/{upload['filename']}",
                    "url_private": f"{context.base_url}{self.prefix}/_upload/{item['id']}",
                }
            )
        if channel is not None:
            comment = _str(args.get("initial_comment")) or ""
            metadata = {"event_type": "files_shared", "event_payload": {"files": [f["id"] for f in out]}}
            try:
                self._record(channel, comment, None, _str(args.get("thread_ts")), metadata)
            except _RateLimited:
                return _rate_limited()
        return httpx.Response(200, json={"ok": True, "files": out})

    # -- incoming webhooks ------------------------------------------------------------------------

    def _webhook(self, request: httpx.Request) -> httpx.Response:
        if request.method != "POST":
            return httpx.Response(405, text="invalid_method")
        raw = _args(request)
        payload = _json_arg(raw.get("payload"), "invalid_payload") if "payload" in raw else raw
        if not isinstance(payload, dict):
            return httpx.Response(400, text="invalid_payload")
        try:
            text, blocks = self._content(payload)
            self._record(channel_id(self.world.slack_channel or "upkeep"), text, blocks, None, None)
        except SlackError as exc:
            return httpx.Response(400, text=exc.code)
        except _RateLimited:
            return httpx.Response(429, text="rate_limited", headers={"Retry-After": "1"})
        return httpx.Response(200, text="ok")


class _RateLimited(Exception):
    """The per-channel rate knob refused a message."""


def _fail(code: str, detail: str | None = None) -> httpx.Response:
    body: dict[str, Any] = {"ok": False, "error": code}
    if detail:
        body["response_metadata"] = {"messages": [detail]}
    return httpx.Response(200, json=body)


def _rate_limited() -> httpx.Response:
    return httpx.Response(429, json={"ok": False, "error": "ratelimited"}, headers={"Retry-After": "1"})


def _args(request: httpx.Request) -> dict[str, Any]:
    """Slack reads arguments from the query string, a form body or a JSON body."""
    args: dict[str, Any] = dict(request.url.params.items())
    content_type = request.headers.get("content-type", "")
    body = request.content
    if not body:
        return args
    if "json" in content_type:
        try:
            data = json.loads(body)
        except ValueError:
            return args
        if isinstance(data, dict):
            args.update(data)
    elif "multipart" not in content_type:
        args.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    return args


def _json_arg(value: Any, error: str = "invalid_blocks_format") -> Any:
    """Form bodies carry JSON arguments (blocks, metadata, files) as strings."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            raise SlackError(error) from None
    return value


def _str(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def _float(value: Any, default: float) -> float:
    try:
        return float(value) if value not in (None, "") else default
    except (TypeError, ValueError):
        return default
