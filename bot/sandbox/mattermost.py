"""The sandbox's Mattermost API v4: create a post, read a channel's posts back, who am I.

Served under ``/mattermost`` (a client's server URL is ``{sandbox}/mattermost``). Requests are
checked against the vendored excerpt of Mattermost's OpenAPI description
(``data/mattermost-posts-v4.yaml``: ``CreatePost``, ``GetPostsForChannel``) plus
``GET /api/v4/users/me``. Limits and errors as the server has them (errors are
``{"id", "message", "detailed_error", "request_id", "status_code"}``):

* no token: 401 ``api.context.session_expired.app_error``; a token of no user: the same;
* a channel the user is not a member of (or that does not exist): 403 ``api.context.permissions.app_error``;
* a message over 16,383 characters: 400 ``model.post.is_valid.message_length.app_error``;
  props over 800,000 characters of JSON: 400 ``model.post.is_valid.props.app_error``;
* ``since`` mixed with ``page``/``per_page``/``before``/``after``: 400, as the description forbids.

Accepted posts go to ``world.notify_posts["mattermost"]`` with the mentions Mattermost would act on
(``@channel``, ``@all``, ``@here``, ``@username``), found in the message and attachment text.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from typing import Any

import httpx

from bot.sandbox.api_spec import ApiDescription, SpecError
from bot.sandbox.github_rest import bearer_token
from bot.sandbox.interface import ServiceContext
from bot.sandbox.model import World

MESSAGE_LIMIT = 16383
PROPS_LIMIT = 800_000
TEAM_CHANNEL = "upkeep"  # the channel the bot is a member of; its id is channel_id(TEAM_CHANNEL)
BOT_USERNAME = "upkeep-bot"
#: What Mattermost's mention parser reacts to: @ followed by a name, not inside a word.
MENTION = re.compile(r"(?<![\w@])@([a-z0-9][a-z0-9._-]*)", re.IGNORECASE)


def channel_id(name: str) -> str:
    """A stable 26-character Mattermost-looking id."""
    return hashlib.sha256(f"mm:{name}".encode()).hexdigest()[:26]


def user_id(token: str) -> str:
    return hashlib.sha256(f"mm-user:{token}".encode()).hexdigest()[:26]


def mentions(text: str) -> list[str]:
    """The mention keywords Mattermost would notify for in ``text``."""
    return sorted({m.group(1).rstrip(".-_").lower() for m in MENTION.finditer(text)})


def _error(status: int, error_id: str, message: str) -> httpx.Response:
    body = {"id": error_id, "message": message, "detailed_error": "", "request_id": "sandbox", "status_code": status}
    return httpx.Response(status, json=body)


class MattermostService:
    prefix = "/mattermost"

    def __init__(self, world: World) -> None:
        self.world = world
        self.api = ApiDescription(("mattermost-posts-v4.yaml",))
        self.channels = {channel_id(TEAM_CHANNEL): TEAM_CHANNEL}
        self._lock = threading.Lock()

    @property
    def posts(self) -> list[dict[str, Any]]:
        return self.world.notify_posts.setdefault("mattermost", [])

    def handle(self, request: httpx.Request, path: str, context: ServiceContext) -> httpx.Response:
        token = bearer_token(request)
        if not token or token not in self.world.tokens.get("mattermost", []):
            return _error(
                401, "api.context.session_expired.app_error", "Invalid or expired session, please login again."
            )
        if request.method == "GET" and path == "/api/v4/users/me":
            return httpx.Response(200, json={"id": user_id(token), "username": BOT_USERNAME, "is_bot": True})
        found = self.api.match(request.method, path)
        if found is None:
            return _error(404, "api.context.404.app_error", "Sorry, we could not find the page.")
        operation, values = found
        try:
            body = self.api.check(operation, request)
            if operation.operation_id == "CreatePost":
                return self._create(token, body)
            return self._list(values[0], request)
        except SpecError as exc:
            return _error(exc.status, "api.context.invalid_param.app_error", str(exc))

    def _create(self, token: str, body: dict[str, Any]) -> httpx.Response:
        channel = str(body["channel_id"])
        if channel not in self.channels:
            return _error(403, "api.context.permissions.app_error", "You do not have the appropriate permissions.")
        message = str(body["message"])
        if len(message) > MESSAGE_LIMIT:
            return _error(400, "model.post.is_valid.message_length.app_error", "Invalid Message length.")
        props = body.get("props") or {}
        if len(json.dumps(props)) > PROPS_LIMIT:
            return _error(400, "model.post.is_valid.props.app_error", "Invalid props.")
        texts = [message] + [
            str(a.get("text", "")) + " " + str(a.get("pretext", "")) for a in props.get("attachments", [])
        ]
        with self._lock:
            n = len(self.posts) + 1
            at = int(self.world.now.timestamp() * 1000) + n
            post = {
                "id": hashlib.sha256(f"post:{n}:{message}".encode()).hexdigest()[:26],
                "create_at": at,
                "update_at": at,
                "delete_at": 0,
                "user_id": user_id(token),
                "channel_id": channel,
                "root_id": "",
                "message": message,
                "type": "",
                "props": props,
                "mentions": sorted({m for text in texts for m in mentions(text)}),  # the sandbox's record only
            }
            self.posts.append(post)
        return httpx.Response(201, json={k: v for k, v in post.items() if k != "mentions"})

    def _list(self, channel: str, request: httpx.Request) -> httpx.Response:
        if channel not in self.channels:
            return _error(403, "api.context.permissions.app_error", "You do not have the appropriate permissions.")
        params = request.url.params
        since = params.get("since")
        if since is not None and any(k in params for k in ("page", "per_page", "before", "after")):
            raise SpecError("since must not be used with before, after, page or per_page")
        posts = [p for p in self.posts if p["channel_id"] == channel]
        if since is not None:
            posts = [p for p in posts if p["update_at"] > int(since)][-1000:]
        else:
            page, per_page = int(params.get("page", 0)), min(int(params.get("per_page", 60)), 200)
            newest_first = posts[::-1][page * per_page : (page + 1) * per_page]
            posts = newest_first[::-1]
        shown = {p["id"]: {k: v for k, v in p.items() if k != "mentions"} for p in posts}
        order = [p["id"] for p in sorted(posts, key=lambda p: p["create_at"], reverse=True)]
        return httpx.Response(200, json={"order": order, "posts": shown, "next_post_id": "", "prev_post_id": ""})
