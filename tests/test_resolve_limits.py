"""A registry's limit in the resolve stage: contention is asked again through the pace, a spent limit pauses.

The registry is a real local HTTP server answering as crates.io does when its one request a second is
taken (``429``, ``Retry-After``, a JSON error) or as RubyGems does (``429`` and no header), for as many
requests as a test says; the client is the stage's own (its retry policy, its transport).
"""

from __future__ import annotations

import asyncio
import http.server
import json
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from bot.http import RetryPolicy, TokenBucket, make_async_client
from bot.resolve.fetch import Fetcher
from bot.resolve.interface import RegistryRateLimited

POLICY = RetryPolicy(max_retries=2, initial_backoff=0.001, max_wait_seconds=0.5, secondary_wait_seconds=1.0)


@dataclass
class Script:
    """How many of the first requests of each path are refused, and whether the refusal states its wait."""

    refuse: int = 0
    stated_wait: str | None = "0.02"
    asked: Counter[str] | None = None


class _Registry(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    script = Script()
    lock = threading.Lock()

    def do_GET(self) -> None:
        with self.lock:
            asked = self.script.asked
            assert asked is not None
            asked[self.path] += 1
            refused = asked[self.path] <= self.script.refuse
        if refused:
            body = json.dumps({"errors": [{"detail": "You have made too many requests. Please try again later."}]})
            self.send_response(429)
            if self.script.stated_wait is not None:
                self.send_header("Retry-After", self.script.stated_wait)
        else:
            body = json.dumps({"crate": {"repository": "https://github.com/acme/tool"}})
            self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def registry() -> Iterator[tuple[str, Script]]:
    script = Script(asked=Counter())
    handler = type("Registry", (_Registry,), {"script": script, "lock": threading.Lock()})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/api/v1", script
    server.shutdown()
    server.server_close()


def fetch_all(
    base: str, paths: list[str], bucket: TokenBucket | None = None, then: tuple[str, ...] = ()
) -> tuple[Fetcher, list[object]]:
    """GET every path at once with one fetcher (the registry paced by ``bucket`` when given), then ``then``."""

    async def go() -> tuple[Fetcher, list[object]]:
        async with make_async_client(policy=POLICY) as client:
            fetcher = Fetcher(client, registries=[base], names={base: "crates"},
                              paces={base: bucket} if bucket else None, max_pace_wait=5.0)  # fmt: skip
            results = await asyncio.gather(*(fetcher.get(f"{base}{p}") for p in paths), return_exceptions=True)
            later = await asyncio.gather(*(fetcher.get(f"{base}{p}") for p in then), return_exceptions=True)
            return fetcher, [*results, *later]

    return asyncio.run(go())


def test_a_short_stated_limit_lost_to_other_requests_is_asked_again_not_paused(
    registry: tuple[str, Script],
) -> None:
    base, script = registry
    script.refuse = POLICY.max_retries + 2  # the client's own retries all meet the limit; the next round passes
    bucket = TokenBucket(3600 * 50)
    fetcher, results = fetch_all(base, ["/crates/tool"], bucket)
    assert [getattr(r, "status_code", r) for r in results] == [200]
    assert fetcher.stats.limit_retries == 1 and not fetcher.limited
    assert script.asked == {"/api/v1/crates/tool": POLICY.max_retries + 3}
    assert bucket.blocked_until > 0  # the wait held the registry's pace, for every request of it


def test_contention_that_never_ends_pauses_after_its_rounds(registry: tuple[str, Script]) -> None:
    base, script = registry
    script.refuse = 1000
    fetcher, results = fetch_all(base, ["/crates/tool"])
    assert isinstance(results[0], RegistryRateLimited) and results[0].registry == "crates"
    rounds = fetcher.limit_rounds
    assert fetcher.stats.limit_retries == rounds - 1
    assert script.asked == {"/api/v1/crates/tool": rounds * (POLICY.max_retries + 1)}
    assert list(fetcher.limited) == [base]


def test_a_limit_that_states_no_wait_pauses_at_once(registry: tuple[str, Script]) -> None:
    """RubyGems' 429 says nothing: the header-less minute is longer than the client blocks, a spent limit."""
    base, script = registry
    script.refuse, script.stated_wait = 1000, None
    fetcher, results = fetch_all(base, ["/gems/a", "/gems/b"])
    assert all(isinstance(r, RegistryRateLimited) for r in results)
    assert fetcher.stats.limit_retries == 0
    assert sum(script.asked.values()) <= 2  # type: ignore[union-attr]


def test_a_long_stated_wait_pauses_at_once_and_later_requests_are_not_sent(registry: tuple[str, Script]) -> None:
    base, script = registry
    script.refuse, script.stated_wait = 1000, "30"
    fetcher, results = fetch_all(base, ["/crates/a"], then=("/crates/b",))
    assert all(isinstance(r, RegistryRateLimited) for r in results) and len(results) == 2
    assert fetcher.stats.limit_retries == 0
    assert script.asked == {"/api/v1/crates/a": 1}  # the later request was refused without being sent


def test_the_retry_rule_marks_only_short_stated_waits_as_contention() -> None:
    from bot.http import RateLimited, _Decision

    decision = _Decision(POLICY)
    request = httpx.Request("GET", "https://crates.test/api/v1/crates/x")
    last = POLICY.max_retries + 1

    def raised(headers: dict[str, str], attempt: int) -> RateLimited:
        with pytest.raises(RateLimited) as caught:
            decision.after_response(request, httpx.Response(429, headers=headers), attempt)
        return caught.value

    assert raised({"retry-after": "0.01"}, last).retries_ran_out
    assert not raised({"retry-after": "30"}, 1).retries_ran_out
    assert not raised({}, last).retries_ran_out
