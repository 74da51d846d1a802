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
common shapes (``pkg:npm/left-pad@1.3.0``, ``pkg:maven/org.slf4j/slf4j-api@2.0.9``: known type, plain
characters, no qualifiers) are split by one regular expression instead of packageurl-python: large
documents have tens of thousands of distinct purls, and the library parse costs ~15 µs each against
~1 µs. A property test holds the two paths to the same answers.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from urllib.parse import unquote

from msgspec import Struct
from packageurl import PackageURL, get_quoter
from packageurl.validate import DEFINITIONS_BY_TYPE

# Types whose namespace and name packageurl-python lowercases (see its normalize_namespace/_name).
_LOWER_NAMESPACE = frozenset(
    {"bitbucket", "github", "pypi", "gitlab", "composer", "luarocks", "qpkg", "alpm", "apk", "hex"}
)
_LOWER_NAME = _LOWER_NAMESPACE | {"oci", "alpm", "bitnami", "pub"}
# The fast path's shapes: the common types written with only unreserved characters and no qualifiers
# or subpath, split into (namespace, name, version). A namespace is required (maven, golang, ...),
# absent (pypi, cargo, ...) or, for npm, an optional scope. Anything else takes packageurl-python's path.
_SEGMENT = "[A-Za-z0-9._~-]+"  # what packageurl-python leaves unencoded; never "@", "/", "%", "?" or "#"
# a version may also hold "+" as its canonical escape "%2B" (Debian's "10.3+deb10u2")
_VERSION = r"(?:@((?:[A-Za-z0-9._~-]|%2B)+))?"
_NO_NAMESPACE = re.compile(rf"()({_SEGMENT}){_VERSION}")
_WITH_NAMESPACE = re.compile(rf"((?:{_SEGMENT}/)*{_SEGMENT})/({_SEGMENT}){_VERSION}")
_NPM_SCOPE = re.compile(rf"(?:((?:%40|@){_SEGMENT})/)?({_SEGMENT}){_VERSION}")
_FAST_SHAPES: dict[str, re.Pattern[str]] = {
    "npm": _NPM_SCOPE,
    **dict.fromkeys(("pypi", "cargo", "gem", "nuget"), _NO_NAMESPACE),
    **dict.fromkeys(("maven", "golang", "composer", "deb", "apk", "rpm", "github"), _WITH_NAMESPACE),
}
# Types whose definition says lower case but whose parts packageurl-python does not lowercase: upper case
# there is a spec violation that its validator reports, so such purls take the library path and warn.
_CASELESS_NAMESPACE = frozenset(
    t for t in _FAST_SHAPES if not DEFINITIONS_BY_TYPE[t].namespace_case_sensitive and t not in _LOWER_NAMESPACE
)
_CASELESS_NAME = frozenset(
    t for t in _FAST_SHAPES if not DEFINITIONS_BY_TYPE[t].name_case_sensitive and t not in _LOWER_NAME
) - {"npm"}  # npm names keep their case here on purpose (see above)
_PEP503 = re.compile(r"[-_.]+")
_QUALIFIER = re.compile(r"([a-z][a-z0-9._-]*)=([A-Za-z0-9._~-]*)")
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


