"""Generate a sandbox world from a seed and a scale, deterministically.

Everything comes from one ``random.Random(seed)`` consumed in a fixed order and from the fixed
instant :data:`WORLD_NOW`; nothing reads the wall clock or ``hash()`` of a string, so the same
seed and scale give the same world byte for byte.

The world is built so that its facts are known by construction: every package knows its true
upstream (or why it has none), and the last 12 months' commits of every upstream are laid out so
that its bus factor and elephant factor are exactly ``designed_bus_factor`` and
``designed_elephant_factor`` (see :func:`_design_history`). ``truth.py`` recomputes them from the
commits with plain code; the tests check the two agree. Governance shows in the same commits: a
company-governed upstream makes at least two thirds of its window's commits from its owner's
domain, no other organisation reaches that share, and archived upstreams (no commits in the
window) are never company-governed. The planted under-invested upstreams are used by live
repositories only, one fewer per rank, and every other upstream used at least half as widely is
paid (see :func:`_fund_critical`), so they are the top gaps in order however use is counted.
"""

from __future__ import annotations

import json
import random
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal, TypeVar

from bot.sandbox.model import (
    Collective,
    Commit,
    Contribution,
    ContributionKind,
    Dependency,
    Governance,
    InternalRepo,
    LedgerEntry,
    OpenCollectiveContribution,
    Package,
    Person,
    Release,
    Sponsorship,
    UpstreamRepo,
    World,
)
from bot.sandbox.repo_facts import assign_repo_facts

WORLD_NOW = datetime(2026, 11, 15, 12, 0, tzinfo=UTC)
WINDOW_DAYS = 365
GITLAB_HOSTS = ("gitlab.com",)  # upstream hosts the sandbox GitLab serves
FORGEJO_HOSTS = ("codeberg.org",)  # upstream hosts the sandbox Forgejo serves
HISTORY_DAYS = 455  # contributions reach back about 15 months
ECOSYSTEMS = ("pypi", "npm", "cargo", "golang", "maven", "gem", "nuget", "composer", "githubactions")
PUBLIC_MAIL_DOMAINS = (
    "gmail.com",
    "outlook.com",
    "hotmail.com",
    "yahoo.com",
    "proton.me",
    "icloud.com",
    "users.noreply.github.com",
)
#: Other upstreams used at least this share of the least used planted gap's use get paid, this much (USD) per
#: use (see :func:`_fund_critical`).
CRITICAL_SHARE = 0.5
# Packages named by their repository path: renaming the repository does not rename them.
RENAME_FIXED_ECOSYSTEMS = frozenset({"golang", "githubactions"})
CRITICAL_DOLLARS_PER_USE = 1000
SOURCE_AVAILABLE = ("BUSL-1.1", "SSPL-1.0", "Elastic-2.0")
TOKENS: dict[str, list[str]] = {
    "github": ["sandbox-github-token-a1", "sandbox-github-token-b2"],
    "slack": ["sandbox-slack-bot-token"],
    "opencollective": ["sandbox-opencollective-token"],
    "mattermost": ["sandbox-mattermost-token"],
    "matrix": ["sandbox-matrix-token"],
    "teams": ["sandbox-teams-signature"],
    "smtp": ["sandbox-smtp-password"],
    "gitlab": ["sandbox-gitlab-token"],
    "forgejo": ["sandbox-forgejo-token"],
}


@dataclass(frozen=True)
class Scale:
    """How big a world is; ``upstreams`` counts upstreams that packages map to."""

    orgs: tuple[str, ...]
    internal_repos: int
    packages: int
    upstreams: int
    people: int
    other_repos: int  # repositories people contribute to that no package maps to
    under_invested: int
    deps_per_repo: tuple[int, int]


SCALES: dict[str, Scale] = {
    "small": Scale(("acme", "acme-labs"), 20, 300, 120, 30, 8, 5, (12, 30)),
    "medium": Scale(("acme", "acme-labs"), 500, 5000, 1500, 250, 40, 12, (15, 35)),
    "large": Scale(("acme", "acme-labs", "acme-cloud"), 2000, 20_000, 6000, 1000, 150, 25, (15, 40)),
}

# fmt: off
_A = (
    "swift", "quick", "lazy", "bright", "silent", "rapid", "tiny", "brave", "calm", "eager", "fuzzy", "gentle",
    "happy", "jolly", "keen", "lucky", "merry", "noble", "proud", "quiet", "rusty", "shiny", "sturdy", "tidy",
    "vivid", "witty", "zesty", "amber", "azure", "coral", "crimson", "golden", "ivory", "jade", "lemon", "olive",
    "ruby", "silver", "teal", "violet", "cobalt", "copper", "onyx", "pearl", "cedar", "maple", "birch", "aspen",
    "willow",
)
_N = (
    "parser", "router", "cache", "logger", "queue", "stream", "buffer", "socket", "crypto", "schema", "config",
    "loader", "runner", "worker", "client", "server", "bridge", "codec", "engine", "kernel", "ledger", "matrix",
    "vector", "tensor", "graph", "index", "finder", "mapper", "filter", "signal", "beacon", "harbor", "anchor",
    "lantern", "compass", "quill", "prism", "nexus", "atlas", "orbit", "pixel", "pulse", "spark", "forge", "vault",
    "relay", "shard", "token", "yaml", "toml", "json", "http", "grpc", "proto", "lint", "format", "test", "mock",
    "bench", "trace", "metric",
)
_FIRST = (
    "Ada", "Alan", "Grace", "Linus", "Margaret", "Ken", "Dennis", "Barbara", "Frances", "Edsger", "Donald", "Leslie",
    "Radia", "Tim", "Guido", "Yukihiro", "Bjarne", "Anders", "Rob", "Larry", "Hedy", "Katherine", "Sophie", "Jean",
    "Niklaus", "John", "Mary", "Ivan", "Olga", "Priya", "Chen", "Aiko", "Omar", "Lena", "Tomas", "Ines", "Kwame",
    "Nia", "Sven", "Maja", "Diego", "Lucia", "Ravi", "Mei", "Hugo", "Clara", "Felix", "Nora",
)
_LAST = (
    "Lovelace", "Turing", "Hopper", "Torvalds", "Hamilton", "Thompson", "Ritchie", "Liskov", "Allen", "Dijkstra",
    "Knuth", "Lamport", "Perlman", "Lee", "Rossum", "Matsumoto", "Stroustrup", "Hejlsberg", "Pike", "Wall", "Lamarr",
    "Johnson", "Wilson", "Sammet", "Wirth", "McCarthy", "Keller", "Petrov", "Ivanova", "Sharma", "Wei", "Tanaka",
    "Haddad", "Berg", "Novak", "Costa", "Mensah", "Okafor", "Lund", "Nowak", "Garcia", "Romero", "Patel", "Zhang",
    "Moreau", "Schmidt", "Weber", "Rossi",
)
# fmt: on
_FOUNDATIONS = ("apache", "pypa", "rust-lang", "nodejs", "eclipse", "cncf", "python", "openjsf", "dotnet", "php-fig")
_COMPANIES = ("initech", "globex", "umbrella", "hooli", "soylent", "vandelay", "wonka", "stark", "wayne", "tyrell")
_PERMISSIVE = ("MIT", "MIT", "MIT", "Apache-2.0", "Apache-2.0", "BSD-3-Clause", "BSD-2-Clause", "ISC", "Unlicense")
_COPYLEFT = ("GPL-3.0-only", "GPL-2.0-or-later", "AGPL-3.0-only", "LGPL-2.1-only", "MPL-2.0", "EPL-2.0")
_MESSAGES = (
    "fix: handle empty input",
    "feat: add streaming support",
    "docs: clarify configuration",
    "refactor: split module",
    "test: cover edge cases",
    "chore: release",
    "perf: avoid extra copy",
    "ci: update workflow",
)
_KINDS: tuple[ContributionKind, ...] = ("commit", "pr_opened", "pr_merged", "issue", "review")
_KIND_WEIGHTS = (35, 20, 15, 15, 15)
_T = TypeVar("_T")


class _Ids:
    """Deterministic GitHub-style ids: database ids from counters, node ids derived from them."""

    def __init__(self) -> None:
        self._next = {"user": 1000, "repo": 500_000, "org": 9000}

    def take(self, kind: str) -> tuple[str, int]:
        self._next[kind] += 1
        number = self._next[kind]
        prefix = {"user": "U_kgDO", "repo": "R_kgDO", "org": "O_kgDO"}[kind]
        return f"{prefix}{number:08X}", number


