"""``upkeep mcp`` as an MCP client starts it: a subprocess speaking MCP over stdio, driven by the SDK's own
client, listing and calling every tool on a sandbox-filled store."""

from __future__ import annotations

import os
import sys
from typing import Any

import anyio
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

from tests.api_fixtures import ApiStore
from tests.mcp_calls import EXPECTED_TOOLS, call_every_tool

pytest_plugins = ["tests.sandbox_fixtures", "tests.api_fixtures"]


def test_mcp_over_stdio_lists_and_calls_every_tool(api_store: ApiStore) -> None:
    # The subprocess reads the same store with default settings and the real clock, so the answers that
    # depend on either (the review's date, the Pledge's rates) are compared in the HTTP test; here their shape.
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "bot", "--database-url", api_store.db_url, "mcp"],
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )

    async def session() -> dict[str, Any]:
        async with stdio_client(params) as (read, write), ClientSession(read, write) as client:
            await client.initialize()
            return await call_every_tool(client, api_store, same_clock=False)

    answers = anyio.run(session)
    assert set(answers) == EXPECTED_TOOLS
    assert answers["pledge_status"]["usd_per_developer_target"] == 2000.0
