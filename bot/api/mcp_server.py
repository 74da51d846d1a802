"""The MCP server (official ``mcp`` SDK): read-only tools mirroring :class:`bot.query.Ledger`, and the
latest review as a resource. ``upkeep mcp`` serves it over stdio; ``upkeep serve`` mounts it at ``/mcp``.

Tool descriptions are written for a model: what the tool answers, the units, and when to use it.
Each tool returns a record of :mod:`bot.query.models`, so its output schema is the API's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, TypeVar

import anyio.to_thread
from mcp.server.fastmcp import FastMCP
from mcp.types import ToolAnnotations
from pydantic import Field

from bot.query import Ledger
from bot.query.history import parse_since
from bot.query.models import (
    Changes,
    PackageUsers,
    PersonIdentity,
    PledgeOut,
    SortKey,
    StatusOut,
    UnresolvedOut,
    UpstreamHistory,
    UpstreamPage,
    UpstreamRecord,
)

REVIEW_URI = "upkeep://review/latest"
READ_ONLY = ToolAnnotations(readOnlyHint=True, destructiveHint=False, idempotentHint=True, openWorldHint=False)
INSTRUCTIONS = (
    "upkeep tracks which open-source upstreams (source repositories, host/owner/name) an organisation depends "
    "on, through which packages and internal repositories, and what it gives back (code contributions and money). "
    "It scores each upstream: usage share × risk gives an expected share of the organisation's investment; the "
    "gap is expected share − actual investment share (shares are fractions of 1; a positive gap means "
    "under-invested). Amounts are per year in the snapshot's reporting currency unless a field says otherwise. "
    "Start with list_upstreams, then explain_upstream for one of them. Everything is read-only."
)

T = TypeVar("T")
UpstreamKeyArg = Annotated[
    str, Field(description="The upstream's source repository as host/owner/name, e.g. github.com/psf/requests.")
]


def build_mcp(ledger: Ledger, *, host: str = "127.0.0.1") -> FastMCP:
    """An MCP server answering from ``ledger``; ``host`` is where ``upkeep serve`` listens (DNS-rebinding guard)."""
    server = FastMCP(
        "upkeep", instructions=INSTRUCTIONS, host=host, stateless_http=True, json_response=True, log_level="WARNING"
    )

    async def run(call: Callable[[], T]) -> T:
        return await anyio.to_thread.run_sync(call)

    @server.tool(annotations=READ_ONLY)
    async def list_upstreams(
        ecosystem: Annotated[
            str | None, Field(description="Only upstreams publishing packages here: pypi, npm, ...")
        ] = None,
        team: Annotated[str | None, Field(description="Only upstreams whose heaviest user is this team.")] = None,
        min_gap: Annotated[float | None, Field(description="Only gaps at least this share (0.01 = 1 %).")] = None,
        scored: Annotated[bool | None, Field(description="true: only scored; false: only those left out.")] = None,
        sort: Annotated[SortKey, Field(description="Sort key; priority = max(gap, 0) × risk.")] = "priority",
        descending: bool = True,
        offset: Annotated[int, Field(ge=0)] = 0,
        limit: Annotated[int, Field(ge=1, le=500)] = 20,
    ) -> UpstreamPage:
        """List the upstreams the organisation depends on, from the latest gap snapshot, with usage share, risk,
        investment share, gap (expected − invested, fractions of 1) and the yearly amount still recommended.
        Use it to answer "where do we under-invest?" or to find an upstream's exact key; upstreams left out of
        the model are listed with scored=false and the reason. Paged: total says how many match."""
        return await run(
            lambda: ledger.upstreams(
                ecosystem=ecosystem,
                team=team,
                min_gap=min_gap,
                scored=scored,
                sort=sort,
                descending=descending,
                offset=offset,
                limit=limit,
            )
        )

    @server.tool(annotations=READ_ONLY)
    async def explain_upstream(upstream: UpstreamKeyArg) -> UpstreamRecord:
        """Explain one upstream: its packages and the internal repositories using them, contributions by person,
        quarter and kind, money by channel and currency (trailing window), health signals with their sources,
        licence drift, and the score's arithmetic term by term (terms, explanation). Use it to answer "why is
        this upstream ranked here?" or "what do we know about X?". Renamed repositories are followed."""
        return await run(lambda: ledger.upstream(upstream))

    @server.tool(annotations=READ_ONLY)
    async def upstream_history(upstream: UpstreamKeyArg) -> UpstreamHistory:
        """How one upstream's usage share, risk, investment share, gap and recommended amount moved across every
        stored snapshot, oldest first. Use it for trends ("how did this gap move over the last quarters?")."""
        return await run(lambda: ledger.history(upstream))

    @server.tool(annotations=READ_ONLY)
    async def what_changed(
        since: Annotated[
            str | None,
            Field(
                description="ISO date (YYYY-MM-DD) or instant; compare with the last snapshot at or before it. "
                "Omit to compare the latest snapshot with the one before."
            ),
        ] = None,
    ) -> Changes:
        """What changed between two gap snapshots: gaps newly open and closed (above the threshold share), the
        biggest moves, each with reasons (usage, risk signals, investment), risk changes, and payments received
        since. Use it for "what changed since last week, and why?"."""
        moment = parse_since(since)
        return await run(lambda: ledger.changes(since=moment))

    @server.tool(annotations=READ_ONLY)
    async def who_uses_package(
        package: Annotated[
            str, Field(description="A package key without version (pypi/requests, npm/@babel/core) or a bare name.")
        ],
    ) -> PackageUsers:
        """Which internal repositories use a package (with version, direct or transitive, runtime or development)
        and the upstream it resolved to. Use it for "which of our repositories use X?"."""
        return await run(lambda: ledger.package_users(package))

    @server.tool(annotations=READ_ONLY)
    async def pledge_status(
        quarter: Annotated[
            str | None, Field(description="A quarter like 2026Q3; default: the last complete one.")
        ] = None,
    ) -> PledgeOut:
        """Where the organisation stands against the Open Source Pledge (USD 2,000 per developer per year): money
        given over the trailing twelve months (reporting currency and USD), developers counted, USD per developer.
        Same figures as the quarterly review."""
        return await run(lambda: ledger.pledge(quarter=quarter))

    @server.tool(annotations=READ_ONLY)
    async def unresolved_packages() -> list[UnresolvedOut]:
        """Packages upkeep could not map to a source repository, with the reason and how many internal repositories
        use them. Their usage counts towards no upstream: use this to see what the scores leave out."""
        return await run(ledger.unresolved)

    @server.tool(annotations=READ_ONLY)
    async def list_people() -> list[PersonIdentity]:
        """The people whose upstream contributions count for the organisation, one row per account, with where it
        came from (org membership, config, roster line) and the days it counts."""
        return await run(ledger.people)

    @server.tool(annotations=READ_ONLY)
    async def run_status() -> StatusOut:
        """upkeep's own health: the last pipeline runs and their stages, the scheduler's leader and next runs,
        the delivery outbox by state, and the GitHub rate-limit budget left as last seen."""
        return await run(ledger.status)

    @server.resource(REVIEW_URI, name="latest-review", mime_type="text/markdown")
    async def latest_review() -> str:
        """The latest quarterly OSPO review (Markdown): headline figures, top gaps, risks, what was given, Pledge."""
        return (await run(ledger.review)).markdown

    return server


__all__ = ["REVIEW_URI", "build_mcp"]
