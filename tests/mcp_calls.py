"""One helper for the MCP tests over stdio and HTTP: list every tool, call each, check the answers
against the query layer's own answers on the same store."""

from __future__ import annotations

from typing import Any

from mcp import ClientSession

from bot.api.mcp_server import REVIEW_URI
from tests.api_fixtures import ApiStore

EXPECTED_TOOLS = {
    "list_upstreams",
    "explain_upstream",
    "upstream_history",
    "what_changed",
    "who_uses_package",
    "pledge_status",
    "unresolved_packages",
    "list_people",
    "run_status",
}


async def call_every_tool(client: ClientSession, store: ApiStore, *, same_clock: bool = True) -> dict[str, Any]:
    """Call every listed tool with sensible arguments; return name → structured answer.

    ``same_clock``: the server shares the fixture's clock and settings (in-process), so answers that depend
    on them (the Pledge, the review's text) must equal the query layer's too.
    """
    tools = (await client.list_tools()).tools
    names = {t.name for t in tools}
    assert names == EXPECTED_TOOLS
    assert any("explain" in n for n in names)
    for tool in tools:
        assert tool.description and len(tool.description) > 80, tool.name  # written for a model
        assert tool.outputSchema is not None, tool.name
        assert tool.annotations is not None and tool.annotations.readOnlyHint, tool.name
    ledger = store.ledger
    package = ledger.upstream(store.held_out).packages[0].package
    arguments: dict[str, dict[str, Any]] = {
        "list_upstreams": {"limit": 5, "sort": "gap"},
        "explain_upstream": {"upstream": store.held_out},
        "upstream_history": {"upstream": store.held_out},
        "what_changed": {},
        "who_uses_package": {"package": package},
        "pledge_status": {},
        "unresolved_packages": {},
        "list_people": {},
        "run_status": {},
    }
    answers: dict[str, Any] = {}
    for name in sorted(names):
        result = await client.call_tool(name, arguments[name])
        assert not result.isError, (name, result.content)
        assert result.structuredContent is not None, name
        answers[name] = result.structuredContent
    assert answers["list_upstreams"]["items"] == [
        row.model_dump(mode="json") for row in ledger.upstreams(limit=5, sort="gap").items
    ]
    assert answers["explain_upstream"]["upstream"] == store.held_out
    assert answers["explain_upstream"]["terms"] and answers["explain_upstream"]["explanation"]
    assert [p["scored"] for p in answers["upstream_history"]["points"]] == [True, False, True]
    assert store.held_out in {c["upstream"] for c in answers["what_changed"]["new_gaps"]}
    assert answers["who_uses_package"]["upstream"] == store.held_out
    if same_clock:
        assert answers["pledge_status"] == ledger.pledge().model_dump(mode="json")
    else:
        assert set(answers["pledge_status"]) == set(ledger.pledge().model_dump(mode="json"))
    assert answers["unresolved_packages"]["result"] == [u.model_dump(mode="json") for u in ledger.unresolved()]
    assert len(answers["list_people"]["result"]) == len(ledger.people())
    unknown = await client.call_tool("explain_upstream", {"upstream": "github.com/nobody/nothing"})
    assert unknown.structuredContent is not None and unknown.structuredContent["known"] is False
    resources = (await client.list_resources()).resources
    assert [str(r.uri) for r in resources] == [REVIEW_URI]
    review = await client.read_resource(REVIEW_URI)
    text = getattr(review.contents[0], "text", "")
    assert text.startswith("#") and "Pledge" in text
    if same_clock:
        assert text == ledger.review().markdown
    return answers