class _Names:
    """Unique, readable names drawn from word lists (numbered once the combinations run out)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used: set[str] = set()

    def unique(self, make: str) -> str:
        candidate = make
        while candidate in self.used:
            candidate = f"{make}-{self.rng.randint(2, 999)}"
        self.used.add(candidate)
        return candidate

    def word(self) -> str:
        return self.unique(f"{self.rng.choice(_A)}-{self.rng.choice(_N)}")


def _day(offset_days: int, hour: int = 12) -> datetime:
    """An instant ``offset_days`` before :data:`WORLD_NOW` (never on a window boundary: 365 is skipped)."""
    if offset_days == WINDOW_DAYS:
        offset_days += 1
    return (WORLD_NOW - timedelta(days=offset_days)).replace(hour=hour, minute=0, second=0)


def _sha(rng: random.Random) -> str:
    return f"{rng.getrandbits(160):040x}"


def _pick(rng: random.Random, items: Sequence[_T], weights: Sequence[int]) -> _T:
    return rng.choices(items, weights=weights, k=1)[0]


def _version(rng: random.Random) -> list[str]:
    major, minor = rng.randint(0, 9), rng.randint(0, 20)
    return [f"{major}.{minor}.{patch}" for patch in range(rng.randint(1, 4))]


# --------------------------------------------------------------------------------------------- upstreams


def _governance(rng: random.Random) -> Governance:
    return _pick(rng, ("foundation", "company", "community", "individual"), (15, 20, 25, 40))


def _owner(rng: random.Random, governance: Governance, names: _Names) -> tuple[str, Literal["User", "Organization"]]:
    if governance == "foundation":
        return rng.choice(_FOUNDATIONS), "Organization"
    if governance == "company":
        return rng.choice(_COMPANIES) + rng.choice(("", "-oss", "labs", "-io")), "Organization"
    if governance == "community":
        return names.unique(f"{rng.choice(_N)}-{rng.choice(('dev', 'js', 'rs', 'py', 'org', 'community'))}"), (
            "Organization"
        )
    return names.unique(f"{rng.choice(_FIRST).lower()}{rng.choice(_LAST).lower()}"), "User"


def _licenses(rng: random.Random, drift: bool) -> list[str | None]:
    roll = rng.random()
    first: str | None = rng.choice(_PERMISSIVE) if roll < 0.8 else rng.choice(_COPYLEFT) if roll < 0.97 else None
    if not drift:
        return [first]
    if first is None or rng.random() < 0.75:
        return [first or "Apache-2.0", rng.choice(SOURCE_AVAILABLE)]
    return [first, "GPL-3.0-only" if first != "GPL-3.0-only" else "AGPL-3.0-only"]


def _make_upstreams(rng: random.Random, scale: Scale, ids: _Ids, names: _Names) -> list[UpstreamRepo]:
    upstreams: list[UpstreamRepo] = []
    keys: set[str] = set()
    total = scale.upstreams + scale.other_repos
    drifting = set(rng.sample(range(scale.upstreams), max(3, scale.upstreams // 30)))
    archived = set(rng.sample(range(scale.upstreams), max(3, scale.upstreams // 25)))
    for index in range(total):
        governance = _governance(rng)
        while governance == "company" and index in archived:
            # company control shows only in the window's commits, and an archived upstream has none
            governance = _governance(rng)
        owner, owner_type = _owner(rng, governance, names)
        host = _pick(rng, ("github.com", "gitlab.com", "codeberg.org"), (94, 4, 2)) if index < scale.upstreams else ""
        host = host or "github.com"
        name = f"{rng.choice(_A)}-{rng.choice(_N)}" if rng.random() < 0.6 else rng.choice(_N) + rng.choice(_N)
        while f"{host}/{owner}/{name}" in keys:
            name = f"{name}-{rng.randint(2, 99)}"
        keys.add(f"{host}/{owner}/{name}")
        node_id, database_id = ids.take("repo")
        created = _day(rng.randint(800, 4000))
        upstreams.append(
            UpstreamRepo(
                host=host,
                owner=owner,
                name=name,
                owner_type=owner_type,
                node_id=node_id,
                database_id=database_id,
                description=f"A {name.replace('-', ' ')} library",
                default_branch=rng.choice(("main", "main", "main", "master")),
                created_at=created,
                archived=index in archived,
                licenses=_licenses(rng, index in drifting),
                governance=governance,
                owner_has_sponsors_listing=owner_type == "User" and rng.random() < 0.5,
                stars=int(rng.paretovariate(1.2) * 40),
                scorecard=round(rng.uniform(2.0, 9.5), 1) if rng.random() < 0.7 else None,
            )
        )
    return upstreams


def _funding_yml(rng: random.Random, up: UpstreamRepo, oc_slug: str | None, package: str) -> str | None:
    style = rng.randrange(8)
    if oc_slug is not None:
        return f"github: [{up.owner}]\nopen_collective: {oc_slug}\n" if style % 2 else f"open_collective: {oc_slug}\n"
    if style == 0 and up.owner_type == "User":
        return f"github: {up.owner}\n"
    if style == 1:
        return f'github: [{up.owner}]\ncustom: "https://{up.name}.example.org/donate"\n'
    if style == 2:
        # GitHub's template left in place, every key null but one (as ljharb/qs has it)
        return (
            "# These are supported funding model platforms\n\ngithub: # Replace with up to 4 GitHub Sponsors-enabled"
            " usernames e.g., [user1, user2]\npatreon: # Replace with a single Patreon username\nopen_collective: #"
            " Replace with a single Open Collective username\nko_fi: # Replace with a single Ko-fi username\n"
            f"tidelift: {package}\ncommunity_bridge: # Replace with a single Community Bridge project-name\n"
            "liberapay: # Replace with a single Liberapay username\nissuehunt: # Replace with a single IssueHunt"
            " username\notechie: # Replace with a single Otechie username\ncustom: # Replace with up to 4 custom"
            " sponsorship URLs e.g., ['link1', 'link2']\n"
        )
    if style == 3:
        return f"tidelift: {package}\n"
    if style == 4:
        return f"thanks_dev: u/gh/{up.owner}\nliberapay: {up.owner}\n"
    return None


def _funding_json(up: UpstreamRepo, trap: bool) -> str:
    if trap:  # an Optimism RetroPGF file: the same name, not a funding manifest
        return json.dumps({"opRetro": {"projectId": f"0x{up.database_id:064x}"}}, indent=2) + "\n"
    manifest = {
        "version": "v1.0.0",
        "entity": {
            "type": "individual" if up.owner_type == "User" else "organisation",
            "role": "owner",
            "name": up.owner,
            "email": f"funding@{up.owner}.example.org",
            "description": f"Maintainers of {up.name}.",
            "webpageUrl": {"url": f"https://{up.host}/{up.owner}"},
        },
        "projects": [
            {
                "guid": up.name,
                "name": up.name,
                "description": up.description,
                "webpageUrl": {"url": f"https://{up.host}/{up.full_name}"},
                "repositoryUrl": {"url": f"https://{up.host}/{up.full_name}"},
                "licenses": [f"spdx:{up.licenses[0] or 'MIT'}"],
                "tags": ["library"],
            }
        ],
        "funding": {
            "channels": [{"guid": "bank", "type": "bank", "address": "", "description": "Wire transfer"}],
            "plans": [
                {
                    "guid": "supporter",
                    "status": "active",
                    "name": "Supporter",
                    "description": "Keep the lights on.",
                    "amount": 500,
                    "currency": "USD",
                    "frequency": "monthly",
                    "channels": ["bank"],
                }
            ],
            "history": [],
        },
    }
    return json.dumps(manifest, indent=2) + "\n"


def _releases(rng: random.Random, up: UpstreamRepo, versions: list[str]) -> list[Release]:
    newest = rng.randint(20, 700) if not up.archived else rng.randint(420, 900)
    out: list[Release] = []
    for i, version in enumerate(reversed(versions)):
        tag = f"v{version}"
        out.append(Release(tag=tag, name=tag, published_at=_day(newest + 60 * i)))
    return out


# --------------------------------------------------------------------------------------------- packages


@dataclass
class _PackagePlan:
    upstream: UpstreamRepo | None
    ecosystem: str
    monorepo: bool
    sub: str | None


def _ecosystem(rng: random.Random) -> str:
    return _pick(rng, ECOSYSTEMS, (20, 25, 9, 10, 11, 7, 7, 6, 5))


def _repo_url(up: UpstreamRepo) -> str:
    return f"https://{up.host}/{up.owner}/{up.name}"


def _package(rng: random.Random, plan: _PackagePlan, taken: set[str], names: _Names, serial: int) -> Package:
    """One package of ``plan``: its registry metadata in one of the messy forms its ecosystem has."""
    up, eco, sub = plan.upstream, plan.ecosystem, plan.sub
    base = up.name if up else names.word()
    stem = f"{base}-{sub}" if sub else base
    versions = _version(rng)
    meta: dict[str, Any] = {"summary": f"{stem.replace('-', ' ').capitalize()} for everyone"}
    namespace: str | None = None
    name = stem
    form = "plain"
    subdirectory: str | None = None
    reason: str | None = None
    url = _repo_url(up) if up else None
    gh = up is not None and up.host == "github.com"

    if eco == "pypi":
        if up is None:
            form = rng.choice(("none", "homepage-docs-only"))
            meta["home_page"] = None if form == "none" else f"https://{stem}.readthedocs.io/"
            meta["project_urls"] = None if form == "none" else {"Homepage": f"https://{stem}.readthedocs.io/"}
            reason = "no repository in metadata" if form == "none" else "homepage is documentation, not a repository"
        else:
            form = rng.choice(("project-urls-source", "project-urls-code", "project-urls-homepage", "home-page-only"))
            docs = f"https://{stem}.readthedocs.io/en/latest/"
            if form == "project-urls-source":
                meta["project_urls"] = {"Homepage": docs, "Source": url, "Changelog": f"{url}/releases"}
            elif form == "project-urls-code":
                meta["project_urls"] = {"Documentation": docs, "Code": f"{url}.git", "Issue tracker": f"{url}/issues"}
            elif form == "project-urls-homepage":
                meta["project_urls"] = {"Homepage": url, "Funding": f"https://github.com/sponsors/{up.owner}"}
            else:
                meta["project_urls"] = None
            meta["home_page"] = url if form == "home-page-only" else None
            if plan.monorepo:
                subdirectory = sub
    elif eco == "npm":
        if plan.monorepo and up is not None:
            namespace = f"@{up.name.split('-')[0]}"
            name = sub or up.name
            subdirectory = f"packages/{name}"
            form = "monorepo-directory"
            meta["repository"] = {"type": "git", "url": f"git+{url}.git", "directory": subdirectory}
            meta["homepage"] = f"{url}/tree/{up.default_branch}/{subdirectory}#readme"
            meta["bugs"] = {"url": f"{url}/issues"}
        elif up is None:
            form, reason = "none", "no repository in metadata"
            meta["homepage"] = f"https://{stem}.example.org"
        else:
            if rng.random() < 0.15:
                namespace = f"@{up.owner}"
            if gh:
                form = rng.choice(("git+https", "git-ssh", "github-shorthand", "bare", "https", "git-protocol"))
            else:
                form = rng.choice(("host-shorthand", "https"))
            value: Any = {
                "git+https": {"type": "git", "url": f"git+{url}.git"},
                "git-ssh": {"type": "git", "url": f"git+ssh://git@github.com/{up.full_name}.git"},
                "github-shorthand": f"github:{up.full_name}",
                "bare": up.full_name,
                "https": {"type": "git", "url": url},
                "git-protocol": {"type": "git", "url": f"git://github.com/{up.full_name}.git"},
                "host-shorthand": f"{up.host.split('.')[0]}:{up.full_name}",
            }[form]
            meta["repository"] = value
            meta["homepage"] = f"{url}#readme"
            meta["bugs"] = {"url": f"{url}/issues"}
    elif eco == "cargo":
        if up is None:
            form, reason = "none", "no repository in metadata"
            meta["homepage"] = f"https://{stem}.example.org"
        else:
            form = rng.choice(("repository", "repository-git-suffix", "homepage-only"))
            meta["repository"] = None if form == "homepage-only" else f"{url}{'.git' if 'git-suffix' in form else ''}"
            meta["homepage"] = url if form == "homepage-only" else f"https://docs.rs/{stem}"
        meta["documentation"] = f"https://docs.rs/{stem}"
    elif eco == "golang":
        assert up is not None  # Go modules are named after their repository, so none is unresolvable here
        if up.owner == "golang":
            namespace, name, form = "golang.org/x", up.name, "golang-x"
            if plan.monorepo and sub:
                namespace, name, subdirectory = f"golang.org/x/{up.name}", sub, sub
            meta["vanity"] = {
                "prefix": f"golang.org/x/{up.name}",
                "repo_root": f"https://go.googlesource.com/{up.name}",
                "source": f"https://github.com/golang/{up.name}",
            }
        elif not gh:
            namespace, name, form = f"{up.host}/{up.owner}", up.name, "forge-path"
        elif plan.monorepo and sub:
            namespace, name, form = f"github.com/{up.full_name}", sub, "github-subdir"
            subdirectory = sub
        else:
            form = rng.choice(("github-path", "github-major", "vanity", "gopkg-in"))
            if form == "github-major":
                namespace, name = f"github.com/{up.full_name}", f"v{rng.randint(2, 5)}"
            elif form == "vanity":
                host = f"go.{up.owner}.dev"
                namespace, name = host, up.name
                meta["vanity"] = {"prefix": f"{host}/{up.name}", "repo_root": f"{url}.git", "source": url}
            elif form == "gopkg-in":
                major = f"v{rng.randint(1, 3)}"
                namespace, name = f"gopkg.in/{up.owner}", f"{up.name}.{major}"
                meta["vanity"] = {
                    "prefix": f"gopkg.in/{up.owner}/{up.name}.{major}",
                    "repo_root": f"https://gopkg.in/{up.owner}/{up.name}.{major}",
                    "source": url,
                }
            else:
                namespace, name = f"github.com/{up.owner}", up.name
        meta["module"] = f"{namespace}/{name}"
        versions = [f"v{v}" for v in versions]
    elif eco == "maven":
        group_owner = (up.owner if up else base.split("-")[0]).replace("-", "")
        groups = (f"org.{group_owner}", f"io.github.{group_owner}", f"com.{group_owner}")
        namespace = groups[0] if plan.monorepo else rng.choice(groups)
        name = stem
        pom: dict[str, Any] = {"url": None, "scm": None, "parent": None}
        parent: dict[str, Any] | None = None
        if up is None:
            form, reason = "none", "no scm in POM or parent POM"
            pom["url"] = f"https://{stem}.example.org"
        elif plan.monorepo:
            form = "parent-scm"
            parent = {
                "groupId": namespace,
                "artifactId": f"{up.name}-parent",
                "version": versions[-1],
                "scm": {"url": url, "connection": f"scm:git:{url}.git", "developerConnection": None},
                "url": url,
            }
            pom["parent"] = {"groupId": namespace, "artifactId": f"{up.name}-parent", "version": versions[-1]}
            subdirectory = sub
        else:
            form = rng.choice(("scm-url", "scm-connection-ssh", "scm-connection-git"))
            scm = {
                "scm-url": {"url": f"{url}/tree/{up.default_branch}", "connection": None},
                "scm-connection-ssh": {"url": None, "connection": f"scm:git:git@{up.host}:{up.full_name}.git"},
                "scm-connection-git": {"url": None, "connection": f"scm:git:git://{up.host}/{up.full_name}.git"},
            }[form]
            pom["scm"] = {**scm, "developerConnection": None}
            pom["url"] = f"https://{up.name}.example.org"
        meta["pom"] = pom
        meta["parent_pom"] = parent
    elif eco == "gem":
        if up is None:
            form, reason = "homepage-website", "homepage is not a repository"
            meta.update(source_code_uri=None, homepage_uri=f"https://{stem}.example.org")
        elif plan.monorepo and sub:
            form, subdirectory = "source-code-tree", sub
            meta.update(source_code_uri=f"{url}/tree/v{versions[-1]}/{sub}", homepage_uri=f"https://{up.name}.org")
        else:
            form = rng.choice(("source-code-uri", "homepage-only"))
            meta.update(
                source_code_uri=url if form == "source-code-uri" else None,
                homepage_uri=url if form == "homepage-only" else f"https://{up.name}.example.org",
            )
        meta["bug_tracker_uri"] = f"{url}/issues" if url else None
    elif eco == "nuget":
        pascal = "".join(part.capitalize() for part in stem.split("-"))
        owner_part = "".join(p.capitalize() for p in (up.owner if up else "contoso").split("-"))
        name = f"{owner_part}.{pascal}"
        if up is None:
            form, reason = "project-url-website", "projectUrl is not a repository"
            meta.update(repository=None, projectUrl=f"https://{stem}.example.org")
        else:
            form = rng.choice(("repository-element", "project-url"))
            meta["repository"] = (
                {"type": "git", "url": f"{url}.git", "commit": _sha(rng)} if form == "repository-element" else None
            )
            meta["projectUrl"] = url if form == "project-url" else f"https://{up.name}.example.org"
            subdirectory = sub if plan.monorepo else None
    elif eco == "composer":
        assert up is not None
        namespace, name = up.owner, stem
        form = rng.choice(("source-url", "source-ssh")) if gh else "source-url"
        source = f"{url}.git" if form == "source-url" else f"git@{up.host}:{up.full_name}.git"
        support = f"{url}/tree/v{versions[-1]}"
        if plan.monorepo and sub and sub != "core":
            # a read-only subtree split (as symfony/polyfill-mbstring is of symfony/polyfill): the
            # source names the split, only extra.thanks names the monorepo
            form, subdirectory = "split-mirror", sub
            split = f"https://{up.host}/{up.owner}/{stem}"
            source, support = f"{split}.git", f"{split}/tree/v{versions[-1]}"
            meta["extra"] = {"thanks": {"name": up.full_name, "url": url}}
        meta.update(source={"url": source, "type": "git"}, homepage=f"https://{up.name}.example.org")
        meta["support"] = {"source": support, "issues": f"{url}/issues"}
        versions = [f"v{v}" for v in versions]
    else:  # githubactions: the package is the repository itself
        assert up is not None
        namespace, name, form = up.owner, up.name, "action"
        versions = [f"v{int(versions[-1].split('.')[0]) + 1}"]

    key_ns = f"{eco}/{namespace}/" if namespace else f"{eco}/"
    while (key_ns + name).lower() in taken:
        name = f"{name}-{serial % 97 + 2}"
        if eco == "golang":
            meta["module"] = f"{namespace}/{name}"
    taken.add((key_ns + name).lower())
    return Package(
        ecosystem=eco,
        namespace=namespace,
        name=name,
        versions=versions,
        true_upstream=up.key if up else None,
        metadata=meta,
        repository_form=form,
        subdirectory=subdirectory,
        deprecated=rng.random() < 0.02,
        license=(up.licenses[0] if up else rng.choice(_PERMISSIVE)),
        unresolvable_reason=reason,
    )


def _make_packages(
    rng: random.Random, scale: Scale, upstreams: list[UpstreamRepo], names: _Names
) -> tuple[list[Package], dict[str, str]]:
    used = upstreams[: scale.upstreams]
    eco_of: dict[str, str] = {}
    plans: list[_PackagePlan] = []
    golang_x = 0
    keys = {u.key for u in upstreams}
    for up in used:
        eco = _ecosystem(rng)
        if up.host != "github.com" and eco in ("githubactions", "composer"):
            eco = "npm"
        if (
            eco == "golang"
            and up.host == "github.com"
            and golang_x < max(2, scale.upstreams // 200)
            and up.governance == "company"
            and rng.random() < 0.5
            and f"github.com/golang/{up.name}" not in keys
        ):
            keys.discard(up.key)
            up.owner, up.owner_type, golang_x = "golang", "Organization", golang_x + 1
            keys.add(up.key)
        eco_of[up.key] = eco
        plans.append(_PackagePlan(up, eco, False, None))
    unresolvable = max(8, scale.packages // 40)
    monorepo_ecos = ("pypi", "npm", "golang", "maven", "gem", "nuget", "composer")
    monorepos = [
        p.upstream
        for p in plans
        if p.upstream and p.ecosystem in monorepo_ecos and p.upstream.host == "github.com" and rng.random() < 0.35
    ]
    subs: dict[str, int] = defaultdict(int)
    mono_keys = {m.key for m in monorepos if m}
    for i, plan in enumerate(plans):
        if plan.upstream and plan.upstream.key in mono_keys:
            plans[i] = _PackagePlan(plan.upstream, plan.ecosystem, True, "core")
            subs[plan.upstream.key] += 1
    for _ in range(scale.packages - len(plans) - unresolvable):
        up = rng.choice(monorepos)
        assert up is not None
        subs[up.key] += 1
        sub = f"{rng.choice(_N)}{subs[up.key]}"
        plans.append(_PackagePlan(up, eco_of[up.key], True, sub))
    for _ in range(unresolvable):
        eco = rng.choice(("pypi", "npm", "cargo", "maven", "gem", "nuget"))
        plans.append(_PackagePlan(None, eco, False, None))
    taken: set[str] = set()
    packages = [_package(rng, plan, taken, names, i) for i, plan in enumerate(plans)]
    return packages, eco_of


# --------------------------------------------------------------------------------------------- people


def _make_people(rng: random.Random, scale: Scale, ids: _Ids, domains: list[str]) -> list[Person]:
    counts = {
        "small": {"email-domain": 2, "extra-login": 1, "roster": 1, "outsider": 5, "bot": 3},
        "large": {"email-domain": 20, "extra-login": 10, "roster": 15, "outsider": 45, "bot": 10},
    }["small" if scale.people <= 100 else "large"]
    members = scale.people - sum(counts.values())
    logins: set[str] = set()
    people: list[Person] = []

    def login_for(first: str, last: str) -> str:
        login = f"{first[0]}{last}".lower()
        while login in logins:
            login = f"{first.lower()}-{last.lower()}{rng.randint(1, 999)}"
        logins.add(login)
        return login

    def person(identity: str, **extra: Any) -> Person:
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        login = extra.pop("login", None) or login_for(first, last)
        node_id, database_id = ids.take("user")
        domain = extra.pop("domain", None) or domains[0]
        return Person(
            login=login,
            name=f"{first} {last}",
            emails=[f"{login}@{domain}"],
            node_id=node_id,
            database_id=database_id,
            identity=identity,  # type: ignore[arg-type]
            **extra,
        )

    for i in range(members):
        orgs = [scale.orgs[0]] if i % 5 else [scale.orgs[i % len(scale.orgs)]]
        if i % 11 == 3 and len(scale.orgs) > 1:
            orgs = list(scale.orgs[:2])
        domain = domains[1] if i % 7 == 1 and len(domains) > 1 else domains[0]
        if i % 9 == 4:
            domain = rng.choice(PUBLIC_MAIL_DOMAINS[:3])
        p = person("member", member_of=orgs, domain=domain, has_sponsors_listing=rng.random() < 0.05)
        if i % 9 == 4:
            p.emails.append(f"{p.login}@{domains[0]}")
        people.append(p)
    for _ in range(counts["email-domain"]):
        people.append(person("email-domain", org_member=False))
    for i in range(counts["extra-login"]):
        primary = people[i * 7 + 2]
        people.append(
            person(
                "extra-login",
                login=f"{primary.login}-work",
                org_member=False,
                alias_of=primary.login,
                domain=domains[0],
            )
        )
        logins.add(f"{primary.login}-work")
    for _ in range(counts["roster"]):
        end = (_day(rng.randint(90, 250))).date()
        people.append(
            person("roster", org_member=False, roster_start=date(2023, 1, 9), roster_end=end, domain=domains[0])
        )
    for _ in range(counts["outsider"]):
        people.append(person("outsider", org_member=False, domain=rng.choice(PUBLIC_MAIL_DOMAINS)))
    bots = ["dependabot[bot]", "renovate[bot]", f"{scale.orgs[0]}-release-bot"]
    bots += [f"{scale.orgs[0]}-ci-bot-{n}" for n in range(counts["bot"] - 3)]
    for login in bots:
        node_id, database_id = ids.take("user")
        in_org = not login.endswith("[bot]")
        people.append(
            Person(
                login=login,
                name=login,
                emails=[f"{database_id}+{login}@users.noreply.github.com"],
                node_id=node_id,
                database_id=database_id,
                is_bot=True,
                org_member=in_org,
                identity="bot",
                member_of=[scale.orgs[0]] if in_org else [],
            )
        )
    return people


def _make_contributions(
    rng: random.Random, people: list[Person], targets: list[UpstreamRepo], others: list[UpstreamRepo]
) -> list[Contribution]:
    out: list[Contribution] = []
    for p in people:
        if p.is_bot:
            if p.login.endswith("[bot]"):
                for up in rng.sample(targets, min(6, len(targets))):
                    out.append(Contribution(p.login, up.key, "pr_opened", _day(rng.randint(1, 400)), rng.randint(1, 5)))
            continue
        if rng.random() < 0.35 and p.identity == "member":
            continue
        chosen = rng.sample(targets, min(len(targets), rng.randint(1, 5)))
        if others and rng.random() < 0.25:
            chosen.append(rng.choice(others))
        for up in chosen:
            for _ in range(rng.randint(1, 8)):
                kind: ContributionKind = "commit" if p.identity == "email-domain" else _pick(rng, _KINDS, _KIND_WEIGHTS)
                if p.identity == "roster" and p.roster_end is not None:
                    end_offset = (WORLD_NOW.date() - p.roster_end).days
                    offset = rng.randint(max(1, end_offset - 200), min(HISTORY_DAYS, end_offset + 80))
                    if offset == end_offset:
                        offset += 1
                else:
                    offset = rng.randint(1, HISTORY_DAYS)
                out.append(Contribution(p.login, up.key, kind, _day(offset), rng.randint(1, 3)))
    out.sort(key=lambda c: (c.occurred_at, c.login, c.upstream, c.kind))
    return out


def _plant_gitlab(
    rng: random.Random, org: str, people: list[Person], targets: list[UpstreamRepo], out: list[Contribution]
) -> dict[str, list[str]]:
    """Give some members an account on the sandbox GitLab (a third under another username, which the
    config maps with ``[people.accounts]``), put them in the organisation's group ``org`` and its
    subgroup ``org/platform``, and plant their contributions to the GitLab-hosted upstreams in ``out``.
    The release bot is a member there too, with merge requests that must never count."""
    eligible = sorted(
        (p for p in people if p.identity == "member" and not p.is_bot and not p.roster_start and not p.roster_end),
        key=lambda p: p.login,
    )
    chosen = rng.sample(eligible, min(6, len(eligible)))
    groups: dict[str, list[str]] = {org: [], f"{org}/platform": []}
    for n, person in enumerate(chosen):
        person.gitlab_username = person.login if n % 3 else f"{person.login}-gl"
        groups[org if n % 2 else f"{org}/platform"].append(person.gitlab_username)
        for up in rng.sample(targets, min(len(targets), rng.randint(1, 2))):
            for _ in range(rng.randint(2, 6)):
                kind = _pick(rng, _KINDS, _KIND_WEIGHTS)
                out.append(
                    Contribution(person.login, up.key, kind, _day(rng.randint(1, HISTORY_DAYS)), rng.randint(1, 3))
                )
    for bot in (p for p in people if p.is_bot and not p.login.endswith("[bot]")):
        bot.gitlab_username = bot.login
        groups[org].append(bot.login)
        for up in targets[:2]:
            out.append(Contribution(bot.login, up.key, "pr_merged", _day(rng.randint(1, 300)), 2))
    out.sort(key=lambda c: (c.occurred_at, c.login, c.upstream, c.kind))
    return {path: sorted(members) for path, members in groups.items()}


def _plant_forgejo(
    rng: random.Random, org: str, people: list[Person], targets: list[UpstreamRepo], out: list[Contribution]
) -> dict[str, list[str]]:
    """Like :func:`_plant_gitlab` for the Codeberg-like Forgejo: some members there (one under another
    username), the organisation ``org`` with them as members, and their work on the codeberg.org upstreams."""
    eligible = sorted(
        (p for p in people if p.identity == "member" and not p.is_bot and not p.roster_start and not p.roster_end),
        key=lambda p: p.login,
    )
    chosen = rng.sample(eligible, min(4, len(eligible)))
    members: list[str] = []
    for n, person in enumerate(chosen):
        person.forgejo_username = person.login if n else f"{person.login}.cb"
        members.append(person.forgejo_username)
        for up in rng.sample(targets, min(len(targets), rng.randint(1, 2))):
            for _ in range(rng.randint(2, 6)):
                kind = _pick(rng, _KINDS, _KIND_WEIGHTS)
                moment = _day(rng.randint(1, HISTORY_DAYS))
                out.append(Contribution(person.login, up.key, kind, moment, rng.randint(1, 3)))
    out.sort(key=lambda c: (c.occurred_at, c.login, c.upstream, c.kind))
    return {org: sorted(members)}


# --------------------------------------------------------------------------------------------- commits


def _in_window(moment: datetime) -> bool:
    return WORLD_NOW - timedelta(days=WINDOW_DAYS) < moment <= WORLD_NOW


def _email_domain(email: str) -> str:
    return email.rsplit("@", 1)[-1].lower()


def _company_domain(owner: str) -> str | None:
    """The commit e-mail domain of the company an owner such as ``initech-oss`` belongs to."""
    if owner.lower() == "golang":  # the golang.org/x repositories: Google's
        return "google.example"
    return next((f"{name}.example" for name in _COMPANIES if owner.lower().startswith(name)), None)


def _design_history(
    rng: random.Random,
    up: UpstreamRepo,
    people_commits: list[Commit],
    maintainer_names: _Names,
    *,
    lone_maintainer: bool = False,
) -> list[Commit]:
    """Lay out the last 12 months' commits so the bus and elephant factors are exact.

    With ``b`` top authors of ``c`` commits each and ``N = 2bc - 1`` non-bot commits in the window,
    ``b - 1`` of them make ``(b - 1)c < N/2`` and ``b`` make ``bc >= N/2``; every other author (and
    every other organisation) has fewer than ``c``, so no smaller set reaches half. The ``b`` are
    grouped into ``e`` organisations (one of ``b - e + 1``, the rest of one), which gives an
    elephant factor of exactly ``e`` by the same argument. ``lone_maintainer`` forces ``b = e = 1``:
    the planted under-invested upstreams are the classic neglected critical project.

    A company-governed upstream is run by its owner's employees: ``e = 1``, the ``b`` top authors
    and the fill-in authors commit from the company's own domain, and ``c`` is large enough that the
    people's commits (the tail) are at most ``N/3``, so that domain makes at least two thirds of the
    window's non-bot commits and company control follows from the data.
    """
    commits: list[Commit] = list(people_commits)
    in_window = [cm for cm in people_commits if _in_window(cm.committed_at)]
    by_author: dict[str, int] = defaultdict(int)
    by_org: dict[str, int] = defaultdict(int)
    for commit in in_window:
        by_author[commit.author_email.lower()] += 1
        domain = _email_domain(commit.author_email)
        by_org[commit.author_email.lower() if domain in PUBLIC_MAIL_DOMAINS else domain] += 1
    if up.archived:
        assert not in_window, f"{up.key}: archived upstreams get no commits in the window"
        b = e = 0
    else:
        b = _pick(rng, (1, 2, 3, 4), (35, 30, 20, 15))
        e = rng.randint(1, b)
        if lone_maintainer:
            b = e = 1
        owning = _company_domain(up.owner) if up.governance == "company" else None
        if owning is not None:
            e = 1  # one domain with two thirds of the commits is more than half of them
        tail_total = len(in_window)
        c = max(rng.randint(3, 6), max(by_org.values(), default=0) + 1, -(-(tail_total + 1) // b))
        if owning is not None:
            c = max(c, -(-(3 * tail_total + 1) // (2 * b)))  # 3 * tail <= N = 2bc - 1
        groups = [b - e + 1] + [1] * (e - 1)
        company_pool = [f"{name}.example" for name in _COMPANIES]
        rng.shuffle(company_pool)
        top: list[tuple[str, str, str]] = []  # (login, name, email)
        for gi, size in enumerate(groups):
            if owning is not None:
                domain = owning
            elif size == 1 and up.governance in ("individual", "community") and rng.random() < 0.6:
                domain = rng.choice(PUBLIC_MAIL_DOMAINS[:5])
            else:
                domain = company_pool[gi]
            for _ in range(size):
                first, last = rng.choice(_FIRST), rng.choice(_LAST)
                login = maintainer_names.unique(f"{first.lower()}{last.lower()}")
                top.append((login, f"{first} {last}", f"{login}@{domain}"))
        if up.owner_type == "User":  # the owner is the first maintainer
            top[0] = (up.owner, top[0][1], f"{up.owner}@{_email_domain(top[0][2])}")
        for login, name, email in top:
            for _ in range(c):
                commits.append(_commit(rng, login, name, email, rng.randint(2, 360)))
        remaining = b * c - 1 - tail_total
        while remaining > 0:
            n = min(remaining, rng.randint(1, c - 1))
            first, last = rng.choice(_FIRST), rng.choice(_LAST)
            login = maintainer_names.unique(f"{first.lower()}{last.lower()}")
            email = f"{login}@{owning or rng.choice(PUBLIC_MAIL_DOMAINS)}"
            linked = rng.random() < 0.8
            for _ in range(n):
                commits.append(_commit(rng, login if linked else None, f"{first} {last}", email, rng.randint(2, 360)))
            remaining -= n
    # older history and bots, outside the design (bots are excluded, old commits are out of the window)
    for _ in range(rng.randint(2, 6)):
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        login = maintainer_names.unique(f"{first.lower()}{last.lower()}")
        commits.append(_commit(rng, login, f"{first} {last}", f"{login}@gmail.com", rng.randint(400, 1500)))
    if not up.archived:
        for _ in range(rng.randint(0, 3)):
            commits.append(
                _commit(
                    rng,
                    "dependabot[bot]",
                    "dependabot[bot]",
                    "49699333+dependabot[bot]@users.noreply.github.com",
                    rng.randint(1, 360),
                )
            )
    up.designed_bus_factor, up.designed_elephant_factor = b, e
    commits.sort(key=lambda cm: (cm.committed_at, cm.sha), reverse=True)
    return commits


def _commit(rng: random.Random, login: str | None, name: str, email: str, offset: int) -> Commit:
    return Commit(
        sha=_sha(rng),
        author_name=name,
        author_email=email,
        author_login=login,
        committed_at=_day(offset, hour=rng.randint(0, 23)).replace(minute=rng.randint(0, 59)),
        message=rng.choice(_MESSAGES),
    )


# --------------------------------------------------------------------------------------------- internal repos


def _make_internal_repos(
    rng: random.Random,
    scale: Scale,
    ids: _Ids,
    packages: list[Package],
    under_invested_packages: list[Package],
    names: _Names,
) -> list[InternalRepo]:
    repos: list[InternalRepo] = []
    for i in range(scale.internal_repos - 1):
        org = scale.orgs[0] if i % 4 else scale.orgs[i % len(scale.orgs)]
        node_id, database_id = ids.take("repo")
        repos.append(
            InternalRepo(
                org=org,
                name=names.word() if i % 3 else f"{rng.choice(_N)}-service-{i}",
                node_id=node_id,
                database_id=database_id,
                private=rng.random() < 0.3,
                fork=i % 19 == 7,
                archived=i % 23 == 11,
                dependency_graph_enabled=i != 5,
                created_at=_day(rng.randint(200, 2000)),
                pushed_at=_day(rng.randint(1, 150)),
            )
        )
    node_id, database_id = ids.take("repo")
    repos.append(InternalRepo(scale.orgs[0], "ospo", node_id, database_id, created_at=_day(700), pushed_at=_day(3)))
    with_deps = [r for r in repos if r.dependency_graph_enabled and r.name != "ospo"]
    chosen: list[dict[str, Dependency]] = [{} for _ in with_deps]

    def add(slot: int, pkg: Package, direct: bool, scope: Literal["runtime", "development"]) -> None:
        deps = chosen[slot]
        if pkg.package_key in deps:
            return
        version = rng.choice(pkg.versions)
        if pkg.ecosystem == "githubactions":
            version = f"{version.lstrip('v')}.*.*"
        elif pkg.ecosystem == "pypi" and rng.random() < 0.03:
            version = ""
        via = None
        if not direct:
            directs = [d.package for d in deps.values() if d.direct]
            via = rng.choice(directs) if directs else None
            direct = via is None
        deps[pkg.package_key] = Dependency(pkg.package_key, version, direct, scope, via)

    low, high = scale.deps_per_repo
    for slot in range(len(with_deps)):
        for pkg in rng.sample(packages, rng.randint(low, high)):
            add(slot, pkg, rng.random() < 0.45, "development" if rng.random() < 0.25 else "runtime")
    for pkg in packages:  # every package is used somewhere
        add(rng.randrange(len(with_deps)), pkg, rng.random() < 0.5, "runtime")
    # The planted gaps: direct runtime dependencies of live repositories only (forks and archived ones are
    # out of upkeep's default view), one repository fewer per rank, and nowhere else, so that every way of
    # counting use (repositories, direct, runtime, weighted, live only) gives the same strict order.
    live = [slot for slot, repo in enumerate(with_deps) if not repo.fork and not repo.archived]
    step = max(1, int(len(live) * 0.3 / max(1, len(under_invested_packages))))
    for rank, pkg in enumerate(under_invested_packages):
        planted = set(rng.sample(live, max(1, int(len(live) * 0.95) - rank * step)))
        for slot in range(len(with_deps)):
            chosen[slot].pop(pkg.package_key, None)
            if slot in planted:
                add(slot, pkg, True, "runtime")
    # A transitive dependency hangs under a direct one of its scope (as an SBOM can show it): one pulled in by
    # a removed package moves under another, and one whose scope has no direct dependency left becomes direct.
    for deps in chosen:
        directs = {key for key, dep in deps.items() if dep.direct}
        for key, dep in list(deps.items()):
            same = sorted(k for k in directs if deps[k].scope == dep.scope)
            if dep.direct or (dep.via in directs and same):
                continue
            deps[key] = replace(dep, via=same[0]) if same else replace(dep, direct=True, via=None)
    for repo, deps in zip(with_deps, chosen, strict=True):
        repo.dependencies = sorted(deps.values(), key=lambda d: (not d.direct, d.package))
    return repos


# --------------------------------------------------------------------------------------------- money


def _make_money(
    rng: random.Random,
    org: str,
    used: list[UpstreamRepo],
    under_keys: set[str],
    people: list[Person],
) -> tuple[list[Sponsorship], list[Collective], list[OpenCollectiveContribution], list[LedgerEntry]]:
    sponsorships: list[Sponsorship] = []
    collectives: list[Collective] = []
    oc: list[OpenCollectiveContribution] = []
    ledger: list[LedgerEntry] = []
    sponsored: set[str] = set()
    for up in used:
        pays = up.key not in under_keys
        if up.funding_yml and "open_collective:" in up.funding_yml and "open_collective: #" not in up.funding_yml:
            slug = up.funding_yml.split("open_collective:", 1)[1].split()[0]
            handle = up.full_name if rng.random() < 0.6 else up.owner
            currency = "EUR" if rng.random() < 0.2 else "USD"
            collectives.append(Collective(slug, up.name.replace("-", " ").title(), handle, currency))
            if pays and rng.random() < 0.7:
                monthly = rng.choice((2500, 5000, 10000))
                for n in range(rng.randint(1, 14)):
                    oc.append(
                        OpenCollectiveContribution(
                            slug, monthly, currency, _day(5 + 30 * n, hour=9), f"Monthly contribution to {up.name}"
                        )
                    )
        if pays and up.owner_has_sponsors_listing and up.owner not in sponsored and rng.random() < 0.6:
            sponsored.add(up.owner)
            start = rng.randint(40, 500)
            one_time = rng.random() < 0.25
            ended = None if one_time or rng.random() < 0.7 else _day(rng.randint(5, start - 30))
            created = _day(start, hour=15).replace(day=min(_day(start).day, 28))
            sponsorships.append(
                Sponsorship(
                    sponsor=org,
                    sponsorable=up.owner,
                    monthly_cents=rng.choice((500, 1000, 2500, 5000, 10000)),
                    is_one_time=one_time,
                    created_at=created,
                    ended_at=ended,
                    privacy="PRIVATE" if rng.random() < 0.1 else "PUBLIC",
                    tier_name="One-time" if one_time else "Supporter",
                )
            )
        if pays and rng.random() < 0.08:
            channel = rng.choice(("tidelift", "thanks.dev", "invoice", "grant"))
            currency = "EUR" if channel == "invoice" else "USD"
            for months in (2, 8, 15):
                amount = rng.choice((250, 500, 1500, 5000))
                ledger.append(
                    LedgerEntry(_day(months * 30 + 3).date(), up.key, f"{amount}.00", currency, channel, up.name)
                )
    if oc and not any(c.currency == "EUR" for c in oc):  # the world always pays in two currencies, whatever the draws
        slug = oc[0].collective
        for paid in oc:
            if paid.collective == slug:
                paid.currency = "EUR"
        for collective in collectives:
            if collective.slug == slug:
                collective.currency = "EUR"
    _link_one_collective_by_owner(collectives, oc, used)
    ledger.append(
        LedgerEntry(
            _day(120).date(),
            "Python Software Foundation",
            "10000.00",
            "USD",
            "foundation-membership",
            "Supporting member",
        )
    )
    # a sponsorship of a person (not an upstream owner): counted only with people sponsorships
    member = next(p for p in people if p.identity == "member")
    sponsorships.append(Sponsorship(member.login, "someone-else", 500, False, _day(200, hour=15), None))
    ledger.sort(key=lambda x: (x.paid_on, x.upstream))
    return sponsorships, collectives, oc, ledger


def _link_one_collective_by_owner(
    collectives: list[Collective], oc: list[OpenCollectiveContribution], used: list[UpstreamRepo]
) -> None:
    """Make sure one paid collective names only an owner of several upstreams as its GitHub handle, so that
    only the FUNDING.yml naming it can attribute its money (changes no random draw)."""
    owned: dict[str, int] = defaultdict(int)
    for up in used:
        owned[up.owner.lower()] += 1
    if any(owned.get((c.github_handle or "").lower(), 0) > 1 for c in collectives):
        return
    paid = {c.collective for c in oc if _in_window(c.created_at)}
    for collective in collectives:
        owner = (collective.github_handle or "").split("/", 1)[0]
        if collective.slug in paid and owned.get(owner.lower(), 0) > 1:
            collective.github_handle = owner
            return


def _usage(internal: list[InternalRepo], packages: list[Package]) -> dict[str, float]:
    """How much the organisation relies on each upstream: per repository its strongest use (direct 1,
    transitive 1/2; runtime 1, development 3/10), summed over repositories (the gap model's default)."""
    upstream_of = {p.package_key: p.true_upstream for p in packages}
    usage: dict[str, float] = defaultdict(float)
    for repo in internal:
        strongest: dict[str, float] = {}
        for dep in repo.dependencies:
            key = upstream_of.get(dep.package)
            if key is not None:
                weight = (1.0 if dep.direct else 0.5) * (1.0 if dep.scope == "runtime" else 0.3)
                strongest[key] = max(strongest.get(key, 0.0), weight)
        for key, weight in strongest.items():
            usage[key] += weight
    return usage


def _fund_critical(
    rng: random.Random, used: list[UpstreamRepo], under_keys: set[str], usage: dict[str, float]
) -> list[LedgerEntry]:
    """Ledger payments to the other heavily used upstreams, in proportion to their use.

    An OSPO funds what its products lean on most; the planted under-invested upstreams are the
    exception that makes them the gaps. Without this, an archived or drifting upstream that happens
    to be used almost as widely (and carries more risk) would outrank them with the default weights.
    Only upstreams used at least :data:`CRITICAL_SHARE` as much as the least used planted gap are
    paid, so moderately used ones stay open gaps below the planted ones (seeds 1-40 of the small
    world all rank the planted gaps first, in order, with the default weights and without risk).
    """
    planted = [usage[key] for key in sorted(under_keys)]
    threshold = CRITICAL_SHARE * min(planted, default=0.0)
    out: list[LedgerEntry] = []
    for up in used:
        if up.key in under_keys or usage.get(up.key, 0.0) < threshold:
            continue
        channel = rng.choice(("invoice", "grant", "tidelift"))
        amount = round(CRITICAL_DOLLARS_PER_USE * usage[up.key])
        # in US dollars, the reporting currency, so they count even where no exchange rate is configured
        out.append(
            LedgerEntry(
                _day(rng.randint(10, 340)).date(),
                up.key,
                f"{amount}.00",
                "USD",
                channel,
                f"{up.name}: critical dependency",
            )
        )
    return out


def _rename_some(
    rng: random.Random,
    upstreams: list[UpstreamRepo],
    targets: list[UpstreamRepo],
    by_upstream: Mapping[str, list[Package]],
    contributions: list[Contribution],
    ledger: list[LedgerEntry],
    sponsorships: list[Sponsorship],
) -> None:
    """Rename or transfer a few upstreams the organisation contributes to, after the fact.

    Their registry metadata and the OSPO's ledger keep naming the old repository (as crates.io's
    ``bitflags`` still names ``rust-lang-nursery/bitflags``); GitHub redirects the old name, and
    reports contributions under the new one. A reader that does not follow the redirect credits
    the work and money to a repository the organisation does not use. Runs on its own random
    stream, after everything else, so the rest of the world is the same as without it.
    """
    contributed = {c.upstream for c in contributions}
    sponsored = {s.sponsorable.lower() for s in sponsorships}
    taken = {u.key for u in upstreams}
    candidates = [
        u
        for u in targets
        if u.key in contributed
        and u.owner.lower() not in sponsored  # a transfer would move whose sponsorship it is: another story
        and u.owner != "golang"
        and by_upstream.get(u.key)
        and all(
            p.ecosystem not in RENAME_FIXED_ECOSYSTEMS and p.repository_form != "split-mirror"
            for p in by_upstream[u.key]
        )
        and not (u.funding_yml and "open_collective:" in u.funding_yml)
    ]
    count = min(len(candidates), max(3, len(targets) // 100))
    chosen = rng.sample(candidates, count)
    paid = [u for u in candidates if any(entry.upstream == u.key for entry in ledger)]
    if paid and not any(u in paid for u in chosen):  # one whose ledger entries name the old repository
        chosen[-1] = rng.choice(paid)
    for index, up in enumerate(chosen):
        if index % 2 == 0:  # renamed by its owner
            former = f"{up.owner}/{rng.choice(('node-{}', '{}.js', 'py{}', '{}-legacy', '{}2')).format(up.name)}"
        else:  # moved from a maintainer's account to its organisation
            former = f"{up.name.split('-')[0]}-{rng.choice(_N)}/{up.name}"
        while f"{up.host}/{former}".lower() in taken:
            former += "-old"
        taken.add(f"{up.host}/{former}".lower())
        up.former_names.append(former)
        for pkg in by_upstream[up.key]:
            text = json.dumps(pkg.metadata)
            if up.full_name in text:
                pkg.metadata = json.loads(text.replace(up.full_name, former))
                pkg.declared_upstream = f"{up.host}/{former}".lower()
        for entry in ledger:
            if entry.upstream == up.key:
                entry.upstream = f"{up.host}/{former}".lower()


_CLA_TEXTS = (
    "Before we can merge your pull request, you need to sign our Contributor License Agreement (CLA). "
    "The CLA assistant will ask you to do so on your first pull request.",
    "All contributions require a signed Contributor Licence Agreement, which assigns the copyright of your "
    "contribution to {owner}.",
    "Contributors must accept the {owner} Individual Contributor License Agreement before their changes are merged.",
)
_DCO_TEXTS = (
    "Every commit must be signed off (`git commit -s`) to certify the Developer Certificate of Origin (DCO).",
    "We use the DCO: add a `Signed-off-by:` line to each commit message.",
)
_PLAIN_TEXTS = (
    "Open an issue first for anything larger than a typo, then send a pull request with tests.",
    "Run `make test` before sending a pull request; keep changes small and focused.",
)


def _write_contribution_terms(rng: random.Random, upstreams: list[UpstreamRepo]) -> None:
    """What contributors must agree to: a CLA (often a company's, which then holds the rights to relicense, as
    happened with Elasticsearch, Terraform and Redis), a DCO sign-off, or nothing, said in CONTRIBUTING.md or a
    CLA.md of their own. Runs on its own random stream, after everything else."""
    for up in upstreams:
        if up.host != "github.com" or up.archived:
            continue
        cla = {"company": 0.6, "foundation": 0.4}.get(up.governance, 0.05)
        draw = rng.random()
        kind: Literal["cla", "dco"] | None = "cla" if draw < cla else "dco" if draw < cla + 0.2 else None
        guide = ".github/CONTRIBUTING.md" if rng.random() < 0.3 else "CONTRIBUTING.md"
        intro = f"# Contributing to {up.name}\n\nThank you for helping!\n\n{rng.choice(_PLAIN_TEXTS)}\n"
        if kind == "cla" and rng.random() < 0.3:  # the agreement in a file of its own; the guide only points at it
            up.files["CLA.md"] = f"# {up.owner} Contributor License Agreement\n\nYou grant {up.owner} ...\n"
            up.files[guide] = intro + "\nSee CLA.md before you send a pull request.\n"
        elif kind == "cla":
            up.files[guide] = intro + "\n" + rng.choice(_CLA_TEXTS).format(owner=up.owner) + "\n"
        elif kind == "dco":
            up.files[guide] = intro + "\n" + rng.choice(_DCO_TEXTS) + "\n"
        elif rng.random() < 0.6:
            up.files[guide] = intro
        up.contributor_agreement = kind


_OWN_KINDS: tuple[ContributionKind, ...] = ("pr_merged", "pr_opened", "review", "issue")  # no commits: see below


@dataclass
class _OwnLibrary:
    upstream: UpstreamRepo
    package: Package
    contributions: list[Contribution]


def _add_own_library(
    rng: random.Random, org: str, ids: _Ids, people: list[Person], internal: list[InternalRepo]
) -> _OwnLibrary:
    """The organisation's own open-source library, used by half its live repositories and built by its people.

    An SBOM cannot tell it from an upstream: it resolves like one and collects most of the people's
    contributions. Scored, it would look like the best-funded "upstream" and shrink every real
    upstream's share; upkeep leaves the organisation's own repositories out (``[gaps].exclude_own``).
    Runs on its own random stream, after everything else, so the rest of the world is unchanged.
    """
    node_id, database_id = ids.take("repo")
    name = f"{org}-commons"
    up = UpstreamRepo(
        host="github.com",
        owner=org,
        name=name,
        owner_type="Organization",
        node_id=node_id,
        database_id=database_id,
        description=f"Shared building blocks of {org}'s services",
        created_at=_day(1500),
        licenses=["Apache-2.0"],
        governance="community",
        stars=120,
    )
    names = _Names(rng)
    names.used.update(p.login for p in people)
    up.commits = _design_history(rng, up, [], names)
    up.pushed_at = up.commits[0].committed_at if up.commits else up.created_at
    versions = ["1.4.0", "1.5.2", "2.0.0"]
    up.releases = _releases(rng, up, versions)
    url = f"https://github.com/{org}/{name}"
    package = Package(
        ecosystem="npm",
        namespace=f"@{org}",
        name="commons",
        versions=versions,
        true_upstream=up.key,
        metadata={
            "summary": f"Shared building blocks of {org}'s services",
            "repository": {"type": "git", "url": f"git+{url}.git"},
            "homepage": f"{url}#readme",
            "bugs": {"url": f"{url}/issues"},
        },
        repository_form="git+https",
        license="Apache-2.0",
    )
    live = [r for r in internal if r.dependencies and not r.fork and not r.archived]
    for repo in rng.sample(live, max(1, len(live) // 2)):
        dependency = Dependency(package.package_key, rng.choice(versions), True, "runtime")
        repo.dependencies = sorted([*repo.dependencies, dependency], key=lambda d: (not d.direct, d.package))
    builders = [p for p in people if p.identity == "member" and not p.is_bot]
    contributions = [
        Contribution(p.login, up.key, kind, _day(rng.randint(2, 360)), rng.randint(2, 6))
        for p in rng.sample(builders, max(1, len(builders) * 3 // 5))
        for kind in rng.sample(_OWN_KINDS, 3)
    ]
    return _OwnLibrary(up, package, contributions)


# --------------------------------------------------------------------------------------------- world


def generate_world(seed: int = 7, scale: str = "small") -> World:
    """Build the world for ``seed`` and ``scale`` ("small", "medium" or "large"); same arguments, same world."""
    if scale not in SCALES:
        raise ValueError(f"scale {scale!r}: unknown, expected one of {sorted(SCALES)}")
    spec = SCALES[scale]
    rng = random.Random(seed)
    ids = _Ids()
    names = _Names(rng)
    domains = [f"{org}.example" for org in spec.orgs[:2]]

    upstreams = _make_upstreams(rng, spec, ids, names)
    packages, _ = _make_packages(rng, spec, upstreams, names)
    used = upstreams[: spec.upstreams]
    others = upstreams[spec.upstreams :]
    by_upstream: dict[str, list[Package]] = defaultdict(list)
    for pkg in packages:
        if pkg.true_upstream:
            by_upstream[pkg.true_upstream].append(pkg)

    # read-only split mirrors exist as repositories of their own, though no package maps to them
    keys = {u.key for u in upstreams}
    for pkg in packages:
        if pkg.repository_form != "split-mirror" or pkg.true_upstream is None:
            continue
        mono = next(u for u in upstreams if u.key == pkg.true_upstream)
        mirror_key = f"{mono.host}/{mono.owner}/{pkg.name}".lower()
        if mirror_key in keys:
            continue
        keys.add(mirror_key)
        node_id, database_id = ids.take("repo")
        upstreams.append(
            UpstreamRepo(
                host=mono.host,
                owner=mono.owner,
                name=pkg.name,
                owner_type=mono.owner_type,
                node_id=node_id,
                database_id=database_id,
                description=f"[READ-ONLY] Subtree split of the {mono.full_name} {pkg.subdirectory} component",
                created_at=mono.created_at,
                licenses=list(mono.licenses),
                governance=mono.governance,
                stars=mono.stars // 10,
            )
        )

    # funding manifests
    trap_done = False
    slugs: set[str] = set()
    for up in used:
        first = by_upstream[up.key][0]
        tidelift = f"{first.ecosystem if first.ecosystem != 'gem' else 'rubygems'}/{first.name}"
        slug = None
        if rng.random() < 0.15 and up.host == "github.com":
            slug = f"{up.name}-collective" if rng.random() < 0.5 else up.name
            while slug.lower() in slugs:  # Open Collective slugs are unique: one FUNDING.yml names each
                slug = f"{up.owner}-{slug}"
            slugs.add(slug.lower())
        up.funding_yml = _funding_yml(rng, up, slug, tidelift)
        if rng.random() < 0.06 or (not trap_done and up.governance == "individual"):
            up.funding_json = _funding_json(up, trap=not trap_done)
            trap_done = True

    # under-invested: heavily used GitHub upstreams that get nothing
    candidates = [
        u
        for u in used
        if u.host == "github.com"
        and not u.archived
        and len(set(u.licenses)) == 1  # a licence change is a risk of its own, not neglect
        and len(by_upstream[u.key]) == 1
        and by_upstream[u.key][0].ecosystem != "githubactions"
    ]
    under = rng.sample(candidates, spec.under_invested)
    under_keys = {u.key for u in under}
    for up in under:  # they ask for money and get none
        if up.funding_yml is None:
            up.funding_yml = (
                f"github: [{up.owner}]\n" if up.owner_type == "User" else f"custom: https://{up.name}.example/donate\n"
            )
    targets = [u for u in used if u.host == "github.com" and not u.archived and u.key not in under_keys]

    people = _make_people(rng, spec, ids, domains)
    contributions = _make_contributions(rng, people, targets, others)
    gitlab_targets = [u for u in used if u.host in GITLAB_HOSTS and not u.archived]
    gitlab_groups = _plant_gitlab(random.Random(f"gitlab-{seed}"), spec.orgs[0], people, gitlab_targets, contributions)
    forgejo_targets = [u for u in used if u.host in FORGEJO_HOSTS and not u.archived]
    forgejo_orgs = _plant_forgejo(
        random.Random(f"forgejo-{seed}"), spec.orgs[0], people, forgejo_targets, contributions
    )

    # commits: the people's commit contributions become commits, then the design fills the rest
    person_by_login = {p.login: p for p in people}
    people_commits: dict[str, list[Commit]] = defaultdict(list)
    for contribution in contributions:
        if contribution.kind != "commit":
            continue
        p = person_by_login[contribution.login]
        for n in range(contribution.count):
            people_commits[contribution.upstream].append(
                Commit(
                    sha=_sha(rng),
                    author_name=p.name,
                    author_email=p.emails[0],
                    author_login=p.login,
                    committed_at=contribution.occurred_at + timedelta(minutes=n),
                    message=rng.choice(_MESSAGES),
                )
            )
    maintainer_names = _Names(rng)
    maintainer_names.used.update(person_by_login)
    maintainer_names.used.update(u.owner for u in upstreams)
    for up in upstreams:
        up.commits = _design_history(
            rng, up, people_commits.get(up.key, []), maintainer_names, lone_maintainer=up.key in under_keys
        )
        up.pushed_at = up.commits[0].committed_at if up.commits else up.created_at
        up.releases = _releases(rng, up, by_upstream[up.key][0].versions if by_upstream[up.key] else _version(rng))

    under_packages = [by_upstream[u.key][0] for u in under]
    internal = _make_internal_repos(rng, spec, ids, packages, under_packages, names)
    sponsorships, collectives, oc, ledger = _make_money(rng, spec.orgs[0], used, under_keys, people)
    usage = _usage(internal, packages)
    ledger += _fund_critical(rng, used, under_keys, usage)
    ledger.sort(key=lambda x: (x.paid_on, x.upstream))
    under.sort(key=lambda u: (-usage[u.key], u.key))
    _rename_some(random.Random(f"renames-{seed}"), upstreams, targets, by_upstream, contributions, ledger, sponsorships)
    own = _add_own_library(random.Random(f"own-{seed}"), spec.orgs[0], ids, people, internal)
    assign_repo_facts(random.Random(f"repo-facts-{seed}"), internal)
    upstreams.append(own.upstream)
    packages.append(own.package)
    contributions += own.contributions
    contributions.sort(key=lambda c: (c.occurred_at, c.login, c.upstream, c.kind))
    _write_contribution_terms(random.Random(f"terms-{seed}"), upstreams)
    ospo = f"{spec.orgs[0]}/ospo"
    return World(
        seed=seed,
        scale=scale,
        now=WORLD_NOW,
        orgs=list(spec.orgs),
        ospo_repo=ospo,
        email_domains=domains,
        people=people,
        internal_repos=internal,
        packages=packages,
        upstreams=upstreams,
        contributions=contributions,
        sponsorships=sponsorships,
        collectives=collectives,
        oc_contributions=oc,
        ledger=ledger,
        under_invested=[u.key for u in under],
        tokens={service: list(values) for service, values in TOKENS.items()},
        issues={ospo: []},
        opencollective_slug=spec.orgs[0],
        slack_channel="upkeep",
        gitlab_groups=gitlab_groups,
        gitlab_hosts=GITLAB_HOSTS,
        forgejo_orgs=forgejo_orgs,
        forgejo_hosts=FORGEJO_HOSTS,
    )
