"""The Forgejo adapter (API v1; Codeberg and self-hosted Forgejo or Gitea) of the forge port, on httpx.

Endpoints (docs/forges.md): ``GET /orgs/{org}/members``, ``/orgs/{org}/repos``; per upstream
``GET /repos/{owner}/{repo}``, ``/orgs/{owner}`` (is the owner an organisation), ``/repos/{o}/{r}/commits``
(``sha``, ``since``, ``until``; the author's account when the e-mail is linked to one), ``/releases``,
``/raw/{path}``; for the organisation's repositories their committed SBOM files and the latest
release's assets (``GET /repos/{o}/{r}/releases/latest``, each asset downloaded from its
``browser_download_url`` on the same host); per account ``GET /users/{username}`` and its activity feed
``/users/{username}/activities/feeds?only-performed-by=true`` read once down to the oldest span asked
(pushes to the default branch are commits, approvals, rejections and review comments are reviews,
``create_issue`` an issue, ``create_pull_request`` a pull request, asked once for whether it merged).

Forgejo detects no licence: the licence comes from the registries and deps.dev. Pagination: ``page``
and ``limit`` until a short page. Reads are conditional when the stage gives a cache (:attr:`cache`):
a stored ``ETag`` goes out as ``If-None-Match`` and a ``304`` reuses the stored body, so a rescan of
unchanged repositories costs answers without bodies, as GitHub's reads do.
"""

from __future__ import annotations

import fnmatch
import json
import logging
import threading
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import httpx

from bot.config import ForgeSettings
from bot.forges.interface import ForgeError, ForgeMember, ForgeRepository, MembersResult, account_of, split_account
from bot.records import UpstreamKey
from bot.signals.people import is_bot
from bot.signals.records import Cached, CommitAuthor, RepoObservation
from bot.sources.contributions import Span, SpanResult, format_moment, parse_moment

if TYPE_CHECKING:
    from bot.sources.github_signals import ConditionalCache

log = logging.getLogger(__name__)

SOURCE = "forgejo-api"
LIMIT = 50  # Forgejo's default MAX_RESPONSE_ITEMS
REVIEW_OPS = frozenset({"approve_pull_request", "reject_pull_request", "comment_pull"})


