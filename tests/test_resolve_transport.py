"""The resolve client's connection pools: one small pool per registry, requests routed by base URL."""

from __future__ import annotations

import asyncio
import http.server
import threading
from collections.abc import Iterator

import pytest

from bot.config import load_settings
from bot.http import make_async_client
from bot.resolve.fetch import RegistryPoolTransport, registry_bases_longest_first, registry_key
from bot.resolve.stage import make_resolve_client


class _PathEcho(http.server.BaseHTTPRequestHandler):
    """Answers every GET with its own path, on keep-alive connections, so a test sees where each answer went."""

    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        body = self.path.encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def origin() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _PathEcho)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def test_registry_key_takes_the_longest_base_at_a_segment_boundary() -> None:
    bases = registry_bases_longest_first(["http://h/registry/npm/", "http://h/registry/npm-mirror", "", "http://h"])
    assert bases == ["http://h/registry/npm-mirror", "http://h/registry/npm", "http://h"]
    assert registry_key("http://h/registry/npm-mirror/left-pad", bases) == "http://h/registry/npm-mirror"
    assert registry_key("http://h/registry/npm/left-pad", bases) == "http://h/registry/npm"
    assert registry_key("http://h/registry/npm?q=1", bases) == "http://h/registry/npm"
    assert registry_key("http://h/registry/npmx/a", bases) == "http://h"
    assert registry_key("https://gitlab.example.org/group/repo?go-get=1", bases) == "https://gitlab.example.org"


def test_each_registry_gets_its_own_pool_no_larger_than_the_per_registry_limit(origin: str) -> None:
    npm, pypi = f"{origin}/registry/npm", f"{origin}/registry/pypi"
    other = origin.replace("127.0.0.1", "localhost")  # a host no registry is configured on
    transport = RegistryPoolTransport([npm, pypi], pool_size=3)
    urls = [f"{npm}/p{i}" for i in range(12)] + [f"{pypi}/pypi/p{i}/json" for i in range(12)] + [f"{other}/x/y"]

    async def fetch_all() -> tuple[list[str], dict[str, int]]:
        async with make_async_client(transport=transport) as client:
            answers = await asyncio.gather(*(client.get(url) for url in urls))
            sizes = {key: len(pool._pool.connections) for key, pool in transport.pools.items()}
        return [a.text for a in answers], sizes

    bodies, sizes = asyncio.run(fetch_all())
    assert bodies == ["/" + url.split("/", 3)[3] for url in urls]  # every answer came back to its own request
    assert set(sizes) == {npm, pypi, other}
    assert all(1 <= size <= 3 for size in sizes.values())
    assert transport.pools == {}  # closing the client closed every pool


def test_the_stage_client_pools_per_configured_registry(origin: str) -> None:
    settings = load_settings(None, overrides={"registries": {"npm": f"{origin}/npm"}, "resolve": {"per_host_limit": 2}})

    async def fetch() -> tuple[str, RegistryPoolTransport]:
        client = make_resolve_client(settings)
        async with client:
            answer = await client.get(f"{origin}/npm/left-pad")
            inner = client._transport.inner  # type: ignore[attr-defined]
            assert isinstance(inner, RegistryPoolTransport)
            assert list(inner.pools) == [f"{origin}/npm"] and inner.pool_size == 2
        return answer.text, inner

    text, _ = asyncio.run(fetch())
    assert text == "/npm/left-pad"
