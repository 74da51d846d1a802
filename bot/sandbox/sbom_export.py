"""GitHub's dependency-graph SBOM export for a sandbox repository, and the host that serves it.

``build_sbom`` renders an internal repository's dependencies as the SPDX 2.3 JSON document that
github.com exports today (creators ``Tool: protobom-devel`` and ``Tool: GitHub.com-Dependency-Graph``,
``documentNamespace`` ``https://spdx.org/spdxdocs/protobom/<uuid>``, root package
``pkg:github/{org}/{repo}@main``, ``SPDXRef-DOCUMENT DESCRIBES SPDXRef-Repository``, purls encoded by
packageurl-python so ``%40scope`` and ranges such as ``7.%2A.%2A`` look as GitHub writes them, a
``versionInfo`` range or none at all when the manifest had no exact version).

Direct/transitive and runtime/development, where GitHub's export can express them:

* the repository ``DEPENDS_ON`` each direct runtime package;
* each direct development package is ``DEV_DEPENDENCY_OF`` the repository (instead of a
  ``DEPENDS_ON`` from the root, so a consumer never sees both for one package);
* each transitive package hangs under one direct package (``direct DEPENDS_ON transitive``):
  the one its ``Dependency.via`` names when that package is direct and of the same scope,
  otherwise one picked deterministically by hashing the pair among the direct packages of the
  same scope (any direct package when that scope has none, the repository itself when there
  are none).

So a package is direct when it is linked to ``SPDXRef-Repository``, and development-only when
every path from the root reaches it through a ``DEV_DEPENDENCY_OF`` edge.

Everything is deterministic: the document and report uuids derive from the world seed and the
repository name. ``SbomDownloadService`` plays the temporary download host that
``fetch-report`` redirects to: it serves the raw document (no ``{"sbom": ...}`` wrapper) and
refuses any request carrying an ``Authorization`` header, as a storage host that signs its
URLs does, so a client that forwards its GitHub token to another host fails loudly.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from functools import lru_cache
from typing import Any

import httpx
from packageurl import PackageURL

from bot.sandbox.interface import ServiceContext
from bot.sandbox.model import Dependency, InternalRepo, Package, World

RANGE_COMMENT = (
    "Exact versions could not be resolved for some packages. For more information: "
    "https://docs.github.com/en/code-security/supply-chain-security/understanding-your-software-supply-chain/"
)
ROOT_ID = "SPDXRef-Repository"
_UNSAFE = re.compile(r"[^A-Za-z0-9.\-]+")


def _uuid(*parts: object) -> str:
    digest = hashlib.sha256(":".join(str(p) for p in parts).encode()).digest()
    return str(uuid.UUID(bytes=digest[:16], version=4))


def document_uuid(world: World, repo: InternalRepo) -> str:
    """The uuid in the document's namespace (stable per seed and repository)."""
    return _uuid(world.seed, "spdx-document", repo.full_name)


def report_uuid(world: World, repo: InternalRepo) -> str:
    """The ``sbom_uuid`` that ``generate-report`` hands out for ``repo`` (stable per seed and repository)."""
    return _uuid(world.seed, "sbom-report", repo.full_name)


def _package_name(pkg: Package) -> str:
    if pkg.ecosystem == "maven" and pkg.namespace:
        return f"{pkg.namespace}:{pkg.name}"
    if pkg.ecosystem == "npm" and pkg.namespace:
        return f"{pkg.namespace}/{pkg.name}"
    if pkg.namespace:
        return f"{pkg.namespace}/{pkg.name}"
    return pkg.name


def _split_key(key: str) -> tuple[str, str | None, str]:
    """``eco/ns.../name`` -> (ecosystem, namespace, name) for a package missing from the world's list."""
    eco, _, rest = key.partition("/")
    namespace, _, name = rest.rpartition("/")
    return eco, namespace or None, name


@lru_cache(maxsize=1 << 16)
def _spdx_id(pkg_key: str, version: str) -> str:
    readable = _UNSAFE.sub("-", f"{pkg_key}-{version}".replace("/", "-")).strip("-")
    suffix = hashlib.sha256(f"{pkg_key}@{version}".encode()).hexdigest()[:8]
    return f"SPDXRef-{readable}-{suffix}"


def _package_entry(dep: Dependency, pkg: Package | None) -> dict[str, Any]:
    if pkg is not None:
        eco, namespace, name = pkg.ecosystem, pkg.namespace, pkg.name
        display = _package_name(pkg)
        licence = pkg.license or "NOASSERTION"
    else:
        eco, namespace, name = _split_key(dep.package)
        display = f"{namespace}/{name}" if namespace else name
        licence = "NOASSERTION"
    purl = _purl(eco, namespace, name, dep.version or None)
    entry: dict[str, Any] = {
        "name": display,
        "SPDXID": _spdx_id(dep.package, dep.version),
    }
    if dep.version:
        entry["versionInfo"] = dep.version
    entry.update(
        {
            "downloadLocation": "NOASSERTION",
            "filesAnalyzed": False,
            "licenseConcluded": licence,
            "licenseDeclared": licence,
            "supplier": "NOASSERTION",
            "copyrightText": "NOASSERTION",
            "externalRefs": [
                {"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl", "referenceLocator": purl}
            ],
        }
    )
    return entry


