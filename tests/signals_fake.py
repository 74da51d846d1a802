"""A small fake of GitHub (GraphQL + REST contents) and deps.dev for the signals tests.

GraphQL queries are *executed* with graphql-core on GitHub's published schema, so a query the
real API would reject fails here too; resolvers answer from sandbox-model ``UpstreamRepo``s.
REST answers carry an ``ETag`` and turn a matching ``If-None-Match`` into ``304``.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections import Counter
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

import httpx
import yaml
from graphql import graphql_sync

from bot.sandbox.github_graphql import github_schema  # GitHub's published IDL (octokit/graphql-schema)
from bot.sandbox.model import UpstreamRepo

BASE = "http://fake.test"
GRAPHQL_URL = f"{BASE}/graphql"
API_URL = f"{BASE}/api/v3"
DEPSDEV_URL = f"{BASE}/depsdev"
_PLATFORMS = {
    "github": "GITHUB",
    "open_collective": "OPEN_COLLECTIVE",
    "ko_fi": "KO_FI",
    "tidelift": "TIDELIFT",
    "custom": "CUSTOM",
    "patreon": "PATREON",
    "liberapay": "LIBERAPAY",
    "polar": "POLAR",
    "thanks_dev": "THANKS_DEV",
}


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None


class RepoNotFound(Exception):
    pass


class FakeGitHub:
    """Serves ``upstreams`` the way GitHub and deps.dev would; ``scan`` picks the licence shown."""

    def __init__(self, upstreams: list[UpstreamRepo], *, scan: int = 0) -> None:
        self.repos = {(u.owner.lower(), u.name.lower()): u for u in upstreams}
        self.scan = scan
        self.calls: Counter[str] = Counter()
        self.queries: list[dict[str, Any]] = []
        self.auth: list[str | None] = []

    # ------------------------------------------------------------------ GraphQL resolvers

    def repository(self, _info: Any, owner: str, name: str, **_: Any) -> dict[str, Any]:
        up = self.repos.get((owner.lower(), name.lower()))
        if up is None:
            raise RepoNotFound(f"Could not resolve to a Repository with the name '{owner}/{name}'.")
        licence = up.licenses[min(self.scan, len(up.licenses) - 1)] if up.licenses else None
        links = []
        for key, value in (yaml.safe_load(up.funding_yml or "") or {}).items():
            for handle in value if isinstance(value, list) else [value]:
                if handle and key in _PLATFORMS:
                    url = handle if key == "custom" else f"https://example.test/{key}/{handle}"
                    links.append({"platform": _PLATFORMS[key], "url": url})
        newest_release = max(up.releases, key=lambda r: r.published_at, default=None)
        return {
            "nameWithOwner": up.full_name,
            "isArchived": up.archived,
            "pushedAt": _iso(up.pushed_at),
            "licenseInfo": {"spdxId": licence, "key": licence.lower()} if licence else None,
            "fundingLinks": links,
            "owner": {
                "__typename": up.owner_type,
                "login": up.owner,
                "hasSponsorsListing": up.owner_has_sponsors_listing,
            },
            "latestRelease": (
                {"publishedAt": _iso(newest_release.published_at), "tagName": newest_release.tag}
                if newest_release
                else None
            ),
            "object": lambda _info, expression=None, **_: self.blob(up, expression),
            "defaultBranchRef": {
                "name": up.default_branch,
                "target": {
                    "__typename": "Commit",
                    "committedDate": _iso(up.commits[0].committed_at) if up.commits else None,
                    "history": lambda _info, **args: self.history(up, **args),
                },
            },
        }

    def blob(self, up: UpstreamRepo, expression: str | None) -> dict[str, Any] | None:
        text = {"HEAD:funding.json": up.funding_json, "HEAD:.github/FUNDING.yml": up.funding_yml}.get(expression or "")
        return {"__typename": "Blob", "text": text} if text else None

    def history(
        self, up: UpstreamRepo, first: int | None = None, after: str | None = None, since: str | None = None, **_: Any
    ) -> dict[str, Any]:
        floor = datetime.fromisoformat(since.replace("Z", "+00:00")) if since else None
        commits = [c for c in up.commits if floor is None or c.committed_at >= floor]
        start = int(after) if after else 0
        page = commits[start : start + (first or 100)]
        end = start + len(page)
        return {
            "totalCount": len(commits),
            "pageInfo": {"hasNextPage": end < len(commits), "endCursor": str(end) if page else None},
            "nodes": [
                {
                    "committedDate": _iso(c.committed_at),
                    "author": {
                        "email": c.author_email,
                        "name": c.author_name,
                        "user": {"login": c.author_login} if c.author_login else None,
                    },
                }
                for c in page
            ],
        }

    # ------------------------------------------------------------------ HTTP

    def handler(self, request: httpx.Request) -> httpx.Response:
        url = str(request.url)
        if url == GRAPHQL_URL and request.method == "POST":
            return self._graphql(request)
        if url.startswith(f"{API_URL}/repos/") and url.endswith("/contents/funding.json"):
            owner, name = url.removeprefix(f"{API_URL}/repos/").split("/")[:2]
            up = self.repos.get((unquote(owner).lower(), unquote(name).lower()))
            self.calls["rest"] += 1
            if up is None or not up.funding_json:
                return httpx.Response(404, json={"message": "Not Found"})
            body = {"name": "funding.json", "encoding": "base64", "content": base64.b64encode(up.funding_json.encode())}
            body["content"] = body["content"].decode()
            return self._conditional(request, json.dumps(body).encode(), "rest")
        if url.startswith(f"{DEPSDEV_URL}/v3/projects/"):
            key = unquote(url.removeprefix(f"{DEPSDEV_URL}/v3/projects/"))
            self.calls["depsdev"] += 1
            up = next((u for u in self.repos.values() if u.key == key), None)
            if up is None or up.scorecard is None:
                return httpx.Response(404, json={"error": "project not found"})
            project = {"projectKey": {"id": key}, "scorecard": {"overallScore": up.scorecard}}
            return self._conditional(request, json.dumps(project).encode(), "depsdev")
        return httpx.Response(404, json={"message": f"fake: no route for {request.method} {url}"})

    def _conditional(self, request: httpx.Request, body: bytes, kind: str) -> httpx.Response:
        etag = f'"{hashlib.sha256(body).hexdigest()[:16]}"'
        if request.headers.get("if-none-match") == etag:
            self.calls[f"{kind}_304"] += 1
            return httpx.Response(304, headers={"ETag": etag})
        return httpx.Response(200, content=body, headers={"ETag": etag, "Content-Type": "application/json"})

    def _graphql(self, request: httpx.Request) -> httpx.Response:
        self.calls["graphql"] += 1
        self.auth.append(request.headers.get("authorization"))
        payload = json.loads(request.content)
        self.queries.append(payload)
        result = graphql_sync(
            github_schema(), payload["query"], root_value=self, variable_values=payload.get("variables")
        )
        out: dict[str, Any] = {"data": result.data}
        if result.errors:
            out["errors"] = [
                {**e.formatted, **({"type": "NOT_FOUND"} if "Could not resolve" in e.message else {})}
                for e in result.errors
            ]
        return httpx.Response(200, json=out)
