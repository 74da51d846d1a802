"""The sandbox's GitHub REST API: the routes upkeep (and PyGithub on its behalf) calls, in GitHub's shapes.

Served under ``/api/v3`` (the GitHub Enterprise Server layout, which PyGithub and httpx clients
reach with ``base_url=f"{sandbox}/api/v3"``). Shapes follow ``rest-openapi-subset.json`` (the
contract tests validate every route against it); absolute URLs in bodies and ``Link`` headers are
built from ``ServiceContext.base_url``.

Authentication is checked like GitHub does: a wrong token gets ``401 Bad credentials`` on every
route; no token at all reads public data only (private repositories are ``404``, concealed
org members are hidden, writes answer ``401 Requires authentication``). Every answer carries
``X-RateLimit-*`` headers; the fake counts calls per token and resource but never exhausts the
primary limit itself (a window rolls over when it fills) — rate-limit and fault answers are the
router's knobs.

The dependency-graph SBOM export behaves as on github.com since November 2026:
``generate-report`` answers 201 with an ``sbom_url``; ``fetch-report/{uuid}`` answers 202 for the
first ``pending_polls`` polls, then 302 to ``{alt_base_url}/sbom-downloads/{uuid}`` (another host,
which refuses the API token). With ``enterprise_server=True`` only the older synchronous route
``GET .../dependency-graph/sbom`` exists (200 ``{"sbom": ...}``), as on GitHub Enterprise Server.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import shlex
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import urlencode

import httpx

from bot.sandbox.github_app import SandboxApp
from bot.sandbox.interface import ServiceContext
from bot.sandbox.model import (
    BodyEdit,
    Commit,
    InternalRepo,
    Issue,
    IssueComment,
    IssueEvent,
    Person,
    Release,
    UpstreamRepo,
    World,
)
from bot.sandbox.sbom_export import build_sbom, report_uuid

DOCS = "https://docs.github.com/rest"
TOKEN_LOGIN = "upkeep-bot"  # who a valid sandbox token authenticates as (the issue author)
RATE_LIMITS = {"core": 5000, "search": 30, "graphql": 5000}
MAX_BODY = 65536
LICENCE_NAMES = {
    "MIT": "MIT License",
    "Apache-2.0": "Apache License 2.0",
    "BSD-2-Clause": 'BSD 2-Clause "Simplified" License',
    "BSD-3-Clause": 'BSD 3-Clause "New" or "Revised" License',
    "GPL-2.0": "GNU General Public License v2.0",
    "GPL-3.0": "GNU General Public License v3.0",
    "LGPL-2.1": "GNU Lesser General Public License v2.1",
    "LGPL-3.0": "GNU Lesser General Public License v3.0",
    "AGPL-3.0": "GNU Affero General Public License v3.0",
    "MPL-2.0": "Mozilla Public License 2.0",
    "ISC": "ISC License",
    "Unlicense": "The Unlicense",
    "BUSL-1.1": "Business Source License 1.1",
    "SSPL-1.0": "Server Side Public License",
    "Elastic-2.0": "Elastic License 2.0",
}
AuthState = Literal["none", "valid", "invalid"]


def iso(moment: datetime | None) -> str | None:
    """GitHub's timestamp form: UTC, seconds, ``Z``."""
    if moment is None:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str) -> datetime | None:
    """An ISO 8601 query parameter (``Z`` or offset; a bare date means midnight UTC); None if unreadable."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def bearer_token(request: httpx.Request) -> str | None:
    """The token in ``Authorization: Bearer <t>`` or ``token <t>``; None without the header."""
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, value = header.strip().partition(" ")
    return value.strip() if scheme.lower() in {"bearer", "token"} else ""


def stable_id(*parts: object, digits: int = 8) -> int:
    """A deterministic positive integer id for things the world gives no id (outsiders, labels)."""
    value = int(hashlib.sha256(":".join(map(str, parts)).encode()).hexdigest()[:12], 16)
    base = int(10**digits)
    return value % base + base


def error(status: int, message: str, **extra: Any) -> httpx.Response:
    """GitHub's error body (``basic-error``)."""
    return httpx.Response(status, json={"message": message, "documentation_url": DOCS, "status": str(status), **extra})


def not_found() -> httpx.Response:
    return error(404, "Not Found")


@dataclass
class Call:
    """One request as a route handler sees it."""

    request: httpx.Request
    path: str
    args: tuple[str, ...]
    context: ServiceContext
    auth: AuthState
    token: str | None
    context_people: dict[str, str] = field(default_factory=dict)  # the world's person tokens

    @property
    def api(self) -> str:
        return f"{self.context.base_url}{GitHubRestService.prefix}"

    @property
    def html(self) -> str:
        return self.context.base_url

    @property
    def login(self) -> str:
        """Who the token authenticates as: a person with their own token, else upkeep's bot."""
        return self.context_people.get(self.token or "", TOKEN_LOGIN)

    def param(self, name: str, default: str | None = None) -> str | None:
        value = self.request.url.params.get(name)
        return default if value is None else str(value)

    def json(self) -> dict[str, Any]:
        try:
            body = json.loads(self.request.content or b"{}")
        except ValueError:
            return {}
        return body if isinstance(body, dict) else {}


Route = tuple[str, re.Pattern[str], Callable[[Call], httpx.Response], str]


