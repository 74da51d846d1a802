"""The sandbox's GitHub GraphQL API: graphql-core executing queries against GitHub's published schema.

Every query is parsed and validated against ``data/github-schema.graphql`` (octokit/graphql-schema,
MIT), so a field or argument GitHub does not have fails here as it fails on GitHub: HTTP 200 with
``{"errors": [{"message": "Field 'x' doesn't exist on type 'User'", "locations": ..., ...}]}``.
The schema is built once per process, on first use.

Resolved: ``user(login)`` (``contributionsCollection`` with the one-year limit, the four
``*ContributionsByRepository`` lists and their ``contributions`` connections, the totals),
``organization(login)`` (``sponsorshipsAsSponsor``, ``totalSponsorshipAmountAsSponsorInCents`` for the
world's orgs, ``membersWithRole``, ``hasSponsorsListing``),
``repository(owner, name)`` (licence at ``world.scan``, ``fundingLinks`` parsed from FUNDING.yml,
archived, pushed, stars, owner, default-branch ``history``, ``releases``, ``latestRelease``),
``nodes(ids)``, ``viewer`` and ``rateLimit``. Fields outside that subset resolve to null (or to an
error when non-null), which is what a test should notice.

Contribution kinds map to GitHub's: ``commit`` entries are ``CreatedCommitContribution`` nodes
(``commitCount`` = the entry's count); ``pr_opened`` and ``pr_merged`` are pull requests the person
opened (``merged`` true and state ``MERGED`` for the latter, ``OPEN`` for the former), ``issue``
entries are issues opened, ``review`` entries are reviews; each unit of ``count`` is one node.
Only upstreams hosted on github.com are visible through GitHub.

Connections behave as on GitHub: ``first`` or ``last`` is required and at most 100, cursors are
opaque, unknown users, organisations and repositories resolve to ``null`` with a ``NOT_FOUND`` error.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import yaml
from graphql import (
    GraphQLError,
    GraphQLResolveInfo,
    GraphQLSchema,
    execute_sync,
)

from bot.sandbox.github_rest import LICENCE_NAMES, TOKEN_LOGIN, bearer_token, iso, parse_time, stable_id
from bot.sandbox.graphql_schema import PublishedSchema
from bot.sandbox.interface import ServiceContext
from bot.sandbox.model import (
    BodyEdit,
    Commit,
    Contribution,
    InternalRepo,
    Person,
    Release,
    Sponsorship,
    UpstreamRepo,
    World,
)
from bot.sandbox.truth import sponsorship_payments

SCHEMA_PATH = Path(__file__).parent / "data" / "github-schema.graphql"
#: What the sandbox App's installation tokens start with (:mod:`bot.sandbox.github_app`).
INSTALLATION_TOKEN_PREFIX = "sandbox-installation-token-"
AUTH_DOCS = "https://docs.github.com/graphql/guides/forming-calls-with-graphql#authenticating-with-graphql"
GRAPHQL_LIMIT = 5000
FUNDING_URLS: dict[str, tuple[str, str]] = {
    "github": ("GITHUB", "https://github.com/{}"),
    "patreon": ("PATREON", "https://patreon.com/{}"),
    "open_collective": ("OPEN_COLLECTIVE", "https://opencollective.com/{}"),
    "ko_fi": ("KO_FI", "https://ko-fi.com/{}"),
    "tidelift": ("TIDELIFT", "https://tidelift.com/funding/github/{}"),
    "community_bridge": ("COMMUNITY_BRIDGE", "https://funding.communitybridge.org/projects/{}"),
    "liberapay": ("LIBERAPAY", "https://liberapay.com/{}"),
    "issuehunt": ("ISSUEHUNT", "https://issuehunt.io/r/{}"),
    "lfx_crowdfunding": ("LFX_CROWDFUNDING", "https://crowdfunding.lfx.linuxfoundation.org/projects/{}"),
    "polar": ("POLAR", "https://polar.sh/{}"),
    "buy_me_a_coffee": ("BUY_ME_A_COFFEE", "https://buymeacoffee.com/{}"),
    "thanks_dev": ("THANKS_DEV", "https://thanks.dev/{}"),
    "custom": ("CUSTOM", "{}"),
}
Info = GraphQLResolveInfo[Any]
GITHUB_SCHEMA = PublishedSchema(SCHEMA_PATH, assume_valid_sdl=True)
_UNDEFINED_FIELD = re.compile(r"Cannot query field '(\w+)' on type '(\w+)'\.(.*)", re.S)


def github_schema() -> GraphQLSchema:
    """GitHub's published GraphQL schema (octokit/graphql-schema), shared in the process."""
    return GITHUB_SCHEMA.schema()


def format_error(err: GraphQLError) -> dict[str, Any]:
    """graphql-core's error as GitHub words and shapes it (``type`` at top level, GitHub's messages)."""
    out: dict[str, Any] = dict(err.formatted)
    match = _UNDEFINED_FIELD.match(err.message)
    if match:
        field, type_name = match.group(1), match.group(2)
        out["message"] = f"Field '{field}' doesn't exist on type '{type_name}'"
        out["extensions"] = {"code": "undefinedField", "typeName": type_name, "fieldName": field}
    extensions = out.get("extensions") or {}
    if "type" in extensions:
        out["type"] = extensions.pop("type")
        if not extensions:
            out.pop("extensions")
    return out


