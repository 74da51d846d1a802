"""Fake package registries serving the world's packages in the real services' document shapes.

One service per registry (PyPI JSON API, npm packuments, crates.io, the Go module proxy and
``go-get=1`` vanity pages, Maven Central POMs with parent inheritance, RubyGems, NuGet v3,
Packagist p2, deps.dev v3 and v3alpha's project batch), each mounted under its prefix from
``interface.py``. Documents are rendered on first request from ``Package.metadata`` and cached
per URL, so building a router costs nothing per package. Unknown names get the real service's
404 body.

``path`` arrives percent-encoded (``/@scope%2Fname``), as on the wire; each service decodes the
segments it needs.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, unquote
from xml.sax.saxutils import escape

import httpx

from bot.sandbox.interface import ServiceContext
from bot.sandbox.model import Package, UpstreamRepo, World
from bot.sandbox.server import etag_of

JSON = "application/json"
Rendered = tuple[int, dict[str, str], bytes]


def _json(status: int, body: Any, content_type: str = JSON) -> Rendered:
    return status, {"content-type": content_type}, json.dumps(body, indent=None, separators=(",", ":")).encode()


def with_etag(rendered: Rendered) -> Rendered:
    """``rendered`` with the ETag the router would put on it, hashed once when the document is cached
    rather than on every request (the router hashes only answers that carry none)."""
    status, headers, body = rendered
    if status != 200 or "etag" in headers:
        return rendered
    return status, {**headers, "etag": etag_of(body)}, body


def _text(status: int, body: str, content_type: str = "text/plain; charset=utf-8") -> Rendered:
    return status, {"content-type": content_type}, body.encode()


def _iso(moment: datetime, millis: bool = False) -> str:
    text = moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return text + (".000Z" if millis else "Z")


def _digest(*parts: object) -> str:
    return hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).hexdigest()


def published(world: World, pkg: Package) -> dict[str, datetime]:
    """Deterministic publish times: the newest version 20 days before ``now``, each older one 75 days apart."""
    newest = world.now - timedelta(days=20 + int(_digest(pkg.package_key)[:4], 16) % 200)
    count = len(pkg.versions)
    return {v: newest - timedelta(days=75 * (count - 1 - i)) for i, v in enumerate(pkg.versions)}


def pep503(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


class _Registry:
    """Shared plumbing: a package index, a per-URL render cache and the 404 of the service."""

    prefix = ""
    ecosystem = ""

    def __init__(self, world: World) -> None:
        self.world = world
        self._cache: dict[tuple[str, str, int], Rendered] = {}
        self.packages: dict[str, Package] = {
            self.index_name(p): p for p in world.packages if p.ecosystem == self.ecosystem
        }
        self.upstreams = {u.key: u for u in world.upstreams}

    def index_name(self, pkg: Package) -> str:
        return (f"{pkg.namespace}/{pkg.name}" if pkg.namespace else pkg.name).lower()

    def handle(self, request: httpx.Request, path: str, context: ServiceContext) -> httpx.Response:
        if request.method not in ("GET", "HEAD"):
            return httpx.Response(405, headers={"allow": "GET, HEAD"}, text="Method Not Allowed")
        key = (f"{path}?{request.url.query.decode()}", context.base_url, self.world.scan)
        if key not in self._cache:
            self._cache[key] = with_etag(self.render(request, path, context))
        status, headers, body = self._cache[key]
        return httpx.Response(status, headers=headers, content=b"" if request.method == "HEAD" else body)

    def render(self, request: httpx.Request, path: str, context: ServiceContext) -> Rendered:
        raise NotImplementedError

    def upstream(self, pkg: Package) -> UpstreamRepo | None:
        return self.upstreams.get(pkg.true_upstream) if pkg.true_upstream else None


# --------------------------------------------------------------------------------------------- PyPI


class PyPIService(_Registry):
    """``/pypi/{project}/json`` and ``/pypi/{project}/{version}/json``; non-normalised names redirect."""

    prefix = "/registry/pypi"
    ecosystem = "pypi"

    def index_name(self, pkg: Package) -> str:
        return pep503(pkg.name)

    def render(self, request: httpx.Request, path: str, context: ServiceContext) -> Rendered:
        parts = [unquote(p) for p in path.strip("/").split("/")]
        if len(parts) not in (3, 4) or parts[0] != "pypi" or parts[-1] != "json":
            return _json(404, {"message": "Not Found"})
        name, version = parts[1], parts[2] if len(parts) == 4 else None
        pkg = self.packages.get(pep503(name))
        if pkg is None or (version is not None and version not in pkg.versions):
            return _json(404, {"message": "Not Found"})
        if name != pkg.name:
            tail = f"{version}/json" if version else "json"
            return 301, {"location": f"{context.base_url}{self.prefix}/pypi/{pkg.name}/{tail}"}, b""
        return _json(200, self.document(pkg, version))

    def document(self, pkg: Package, version: str | None) -> dict[str, Any]:
        times = published(self.world, pkg)
        current = version or pkg.versions[-1]
        meta = pkg.metadata

        def files(v: str) -> list[dict[str, Any]]:
            filename = f"{pkg.name.replace('-', '_')}-{v}-py3-none-any.whl"
            sha = _digest("pypi", pkg.name, v)
            return [
                {
                    "comment_text": "",
                    "digests": {"blake2b_256": sha[:64], "md5": sha[:32], "sha256": sha},
                    "downloads": -1,
                    "filename": filename,
                    "has_sig": False,
                    "md5_digest": sha[:32],
                    "packagetype": "bdist_wheel",
                    "python_version": "py3",
                    "requires_python": ">=3.9",
                    "size": 10_000 + int(sha[:4], 16),
                    "upload_time": times[v].strftime("%Y-%m-%dT%H:%M:%S"),
                    "upload_time_iso_8601": times[v].strftime("%Y-%m-%dT%H:%M:%S.000000Z"),
                    "url": f"https://files.pythonhosted.org/packages/{sha[:2]}/{sha[2:4]}/{sha[4:60]}/{filename}",
                    "yanked": False,
                    "yanked_reason": None,
                }
            ]

        info = {
            "author": None,
            "author_email": f"maintainers@{pkg.name}.example.org",
            "bugtrack_url": None,
            "classifiers": ["Programming Language :: Python :: 3"],
            "description": f"# {pkg.name}\n\n{meta.get('summary', '')}\n",
            "description_content_type": "text/markdown",
            "docs_url": None,
            "download_url": None,
            "downloads": {"last_day": -1, "last_month": -1, "last_week": -1},
            "dynamic": None,
            "home_page": meta.get("home_page"),
            "keywords": None,
            "license": pkg.license,
            "license_expression": None,
            "license_files": None,
            "maintainer": None,
            "maintainer_email": None,
            "name": pkg.name,
            "package_url": f"https://pypi.org/project/{pkg.name}/",
            "platform": None,
            "project_url": f"https://pypi.org/project/{pkg.name}/",
            "project_urls": meta.get("project_urls"),
            "provides_extra": None,
            "release_url": f"https://pypi.org/project/{pkg.name}/{current}/",
            "requires_dist": None,
            "requires_python": ">=3.9",
            "summary": meta.get("summary"),
            "version": current,
            "yanked": False,
            "yanked_reason": None,
        }
        doc: dict[str, Any] = {"info": info, "last_serial": int(_digest(pkg.name)[:6], 16)}
        if version is None:
            doc["releases"] = {v: files(v) for v in pkg.versions}
        doc["urls"] = files(current)
        doc["vulnerabilities"] = []
        return doc


# --------------------------------------------------------------------------------------------- npm


class NpmService(_Registry):
    """Packuments at ``/{name}`` (scoped: ``/@scope%2Fname`` or ``/@scope/name``)."""

    prefix = "/registry/npm"
    ecosystem = "npm"

    def render(self, request: httpx.Request, path: str, context: ServiceContext) -> Rendered:
        name = unquote(path.strip("/"))
        pkg = self.packages.get(name.lower())
        full = (f"{pkg.namespace}/{pkg.name}" if pkg.namespace else pkg.name) if pkg else ""
        if pkg is None or name != full:  # npm names are case-sensitive
            return _json(404, {"error": "Not found"})
        meta = pkg.metadata
        times = published(self.world, pkg)
        common = {k: meta[k] for k in ("repository", "homepage", "bugs") if meta.get(k) is not None}
        versions = {}
        for v in pkg.versions:
            sha = _digest("npm", full, v)
            versions[v] = {
                "name": full,
                "version": v,
                "description": meta.get("summary", ""),
                "license": pkg.license,
                **common,
                "dist": {
                    "shasum": sha[:40],
                    "tarball": f"https://registry.npmjs.org/{full}/-/{pkg.name}-{v}.tgz",
                    "integrity": f"sha512-{sha}",
                },
                "_id": f"{full}@{v}",
                "_npmVersion": "10.8.2",
                "_nodeVersion": "22.11.0",
            }
        time = {"created": _iso(times[pkg.versions[0]] - timedelta(days=1), True)}
        time["modified"] = _iso(times[pkg.versions[-1]], True)
        time.update({v: _iso(t, True) for v, t in times.items()})
        doc = {
            "_id": full,
            "_rev": f"{len(pkg.versions)}-{_digest('rev', full)[:32]}",
            "name": full,
            "description": meta.get("summary", ""),
            "dist-tags": {"latest": pkg.versions[-1]},
            "versions": versions,
            "time": time,
            "maintainers": [{"name": "maintainer", "email": f"maintainer@{pkg.name}.example.org"}],
            **common,
            "license": pkg.license,
            "readme": f"# {full}\n",
            "readmeFilename": "README.md",
        }
        return _json(200, doc)


# --------------------------------------------------------------------------------------------- crates.io


class CratesService(_Registry):
    """``/api/v1/crates/{name}``; like crates.io, refuses requests without a ``User-Agent``."""

    prefix = "/registry/crates"
    ecosystem = "cargo"

    def handle(self, request: httpx.Request, path: str, context: ServiceContext) -> httpx.Response:
        if not request.headers.get("user-agent"):
            detail = (
                "We require that all requests include a `User-Agent` header.  To allow us to determine the impact"
                " your bot has on our service, we ask that your user agent actually identify your bot, and not"
                " just report the HTTP client library you're using.  Including contact information will also"
                " reduce the chance that we will need to take action against your bot."
            )
            return httpx.Response(403, json={"errors": [{"detail": detail}]})
        return super().handle(request, path, context)

    def render(self, request: httpx.Request, path: str, context: ServiceContext) -> Rendered:
        parts = [unquote(p) for p in path.strip("/").split("/")]
        if len(parts) != 4 or parts[:3] != ["api", "v1", "crates"]:
            return _json(404, {"errors": [{"detail": "Not Found"}]})
        pkg = self.packages.get(parts[3].lower().replace("_", "-")) or self.packages.get(parts[3].lower())
        if pkg is None:
            return _json(404, {"errors": [{"detail": f"crate `{parts[3]}` does not exist"}]})
        meta = pkg.metadata
        times = published(self.world, pkg)
        versions: list[dict[str, Any]] = []
        for n, v in enumerate(reversed(pkg.versions)):
            versions.append(
                {
                    "id": int(_digest("crate", pkg.name)[:6], 16) * 10 + n,
                    "crate": pkg.name,
                    "num": v,
                    "created_at": times[v].isoformat(),
                    "updated_at": times[v].isoformat(),
                    "license": pkg.license,
                    "yanked": False,
                    "dl_path": f"/api/v1/crates/{pkg.name}/{v}/download",
                    "downloads": 1000 * (n + 1),
                    "features": {},
                    "links": {
                        "dependencies": f"/api/v1/crates/{pkg.name}/{v}/dependencies",
                        "version_downloads": f"/api/v1/crates/{pkg.name}/{v}/downloads",
                    },
                }
            )
        crate = {
            "id": pkg.name,
            "name": pkg.name,
            "description": meta.get("summary"),
            "homepage": meta.get("homepage"),
            "documentation": meta.get("documentation"),
            "repository": meta.get("repository"),
            "max_version": pkg.versions[-1],
            "max_stable_version": pkg.versions[-1],
            "newest_version": pkg.versions[-1],
            "created_at": times[pkg.versions[0]].isoformat(),
            "updated_at": times[pkg.versions[-1]].isoformat(),
            "downloads": 10_000 * len(pkg.versions),
            "recent_downloads": 1000,
            "exact_match": False,
            "keywords": [],
            "categories": [],
            "badges": [],
            "versions": [int(v["id"]) for v in versions],
            "links": {
                "owners": f"/api/v1/crates/{pkg.name}/owners",
                "reverse_dependencies": f"/api/v1/crates/{pkg.name}/reverse_dependencies",
                "version_downloads": f"/api/v1/crates/{pkg.name}/downloads",
                "versions": None,
            },
        }
        return _json(200, {"crate": crate, "versions": versions, "keywords": [], "categories": []})


# --------------------------------------------------------------------------------------------- Go


def _go_decode(path: str) -> str:
    """Undo the module proxy's case encoding (``!x`` stands for ``X``)."""
    return re.sub(r"!([a-z])", lambda m: m.group(1).upper(), path)


