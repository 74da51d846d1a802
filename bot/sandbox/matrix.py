"""The sandbox's Matrix homeserver (client-server API v3): send a message event, read a room back, who am I.

Served under ``/matrix`` (a client's homeserver URL is ``{sandbox}/matrix``). Requests are checked
against the vendored descriptions from matrix-org/matrix-spec (``data/matrix-room_send.yaml``,
``matrix-message_pagination.yaml``, ``matrix-whoami.yaml``); an ``m.room.message`` body is checked
against the ``m.notice`` event schema and ``m.mentions``. As a homeserver does:

* no token: 401 ``M_MISSING_TOKEN``; an unknown one: 401 ``M_UNKNOWN_TOKEN``;
* a room the user has not joined (or that does not exist): 403 ``M_FORBIDDEN``;
* an event over 65,536 bytes of JSON: 413 ``M_TOO_LARGE``; a body the schema refuses: 400 ``M_BAD_JSON``;
* ``format`` without ``formatted_body`` (or the reverse): 400 ``M_BAD_JSON``;
* the same access token and transaction id within :data:`TXN_TTL_SECONDS` (Synapse keeps them about
  30 minutes) answer the first ``event_id`` and store nothing new; later, the same PUT is a new event.

Accepted events go to ``world.notify_posts["matrix"]`` with the pings a client would raise
(``@room`` in the body, user ids in the body or ``m.mentions``), for the hostile-text tests.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx

from bot.sandbox.api_spec import ApiDescription, SpecError, load_description, validate
from bot.sandbox.github_rest import bearer_token
from bot.sandbox.interface import ServiceContext
from bot.sandbox.model import World

BASE = "/_matrix/client/v3"
SERVER = "sandbox.test"
ROOM_ID = f"!upkeep:{SERVER}"
BOT_USER = f"@upkeep-bot:{SERVER}"
EVENT_LIMIT = 65536
TXN_TTL_SECONDS = 30 * 60
USER_ID = re.compile(r"@[a-z0-9._=/+-]+:[a-z0-9.-]+", re.IGNORECASE)


def _error(status: int, code: str, message: str) -> httpx.Response:
    return httpx.Response(status, json={"errcode": code, "error": message})


def pings(content: dict[str, Any]) -> list[str]:
    """What a client would notify for: ``@room`` and user ids in the plain or HTML body, or ``m.mentions``."""
    text = f"{content.get('body', '')} {content.get('formatted_body', '')}"
    found = set(USER_ID.findall(text))
    if "@room" in text:
        found.add("@room")
    mentioned = content.get("m.mentions") or {}
    found.update(mentioned.get("user_ids") or [])
    if mentioned.get("room"):
        found.add("@room")
    return sorted(found)


class MatrixService:
    prefix = "/matrix"

    def __init__(self, world: World, *, clock: Callable[[], float] = time.time) -> None:
        self.world = world
        self.clock = clock
        self.api = ApiDescription(
            ("matrix-room_send.yaml", "matrix-message_pagination.yaml", "matrix-whoami.yaml"), BASE
        )
        notice = load_description("matrix-m.room.message.m.notice.yaml")
        self.content_schema = notice["properties"]["content"]
        self.mentions_schema = load_description("matrix-m.mentions.yaml")
        self.rooms = {ROOM_ID}
        self._txns: dict[tuple[str, str], tuple[str, float]] = {}
        self._lock = threading.Lock()

    @property
    def events(self) -> list[dict[str, Any]]:
        return self.world.notify_posts.setdefault("matrix", [])

    def handle(self, request: httpx.Request, path: str, context: ServiceContext) -> httpx.Response:
        found = self.api.match(request.method, path)
        if found is None:
            return _error(404, "M_UNRECOGNIZED", "Unrecognized request")
        token = bearer_token(request) or request.url.params.get("access_token")
        if not token:
            return _error(401, "M_MISSING_TOKEN", "Missing access token")
        if token not in self.world.tokens.get("matrix", []):
            return _error(401, "M_UNKNOWN_TOKEN", "Unknown access token")
        operation, values = found
        try:
            body = self.api.check(operation, request)
            if operation.operation_id == "getTokenOwner":
                return httpx.Response(200, json={"user_id": BOT_USER, "is_guest": False})
            if values[0] not in self.rooms:
                return _error(403, "M_FORBIDDEN", "User not in room")
            if operation.operation_id == "sendMessage":
                return self._send(token, values, body)
            return self._messages(values[0], request)
        except SpecError as exc:
            return _error(exc.status, "M_BAD_JSON" if request.method == "PUT" else "M_INVALID_PARAM", str(exc))

    def _send(self, token: str, values: list[str], content: dict[str, Any]) -> httpx.Response:
        room, event_type, txn = values
        if event_type == "m.room.message":
            validate(content, self.content_schema)
            if "m.mentions" in content:
                validate(content["m.mentions"], self.mentions_schema)
            if ("format" in content) != ("formatted_body" in content):
                raise SpecError("format and formatted_body go together")
        if len(json.dumps(content).encode()) + 512 > EVENT_LIMIT:  # the event around it takes a few hundred bytes
            return _error(413, "M_TOO_LARGE", "event too large")
        now = self.clock()
        with self._lock:
            earlier = self._txns.get((token, txn))
            if earlier is not None and now - earlier[1] < TXN_TTL_SECONDS:
                return httpx.Response(200, json={"event_id": earlier[0]})
            n = len(self.events) + 1
            event_id = "$" + hashlib.sha256(f"{n}:{txn}".encode()).hexdigest()[:43]
            self.events.append(
                {
                    "event_id": event_id,
                    "room_id": room,
                    "sender": BOT_USER,
                    "type": event_type,
                    "origin_server_ts": int(self.world.now.timestamp() * 1000) + n,
                    "content": content,
                    "pings": pings(content),  # the sandbox's record only
                }
            )
            self._txns[(token, txn)] = (event_id, now)
        return httpx.Response(200, json={"event_id": event_id})

    def _messages(self, room: str, request: httpx.Request) -> httpx.Response:
        params = request.url.params
        limit = max(1, min(int(params.get("limit", 10)), 1000))
        events = [{k: v for k, v in e.items() if k != "pings"} for e in self.events if e["room_id"] == room]
        if params["dir"] == "b":
            events.reverse()
        start = int(params.get("from", "0") or 0)
        chunk = events[start : start + limit]
        answer: dict[str, Any] = {"start": str(start), "chunk": chunk}
        if start + limit < len(events):
            answer["end"] = str(start + limit)
        return httpx.Response(200, json=answer)