def not_found(message: str) -> GraphQLError:
    return GraphQLError(message, extensions={"type": "NOT_FOUND"})


def connection(name: str, items: Sequence[Any], to_node: Callable[[Any], Any], args: dict[str, Any]) -> dict[str, Any]:
    """A GitHub-style cursor connection over ``items`` (``first``/``last`` required, at most 100)."""
    first, last = args.get("first"), args.get("last")
    if first is None and last is None:
        raise GraphQLError(
            f"You must provide a `first` or `last` value to properly paginate the `{name}` connection.",
            extensions={"type": "MISSING_PAGINATION_BOUNDARIES"},
        )
    for arg, value in (("first", first), ("last", last)):
        if value is not None and not 0 <= value <= 100:
            raise GraphQLError(
                f"Requesting {value} records on the `{name}` connection exceeds the `{arg}` limit of 100 records.",
                extensions={"type": "EXCESSIVE_PAGINATION"},
            )
    start, end = 0, len(items)
    if args.get("after"):
        start = min(end, _cursor_index(args["after"]) + 1)
    if args.get("before"):
        end = max(start, min(end, _cursor_index(args["before"])))
    if first is not None:
        end = min(end, start + first)
    if last is not None:
        start = max(start, end - last)
    chunk = list(range(start, end))
    return {
        "totalCount": len(items),
        "nodes": lambda info: [to_node(items[i]) for i in chunk],
        "edges": lambda info: [{"cursor": _cursor(i), "node": to_node(items[i])} for i in chunk],
        "pageInfo": {
            "hasNextPage": end < len(items),
            "hasPreviousPage": start > 0,
            "startCursor": _cursor(start) if chunk else None,
            "endCursor": _cursor(end - 1) if chunk else None,
        },
    }


def _cursor(index: int) -> str:
    return base64.b64encode(f"cursor:{index + 1}".encode()).decode()


def _cursor_index(cursor: str) -> int:
    try:
        return int(base64.b64decode(cursor).decode().rsplit(":", 1)[1]) - 1
    except (ValueError, IndexError) as exc:
        raise GraphQLError(f"`{cursor}` does not appear to be a valid cursor.") from exc


def funding_links(funding_yml: str | None) -> list[dict[str, str]]:
    """GitHub's ``fundingLinks`` from a FUNDING.yml text (null and unknown keys skipped, as GitHub does)."""
    if not funding_yml:
        return []
    try:
        data = yaml.safe_load(funding_yml)
    except yaml.YAMLError:
        return []
    if not isinstance(data, dict):
        return []
    links = []
    for key, value in data.items():
        known = FUNDING_URLS.get(str(key))
        if known is None or value is None:
            continue
        for item in value if isinstance(value, list) else [value]:
            if item:
                links.append({"platform": known[0], "url": known[1].format(item)})
    return links


def _window(args: dict[str, Any], now: datetime) -> tuple[datetime, datetime]:
    to = _time_arg(args.get("to")) or now
    start = _time_arg(args.get("from"))
    if start is None:
        start = to - timedelta(days=365)
    try:
        limit = start.replace(year=start.year + 1)
    except ValueError:  # 29 February
        limit = start + timedelta(days=365)
    if to > limit:
        raise GraphQLError("The total time spanned by 'from' and 'to' must not exceed 1 year")
    return start, to


def _time_arg(value: Any) -> datetime | None:
    if value is None:
        return None
    moment = parse_time(str(value))
    if moment is None:
        raise GraphQLError(f"Could not coerce value {value!r} to DateTime")
    return moment


