"""Bearer tokens for ``/api/`` and ``/mcp``: from ``UPKEEP_API_TOKENS``, compared in constant time.

Every configured token is compared with :func:`hmac.compare_digest` on every request (no early exit),
so neither the answer's timing nor its content says which token, or how much of one, matched.
Without any configured token nothing under the guarded prefixes is served.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Sequence

from pydantic import SecretStr
from starlette.types import ASGIApp, Receive, Scope, Send

GUARDED_PREFIXES = ("/api/", "/mcp")


def token_matches(presented: str, tokens: Sequence[SecretStr]) -> bool:
    """Whether ``presented`` equals one of ``tokens``; every token is compared, whatever matched."""
    given = presented.encode("utf-8")
    matched = False
    for token in tokens:
        matched |= hmac.compare_digest(given, token.get_secret_value().encode("utf-8"))
    return matched and bool(given)


def bearer_of(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            scheme, _, credentials = value.decode("latin-1").partition(" ")
            return credentials.strip() if scheme.lower() == "bearer" else None
    return None


def guarded(path: str) -> bool:
    return any(path == prefix.rstrip("/") or path.startswith(prefix) for prefix in GUARDED_PREFIXES)


class BearerGuard:
    """ASGI middleware: 401 on ``/api/`` and ``/mcp`` without a valid bearer token; other paths pass."""

    def __init__(self, app: ASGIApp, tokens: Sequence[SecretStr]) -> None:
        self.app = app
        self.tokens = tuple(tokens)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and guarded(scope["path"]):
            presented = bearer_of(scope)
            if presented is None or not token_matches(presented, self.tokens):
                reason = "missing bearer token" if presented is None else "invalid bearer token"
                if not self.tokens:
                    reason = "no API tokens configured (set UPKEEP_API_TOKENS)"
                body = json.dumps({"error": "unauthorized", "detail": reason}).encode()
                await send(
                    {
                        "type": "http.response.start",
                        "status": 401,
                        "headers": [
                            (b"content-type", b"application/json"),
                            (b"www-authenticate", b'Bearer realm="upkeep"'),
                            (b"content-length", str(len(body)).encode()),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)
