"""The sandbox's Microsoft Teams Workflows webhook: takes a message with an Adaptive Card, answers 202.

Served under ``/teams``: ``POST /teams/workflows/{flow}?sig={signature}`` stands in for a Power
Automate "When a Teams webhook request is received" URL, whose ``sig`` is the secret. As the real
flow does, it answers ``202 Accepted`` with no body and no message id, and offers no way to read
the channel back. It refuses:

* a missing or wrong ``sig``: 401;
* a body that is not ``{"type": "message", "attachments": [...]}`` with at least one attachment of
  ``contentType`` ``application/vnd.microsoft.card.adaptive``: 400;
* a card the published Adaptive Card 1.5 JSON schema rejects (``data/adaptive-card-1.5.0.json``,
  from microsoft/AdaptiveCards), or of a version above 1.5 (what Teams renders): 400;
* a body over 28 KB: 413 (Teams' message size limit).

Accepted cards go to ``world.notify_posts["teams"]`` with the mentions Teams would render
(``<at>…</at>`` text backed by a ``msteams.entities`` mention) and any ``<at>`` text at all.
"""

from __future__ import annotations

import json
import re
import threading
from functools import cache
from typing import Any

import httpx
import jsonschema

from bot.sandbox.api_spec import DATA
from bot.sandbox.interface import ServiceContext
from bot.sandbox.model import World

CARD_TYPE = "application/vnd.microsoft.card.adaptive"
MAX_VERSION = (1, 5)
PAYLOAD_LIMIT = 28 * 1024
AT_TAG = re.compile(r"<at>(.*?)</at>", re.IGNORECASE | re.DOTALL)


@cache
def card_schema() -> dict[str, Any]:
    schema = json.loads((DATA / "adaptive-card-1.5.0.json").read_text(encoding="utf-8"))
    assert isinstance(schema, dict)
    return schema


@cache
def _validator(definition: str | None = None) -> jsonschema.Draft6Validator:
    schema = card_schema()
    if definition is None:
        return jsonschema.Draft6Validator(schema)
    return jsonschema.Draft6Validator({"$ref": f"#/definitions/{definition}", "definitions": schema["definitions"]})


def _explain(error: jsonschema.ValidationError, prefix: list[Any]) -> list[str]:
    """An error, with "not valid under any of the given schemas" for an element of a known ``type``
    replaced by what that type's own definition says (the schema lists element types with ``anyOf``)."""
    path = prefix + list(error.absolute_path)
    instance = error.instance
    kind = instance.get("type") if isinstance(instance, dict) else None
    if error.validator == "anyOf" and isinstance(kind, str) and kind in card_schema()["definitions"]:
        inner = sorted(_validator(kind).iter_errors(instance), key=lambda e: list(e.absolute_path))
        if inner:
            return [line for e in inner for line in _explain(e, path)]
    return [f"{'/'.join(str(p) for p in path) or '(card)'}: {error.message}"]


def card_errors(card: Any) -> list[str]:
    """Where ``card`` breaks the Adaptive Card schema (empty when it is valid)."""
    errors = sorted(_validator().iter_errors(card), key=lambda e: list(e.absolute_path))
    return [line for error in errors for line in _explain(error, [])]


def card_texts(node: Any) -> list[str]:
    """Every ``text``, ``title`` and fact value in a card."""
    found: list[str] = []
    if isinstance(node, dict):
        for key in ("text", "title", "value"):
            if isinstance(node.get(key), str):
                found.append(node[key])
        for value in node.values():
            found += card_texts(value)
    elif isinstance(node, list):
        for value in node:
            found += card_texts(value)
    return found


class TeamsWorkflowService:
    prefix = "/teams"

    def __init__(self, world: World) -> None:
        self.world = world
        self._lock = threading.Lock()

    @property
    def posts(self) -> list[dict[str, Any]]:
        return self.world.notify_posts.setdefault("teams", [])

    def handle(self, request: httpx.Request, path: str, context: ServiceContext) -> httpx.Response:
        if request.method != "POST" or not path.startswith("/workflows/"):
            return httpx.Response(404, json={"error": {"code": "TriggerNotFound", "message": "Not found."}})
        if request.url.params.get("sig") not in self.world.tokens.get("teams", []):
            return _fail(401, "DirectApiAuthorizationRequired", "The request must be authenticated.")
        if len(request.content) > PAYLOAD_LIMIT:
            return _fail(413, "MessageTooLarge", f"The message is over {PAYLOAD_LIMIT} bytes.")
        try:
            body = json.loads(request.content)
        except ValueError:
            return _fail(400, "InvalidRequestContent", "The request content is not valid JSON.")
        if not isinstance(body, dict) or body.get("type") != "message":
            return _fail(400, "InvalidRequestContent", 'The body must be {"type": "message", "attachments": [...]}.')
        cards: list[dict[str, Any]] = [
            a["content"]
            for a in body.get("attachments") or []
            if isinstance(a, dict) and isinstance(a.get("content"), dict)
        ]
        kinds = [a.get("contentType") for a in body.get("attachments") or [] if isinstance(a, dict)]
        if not cards or len(cards) != len(kinds) or any(kind != CARD_TYPE for kind in kinds):
            return _fail(400, "InvalidRequestContent", f"Every attachment must be {CARD_TYPE}.")
        for card in cards:
            errors = card_errors(card)
            if errors:
                return _fail(400, "InvalidAdaptiveCard", "; ".join(errors[:5]))
            version = tuple(int(x) for x in str(card.get("version", "0")).split(".")[:2] if x.isdigit())
            if version > MAX_VERSION:
                return _fail(400, "InvalidAdaptiveCard", f"version {card.get('version')} is above what Teams renders")
        entities = [e for card in cards for e in (card.get("msteams") or {}).get("entities") or []]
        texts = [t for card in cards for t in card_texts(card)]
        with self._lock:
            self.posts.append(
                {
                    "flow": path.removeprefix("/workflows/"),
                    "message": body,
                    "at_tags": sorted({m for t in texts for m in AT_TAG.findall(t)}),
                    "mentions": [e for e in entities if e.get("type") == "mention"],
                }
            )
        return httpx.Response(202)


def _fail(status: int, code: str, message: str) -> httpx.Response:
    return httpx.Response(status, json={"error": {"code": code, "message": message}})