class GitHubGraphQLService:
    """GitHub's GraphQL endpoint over a sandbox ``World`` (see the module docstring)."""

    prefix = "/api/graphql"

    def __init__(self, world: World) -> None:
        self.world = world
        self.people = {p.login.lower(): p for p in world.people}
        self.people_by_node = {p.node_id: p for p in world.people}
        self.upstreams = {u.key: u for u in world.upstreams if u.host == "github.com"}
        self.repos_by_name: dict[str, UpstreamRepo | InternalRepo] = {
            u.full_name.lower(): u for u in self.upstreams.values()
        }
        self.repos_by_name.update({r.full_name.lower(): r for r in world.internal_repos})
        self.repos_by_node = {r.node_id: r for r in self.repos_by_name.values()}
        # Old names of renamed or transferred repositories: GitHub answers them with the repository as it is now.
        self.renamed = {former.lower(): u for u in self.upstreams.values() for former in u.former_names}
        self.owner_types = {u.owner.lower(): u.owner_type for u in self.upstreams.values()}
        self.owner_types.update({o.lower(): "Organization" for o in world.orgs})
        # Accounts that exist on GitHub without being world people: user-owned upstreams, commit authors.
        self.outside_users: dict[str, str] = {
            c.author_login.lower(): c.author_login
            for u in self.upstreams.values()
            for c in u.commits
            if c.author_login and not c.author_login.endswith("[bot]")
        }
        self.outside_users.update({u.owner.lower(): u.owner for u in self.upstreams.values() if u.owner_type == "User"})
        self.owner_listing = {u.owner.lower() for u in self.upstreams.values() if u.owner_has_sponsors_listing}
        self.owner_listing.update(p.login.lower() for p in world.people if p.has_sponsors_listing)
        self.contributions: dict[str, list[Contribution]] = {}
        for c in sorted(world.contributions, key=lambda c: c.occurred_at):
            if c.upstream in self.upstreams:
                self.contributions.setdefault(c.login.lower(), []).append(c)
        self.sponsorships: dict[str, list[Sponsorship]] = {}
        for s in sorted(world.sponsorships, key=lambda s: s.created_at):
            self.sponsorships.setdefault(s.sponsor.lower(), []).append(s)
        self._lock = threading.Lock()
        self._used: dict[str, int] = {}
        self._reset = int(time.time()) + 3600

    # -- HTTP -------------------------------------------------------------------------------------

    def handle(self, request: httpx.Request, path: str, context: ServiceContext) -> httpx.Response:
        token = bearer_token(request)
        if token is None:
            return httpx.Response(
                401, json={"message": "This endpoint requires you to be authenticated.", "documentation_url": AUTH_DOCS}
            )
        if token not in self.world.tokens.get("github", []):
            return httpx.Response(
                401, json={"message": "Bad credentials", "documentation_url": "https://docs.github.com/graphql"}
            )
        if request.method != "POST" or path not in {"", "/"}:
            return httpx.Response(
                404, json={"message": "Not Found", "documentation_url": "https://docs.github.com/graphql"}
            )
        try:
            payload = json.loads(request.content or b"")
        except ValueError:
            return httpx.Response(400, json={"message": "Problems parsing JSON", "documentation_url": AUTH_DOCS})
        if not isinstance(payload, dict) or not isinstance(payload.get("query"), str):
            return httpx.Response(
                200, json={"errors": [{"message": "A query attribute must be specified and must be a string."}]}
            )
        used, reset = self._count(token)
        document, errors = GITHUB_SCHEMA.check(payload["query"])
        if document is None or errors:
            return httpx.Response(200, json={"errors": [format_error(e) for e in errors]})
        charge = request.extensions.get("sandbox.charge")  # what the router's limits charged (bot.sandbox.limits)
        root = Root(self, context, used=used, reset=reset)
        if charge is not None:
            root.used, root.reset, root.limit = charge.used, charge.reset, charge.limit
            root.cost, root.node_count = charge.cost, charge.nodes
        result = execute_sync(
            GITHUB_SCHEMA.schema(),
            document,
            root_value=root,
            variable_values=payload.get("variables") or None,
            operation_name=payload.get("operationName"),
            type_resolver=_type_name,
            context_value={"installation": token.startswith(INSTALLATION_TOKEN_PREFIX)},
        )
        body: dict[str, Any] = {"data": result.data}
        if result.errors:
            body["errors"] = [format_error(e) for e in result.errors]
        headers = {
            "X-RateLimit-Limit": str(GRAPHQL_LIMIT),
            "X-RateLimit-Remaining": str(GRAPHQL_LIMIT - used),
            "X-RateLimit-Used": str(used),
            "X-RateLimit-Reset": str(reset),
            "X-RateLimit-Resource": "graphql",
        }
        return httpx.Response(200, json=body, headers=headers)

    def _count(self, token: str) -> tuple[int, int]:
        with self._lock:
            now = int(time.time())
            if now >= self._reset:
                self._used.clear()
                self._reset = now + 3600
            used = self._used.get(token, 0) + 1
            if used > GRAPHQL_LIMIT:  # the router's knobs exhaust limits, not the fake
                used = 1
            self._used[token] = used
            return used, self._reset

    # -- lookups used by the nodes ----------------------------------------------------------------

    def owner(self, ctx: ServiceContext, login: str) -> Any:
        kind = self.owner_types.get(login.lower(), "User")
        if kind == "Organization":
            return OrganizationNode(self, ctx, login)
        return UserNode(self, ctx, login, self.people.get(login.lower()))


class _Missing:
    """A node id that resolves to nothing: its type resolution fails, nulling just that list item."""

    def __init__(self, node_id: str) -> None:
        self.node_id = node_id


def _type_name(value: Any, info: Info, abstract: Any) -> str | None:
    if isinstance(value, _Missing):
        raise not_found(f"Could not resolve to a node with the global id of '{value.node_id}'.")
    if isinstance(value, dict):
        name = value.get("__typename")
        return str(name) if name else None
    name = getattr(value, "typename", None)
    return str(name) if name else None