class GitHubRestService:
    """GitHub's REST API over a sandbox ``World`` (see the module docstring for behaviour)."""

    prefix = "/api/v3"

    def __init__(self, world: World, *, enterprise_server: bool = False, pending_polls: int = 1) -> None:
        self.world = world
        self.enterprise_server = enterprise_server
        self.pending_polls = pending_polls
        self._lock = threading.Lock()
        self._people = {p.login.lower(): p for p in world.people}
        self._internal = {r.full_name.lower(): r for r in world.internal_repos}
        self._upstreams = {u.full_name.lower(): u for u in world.upstreams if u.host == "github.com"}
        self.app = SandboxApp(world)
        self._renamed = {former.lower(): u for u in self._upstreams.values() for former in u.former_names}
        self._by_database_id = {u.database_id: u for u in self._upstreams.values()}
        self._owner_types: dict[str, str] = {o.lower(): "Organization" for o in world.orgs}
        for up in self._upstreams.values():
            self._owner_types.setdefault(up.owner.lower(), up.owner_type)
        self._authors = {
            c.author_login.lower(): c.author_login
            for u in self._upstreams.values()
            for c in u.commits
            if c.author_login
        }
        self._polls: dict[str, int] = {}
        self._report_repo = {report_uuid(world, r): r for r in world.internal_repos}
        self._packages = {p.package_key: p for p in world.packages}
        self._labels: dict[str, dict[str, dict[str, Any]]] = {}
        self._usage: dict[tuple[str, str], int] = {}
        self._window_reset = int(time.time()) + 3600
        self._comment_seq = max(
            (c.id for issues in world.issues.values() for i in issues for c in i.comments), default=0
        )
        self._event_seq = max((e.id for issues in world.issues.values() for i in issues for e in i.events), default=0)
        self.routes: list[Route] = [
            ("GET", re.compile(r"/rate_limit"), self.rate_limit, "none"),
            ("GET", re.compile(r"/user"), self.authenticated_user, "core"),
            ("GET", re.compile(r"/users/([^/]+)"), self.get_user, "core"),
            ("GET", re.compile(r"/orgs/([^/]+)"), self.get_org, "core"),
            ("GET", re.compile(r"/orgs/([^/]+)/repos"), self.org_repos, "core"),
            ("GET", re.compile(r"/orgs/([^/]+)/members"), self.org_members, "core"),
            ("GET", re.compile(r"/orgs/([^/]+)/properties/values"), self.property_values, "core"),
            ("GET", re.compile(r"/search/issues"), self.search_issues, "search"),
            ("GET", re.compile(r"/repos/([^/]+)/([^/]+)"), self.get_repo, "core"),
            ("GET", re.compile(r"/repos/([^/]+)/([^/]+)/license"), self.get_license, "core"),
            ("GET", re.compile(r"/repos/([^/]+)/([^/]+)/contents/(.+)"), self.get_contents, "core"),
            ("GET", re.compile(r"/repos/([^/]+)/([^/]+)/contributors"), self.contributors, "core"),
            ("GET", re.compile(r"/repos/([^/]+)/([^/]+)/commits"), self.commits, "core"),
            ("GET", re.compile(r"/repos/([^/]+)/([^/]+)/releases"), self.releases, "core"),
            ("GET", re.compile(r"/repos/([^/]+)/([^/]+)/releases/latest"), self.latest_release, "core"),
            ("GET", re.compile(r"/repos/([^/]+)/([^/]+)/topics"), self.topics, "core"),
            ("GET", re.compile(r"/repos/([^/]+)/([^/]+)/labels"), self.list_labels, "core"),
            ("POST", re.compile(r"/repos/([^/]+)/([^/]+)/labels"), self.create_label, "core"),
            ("GET", re.compile(r"/repos/([^/]+)/([^/]+)/issues"), self.list_issues, "core"),
            ("POST", re.compile(r"/repos/([^/]+)/([^/]+)/issues"), self.create_issue, "core"),
            ("GET", re.compile(r"/repos/([^/]+)/([^/]+)/issues/(\d+)"), self.get_issue, "core"),
            ("PATCH", re.compile(r"/repos/([^/]+)/([^/]+)/issues/(\d+)"), self.update_issue, "core"),
            ("GET", re.compile(r"/repos/([^/]+)/([^/]+)/issues/(\d+)/comments"), self.list_comments, "core"),
            ("GET", re.compile(r"/repos/([^/]+)/([^/]+)/issues/(\d+)/events"), self.list_events, "core"),
            ("GET", re.compile(r"/repos/([^/]+)/([^/]+)/issues/events/(\d+)"), self.get_event, "core"),
            ("POST", re.compile(r"/repos/([^/]+)/([^/]+)/issues/(\d+)/comments"), self.create_comment, "core"),
            ("GET", re.compile(r"/repos/([^/]+)/([^/]+)/dependency-graph/sbom"), self.sbom_sync, "core"),
            (
                "GET",
                re.compile(r"/repos/([^/]+)/([^/]+)/dependency-graph/sbom/generate-report"),
                self.sbom_generate,
                "core",
            ),
            (
                "GET",
                re.compile(r"/repos/([^/]+)/([^/]+)/dependency-graph/sbom/fetch-report/([^/]+)"),
                self.sbom_fetch,
                "core",
            ),
        ]

    # -- plumbing ---------------------------------------------------------------------------------

    def handle(self, request: httpx.Request, path: str, context: ServiceContext) -> httpx.Response:
        as_app = self._as_app(request, path.rstrip("/") or "/", context)
        if as_app is not None:
            return as_app
        token = bearer_token(request)
        known = token is not None and (
            token in self.world.tokens.get("github", []) or token in self.world.person_tokens
        )
        auth: AuthState = "none" if token is None else ("valid" if known else "invalid")
        if auth == "invalid":
            return error(401, "Bad credentials")
        path = path.rstrip("/") or "/"
        refused = self.app.denied(token, request.method, path)  # an installation token's narrowed permissions
        if refused is not None:
            return error(403, refused)
        moved = self._moved(request, path, context)
        if moved is not None:
            return moved
        by_id = re.fullmatch(r"/repositories/(\d+)(/.*)?", path)
        if by_id and int(by_id.group(1)) in self._by_database_id:  # where a redirect points: the repository by id
            path = f"/repos/{self._by_database_id[int(by_id.group(1))].full_name}{by_id.group(2) or ''}"
        methods_here = []
        for method, pattern, func, resource in self.routes:
            match = pattern.fullmatch(path)
            if match is None:
                continue
            methods_here.append(method)
            if method != request.method:
                continue
            if method in {"POST", "PATCH"} and request.content and not _is_json_object(request.content):
                return error(400, "Problems parsing JSON")
            response = func(Call(request, path, match.groups(), context, auth, token, self.world.person_tokens))
            if resource != "none":
                response.headers.update(self._rate_headers(token, resource))
            return response
        if methods_here:
            return error(404, "Not Found")  # GitHub answers unknown verbs on known paths with 404
        return not_found()

    def _as_app(self, request: httpx.Request, path: str, context: ServiceContext) -> httpx.Response | None:
        """The routes a GitHub App calls as itself, with its JWT (None: not one of them)."""
        api, html = f"{context.base_url}{self.prefix}", context.base_url
        org = re.fullmatch(r"/orgs/([^/]+)/installation", path)
        tokens = re.fullmatch(r"/app/installations/(\d+)/access_tokens", path)
        if not (path in ("/app", "/app/installations") or org or tokens):
            return None
        problem = self.app.check_jwt(bearer_token(request))
        if problem is not None:
            return error(401, problem)
        if request.method == "GET" and path == "/app":
            return httpx.Response(200, json=self.app.app_json(api, html))
        if request.method == "GET" and path == "/app/installations":
            return httpx.Response(200, json=[self.app.installation_json(i, api, html) for i in self.app.installations])
        if request.method == "GET" and org:
            found = [i for i, name in self.app.installations.items() if name.lower() == org.group(1).lower()]
            return httpx.Response(200, json=self.app.installation_json(found[0], api, html)) if found else not_found()
        if request.method == "POST" and tokens and int(tokens.group(1)) in self.app.installations:
            installation = int(tokens.group(1))
            asked = json.loads(request.content) if request.content and _is_json_object(request.content) else {}
            grant = self.app.narrow(installation, asked)
            if isinstance(grant, str):
                return error(422, grant)
            token, expires = self.app.issue_token(installation, grant=grant)
            body = {
                "token": token,
                "expires_at": iso(expires),
                "permissions": dict(grant.permissions),
                "repository_selection": "all" if grant.repositories is None else "selected",
            }
            return httpx.Response(201, json=body)
        return not_found()

    def _moved(self, request: httpx.Request, path: str, context: ServiceContext) -> httpx.Response | None:
        """A renamed or transferred repository's old path: ``301`` to ``/repositories/{id}``, as GitHub answers."""
        match = re.fullmatch(r"/repos/([^/]+)/([^/]+)(/.*)?", path)
        repo = self._renamed.get(f"{match.group(1)}/{match.group(2)}".lower()) if match else None
        if match is None or repo is None:
            return None
        location = f"{context.base_url}{self.prefix}/repositories/{repo.database_id}{match.group(3) or ''}"
        if request.url.query:
            location += f"?{request.url.query.decode()}"
        status = 301 if request.method in ("GET", "HEAD") else 307
        body = {
            "message": "Moved Permanently",
            "url": location,
            "documentation_url": "https://docs.github.com/rest/guides/best-practices-for-using-the-rest-api#follow-redirects",
        }
        return httpx.Response(status, headers={"Location": location}, json=body)

    def _rate_headers(self, token: str | None, resource: str) -> dict[str, str]:
        limit = RATE_LIMITS[resource] if token else 60
        with self._lock:
            now = int(time.time())
            if now >= self._window_reset:
                self._usage.clear()
                self._window_reset = now + 3600
            used = self._usage.get((token or "", resource), 0) + 1
            if used > limit:  # the fake never exhausts the primary limit itself: the router has a knob for that
                used = 1
            self._usage[(token or "", resource)] = used
            reset = self._window_reset
        return {
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Remaining": str(limit - used),
            "X-RateLimit-Used": str(used),
            "X-RateLimit-Reset": str(reset),
            "X-RateLimit-Resource": resource,
            "X-GitHub-Media-Type": "github.v3; format=json",
            "Cache-Control": "private, max-age=60, s-maxage=60",
        }

    def _page(self, call: Call, items: Sequence[Any], default: int = 30) -> tuple[Sequence[Any], dict[str, str]]:
        """The page of ``items`` asked for, and its ``Link`` header (rel next/prev/first/last)."""
        try:
            per_page = max(1, min(100, int(call.param("per_page") or default)))
            page = max(1, int(call.param("page") or 1))
        except ValueError:
            per_page, page = default, 1
        last = max(1, -(-len(items) // per_page))
        chunk = items[(page - 1) * per_page : page * per_page]
        params = dict(call.request.url.params.multi_items())

        def link(n: int, rel: str) -> str:
            return f'<{call.api}{call.path}?{urlencode({**params, "per_page": per_page, "page": n})}>; rel="{rel}"'

        links = []
        if page > 1:
            links.append(link(page - 1, "prev"))
        if page < last:
            links.append(link(page + 1, "next"))
            links.append(link(last, "last"))
        if page > 1:
            links.append(link(1, "first"))
        return chunk, ({"Link": ", ".join(links)} if links else {})

    def _visible(self, call: Call, owner: str, name: str) -> InternalRepo | UpstreamRepo | None:
        key = f"{owner}/{name}".lower()
        internal = self._internal.get(key)
        if internal is not None:
            return None if internal.private and call.auth != "valid" else internal
        return self._upstreams.get(key)

    # -- JSON shapes ------------------------------------------------------------------------------

    def user_json(self, call: Call, login: str) -> dict[str, Any]:
        """``simple-user`` for any login: a world person, an owner, the token's user or an outsider."""
        person = self._people.get(login.lower())
        kind = self._owner_types.get(login.lower(), "User")
        if person is not None:
            uid, node = person.database_id, person.node_id
            kind = "Bot" if person.is_bot else "User"
        else:
            uid = stable_id("user", login.lower())
            node = base64.b64encode(f"04:{kind}{uid}".encode()).decode()
        api = f"{call.api}/users/{login}"
        return {
            "login": login,
            "id": uid,
            "node_id": node,
            "avatar_url": f"{call.html}/avatars/u/{uid}?v=4",
            "gravatar_id": "",
            "url": api,
            "html_url": f"{call.html}/{login}",
            "followers_url": f"{api}/followers",
            "following_url": f"{api}/following{{/other_user}}",
            "gists_url": f"{api}/gists{{/gist_id}}",
            "starred_url": f"{api}/starred{{/owner}}{{/repo}}",
            "subscriptions_url": f"{api}/subscriptions",
            "organizations_url": f"{api}/orgs",
            "repos_url": f"{api}/repos",
            "events_url": f"{api}/events{{/privacy}}",
            "received_events_url": f"{api}/received_events",
            "type": kind,
            "user_view_type": "public",
            "site_admin": False,
        }

    def _licence_json(self, call: Call, spdx: str | None) -> dict[str, Any] | None:
        if spdx is None:
            return None
        key = spdx.lower()
        return {
            "key": key,
            "name": LICENCE_NAMES.get(spdx, spdx),
            "spdx_id": spdx,
            "url": f"{call.api}/licenses/{key}",
            "node_id": base64.b64encode(f"04:License{stable_id('licence', key)}".encode()).decode(),
        }

    def current_licence(self, repo: UpstreamRepo) -> str | None:
        """The SPDX id the repository shows at ``world.scan`` (the last one once scans run past the list)."""
        if not repo.licenses:
            return None
        return repo.licenses[min(self.world.scan, len(repo.licenses) - 1)]

    def repo_json(self, call: Call, repo: InternalRepo | UpstreamRepo, *, full: bool) -> dict[str, Any]:
        if isinstance(repo, InternalRepo):
            owner, name, private, fork = repo.org, repo.name, repo.private, repo.fork
            description: str | None = f"{repo.name} service"
            licence = None
            stars, branch, homepage = 0, "main", None
        else:
            owner, name, private, fork = repo.owner, repo.name, False, False
            description, licence = repo.description, self.current_licence(repo)
            stars, branch, homepage = repo.stars, repo.default_branch, None
        full_name = f"{owner}/{name}"
        api = f"{call.api}/repos/{full_name}"
        host = call.context.base_url.split("://", 1)[-1]
        body: dict[str, Any] = {
            "id": repo.database_id,
            "node_id": repo.node_id,
            "name": name,
            "full_name": full_name,
            "private": private,
            "owner": self.user_json(call, owner),
            "html_url": f"{call.html}/{full_name}",
            "description": description,
            "fork": fork,
            "url": api,
        }
        for rel, suffix in [
            ("archive_url", "/{archive_format}{/ref}"),
            ("assignees_url", "/assignees{/user}"),
            ("blobs_url", "/git/blobs{/sha}"),
            ("branches_url", "/branches{/branch}"),
            ("collaborators_url", "/collaborators{/collaborator}"),
            ("comments_url", "/comments{/number}"),
            ("commits_url", "/commits{/sha}"),
            ("compare_url", "/compare/{base}...{head}"),
            ("contents_url", "/contents/{+path}"),
            ("contributors_url", "/contributors"),
            ("deployments_url", "/deployments"),
            ("downloads_url", "/downloads"),
            ("events_url", "/events"),
            ("forks_url", "/forks"),
            ("git_commits_url", "/git/commits{/sha}"),
            ("git_refs_url", "/git/refs{/sha}"),
            ("git_tags_url", "/git/tags{/sha}"),
            ("hooks_url", "/hooks"),
            ("issue_comment_url", "/issues/comments{/number}"),
            ("issue_events_url", "/issues/events{/number}"),
            ("issues_url", "/issues{/number}"),
            ("keys_url", "/keys{/key_id}"),
            ("labels_url", "/labels{/name}"),
            ("languages_url", "/languages"),
            ("merges_url", "/merges"),
            ("milestones_url", "/milestones{/number}"),
            ("notifications_url", "/notifications{?since,all,participating}"),
            ("pulls_url", "/pulls{/number}"),
            ("releases_url", "/releases{/id}"),
            ("stargazers_url", "/stargazers"),
            ("statuses_url", "/statuses/{sha}"),
            ("subscribers_url", "/subscribers"),
            ("subscription_url", "/subscription"),
            ("tags_url", "/tags"),
            ("teams_url", "/teams"),
            ("trees_url", "/git/trees{/sha}"),
        ]:
            body[rel] = api + suffix
        open_issues = sum(1 for i in self.world.issues.get(full_name, []) if i.state == "open")
        body.update(
            {
                "git_url": f"git://{host}/{full_name}.git",
                "ssh_url": f"git@{host}:{full_name}.git",
                "clone_url": f"{call.html}/{full_name}.git",
                "svn_url": f"{call.html}/{full_name}",
                "mirror_url": None,
                "homepage": homepage,
                "language": None,
                "forks_count": 0,
                "stargazers_count": stars,
                "watchers_count": stars,
                "size": 1024,
                "default_branch": branch,
                "open_issues_count": open_issues,
                "is_template": False,
                "topics": list(repo.topics) if isinstance(repo, InternalRepo) else [],
                "has_issues": True,
                "has_projects": True,
                "has_wiki": True,
                "has_pages": False,
                "has_downloads": True,
                "has_discussions": False,
                "archived": repo.archived,
                "disabled": False,
                "visibility": "private" if private else "public",
                "pushed_at": iso(repo.pushed_at or repo.created_at or self.world.now),
                "created_at": iso(repo.created_at or self.world.now),
                "updated_at": iso(repo.pushed_at or repo.created_at or self.world.now),
                "license": self._licence_json(call, licence),
                "forks": 0,
                "open_issues": open_issues,
                "watchers": stars,
            }
        )
        if call.auth == "valid":
            body["permissions"] = {"admin": False, "maintain": False, "push": True, "triage": True, "pull": True}
        if full:
            body.update({"network_count": 0, "subscribers_count": 0, "temp_clone_token": None})
            if isinstance(repo, InternalRepo) or repo.owner_type == "Organization":
                body["organization"] = body["owner"]
        return body

    def _label_json(self, call: Call, full_name: str, name: str) -> dict[str, Any]:
        known = self._labels.get(full_name.lower(), {}).get(name.lower())
        return {
            "id": stable_id("label", full_name.lower(), name.lower()),
            "node_id": base64.b64encode(f"LA_{full_name}:{name}".encode()).decode(),
            "url": f"{call.api}/repos/{full_name}/labels/{name}",
            "name": name,
            "description": known.get("description") if known else None,
            "color": known.get("color", "ededed") if known else "ededed",
            "default": False,
        }

    def issue_json(self, call: Call, full_name: str, issue: Issue) -> dict[str, Any]:
        repo = self._internal.get(full_name.lower())
        base_id = repo.database_id if repo else stable_id("repo", full_name.lower(), digits=5)
        api = f"{call.api}/repos/{full_name}/issues/{issue.number}"
        person = self._people.get(issue.user.lower())
        body: dict[str, Any] = {
            "id": base_id * 100000 + issue.number,
            "node_id": base64.b64encode(f"I_{full_name}#{issue.number}".encode()).decode(),
            "url": api,
            "repository_url": f"{call.api}/repos/{full_name}",
            "labels_url": f"{api}/labels{{/name}}",
            "comments_url": f"{api}/comments",
            "events_url": f"{api}/events",
            "html_url": f"{call.html}/{full_name}/issues/{issue.number}",
            "timeline_url": f"{api}/timeline",
            "number": issue.number,
            "state": issue.state,
            "title": issue.title,
            "body": issue.body,
            "user": self.user_json(call, issue.user),
            "labels": [self._label_json(call, full_name, name) for name in issue.labels],
            "assignee": None,
            "assignees": [],
            "milestone": None,
            "locked": False,
            "active_lock_reason": None,
            "comments": len(issue.comments),
            "closed_at": iso(issue.closed_at),
            "created_at": iso(issue.created_at),
            "updated_at": iso(issue.updated_at),
            "author_association": "MEMBER" if person is not None and person.org_member else "NONE",
            "reactions": {
                "url": f"{api}/reactions",
                "total_count": 0,
                "+1": 0,
                "-1": 0,
                "laugh": 0,
                "hooray": 0,
                "confused": 0,
                "heart": 0,
                "rocket": 0,
                "eyes": 0,
            },
        }
        # GitHub sends ``state_reason: null`` on open issues, but its OpenAPI enum has no null, so the
        # sandbox leaves the key out instead (clients treat both alike).
        if issue.state_reason is not None:
            body["state_reason"] = issue.state_reason
        return body

    def comment_json(self, call: Call, full_name: str, number: int, comment: IssueComment) -> dict[str, Any]:
        api = f"{call.api}/repos/{full_name}/issues/comments/{comment.id}"
        return {
            "id": comment.id,
            "node_id": base64.b64encode(f"IC_{comment.id}".encode()).decode(),
            "url": api,
            "html_url": f"{call.html}/{full_name}/issues/{number}#issuecomment-{comment.id}",
            "issue_url": f"{call.api}/repos/{full_name}/issues/{number}",
            "body": comment.body,
            "user": self.user_json(call, comment.user),
            "created_at": iso(comment.created_at),
            "updated_at": iso(comment.created_at),
            "author_association": "NONE",
        }

    def commit_json(self, call: Call, full_name: str, commit: Commit, parent: Commit | None) -> dict[str, Any]:
        api = f"{call.api}/repos/{full_name}"
        person = {"name": commit.author_name, "email": commit.author_email, "date": iso(commit.committed_at)}
        user = self.user_json(call, commit.author_login) if commit.author_login else None
        return {
            "sha": commit.sha,
            "node_id": base64.b64encode(f"C_{commit.sha}".encode()).decode(),
            "commit": {
                "author": person,
                "committer": person,
                "message": commit.message,
                "tree": {"sha": _sha1(commit.sha.encode()), "url": f"{api}/git/trees/x"},
                "url": f"{api}/git/commits/{commit.sha}",
                "comment_count": 0,
                "verification": {
                    "verified": False,
                    "reason": "unsigned",
                    "signature": None,
                    "payload": None,
                    "verified_at": None,
                },
            },
            "url": f"{api}/commits/{commit.sha}",
            "html_url": f"{call.html}/{full_name}/commit/{commit.sha}",
            "comments_url": f"{api}/commits/{commit.sha}/comments",
            "author": user,
            "committer": user,
            "parents": (
                [
                    {
                        "sha": parent.sha,
                        "url": f"{api}/commits/{parent.sha}",
                        "html_url": f"{call.html}/{full_name}/commit/{parent.sha}",
                    }
                ]
                if parent
                else []
            ),
        }

    def release_json(self, call: Call, repo: UpstreamRepo, release: Release) -> dict[str, Any]:
        rid = stable_id("release", repo.key, release.tag)
        api = f"{call.api}/repos/{repo.full_name}/releases/{rid}"
        return {
            "url": api,
            "html_url": f"{call.html}/{repo.full_name}/releases/tag/{release.tag}",
            "assets_url": f"{api}/assets",
            "upload_url": f"{call.html}/uploads/repos/{repo.full_name}/releases/{rid}/assets{{?name,label}}",
            "tarball_url": f"{call.api}/repos/{repo.full_name}/tarball/{release.tag}",
            "zipball_url": f"{call.api}/repos/{repo.full_name}/zipball/{release.tag}",
            "id": rid,
            "node_id": base64.b64encode(f"RE_{rid}".encode()).decode(),
            "tag_name": release.tag,
            "target_commitish": repo.default_branch,
            "name": release.name,
            "body": "",
            "draft": False,
            "prerelease": False,
            "created_at": iso(release.published_at),
            "published_at": iso(release.published_at),
            "author": self.user_json(call, repo.owner),
            "assets": [],
        }

    def content_json(self, call: Call, full_name: str, path: str, text: str) -> dict[str, Any]:
        raw = text.encode()
        sha = _sha1(b"blob %d\0" % len(raw) + raw)  # git's blob id
        encoded = base64.b64encode(raw).decode()
        wrapped = "\n".join(encoded[i : i + 60] for i in range(0, len(encoded), 60)) + "\n"
        api = f"{call.api}/repos/{full_name}/contents/{path}?ref=main"
        git = f"{call.api}/repos/{full_name}/git/blobs/{sha}"
        html = f"{call.html}/{full_name}/blob/main/{path}"
        return {
            "name": path.rsplit("/", 1)[-1],
            "path": path,
            "sha": sha,
            "size": len(raw),
            "url": api,
            "html_url": html,
            "git_url": git,
            "download_url": f"{call.html}/raw/{full_name}/main/{path}",
            "type": "file",
            "content": wrapped,
            "encoding": "base64",
            "_links": {"self": api, "git": git, "html": html},
        }

    # -- users and orgs ---------------------------------------------------------------------------

    def rate_limit(self, call: Call) -> httpx.Response:
        resources = {}
        for resource, limit in RATE_LIMITS.items():
            limit = limit if call.token else 60
            used = self._usage.get((call.token or "", resource), 0)
            resources[resource] = {"limit": limit, "remaining": limit - used, "reset": self._window_reset, "used": used}
        return httpx.Response(200, json={"resources": resources, "rate": resources["core"]})

    def _public_user(self, call: Call, login: str, person: Person | None) -> dict[str, Any]:
        body = self.user_json(call, login)
        created = iso(self.world.now.replace(year=self.world.now.year - 5))
        body.update(
            {
                "name": person.name if person else None,
                "company": None,
                "blog": "",
                "location": None,
                "email": None,
                "hireable": None,
                "bio": None,
                "twitter_username": None,
                "public_repos": 0,
                "public_gists": 0,
                "followers": 0,
                "following": 0,
                "created_at": created,
                "updated_at": iso(self.world.now),
            }
        )
        return body

    def authenticated_user(self, call: Call) -> httpx.Response:
        if call.auth != "valid":
            return error(401, "Requires authentication")
        return httpx.Response(200, json=self._public_user(call, TOKEN_LOGIN, None))

    def _known_login(self, login: str) -> str | None:
        key = login.lower()
        if key in self._people or key in self._owner_types:
            return self._people[key].login if key in self._people else login
        if key == TOKEN_LOGIN:
            return TOKEN_LOGIN
        return self._authors.get(key)

    def get_user(self, call: Call) -> httpx.Response:
        login = self._known_login(call.args[0])
        if login is None:
            return not_found()
        return httpx.Response(200, json=self._public_user(call, login, self._people.get(login.lower())))

    def get_org(self, call: Call) -> httpx.Response:
        org = next((o for o in self.world.orgs if o.lower() == call.args[0].lower()), None)
        if org is None:
            return not_found()
        user = self.user_json(call, org)
        api = f"{call.api}/orgs/{org}"
        repos = [r for r in self.world.internal_repos if r.org == org]
        body = {
            "login": org,
            "id": user["id"],
            "node_id": user["node_id"],
            "url": api,
            "repos_url": f"{api}/repos",
            "events_url": f"{api}/events",
            "hooks_url": f"{api}/hooks",
            "issues_url": f"{api}/issues",
            "members_url": f"{api}/members{{/member}}",
            "public_members_url": f"{api}/public_members{{/member}}",
            "avatar_url": user["avatar_url"],
            "description": f"The {org} organisation",
            "name": org.title(),
            "has_organization_projects": True,
            "has_repository_projects": True,
            "public_repos": sum(1 for r in repos if not r.private),
            "public_gists": 0,
            "followers": 0,
            "following": 0,
            "html_url": f"{call.html}/{org}",
            "type": "Organization",
            "created_at": iso(self.world.now.replace(year=self.world.now.year - 10)),
            "updated_at": iso(self.world.now),
            "archived_at": None,
        }
        return httpx.Response(200, json=body)

    def org_repos(self, call: Call) -> httpx.Response:
        org = call.args[0].lower()
        if org not in {o.lower() for o in self.world.orgs}:
            return not_found()
        kind = call.param("type", "all")
        repos = [r for r in self.world.internal_repos if r.org.lower() == org]
        if call.auth != "valid" or kind == "public":
            repos = [r for r in repos if not r.private]
        if kind == "private":
            repos = [r for r in repos if r.private]
        elif kind == "forks":
            repos = [r for r in repos if r.fork]
        elif kind == "sources":
            repos = [r for r in repos if not r.fork]
        sort = call.param("sort")
        if sort == "full_name":
            repos.sort(key=lambda r: r.name.lower(), reverse=call.param("direction") == "desc")
        elif sort in {"pushed", "updated", "created"}:
            attr = "created_at" if sort == "created" else "pushed_at"
            repos.sort(key=lambda r: getattr(r, attr) or self.world.now, reverse=call.param("direction") != "asc")
        chunk, headers = self._page(call, repos)
        return httpx.Response(200, json=[self.repo_json(call, r, full=False) for r in chunk], headers=headers)

    def property_values(self, call: Call) -> httpx.Response:
        """``GET /orgs/{org}/properties/values``: each visible repository with the values set on it
        (``repository_id``, ``repository_name``, ``repository_full_name``, ``properties``), 30 a page."""
        org = call.args[0].lower()
        if org not in {o.lower() for o in self.world.orgs}:
            return not_found()
        if call.auth != "valid":
            return error(403, "Must have admin rights to Repository.")  # not for anonymous callers
        repos = sorted((r for r in self.world.internal_repos if r.org.lower() == org), key=lambda r: r.database_id)
        chunk, headers = self._page(call, repos)
        body = [
            {
                "repository_id": r.database_id,
                "repository_name": r.name,
                "repository_full_name": r.full_name,
                "properties": [{"property_name": k, "value": v} for k, v in sorted(r.properties.items())],
            }
            for r in chunk
        ]
        return httpx.Response(200, json=body, headers=headers)

    def org_members(self, call: Call) -> httpx.Response:
        if call.args[0].lower() not in {o.lower() for o in self.world.orgs}:
            return not_found()
        # The world records no public memberships: without a token every membership is concealed.
        org = call.args[0].lower()
        people = [
            p
            for p in self.world.people
            if p.org_member and not p.is_bot and (not p.member_of or org in {o.lower() for o in p.member_of})
        ]
        if call.auth != "valid":
            people = []
        chunk, headers = self._page(call, people)
        return httpx.Response(200, json=[self.user_json(call, p.login) for p in chunk], headers=headers)

    # -- repositories -----------------------------------------------------------------------------

    def get_repo(self, call: Call) -> httpx.Response:
        repo = self._visible(call, *call.args[:2])
        if repo is None:
            return not_found()
        return httpx.Response(200, json=self.repo_json(call, repo, full=True))

    def _upstream(self, call: Call) -> UpstreamRepo | InternalRepo | None:
        return self._visible(call, *call.args[:2])

    def get_license(self, call: Call) -> httpx.Response:
        repo = self._upstream(call)
        spdx = self.current_licence(repo) if isinstance(repo, UpstreamRepo) else None
        if repo is None or spdx is None:
            return not_found()
        text = f"SPDX-License-Identifier: {spdx}\n\n{LICENCE_NAMES.get(spdx, spdx)}\n"
        body = self.content_json(call, f"{call.args[0]}/{call.args[1]}", "LICENSE", text)
        body["license"] = self._licence_json(call, spdx)
        return httpx.Response(200, json=body)

    def get_contents(self, call: Call) -> httpx.Response:
        repo = self._upstream(call)
        if repo is None:
            return not_found()
        path = call.args[2]
        text = None
        if isinstance(repo, UpstreamRepo):
            text = {".github/FUNDING.yml": repo.funding_yml, "funding.json": repo.funding_json}.get(path)
        else:
            text = repo.codeowners.get(path)
        if text is None:
            return not_found()
        return httpx.Response(200, json=self.content_json(call, f"{call.args[0]}/{call.args[1]}", path, text))

    def contributors(self, call: Call) -> httpx.Response:
        repo = self._upstream(call)
        if repo is None:
            return not_found()
        commits = repo.commits if isinstance(repo, UpstreamRepo) else []
        if not commits:
            return httpx.Response(204)
        counts: dict[str, int] = {}
        anonymous: dict[tuple[str, str], int] = {}
        for commit in commits:
            if commit.author_login:
                counts[commit.author_login] = counts.get(commit.author_login, 0) + 1
            else:
                key = (commit.author_email, commit.author_name)
                anonymous[key] = anonymous.get(key, 0) + 1
        rows: list[dict[str, Any]] = [
            {**self.user_json(call, login), "contributions": n} for login, n in counts.items()
        ]
        if call.param("anon") in {"1", "true"}:
            rows += [
                {"type": "Anonymous", "email": e, "name": nm, "contributions": n} for (e, nm), n in anonymous.items()
            ]
        rows.sort(key=lambda r: (-r["contributions"], str(r.get("login") or r.get("email"))))
        chunk, headers = self._page(call, rows)
        return httpx.Response(200, json=list(chunk), headers=headers)

    def commits(self, call: Call) -> httpx.Response:
        repo = self._upstream(call)
        if repo is None:
            return not_found()
        if not isinstance(repo, UpstreamRepo) or not repo.commits:
            return error(409, "Git Repository is empty.")
        history = repo.commits
        sha = call.param("sha")
        if sha and sha != repo.default_branch:
            start = next((i for i, c in enumerate(history) if c.sha.startswith(sha)), None)
            if start is None:
                return error(404, f"No commit found for SHA: {sha}")
            history = history[start:]
        parents = {c.sha: history[i + 1] if i + 1 < len(history) else None for i, c in enumerate(history)}
        since = parse_time(call.param("since") or "") if call.param("since") else None
        until = parse_time(call.param("until") or "") if call.param("until") else None
        author = (call.param("author") or "").lower()
        picked = [
            c
            for c in history
            if (since is None or c.committed_at >= since)
            and (until is None or c.committed_at <= until)
            and (not author or author in {(c.author_login or "").lower(), c.author_email.lower()})
        ]
        chunk, headers = self._page(call, picked)
        full_name = f"{call.args[0]}/{call.args[1]}"
        return httpx.Response(
            200, json=[self.commit_json(call, full_name, c, parents[c.sha]) for c in chunk], headers=headers
        )

    def _sorted_releases(self, repo: UpstreamRepo) -> list[Release]:
        return sorted(repo.releases, key=lambda r: r.published_at, reverse=True)

    def releases(self, call: Call) -> httpx.Response:
        repo = self._upstream(call)
        if repo is None:
            return not_found()
        if not isinstance(repo, UpstreamRepo):
            return httpx.Response(200, json=[])
        chunk, headers = self._page(call, self._sorted_releases(repo))
        return httpx.Response(200, json=[self.release_json(call, repo, r) for r in chunk], headers=headers)

    def latest_release(self, call: Call) -> httpx.Response:
        repo = self._upstream(call)
        if not isinstance(repo, UpstreamRepo) or not repo.releases:
            return not_found()
        return httpx.Response(200, json=self.release_json(call, repo, self._sorted_releases(repo)[0]))

    def topics(self, call: Call) -> httpx.Response:
        if self._visible(call, *call.args[:2]) is None:
            return not_found()
        repo = self._visible(call, *call.args[:2])
        return httpx.Response(200, json={"names": list(repo.topics) if isinstance(repo, InternalRepo) else []})

    # -- labels and issues ------------------------------------------------------------------------

    def _issue_repo(self, call: Call) -> str | None:
        """The canonical ``org/name`` of an internal repository issues can live in."""
        repo = self._visible(call, *call.args[:2])
        return repo.full_name if isinstance(repo, InternalRepo) else None

    def list_labels(self, call: Call) -> httpx.Response:
        full_name = self._issue_repo(call)
        if full_name is None:
            return not_found()
        names = {n.lower(): n for i in self.world.issues.get(full_name, []) for n in i.labels}
        names.update({k: v["name"] for k, v in self._labels.get(full_name.lower(), {}).items()})
        chunk, headers = self._page(call, sorted(names.values(), key=str.lower))
        return httpx.Response(200, json=[self._label_json(call, full_name, n) for n in chunk], headers=headers)

    def create_label(self, call: Call) -> httpx.Response:
        full_name = self._issue_repo(call)
        if full_name is None:
            return not_found()
        if call.auth != "valid":
            return error(401, "Requires authentication")
        data = call.json()
        name = str(data.get("name") or "")
        if not name:
            return _validation("Label", "name", "missing_field")
        with self._lock:
            labels = self._labels.setdefault(full_name.lower(), {})
            if name.lower() in labels:
                return _validation("Label", "name", "already_exists")
            labels[name.lower()] = {
                "name": name,
                "color": str(data.get("color") or "ededed"),
                "description": data.get("description"),
            }
        return httpx.Response(201, json=self._label_json(call, full_name, name))

    def _issues(self, full_name: str) -> list[Issue]:
        return self.world.issues.setdefault(full_name, [])

    def _find_issue(self, call: Call) -> tuple[str, Issue] | None:
        full_name = self._issue_repo(call)
        if full_name is None:
            return None
        number = int(call.args[2])
        issue = next((i for i in self._issues(full_name) if i.number == number), None)
        return (full_name, issue) if issue else None

    def list_issues(self, call: Call) -> httpx.Response:
        full_name = self._issue_repo(call)
        if full_name is None:
            return not_found()
        state = call.param("state", "open")
        wanted = {x.strip().lower() for x in (call.param("labels") or "").split(",") if x.strip()}
        creator = (call.param("creator") or "").lower()
        since = parse_time(call.param("since") or "") if call.param("since") else None
        issues = [
            i
            for i in self._issues(full_name)
            if (state == "all" or i.state == state)
            and wanted <= {n.lower() for n in i.labels}
            and (not creator or i.user.lower() == creator)
            and (since is None or i.updated_at >= since)
        ]
        sort = call.param("sort", "created")
        key: Callable[[Issue], Any] = {
            "updated": lambda i: i.updated_at,
            "comments": lambda i: len(i.comments),
        }.get(sort or "created", lambda i: i.created_at)
        issues.sort(key=lambda i: (key(i), i.number), reverse=call.param("direction", "desc") != "asc")
        chunk, headers = self._page(call, issues)
        return httpx.Response(200, json=[self.issue_json(call, full_name, i) for i in chunk], headers=headers)

    def create_issue(self, call: Call) -> httpx.Response:
        full_name = self._issue_repo(call)
        if full_name is None:
            return not_found()
        if call.auth != "valid":
            return error(401, "Requires authentication")
        data = call.json()
        title, body = data.get("title"), data.get("body")
        if not isinstance(title, str | int) or str(title) == "":
            return _validation("Issue", "title", "missing_field")
        if isinstance(body, str) and len(body) > MAX_BODY:
            return _validation(
                "Issue", "body", "custom", message=f"body is too long (maximum is {MAX_BODY} characters)"
            )
        labels = [str(x["name"] if isinstance(x, dict) else x) for x in data.get("labels") or []]
        now = _now(self.world)
        with self._lock:
            issues = self._issues(full_name)
            issue = Issue(
                number=max((i.number for i in issues), default=0) + 1,
                title=str(title),
                body=body if isinstance(body, str) else "",
                state="open",
                labels=labels,
                user=call.login,
                created_at=now,
                updated_at=now,
            )
            issues.append(issue)
        return httpx.Response(
            201,
            json=self.issue_json(call, full_name, issue),
            headers={"Location": f"{call.api}/repos/{full_name}/issues/{issue.number}"},
        )

    def get_issue(self, call: Call) -> httpx.Response:
        found = self._find_issue(call)
        if found is None:
            return not_found()
        full_name, issue = found
        body = self.issue_json(call, full_name, issue)
        body["closed_by"] = self.user_json(call, issue.closed_by) if issue.closed_by else None  # single GET only
        return httpx.Response(200, json=body)

    def update_issue(self, call: Call) -> httpx.Response:
        if call.auth != "valid":
            return error(401, "Requires authentication")
        found = self._find_issue(call)
        if found is None:
            return not_found()
        full_name, issue = found
        data = call.json()
        body = data.get("body")
        if isinstance(body, str) and len(body) > MAX_BODY:
            return _validation(
                "Issue", "body", "custom", message=f"body is too long (maximum is {MAX_BODY} characters)"
            )
        state = data.get("state")
        if state is not None and state not in {"open", "closed"}:
            return _validation("Issue", "state", "invalid")
        reason = data.get("state_reason")
        if reason is not None and reason not in {"completed", "not_planned", "reopened", "duplicate"}:
            return _validation("Issue", "state_reason", "invalid")
        now = _now(self.world)
        actor = call.login
        with self._lock:
            if isinstance(data.get("title"), str) and data["title"] and data["title"] != issue.title:
                self._event(issue, "renamed", actor, now, rename_from=issue.title, rename_to=data["title"])
                issue.title = data["title"]
            if "body" in data:
                new_body = body if isinstance(body, str) else ""
                if new_body != issue.body:
                    if not issue.edits:  # GitHub keeps the original as the first revision once edited
                        issue.edits.append(BodyEdit(issue.user, issue.created_at, issue.body))
                    issue.edits.append(BodyEdit(actor, now, new_body))
                issue.body = new_body
            if isinstance(data.get("labels"), list):
                issue.labels = [str(x["name"] if isinstance(x, dict) else x) for x in data["labels"]]
            if state == "closed" and issue.state != "closed":
                issue.state, issue.closed_at, issue.closed_by = "closed", now, actor
                issue.state_reason = reason or "completed"
                self._event(issue, "closed", actor, now, state_reason=issue.state_reason)
            elif state == "open" and issue.state != "open":
                issue.state, issue.closed_at, issue.state_reason = "open", None, "reopened"
                self._event(issue, "reopened", actor, now, state_reason="reopened")
            elif reason is not None:
                issue.state_reason = reason
            issue.updated_at = now
        return httpx.Response(200, json=self.issue_json(call, full_name, issue))

    def _event(self, issue: Issue, kind: str, actor: str, now: datetime, **extra: str | None) -> None:
        self._event_seq += 1
        issue.events.append(IssueEvent(self._event_seq, kind, actor, now, **extra))

    def event_json(self, call: Call, full_name: str, issue: Issue, event: IssueEvent) -> dict[str, Any]:
        """One entry of ``GET /repos/{owner}/{repo}/issues/{number}/events`` in GitHub's shape."""
        body: dict[str, Any] = {
            "id": event.id,
            "node_id": base64.b64encode(f"IE_{event.id}".encode()).decode(),
            "url": f"{call.api}/repos/{full_name}/issues/events/{event.id}",
            "actor": self.user_json(call, event.actor),
            "event": event.event,
            "commit_id": None,
            "commit_url": None,
            "created_at": iso(event.created_at),
            "performed_via_github_app": None,
        }
        if event.event in ("closed", "reopened"):
            body["state_reason"] = event.state_reason
        if event.event == "renamed":
            body["rename"] = {"from": event.rename_from, "to": event.rename_to}
        return body

    def list_events(self, call: Call) -> httpx.Response:
        found = self._find_issue(call)
        if found is None:
            return not_found()
        full_name, issue = found
        chunk, headers = self._page(call, issue.events)
        return httpx.Response(200, json=[self.event_json(call, full_name, issue, e) for e in chunk], headers=headers)

    def get_event(self, call: Call) -> httpx.Response:
        full_name = self._issue_repo(call)
        wanted = int(call.args[2])
        for issue in self._issues(full_name) if full_name else []:
            for event in issue.events:
                if event.id == wanted:
                    return httpx.Response(200, json=self.event_json(call, full_name or "", issue, event))
        return not_found()

    def list_comments(self, call: Call) -> httpx.Response:
        found = self._find_issue(call)
        if found is None:
            return not_found()
        full_name, issue = found
        chunk, headers = self._page(call, issue.comments)
        return httpx.Response(
            200, json=[self.comment_json(call, full_name, issue.number, c) for c in chunk], headers=headers
        )

    def create_comment(self, call: Call) -> httpx.Response:
        if call.auth != "valid":
            return error(401, "Requires authentication")
        found = self._find_issue(call)
        if found is None:
            return not_found()
        full_name, issue = found
        body = call.json().get("body")
        if not isinstance(body, str) or not body:
            return _validation("IssueComment", "body", "missing_field")
        if len(body) > MAX_BODY:
            return _validation(
                "IssueComment", "body", "custom", message=f"body is too long (maximum is {MAX_BODY} characters)"
            )
        now = _now(self.world)
        with self._lock:
            self._comment_seq += 1
            comment = IssueComment(id=self._comment_seq, body=body, user=call.login, created_at=now)
            issue.comments.append(comment)
            issue.updated_at = now
        return httpx.Response(201, json=self.comment_json(call, full_name, issue.number, comment))

    def search_issues(self, call: Call) -> httpx.Response:
        query = call.param("q") or ""
        if not query.strip():
            return _validation("Search", "q", "missing")
        try:
            terms = shlex.split(query)
        except ValueError:
            terms = query.split()
        repos: list[str] = []
        labels: list[str] = []
        words: list[str] = []
        where: set[str] = set()
        state = author = None
        for term in terms:
            qualifier, colon, value = term.partition(":")
            qualifier = qualifier.lower()
            if not colon:
                words.append(term.lower())
            elif qualifier == "repo":
                repos.append(value.lower())
            elif qualifier == "label":
                labels.append(value.lower())
            elif qualifier == "in":
                where.update(value.lower().split(","))
            elif qualifier in {"is", "state"} and value.lower() in {"open", "closed"}:
                state = value.lower()
            elif qualifier in {"is", "type"} and value.lower() in {"pr", "pull-request"}:
                empty = {"total_count": 0, "incomplete_results": False, "items": [], "search_type": "lexical"}
                return httpx.Response(200, json=empty)
            elif qualifier == "author":
                author = value.lower()
            elif qualifier in {"is", "type"}:
                continue  # is:issue, type:issue: every sandbox issue is one
            else:
                words.append(term.lower())
        fields = where or {"title", "body"}
        hits: list[tuple[str, Issue]] = []
        for full_name, issues in self.world.issues.items():
            repo = self._internal.get(full_name.lower())
            if repos and full_name.lower() not in repos:
                continue
            if repo is not None and repo.private and call.auth != "valid":
                continue
            for issue in issues:
                text = " ".join(getattr(issue, f, "") or "" for f in ("title", "body") if f in fields).lower()
                if (
                    all(w in text for w in words)
                    and all(lab in {n.lower() for n in issue.labels} for lab in labels)
                    and (state is None or issue.state == state)
                    and (author is None or issue.user.lower() == author)
                ):
                    hits.append((full_name, issue))
        hits.sort(key=lambda h: h[1].created_at, reverse=True)
        chunk, headers = self._page(call, hits)
        items = [{**self.issue_json(call, full_name, issue), "score": 1.0} for full_name, issue in chunk]
        body = {"total_count": len(hits), "incomplete_results": False, "items": items, "search_type": "lexical"}
        return httpx.Response(200, json=body, headers=headers)

    # -- dependency-graph SBOM export -------------------------------------------------------------

    def _sbom_repo(self, call: Call) -> InternalRepo | httpx.Response:
        repo = self._visible(call, *call.args[:2])
        if not isinstance(repo, InternalRepo):
            return not_found()
        if not repo.dependency_graph_enabled:
            return error(
                403, "Dependency graph is disabled for this repository. Please enable it before exporting an SBOM."
            )
        return repo

    def sbom_sync(self, call: Call) -> httpx.Response:
        if not self.enterprise_server:
            return not_found()  # removed from github.com on 2026-11-13
        repo = self._sbom_repo(call)
        if isinstance(repo, httpx.Response):
            return repo
        return httpx.Response(200, json={"sbom": build_sbom(self.world, repo, self._packages)})

    def sbom_generate(self, call: Call) -> httpx.Response:
        if self.enterprise_server:
            return not_found()
        repo = self._sbom_repo(call)
        if isinstance(repo, httpx.Response):
            return repo
        uid = report_uuid(self.world, repo)
        with self._lock:
            self._polls[uid] = self.pending_polls
        url = f"{call.api}/repos/{repo.full_name}/dependency-graph/sbom/fetch-report/{uid}"
        return httpx.Response(201, json={"sbom_url": url})

    def sbom_fetch(self, call: Call) -> httpx.Response:
        if self.enterprise_server:
            return not_found()
        repo = self._sbom_repo(call)
        if isinstance(repo, httpx.Response):
            return repo
        uid = call.args[2]
        with self._lock:
            pending = self._polls.get(uid)
            if pending is None or self._report_repo.get(uid) is not repo:
                return not_found()
            if pending > 0:
                self._polls[uid] = pending - 1
                return httpx.Response(202)
        return httpx.Response(302, headers={"Location": f"{call.context.alt_base_url}/sbom-downloads/{uid}"})


def _validation(resource: str, field: str, code: str, message: str | None = None) -> httpx.Response:
    detail: dict[str, Any] = {"resource": resource, "field": field, "code": code}
    if message:
        detail["message"] = message
    return error(422, "Validation Failed", errors=[detail])


def _is_json_object(content: bytes) -> bool:
    try:
        return isinstance(json.loads(content), dict)
    except ValueError:
        return False


def _sha1(data: bytes) -> str:
    return hashlib.sha1(data, usedforsecurity=False).hexdigest()


def _now(world: World) -> datetime:
    """Wall-clock time for writes (issues, comments, events), moved by the world's ``clock_shift``: they
    happen during a run, not at world generation, and tests move time forward for snoozes and expiries."""
    return (datetime.now(UTC) + world.clock_shift).replace(microsecond=0)


def person_token(world: World, login: str) -> str:
    """A token of ``login``'s own (a person acting in the OSPO repository: closing, retitling, ticking)."""
    token = f"ghp_person_{_sha1(f'{world.seed}:{login}'.encode())[:30]}"
    world.person_tokens[token] = login
    return token