class PurlInfo(Struct, frozen=True, gc=False):
    """A purl taken apart. ``valid`` is false when it could not be parsed at all (kept as given).

    A frozen msgspec struct: it is built once per distinct purl, 50,000 times for a large document,
    and costs a tenth of a frozen dataclass to build.
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
    exact: bool = False  # valid, no problem, and an exact version: nothing to warn about


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


def _canonical_qualifiers(text: str) -> str | None:
    """``?k=v&...`` in canonical form (keys sorted, empty values dropped) for plain qualifiers; ``None``
    for anything packageurl-python would have to decode or fold (``%``, upper-case keys, repeats, ``#``)."""
    pairs: dict[str, str] = {}
    for part in text.split("&"):
        match = _QUALIFIER.fullmatch(part)
        if match is None or match.group(1) in pairs:
            return None
        if match.group(2):
            pairs[match.group(1)] = match.group(2)
    return "?" + "&".join(f"{k}={pairs[k]}" for k in sorted(pairs)) if pairs else ""


def _fast(raw: str) -> PurlInfo | None:
    """The common shapes, split by one regular expression instead of packageurl-python; ``None`` otherwise.

    Plain qualifiers (``?type=jar``, ``?arch=amd64&distro=ubuntu-22.04``: lower-case keys, unreserved
    values) are put in canonical order here too: every Maven purl of the CycloneDX Maven plugin has one.
    """
    slash = raw.find("/", 4)
    shape = _FAST_SHAPES.get(raw[4:slash]) if slash > 4 and raw.startswith("pkg:") else None
    if shape is None:
        return None
    question = raw.find("?", slash)
    if question < 0:
        match, suffix = shape.fullmatch(raw, slash + 1), ""
    else:
        qualifiers = _canonical_qualifiers(raw[question + 1 :])
        if qualifiers is None:
            return None
        match, suffix = shape.fullmatch(raw, slash + 1, question), qualifiers
    if match is None:
        return None
    ptype = raw[4:slash]
    if suffix:
        plain = _fast_plain(ptype, match)
        if plain is None:
            return None
        return PurlInfo(
            plain.purl + suffix,
            plain.key + suffix,
            plain.package_key,
            plain.ecosystem,
            plain.namespace,
            plain.name,
            plain.version,
            True,
            plain.problem,
            plain.exact,
        )
    return _fast_plain(ptype, match)


def _fast_plain(ptype: str, match: re.Match[str]) -> PurlInfo | None:
    """A matched purl of type ``ptype``, without qualifiers, taken apart."""
    namespace, name, written = match.groups()
    version = written.replace("%2B", "+") if written else written  # the purl keeps the escape, the version not
    exact = version is not None and version_warning(version) is None
    problem = None
    upper_name = ptype in _CASELESS_NAME and name != name.lower()
    upper_namespace = bool(namespace) and ptype in _CASELESS_NAMESPACE and namespace != namespace.lower()
    if upper_name or upper_namespace:
        if ptype == "npm":
            return None  # npm keeps its names' case here on purpose: the library path decides
        # Kept as written, with the spec violation packageurl-python's validator reports, in its words
        # (golang's github.com/BurntSushi: a fifth of a Go document's purls). The property test holds this.
        found = [f"Namespace is not lowercased for purl type: {ptype!r}"] if upper_namespace else []
        found += [f"Name is not lowercased for purl type: {ptype!r}"] if upper_name else []
        problem, exact = "; ".join(found), False
    if ptype in _LOWER_NAME:
        name = name.lower()
        if namespace and ptype in _LOWER_NAMESPACE:
            namespace = namespace.lower()
    if ptype == "pypi":
        name = name.replace("_", "-")
        canonical = f"pkg:pypi/{name}@{written}" if version else f"pkg:pypi/{name}"
        key = _key(canonical, ptype, name)
        return PurlInfo(
            canonical, key, _package_key(ptype, None, name), ptype, None, name, version, True, problem, exact
        )
    if not namespace:
        canonical = f"pkg:{ptype}/{name}@{written}" if version else f"pkg:{ptype}/{name}"
        return PurlInfo(canonical, canonical, f"{ptype}/{name}", ptype, None, name, version, True, problem, exact)
    if namespace[0] == "@":  # an unencoded npm scope: the canonical form encodes it
        shown = "%40" + namespace[1:]
    elif namespace[0] == "%":  # "%40scope" is the scope "@scope"
        shown, namespace = namespace, "@" + namespace[3:]
    else:
        shown = namespace
    canonical = f"pkg:{ptype}/{shown}/{name}@{written}" if version else f"pkg:{ptype}/{shown}/{name}"
    return PurlInfo(
        canonical, canonical, f"{ptype}/{namespace}/{name}", ptype, namespace, name, version, True, problem, exact
    )


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
    if "@" in parsed.name and parsed.type != "npm":  # "spinner%40v1.19.0": a version encoded into the name
        problems.append(f"the name {parsed.name!r} holds an '@' (a version encoded into the name?)")
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
        exact=not problems and version_warning(parsed.version) is None,
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


def best_purl(candidates: Iterable[str]) -> str | None:
    """The purl to keep of several a package carries: the first that breaks nothing and names an exact
    version, else the first that breaks nothing, else the first that parses, else the first given.

    Real documents list a malformed purl (``pkg:golang/github.com/o/spinner%40v1.19.0``) before a correct one.
    """
    given = [c for c in candidates if c and c.strip()]
    if len(given) <= 1:
        return given[0] if given else None

    def rank(raw: str) -> int:
        info = normalise_purl(raw)
        return 0 if info.exact else 1 if info.valid and info.problem is None else 2 if info.valid else 3

    return min(given, key=rank)  # min keeps the earliest of equal rank