class Root:
    """The ``Query`` type's resolvers."""

    def __init__(self, service: GitHubGraphQLService, ctx: ServiceContext, *, used: int, reset: int) -> None:
        self.s, self.ctx, self.used, self.reset = service, ctx, used, reset
        self.limit, self.cost, self.node_count = GRAPHQL_LIMIT, 1, 0

    def user(self, info: Info, login: str) -> UserNode:
        person = self.s.people.get(login.lower())
        if person is not None and not person.is_bot:
            return UserNode(self.s, self.ctx, person.login, person)
        if person is None and login.lower() in self.s.outside_users:
            return UserNode(self.s, self.ctx, self.s.outside_users[login.lower()], None)
        raise not_found(f"Could not resolve to a User with the login of '{login}'.")

    def organization(self, info: Info, login: str) -> OrganizationNode:
        org = next((o for o in self.s.world.orgs if o.lower() == login.lower()), None)
        if org is None and self.s.owner_types.get(login.lower()) != "Organization":
            raise not_found(f"Could not resolve to an Organization with the login of '{login}'.")
        return OrganizationNode(self.s, self.ctx, org or login)

    def repositoryOwner(self, info: Info, login: str) -> Any:
        if login.lower() not in self.s.people and login.lower() not in self.s.owner_types:
            raise not_found(f"Could not resolve to a RepositoryOwner with the login of '{login}'.")
        return self.s.owner(self.ctx, login)

    def repository(self, info: Info, owner: str, name: str, followRenames: bool = True, **_: Any) -> RepositoryNode:
        """By name; an old name answers with the repository under its new name unless ``followRenames: false``."""
        full_name = f"{owner}/{name}".lower()
        repo = self.s.repos_by_name.get(full_name) or (self.s.renamed.get(full_name) if followRenames else None)
        if repo is None:
            raise not_found(f"Could not resolve to a Repository with the name '{owner}/{name}'.")
        return RepositoryNode(self.s, self.ctx, repo)

    def nodes(self, info: Info, ids: list[str]) -> list[Any]:
        """Found nodes in order; a missing id becomes null with its own NOT_FOUND error, as on GitHub."""
        out: list[Any] = []
        for node_id in ids:
            person = self.s.people_by_node.get(node_id)
            repo = self.s.repos_by_node.get(node_id)
            if person is not None:
                out.append(UserNode(self.s, self.ctx, person.login, person))
            elif repo is not None:
                out.append(RepositoryNode(self.s, self.ctx, repo))
            else:
                out.append(_Missing(node_id))
        return out

    def node(self, info: Info, id: str) -> Any:
        found = self.nodes(info, [id])
        return found[0]

    def viewer(self, info: Info) -> UserNode:
        return UserNode(self.s, self.ctx, TOKEN_LOGIN, None)

    def rateLimit(self, info: Info, dryRun: bool = False) -> dict[str, Any]:
        reset = datetime.fromtimestamp(self.reset, tz=UTC)
        return {
            "cost": self.cost,
            "limit": self.limit,
            "nodeCount": self.node_count,
            "remaining": max(0, self.limit - self.used),
            "resetAt": iso(reset),
            "used": self.used,
        }


class _Account:
    typename = "User"

    def __init__(self, service: GitHubGraphQLService, ctx: ServiceContext, login: str) -> None:
        self.s, self.ctx, self.login = service, ctx, login
        self.url = f"{ctx.base_url}/{login}"
        self.resourcePath = f"/{login}"
        self.avatarUrl = f"{ctx.base_url}/avatars/{login}"
        self.hasSponsorsListing = login.lower() in service.owner_listing
        self.isSponsoringViewer = False
        self.databaseId = stable_id("user", login.lower())
        self.id = base64.b64encode(f"04:{self.typename}{self.databaseId}".encode()).decode()

    def totalSponsorshipAmountAsSponsorInCents(
        self,
        info: Info,
        since: str | None = None,
        until: str | None = None,
        sponsorableLogins: list[str] | None = None,
    ) -> int | None:
        """Cents this account paid in ``[since, until]`` (payments as ``truth.sponsorship_payments`` has them).

        GitHub answers only to someone who manages the sponsor's sponsorships: here, for the world's
        organisations (the token's user manages them); anyone else gets null, and so does an App
        installation, which is no user and manages nothing.
        """
        if self.login.lower() not in {o.lower() for o in self.s.world.orgs}:
            return None
        if (info.context or {}).get("installation"):
            return None
        start, end = _time_arg(since), _time_arg(until)
        wanted = {login.lower() for login in sponsorableLogins or []}
        return sum(
            cents
            for sponsor, sponsorable, moment, cents in sponsorship_payments(self.s.world)
            if sponsor.lower() == self.login.lower()
            and (not wanted or sponsorable.lower() in wanted)
            and (start is None or moment >= start)
            and (end is None or moment <= end)
        )

    def sponsorshipsAsSponsor(self, info: Info, **args: Any) -> dict[str, Any]:
        items = list(self.s.sponsorships.get(self.login.lower(), []))
        if args.get("activeOnly", True):
            items = [s for s in items if s.ended_at is None]
        if args.get("maintainerLogins"):
            wanted = {m.lower() for m in args["maintainerLogins"]}
            items = [s for s in items if s.sponsorable.lower() in wanted]
        order = args.get("orderBy") or {}
        if order.get("direction") == "DESC":
            items.reverse()
        result = connection("sponsorshipsAsSponsor", items, lambda s: _sponsorship(self.s, self.ctx, s), args)
        result["totalRecurringMonthlyPriceInCents"] = sum(s.monthly_cents for s in items if not s.is_one_time)
        result["totalRecurringMonthlyPriceInDollars"] = result["totalRecurringMonthlyPriceInCents"] // 100
        return result


class UserNode(_Account):
    typename = "User"

    def __init__(self, service: GitHubGraphQLService, ctx: ServiceContext, login: str, person: Person | None) -> None:
        super().__init__(service, ctx, login)
        self.person = person
        self.name = person.name if person else None
        self.email = ""
        self.company = None
        if person is not None:
            self.databaseId, self.id = person.database_id, person.node_id

    def contributionsCollection(self, info: Info, **args: Any) -> ContributionsNode:
        start, end = _window(args, self.s.world.now)
        items = [c for c in self.s.contributions.get(self.login.lower(), []) if start <= c.occurred_at <= end]
        return ContributionsNode(self, start, end, items)


