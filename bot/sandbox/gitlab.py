"""A sandbox GitLab (REST API v4), mounted under ``/gitlab``: ``{base}/gitlab/api/v4/...``.

It serves the world's GitLab-hosted upstreams (``World.gitlab_hosts``) as public projects, the
organisation's groups (``World.gitlab_groups``, a group and its subgroup) and the people's GitLab
accounts with their activity, in the shapes GitLab documents for REST v4 (projects, commits,
releases, raw repository files, group members and descendant groups, users, user contribution
events, merge requests and issues). Descriptions of the shapes are written for upkeep from the
facts of GitLab's published REST reference (docs.gitlab.com/api, CC BY-SA 4.0); no text is copied.

What it holds against a careless client, as GitLab does:

* every request needs a token (``Authorization: Bearer`` or ``PRIVATE-TOKEN``), else ``401``;
* lists are paginated (``per_page`` at most 100, ``x-next-page``, ``x-total``, ``Link``);
* a commit names no account, only ``author_name`` and ``author_email``;
* a project's ``license.key`` is Licensee's key (``gpl-3.0``, not ``GPL-3.0-only``), ``other`` when
  it cannot name the licence (BUSL, SSPL, Elastic);
* ``/users/:id/events`` takes ``after``/``before`` as dates, both exclusive; pushes to other branches
  than the default one, comments on issues and the ``opened`` events of merge requests are there too;
* ``group/project access token`` users (``group_1_bot_…``) are members like people;
* a subgroup's members are not listed by its parent's ``members/all``.

The router applies the shared knobs (latency, faults) and, with ``Knobs.rate_limit``, answers ``429``
with GitLab's documented headers (``RateLimit-Limit``, ``RateLimit-Remaining``, ``RateLimit-Reset``,
``Retry-After``), or in the limit profile's header-less share none at all, as GitLab.com sometimes
does; see :meth:`bot.sandbox.server.Router._rate_limit`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import unquote

import httpx

from bot.sandbox.interface import ServiceContext
from bot.sandbox.model import Contribution, Issue, IssueComment, IssueEvent, Person, UpstreamRepo, World

PREFIX = "/gitlab"
MAX_PER_PAGE = 100
#: SPDX id → the key GitLab's licence detection (Licensee) reports; absent: ``other``.
LICENSEE_KEYS = {
    "MIT": "mit",
    "Apache-2.0": "apache-2.0",
    "BSD-3-Clause": "bsd-3-clause",
    "BSD-2-Clause": "bsd-2-clause",
    "ISC": "isc",
    "Unlicense": "unlicense",
    "MPL-2.0": "mpl-2.0",
    "EPL-2.0": "epl-2.0",
    "LGPL-2.1-only": "lgpl-2.1",
    "GPL-2.0-or-later": "gpl-2.0",
    "GPL-3.0-only": "gpl-3.0",
    "AGPL-3.0-only": "agpl-3.0",
}
OSPO_ID = 900
USER = "upkeep-bot"  # the user the sandbox's token belongs to
TOKEN_BOT_USERNAME = "group_1_bot_5f1d0c"  # the user a group access token makes (GitLab's naming)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def _error(status: int, message: str) -> httpx.Response:
    return httpx.Response(status, json={"message": message})


class GitLabService:
    """The sandbox GitLab; ``handle`` answers a path below ``/gitlab``."""

    prefix = PREFIX

    def __init__(self, world: World, repositories: Mapping[str, Mapping[str, Any]] | None = None) -> None:
        """``repositories``: the organisation's own projects, ``group/sub/name`` → ``{"files": {path: text},
        "export": text or None}`` (an ``export`` is what the Ultimate-tier dependency list export gives)."""
        self.world = world
        self.repositories = {path: dict(spec) for path, spec in (repositories or {}).items()}
        self.repository_ids = {path: 800 + n for n, path in enumerate(sorted(self.repositories))}
        self.exports: dict[int, tuple[str, int]] = {}  # export id -> (repository path, times asked)
        hosts = set(world.gitlab_hosts)
        self.projects: dict[int, UpstreamRepo] = {}
        for n, up in enumerate(sorted((u for u in world.upstreams if u.host in hosts), key=lambda u: u.key)):
            self.projects[1000 + n] = up
        self.by_path = {up.full_name.lower(): pid for pid, up in self.projects.items()}
        self.people: dict[str, Person] = {p.gitlab_username.lower(): p for p in world.people if p.gitlab_username}
        self.user_ids = {name: 500 + n for n, name in enumerate(sorted(self.people))}
        self.user_ids[TOKEN_BOT_USERNAME] = 499
        self.group_ids = {path: 10 + n for n, path in enumerate(sorted(world.gitlab_groups))}
        self.activity = self._activity()
        self.ospo_path = f"{world.orgs[0]}/ospo"  # the project upkeep's issues go to when [issues].forge says so

    # ------------------------------------------------------------------ serving

    def handle(self, request: httpx.Request, path: str, context: ServiceContext) -> httpx.Response:
        token = request.headers.get("private-token") or request.headers.get("authorization", "").removeprefix("Bearer ")
        if token not in self.world.tokens.get("gitlab", []):
            return _error(401, "401 Unauthorized")
        if request.method not in ("GET", "POST", "PUT"):
            return _error(405, "405 Method Not Allowed")
        raw = request.url.raw_path.decode("ascii").split("?", 1)[0]
        raw = raw[raw.index("/api/v4") :] if "/api/v4" in raw else path
        params = request.url.params
        web = f"{context.base_url}{PREFIX}"
        joined = raw.removeprefix("/api/v4").strip("/")
        own = self._own(request, web, joined)
        if own is not None:
            return own
        issues = re.fullmatch(r"projects/([^/]+)/issues(?:/(\d+))?(?:/(notes|resource_state_events))?", joined)
        if issues and unquote(issues.group(1)).lower() in (self.ospo_path.lower(), str(OSPO_ID)):
            return self._ospo_issues(request, web, issues.group(2), issues.group(3))
        if request.method != "GET":
            return _error(405, "405 Method Not Allowed")
        routes: list[tuple[str, Callable[..., Any]]] = [
            (r"groups/([^/]+)/members/all", self._members),
            (r"groups/([^/]+)/descendant_groups", self._descendants),
            (r"groups/([^/]+)/projects", self._group_projects),
            (r"projects/([^/]+)", self._project),
            (r"projects/([^/]+)/repository/commits", self._commits),
            (r"projects/([^/]+)/releases", self._releases),
            (r"projects/([^/]+)/repository/files/(.+)/raw", self._file),
            (r"users", self._users),
            (r"users/(\d+)/events", self._events),
            (r"merge_requests", self._merge_requests),
            (r"issues", self._issues),
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
        return _error(404, "404 Not Found")

    # ------------------------------------------------------------------ groups

    def _group(self, ident: str) -> str | None:
        if ident.isdigit():
            return next((p for p, i in self.group_ids.items() if i == int(ident)), None)
        return ident if ident in self.world.gitlab_groups else None

    def _user(self, username: str) -> dict[str, Any]:
        person = self.people.get(username.lower())
        return {
            "id": self.user_ids[username.lower()],
            "username": username,
            "name": person.name if person else "Group access token bot",
            "state": "active",
            "bot": person is None,  # only /users/:id shows it; member lists do not
        }

    def _members(self, params: httpx.QueryParams, web: str, ident: str) -> Any:
        group = self._group(ident)
        if group is None:
            return _error(404, "404 Group Not Found")
        names: list[str] = []
        for path in self.world.gitlab_groups:  # the group's own members and those of its ancestors
            if group == path or group.startswith(path + "/"):
                names += self.world.gitlab_groups[path]
        if "/" not in group:
            names.append(TOKEN_BOT_USERNAME)
        out = []
        for name in sorted(set(names)):
            user = self._user(name)
            user.pop("bot")
            out.append({**user, "access_level": 30, "web_url": f"{web}/{name}"})
        return out

    def _descendants(self, params: httpx.QueryParams, web: str, ident: str) -> Any:
        group = self._group(ident)
        if group is None:
            return _error(404, "404 Group Not Found")
        return [
            {"id": self.group_ids[p], "full_path": p, "path": p.rsplit("/", 1)[-1], "parent_id": self.group_ids[group]}
            for p in sorted(self.world.gitlab_groups)
            if p.startswith(group + "/")
        ]

    def _group_projects(self, params: httpx.QueryParams, web: str, ident: str) -> Any:
        group = self._group(ident)
        if group is None:
            return _error(404, "404 Group Not Found")
        inside = group == self.ospo_path.rsplit("/", 1)[0] or (
            params.get("include_subgroups") == "true" and self.ospo_path.startswith(group + "/")
        )
        found = [self._ospo_project(web)] if inside else []
        for path in sorted(self.repositories):
            parent = path.rsplit("/", 1)[0]
            if parent == group or (params.get("include_subgroups") == "true" and parent.startswith(group + "/")):
                found.append(self._own_project(path, web))
        return found

    # ------------------------------------------------------------------ the organisation's own projects

    def _own_project(self, path: str, web: str) -> dict[str, Any]:
        return {
            "id": self.repository_ids[path],
            "name": path.rsplit("/", 1)[-1],
            "path": path.rsplit("/", 1)[-1],
            "path_with_namespace": path,
            "namespace": {"kind": "group", "full_path": path.rsplit("/", 1)[0]},
            "default_branch": "main",
            "archived": False,
            "visibility": "private",
            "web_url": f"{web}/{path}",
        }

    def _own(self, request: httpx.Request, web: str, joined: str) -> httpx.Response | None:
        """The own projects' routes (project, raw files, dependency list exports); None: not one of them."""
        export = re.fullmatch(r"dependency_list_exports/(\d+)(/download)?", joined)
        if export and request.method == "GET":
            found = self.exports.get(int(export.group(1)))
            if found is None:
                return _error(404, "404 Not found")
            path, asked = found
            self.exports[int(export.group(1))] = (path, asked + 1)
            if export.group(2):
                return httpx.Response(200, text=str(self.repositories[path]["export"]))
            if asked == 0:  # the first look finds it still running
                return httpx.Response(202, json={"id": int(export.group(1)), "has_finished": False})
            return httpx.Response(200, json={"id": int(export.group(1)), "has_finished": True})
        match = re.fullmatch(r"projects/([^/]+)(/.*)?", joined)
        if match is None:
            return None
        ident = unquote(match.group(1))
        if ident.lower() in (self.ospo_path.lower(), str(OSPO_ID)) and "/issues" not in (match.group(2) or ""):
            rest = match.group(2) or ""
            if rest == "" and request.method == "GET":
                return httpx.Response(200, json=self._ospo_project(web))
            if rest == "/dependency_list_exports":
                return _error(403, "403 Forbidden")
            return _error(404, "404 File Not Found")
        project_path = next((p for p, i in self.repository_ids.items() if ident in (p, str(i))), None)
        if project_path is None:
            return None
        rest, spec = match.group(2) or "", self.repositories[project_path]
        if rest == "" and request.method == "GET":
            return httpx.Response(200, json=self._own_project(project_path, web))
        if rest == "/dependency_list_exports" and request.method == "POST":
            if spec.get("export") is None:  # not the Ultimate tier
                return _error(403, "403 Forbidden")
            export_id = 60 + len(self.exports)
            self.exports[export_id] = (project_path, 0)
            links = {"self": f"{web}/api/v4/dependency_list_exports/{export_id}"}
            return httpx.Response(201, json={"id": export_id, "has_finished": False, "export_type": "sbom", **links})
        raw = re.fullmatch(r"/repository/files/(.+)/raw", rest)
        if raw and request.method == "GET":
            text = dict(spec.get("files") or {}).get(unquote(raw.group(1)))
            return _error(404, "404 File Not Found") if text is None else httpx.Response(200, text=text)
        return _error(404, "404 Not Found")

    def _ospo_project(self, web: str) -> dict[str, Any]:
        return {
            "id": OSPO_ID,
            "name": "ospo",
            "path": "ospo",
            "path_with_namespace": self.ospo_path,
            "namespace": {"kind": "group", "full_path": self.ospo_path.rsplit("/", 1)[0]},
            "default_branch": "main",
            "archived": False,
            "visibility": "private",
            "web_url": f"{web}/{self.ospo_path}",
        }

    # ------------------------------------------------------------------ the OSPO project's issues

    def _issue_list(self) -> list[Issue]:
        return self.world.issues.setdefault(f"gitlab:{self.ospo_path}", [])

    def _issue_json(self, issue: Issue, web: str) -> dict[str, Any]:
        return {
            "id": 70000 + issue.number,
            "iid": issue.number,
            "project_id": OSPO_ID,
            "title": issue.title,
            "description": issue.body,
            "state": "opened" if issue.state == "open" else "closed",
            "labels": list(issue.labels),
            "author": {"username": issue.user},
            "created_at": _iso(issue.created_at),
            "updated_at": _iso(issue.updated_at),
            "closed_at": _iso(issue.closed_at) if issue.closed_at else None,
            "web_url": f"{web}/{self.ospo_path}/-/issues/{issue.number}",
        }

    def _ospo_issues(self, request: httpx.Request, web: str, number: str | None, sub: str | None) -> httpx.Response:
        now = (datetime.now(UTC) + self.world.clock_shift).replace(microsecond=0)
        issues = self._issue_list()
        body: dict[str, Any] = {}
        if request.method in ("POST", "PUT"):
            try:
                body = json.loads(request.content or b"{}")
            except ValueError:
                return _error(400, "400 Bad request - the body is not JSON")
        if number is None:
            if request.method == "POST":
                if not str(body.get("title", "")).strip():
                    return _error(400, "400 Bad request - title is missing")
                labels = [x for x in str(body.get("labels", "")).split(",") if x]
                created = Issue(
                    len(issues) + 1,
                    str(body["title"]),
                    str(body.get("description", "")),
                    "open",
                    labels,
                    USER,
                    now,
                    now,
                )
                issues.append(created)
                return httpx.Response(201, json=self._issue_json(created, web))
            if request.method != "GET":
                return _error(405, "405 Method Not Allowed")
            params = request.url.params
            state = {"opened": "open", "closed": "closed"}.get(params.get("state", "all"))
            label = params.get("labels")
            chosen = [i for i in issues if (state is None or i.state == state) and (not label or label in i.labels)]
            if params.get("sort", "desc") == "desc":
                chosen = list(reversed(chosen))
            return _paged(request, [self._issue_json(i, web) for i in chosen])
        issue = next((i for i in issues if i.number == int(number)), None)
        if issue is None:
            return _error(404, "404 Not found")
        if sub == "notes":
            if request.method == "POST":
                note = IssueComment(len(issue.comments) + 1, str(body.get("body", "")), USER, now)
                issue.comments.append(note)
                issue.updated_at = now
                return httpx.Response(201, json={"id": note.id, "body": note.body, "author": {"username": USER}})
            notes = [{"id": c.id, "body": c.body, "author": {"username": c.user}} for c in issue.comments]
            return _paged(request, notes)
        if sub == "resource_state_events":
            events = [
                {"id": e.id, "state": e.event, "user": {"username": e.actor}, "created_at": _iso(e.created_at)}
                for e in issue.events
                if e.event in ("closed", "reopened")
            ]
            return _paged(request, events)
        if request.method == "PUT":
            if "title" in body:
                issue.title = str(body["title"])
            if "description" in body:
                issue.body = str(body["description"])
            for label in str(body.get("add_labels", "")).split(","):
                if label and label not in issue.labels:
                    issue.labels.append(label)
            event = body.get("state_event")
            if event == "close" and issue.state == "open":
                issue.state, issue.closed_at, issue.closed_by = "closed", now, USER
                issue.events.append(IssueEvent(len(issue.events) + 1, "closed", USER, now))
            elif event == "reopen" and issue.state == "closed":
                issue.state, issue.closed_at = "open", None
                issue.events.append(IssueEvent(len(issue.events) + 1, "reopened", USER, now))
            issue.updated_at = now
        elif request.method != "GET":
            return _error(405, "405 Method Not Allowed")
        return httpx.Response(200, json=self._issue_json(issue, web))

    # ------------------------------------------------------------------ projects

    def _find(self, ident: str) -> tuple[int, UpstreamRepo] | None:
        pid = int(ident) if ident.isdigit() else self.by_path.get(ident.lower())
        if pid is None or pid not in self.projects:
            return None
        return pid, self.projects[pid]

    def _project(self, params: httpx.QueryParams, web: str, ident: str) -> Any:
        found = self._find(ident)
        if found is None:
            return _error(404, "404 Project Not Found")
        pid, up = found
        body: dict[str, Any] = {
            "id": pid,
            "name": up.name,
            "path": up.name,
            "path_with_namespace": up.full_name,
            "namespace": {"kind": "group" if up.owner_type == "Organization" else "user", "full_path": up.owner},
            "default_branch": up.default_branch,
            "archived": up.archived,
            "visibility": "public",
            "web_url": f"{web}/{up.full_name}",
            "description": up.description,
            "created_at": _iso(up.created_at) if up.created_at else None,
            "last_activity_at": _iso(up.pushed_at) if up.pushed_at else None,
        }
        if params.get("license") == "true":
            licences = up.licenses or [None]
            spdx = licences[min(self.world.scan, len(licences) - 1)]
            key = LICENSEE_KEYS.get(spdx, "other") if spdx else None
            body["license"] = {"key": key, "name": spdx or "Other", "nickname": None} if key else None
        return body

    def _commits(self, params: httpx.QueryParams, web: str, ident: str) -> Any:
        found = self._find(ident)
        if found is None:
            return _error(404, "404 Project Not Found")
        _, up = found
        if params.get("ref_name", up.default_branch) != up.default_branch:
            return _error(404, "404 Reference Not Found")
        since = _moment(params["since"]) if "since" in params else None
        until = _moment(params["until"]) if "until" in params else None
        return [
            {
                "id": c.sha,
                "short_id": c.sha[:8],
                "title": c.message.splitlines()[0] if c.message else "",
                "author_name": c.author_name,
                "author_email": c.author_email,
                "authored_date": _iso(c.committed_at),
                "committed_date": _iso(c.committed_at),
            }
            for c in up.commits  # newest first, as GitLab lists them
            if (since is None or c.committed_at >= since) and (until is None or c.committed_at <= until)
        ]

    def _releases(self, params: httpx.QueryParams, web: str, ident: str) -> Any:
        found = self._find(ident)
        if found is None:
            return _error(404, "404 Project Not Found")
        ordered = sorted(found[1].releases, key=lambda r: r.published_at, reverse=True)
        return [
            {"tag_name": r.tag, "name": r.name, "released_at": _iso(r.published_at), "created_at": _iso(r.published_at)}
            for r in ordered
        ]

    def _file(self, params: httpx.QueryParams, web: str, ident: str, path: str) -> Any:
        found = self._find(ident)
        if found is None:
            return _error(404, "404 Project Not Found")
        up = found[1]
        files = dict(up.files)
        if up.funding_yml is not None:
            files[".github/FUNDING.yml"] = up.funding_yml
        if up.funding_json is not None:
            files["funding.json"] = up.funding_json
        if params.get("ref") not in (None, up.default_branch):
            return _error(404, "404 Commit Not Found")
        text = files.get(path)
        return _error(404, "404 File Not Found") if text is None else httpx.Response(200, text=text)

    # ------------------------------------------------------------------ people and their activity

    def _users(self, params: httpx.QueryParams, web: str) -> Any:
        name = params.get("username", "").lower()
        return [self._user(name)] if name in self.user_ids else []

    def _activity(self) -> dict[str, dict[str, list[dict[str, Any]]]]:
        """username → events, merge requests and issues, built once from the world's contributions."""
        out: dict[str, dict[str, list[dict[str, Any]]]] = {}
        by_login = {p.login: p for p in self.world.people if p.gitlab_username}
        serial = 0
        for c in sorted(self.world.contributions, key=lambda c: (c.occurred_at, c.login, c.upstream, c.kind)):
            person = by_login.get(c.login)
            pid = (
                self.by_path.get(c.upstream.split("/", 1)[1])
                if c.upstream.split("/", 1)[0] in self.world.gitlab_hosts
                else None
            )
            if person is None or pid is None or person.gitlab_username is None:
                continue
            mine = out.setdefault(person.gitlab_username.lower(), {"events": [], "merge_requests": [], "issues": []})
            for n in range(c.count):
                serial += 1
                moment = c.occurred_at + timedelta(minutes=n)
                mine["events"] += self._events_of(c, pid, moment, serial)
                if c.kind in ("pr_opened", "pr_merged"):
                    state = "merged" if c.kind == "pr_merged" else ("opened" if serial % 2 else "closed")
                    mine["merge_requests"].append(
                        {"id": serial, "iid": serial, "project_id": pid, "state": state, "created_at": _iso(moment)}
                    )
                elif c.kind == "issue":
                    mine["issues"].append(
                        {"id": serial, "iid": serial, "project_id": pid, "state": "opened", "created_at": _iso(moment)}
                    )
        return out

    def _events_of(self, c: Contribution, pid: int, moment: datetime, serial: int) -> list[dict[str, Any]]:
        branch = self.projects[pid].default_branch
        base = {"project_id": pid, "created_at": _iso(moment), "id": serial}
        if c.kind == "commit":
            push = {"action": "pushed", "ref_type": "branch", "ref": branch, "commit_count": 1}
            side = {**push, "ref": f"topic-{serial}", "commit_count": 2}  # work on a branch: not a commit upstream
            return [
                {**base, "action_name": "pushed to", "target_type": None, "push_data": push},
                {**base, "id": -serial, "action_name": "pushed to", "target_type": None, "push_data": side},
            ]
        if c.kind == "review":
            return [{**base, "action_name": "approved", "target_type": "MergeRequest"}]
        if c.kind in ("pr_opened", "pr_merged"):
            return [{**base, "action_name": "opened", "target_type": "MergeRequest"}]
        note = {"noteable_type": "Issue", "body": "+1"}  # a comment on an issue: no review
        return [
            {**base, "action_name": "opened", "target_type": "Issue"},
            {**base, "id": -serial, "action_name": "commented on", "target_type": "Note", "note": note},
        ]

    def _username(self, user_id: int) -> str | None:
        return next((name for name, i in self.user_ids.items() if i == user_id), None)

    def _events(self, params: httpx.QueryParams, web: str, user_id: str) -> Any:
        name = self._username(int(user_id))
        if name is None:
            return _error(404, "404 User Not Found")
        after = date.fromisoformat(params["after"]) if "after" in params else None
        before = date.fromisoformat(params["before"]) if "before" in params else None
        events = self.activity.get(name, {}).get("events", [])
        kept = [
            e
            for e in events
            if (after is None or _moment(e["created_at"]).date() > after)
            and (before is None or _moment(e["created_at"]).date() < before)
        ]
        return kept if params.get("sort") == "asc" else list(reversed(kept))

    def _authored(self, params: httpx.QueryParams, kind: str) -> Any:
        if params.get("scope") != "all":
            return []  # the default scope is "created_by_me": the token's own user, who made none
        name = params.get("author_username", "").lower()
        items = (
            self.activity.get(name, {}).get(kind, [])
            if name
            else [item for mine in self.activity.values() for item in mine[kind]]
        )
        after = _moment(params["created_after"]) if "created_after" in params else None
        before = _moment(params["created_before"]) if "created_before" in params else None
        state = params.get("state", "all")
        return [
            {**item, "author": {"username": name}}
            for item in items
            if (after is None or _moment(item["created_at"]) >= after)
            and (before is None or _moment(item["created_at"]) <= before)
            and state in ("all", item["state"])
        ]

    def _merge_requests(self, params: httpx.QueryParams, web: str) -> Any:
        return self._authored(params, "merge_requests")

    def _issues(self, params: httpx.QueryParams, web: str) -> Any:
        return self._authored(params, "issues")


def _paged(request: httpx.Request, items: list[Any]) -> httpx.Response:
    """One page of ``items`` with GitLab's offset-pagination headers."""
    params = request.url.params
    per_page = max(1, min(MAX_PER_PAGE, int(params.get("per_page", 20))))
    page = max(1, int(params.get("page", 1)))
    total_pages = max(1, -(-len(items) // per_page))
    headers = {
        "x-page": str(page),
        "x-per-page": str(per_page),
        "x-total": str(len(items)),
        "x-total-pages": str(total_pages),
        "x-next-page": str(page + 1) if page < total_pages else "",
        "x-prev-page": str(page - 1) if page > 1 else "",
    }
    if page < total_pages:
        headers["link"] = f'<{request.url.copy_merge_params({"page": str(page + 1)})}>; rel="next"'
    return httpx.Response(200, headers=headers, json=items[(page - 1) * per_page : page * per_page])