def go_import(pkg: Package, world_upstreams: dict[str, UpstreamRepo]) -> tuple[str, str, str | None]:
    """(import prefix, repository root, go-source home) that the module's ``go-get=1`` page declares."""
    vanity = pkg.metadata.get("vanity")
    if vanity:
        return str(vanity["prefix"]), str(vanity["repo_root"]), str(vanity["source"])
    up = world_upstreams.get(pkg.true_upstream or "")
    module = str(pkg.metadata.get("module", ""))
    if up is None:
        return module, f"https://{module}", None
    root = f"https://{up.host}/{up.owner}/{up.name}"
    return f"{up.host}/{up.owner}/{up.name}", root, root


class GoProxyService(_Registry):
    """The module proxy protocol: ``/{module}/@v/list``, ``/@latest``, ``/@v/{version}.info`` and ``.mod``."""

    prefix = "/registry/goproxy"
    ecosystem = "golang"

    def render(self, request: httpx.Request, path: str, context: ServiceContext) -> Rendered:
        raw = _go_decode(unquote(path.strip("/")))
        if raw.endswith("/@latest"):
            module, query = raw[: -len("/@latest")], "@latest"
        elif "/@v/" in raw:
            module, query = raw.split("/@v/", 1)
        else:
            return _text(404, "not found\n")
        pkg = self.packages.get(module.lower())
        if pkg is None:
            return _text(404, f'not found: module {module}: no matching versions for query "latest"\n')
        times = published(self.world, pkg)
        _, root, _ = go_import(pkg, self.upstreams)

        def info(v: str) -> dict[str, Any]:
            return {
                "Version": v,
                "Time": _iso(times[v]),
                "Origin": {"VCS": "git", "URL": root, "Ref": f"refs/tags/{v}", "Hash": _digest("go", module, v)[:40]},
            }

        if query == "list":
            return _text(200, "".join(f"{v}\n" for v in pkg.versions))
        if query == "@latest":
            return _json(200, info(pkg.versions[-1]))
        version, _, ext = query.rpartition(".")
        if version not in pkg.versions:
            return _text(404, f"not found: {module}@{version}: invalid version: unknown revision {version}\n")
        if ext == "info":
            return _json(200, info(version))
        if ext == "mod":
            return _text(200, f"module {pkg.metadata.get('module', module)}\n\ngo 1.22\n")
        return _text(404, "not found\n")