class OrganizationNode(_Account):
    typename = "Organization"

    def __init__(self, service: GitHubGraphQLService, ctx: ServiceContext, login: str) -> None:
        super().__init__(service, ctx, login)
        self.name = login.title()
        self.viewerIsAMember = login in service.world.orgs

    def membersWithRole(self, info: Info, **args: Any) -> dict[str, Any]:
        members = [
            p
            for p in self.s.world.people
            if p.org_member
            and not p.is_bot
            and (not p.member_of or self.login.lower() in {o.lower() for o in p.member_of})
        ]
        if self.login not in self.s.world.orgs:
            members = []
        result = connection("membersWithRole", members, lambda p: UserNode(self.s, self.ctx, p.login, p), args)
        edges = result["edges"]
        result["edges"] = lambda info: [{**e, "role": "MEMBER", "hasTwoFactorEnabled": None} for e in edges(info)]
        return result

    def repositories(self, info: Info, **args: Any) -> dict[str, Any]:
        repos: list[UpstreamRepo | InternalRepo] = [
            r for r in self.s.world.internal_repos if r.org.lower() == self.login.lower()
        ]
        repos += [u for u in self.s.upstreams.values() if u.owner.lower() == self.login.lower()]
        return connection("repositories", repos, lambda r: RepositoryNode(self.s, self.ctx, r), args)


def _sponsorship(service: GitHubGraphQLService, ctx: ServiceContext, s: Sponsorship) -> dict[str, Any]:
    sponsorable = service.owner(ctx, s.sponsorable)
    created = iso(s.created_at)
    return {
        "__typename": "Sponsorship",
        "id": base64.b64encode(f"SS_{s.sponsor}:{s.sponsorable}:{created}".encode()).decode(),
        "createdAt": created,
        "tierSelectedAt": created,
        "isActive": s.ended_at is None,
        "isOneTimePayment": s.is_one_time,
        "privacyLevel": s.privacy,
        "sponsorable": sponsorable,
        "maintainer": sponsorable if isinstance(sponsorable, UserNode) else None,
        "sponsorEntity": service.owner(ctx, s.sponsor),
        "tier": {
            "id": base64.b64encode(f"ST_{s.sponsorable}:{s.monthly_cents}:{s.is_one_time}".encode()).decode(),
            "name": s.tier_name or f"${s.monthly_cents // 100} {'one time' if s.is_one_time else 'a month'}",
            "description": "",
            "monthlyPriceInCents": s.monthly_cents,
            "monthlyPriceInDollars": s.monthly_cents // 100,
            "isOneTime": s.is_one_time,
            "isCustomAmount": False,
            "createdAt": created,
            "updatedAt": created,
        },
    }


