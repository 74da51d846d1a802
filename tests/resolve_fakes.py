"""A fake registry host for the resolve tests: real documents served by path, requests recorded.

It is a plain ``httpx.Request -> httpx.Response`` function for ``httpx.MockTransport``; answers
carry an ``ETag`` and a matching ``If-None-Match`` gets ``304``, as the real registries do.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bot.http import RetryPolicy, make_async_client
from bot.resolve.fetch import Fetcher, HttpCache

SAMPLES = Path(__file__).parent / "data" / "api-samples"
RESOLVE_DATA = Path(__file__).parent / "data" / "resolve"


def sample(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


@dataclass
class FakeRegistries:
    """Serves ``routes`` (full URL → body, or status code) and records what was asked."""

    routes: dict[str, bytes | int] = field(default_factory=dict)
    requests: list[httpx.Request] = field(default_factory=list)
    down: set[str] = field(default_factory=set)  # hosts answering 503 to everything

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.host in self.down:
            return httpx.Response(503, text="unavailable")
        answer = self.routes.get(str(request.url), 404)
        if isinstance(answer, int):
            return httpx.Response(answer, text="no")
        etag = '"' + hashlib.sha256(answer).hexdigest()[:16] + '"'
        if request.headers.get("if-none-match") == etag:
            return httpx.Response(304, headers={"ETag": etag})
        return httpx.Response(200, content=answer, headers={"ETag": etag})

    def paths(self) -> list[str]:
        return [r.url.raw_path.decode() for r in self.requests]

    def client(self) -> httpx.AsyncClient:
        policy = RetryPolicy(max_retries=1, initial_backoff=0.001, max_backoff=0.002)
        return make_async_client(transport=httpx.MockTransport(self.handler), policy=policy)

    def fetcher(self, cache: HttpCache | None = None) -> Fetcher:
        return Fetcher(self.client(), per_host_limit=4, global_limit=8, cache=cache)
