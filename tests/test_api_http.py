"""``upkeep serve`` on a real loopback port over a sandbox-filled store: the JSON API, tokens, ETags,
the OpenAPI document under schemathesis, and MCP over streamable HTTP with the SDK's own client."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client

from bot.api.auth import token_matches
from bot.query.models import UpstreamHistory, UpstreamPage, UpstreamRecord
from tests.api_fixtures import OTHER_TOKEN, TOKEN, ApiStore, Served, auth, free_port
from tests.mcp_calls import EXPECTED_TOOLS, call_every_tool

pytest_plugins = ["tests.sandbox_fixtures", "tests.api_fixtures"]

SLOW = 120.0  # the review pages render the whole review (charts included) on each request

GUARDED = ["/api/v1/upstreams", "/api/v1/changes", "/api/v1/status", "/api/v1/upstreams/github.com/a/b", "/mcp"]


@pytest.mark.parametrize("path", GUARDED)
def test_api_and_mcp_refuse_without_a_token_or_with_a_wrong_one(served: Served, path: str) -> None:
    for headers in (
        {},
        auth("wrong"),
        auth(TOKEN + "x"),
        {"Authorization": TOKEN},
        {"Authorization": "Basic " + TOKEN},
    ):
        response = httpx.get(served.base_url + path, headers=headers)
        assert response.status_code == 401, (path, headers)
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert TOKEN not in response.text
    assert httpx.get(served.base_url + "/api/v1/status", headers=auth(OTHER_TOKEN)).status_code == 200


def test_tokens_compare_whole_values_only() -> None:
    from pydantic import SecretStr

    tokens = (SecretStr("abc"), SecretStr("defg"))
    assert token_matches("defg", tokens) and token_matches("abc", tokens)
    assert not token_matches("ab", tokens) and not token_matches("", tokens) and not token_matches("abcd", tokens)
    assert not token_matches("abc", ())


def test_the_list_pages_through_every_upstream(served: Served) -> None:
    first = UpstreamPage.model_validate_json(
        httpx.get(served.base_url + "/api/v1/upstreams?limit=10", headers=auth()).content
    )
    keys: list[str] = []
    for offset in range(0, first.total, 10):
        page = httpx.get(f"{served.base_url}/api/v1/upstreams?limit=10&offset={offset}", headers=auth())
        keys += [row.upstream for row in UpstreamPage.model_validate_json(page.content).items]
    assert len(keys) == len(set(keys)) == first.total
    assert keys == [row.upstream for row in served.store.ledger.upstreams(limit=500).items]


def test_one_upstream_its_history_and_404(served: Served) -> None:
    key = served.store.held_out
    record = UpstreamRecord.model_validate_json(
        httpx.get(f"{served.base_url}/api/v1/upstreams/{key}", headers=auth()).content
    )
    assert record == served.store.ledger.upstream(key)
    history = UpstreamHistory.model_validate_json(
        httpx.get(f"{served.base_url}/api/v1/upstreams/{key}/history", headers=auth()).content
    )
    assert len(history.points) == 3
    missing = httpx.get(f"{served.base_url}/api/v1/upstreams/github.com/nobody/nothing", headers=auth())
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"


def test_bad_parameters_are_400_naming_the_parameter(served: Served) -> None:
    for query, name in (
        ("limit=0", "limit"),
        ("sort=size", "sort"),
        ("min_gap=x", "min_gap"),
        ("scored=yes", "scored"),
    ):
        response = httpx.get(f"{served.base_url}/api/v1/upstreams?{query}", headers=auth())
        assert response.status_code == 400 and name in response.json()["detail"]
    assert httpx.get(f"{served.base_url}/api/v1/changes?since=soon", headers=auth()).status_code == 400


@pytest.mark.parametrize("path", ["/api/v1/upstreams?sort=gap", "/api/v1/changes", "/openapi.json", "/", "/upstreams"])
def test_etags_answer_304_when_nothing_changed(served: Served, path: str) -> None:
    first = httpx.get(served.base_url + path, headers=auth(), timeout=SLOW)
    assert first.status_code == 200
    tag = first.headers["etag"]
    again = httpx.get(served.base_url + path, headers={**auth(), "If-None-Match": tag}, timeout=SLOW)
    assert again.status_code == 304 and again.content == b""
    stale = httpx.get(served.base_url + path, headers={**auth(), "If-None-Match": '"0000"'}, timeout=SLOW)
    assert stale.status_code == 200 and stale.content == first.content


def test_the_server_is_read_only(served: Served) -> None:
    for method in ("POST", "PUT", "DELETE", "PATCH"):
        response = httpx.request(method, served.base_url + "/api/v1/upstreams", headers=auth())
        assert response.status_code == 405, method


@pytest.fixture(scope="module")
def api_schema(served: Served) -> Any:
    return schemathesis.openapi.from_url(served.base_url + "/openapi.json")


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_the_api_keeps_its_openapi_document(case: Any, served: Served) -> None:
    case.call_and_validate(base_url=served.base_url, headers=auth())


def test_mcp_over_http_lists_and_calls_every_tool(served: Served) -> None:
    async def session() -> dict[str, Any]:
        async with (
            httpx.AsyncClient(headers=auth(), timeout=SLOW) as http,
            streamable_http_client(served.base_url + "/mcp", http_client=http) as (read, write, _),
            ClientSession(read, write) as client,
        ):
            await client.initialize()
            return await call_every_tool(client, served.store)

    answers = anyio.run(session)
    assert set(answers) >= EXPECTED_TOOLS


def test_mcp_over_http_refuses_a_wrong_token(served: Served) -> None:
    async def session() -> None:
        async with (
            httpx.AsyncClient(headers=auth("wrong")) as http,
            streamable_http_client(served.base_url + "/mcp", http_client=http) as (read, write, _),
            ClientSession(read, write) as client,
        ):
            await client.initialize()

    with pytest.raises(BaseException) as caught:  # the SDK surfaces the 401 inside an exception group
        anyio.run(session)
    assert "401" in repr(caught.value) or "Unauthorized" in repr(caught.value)


def test_upkeep_serve_listens_on_loopback_and_guards_the_api(api_store: ApiStore) -> None:
    """The command as a person runs it: a subprocess, the token from the environment, loopback by default."""
    port = free_port()
    env = {**os.environ, "UPKEEP_API_TOKENS": f" {TOKEN} ,{OTHER_TOKEN}", "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "bot", "--database-url", api_store.db_url, "serve", "--port", str(port)]
    process = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stderr is not None
        line = process.stderr.readline()
        assert f"serving on http://127.0.0.1:{port}/" in line and TOKEN not in line
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                answer = httpx.get(base + "/openapi.json")
                break
            except httpx.ConnectError:
                assert time.monotonic() < deadline, "upkeep serve did not answer"
                time.sleep(0.2)
        assert answer.status_code == 200 and answer.json()["openapi"].startswith("3.1")
        assert httpx.get(base + "/api/v1/upstreams").status_code == 401
        assert httpx.get(base + "/api/v1/upstreams", headers=auth(OTHER_TOKEN)).status_code == 200
        bound = {conn.laddr for conn in listening_sockets(process.pid)}
        assert bound == {("127.0.0.1", port)}
    finally:
        process.terminate()
        process.wait(timeout=30)


def listening_sockets(pid: int) -> list[Any]:
    """The listening TCP sockets of ``pid`` from /proc (no extra package): (address, port) pairs."""
    from types import SimpleNamespace

    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            target = os.readlink(fd)
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    found = []
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, state, inode = fields[1], fields[3], fields[9]
        if state == "0A" and inode in inodes:  # LISTEN
            address, port = local.split(":")
            octets = [str(int(address[i : i + 2], 16)) for i in (6, 4, 2, 0)]
            found.append(SimpleNamespace(laddr=(".".join(octets), int(port, 16))))
    return found