class ContributionsNode:
    """``ContributionsCollection`` for one user and window."""

    typename = "ContributionsCollection"

    def __init__(self, user: UserNode, start: datetime, end: datetime, items: list[Contribution]) -> None:
        self.u, self.items = user, items
        self.startedAt, self.endedAt = iso(start), iso(end)
        self.user = user
        self.restrictedContributionsCount = 0
        self.hasAnyRestrictedContributions = False
        self.hasAnyContributions = bool(items)
        self.isSingleDay = (end - start) <= timedelta(days=1)
        self.doesEndInCurrentMonth = (end.year, end.month) == (user.s.world.now.year, user.s.world.now.month)
        self.contributionYears = sorted({c.occurred_at.year for c in items}, reverse=True)

    def _kinds(self, *kinds: str) -> list[Contribution]:
        return [c for c in self.items if c.kind in kinds]

    def _by_repo(
        self, kinds: tuple[str, ...], name: str, to_nodes: Callable[[Contribution], list[Any]], limit: int | None
    ) -> list[dict[str, Any]]:
        groups: dict[str, list[Contribution]] = {}
        for c in self._kinds(*kinds):
            groups.setdefault(c.upstream, []).append(c)
        weight = {k: sum(c.count for c in v) for k, v in groups.items()}
        ordered = sorted(groups, key=lambda k: (-weight[k], k))[: max(0, min(100, limit if limit is not None else 25))]
        out = []
        for key in ordered:
            repo = RepositoryNode(self.u.s, self.u.ctx, self.u.s.upstreams[key])
            nodes = [n for c in groups[key] for n in to_nodes(c)]

            def contributions(info: Info, _nodes: list[Any] = nodes, **args: Any) -> dict[str, Any]:
                order = args.get("orderBy") or {}
                seq = _nodes if order.get("direction") == "ASC" else list(reversed(_nodes))
                return connection("contributions", seq, _same, args)

            out.append(
                {"repository": repo, "contributions": contributions, "url": repo.url, "resourcePath": repo.resourcePath}
            )
        return out

    def _commit_nodes(self, c: Contribution) -> list[Any]:
        repo = RepositoryNode(self.u.s, self.u.ctx, self.u.s.upstreams[c.upstream])
        return [
            {
                "__typename": "CreatedCommitContribution",
                "commitCount": c.count,
                "occurredAt": iso(c.occurred_at),
                "isRestricted": False,
                "repository": repo,
                "user": self.u,
                "url": f"{repo.url}/commits?author={self.u.login}",
                "resourcePath": f"{repo.resourcePath}/commits?author={self.u.login}",
            }
        ]

    def _pr_nodes(self, c: Contribution) -> list[Any]:
        repo = RepositoryNode(self.u.s, self.u.ctx, self.u.s.upstreams[c.upstream])
        merged = c.kind == "pr_merged"
        out = []
        for i in range(c.count):
            number = stable_id("pr", c.login, c.upstream, iso(c.occurred_at), i, digits=4)
            pr = {
                "__typename": "PullRequest",
                "number": number,
                "title": f"Change {number}",
                "merged": merged,
                "state": "MERGED" if merged else "OPEN",
                "closed": merged,
                "createdAt": iso(c.occurred_at),
                "mergedAt": iso(c.occurred_at) if merged else None,
                "url": f"{repo.url}/pull/{number}",
                "repository": repo,
                "isDraft": False,
            }
            out.append(
                {
                    "__typename": "CreatedPullRequestContribution"
                    if c.kind != "review"
                    else "CreatedPullRequestReviewContribution",
                    "occurredAt": iso(c.occurred_at),
                    "isRestricted": False,
                    "pullRequest": pr,
                    "pullRequestReview": {
                        "__typename": "PullRequestReview",
                        "state": "APPROVED",
                        "createdAt": iso(c.occurred_at),
                        "url": f"{pr['url']}#pullrequestreview-{number}",
                    },
                    "repository": repo,
                    "user": self.u,
                    "url": pr["url"],
                    "resourcePath": f"{repo.resourcePath}/pull/{number}",
                }
            )
        return out

    def _issue_nodes(self, c: Contribution) -> list[Any]:
        repo = RepositoryNode(self.u.s, self.u.ctx, self.u.s.upstreams[c.upstream])
        out = []
        for i in range(c.count):
            number = stable_id("issue", c.login, c.upstream, iso(c.occurred_at), i, digits=4)
            issue = {
                "__typename": "Issue",
                "number": number,
                "title": f"Report {number}",
                "state": "OPEN",
                "createdAt": iso(c.occurred_at),
                "url": f"{repo.url}/issues/{number}",
                "repository": repo,
            }
            out.append(
                {
                    "__typename": "CreatedIssueContribution",
                    "occurredAt": iso(c.occurred_at),
                    "isRestricted": False,
                    "issue": issue,
                    "user": self.u,
                    "url": issue["url"],
                    "resourcePath": f"{repo.resourcePath}/issues/{number}",
                }
            )
        return out

    def commitContributionsByRepository(self, info: Info, maxRepositories: int | None = None) -> list[dict[str, Any]]:
        return self._by_repo(("commit",), "commitContributionsByRepository", self._commit_nodes, maxRepositories)

    def pullRequestContributionsByRepository(
        self, info: Info, maxRepositories: int | None = None, **_: Any
    ) -> list[dict[str, Any]]:
        return self._by_repo(
            ("pr_opened", "pr_merged"), "pullRequestContributionsByRepository", self._pr_nodes, maxRepositories
        )

    def issueContributionsByRepository(
        self, info: Info, maxRepositories: int | None = None, **_: Any
    ) -> list[dict[str, Any]]:
        return self._by_repo(("issue",), "issueContributionsByRepository", self._issue_nodes, maxRepositories)

    def pullRequestReviewContributionsByRepository(
        self, info: Info, maxRepositories: int | None = None
    ) -> list[dict[str, Any]]:
        return self._by_repo(("review",), "pullRequestReviewContributionsByRepository", self._pr_nodes, maxRepositories)

    def _flat(
        self, name: str, kinds: tuple[str, ...], to_nodes: Callable[[Contribution], list[Any]], args: dict[str, Any]
    ) -> dict[str, Any]:
        nodes = [n for c in self._kinds(*kinds) for n in to_nodes(c)]
        order = args.get("orderBy") or {}
        seq = nodes if order.get("direction") == "ASC" else list(reversed(nodes))
        return connection(name, seq, _same, args)

    def pullRequestContributions(self, info: Info, **args: Any) -> dict[str, Any]:
        return self._flat("pullRequestContributions", ("pr_opened", "pr_merged"), self._pr_nodes, args)

    def issueContributions(self, info: Info, **args: Any) -> dict[str, Any]:
        return self._flat("issueContributions", ("issue",), self._issue_nodes, args)

    def pullRequestReviewContributions(self, info: Info, **args: Any) -> dict[str, Any]:
        return self._flat("pullRequestReviewContributions", ("review",), self._pr_nodes, args)

    def _total(self, *kinds: str) -> int:
        return sum(c.count for c in self._kinds(*kinds))

    def _repos(self, *kinds: str) -> int:
        return len({c.upstream for c in self._kinds(*kinds)})

    def totalCommitContributions(self, info: Info) -> int:
        return self._total("commit")

    def totalIssueContributions(self, info: Info, **_: Any) -> int:
        return self._total("issue")

    def totalPullRequestContributions(self, info: Info, **_: Any) -> int:
        return self._total("pr_opened", "pr_merged")

    def totalPullRequestReviewContributions(self, info: Info) -> int:
        return self._total("review")

    def totalRepositoriesWithContributedCommits(self, info: Info) -> int:
        return self._repos("commit")

    def totalRepositoriesWithContributedIssues(self, info: Info, **_: Any) -> int:
        return self._repos("issue")

    def totalRepositoriesWithContributedPullRequests(self, info: Info, **_: Any) -> int:
        return self._repos("pr_opened", "pr_merged")

    def totalRepositoriesWithContributedPullRequestReviews(self, info: Info) -> int:
        return self._repos("review")

    def totalRepositoryContributions(self, info: Info, **_: Any) -> int:
        return 0


