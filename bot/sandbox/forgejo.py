"""A sandbox Forgejo (API v1, as Codeberg runs it), mounted under ``/forgejo``: ``{base}/forgejo/api/v1/...``.

It serves the world's Codeberg-hosted upstreams (``World.forgejo_hosts``), the organisation
(``World.forgejo_orgs``) with its members, and the members' activity, in the shapes of Forgejo's
published API description (the Swagger document each instance serves at ``/swagger.v1.json``;
described here in our own words): repositories, commits with the linked account when the e-mail
belongs to one, releases, raw files, pull requests, users and their activity feeds.

What it holds against a careless client, as Forgejo does:

* every request needs a token (``Authorization: token …`` or ``Bearer …``), else ``401``;
* lists are paged with ``page`` and ``limit`` (at most 50), ``x-total-count`` and ``Link``;
* a commit's ``author`` is null when its e-mail is linked to no account;
* no licence detection: a repository says nothing of its licence;
* the activity feed is newest first, with pushes to other branches, merges of someone else's pull
  requests and comments on issues among the entries; opening a pull request names only its index.

The router applies the shared knobs (latency, faults, ``Knobs.rate_limit`` with ``Retry-After``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import unquote

import httpx

from bot.sandbox.interface import ServiceContext
from bot.sandbox.model import UpstreamRepo, World

PREFIX = "/forgejo"
MAX_LIMIT = 50


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def _error(status: int, message: str) -> httpx.Response:
    return httpx.Response(status, json={"message": message, "url": "https://forgejo.org/docs/latest/user/api-usage/"})


class ForgejoService:
    """The sandbox Forgejo; ``handle`` answers a path below ``/forgejo``."""

    prefix = PREFIX

    def __init__(self, world: World) -> None:
        self.world = world
        hosts = set(world.forgejo_hosts)
        self.repos = {u.full_name.lower(): u for u in world.upstreams if u.host in hosts}
        self.people = {p.forgejo_username.lower(): p for p in world.people if p.forgejo_username}
        self.pulls: dict[tuple[str, int], bool] = {}  # (owner/name, index) -> merged
        self.feeds = self._feeds()

    def handle(self, request: httpx.Request, path: str, context: ServiceContext) -> httpx.Response:
        header = request.headers.get("authorization", "")
        token = header.split(" ", 1)[1] if " " in header else ""
        if token not in self.world.tokens.get("forgejo", []):
            return _error(401, "token is required")
        if request.method != "GET":
            return _error(405, "method not allowed")
        raw = request.url.raw_path.decode("ascii").split("?", 1)[0]
        joined = raw[raw.index("/api/v1") :].removeprefix("/api/v1").strip("/") if "/api/v1" in raw else ""
        params = request.url.params
        web = f"{context.base_url}{PREFIX}"
        routes: list[tuple[str, Callable[..., Any]]] = [
            (r"orgs/([^/]+)", self._org),
            (r"orgs/([^/]+)/members", self._members),
            (r"orgs/([^/]+)/repos", self._org_repos),
            (r"repos/([^/]+)/([^/]+)", self._repo),
            (r"repos/([^/]+)/([^/]+)/commits", self._commits),
            (r"repos/([^/]+)/([^/]+)/releases", self._releases),
            (r"repos/([^/]+)/([^/]+)/raw/(.+)", self._raw),
            (r"repos/([^/]+)/([^/]+)/pulls/(\d+)", self._pull),
            (r"users/([^/]+)", self._user),
            (r"users/([^/]+)/activities/feeds", self._feed),
        ]
        for pattern, route in routes:
            match = re.fullmatch(pattern, joined)
            if match:
                found = route(params, web, *(unquote(g) for g in match.groups()))
                if isinstance(found, httpx.Response):
                    return found
                if isinstance(found, list):
                    return _paged(request, found)
                return httpx.Response(200, json=found)
        return _error(404, "not found")

    # ------------------------------------------------------------------ organisations and users

    def _org(self, params: httpx.QueryParams, web: str, org: str) -> Any:
        owners = {u.owner.lower() for u in self.repos.values() if u.owner_type == "Organization"}
        if org in self.world.forgejo_orgs or org.lower() in owners:
            return {"id": 1, "username": org, "name": org}
        return _error(404, "org not found")

    def _members(self, params: httpx.QueryParams, web: str, org: str) -> Any:
        if org not in self.world.forgejo_orgs:
            return _error(404, "org not found")
        return [self._user_json(name) for name in sorted(self.world.forgejo_orgs[org])]

    def _org_repos(self, params: httpx.QueryParams, web: str, org: str) -> Any:
        return [] if org in self.world.forgejo_orgs else _error(404, "org not found")

    def _user_json(self, name: str) -> dict[str, Any]:
        person = self.people.get(name.lower())
        return {
            "id": 300 + sorted(self.people).index(name.lower()),
            "login": name,
            "full_name": person.name if person else "",
        }

    def _user(self, params: httpx.QueryParams, web: str, name: str) -> Any:
        return self._user_json(name) if name.lower() in self.people else _error(404, "user does not exist")

    # ------------------------------------------------------------------ repositories

    def _find(self, owner: str, name: str) -> UpstreamRepo | None:
        return self.repos.get(f"{owner}/{name}".lower())

    def _repo(self, params: httpx.QueryParams, web: str, owner: str, name: str) -> Any:
        up = self._find(owner, name)
        if up is None:
            return _error(404, "repository does not exist")
        return {
            "id": up.database_id,
            "full_name": up.full_name,
            "name": up.name,
            "owner": {"login": up.owner},
            "default_branch": up.default_branch,
            "archived": up.archived,
            "fork": False,
            "private": False,
            "html_url": f"{web}/{up.full_name}",
            "description": up.description,
            "updated_at": _iso(up.pushed_at) if up.pushed_at else None,
        }

    def _commits(self, params: httpx.QueryParams, web: str, owner: str, name: str) -> Any:
        up = self._find(owner, name)
        if up is None:
            return _error(404, "repository does not exist")
        if params.get("sha", up.default_branch) != up.default_branch:
            return _error(404, "branch does not exist")
        since = _moment(params["since"]) if "since" in params else None
        until = _moment(params["until"]) if "until" in params else None
        return [
            {
                "sha": c.sha,
                "commit": {
                    "message": c.message,
                    "author": {"name": c.author_name, "email": c.author_email, "date": _iso(c.committed_at)},
                },
                "author": {"login": c.author_login} if c.author_login else None,
            }
            for c in up.commits
            if (since is None or c.committed_at >= since) and (until is None or c.committed_at <= until)
        ]

    def _releases(self, params: httpx.QueryParams, web: str, owner: str, name: str) -> Any:
        up = self._find(owner, name)
        if up is None:
            return _error(404, "repository does not exist")
        ordered = sorted(up.releases, key=lambda r: r.published_at, reverse=True)
        return [{"tag_name": r.tag, "name": r.name, "published_at": _iso(r.published_at)} for r in ordered]

    def _raw(self, params: httpx.QueryParams, web: str, owner: str, name: str, path: str) -> Any:
        up = self._find(owner, name)
        if up is None:
            return _error(404, "repository does not exist")
        files = dict(up.files)
        if up.funding_yml is not None:
            files[".github/FUNDING.yml"] = up.funding_yml
        if up.funding_json is not None:
            files["funding.json"] = up.funding_json
        text = files.get(path)
        return _error(404, "file does not exist") if text is None else httpx.Response(200, text=text)

    def _pull(self, params: httpx.QueryParams, web: str, owner: str, name: str, index: str) -> Any:
        merged = self.pulls.get((f"{owner}/{name}".lower(), int(index)))
        if merged is None:
            return _error(404, "pull request does not exist")
        return {"number": int(index), "merged": merged, "state": "closed" if merged else "open"}

    # ------------------------------------------------------------------ activity

    def _feeds(self) -> dict[str, list[dict[str, Any]]]:
        """username → activities, newest first, built once from the world's contributions."""
        by_login = {p.login: p for p in self.world.people if p.forgejo_username}
        out: dict[str, list[dict[str, Any]]] = {}
        serial = 0
        for c in sorted(self.world.contributions, key=lambda c: (c.occurred_at, c.login, c.upstream, c.kind)):
            person = by_login.get(c.login)
            host, _, path = c.upstream.partition("/")
            up = self.repos.get(path) if host in self.world.forgejo_hosts else None
            if person is None or up is None or person.forgejo_username is None:
                continue
            feed = out.setdefault(person.forgejo_username.lower(), [])
            repo = {"full_name": up.full_name}
            for n in range(c.count):
                serial += 1
                at = _iso(c.occurred_at + timedelta(minutes=n))
                base = {"id": serial, "repo": repo, "created": at, "is_private": False}
                if c.kind == "commit":
                    content = json.dumps({"Commits": [{"Sha1": f"{serial:040x}"}], "Len": 1})
                    feed.append(
                        {
                            **base,
                            "op_type": "commit_repo",
                            "ref_name": f"refs/heads/{up.default_branch}",
                            "content": content,
                        }
                    )
                    side = json.dumps({"Commits": [{"Sha1": f"{serial:039x}f"}] * 2, "Len": 2})
                    feed.append(
                        {
                            **base,
                            "id": -serial,
                            "op_type": "commit_repo",
                            "ref_name": f"refs/heads/topic-{serial}",
                            "content": side,
                        }
                    )
                elif c.kind == "review":
                    feed.append({**base, "op_type": "approve_pull_request", "content": f"{serial}|"})
                elif c.kind == "issue":
                    feed.append({**base, "op_type": "create_issue", "content": f"{serial}|an issue"})
                    feed.append({**base, "id": -serial, "op_type": "comment_issue", "content": f"{serial}|+1"})
                else:
                    merged = c.kind == "pr_merged"
                    self.pulls[(up.full_name.lower(), serial)] = merged
                    feed.append({**base, "op_type": "create_pull_request", "content": f"{serial}|a change"})
        for feed in out.values():
            feed.sort(key=lambda a: (a["created"], a["id"]), reverse=True)
        return out

    def _feed(self, params: httpx.QueryParams, web: str, name: str) -> Any:
        if name.lower() not in self.people:
            return _error(404, "user does not exist")
        return self.feeds.get(name.lower(), [])


def _paged(request: httpx.Request, items: list[Any]) -> httpx.Response:
    params = request.url.params
    limit = max(1, min(MAX_LIMIT, int(params.get("limit", MAX_LIMIT))))
    page = max(1, int(params.get("page", 1)))
    headers = {"x-total-count": str(len(items))}
    if page * limit < len(items):
        headers["link"] = f'<{request.url.copy_merge_params({"page": str(page + 1)})}>; rel="next"'
    return httpx.Response(200, headers=headers, json=items[(page - 1) * limit : page * limit])
