"""Go modules: the module path usually names its repository; vanity paths are asked with ``?go-get=1``.

* ``github.com/o/r[/sub][/vN]`` (and other forges) → ``o/r``, the rest as sub-directory, no request;
* ``golang.org/x/NAME``: its go-get page names go.googlesource.com, whose official mirror is
  ``github.com/golang/NAME`` (also the page's go-source); the same mapping is used if the page fails;
* ``gopkg.in/pkg.vN`` → ``github.com/go-pkg/pkg``; ``gopkg.in/user/pkg.vN`` → ``github.com/user/pkg``;
* ``stdlib`` → ``github.com/golang/go``;
* anything else: ``GET https://{path}?go-get=1`` (or ``{go_vanity_base}/{path}?go-get=1``) and read the
  ``go-import`` meta tag whose prefix covers the path (``go help importpath``), falling back to the
  ``go-source`` home when the VCS root is not on a forge. The go tool re-checks a shorter prefix at
  that prefix; we take the page's answer as is to save a request per module.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

from bot.records import UpstreamKey
from bot.resolve.fetch import Fetcher, unresolved_for
from bot.resolve.interface import NO_REPOSITORY, NOT_A_FORGE, Outcome, PackageRef, Resolution, Unresolved
from bot.resolve.repo_url import RepoRef, parse_repo_url

_MAJOR = re.compile(r"^v\d+$")
_GOPKG_VERSION = re.compile(r"^(.+)\.v\d+(?:-unstable)?$")


class _MetaTags(HTMLParser):
    """Collects ``<meta name=… content=…>`` pairs; the page may be sloppy HTML."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag != "meta":
            return
        values = dict(attrs)
        name, content = values.get("name"), values.get("content")
        if name and content:
            self.tags.append((name.strip().lower(), " ".join(content.split())))


def parse_go_get_page(html: str) -> tuple[list[tuple[str, str, str]], list[tuple[str, str]]]:
    """``([(prefix, vcs, repo_root)], [(prefix, home)])`` from the go-import and go-source meta tags."""
    parser = _MetaTags()
    parser.feed(html)
    parser.close()
    imports: list[tuple[str, str, str]] = []
    sources: list[tuple[str, str]] = []
    for name, content in parser.tags:
        fields = content.split(" ")
        if name == "go-import" and len(fields) == 3:
            imports.append((fields[0], fields[1], fields[2]))
        elif name == "go-source" and len(fields) >= 2:
            sources.append((fields[0], fields[1]))
    return imports, sources


def _covers(prefix: str, path: str) -> bool:
    return path == prefix or path.startswith(prefix.rstrip("/") + "/")


def _inside(rest: list[str]) -> str | None:
    """The sub-directory of a module below its repository root, without the major-version suffix."""
    if rest and _MAJOR.match(rest[-1]):
        rest = rest[:-1]
    return "/".join(rest) or None


def golang_x_mirror(path: str) -> Resolution | None:
    """``golang.org/x/NAME`` lives on go.googlesource.com with its mirror at github.com/golang/NAME.

    Used only when the go-get page cannot be read: the page is asked first, like for any vanity path.
    """
    segments = path.split("/")
    if len(segments) >= 3 and segments[0] == "golang.org" and segments[1] == "x":
        key = UpstreamKey("github.com", "golang", segments[2].lower())
        return Resolution(key, path, "golang:golang.org/x mirror", _inside(segments[3:]))
    return None


def module_path(package: PackageRef) -> str:
    return "/".join(p.strip("/") for p in (package.namespace, package.name) if p)


class GoResolver:
    ecosystem = "golang"

    def __init__(self, forges: frozenset[str], *, vanity_base: str | None = None, vanity_scheme: str = "https") -> None:
        self.forges = forges
        self.vanity_base = vanity_base.rstrip("/") if vanity_base else None
        self.vanity_scheme = vanity_scheme

    def known_path(self, path: str) -> Resolution | None:
        """Paths whose repository follows from the path itself (no request)."""
        segments = path.split("/")
        host = segments[0].lower()
        if path == "stdlib":
            return Resolution(UpstreamKey("github.com", "golang", "go"), None, "golang:stdlib")
        if host in self.forges and len(segments) >= 3:
            outcome = parse_repo_url(f"https://{host}/{segments[1]}/{segments[2]}", forges=self.forges)
            if isinstance(outcome, RepoRef):
                return Resolution(outcome.upstream, path, "golang:module path", _inside(segments[3:]))
        if host == "gopkg.in" and len(segments) >= 2:
            if match := _GOPKG_VERSION.match(segments[1]):
                name = match.group(1).lower()
                return Resolution(UpstreamKey("github.com", f"go-{name}", name), path, "golang:gopkg.in")
            if len(segments) >= 3 and (match := _GOPKG_VERSION.match(segments[2])):
                key = UpstreamKey("github.com", segments[1].lower(), match.group(1).lower())
                return Resolution(key, path, "golang:gopkg.in")
        return None

    async def resolve(self, package: PackageRef, client: Fetcher) -> Outcome:
        path = module_path(package)
        if not path:
            return Unresolved(f"{NO_REPOSITORY}: empty Go module path")
        known = self.known_path(path)
        if known is not None:
            return known
        url = f"{self.vanity_base}/{path}?go-get=1" if self.vanity_base else f"{self.vanity_scheme}://{path}?go-get=1"
        result = await client.get(url, share=True)
        if not result.ok:
            return golang_x_mirror(path) or unresolved_for(result)
        imports, sources = parse_go_get_page(result.text)
        matching = sorted(
            (entry for entry in imports if entry[1] != "mod" and _covers(entry[0], path)),
            key=lambda entry: len(entry[0]),
            reverse=True,
        )
        if not matching:
            return Unresolved(f"{NO_REPOSITORY}: no go-import meta tag for {path}", source_url=url)
        prefix, _vcs, root = matching[0]
        inside = _inside(path[len(prefix) :].strip("/").split("/")) if path != prefix else None
        outcome = parse_repo_url(root, forges=self.forges)
        if isinstance(outcome, RepoRef):
            return Resolution(outcome.upstream, root, "golang:go-import", inside)
        for source_prefix, home in sources:
            if source_prefix == prefix:
                mirrored = parse_repo_url(home, forges=self.forges)
                if isinstance(mirrored, RepoRef):
                    return Resolution(mirrored.upstream, home, "golang:go-source", inside)
        return Unresolved(f"{NOT_A_FORGE}: {root}", source_url=root)