class ForgejoForge:
    """One Forgejo instance; ``groups`` are its organisations (Forgejo has no subgroups)."""

    kind = "forgejo"

    def __init__(self, config: ForgeSettings, client: httpx.Client, *, bots: Iterable[str] = ()) -> None:
        self.config = config
        self.name = config.name
        self.hosts = config.hosts
        self.client = client
        self.bots = tuple(bots)
        self.calls = 0
        self.not_modified = 0  # 304 answers: a stored body reused
        self.cache: ConditionalCache | None = None  # set by a stage that keeps validators in the store
        self._lock = threading.Lock()
        self._repos: dict[str, dict[str, Any] | None] = {}

    @property
    def web_host(self) -> str:
        return self.hosts[0] if self.hosts else (httpx.URL(self.config.url).host or self.name)

    def _get(self, path: str, params: dict[str, Any] | None = None, *, cacheable: bool = True) -> httpx.Response:
        """GET, conditional when a cache is set and the URL is stable (a time window's URL never repeats)."""
        with self._lock:
            self.calls += 1
        cache = self.cache if cacheable else None
        url = str(self.client.build_request("GET", path, params=params).url)
        cached = cache.get(url) if cache is not None else None
        headers = {"If-None-Match": cached.etag} if cached is not None and cached.etag else {}
        response = self.client.get(path, params=params, headers=headers)
        if response.status_code == 304 and cached is not None:
            with self._lock:
                self.not_modified += 1
            return httpx.Response(200, content=cached.body, request=response.request)
        if response.status_code == 200 and cache is not None and response.headers.get("etag"):
            cache.put(Cached(url, 200, response.content, response.headers["etag"]))
        if response.status_code not in (200, 404):
            raise ForgeError(
                f"forge {self.name}: GET {response.request.url.path} answered HTTP {response.status_code}: "
                f"{response.text[:200]}"
            )
        return response

    def _pages(
        self, path: str, params: dict[str, Any] | None = None, *, cacheable: bool = True
    ) -> Iterator[dict[str, Any]] | None:
        first = self._get(path, {**(params or {}), "limit": LIMIT, "page": 1}, cacheable=cacheable)
        if first.status_code == 404:
            return None

        def items() -> Iterator[dict[str, Any]]:
            response, page = first, 1
            while True:
                body = response.json()
                if not isinstance(body, list):
                    raise ForgeError(f"forge {self.name}: {path} is not a list")
                yield from (item for item in body if isinstance(item, dict))
                if len(body) < LIMIT:
                    return
                page += 1
                response = self._get(path, {**(params or {}), "limit": LIMIT, "page": page}, cacheable=cacheable)
                if response.status_code == 404:
                    return

        return items()

    def _repo(self, full_name: str) -> dict[str, Any] | None:
        key = full_name.lower()
        with self._lock:
            if key in self._repos:
                return self._repos[key]
        owner, _, name = full_name.partition("/")
        response = self._get(f"/repos/{quote(owner, safe='')}/{quote(name, safe='')}")
        repo = response.json() if response.status_code == 200 else None
        with self._lock:
            self._repos[key] = repo
        return repo

    # ------------------------------------------------------------------ the organisation

    def members(self) -> MembersResult:
        result = MembersResult()
        for org in self.config.groups:
            pages = self._pages(f"/orgs/{quote(org, safe='')}/members")
            if pages is None:
                result.problems.append(f"forges.{self.name}.groups: {org}: no such organisation visible to the token")
                continue
            found = [
                ForgeMember(
                    account=account_of(self.name, str(m["login"])),
                    username=str(m["login"]),
                    name=m.get("full_name") or None,
                    group=org,
                    bot=is_bot(str(m["login"]), None, self.bots),
                )
                for m in pages
            ]
            result.members += found
            result.groups_seen[org] = len(found)
        return result

    def repositories(self) -> list[ForgeRepository]:
        out: list[ForgeRepository] = []
        for org in self.config.groups:
            pages = self._pages(f"/orgs/{quote(org, safe='')}/repos")
            if pages is None:
                raise ForgeError(f"forge {self.name}: organisation {org} is not visible to the token")
            for r in pages:
                if (r.get("fork") and not self.config.include_forks) or (
                    r.get("archived") and not self.config.include_archived
                ):
                    continue
                out.append(
                    ForgeRepository(
                        path=str(r["full_name"]),
                        web_url=str(r.get("html_url", "")),
                        default_branch=r.get("default_branch"),
                        archived=bool(r.get("archived")),
                        fork=bool(r.get("fork")),
                    )
                )
        return sorted(out, key=lambda r: r.path)

    def sbom(self, repo: ForgeRepository) -> tuple[bytes, str] | str:
        """The repository's SBOM and where it came from, else why there is none (Forgejo has no dependency
        graph): the first of ``sbom_paths`` committed at the default branch, else the first asset of the
        latest release whose name matches ``sbom_assets``."""
        owner, _, name = repo.path.partition("/")
        base = f"/repos/{quote(owner, safe='')}/{quote(name, safe='')}"
        for path in self.config.sbom_paths:
            response = self._get(f"{base}/raw/{quote(path)}", {"ref": repo.default_branch or ""})
            if response.status_code == 200:
                return response.content, f"file:{path}"
        asset = self._release_asset(base)
        if isinstance(asset, tuple):
            return asset
        return f"no committed file at sbom_paths ({', '.join(self.config.sbom_paths) or 'none configured'}); {asset}"

    def _release_asset(self, base: str) -> tuple[bytes, str] | str:
        """The latest release's SBOM asset, else the reason (no release, no matching asset, another host)."""
        response = self._get(f"{base}/releases/latest")  # drafts and pre-releases are not "latest"
        if response.status_code == 404:
            return "no release"
        release = response.json()
        tag = str(release.get("tag_name") or "?")
        assets = [a for a in release.get("assets") or () if isinstance(a, dict)]
        for pattern in self.config.sbom_assets:
            for asset in assets:
                asset_name = str(asset.get("name", ""))
                if not fnmatch.fnmatch(asset_name.lower(), pattern.lower()):
                    continue
                url, api = httpx.URL(str(asset.get("browser_download_url", ""))), self.client.base_url
                if (url.scheme, url.host, url.port) != (api.scheme, api.host, api.port):  # the token stays home
                    return f"release {tag}: asset {asset_name} is served from another origin ({url.host})"
                download = self._get(str(url))
                if download.status_code != 200:
                    return f"release {tag}: asset {asset_name} answered HTTP {download.status_code}"
                return download.content, f"release:{tag}/{asset_name}"
        patterns = ", ".join(self.config.sbom_assets) or "none configured"
        return f"latest release {tag} has no asset matching sbom_assets ({patterns})"

    # ------------------------------------------------------------------ upstream signals

    def observe(self, upstreams: Sequence[UpstreamKey], *, since: datetime, now: datetime) -> list[RepoObservation]:
        return [self._observe(u, since=since, now=now) for u in upstreams]

    def _observe(self, upstream: UpstreamKey, *, since: datetime, now: datetime) -> RepoObservation:
        key = str(upstream)
        repo = self._repo(f"{upstream.owner}/{upstream.name}")
        if repo is None:
            return RepoObservation(upstream_key=key, found=False, observed_at=now, source=SOURCE)
        base = f"/repos/{quote(upstream.owner, safe='')}/{quote(upstream.name, safe='')}"
        branch = repo.get("default_branch")
        commits: list[CommitAuthor] = []
        last_commit_at: datetime | None = None
        if branch:
            params = {
                "sha": branch,
                "since": format_moment(since),
                "until": format_moment(now),
                "stat": "false",
                "files": "false",
            }
            for c in self._pages(f"{base}/commits", params, cacheable=False) or ():
                author = (c.get("commit") or {}).get("author") or {}
                email = (author.get("email") or "").lower() or None
                login = (c.get("author") or {}).get("login")
                identity = str(login) if login else (email or str(author.get("name") or "unknown"))
                commits.append(CommitAuthor(identity=identity, email=email, committed_at=parse_moment(author["date"])))
            if commits:
                last_commit_at = max(c.committed_at for c in commits)
            else:
                newest = self._get(f"{base}/commits", {"sha": branch, "limit": 1, "stat": "false"}).json()
                if isinstance(newest, list) and newest:
                    last_commit_at = parse_moment(newest[0]["commit"]["author"]["date"])
        releases = self._get(f"{base}/releases", {"limit": 1})
        release_list = releases.json() if releases.status_code == 200 else []
        last_release_at = parse_moment(release_list[0]["published_at"]) if release_list else None
        funding_yml = funding_json = None
        if branch:
            for path in self.config.funding_paths:
                funding_yml = self._file(base, path, branch)
                if funding_yml is not None:
                    break
            funding_json = self._file(base, "funding.json", branch)
        owner_is_org = self._get(f"/orgs/{quote(upstream.owner, safe='')}").status_code == 200
        updated = repo.get("updated_at")
        return RepoObservation(
            upstream_key=key,
            found=True,
            observed_at=now,
            source=SOURCE,
            owner_type="Organization" if owner_is_org else "User",
            archived=bool(repo.get("archived")),
            pushed_at=parse_moment(updated) if updated else None,
            last_commit_at=last_commit_at,
            last_release_at=last_release_at,
            licence_seen=False,  # Forgejo detects no licence: the registries tell
            commits=tuple(commits),
            funding_json_present=funding_json is not None if branch else None,
            funding_yml_text=funding_yml,
            funding_json_text=funding_json,
            funding_json_source=SOURCE,
        )

    def _file(self, base: str, path: str, ref: str) -> str | None:
        response = self._get(f"{base}/raw/{quote(path)}", {"ref": ref})
        return response.text if response.status_code == 200 else None

    # ------------------------------------------------------------------ contributions

    def contributions(self, spans: Sequence[Span]) -> Iterator[SpanResult]:
        by_account: dict[str, list[Span]] = defaultdict(list)
        for span in spans:
            by_account[span.account].append(span)
        for account, mine in by_account.items():
            _, username = split_account(account)
            if self._get(f"/users/{quote(username, safe='')}").status_code == 404:
                yield from (SpanResult(span, missing=True) for span in mine)
                continue
            results = [SpanResult(span) for span in mine]
            oldest = min(span.start for span in mine)
            params = {"only-performed-by": "true"}
            for activity in (
                self._pages(f"/users/{quote(username, safe='')}/activities/feeds", params, cacheable=False) or ()
            ):
                moment = parse_moment(activity["created"])
                if moment < oldest:
                    break  # newest first: everything after is older than every span asked
                for kind, count, repo in self._counted(activity):
                    for result in results:
                        if result.span.start <= moment < result.span.end:
                            counted = (f"{self.web_host}/{repo}".lower(), kind, moment)
                            result.counts[counted] = result.counts.get(counted, 0) + count
            yield from results

    def _counted(self, activity: dict[str, Any]) -> list[tuple[str, int, str]]:
        """(kind, count, owner/name) for an activity that counts; [] for the rest."""
        op = str(activity.get("op_type", ""))
        repo = (activity.get("repo") or {}).get("full_name")
        if not repo:
            return []
        if op == "commit_repo":
            details = self._repo(str(repo))
            branch = details.get("default_branch") if details else None
            if activity.get("ref_name") != f"refs/heads/{branch}":
                return []  # work on another branch is not a commit upstream
            try:
                content = json.loads(activity.get("content") or "{}")
            except ValueError:
                return []
            return [("commit", int(content.get("Len") or len(content.get("Commits") or [])), str(repo))]
        if op in REVIEW_OPS:
            return [("review", 1, str(repo))]
        if op == "create_issue":
            return [("issue", 1, str(repo))]
        if op == "create_pull_request":
            index = str(activity.get("content") or "").split("|", 1)[0]
            owner, _, name = str(repo).partition("/")
            pull = self._get(f"/repos/{quote(owner, safe='')}/{quote(name, safe='')}/pulls/{index}")
            merged = pull.status_code == 200 and bool(pull.json().get("merged"))
            return [("pr_merged" if merged else "pr_opened", 1, str(repo))]
        return []