class GoVanityService(_Registry):
    """``/{import path}?go-get=1`` pages with ``go-import`` and ``go-source`` meta tags."""

    prefix = "/registry/govanity"
    ecosystem = "golang"

    def render(self, request: httpx.Request, path: str, context: ServiceContext) -> Rendered:
        wanted = unquote(path.strip("/")).lower()
        probe = wanted
        while probe and probe not in self.packages:
            probe = probe.rpartition("/")[0]
        if not probe:
            return _text(404, "404 page not found\n")
        pkg = self.packages[probe]
        prefix, root, source = go_import(pkg, self.upstreams)
        up = self.upstream(pkg)
        branch = up.default_branch if up else "main"
        metas = [f'<meta name="go-import" content="{escape(prefix)} git {escape(root)}">']
        if source:
            metas.append(
                f'<meta name="go-source" content="{escape(prefix)} {source} {source}/tree/{branch}{{/dir}}'
                f' {source}/blob/{branch}{{/dir}}/{{file}}#L{{line}}">'
            )
        page = (
            "<!DOCTYPE html>\n<html>\n<head>\n"
            '<meta http-equiv="Content-Type" content="text/html; charset=utf-8"/>\n'
            + "\n".join(metas)
            + f'\n<meta http-equiv="refresh" content="0; url=https://pkg.go.dev/{escape(wanted)}">\n'
            f'</head>\n<body>\nRedirecting to docs at <a href="https://pkg.go.dev/{escape(wanted)}">'
            f"pkg.go.dev/{escape(wanted)}</a>...\n</body>\n</html>\n"
        )
        return _text(200, page, "text/html; charset=utf-8")


