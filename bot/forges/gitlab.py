"""The GitLab adapter (REST API v4) of the forge port, on httpx through ``bot.http``.

Why httpx rather than python-gitlab: the shared HTTP policy lives in :mod:`bot.http` (retries with
backoff, one token bucket per credential shared by every stage, ``Retry-After`` and GitLab's
``RateLimit-*`` headers, a rate limit raised as ``RateLimited`` so the pipeline pauses instead of
sleeping for an hour). python-gitlab brings its own session, retry loop and pagination, which would
bypass all of that; the dozen GET endpoints used here are simpler to call directly.

Endpoints (see docs/forges.md for what each needs and why):

* ``GET /groups/:id/members/all`` and ``GET /groups/:id/projects?include_subgroups=true``;
* ``GET /projects/:id?license=true``, ``/repository/commits?ref_name&since&until``,
  ``/releases``, ``/repository/files/:path/raw?ref`` (FUNDING.yml, funding.json);
* per account and span: ``GET /users?username``, ``/users/:id/events?after&before`` (pushes to the
  default branch are commits, approvals and notes on merge requests are reviews),
  ``GET /merge_requests?scope=all&author_username`` (merged or not) and ``GET /issues?scope=all&author_username``.

A commit on GitLab names no account, only its author's name and e-mail: authors are told apart by
e-mail for the bus and elephant factors. Pagination follows ``x-next-page``.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx

from bot.config import ForgeSettings
from bot.forges.interface import ForgeError, ForgeMember, ForgeRepository, MembersResult, account_of, split_account
from bot.records import UpstreamKey
from bot.signals.people import is_bot
from bot.signals.records import CommitAuthor, RepoObservation
from bot.sources.contributions import Span, SpanResult, format_moment, parse_moment

log = logging.getLogger(__name__)

SOURCE = "gitlab-rest"
PER_PAGE = 100
#: GitLab's license keys (Licensee's) as SPDX ids; ``other`` is a licence GitLab could not name.
LICENCE_KEYS = {
    "mit": "MIT",
    "apache-2.0": "Apache-2.0",
    "bsd-3-clause": "BSD-3-Clause",
    "bsd-2-clause": "BSD-2-Clause",
    "isc": "ISC",
    "unlicense": "Unlicense",
    "mpl-2.0": "MPL-2.0",
    "epl-2.0": "EPL-2.0",
    "lgpl-2.1": "LGPL-2.1",
    "lgpl-3.0": "LGPL-3.0",
    "gpl-2.0": "GPL-2.0",
    "gpl-3.0": "GPL-3.0",
    "agpl-3.0": "AGPL-3.0",
    "bsl-1.0": "BSL-1.0",
    "cc0-1.0": "CC0-1.0",
    "0bsd": "0BSD",
}
#: Users GitLab makes for group and project access tokens (``group_42_bot_…``, ``project_7_bot_…``).
TOKEN_BOT = re.compile(r"^(group|project)_\d+_bot")
NOTE_TARGETS = frozenset({"Note", "DiffNote", "DiscussionNote"})
EXPORT_POLLS = 30
EXPORT_POLL_SECONDS = 2.0


class GitLabForge:
    """One GitLab instance: ``client`` carries its base URL, token and the shared policy."""

    kind = "gitlab"

    def __init__(self, config: ForgeSettings, client: httpx.Client, *, bots: Iterable[str] = ()) -> None:
        self.config = config
        self.name = config.name
        self.hosts = config.hosts
        self.client = client
        self.bots = tuple(bots)
        self.calls = 0
        self._projects: dict[str, dict[str, Any] | None] = {}
        self._lock = threading.Lock()

    @property
    def web_host(self) -> str:
        """The host upstream keys of this forge carry (its first ``hosts`` entry, else its URL's host)."""
        return self.hosts[0] if self.hosts else (httpx.URL(self.config.url).host or self.name)

    # ------------------------------------------------------------------ HTTP

    def _get(self, path: str, params: dict[str, Any] | None = None) -> httpx.Response:
        with self._lock:
            self.calls += 1
        response = self.client.get(path, params=params)
        if response.status_code not in (200, 404):
            raise ForgeError(
                f"forge {self.name}: GET {response.request.url.path} answered HTTP {response.status_code}: "
                f"{response.text[:200]}"
            )
        return response

    def _pages(self, path: str, params: dict[str, Any] | None = None) -> Iterator[dict[str, Any]] | None:
        """Every item of a paginated list (None when the first page is a 404)."""
        first = self._get(path, {**(params or {}), "per_page": PER_PAGE, "page": 1})
        if first.status_code == 404:
            return None

        def items() -> Iterator[dict[str, Any]]:
            response = first
            while True:
                body = response.json()
                if not isinstance(body, list):
                    raise ForgeError(f"forge {self.name}: {path} is not a list")
                yield from (item for item in body if isinstance(item, dict))
                following = response.headers.get("x-next-page", "").strip()
                if not following:
                    return
                response = self._get(path, {**(params or {}), "per_page": PER_PAGE, "page": following})
                if response.status_code == 404:
                    return

        return items()

    def _project(self, ident: str | int) -> dict[str, Any] | None:
        """A project by path or id (cached for the run); None when GitLab does not show it."""
        key = str(ident).lower()
        with self._lock:
            if key in self._projects:
                return self._projects[key]
        response = self._get(f"/projects/{quote(str(ident), safe='')}", {"license": "true"})
        project = response.json() if response.status_code == 200 else None
        with self._lock:
            self._projects[key] = project
            if project is not None:
                self._projects[str(project.get("id"))] = project
                self._projects[str(project.get("path_with_namespace", "")).lower()] = project
        return project

    def _key(self, project: dict[str, Any]) -> str:
        return f"{self.web_host}/{project['path_with_namespace']}".lower()

    # ------------------------------------------------------------------ the organisation

    def _is_bot(self, user: dict[str, Any]) -> bool:
        username = str(user.get("username", ""))
        return bool(user.get("bot")) or bool(TOKEN_BOT.match(username)) or is_bot(username, None, self.bots)

    def members(self) -> MembersResult:
        result = MembersResult()
        for group in self.config.groups:
            # ``members/all`` adds the members of ancestors, not of subgroups: each subgroup is asked too
            descendants = self._pages(f"/groups/{quote(group, safe='')}/descendant_groups")
            if descendants is None:
                result.problems.append(f"forges.{self.name}.groups: {group}: no such group visible to the token")
                continue
            found: dict[str, ForgeMember] = {}
            for path in [group, *sorted(str(g["full_path"]) for g in descendants)]:
                for member in self._group_members(path, group):
                    found.setdefault(member.account, member)
            result.members += list(found.values())
            result.groups_seen[group] = len(found)
        return result

    def _group_members(self, path: str, group: str) -> list[ForgeMember]:
        pages = self._pages(f"/groups/{quote(path, safe='')}/members/all")
        if pages is None:
            raise ForgeError(f"forge {self.name}: group {path} vanished while it was read")
        return [
            ForgeMember(
                account=account_of(self.name, str(m["username"])),
                username=str(m["username"]),
                name=m.get("name"),
                group=group,
                bot=self._is_bot(m),
            )
            for m in pages
            if m.get("state", "active") == "active"
        ]

    def repositories(self) -> list[ForgeRepository]:
        out: dict[str, ForgeRepository] = {}
        for group in self.config.groups:
            params: dict[str, Any] = {"include_subgroups": "true", "order_by": "path", "sort": "asc"}
            if not self.config.include_archived:
                params["archived"] = "false"
            pages = self._pages(f"/groups/{quote(group, safe='')}/projects", params)
            if pages is None:
                raise ForgeError(f"forge {self.name}: group {group} is not visible to the token")
            for p in pages:
                fork = "forked_from_project" in p and p["forked_from_project"] is not None
                if fork and not self.config.include_forks:
                    continue
                out[p["path_with_namespace"]] = ForgeRepository(
                    path=p["path_with_namespace"],
                    web_url=p.get("web_url", ""),
                    default_branch=p.get("default_branch"),
                    archived=bool(p.get("archived")),
                    fork=fork,
                )
        return [out[k] for k in sorted(out)]

    # ------------------------------------------------------------------ SBOMs

    def sbom(self, repo: ForgeRepository) -> tuple[bytes, str] | str:
        """The repository's SBOM and where it came from, else why there is none (see docs/forges.md):
        the dependency list export (Ultimate, a token allowed to create exports), else the first of
        ``sbom_paths`` committed at the default branch."""
        project = self._project(repo.path)
        if project is None:
            return "not visible to the token"
        exported = self._export(int(project["id"]))
        if isinstance(exported, bytes):
            return exported, "dependency-list-export"
        branch = project.get("default_branch")
        if branch:
            for path in self.config.sbom_paths:
                response = self._get(
                    f"/projects/{project['id']}/repository/files/{quote(path, safe='')}/raw", {"ref": branch}
                )
                if response.status_code == 200:
                    return response.content, f"file:{path}"
        paths = ", ".join(self.config.sbom_paths) or "none configured"
        return f"no SBOM: {exported}; no committed file at sbom_paths ({paths})"

    def _export(self, pid: int) -> bytes | str:
        """A CycloneDX export of the dependency list: create, poll until ready, download; else the reason."""
        with self._lock:
            self.calls += 1
        created = self.client.post(f"/projects/{pid}/dependency_list_exports", json={"export_type": "sbom"})
        if created.status_code in (401, 403, 404):
            return (
                f"dependency list export refused ({created.status_code}: Ultimate tier and a token that may create it)"
            )
        if created.status_code not in (200, 201):
            raise ForgeError(f"forge {self.name}: dependency list export answered HTTP {created.status_code}")
        export_id = created.json()["id"]
        for _ in range(EXPORT_POLLS):
            with self._lock:
                self.calls += 1
            state = self.client.get(f"/dependency_list_exports/{export_id}")  # 202 while it is being built
            if state.status_code not in (200, 202):
                return f"dependency list export {export_id} answered HTTP {state.status_code}"
            if state.status_code == 200 and state.json().get("has_finished", True):
                download = self._get(f"/dependency_list_exports/{export_id}/download")
                if download.status_code == 200:
                    return download.content
                return f"dependency list export {export_id} could not be downloaded"
            time.sleep(EXPORT_POLL_SECONDS / self.config.time_compression)
        return f"dependency list export {export_id} not ready after {EXPORT_POLLS} polls"

    # ------------------------------------------------------------------ upstream signals

    def observe(self, upstreams: Sequence[UpstreamKey], *, since: datetime, now: datetime) -> list[RepoObservation]:
        return [self._observe(u, since=since, now=now) for u in upstreams]

    def _observe(self, upstream: UpstreamKey, *, since: datetime, now: datetime) -> RepoObservation:
        key = str(upstream)
        project = self._project(f"{upstream.owner}/{upstream.name}")
        if project is None:
            return RepoObservation(upstream_key=key, found=False, observed_at=now, source=SOURCE)
        pid, branch = project["id"], project.get("default_branch")
        commits: list[CommitAuthor] = []
        last_commit_at: datetime | None = None
        if branch:
            params = {"ref_name": branch, "since": format_moment(since), "until": format_moment(now)}
            for c in self._pages(f"/projects/{pid}/repository/commits", params) or ():
                email = (c.get("author_email") or "").lower() or None
                identity = email or str(c.get("author_name") or "unknown")
                if is_bot(str(c.get("author_name") or ""), None, self.bots):
                    identity = str(c.get("author_name"))  # a bot's name says it is one when its e-mail does not
                commits.append(
                    CommitAuthor(identity=identity, email=email, committed_at=parse_moment(c["committed_date"]))
                )
            if commits:
                last_commit_at = max(c.committed_at for c in commits)
            else:
                newest = self._get(f"/projects/{pid}/repository/commits", {"ref_name": branch, "per_page": 1}).json()
                if isinstance(newest, list) and newest:
                    last_commit_at = parse_moment(newest[0]["committed_date"])
        releases = self._get(f"/projects/{pid}/releases", {"per_page": 1, "order_by": "released_at", "sort": "desc"})
        release_list = releases.json() if releases.status_code == 200 else []
        last_release_at = parse_moment(release_list[0]["released_at"]) if release_list else None
        licence = project.get("license") or None
        licence_key = str(licence.get("key", "")).lower() if isinstance(licence, dict) else None
        spdx = LICENCE_KEYS.get(licence_key) if licence_key else None
        funding_yml = None
        for path in self.config.funding_paths if branch else ():
            funding_yml = self._file(pid, path, str(branch))
            if funding_yml is not None:
                break
        funding_json = self._file(pid, "funding.json", str(branch)) if branch else None
        namespace = project.get("namespace") or {}
        activity = project.get("last_activity_at")
        return RepoObservation(
            upstream_key=key,
            found=True,
            observed_at=now,
            source=SOURCE,
            owner_type="Organization" if namespace.get("kind") == "group" else "User",
            archived=bool(project.get("archived")),
            pushed_at=parse_moment(activity) if activity else None,
            last_commit_at=last_commit_at,
            last_release_at=last_release_at,
            licence_spdx=spdx,
            # "other" (or a key not known here) is a licence GitLab could not name: the registries tell
            licence_seen=licence is None or spdx is not None,
            commits=tuple(commits),
            funding_json_present=funding_json is not None if branch else None,
            funding_yml_text=funding_yml,
            funding_json_text=funding_json,
            funding_json_source=SOURCE,
        )

    def _file(self, pid: int, path: str, ref: str) -> str | None:
        response = self._get(f"/projects/{pid}/repository/files/{quote(path, safe='')}/raw", {"ref": ref})
        return response.text if response.status_code == 200 else None

    # ------------------------------------------------------------------ contributions

    def contributions(self, spans: Sequence[Span]) -> Iterator[SpanResult]:
        """Each account is asked once for all its spans (from the earliest start to the latest end)."""
        by_account: dict[str, list[Span]] = {}
        for span in spans:
            by_account.setdefault(span.account, []).append(span)
        for account, mine in by_account.items():
            _, username = split_account(account)
            found = self._get("/users", {"username": username}).json()
            user = found[0] if isinstance(found, list) and found else None
            if user is None:
                yield from (SpanResult(span, missing=True) for span in mine)
                continue
            yield from self._spans(mine, user)

    def _spans(self, spans: list[Span], user: dict[str, Any]) -> list[SpanResult]:
        results = [SpanResult(span) for span in spans]
        span = Span(spans[0].account, spans[0].segment, min(s.start for s in spans), max(s.end for s in spans))

        def add(project_id: Any, kind: str, moment: datetime, count: int = 1) -> None:
            if count <= 0:
                return
            result = next((r for r in results if r.span.start <= moment < r.span.end), None)
            if result is None:
                return
            project = self._project(int(project_id)) if project_id is not None else None
            if project is None:
                return  # a project the token cannot see any more: nothing to attribute it to
            key = (self._key(project), kind, moment)
            result.counts[key] = result.counts.get(key, 0) + count

        # GitLab's ``after``/``before`` are dates, both exclusive
        after = (span.start - timedelta(days=1)).date().isoformat()
        before = (span.end + timedelta(days=1)).date().isoformat()
        for event in (
            self._pages(f"/users/{user['id']}/events", {"after": after, "before": before, "sort": "asc"}) or ()
        ):
            moment = parse_moment(event["created_at"])
            action = str(event.get("action_name", ""))
            target = event.get("target_type")
            if action.startswith("pushed") and event.get("push_data"):
                push = event["push_data"]
                project = self._project(int(event["project_id"]))
                if project and push.get("ref_type") == "branch" and push.get("ref") == project.get("default_branch"):
                    add(event["project_id"], "commit", moment, int(push.get("commit_count") or 0))
            elif (action == "approved" and target == "MergeRequest") or (
                target in NOTE_TARGETS and (event.get("note") or {}).get("noteable_type") == "MergeRequest"
            ):
                add(event.get("project_id"), "review", moment)
        window = {"scope": "all", "author_username": user["username"], "created_after": format_moment(span.start)}
        window["created_before"] = format_moment(span.end)
        for mr in self._pages("/merge_requests", {**window, "state": "all"}) or ():
            kind = "pr_merged" if mr.get("state") == "merged" else "pr_opened"
            add(mr.get("project_id"), kind, parse_moment(mr["created_at"]))
        for issue in self._pages("/issues", {**window, "state": "all"}) or ():
            add(issue.get("project_id"), "issue", parse_moment(issue["created_at"]))
        return results
