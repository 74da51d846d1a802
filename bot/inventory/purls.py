"""Package URLs: one canonical form per package, keys for the store, and leniency for real documents.

Real SBOMs break the purl spec in known ways (GitHub's ``pkg:github/example@main`` has no namespace,
exports carry version ranges such as ``7.*.*`` or no version at all). Such purls are kept as given
and produce a warning; nothing here raises for bad input.

Normalisation is packageurl-python's, with two deliberate differences:

* npm names keep their case. packageurl-python 0.17 lowercases them, but the purl spec says npm names
  are case-sensitive and legacy mixed-case packages (``JSONStream``) exist next to lower-case ones.
* PyPI names in keys use the PEP 503 form (runs of ``-_.`` become ``-``), so ``boolean.py`` and
  ``boolean-py`` are one package; the ``purl`` itself keeps the spec form (``.`` kept).

Each distinct purl string is normalised once per process (:func:`normalise_purl` is cached), and the
common already-canonical shape (``pkg:npm/left-pad@1.3.0``) skips packageurl-python entirely: large
documents have tens of thousands of distinct purls and the library parse costs ~15 µs each.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import NamedTuple
from urllib.parse import unquote

from packageurl import PackageURL, get_quoter

# Types whose namespace and name packageurl-python lowercases (see its normalize_namespace/_name).
_LOWER_NAMESPACE = frozenset(
    {"bitbucket", "github", "pypi", "gitlab", "composer", "luarocks", "qpkg", "alpm", "apk", "hex"}
)
_LOWER_NAME = _LOWER_NAMESPACE | {"oci", "alpm", "bitnami", "pub"}
# Common types for the fast path, with whether the spec requires a namespace (True), forbids or
# does not use one (False), or allows it (None). Anything else takes the packageurl-python path.
_FAST_TYPES: dict[str, bool | None] = {
    "npm": None,
    "pypi": False,
    "cargo": False,
    "gem": False,
    "nuget": False,
    "maven": True,
    "golang": True,
    "composer": True,
    "deb": True,
    "apk": True,
    "rpm": True,
    "github": True,
}
# Characters that packageurl-python leaves unencoded; "x.strip(SAFE) == ''" is a fast all-chars-in-set test.
_SAFE_VERSION = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._~-"
_SAFE_PATH = _SAFE_VERSION + "/"
_PEP503 = re.compile(r"[-_.]+")
_RANGE = re.compile(r"[*<>=|, ]|^[~^]|(?:^|\.)[xX](?:\.|$)")  # "~" inside is fine: Debian "9.2~deb10u1"
_quote = get_quoter(True)
_VALIDATION_NOISE = "Unexpected purl type"  # packageurl-python flags every type it has no definition for


def pep503(name: str) -> str:
    """PEP 503 normal form of a Python distribution name."""
    return _PEP503.sub("-", name).lower()


@lru_cache(maxsize=65_536)
def version_warning(version: str | None) -> str | None:
    """Say why a version is not an exact version (missing, or a range); ``None`` when it is fine."""
    if version is None or not version.strip():
        return "has no version"
    if _RANGE.search(version):
        return f"version {version!r} is a range, not a version"
    return None


class PurlInfo(NamedTuple):
    """A purl taken apart. ``valid`` is false when it could not be parsed at all (kept as given).

    A NamedTuple rather than a frozen dataclass: it is built once per distinct purl, 50,000 times for
    a large document, and tuples are several times cheaper to build.
    """

    purl: str
    key: str
    package_key: str
    ecosystem: str | None
    namespace: str | None
    name: str
    version: str | None
    valid: bool
    problem: str | None = None  # a spec violation found while parsing, for a warning


def _package_key(ptype: str, namespace: str | None, name: str) -> str:
    if ptype == "pypi":
        name = pep503(name)
    return f"{ptype}/{namespace}/{name}" if namespace else f"{ptype}/{name}"


def _key(canonical: str, ptype: str, name: str) -> str:
    """The store identity: the canonical purl, with the PEP 503 name for PyPI."""
    if ptype != "pypi":
        return canonical
    normal = pep503(name)
    if normal == name:
        return canonical
    prefix = "pkg:pypi/"
    if not canonical.startswith(prefix + name):
        return canonical
    return prefix + normal + canonical[len(prefix) + len(name) :]


def _fast(raw: str) -> PurlInfo | None:
    """The already-canonical common case, without packageurl-python; ``None`` sends it the slow way."""
    if not raw.startswith("pkg:"):
        return None
    ptype, sep, path = raw[4:].partition("/")
    needs_namespace = _FAST_TYPES.get(ptype, "absent")
    if not sep or needs_namespace == "absent":
        return None
    version = None
    at = path.rfind("@")
    if at > 0:  # at 0 is an unencoded npm scope, not a version
        path, version = path[:at], path[at + 1 :]
        if not version or version.strip(_SAFE_VERSION):
            return None
    scoped = path.startswith(("%40", "@"))
    if scoped:
        if ptype != "npm":
            return None
        path = path.removeprefix("%40").removeprefix("@")
    if not path or path.strip(_SAFE_PATH):
        return None
    if scoped:
        path = "@" + path
    if path.startswith("/") or path.endswith("/") or "//" in path:
        return None
    namespace, _, name = path.rpartition("/")
    if scoped and not namespace:
        return None
    if (needs_namespace is True and not namespace) or (needs_namespace is False and namespace):
        return None  # let packageurl-python parse it and report the violation
    if ptype in _LOWER_NAMESPACE:
        namespace = namespace.lower()
    if ptype in _LOWER_NAME:
        name = name.lower()
    if ptype == "pypi":
        name = name.replace("_", "-")
        canonical = f"pkg:pypi/{name}@{version}" if version else f"pkg:pypi/{name}"
        key = _key(canonical, ptype, name)
        package_key = "pypi/" + pep503(name)
    else:
        shown = ("%40" + namespace[1:] if scoped else namespace) + "/" if namespace else ""
        canonical = f"pkg:{ptype}/{shown}{name}@{version}" if version else f"pkg:{ptype}/{shown}{name}"
        key = canonical
        package_key = f"{ptype}/{namespace}/{name}" if namespace else f"{ptype}/{name}"
    return PurlInfo(canonical, key, package_key, ptype, namespace or None, name, version, True)


def _npm_name_with_case(raw: str, parsed: PackageURL) -> str:
    """The npm name as written (packageurl-python lowercases it)."""
    original = PackageURL.from_string(raw, normalize_purl=False).name
    original = unquote(original or "").strip().strip("/")
    return original if original.lower() == parsed.name else parsed.name


def _slow(raw: str) -> PurlInfo:
    try:
        parsed = PackageURL.from_string(raw)
    except ValueError as exc:
        return PurlInfo(
            purl=raw,
            key=raw,
            package_key=raw,
            ecosystem=None,
            namespace=None,
            name=raw,
            version=None,
            valid=False,
            problem=str(exc).rstrip("."),
        )
    problems = [m.message for m in parsed.validate() if not m.message.startswith(_VALIDATION_NOISE)]
    name = parsed.name
    canonical = parsed.to_string()
    if parsed.type == "npm":
        cased = _npm_name_with_case(raw, parsed)
        if cased != name:
            prefix = "pkg:npm/" + (canonical[8:].split("/", 1)[0] + "/" if parsed.namespace else "")
            lowered = _quote(name)
            rest = canonical[len(prefix) :]
            if rest.startswith(lowered):
                canonical = prefix + _quote(cased) + rest[len(lowered) :]
                name = cased
    return PurlInfo(
        purl=canonical,
        key=_key(canonical, parsed.type, name),
        package_key=_package_key(parsed.type, parsed.namespace, name),
        ecosystem=parsed.type,
        namespace=parsed.namespace,
        name=name,
        version=parsed.version,
        valid=True,
        problem="; ".join(problems) or None,
    )


@lru_cache(maxsize=262_144)
def normalise_purl(raw: str) -> PurlInfo:
    """Normalise one purl string; never raises. Cached: call it freely per component."""
    text = raw.strip()
    return _fast(text) or _slow(text)


def nopurl_key(ecosystem: str | None, group: str | None, name: str, version: str | None) -> str:
    """Identity of a component without a purl, for name-based resolution later."""
    group_part = f"{group.strip()}/" if group and group.strip() else ""
    version_part = f"@{version.strip()}" if version and version.strip() else ""
    return f"nopurl:{ecosystem or 'unknown'}/{group_part}{name.strip()}{version_part}"


def nopurl_package_key(ecosystem: str | None, group: str | None, name: str) -> str:
    return nopurl_key(ecosystem, group, name, None)