# --------------------------------------------------------------------------------------------- Maven


def _pom(group: str, artifact: str, version: str, body: dict[str, Any], parent: dict[str, Any] | None) -> str:
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<project xmlns="http://maven.apache.org/POM/4.0.0" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
        ' xsi:schemaLocation="http://maven.apache.org/POM/4.0.0 https://maven.apache.org/xsd/maven-4.0.0.xsd">',
        "  <modelVersion>4.0.0</modelVersion>",
    ]
    if parent:
        lines += [
            "  <parent>",
            f"    <groupId>{escape(parent['groupId'])}</groupId>",
            f"    <artifactId>{escape(parent['artifactId'])}</artifactId>",
            f"    <version>{escape(parent['version'])}</version>",
            "  </parent>",
        ]
    else:
        lines.append(f"  <groupId>{escape(group)}</groupId>")
    lines += [f"  <artifactId>{escape(artifact)}</artifactId>", f"  <version>{escape(version)}</version>"]
    lines.append(f"  <packaging>{'pom' if body.get('packaging') == 'pom' else 'jar'}</packaging>")
    if body.get("name"):
        lines.append(f"  <name>{escape(str(body['name']))}</name>")
    if body.get("url"):
        lines.append(f"  <url>{escape(str(body['url']))}</url>")
    scm = body.get("scm")
    if scm:
        lines.append("  <scm>")
        for tag in ("connection", "developerConnection", "url"):
            if scm.get(tag):
                lines.append(f"    <{tag}>{escape(str(scm[tag]))}</{tag}>")
        lines.append("  </scm>")
    lines.append("</project>\n")
    return "\n".join(lines)


class MavenService(_Registry):
    """Maven Central's layout: POMs (children point at parent POMs holding the ``<scm>``) and metadata."""

    prefix = "/registry/maven2"
    ecosystem = "maven"

    def __init__(self, world: World) -> None:
        super().__init__(world)
        self.parents: dict[tuple[str, str, str], dict[str, Any]] = {}
        for pkg in self.packages.values():
            parent = pkg.metadata.get("parent_pom")
            if parent:
                self.parents[(parent["groupId"], parent["artifactId"], parent["version"])] = parent

    def index_name(self, pkg: Package) -> str:
        return f"{pkg.namespace}:{pkg.name}"

    def render(self, request: httpx.Request, path: str, context: ServiceContext) -> Rendered:
        parts = [unquote(p) for p in path.strip("/").split("/")]
        not_found = _text(404, "<html><body><h1>404 Not Found</h1></body></html>\n", "text/html")
        if len(parts) >= 3 and parts[-1] == "maven-metadata.xml":
            group, artifact = ".".join(parts[:-2]), parts[-2]
            pkg = self.packages.get(f"{group}:{artifact}")
            if pkg is None:
                return not_found
            versions = "".join(f"\n      <version>{escape(v)}</version>" for v in pkg.versions)
            stamp = published(self.world, pkg)[pkg.versions[-1]].strftime("%Y%m%d%H%M%S")
            xml = (
                f'<?xml version="1.0" encoding="UTF-8"?>\n<metadata>\n  <groupId>{escape(group)}</groupId>\n'
                f"  <artifactId>{escape(artifact)}</artifactId>\n  <versioning>\n"
                f"    <latest>{pkg.versions[-1]}</latest>\n    <release>{pkg.versions[-1]}</release>\n"
                f"    <versions>{versions}\n    </versions>\n    <lastUpdated>{stamp}</lastUpdated>\n"
                "  </versioning>\n</metadata>\n"
            )
            return _text(200, xml, "text/xml")
        if len(parts) < 4 or parts[-1] != f"{parts[-3]}-{parts[-2]}.pom":
            return not_found
        group, artifact, version = ".".join(parts[:-3]), parts[-3], parts[-2]
        parent = self.parents.get((group, artifact, version))
        if parent is not None:
            body = {"packaging": "pom", "name": artifact, "url": parent.get("url"), "scm": parent.get("scm")}
            return _text(200, _pom(group, artifact, version, body, None), "text/xml")
        pkg = self.packages.get(f"{group}:{artifact}")
        if pkg is None or version not in pkg.versions:
            return not_found
        pom = pkg.metadata.get("pom", {})
        body = {"name": artifact, "url": pom.get("url"), "scm": pom.get("scm")}
        return _text(200, _pom(group, artifact, version, body, pom.get("parent")), "text/xml")


# --------------------------------------------------------------------------------------------- RubyGems


