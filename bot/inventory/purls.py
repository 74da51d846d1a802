"""Package URLs: one canonical form per package, keys for the store, and leniency for real documents.

Real SBOMs break the purl spec in known ways (GitHub's ``pkg:github/example@main`` has no namespace,
exports carry version ranges such as ``7.*.*`` or no version at all). Such purls are kept as given
and produce a warning; nothing here raises for bad input.

Normalisation is packageurl-python's, with two deliberate differences:

* npm names keep their case. packageurl-python 0.17 lowercases them, but the purl spec says npm names
  are case-sensitive and legacy mixed-case packages (``JSONStream``) exist next to lower-case ones.
* PyPI names in keys use the PEP 503 form (runs of ``-_.`` become ``-``), so ``boolean.py`` and
  ``boolean-py`` are one package; the ``purl`` itself keeps the spec form (``.`` kept).

A purl string is normalised once while it stays among the last ``PURL_MEMO_SIZE`` distinct ones
(:func:`normalise_purl` is cached; an entry is about 600 bytes, so the memo stays near 20 MB however
many distinct purls a large organisation's SBOMs hold, and sync's memory stays flat), by the
cheapest of three paths that applies. A purl already in canonical form (nearly every purl of a real
document: ``pkg:golang/golang.org/x/text@v0.14.0``, ``pkg:maven/org.acme/lib@1.0?type=jar``) is only
taken apart: one regular expression (:data:`_CANONICAL`), built from the same per-type rules, and no
rule looked up (~0.5 µs). The other common shapes (upper case where a type lowercases, an unencoded npm
scope, qualifiers out of order) are split by one regular expression and the rules (:func:`_fast`,
~2 µs); anything else takes packageurl-python (~15 µs). Property tests hold the three to the same
answers, including on non-canonical input.
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
# The fast path: the common types written with only unreserved characters, split by one regular
# expression without backtracking. Everything else (other types, percent escapes other than the few
# below, "." segments in a subpath, repeated or upper-case qualifier keys) takes packageurl-python's path.
_U = "A-Za-z0-9._~-"  # what packageurl-python leaves unencoded: never "@", "/", "%", "?" or "#"
# a qualifier value may hold "/" and ":" (canonical) or their escapes, and "+" as its canonical escape ("git%2Bhttps")
_QUALIFIER_PAIR = rf"[a-z][a-z0-9._-]*=[/:{_U}]*(?:%(?:2F|3A|2B)[/:{_U}]*)*"
# Each repetition unrolled ("x*(?:%2B x*)*", not "(?:x|%2B)*"): an alternative tried per character costs
# three times as much, and nothing can backtrack.
_PURL = re.compile(
    rf"pkg:([a-z]+)/"
    rf"((?:%40|@)?[{_U}]+(?:/[{_U}]+)*)"  # namespace segments and name; an npm scope may start with "@" or "%40"
    rf"(?:@((?:[:+{_U}]|%2B)[:+{_U}]*(?:%2B[:+{_U}]*)*))?"  # version: "+" is "%2B" in the canonical form
    rf"(?:\?({_QUALIFIER_PAIR}(?:&{_QUALIFIER_PAIR})*))?"
    rf"(?:#([{_U}]+(?:/[{_U}]+)*))?"  # subpath
)
_NO_NAMESPACE_TYPES = frozenset({"pypi", "cargo", "gem", "nuget", "oci"})
_NAMESPACE_TYPES = frozenset({"maven", "golang", "composer", "deb", "apk", "rpm", "github"})
_FAST_TYPES = _NO_NAMESPACE_TYPES | _NAMESPACE_TYPES | {"npm"}
# Types whose definition says lower case but whose parts packageurl-python does not lowercase: upper case
# there is a spec violation that its validator reports, so such purls are kept as written, with a warning.
_CASELESS_NAMESPACE = frozenset(
    t for t in _FAST_TYPES if not DEFINITIONS_BY_TYPE[t].namespace_case_sensitive and t not in _LOWER_NAMESPACE
)
_CASELESS_NAME = frozenset(
    t for t in _FAST_TYPES if not DEFINITIONS_BY_TYPE[t].name_case_sensitive and t not in _LOWER_NAME
) - {"npm"}  # npm names keep their case here on purpose (see above)
_NAMESPACE_REQUIRED = frozenset(t for t in _FAST_TYPES if DEFINITIONS_BY_TYPE[t].namespace_requirement == "required")
# per type, in one lookup: (namespace prohibited, namespace required, upper-case namespace is a violation,
# upper-case name is a violation, namespace lowercased, name lowercased)
_RULES: dict[str, tuple[bool, bool, bool, bool, bool, bool]] = {
    t: (
        t in _NO_NAMESPACE_TYPES,
        t in _NAMESPACE_REQUIRED,
        t in _CASELESS_NAMESPACE,
        t in _CASELESS_NAME,
        t in _LOWER_NAMESPACE,
        t in _LOWER_NAME,
    )
    for t in _FAST_TYPES
}


def _canonical_alternatives(*, cased: bool = False) -> str:
    """One alternative per rule set of :data:`_RULES`: the ``type/namespace/name`` a canonical purl of that type
    has (lower case wherever the type's rules lowercase it or call upper case a violation). A namespace the
    spec requires may be missing: the purl is kept with the violation named, as the rule-by-rule path does.

    ``cased``: only the types where upper case is a violation kept as written, with any case there.
    """
    # possessive ("++", "*+"): no class here holds "/", "@" or "?", so giving characters back never helps a
    # match, and not trying it saves a tenth to a fifth of the match (a segment is otherwise re-scanned)
    lower, any_case = "[a-z0-9._~-]++", f"[{_U}]++"
    shapes: dict[str, list[str]] = {}
    for ptype, (prohibited, required, caseless_ns, caseless_name, lower_ns, lower_name) in sorted(_RULES.items()):
        if ptype in ("npm", "pypi", "oci"):
            continue  # npm's scope and PyPI's name have rules of their own (below), OCI's digest the full path
        violation_ns, violation_name = caseless_ns and not lower_ns and not prohibited, caseless_name and not lower_name
        if cased and not (violation_ns or violation_name):
            continue
        name = lower if (caseless_name and not cased) or lower_name else any_case
        segment = lower if (caseless_ns and not cased) or lower_ns else any_case
        assert prohibited or required, ptype  # npm is the only type whose namespace is optional
        shapes.setdefault(name if prohibited else f"(?:{segment}/)*+{name}", []).append(ptype)
    alternatives = [f"(?:{'|'.join(types)})/{shape}" for shape, types in shapes.items()]
    if not cased:
        # PyPI: lower case, no "_", and no "." or "--" (their key takes the PEP 503 form, unlike the purl)
        alternatives.append("pypi/[a-z0-9~]++(?:-[a-z0-9~]++)*+")
        # a scope in lower case, encoded ("%40") or not (trivy writes "@"; the canonical form encodes it)
        alternatives.append(f"npm/(?:(?:%40|@){lower}/)?{any_case}")
    return "|".join(alternatives)


# Purls already in canonical form: the common case by far (nearly every purl of most documents). Such a purl
# is its own canonical form and key, so it is only taken apart (:func:`normalise_purl`), with no rule looked up.
# A version holds none of "~", "x", "X" (what could make it a range), "+" or "%"; qualifiers are plain
# ("%2B", "%2F" and "%3A" their escapes, never first; keys in any order, each once: the two latter and the
# order are put right by :func:`_with_canonical_qualifiers`); a subpath, and everything else, takes :func:`_fast`.
_CANONICAL_QUALIFIER = rf"[a-z][a-z0-9._-]*+=[/:{_U}]++(?:%(?:2B|2F|3A)[/:{_U}]*+)*+"
_CANONICAL_REST = rf"(?:@([A-WYZa-wyz0-9._:-]++))?(?:\?({_CANONICAL_QUALIFIER}(?:&{_CANONICAL_QUALIFIER})*))?"
_CANONICAL = re.compile(rf"pkg:({_canonical_alternatives()}){_CANONICAL_REST}")
# The same with upper case where the spec calls it a violation that is kept as written (Go's
# github.com/BurntSushi: a tenth of a Go document's purls); :func:`_cased` names the violation.
_CANONICAL_CASED = re.compile(rf"pkg:({_canonical_alternatives(cased=True)}){_CANONICAL_REST}")
_NAMESPACE_MISSING = {t: f"Namespace is required for purl type: {t!r}" for t in _NAMESPACE_REQUIRED}

_PEP503 = re.compile(r"[-_.]+")
# every character :data:`_RANGE` (or a blank version) needs: a version with none of them is exact
_RANGE_OR_BLANK = re.compile(r"[*<>=|,~^xX\s]")
_RANGE = re.compile(r"[*<>=|, ]|^[~^]|(?:^|\.)[xX](?:\.|$)")  # "~" inside is fine: Debian "9.2~deb10u1"
_quote = get_quoter(True)
_VALIDATION_NOISE = "Unexpected purl type"  # packageurl-python flags every type it has no definition for


def pep503(name: str) -> str:
    """PEP 503 normal form of a Python distribution name."""
    return _PEP503.sub("-", name).lower()


NO_VERSION = "has no version"


def version_warning(version: str | None) -> str | None:
    """Say why a version is not an exact version (missing, or a range); ``None`` when it is fine.

    A missing version, the common case of an unversioned component, is answered without the memo, and so is a
    version holding no character a range or a blank one could hold (one character-class search, ~70 ns,
    against ~490 ns for a memo miss): most are such, and a miss costs a small document more than the answer.
    """
    if version is None:
        return NO_VERSION
    if version and _RANGE_OR_BLANK.search(version) is None:
        return None
    return _written_version_warning(version)


@lru_cache(maxsize=65_536)
def _written_version_warning(version: str) -> str | None:
    """:func:`version_warning` of a version that is written (memoised: a document repeats its versions)."""
    if not version.strip():
        return NO_VERSION
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
    """``?k=v&...`` in canonical form (keys sorted, empty values dropped, ``%2F`` as ``/``, ``%3A`` as ``:``)
    for qualifiers :data:`_PURL` matched; ``None`` for a repeated key (the library path keeps the last)."""
    if "%" in text:
        text = text.replace("%2F", "/").replace("%3A", ":")
    if "&" not in text:  # one qualifier (Maven's "type=jar"): nothing to sort
        return "" if text[-1] == "=" else "?" + text
    parts = text.split("&")
    if len(parts) == 2:  # two (trivy's "arch=amd64&distro=debian-10.2"): one comparison of their keys
        first, second = parts
        first_key, second_key = first[: first.find("=")], second[: second.find("=")]
        if first_key == second_key:
            return None
        if second_key < first_key:
            first, second = second, first
        if first[-1] == "=":  # an empty value is dropped (written out: this runs for every such purl)
            return "" if second[-1] == "=" else "?" + second
        return "?" + first if second[-1] == "=" else f"?{first}&{second}"
    pairs = sorted(part.partition("=") for part in parts)
    keys = [key for key, _, _ in pairs]
    if len(set(keys)) < len(keys):
        return None
    kept = [f"{key}={value}" for key, _, value in pairs if value]
    return "?" + "&".join(kept) if kept else ""


def _with_canonical_qualifiers(text: str, qualifiers: str) -> str | None:
    """``text``, whose qualifiers (matched by :data:`_CANONICAL_QUALIFIER`) end it, with them in canonical form:
    keys sorted, ``%2F`` and ``%3A`` written out (trivy's ``?epoch=1&distro=…``, syft's ``file_path=app%2F…``);
    ``None`` for a repeated key (the library path keeps the last)."""
    if "&" not in qualifiers and "%" not in qualifiers:
        return text  # one plain qualifier: already canonical
    canonical = _canonical_qualifiers(qualifiers)
    if canonical is None:
        return None
    written = len(qualifiers) + 1  # with its "?"
    return text if canonical == text[-written:] else text[:-written] + canonical


def _cased(text: str) -> PurlInfo | None:
    """A purl canonical but for upper case where its type's rules call that a violation (:data:`_CANONICAL_CASED`):
    kept as written, the violation named; ``None`` for any other."""
    match = _CANONICAL_CASED.fullmatch(text)
    if match is None:
        return None
    path, version, qualifiers = match.groups()
    if qualifiers is not None:
        canonical = _with_canonical_qualifiers(text, qualifiers)
        if canonical is None:
            return None
        text = canonical
    ptype, _, rest = path.partition("/")
    namespace, _, name = rest.rpartition("/")
    problem = _spec_problems(ptype, namespace or None, name, required=ptype in _NAMESPACE_REQUIRED) or None
    exact = problem is None and version is not None
    return PurlInfo(text, text, path, ptype, namespace or None, name, version, True, problem, exact)


def _fast(raw: str) -> PurlInfo | None:
    """The common shapes, split by one regular expression instead of packageurl-python; ``None`` otherwise.

    Plain qualifiers (``?type=jar``, ``?arch=amd64&distro=ubuntu-22.04``: lower-case keys, unreserved
    values) are put in canonical order here too: every Maven purl of the CycloneDX Maven plugin has one.
    This runs once per distinct purl of every document, so it is written for speed: one match, one rule
    lookup, and no call on the common path but the struct's.
    """
    match = _PURL.fullmatch(raw)
    if match is None:
        return None
    ptype, path, written, qualifiers, subpath = match.groups()
    rules = _RULES.get(ptype)
    if rules is None:
        return None
    prohibited, required, caseless_namespace, caseless_name, lower_namespace, lower_name = rules
    slash = path.rfind("/")
    if slash < 0:
        namespace, name = None, path
        if path[0] == "@" or path[0] == "%":
            return None  # an npm scope without a name
    else:
        namespace, name = path[:slash], path[slash + 1 :]
        if namespace[0] == "@" or namespace[0] == "%":
            if ptype != "npm" or "/" in namespace:
                return None  # a scope outside npm, or a scope with more namespace
        elif prohibited or ptype == "npm":
            return None  # a namespace where the spec prohibits one, or an npm namespace that is no scope
    suffix = ""
    if qualifiers is not None:
        canonical_qualifiers = _canonical_qualifiers(qualifiers)
        if canonical_qualifiers is None:
            return None
        suffix = canonical_qualifiers
    if subpath is not None:
        if "." in subpath and any(part in (".", "..") for part in subpath.split("/")):
            return None
        suffix += "#" + subpath
    version = None
    exact = False
    if written is not None:
        if ptype == "oci":
            if "%" in written or "+" in written:
                return None
            written = written.lower()  # packageurl-python lowercases OCI digests
        elif "+" in written:
            written = written.replace("+", "%2B")  # the canonical escape; the version itself holds "+"
        version = written.replace("%2B", "+") if "%" in written else written
        # of a range's characters only "~", "x" and "X" can pass the match: without them it is exact
        maybe_range = "~" in version or "x" in version or "X" in version
        exact = not maybe_range or _written_version_warning(version) is None
    problem = None
    if (namespace is None and required) or (
        (caseless_name and name != name.lower())
        or (namespace is not None and caseless_namespace and namespace != namespace.lower())
    ):
        if ptype == "npm":
            return None  # npm keeps its names' case here on purpose: the library path decides
        problem, exact = _spec_problems(ptype, namespace, name, required=required), False
    if lower_name:
        name = name.lower()
        if namespace is not None and lower_namespace:
            namespace = namespace.lower()
    at = "@" + written if written else ""
    if namespace is None:
        if ptype == "pypi":
            name = name.replace("_", "-")  # lower case already; PEP 503 differs only with "." or "--"
            canonical = f"pkg:pypi/{name}{at}{suffix}"
            plain = "." not in name and "--" not in name
            return PurlInfo(
                canonical,
                canonical if plain else _key(canonical, ptype, name),
                "pypi/" + (name if plain else pep503(name)),
                ptype,
                None,
                name,
                version,
                True,
                problem,
                exact,
            )
        canonical = f"pkg:{ptype}/{name}{at}{suffix}"
        return PurlInfo(canonical, canonical, f"{ptype}/{name}", ptype, None, name, version, True, problem, exact)
    if namespace[0] == "@":  # an unencoded npm scope: the canonical form encodes it
        shown = "%40" + namespace[1:]
    elif namespace[0] == "%":  # "%40scope" is the scope "@scope"
        shown, namespace = namespace, "@" + namespace[3:]
    else:
        shown = namespace
    canonical = f"pkg:{ptype}/{shown}/{name}{at}{suffix}"
    return PurlInfo(
        canonical, canonical, f"{ptype}/{namespace}/{name}", ptype, namespace, name, version, True, problem, exact
    )


def _spec_problems(ptype: str, namespace: str | None, name: str, *, required: bool) -> str:
    """The spec violations packageurl-python's validator reports for a fast-path purl, in its words and order.

    Such purls are kept as written, with a warning (golang's github.com/BurntSushi: a fifth of a Go
    document's purls; trivy's ``pkg:golang/stdlib``). The property test holds the two paths together.
    """
    found = [f"Namespace is required for purl type: {ptype!r}"] if namespace is None and required else []
    if namespace is not None and ptype in _CASELESS_NAMESPACE and namespace != namespace.lower():
        found.append(f"Namespace is not lowercased for purl type: {ptype!r}")
    if ptype in _CASELESS_NAME and name != name.lower():
        found.append(f"Name is not lowercased for purl type: {ptype!r}")
    return "; ".join(found)


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


PURL_MEMO_SIZE = 32_768


@lru_cache(maxsize=PURL_MEMO_SIZE)
def normalise_purl(raw: str) -> PurlInfo:
    """Normalise one purl string; never raises. Cached: call it freely per component."""
    text = raw.strip()
    # A purl already in canonical form (:data:`_CANONICAL`), the common case, is taken apart here: one match,
    # two partitions, the struct (inlined: this runs for nearly every distinct purl of every document).
    match = _CANONICAL.fullmatch(text)
    if match is None:
        return _cased(text) or _fast(text) or _slow(text)
    path, version, qualifiers = match.groups()
    if qualifiers is not None:
        canonical = _with_canonical_qualifiers(text, qualifiers)
        if canonical is None:
            return _fast(text) or _slow(text)  # a key repeated: the rules decline it too
        text = canonical
    ptype, _, rest = path.partition("/")
    namespace, _, name = rest.rpartition("/")
    if not namespace:
        problem = _NAMESPACE_MISSING.get(ptype)
        exact = problem is None and version is not None
        return PurlInfo(text, text, path, ptype, None, name, version, True, problem, exact)
    if ptype == "npm":  # "%40scope" is the scope "@scope"; a scope written "@scope" is encoded
        if namespace[0] == "@":
            text = "pkg:npm/%40" + text[9:]
            return PurlInfo(text, text, path, ptype, namespace, name, version, True, None, version is not None)
        path, namespace = "npm/@" + path[7:], "@" + namespace[3:]
    return PurlInfo(text, text, path, ptype, namespace, name, version, True, None, version is not None)


def nopurl_key(ecosystem: str | None, group: str | None, name: str, version: str | None) -> str:
    """Identity of a component without a purl, for name-based resolution later."""
    group_part = f"{group.strip()}/" if group and group.strip() else ""
    version_part = f"@{version.strip()}" if version and version.strip() else ""
    return f"nopurl:{ecosystem or 'unknown'}/{group_part}{name.strip()}{version_part}"


def nopurl_package_key(ecosystem: str | None, group: str | None, name: str) -> str:
    return nopurl_key(ecosystem, group, name, None)


def nopurl_keys(ecosystem: str | None, group: str | None, name: str, version: str | None) -> tuple[str, str]:
    """:func:`nopurl_key` and :func:`nopurl_package_key` at once (one per purl-less component)."""
    group = group.strip() if group else group
    package = (
        f"nopurl:{ecosystem or 'unknown'}/{group}/{name.strip()}"
        if group
        else f"nopurl:{ecosystem or 'unknown'}/{name.strip()}"
    )
    version = version.strip() if version else version
    return (f"{package}@{version}" if version else package), package


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
