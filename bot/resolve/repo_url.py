"""The one place that turns a repository string from package metadata into an upstream key.

Registries hold repositories in many shapes: ``git+https://…git``, ``git://…``, ``ssh://git@…``,
``git@host:owner/repo.git``, ``github:owner/repo``, npm's bare ``owner/repo``, ``scm:git:…`` from
Maven, links into ``/tree/<ref>/sub/dir`` or ``#readme``, ``www.`` and upper case. Every shape ends
as ``host/owner/name`` (lower case) plus the monorepo sub-directory when the link names one.
Anything that is not a repository on a known forge (docs sites, registry pages, GitHub Sponsors,
``*.github.io``) is refused with a reason, never guessed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urlsplit

from bot.records import UpstreamKey
from bot.resolve.interface import NESTED_GROUP, NO_REPOSITORY, NOT_A_FORGE, NOT_A_REPOSITORY, Resolution, Unresolved

DEFAULT_FORGES = ("github.com", "gitlab.com", "bitbucket.org", "codeberg.org")

_SHORTHAND_HOSTS = {"github": "github.com", "gitlab": "gitlab.com", "bitbucket": "bitbucket.org"}
# First path segments on github.com that are site pages, not owners (github.com/sponsors/x is funding).
_GITHUB_NOT_OWNERS = frozenset(
    {
        "about",
        "apps",
        "collections",
        "customer-stories",
        "enterprise",
        "events",
        "explore",
        "features",
        "issues",
        "join",
        "login",
        "marketplace",
        "notifications",
        "orgs",
        "pricing",
        "pulls",
        "readme",
        "search",
        "security",
        "settings",
        "site",
        "sponsors",
        "topics",
        "trending",
        "users",
    }
)
_SEGMENT = re.compile(r"^[a-z0-9_.-]+$")
_SCM_PREFIX = re.compile(r"^scm:[a-z]+:", re.IGNORECASE)
_SHORTHAND = re.compile(r"^(github|gitlab|bitbucket|gist):(.+)$", re.IGNORECASE)
_SCP_LIKE = re.compile(r"^[\w.+-]+@([\w.-]+):(?!//)/?(.+)$")
_BARE_OWNER_REPO = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+/?$")
# ssh://git@host:owner/repo (scp path written after a URL scheme): the ":owner" is not a port.
_URL_WITH_SCP_PATH = re.compile(r"^([a-z][a-z0-9+]*://[^/]*?):([^/\d][^/]*)(/.*)?$", re.IGNORECASE)
_SCHEMES = frozenset({"http", "https", "git", "ssh", "git+ssh", "ssh+git"})
# Path segments after OWNER/NAME that start a location inside the repository.
_TREE_MARKERS = frozenset({"tree", "blob", "src"})
_GITLAB_PAGES = frozenset({"tree", "blob", "issues", "merge_requests", "wikis", "commits", "tags", "releases"})


@dataclass(frozen=True, slots=True)
class RepoRef:
    """A repository on a forge, and the sub-directory the link pointed into (monorepos)."""

    upstream: UpstreamKey
    subdirectory: str | None = None


def forge_hosts(extra_forges: Iterable[str] = ()) -> frozenset[str]:
    """The known forges plus configured ones (host names, lower case, without ``www.``)."""
    extra = (h.strip().lower().removeprefix("www.") for h in extra_forges if h.strip())
    return frozenset(DEFAULT_FORGES) | frozenset(extra)


def parse_repo_url(
    text: str | None,
    *,
    forges: frozenset[str] | None = None,
    allow_shorthand: bool = False,
) -> RepoRef | Unresolved:
    """Normalise one repository string; an :class:`Unresolved` says why it is not a repository.

    ``allow_shorthand`` accepts npm's bare ``owner/repo`` (GitHub); other registries never mean it.
    """
    hosts = forge_hosts() if forges is None else forges
    if text is None or not text.strip():
        return Unresolved(NO_REPOSITORY)
    original = text.strip()
    url = _to_url(original, allow_shorthand)
    if isinstance(url, Unresolved):
        return url
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower().removeprefix("www.")
    except ValueError:
        return Unresolved(f"{NOT_A_FORGE}: {original}", source_url=original)
    segments = [unquote(s) for s in parts.path.split("/") if s]
    if parts.scheme.lower() in _SCHEMES and (mirrored := _official_mirror(host, segments, parts.query)):
        return RepoRef(mirrored)
    if parts.scheme.lower() not in _SCHEMES or host not in hosts:
        return Unresolved(f"{NOT_A_FORGE}: {original}", source_url=original)
    return _from_segments(host, segments, original)


def _official_mirror(host: str, segments: list[str], query: str) -> UpstreamKey | None:
    """Hosts whose repositories are officially mirrored on GitHub under a fixed owner.

    Go's own repositories live on go.googlesource.com with github.com/golang mirrors (the go-source
    meta tag of golang.org/x points there); Apache's live on gitbox with github.com/apache mirrors.
    """
    name: str | None = None
    owner = "golang" if host == "go.googlesource.com" else "apache"
    if host == "go.googlesource.com" and len(segments) == 1:
        name = segments[0]
    elif host in {"gitbox.apache.org", "git-wip-us.apache.org", "git.apache.org"}:
        if "p=" in query:
            name = parse_qs(query).get("p", [""])[0].split(";")[0]
        elif segments[:2] == ["repos", "asf"] and len(segments) == 3:
            name = segments[2]
        elif host == "git.apache.org" and len(segments) == 1:
            name = segments[0]
    if not name:
        return None
    name = name.lower().removesuffix(".git")
    return UpstreamKey("github.com", owner, name) if _SEGMENT.match(name) else None


def _to_url(text: str, allow_shorthand: bool) -> str | Unresolved:
    """Rewrite the non-URL shapes (shorthands, scp-like, scheme-less) into a URL."""
    text = _SCM_PREFIX.sub("", text)
    text = text.removeprefix("git+")
    if match := _SHORTHAND.match(text):
        prefix, rest = match.group(1).lower(), match.group(2)
        if prefix == "gist":
            return Unresolved(f"{NOT_A_FORGE}: {text}", source_url=text)
        return f"https://{_SHORTHAND_HOSTS[prefix]}/{rest}"
    if "://" not in text:
        if match := _SCP_LIKE.match(text):
            return f"ssh://{match.group(1)}/{match.group(2)}"
        if allow_shorthand and _BARE_OWNER_REPO.match(text) and "." not in text.split("/", 1)[0]:
            return f"https://github.com/{text}"
        first = text.split("/", 1)[0].lower().removeprefix("www.")
        if "." in first:  # github.com/owner/repo without a scheme
            return f"https://{text}"
        return Unresolved(f"{NOT_A_FORGE}: {text}", source_url=text)
    if match := _URL_WITH_SCP_PATH.match(text):
        return f"{match.group(1)}/{match.group(2)}{match.group(3) or ''}"
    return text


def _from_segments(host: str, segments: list[str], original: str) -> RepoRef | Unresolved:
    rest: list[str] = []
    if "-" in segments:  # GitLab and Gitea: /group/project/-/tree/main/dir
        index = segments.index("-")
        segments, rest = segments[:index], segments[index + 1 :]
    if host == "gitlab.com" and not rest:
        for index, segment in enumerate(segments[2:], start=2):
            if segment in _GITLAB_PAGES:
                segments, rest = segments[:index], segments[index:]
                break
    if host == "gitlab.com":
        if len(segments) > 2:
            return Unresolved(f"{NESTED_GROUP}: {original}", source_url=original)
    else:
        segments, rest = segments[:2], segments[2:] + rest
    if len(segments) < 2:
        return Unresolved(f"{NOT_A_REPOSITORY}: {original}", source_url=original)
    owner = segments[0].lower()
    name = segments[1].lower().removesuffix(".git")
    if not _SEGMENT.match(owner) or not _SEGMENT.match(name) or name in {".", ".."}:
        return Unresolved(f"{NOT_A_REPOSITORY}: {original}", source_url=original)
    if host == "github.com" and owner in _GITHUB_NOT_OWNERS:
        return Unresolved(f"{NOT_A_REPOSITORY}: {original}", source_url=original)
    return RepoRef(UpstreamKey(host, owner, name), _subdirectory(rest))


def _subdirectory(rest: list[str]) -> str | None:
    """``tree/<ref>/a/b`` → ``a/b``; ``blob/<ref>/a/README.md`` → ``a``; Codeberg's ``src/branch/<ref>/a`` → ``a``."""
    if len(rest) < 2 or rest[0] not in _TREE_MARKERS:
        return None
    marker, inside = rest[0], rest[2:]
    if marker == "src" and rest[1] in {"branch", "tag", "commit"}:
        inside = rest[3:]
    if marker == "blob":
        inside = inside[:-1]
    inside = [s for s in inside if s not in {".", ".."}]
    return "/".join(inside) or None