class RubyGemsService(_Registry):
    """``/api/v1/gems/{name}.json``."""

    prefix = "/registry/rubygems"
    ecosystem = "gem"

    def render(self, request: httpx.Request, path: str, context: ServiceContext) -> Rendered:
        match = re.fullmatch(r"/api/v1/gems/([^/]+)\.json", path)
        pkg = self.packages.get(unquote(match.group(1)).lower()) if match else None
        if pkg is None:
            return _text(404, "This rubygem could not be found.")
        meta = pkg.metadata
        version = pkg.versions[-1]
        uris = {
            "source_code_uri": meta.get("source_code_uri"),
            "homepage_uri": meta.get("homepage_uri"),
            "bug_tracker_uri": meta.get("bug_tracker_uri"),
        }
        doc = {
            "name": pkg.name,
            "downloads": 50_000,
            "version": version,
            "version_created_at": _iso(published(self.world, pkg)[version]),
            "version_downloads": 5_000,
            "platform": "ruby",
            "authors": "The maintainers",
            "info": meta.get("summary", ""),
            "licenses": [pkg.license] if pkg.license else [],
            "metadata": {k: v for k, v in uris.items() if v and k != "homepage_uri"},
            "yanked": False,
            "sha": _digest("gem", pkg.name, version),
            "project_uri": f"https://rubygems.org/gems/{pkg.name}",
            "gem_uri": f"https://rubygems.org/gems/{pkg.name}-{version}.gem",
            "homepage_uri": uris["homepage_uri"],
            "wiki_uri": None,
            "documentation_uri": f"https://www.rubydoc.info/gems/{pkg.name}/{version}",
            "mailing_list_uri": None,
            "source_code_uri": uris["source_code_uri"],
            "bug_tracker_uri": uris["bug_tracker_uri"],
            "changelog_uri": None,
            "funding_uri": None,
            "dependencies": {"development": [], "runtime": []},
        }
        return _json(200, doc)


# --------------------------------------------------------------------------------------------- NuGet

_BLOB_NOT_FOUND = (
    '<?xml version="1.0" encoding="utf-8"?><Error><Code>BlobNotFound</Code>'
    "<Message>The specified blob does not exist.\nRequestId:00000000-0000-0000-0000-000000000000\n"
    "Time:2026-11-15T12:00:00.0000000Z</Message></Error>"
)


class NuGetService(_Registry):
    """NuGet v3: service index, flat container (versions, ``.nuspec``) and registration index."""

    prefix = "/registry/nuget"
    ecosystem = "nuget"

    def render(self, request: httpx.Request, path: str, context: ServiceContext) -> Rendered:
        base = f"{context.base_url}{self.prefix}"
        parts = [unquote(p) for p in path.strip("/").split("/")]
        if parts == ["v3", "index.json"]:
            resources = [
                ("v3-flatcontainer/", "PackageBaseAddress/3.0.0"),
                ("v3/registration5-semver1/", "RegistrationsBaseUrl"),
                ("v3/registration5-semver1/", "RegistrationsBaseUrl/3.6.0"),
            ]
            return _json(
                200, {"version": "3.0.0", "resources": [{"@id": f"{base}/{p}", "@type": t} for p, t in resources]}
            )
        missing = _text(404, _BLOB_NOT_FOUND, "application/xml")
        if len(parts) >= 3 and parts[0] == "v3-flatcontainer":
            pkg = self.packages.get(parts[1])
            if pkg is None or parts[1] != parts[1].lower():
                return missing
            if parts[2:] == ["index.json"]:
                return _json(200, {"versions": list(pkg.versions)})
            if len(parts) == 4 and parts[3] == f"{parts[1]}.nuspec" and parts[2] in pkg.versions:
                return _text(200, self.nuspec(pkg, parts[2]), "application/xml")
            return missing
        if len(parts) == 4 and parts[:2] == ["v3", "registration5-semver1"] and parts[3] == "index.json":
            pkg = self.packages.get(parts[2])
            if pkg is None:
                return missing
            return _json(200, self.registration(pkg, base))
        return missing

    def nuspec(self, pkg: Package, version: str) -> str:
        meta = pkg.metadata
        repo = meta.get("repository")
        repository = ""
        if repo:
            repository = (
                f'\n    <repository type="{repo["type"]}" url="{escape(repo["url"])}" commit="{repo["commit"]}" />'
            )
        licence = f'\n    <license type="expression">{escape(pkg.license)}</license>' if pkg.license else ""
        return (
            '<?xml version="1.0" encoding="utf-8"?>\n'
            '<package xmlns="http://schemas.microsoft.com/packaging/2013/05/nuspec.xsd">\n'
            "  <metadata>\n"
            f"    <id>{escape(pkg.name)}</id>\n    <version>{escape(version)}</version>\n"
            f"    <authors>{escape(pkg.name.split('.')[0])}</authors>{licence}\n"
            f"    <projectUrl>{escape(str(meta.get('projectUrl') or ''))}</projectUrl>\n"
            f"    <description>{escape(str(meta.get('summary', '')))}</description>{repository}\n"
            "  </metadata>\n</package>\n"
        )

    def registration(self, pkg: Package, base: str) -> dict[str, Any]:
        lower = pkg.name.lower()
        times = published(self.world, pkg)
        items = [
            {
                "@id": f"{base}/v3/registration5-semver1/{lower}/{v}.json",
                "catalogEntry": {
                    "@id": f"{base}/v3/catalog0/data/{lower}.{v}.json",
                    "id": pkg.name,
                    "version": v,
                    "description": pkg.metadata.get("summary", ""),
                    "projectUrl": pkg.metadata.get("projectUrl") or "",
                    "licenseExpression": pkg.license or "",
                    "published": _iso(times[v]),
                    "listed": True,
                },
                "packageContent": f"{base}/v3-flatcontainer/{lower}/{v}/{lower}.{v}.nupkg",
            }
            for v in pkg.versions
        ]
        page = {
            "@id": f"{base}/v3/registration5-semver1/{lower}/index.json#page/{pkg.versions[0]}/{pkg.versions[-1]}",
            "count": len(items),
            "items": items,
            "lower": pkg.versions[0],
            "upper": pkg.versions[-1],
        }
        return {"@id": f"{base}/v3/registration5-semver1/{lower}/index.json", "count": 1, "items": [page]}


