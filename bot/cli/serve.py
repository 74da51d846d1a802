"""``upkeep serve`` (HTTP API, pages and MCP at /mcp) and ``upkeep mcp`` (MCP over stdio)."""

from __future__ import annotations

from typing import Annotated

import typer

from bot.cli.app import app, context
from bot.query import Ledger


@app.command("serve")
def serve_command(
    ctx: typer.Context,
    host: Annotated[str, typer.Option("--host", help="Address to listen on; only loopback unless told.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="TCP port.")] = 8080,
) -> None:
    """Serve the read-only JSON API (/api/v1/, /openapi.json), the latest review (/), a page per upstream and
    MCP (/mcp). /api/ and /mcp need a bearer token from UPKEEP_API_TOKENS (comma-separated)."""
    import uvicorn

    from bot.api.http import build_app

    app_ctx = context(ctx)
    tokens = app_ctx.secrets.api_tokens
    if not tokens:
        typer.echo("upkeep: UPKEEP_API_TOKENS is not set: /api/ and /mcp will answer 401 to every request", err=True)
    application = build_app(Ledger(app_ctx.engine, app_ctx.settings), tokens, host=host)
    typer.echo(f"upkeep: serving on http://{host}:{port}/ (API /api/v1/, OpenAPI /openapi.json, MCP /mcp)", err=True)
    uvicorn.run(application, host=host, port=port, log_level="warning", access_log=False)


@app.command("mcp")
def mcp_command(ctx: typer.Context) -> None:
    """Serve the MCP tools and the latest review over stdio (for an MCP client that starts upkeep itself)."""
    from bot.api.mcp_server import build_mcp

    app_ctx = context(ctx)
    build_mcp(Ledger(app_ctx.engine, app_ctx.settings)).run("stdio")
