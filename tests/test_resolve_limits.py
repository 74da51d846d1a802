"""A registry's limit in the resolve stage: contention is asked again through the pace, a spent limit pauses.

The registry is a real local HTTP server answering as crates.io does when its one request a second is
taken (``429``, ``Retry-After``, a JSON error) or as RubyGems does (``429`` and no header), for as many
requests as a test says; the client is made as the stage makes its own (`make_async_client`: its retry transport).
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

from bot.http import PACED_BY_CALLER, RateLimited, RetryPolicy, TokenBucket, _Decision, make_async_client
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


def paced() -> TokenBucket:
    """A pace of 45 requests a second: it spaces the sends and holds them for a limit's stated wait."""
    return TokenBucket(3600 * 50)


def test_a_paced_registry_s_brief_limit_is_asked_again_through_the_pace_not_paused(
    registry: tuple[str, Script],
) -> None:
    base, script = registry
    script.refuse = 3
    bucket = paced()
    fetcher, results = fetch_all(base, ["/crates/tool"], bucket)
    assert [getattr(r, "status_code", r) for r in results] == [200]
    assert fetcher.stats.limit_retries == 3 and not fetcher.limited
    assert script.asked == {"/api/v1/crates/tool": 4}  # every send through the pace: no retry outside it
    assert bucket.blocked_until > 0  # the stated wait held the registry's pace, for every request of it


def test_a_paced_registry_s_limit_that_never_ends_pauses_after_its_sends(registry: tuple[str, Script]) -> None:
    base, script = registry
    script.refuse = 1000
    fetcher, results = fetch_all(base, ["/crates/tool"], paced())
    assert isinstance(results[0], RegistryRateLimited) and results[0].registry == "crates"
    assert fetcher.stats.limit_retries == fetcher.limit_rounds - 1
    assert script.asked == {"/api/v1/crates/tool": fetcher.limit_rounds}
    assert list(fetcher.limited) == [base]


@pytest.mark.parametrize(("refused", "paused"), [(POLICY.max_retries, False), (1000, True)])
def test_a_registry_without_a_pace_is_retried_by_the_client_then_pauses(
    registry: tuple[str, Script], refused: int, paused: bool
) -> None:
    base, script = registry
    script.refuse = refused
    fetcher, results = fetch_all(base, ["/pypi/tool/json"])
    assert isinstance(results[0], RegistryRateLimited) is paused
    assert fetcher.stats.limit_retries == 0  # no rounds of the fetcher's own: the client's retries are the rule
    assert script.asked == {"/api/v1/pypi/tool/json": POLICY.max_retries + 1}


def test_a_limit_that_states_no_wait_pauses_at_once(registry: tuple[str, Script]) -> None:
    """RubyGems' 429 says nothing: the header-less minute is longer than the client blocks, a spent limit."""
    base, script = registry
    script.refuse, script.stated_wait = 1000, None
    fetcher, results = fetch_all(base, ["/gems/a", "/gems/b"], paced())
    assert all(isinstance(r, RegistryRateLimited) for r in results)
    assert fetcher.stats.limit_retries == 0
    assert sum(script.asked.values()) <= 2  # type: ignore[union-attr]


def test_a_long_stated_wait_pauses_at_once_and_later_requests_are_not_sent(registry: tuple[str, Script]) -> None:
    base, script = registry
    script.refuse, script.stated_wait = 1000, "30"
    fetcher, results = fetch_all(base, ["/crates/a"], paced(), then=("/crates/b",))
    assert all(isinstance(r, RegistryRateLimited) for r in results) and len(results) == 2
    assert fetcher.stats.limit_retries == 0
    assert script.asked == {"/api/v1/crates/a": 1}  # the later request was refused without being sent


def test_the_retry_rule_hands_a_limit_back_to_a_pacing_caller_and_marks_only_brief_waits() -> None:
    decision = _Decision(POLICY)
    plain = httpx.Request("GET", "https://crates.test/api/v1/crates/x")
    from_pace = httpx.Request("GET", "https://crates.test/api/v1/crates/x", extensions={PACED_BY_CALLER: True})
    last = POLICY.max_retries + 1

    def raised(request: httpx.Request, headers: dict[str, str], attempt: int) -> RateLimited:
        with pytest.raises(RateLimited) as caught:
            decision.after_response(request, httpx.Response(429, headers=headers), attempt)
        return caught.value

    assert decision.after_response(plain, httpx.Response(429, headers={"retry-after": "0.01"}), 1) == 0.01
    assert raised(from_pace, {"retry-after": "0.01"}, 1).brief  # handed back at once, to retry through the pace
    assert raised(plain, {"retry-after": "0.01"}, last).brief  # the client's retries ran out
    assert not raised(from_pace, {"retry-after": "30"}, 1).brief  # too long to wait out
    assert not raised(from_pace, {}, 1).brief  # no stated wait: RubyGems' spent limit