# --------------------------------------------------------------------------------------------- Packagist


class PackagistService(_Registry):
    """``/p2/{vendor}/{package}.json`` in Composer 2's minified form (later entries inherit from earlier)."""

    prefix = "/registry/packagist"
    ecosystem = "composer"

    def render(self, request: httpx.Request, path: str, context: ServiceContext) -> Rendered:
        match = re.fullmatch(r"/p2/([^/]+)/([^/]+?)(~dev)?\.json", path)
        pkg = self.packages.get(f"{match.group(1)}/{match.group(2)}".lower()) if match else None
        if pkg is None or match is None:
            return _text(404, "<html><body><h1>404 Not Found</h1></body></html>\n", "text/html")
        full = f"{pkg.namespace}/{pkg.name}"
        if match.group(3):
            return _json(200, {"packages": {full: []}, "minified": "composer/2.0"})
        meta = pkg.metadata
        times = published(self.world, pkg)
        entries: list[dict[str, Any]] = []
        for n, v in enumerate(reversed(pkg.versions)):
            ref = _digest("composer", full, v)[:40]
            source = {"url": meta["source"]["url"], "type": "git", "reference": ref}
            dist_url = f"https://api.github.com/repos/{full}/zipball/{ref}"
            varying = {
                "version": v,
                "version_normalized": f"{v.lstrip('v')}.0",
                "source": source,
                "dist": {"url": dist_url, "type": "zip", "shasum": "", "reference": ref},
                "time": times[v].strftime("%Y-%m-%dT%H:%M:%S+00:00"),
                "support": {**meta.get("support", {}), "source": meta["support"]["source"].rsplit("/", 1)[0] + f"/{v}"},
            }
            if n == 0:
                entries.append(
                    {
                        "name": full,
                        "description": meta.get("summary", ""),
                        "keywords": [],
                        "homepage": meta.get("homepage"),
                        **varying,
                        "license": [pkg.license] if pkg.license else [],
                        "authors": [{"name": pkg.namespace}],
                        "type": "library",
                        "require": {"php": ">=8.1"},
                        **({"extra": meta["extra"]} if meta.get("extra") else {}),
                    }
                )
            else:
                entries.append(varying)
        return _json(200, {"packages": {full: entries}, "minified": "composer/2.0"})


# --------------------------------------------------------------------------------------------- deps.dev

DEPSDEV_SYSTEMS = {
    "go": "golang",
    "rubygems": "gem",
    "npm": "npm",
    "cargo": "cargo",
    "maven": "maven",
    "pypi": "pypi",
    "nuget": "nuget",
}


DEPSDEV_PROJECT_BATCH = "/v3alpha/projectbatch"
DEPSDEV_BATCH_MAX = 5000  # "Up to 5000 requests are allowed in a single batch."
DEPSDEV_BATCH_PAGE = 1000  # responses per page, so the large world paginates


def _batch_request(content: bytes) -> tuple[list[str], str]:
    """The project ids and page token of a ``GetProjectBatchRequest`` (proto3 JSON); ValueError says what is wrong."""
    try:
        body = json.loads(content)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ValueError("invalid JSON in the request body") from None
    if not isinstance(body, dict):
        raise ValueError("the request body is not a GetProjectBatchRequest")
    unknown = set(body) - {"requests", "pageToken", "page_token"}
    if unknown:
        raise ValueError(f'unknown field "{sorted(unknown)[0]}" in GetProjectBatchRequest')
    requests = body.get("requests")
    requests = [] if requests is None else requests  # proto3 JSON: null is the default
    token = body.get("pageToken", body.get("page_token"))
    token = "" if token is None else token
    if not isinstance(requests, list) or not isinstance(token, str):
        raise ValueError("requests must be a list and pageToken a string")
    if len(requests) > DEPSDEV_BATCH_MAX:
        raise ValueError(f"too many requests in batch: {len(requests)} (at most {DEPSDEV_BATCH_MAX})")
    ids = []
    for n, request in enumerate(requests):
        key = request.get("projectKey", request.get("project_key")) if isinstance(request, dict) else None
        project_id = key.get("id") if isinstance(key, dict) else None
        if not isinstance(project_id, str) or not project_id:
            raise ValueError(f"requests[{n}]: projectKey.id is required")
        ids.append(project_id)
    return ids, token


def _page_token(offset: int, digest: str) -> str:
    return base64.urlsafe_b64encode(f"{offset}:{digest}".encode()).decode()


def _page_offset(token: str, digest: str, count: int) -> int | None:
    """The offset a page token names; None when it does not decode or was issued for other requests."""
    try:
        offset, _, issued_for = base64.urlsafe_b64decode(token.encode()).decode().partition(":")
        start = int(offset)
    except (ValueError, UnicodeDecodeError):
        return None
    return start if issued_for == digest and 0 < start < count else None