class RepositoryNode:
    """``Repository`` for an upstream or an internal repository."""

    typename = "Repository"

    def __init__(self, service: GitHubGraphQLService, ctx: ServiceContext, repo: UpstreamRepo | InternalRepo) -> None:
        self.s, self.ctx, self.repo = service, ctx, repo
        owner = repo.owner if isinstance(repo, UpstreamRepo) else repo.org
        self.name = repo.name
        self.nameWithOwner = f"{owner}/{repo.name}"
        self.owner_login = owner
        self.url = f"{ctx.base_url}/{self.nameWithOwner}"
        self.resourcePath = f"/{self.nameWithOwner}"
        self.id, self.databaseId = repo.node_id, repo.database_id
        self.isArchived = repo.archived
        self.isPrivate = isinstance(repo, InternalRepo) and repo.private
        self.isFork = isinstance(repo, InternalRepo) and repo.fork
        self.isDisabled = False
        self.isEmpty = False
        self.isLocked = False
        self.isMirror = False
        self.visibility = "PRIVATE" if self.isPrivate else "PUBLIC"
        self.pushedAt = iso(repo.pushed_at)
        self.createdAt = iso(repo.created_at or service.world.now)
        self.updatedAt = iso(repo.pushed_at or repo.created_at or service.world.now)
        self.stargazerCount = repo.stars if isinstance(repo, UpstreamRepo) else 0
        self.forkCount = 0
        self.description = repo.description if isinstance(repo, UpstreamRepo) else None
        self.homepageUrl = None
        self.hasIssuesEnabled = True

    def owner(self, info: Info) -> Any:
        return self.s.owner(self.ctx, self.owner_login)

    def issue(self, info: Info, number: int) -> dict[str, Any] | None:
        """An issue with its body's revisions (``userContentEdits``, newest first, as GitHub lists them)."""
        if not isinstance(self.repo, InternalRepo):
            return None
        found = next((i for i in self.s.world.issues.get(self.repo.full_name, []) if i.number == number), None)
        if found is None:
            raise not_found(f"Could not resolve to an issue or pull request with the number of {number}.")
        edits = list(reversed(found.edits))

        def edit_node(edit: BodyEdit) -> dict[str, Any]:
            return {
                "__typename": "UserContentEdit",
                "id": base64.b64encode(f"UCE_{number}_{edit.edited_at.isoformat()}".encode()).decode(),
                "editedAt": iso(edit.edited_at),
                "createdAt": iso(edit.edited_at),
                "updatedAt": iso(edit.edited_at),
                "deletedAt": None,
                "deletedBy": None,
                "diff": edit.body,
                "editor": self.s.owner(self.ctx, edit.editor),
            }

        return {
            "__typename": "Issue",
            "number": found.number,
            "title": found.title,
            "body": found.body,
            "state": found.state.upper(),
            "stateReason": found.state_reason.upper() if found.state_reason else None,
            "userContentEdits": lambda info, **args: connection("userContentEdits", edits, edit_node, args),
        }

    def licenseInfo(self, info: Info) -> dict[str, Any] | None:
        if not isinstance(self.repo, UpstreamRepo) or not self.repo.licenses:
            return None
        spdx = self.repo.licenses[min(self.s.world.scan, len(self.repo.licenses) - 1)]
        if spdx is None:
            return None
        return {
            "__typename": "License",
            "id": base64.b64encode(f"MDc6TGljZW5zZ{spdx}".encode()).decode(),
            "key": spdx.lower(),
            "name": LICENCE_NAMES.get(spdx, spdx),
            "spdxId": spdx,
            "url": f"http://choosealicense.com/licenses/{spdx.lower()}/",
            "nickname": None,
            "pseudoLicense": False,
            "featured": False,
            "hidden": False,
            "body": "",
            "conditions": [],
            "limitations": [],
            "permissions": [],
        }

    def fundingLinks(self, info: Info) -> list[dict[str, str]]:
        return funding_links(self.repo.funding_yml) if isinstance(self.repo, UpstreamRepo) else []

    def _commits(self) -> list[Commit]:
        return self.repo.commits if isinstance(self.repo, UpstreamRepo) else []

    def defaultBranchRef(self, info: Info) -> dict[str, Any] | None:
        branch = self.repo.default_branch if isinstance(self.repo, UpstreamRepo) else "main"
        commits = self._commits()
        target = _commit_node(self, commits, 0) if commits else None
        return {"__typename": "Ref", "name": branch, "prefix": "refs/heads/", "id": f"REF_{self.id}", "target": target}

    def object(self, info: Info, expression: str | None = None, oid: str | None = None) -> dict[str, Any] | None:
        """``object(expression: "HEAD:path")``: the Blob of a file the world gives (FUNDING.yml, funding.json,
        CONTRIBUTING.md, ...), the head Commit, or null."""
        commits = self._commits()
        if expression is None:
            index = next((i for i, c in enumerate(commits) if c.sha == oid), None)
            return _commit_node(self, commits, index) if index is not None else None
        ref, _, path = expression.partition(":")
        if not path:
            return _commit_node(self, commits, 0) if commits and ref in {"HEAD", self._branch()} else None
        files: dict[str, str | None] = {}
        if isinstance(self.repo, UpstreamRepo):
            files = {".github/FUNDING.yml": self.repo.funding_yml, "funding.json": self.repo.funding_json}
            files.update(self.repo.files)
        text = files.get(path)
        if text is None or ref not in {"HEAD", self._branch()}:
            return None
        blob_oid = hashlib.sha1(b"blob %d\0" % len(text.encode()) + text.encode(), usedforsecurity=False).hexdigest()
        return {
            "__typename": "Blob",
            "id": base64.b64encode(f"B_{self.nameWithOwner}:{path}".encode()).decode(),
            "oid": blob_oid,
            "abbreviatedOid": blob_oid[:7],
            "text": text,
            "byteSize": len(text.encode()),
            "isBinary": False,
            "isTruncated": False,
            "commitUrl": f"{self.url}/commit/{commits[0].sha}" if commits else self.url,
            "commitResourcePath": f"{self.resourcePath}/commit/{commits[0].sha}" if commits else self.resourcePath,
            "repository": self,
        }

    def _branch(self) -> str:
        return self.repo.default_branch if isinstance(self.repo, UpstreamRepo) else "main"

    def _releases(self) -> list[Release]:
        return (
            sorted(self.repo.releases, key=lambda r: r.published_at, reverse=True)
            if isinstance(self.repo, UpstreamRepo)
            else []
        )

    def releases(self, info: Info, **args: Any) -> dict[str, Any]:
        items = self._releases()
        order = args.get("orderBy") or {}
        if order.get("direction") == "ASC":
            items.reverse()
        return connection("releases", items, self._release, args)

    def latestRelease(self, info: Info) -> dict[str, Any] | None:
        items = self._releases()
        return self._release(items[0]) if items else None

    def _release(self, release: Release) -> dict[str, Any]:
        latest = self._releases()
        return {
            "__typename": "Release",
            "id": base64.b64encode(f"RE_{self.nameWithOwner}:{release.tag}".encode()).decode(),
            "tagName": release.tag,
            "name": release.name,
            "publishedAt": iso(release.published_at),
            "createdAt": iso(release.published_at),
            "updatedAt": iso(release.published_at),
            "isDraft": False,
            "isPrerelease": False,
            "isLatest": bool(latest) and latest[0] is release,
            "url": f"{self.url}/releases/tag/{release.tag}",
            "resourcePath": f"{self.resourcePath}/releases/tag/{release.tag}",
        }