@lru_cache(maxsize=1 << 16)
def _purl(eco: str, namespace: str | None, name: str, version: str | None) -> str:
    """packageurl-python's rendering (the slow part of a document; packages repeat across repositories)."""
    return str(PackageURL(type=eco, namespace=namespace, name=name, version=version).to_string())


def _is_range(version: str) -> bool:
    return not version or any(ch in version for ch in "*^~<>= |")


def _parent(child: str, candidates: list[str]) -> str:
    return min(candidates, key=lambda c: hashlib.sha256(f"{child}|{c}".encode()).hexdigest())


def build_sbom(world: World, repo: InternalRepo, packages: dict[str, Package] | None = None) -> dict[str, Any]:
    """The SPDX 2.3 document (unwrapped) GitHub would export for ``repo``'s dependency graph."""
    index = packages if packages is not None else {p.package_key: p for p in world.packages}
    seen: dict[str, Dependency] = {}
    for dep in repo.dependencies:  # one SPDX package per (package, version), first occurrence wins
        seen.setdefault(_spdx_id(dep.package, dep.version), dep)
    entries = [_package_entry(dep, index.get(dep.package)) for dep in seen.values()]
    root = {
        "name": repo.full_name,
        "SPDXID": ROOT_ID,
        "versionInfo": "main",
        "downloadLocation": "NOASSERTION",
        "filesAnalyzed": False,
        "licenseConcluded": "NOASSERTION",
        "licenseDeclared": "NOASSERTION",
        "supplier": "NOASSERTION",
        "copyrightText": "NOASSERTION",
        "externalRefs": [
            {
                "referenceCategory": "PACKAGE-MANAGER",
                "referenceType": "purl",
                "referenceLocator": f"pkg:github/{repo.org}/{repo.name}@main",
            }
        ],
    }
    relationships: list[dict[str, str]] = [
        {"relationshipType": "DESCRIBES", "spdxElementId": "SPDXRef-DOCUMENT", "relatedSpdxElement": ROOT_ID}
    ]
    direct = {
        scope: [i for i, d in seen.items() if d.direct and d.scope == scope] for scope in ("runtime", "development")
    }
    all_direct = direct["runtime"] + direct["development"]
    for spdx_id, dep in seen.items():
        if dep.direct and dep.scope == "runtime":
            relationships.append(
                {"relationshipType": "DEPENDS_ON", "spdxElementId": ROOT_ID, "relatedSpdxElement": spdx_id}
            )
        elif dep.direct:
            relationships.append(
                {"relationshipType": "DEV_DEPENDENCY_OF", "spdxElementId": spdx_id, "relatedSpdxElement": ROOT_ID}
            )
        else:
            # The world's ``via`` wins when it keeps the scope readable (a development parent would make a
            # runtime dependency look development-only); otherwise a same-scope direct parent is picked.
            via = [i for i in direct[dep.scope] if seen[i].package == dep.via] if dep.via else []
            candidates = via or direct[dep.scope] or all_direct
            parent = _parent(spdx_id, candidates) if candidates else ROOT_ID
            relationships.append(
                {"relationshipType": "DEPENDS_ON", "spdxElementId": parent, "relatedSpdxElement": spdx_id}
            )
    document: dict[str, Any] = {
        "SPDXID": "SPDXRef-DOCUMENT",
        "spdxVersion": "SPDX-2.3",
        "creationInfo": {
            "created": world.now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "creators": ["Tool: protobom-devel", "Tool: GitHub.com-Dependency-Graph"],
        },
        "name": repo.full_name,
        "dataLicense": "CC0-1.0",
        "documentNamespace": f"https://spdx.org/spdxdocs/protobom/{document_uuid(world, repo)}",
        "packages": [root, *entries],
        "relationships": relationships,
    }
    if any(_is_range(d.version) for d in seen.values()):
        document["comment"] = RANGE_COMMENT
    return document


class SbomDownloadService:
    """The temporary download host behind ``fetch-report``'s redirect (mounted on ``alt_base_url``)."""

    prefix = "/sbom-downloads"

    def __init__(self, world: World) -> None:
        self.world = world
        self._by_uuid = {report_uuid(world, r): r for r in world.internal_repos}
        self._packages = {p.package_key: p for p in world.packages}

    def handle(self, request: httpx.Request, path: str, context: ServiceContext) -> httpx.Response:
        if request.method != "GET":
            return httpx.Response(405, text="Method Not Allowed")
        if "authorization" in request.headers:
            # What S3-style signed URLs answer when a bearer token rides along.
            return httpx.Response(
                400,
                headers={"Content-Type": "application/xml"},
                text=(
                    '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>InvalidArgument</Code>'
                    "<Message>Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, "
                    "Signature query string parameter or the Authorization header should be specified</Message>"
                    "<ArgumentName>Authorization</ArgumentName></Error>"
                ),
            )
        repo = self._by_uuid.get(path.strip("/"))
        if repo is None:
            return httpx.Response(
                404,
                headers={"Content-Type": "application/xml"},
                text='<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>NoSuchKey</Code></Error>',
            )
        return httpx.Response(200, json=build_sbom(self.world, repo, self._packages))