def repo_from_homepage(text: str | None, *, forges: frozenset[str] | None = None) -> RepoRef | None:
    """A homepage counts only when it is itself a repository on a forge; docs sites never do."""
    outcome = parse_repo_url(text, forges=forges)
    return outcome if isinstance(outcome, RepoRef) else None


@dataclass(frozen=True, slots=True)
class Candidate:
    """One repository string from a registry document, in order of preference.

    ``declared`` marks fields that claim to be the repository (``repository``, ``<scm>``): when none
    of the candidates is a repository, the first declared one that was refused gives the reason.
    Homepage-like fields (``declared=False``) count only when they are themselves a forge repository.
    """

    provenance: str
    text: str | None
    declared: bool = True
    shorthand: bool = False


def choose_repository(candidates: Iterable[Candidate], *, forges: frozenset[str]) -> Resolution | Unresolved:
    """The first candidate that is a forge repository, else the reason of the first declared one."""
    refusal: Unresolved | None = None
    homepage: str | None = None  # kept as the row's source_url, so `resolve --unresolved` shows what was seen
    for candidate in candidates:
        if not isinstance(candidate.text, str) or not candidate.text.strip():
            continue
        outcome = parse_repo_url(candidate.text, forges=forges, allow_shorthand=candidate.shorthand)
        if isinstance(outcome, RepoRef):
            return Resolution(outcome.upstream, candidate.text.strip(), candidate.provenance, outcome.subdirectory)
        if candidate.declared and refusal is None:
            refusal = outcome
        homepage = homepage or candidate.text.strip()
    return refusal or Unresolved(NO_REPOSITORY, source_url=homepage)