def _commit_node(repo: RepositoryNode, commits: list[Commit], index: int) -> dict[str, Any]:
    """The ``Commit`` at ``commits[index]``; its ``history`` walks the default branch from there."""
    commit = commits[index]
    service, ctx = repo.s, repo.ctx

    def actor(info: Info) -> dict[str, Any]:
        login = commit.author_login
        person = service.people.get(login.lower()) if login else None
        return {
            "name": commit.author_name,
            "email": commit.author_email,
            "date": iso(commit.committed_at),
            "avatarUrl": f"{ctx.base_url}/avatars/{commit.author_email}",
            "user": UserNode(service, ctx, person.login if person else login, person) if login else None,
        }

    def history(info: Info, **args: Any) -> dict[str, Any]:
        since, until = _time_arg(args.get("since")), _time_arg(args.get("until"))
        author = args.get("author") or {}
        emails = {e.lower() for e in author.get("emails") or []}
        author_id = author.get("id")
        picked = [
            i
            for i in range(index, len(commits))
            if (since is None or commits[i].committed_at >= since)
            and (until is None or commits[i].committed_at <= until)
            and (not emails or commits[i].author_email.lower() in emails)
            and (author_id is None or _login_id(service, commits[i].author_login) == author_id)
        ]
        return connection("history", picked, lambda i: _commit_node(repo, commits, i), args)

    return {
        "__typename": "Commit",
        "oid": commit.sha,
        "abbreviatedOid": commit.sha[:7],
        "id": base64.b64encode(f"C_{commit.sha}".encode()).decode(),
        "message": commit.message,
        "messageHeadline": commit.message.splitlines()[0] if commit.message else "",
        "committedDate": iso(commit.committed_at),
        "authoredDate": iso(commit.committed_at),
        "pushedDate": iso(commit.committed_at),
        "url": f"{repo.url}/commit/{commit.sha}",
        "resourcePath": f"{repo.resourcePath}/commit/{commit.sha}",
        "additions": 0,
        "deletions": 0,
        "changedFilesIfAvailable": 0,
        "author": actor,
        "committer": actor,
        "repository": repo,
        "history": history,
    }


def _same(node: Any) -> Any:
    return node


def _login_id(service: GitHubGraphQLService, login: str | None) -> str | None:
    if login is None:
        return None
    person = service.people.get(login.lower())
    return person.node_id if person else None
