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
  requests and comments on issues among the entries; opening a pull request names only its index;
* issues (on the organisation's ``ospo`` repository, where upkeep's issues go when ``[issues].forge``
  names the Forgejo): ``state`` is ``open`` or ``closed`` and there is no close reason; labels are
  objects, and creating an issue or adding labels takes label **ids** (``GET …/labels`` maps names);
  an edit is a ``PATCH`` (``state`` closes or reopens); closes and reopens are read from the issue's
  ``timeline`` (``type`` ``close``/``reopen``);
* the organisation's own repositories (service option ``repositories``) with their committed files
  and their latest release's assets (``GET …/releases/latest``, ``404`` without a release; each asset
  downloaded from its ``browser_download_url``, a web path ``/{owner}/{repo}/releases/download/{tag}/{name}``
  that takes the same token).

Requests to the operations upkeep's issue sink and inventory call are checked against
``data/forgejo-issues-v1.yaml`` (written for upkeep from Forgejo's published description): a wrong
parameter or body is refused with ``422``, as Forgejo refuses it.

The router applies the shared knobs (latency, faults, ``Knobs.rate_limit`` with ``Retry-After``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, unquote

import httpx

from bot.sandbox.api_spec import ApiDescription, SpecError
from bot.sandbox.interface import ServiceContext
from bot.sandbox.model import Issue, IssueComment, IssueEvent, UpstreamRepo, World

PREFIX = "/forgejo"
MAX_LIMIT = 50
USER = "upkeep-bot"  # the account the issue token belongs to
LABEL_COLOURS = "#e11d21"


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def _error(status: int, message: str) -> httpx.Response:
    return httpx.Response(status, json={"message": message, "url": "https://forgejo.org/docs/latest/user/api-usage/"})


class ForgejoService:
    """The sandbox Forgejo; ``handle`` answers a path below ``/forgejo``."""

    prefix = PREFIX

    def __init__(self, world: World, repositories: Mapping[str, Mapping[str, Any]] | None = None) -> None:
        """``repositories``: the organisation's own repositories, ``org/name`` → ``{"files": {path: text},
        "assets": {name: text}, "fork": bool, "archived": bool}`` (``assets``: the latest release's; an
        ``asset_origin`` serves their downloads from another address, as an instance behind a CDN does)."""
        self.world = world
        self.own = {path.lower(): (path, dict(spec)) for path, spec in (repositories or {}).items()}
        self.ospo_path = f"{world.orgs[0]}/ospo"  # where upkeep's issues go when [issues].forge names the Forgejo
        self.labels: dict[str, int] = {}  # the ospo repository's labels, name -> id
        self.api = ApiDescription(("forgejo-issues-v1.yaml",))
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
        raw = request.url.raw_path.decode("ascii").split("?", 1)[0]
        joined = raw[raw.index("/api/v1") :].removeprefix("/api/v1").strip("/") if "/api/v1" in raw else ""
        described = self.api.match(request.method, f"/api/v1/{joined}")
        if described is not None:  # what the published description refuses, Forgejo refuses (422)
            try:
                self.api.check(described[0], request)
            except SpecError as exc:
                return _error(422, str(exc))
        params = request.url.params
        web = f"{context.base_url}{PREFIX}"
        download = re.fullmatch(r"([^/]+)/([^/]+)/releases/download/[^/]+/([^/]+)", raw.removeprefix(PREFIX).strip("/"))
        if download and request.method == "GET":
            return self._download(*(unquote(g) for g in download.groups()))
        ospo = re.fullmatch(r"repos/([^/]+)/([^/]+)/(issues|labels)(?:/(\d+))?(?:/(comments|timeline|labels))?", joined)
        if ospo and f"{unquote(ospo.group(1))}/{unquote(ospo.group(2))}".lower() == self.ospo_path.lower():
            return self._ospo(request, web, ospo.group(3), ospo.group(4), ospo.group(5))
        if request.method != "GET":
            return _error(405, "method not allowed")
        own = re.fullmatch(r"repos/([^/]+)/([^/]+)(?:/(releases/latest|raw/.+))?", joined)
        if own and f"{unquote(own.group(1))}/{unquote(own.group(2))}".lower() in self._own_paths():
            return self._own_repo(request, web, f"{unquote(own.group(1))}/{unquote(own.group(2))}", own.group(3))
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
        if org not in self.world.forgejo_orgs:
            return _error(404, "org not found")
        paths = sorted(p for p in self._own_paths() if p.split("/", 1)[0] == org.lower())
        return [self._own_json(p, web) for p in paths]

    # ------------------------------------------------------------------ the organisation's own repositories

    def _own_paths(self) -> dict[str, str]:
        """lower-case ``org/name`` → its spelling, the ``ospo`` repository included."""
        return {self.ospo_path.lower(): self.ospo_path, **{k: path for k, (path, _) in self.own.items()}}

    def _own_json(self, lowered: str, web: str) -> dict[str, Any]:
        path = self._own_paths()[lowered]
        spec = self.own.get(lowered, ("", {}))[1]
        owner, _, name = path.partition("/")
        return {
            "id": 900 + sorted(self._own_paths()).index(lowered),
            "full_name": path,
            "name": name,
            "owner": {"login": owner},
            "default_branch": "main",
            "archived": bool(spec.get("archived")),
            "fork": bool(spec.get("fork")),
            "private": True,
            "html_url": f"{web}/{path}",
        }

    def _own_repo(self, request: httpx.Request, web: str, path: str, sub: str | None) -> httpx.Response:
        lowered = path.lower()
        spec = self.own.get(lowered, ("", {}))[1]
        if sub is None:
            return httpx.Response(200, json=self._own_json(lowered, web))
        if sub.startswith("raw/"):
            if request.url.params.get("ref", "main") not in ("main", ""):
                return _error(404, "ref does not exist")
            text = dict(spec.get("files") or {}).get(unquote(sub.removeprefix("raw/")))
            return _error(404, "file does not exist") if text is None else httpx.Response(200, text=text)
        assets = dict(spec.get("assets") or {})
        if not assets and "release" not in spec:
            return _error(404, "release does not exist")  # no release at all: Forgejo answers 404
        real = self._own_paths()[lowered]
        return httpx.Response(
            200,
            json={
                "id": 40,
                "tag_name": str(spec.get("release", "v1.0.0")),
                "name": str(spec.get("release", "v1.0.0")),
                "draft": False,
                "prerelease": False,
                "published_at": _iso(self.world.now),
                "assets": [
                    {
                        "id": 4000 + n,
                        "name": name,
                        "size": len(text.encode()),
                        "download_count": 0,
                        "created_at": _iso(self.world.now),
                        "uuid": f"{n:08x}-0000-4000-8000-000000000000",
                        "browser_download_url": (
                            f"{spec.get('asset_origin', web)}/{quote(real, safe='/')}/releases/download/"
                            f"{quote(str(spec.get('release', 'v1.0.0')))}/{quote(name)}"
                        ),
                    }
                    for n, (name, text) in enumerate(sorted(assets.items()))
                ],
            },
        )

    def _download(self, owner: str, name: str, asset: str) -> httpx.Response:
        spec = self.own.get(f"{owner}/{name}".lower(), ("", {}))[1]
        text = dict(spec.get("assets") or {}).get(asset)
        return _error(404, "attachment does not exist") if text is None else httpx.Response(200, text=text)

    # ------------------------------------------------------------------ the ospo repository's issues

    def _issue_list(self) -> list[Issue]:
        return self.world.issues.setdefault(f"forgejo:{self.ospo_path}", [])

    def _label_json(self, name: str) -> dict[str, Any]:
        return {"id": self.labels[name], "name": name, "color": LABEL_COLOURS, "description": ""}

    def _issue_json(self, issue: Issue, web: str) -> dict[str, Any]:
        for label in issue.labels:
            self.labels.setdefault(label, len(self.labels) + 1)  # labels a person added on the web
        return {
            "id": 60000 + issue.number,
            "number": issue.number,
            "title": issue.title,
            "body": issue.body,
            "state": issue.state,
            "labels": [self._label_json(label) for label in issue.labels],
            "user": {"login": issue.user},
            "comments": len(issue.comments),
            "created_at": _iso(issue.created_at),
            "updated_at": _iso(issue.updated_at),
            "closed_at": _iso(issue.closed_at) if issue.closed_at else None,
            "html_url": f"{web}/{self.ospo_path}/issues/{issue.number}",
            "pull_request": None,
        }

    def _label_names(self, ids: Any) -> list[str] | httpx.Response:
        by_id = {v: k for k, v in self.labels.items()}
        if not isinstance(ids, list) or any(not isinstance(i, int) or i not in by_id for i in ids):
            return _error(422, "labels must be the ids of existing labels")
        return [by_id[i] for i in ids]

    def _ospo(self, request: httpx.Request, web: str, what: str, number: str | None, sub: str | None) -> httpx.Response:
        now = (datetime.now(UTC) + self.world.clock_shift).replace(microsecond=0)
        issues = self._issue_list()
        body: dict[str, Any] = {}
        if request.method in ("POST", "PATCH"):
            try:
                body = json.loads(request.content or b"{}")
            except ValueError:
                return _error(400, "the body is not JSON")
        if what == "labels":
            if number is not None or sub is not None:
                return _error(404, "not found")
            if request.method == "POST":
                name = str(body.get("name", "")).strip()
                if not name or not str(body.get("color", "")).strip():
                    return _error(422, "name and color are required")
                if name in self.labels:
                    return _error(409, "label already exists")
                self.labels[name] = len(self.labels) + 1
                return httpx.Response(201, json=self._label_json(name))
            if request.method != "GET":
                return _error(405, "method not allowed")
            return _paged(request, [self._label_json(n) for n in sorted(self.labels, key=self.labels.__getitem__)])
        if number is None:
            if request.method == "POST":
                if not str(body.get("title", "")).strip():
                    return _error(422, "title is required")
                names = self._label_names(body.get("labels", []))
                if isinstance(names, httpx.Response):
                    return names
                created = Issue(
                    len(issues) + 1, str(body["title"]), str(body.get("body", "")), "open", names, USER, now, now
                )
                issues.append(created)
                return httpx.Response(201, json=self._issue_json(created, web))
            if request.method != "GET":
                return _error(405, "method not allowed")
            params = request.url.params
            state = params.get("state", "open")  # Forgejo lists open issues unless told otherwise
            wanted = [x for x in params.get("labels", "").split(",") if x]
            chosen = [
                i for i in issues if (state == "all" or i.state == state) and all(label in i.labels for label in wanted)
            ]
            return _paged(request, [self._issue_json(i, web) for i in reversed(chosen)])  # newest first
        issue = next((i for i in issues if i.number == int(number)), None)
        if issue is None:
            return _error(404, "issue does not exist")
        if sub == "comments":
            if request.method == "POST":
                comment = IssueComment(len(issue.comments) + 1, str(body.get("body", "")), USER, now)
                issue.comments.append(comment)
                issue.updated_at = now
                return httpx.Response(201, json=self._comment_json(comment))
            return _paged(request, [self._comment_json(c) for c in issue.comments])
        if sub == "timeline":
            kinds = {"closed": "close", "reopened": "reopen"}
            events = [
                {"id": e.id, "type": kinds[e.event], "user": {"login": e.actor}, "created_at": _iso(e.created_at)}
                for e in issue.events
                if e.event in kinds
            ]
            return _paged(request, events)
        if sub == "labels":
            if request.method != "POST":
                return _error(405, "method not allowed")
            names = self._label_names(body.get("labels", []))
            if isinstance(names, httpx.Response):
                return names
            issue.labels += [n for n in names if n not in issue.labels]
            issue.updated_at = now
            return httpx.Response(200, json=[self._label_json(n) for n in issue.labels])
        if request.method == "PATCH":
            if "title" in body:
                issue.title = str(body["title"])
            if "body" in body:
                issue.body = str(body["body"])
            state = body.get("state")
            if state == "closed" and issue.state == "open":
                issue.state, issue.closed_at, issue.closed_by = "closed", now, USER
                issue.events.append(IssueEvent(len(issue.events) + 1, "closed", USER, now))
            elif state == "open" and issue.state == "closed":
                issue.state, issue.closed_at = "open", None
                issue.events.append(IssueEvent(len(issue.events) + 1, "reopened", USER, now))
            issue.updated_at = now
            return httpx.Response(201, json=self._issue_json(issue, web))
        if request.method != "GET":
            return _error(405, "method not allowed")
        return httpx.Response(200, json=self._issue_json(issue, web))

    @staticmethod
    def _comment_json(comment: IssueComment) -> dict[str, Any]:
        return {
            "id": comment.id,
            "body": comment.body,
            "user": {"login": comment.user},
            "created_at": _iso(comment.created_at),
        }

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