class DepsDevService:
    """deps.dev API v3: packages, versions (``links`` and ``relatedProjects``) and projects with scorecards;
    v3alpha's ``GetProjectBatch`` (``POST /v3alpha/projectbatch``), paginated."""

    prefix = "/registry/depsdev"

    def __init__(self, world: World) -> None:
        self.world = world
        self.upstreams = {u.key: u for u in world.upstreams}
        self.renamed = {former: u for u in world.upstreams for former in u.former_keys}
        self.packages: dict[tuple[str, str], Package] = {}
        for pkg in world.packages:
            system = next((s for s, e in DEPSDEV_SYSTEMS.items() if e == pkg.ecosystem), None)
            if system:
                self.packages[(system, self.name(pkg).lower())] = pkg
        self._cache: dict[tuple[str, int], Rendered] = {}

    @staticmethod
    def name(pkg: Package) -> str:
        if pkg.ecosystem == "maven":
            return f"{pkg.namespace}:{pkg.name}"
        if pkg.ecosystem == "pypi":
            return pep503(pkg.name)
        return f"{pkg.namespace}/{pkg.name}" if pkg.namespace else pkg.name

    def handle(self, request: httpx.Request, path: str, context: ServiceContext) -> httpx.Response:
        if path.rstrip("/") == DEPSDEV_PROJECT_BATCH:
            if request.method != "POST":
                return httpx.Response(405, json={"code": 12, "message": "Method Not Allowed", "details": []})
            status, headers, body = self.project_batch(request.content)
            route = {"x-sandbox-route": DEPSDEV_PROJECT_BATCH}  # the router's log names it; the router drops it
            return httpx.Response(status, headers={**headers, **route}, content=body)
        if request.method != "GET":
            return httpx.Response(405, json={"code": 12, "message": "Method Not Allowed", "details": []})
        status, headers, body = self.rendered(path)
        return httpx.Response(status, headers=headers, content=body)

    def rendered(self, path: str) -> Rendered:
        """The answer to ``GET path``, rendered once per world scan."""
        key = (path, self.world.scan)
        if key not in self._cache:
            self._cache[key] = with_etag(self.render(path))
        return self._cache[key]

    def project_batch(self, content: bytes) -> Rendered:
        """v3alpha ``GetProjectBatch``: a response per request in request order, ``project`` omitted when not found.

        Pages hold at most :data:`DEPSDEV_BATCH_PAGE` responses; the opaque ``nextPageToken`` carries the
        offset and a digest of the requests, so a page asked with other requests is refused, as deps.dev
        requires "all other request fields" to be the same as in the first request.
        """
        try:
            ids, token = _batch_request(content)
        except ValueError as exc:
            return _json(400, {"code": 3, "message": str(exc), "details": []})
        digest = _digest(*ids)[:16]
        offset = _page_offset(token, digest, len(ids)) if token else 0
        if offset is None:
            return _json(400, {"code": 3, "message": "invalid page token", "details": []})
        responses = []
        for project_id in ids[offset : offset + DEPSDEV_BATCH_PAGE]:
            item: dict[str, Any] = {"request": {"projectKey": {"id": project_id}}}
            project = self.project_document(project_id)
            if project is not None:
                item["project"] = project
            responses.append(item)
        page: dict[str, Any] = {"responses": responses}
        if offset + DEPSDEV_BATCH_PAGE < len(ids):
            page["nextPageToken"] = _page_token(offset + DEPSDEV_BATCH_PAGE, digest)
        return _json(200, page)

    def project_document(self, project_id: str) -> dict[str, Any] | None:
        """What ``GET /v3/projects/{id}`` answers (the same cached rendering), or None when it answers 404."""
        if ":" in project_id:  # not a project id; in a GET path it would name a method
            return None
        status, _, body = self.rendered(f"/v3/projects/{quote(project_id, safe='')}")
        return json.loads(body) if status == 200 else None

    def render(self, path: str) -> Rendered:
        parts = path.strip("/").split("/")
        if len(parts) == 3 and parts[:2] == ["v3", "projects"]:
            project_id, _, method = unquote(parts[2]).partition(":")
            return self.project(project_id.lower(), method)
        if len(parts) >= 5 and parts[:2] == ["v3", "systems"] and parts[3] == "packages":
            system = parts[2].lower()
            pkg = self.packages.get((system, unquote(parts[4]).lower()))
            if pkg is None:
                return _json(404, {"code": 5, "message": "package not found", "details": []})
            if len(parts) == 5:
                return _json(200, self.package(system, pkg))
            if len(parts) == 7 and parts[5] == "versions" and unquote(parts[6]) in pkg.versions:
                return _json(200, self.version(system, pkg, unquote(parts[6])))
            return _json(404, {"code": 5, "message": "version not found", "details": []})
        return _json(404, {"code": 5, "message": "Not Found", "details": []})

    def _key(self, system: str, pkg: Package, version: str) -> dict[str, str]:
        return {"system": system.upper(), "name": self.name(pkg), "version": version}

    def package(self, system: str, pkg: Package) -> dict[str, Any]:
        times = published(self.world, pkg)
        return {
            "packageKey": {"system": system.upper(), "name": self.name(pkg)},
            "versions": [
                {
                    "versionKey": self._key(system, pkg, v),
                    "publishedAt": _iso(times[v]),
                    "isDefault": v == pkg.versions[-1],
                    "isDeprecated": pkg.deprecated,
                }
                for v in pkg.versions
            ],
        }

    def links(self, pkg: Package) -> list[dict[str, str]]:
        """The links deps.dev would read from the registry metadata (not verified, as deps.dev says)."""
        meta = pkg.metadata
        candidates: list[tuple[str, Any]] = []
        repo = meta.get("repository")
        if isinstance(repo, dict):
            candidates.append(("SOURCE_REPO", repo.get("url")))
        elif isinstance(repo, str):
            candidates.append(("SOURCE_REPO", repo))
        for label, value in (meta.get("project_urls") or {}).items():
            kind = {"homepage": "HOMEPAGE", "documentation": "DOCUMENTATION", "issue tracker": "ISSUE_TRACKER"}
            candidates.append(
                (kind.get(label.lower(), "SOURCE_REPO" if label in ("Source", "Code") else "OTHER"), value)
            )
        for field, label in (
            ("home_page", "HOMEPAGE"),
            ("homepage", "HOMEPAGE"),
            ("homepage_uri", "HOMEPAGE"),
            ("source_code_uri", "SOURCE_REPO"),
            ("projectUrl", "HOMEPAGE"),
        ):
            candidates.append((label, meta.get(field)))
        scm = (meta.get("pom") or {}).get("scm") or (meta.get("parent_pom") or {}).get("scm")
        if scm:
            candidates.append(("SOURCE_REPO", scm.get("url") or scm.get("connection")))
        if pkg.ecosystem == "golang" and pkg.true_upstream:
            candidates.append(("SOURCE_REPO", f"https://{pkg.true_upstream}"))
        out, seen = [], set()
        for label, url in candidates:
            if url and (label, url) not in seen:
                seen.add((label, url))
                out.append({"label": label, "url": str(url)})
        return out

    def version(self, system: str, pkg: Package, version: str) -> dict[str, Any]:
        up = self.upstreams.get(pkg.true_upstream or "")
        related = []
        if up is not None and up.host in ("github.com", "gitlab.com", "bitbucket.org"):
            provenance = "GO_ORIGIN" if pkg.ecosystem == "golang" else "UNVERIFIED_METADATA"
            related.append(
                {
                    # the project the metadata names: the old one, when the repository was renamed since
                    "projectKey": {"id": pkg.declared_upstream or up.key},
                    "relationProvenance": provenance,
                    "relationType": "SOURCE_REPO",
                }
            )
        doc: dict[str, Any] = {
            "versionKey": self._key(system, pkg, version),
            "publishedAt": _iso(published(self.world, pkg)[version]),
            "isDefault": version == pkg.versions[-1],
            "isDeprecated": pkg.deprecated,
            "licenses": [pkg.license] if pkg.license else ["non-standard"],
            "advisoryKeys": [],
            "links": self.links(pkg),
            "slsaProvenances": [],
            "attestations": [],
            "registries": [],
            "relatedProjects": related,
        }
        if pkg.deprecated:
            doc["deprecatedReason"] = "This package is no longer maintained."
        return doc

    def project(self, project_id: str, method: str) -> Rendered:
        up = self.upstreams.get(project_id) or self.renamed.get(project_id)
        if up is None or up.host not in ("github.com", "gitlab.com", "bitbucket.org"):
            return _json(404, {"code": 5, "message": "project not found", "details": []})
        if method == "packageversions":
            versions = []
            for (system, _), pkg in sorted(self.packages.items()):
                if pkg.true_upstream == up.key:
                    for v in pkg.versions:
                        versions.append(
                            {
                                "versionKey": self._key(system, pkg, v),
                                "relationType": "SOURCE_REPO",
                                "relationProvenance": "GO_ORIGIN" if system == "go" else "UNVERIFIED_METADATA",
                                "slsaProvenances": [],
                                "attestations": [],
                            }
                        )
            return _json(200, {"versions": versions})
        licence = up.licenses[min(self.world.scan, len(up.licenses) - 1)] if up.licenses else None
        doc: dict[str, Any] = {
            "projectKey": {"id": up.key},
            "openIssuesCount": up.stars // 20,
            "starsCount": up.stars,
            "forksCount": up.stars // 8,
            "license": licence or "non-standard",
            "description": up.description,
            "homepage": "",
        }
        if up.scorecard is not None:
            checks = []
            for n, check in enumerate(("Maintained", "Code-Review", "License", "Security-Policy", "Fuzzing")):
                score = max(-1, min(10, round(up.scorecard + (n - 2))))
                checks.append(
                    {
                        "name": check,
                        "documentation": {
                            "shortDescription": f"{check} check.",
                            "url": f"https://github.com/ossf/scorecard/blob/main/docs/checks.md#{check.lower()}",
                        },
                        "score": score,
                        "reason": f"score {score}",
                        "details": [],
                    }
                )
            doc["scorecard"] = {
                "date": _iso(self.world.now.replace(hour=0, minute=0, second=0) - timedelta(days=3)),
                "repository": {"name": up.key, "commit": up.commits[0].sha if up.commits else ""},
                "scorecard": {"version": "v5.1.1", "commit": _digest("scorecard")[:40]},
                "checks": checks,
                "overallScore": up.scorecard,
                "metadata": [],
            }
        return _json(200, doc)


REGISTRY_SERVICES: tuple[Callable[[World], Any], ...] = (
    PyPIService,
    NpmService,
    CratesService,
    GoProxyService,
    GoVanityService,
    MavenService,
    RubyGemsService,
    NuGetService,
    PackagistService,
    DepsDevService,
)


def registry_services(world: World) -> list[Any]:
    """Every registry service for ``world``, ready to mount."""
    return [make(world) for make in REGISTRY_SERVICES]
