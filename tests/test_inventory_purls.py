"""Purl normalisation: leniency for real documents, PEP 503 keys, npm scopes, and a fast path that agrees."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from packageurl import PackageURL

from bot.inventory import purls
from bot.inventory.purls import (
    _fast,
    _slow,
    _written_version_warning,
    nopurl_key,
    nopurl_keys,
    nopurl_package_key,
    normalise_purl,
    pep503,
    version_warning,
)

SBOMS = Path(__file__).parent / "data" / "sboms"


def purls_in_test_documents() -> list[str]:
    found: set[str] = set()
    for path in SBOMS.iterdir():
        text = path.read_text(encoding="utf-8", errors="replace")
        found.update(re.findall(r"pkg:[a-z][a-z0-9.+-]*/[^\s\"'<>\]]+", text))
    return sorted(found)


def test_the_same_pypi_package_spelled_two_ways_is_one_package() -> None:
    # cyclonedx-py writes boolean.py from an environment and boolean-py from a poetry lock
    dotted, dashed = normalise_purl("pkg:pypi/boolean.py@5.0"), normalise_purl("pkg:pypi/boolean-py@5.0")
    assert dotted.package_key == dashed.package_key == "pypi/boolean-py"
    assert dotted.key == dashed.key == "pkg:pypi/boolean-py@5.0"
    assert dotted.purl == "pkg:pypi/boolean.py@5.0"  # the purl keeps the spec form ("." kept)
    assert normalise_purl("pkg:PYPI/Django_package@1.11.1.dev1").purl == "pkg:pypi/django-package@1.11.1.dev1"
    assert pep503("Foo.__Bar--baz") == "foo-bar-baz"


def test_npm_scopes_are_accepted_encoded_or_not() -> None:
    encoded, plain = normalise_purl("pkg:npm/%40babel/core@7.0.0"), normalise_purl("pkg:npm/@babel/core@7.0.0")
    assert encoded == plain
    assert (encoded.purl, encoded.package_key, encoded.namespace) == (
        "pkg:npm/%40babel/core@7.0.0",
        "npm/@babel/core",
        "@babel",
    )


def test_npm_names_keep_their_case() -> None:
    # JSONStream and jsonstream are different npm packages; packageurl-python 0.17 would lowercase the first
    assert normalise_purl("pkg:npm/JSONStream@1.3.5").package_key == "npm/JSONStream"
    assert normalise_purl("pkg:npm/JSONStream@1.3.5?foo=bar").purl == "pkg:npm/JSONStream@1.3.5?foo=bar"


@pytest.mark.parametrize(
    ("raw", "package_key"),
    [
        ("pkg:maven/org.slf4j/slf4j-api@1.7.36", "maven/org.slf4j/slf4j-api"),
        ("pkg:golang/github.com/x/y@v1.0.0#sub/pkg", "golang/github.com/x/y"),
        ("pkg:npm/%40babel/core@7.0.0", "npm/@babel/core"),
        ("pkg:pypi/requests@2.31.0", "pypi/requests"),
        ("pkg://maven/a/b@1", "maven/a/b"),
    ],
)
def test_package_keys_drop_the_version(raw: str, package_key: str) -> None:
    assert normalise_purl(raw).package_key == package_key


def test_spec_breaking_purls_are_kept_with_the_problem_named() -> None:
    info = normalise_purl("pkg:github/example@main")
    assert (info.valid, info.purl, info.package_key) == (True, "pkg:github/example@main", "github/example")
    assert info.problem == "Namespace is required for purl type: 'github'"
    broken = normalise_purl("not-a-purl")
    assert (broken.valid, broken.purl) == (False, "not-a-purl")
    assert broken.problem is not None and "pkg" in broken.problem


def test_version_ranges_and_missing_versions_are_named() -> None:
    ranged = normalise_purl("pkg:githubactions/actions/github-script@7.%2A.%2A")
    assert ranged.version == "7.*.*"
    assert version_warning(ranged.version) == "version '7.*.*' is a range, not a version"
    assert version_warning(normalise_purl("pkg:pypi/sphinx-autobuild").version) == "has no version"
    assert version_warning("^1.2.0") is not None
    assert version_warning("1.0.6-9.2~deb10u1") is None  # Debian's tilde is a version, not a range


def test_purl_less_components_get_readable_keys() -> None:
    assert nopurl_key(None, None, "FatFS", "r0.12c") == "nopurl:unknown/FatFS@r0.12c"
    assert nopurl_key("maven", "org.example", "lib", None) == "nopurl:maven/org.example/lib"


def test_fast_path_agrees_with_packageurl_python_on_every_purl_in_the_test_documents() -> None:
    purls = purls_in_test_documents()
    assert len(purls) > 900
    for raw in purls:
        fast, slow = normalise_purl(raw), _slow(raw)
        assert fast == slow, raw
        if slow.valid and slow.ecosystem != "npm":  # npm: we keep case on purpose
            assert slow.purl == PackageURL.from_string(raw).to_string(), raw


def test_normalisation_is_cached_per_distinct_string() -> None:
    raw = json.dumps("pkg:cargo/serde@1.0.0")[1:-1]
    assert normalise_purl(raw) is normalise_purl(raw)


_TYPES = ["npm", "pypi", "cargo", "gem", "nuget", "oci", "maven", "golang", "composer", "deb", "apk", "rpm", "github"]
_segment = st.text(alphabet="abcXYZ019._~-_", min_size=1, max_size=6)
_key = st.sampled_from(["type", "arch", "distro", "classifier", "epoch", "Type", "a.b", "x-y", "1k", "vcs_url"])
_ODD_ENDINGS = ["", "%2B", "%2b", "@", "%40", "/", "//", "?a=b", "#sub", "%2A", "+", "*", "A", "_", ".", ":"]
_ODD_ENDINGS += ["%2F", "%2f", "#a/b", "#a/./b", "#..", "#/a", "?a=b#c", "?a=x%2Fy:z/w", "?v=git%2Bhttps%3A//h/o.git"]
_ODD_ENDINGS += ["?a=", "?a=b&a=c", "?b=1&a=2", "#a#b"]
_odd = st.sampled_from(_ODD_ENDINGS)


@st.composite
def _purl_like(draw: st.DrawFn) -> str:
    """Purl-shaped strings around the fast path's edges: case, npm scopes, namespaces, odd characters."""
    ptype = draw(st.sampled_from([*_TYPES, "NPM", "hex", "githubactions"]))
    namespace = draw(st.lists(_segment, max_size=3))
    if namespace and draw(st.booleans()):
        namespace[0] = draw(st.sampled_from(["@", "%40"])) + namespace[0]
    path = "/".join([*namespace, draw(_segment)]) + draw(_odd)
    version = draw(st.one_of(st.none(), _segment.map(lambda v: v + draw(_odd))))
    qualifiers = draw(
        st.lists(st.tuples(_key, st.one_of(_segment, st.just(""), _segment.map(lambda v: v + draw(_odd)))), max_size=3)
    )
    query = "&".join(f"{k}={v}" for k, v in qualifiers)
    subpath = draw(st.sampled_from(["", "#sub", "#a/b", "#./a", "#a/..", "#a//b", "#A~b/c-d"]))
    return (
        f"pkg:{ptype}/{path}"
        + (f"@{version}" if version is not None else "")
        + (f"?{query}" if qualifiers else "")
        + subpath
    )


def test_qualified_purls_take_the_fast_path_in_canonical_order() -> None:
    raw = "pkg:maven/org.acme/lib@1.0?type=jar&classifier=sources&empty="
    fast = _fast(raw)
    assert fast is not None and fast == _slow(raw)
    assert fast.purl == "pkg:maven/org.acme/lib@1.0?classifier=sources&type=jar"
    assert _fast("pkg:deb/ubuntu/libc6@2.35?distro=ubuntu-22.04&arch=amd64") == _slow(
        "pkg:deb/ubuntu/libc6@2.35?distro=ubuntu-22.04&arch=amd64"
    )
    for slow_only in (
        "pkg:maven/g/a@1?Type=jar",
        "pkg:maven/g/a@1?a=%2f",
        "pkg:maven/g/a@1?a=1&a=2",
        "pkg:maven/g/a@1?",
    ):
        assert _fast(slow_only) is None, slow_only


@settings(max_examples=5000, deadline=None)
@given(_purl_like())
def test_fast_path_agrees_with_packageurl_python_on_generated_purls(raw: str) -> None:
    fast = _fast(raw)
    if fast is not None:  # the shapes it takes, it must take apart exactly as the library path does
        assert fast == _slow(raw), raw


@pytest.mark.parametrize(
    "raw",
    [
        "pkg:npm/left-pad@1.3.0",
        "pkg:npm/%40babel/core@7.0.0",
        "pkg:npm/@babel/core@7.0.0",
        "pkg:npm/JSONStream@1.3.5",
        "pkg:pypi/Django_package@1.11.1",
        "pkg:pypi/boolean.py@5.0",
        "pkg:cargo/serde@1.0.0",
        "pkg:gem/rails@7.1.0",
        "pkg:nuget/Newtonsoft.Json@13.0.3",
        "pkg:maven/org.slf4j/slf4j-api@2.0.9",
        "pkg:golang/github.com/gorilla/mux@v1.8.0",
        "pkg:golang/golang.org/x/text@v0.14.0",
        "pkg:composer/laravel/framework@v10.0.0",
        "pkg:deb/debian/libc6@2.36",
        "pkg:github/actions/checkout@v4",
        "pkg:golang/github.com/owner/mod0@0",
        # shapes of real documents the fast path once left to packageurl-python (~20 µs each)
        "pkg:golang/stdlib@v1.15.2",  # trivy: a required namespace missing, kept with the violation named
        "pkg:github/example@main",  # GitHub's export names itself so
        "pkg:oci/ubuntu@sha256:67211c14fa?repository_url=index.docker.io%2Flibrary%2Fubuntu&arch=amd64",
        "pkg:npm/%40types/debug@4.1.7#types/debug",  # subpaths (juice-shop)
        "pkg:maven/org.codehaus.mojo/child-project@1.0?file_path=app%2Fmaven%2Ftarget%2Fchild-project-1.0.jar",
        "pkg:npm/juice-shop@14.1.1?vcs_url=git%2Bhttps%3A//github.com/juice-shop/juice-shop.git",
        "pkg:deb/debian/libc6@2.28-10+deb10u1?distro=debian-10&arch=amd64",  # "+" in a version, keys reordered
    ],
)
def test_the_common_shapes_take_the_fast_path(raw: str) -> None:
    assert _fast(raw) is not None
    assert _fast(raw) == _slow(raw)


def test_every_purl_of_the_test_documents_but_an_escaped_name_takes_the_fast_path() -> None:
    # one purl at ~20 µs is as much as a small document's whole parse: the fast path must cover real shapes
    purls = {raw.replace("\\u0026", "&") for raw in purls_in_test_documents() if "`" not in raw}
    assert len(purls) > 900
    slow = [raw for raw in sorted(purls) if _fast(raw) is None]
    assert slow == ["pkg:deb/debian/libstdc%2B%2B6@8.3.0-6?arch=amd64&distro=debian-10.2"]


# Near the already-canonical shapes that skip the rule lookups (``_CLEAN``): every part either canonical or
# one step off it (upper case, "_", percent escapes, an npm scope unencoded, a range, keys out of order).
_canonical_segment = st.text(alphabet="abz09.-~", min_size=1, max_size=5)
_off_segment = st.text(alphabet="abzAZ09._-~%@+", min_size=1, max_size=5)
_near_segment = st.one_of(_canonical_segment, _canonical_segment, _off_segment)
_near_version = st.one_of(
    st.none(), st.text(alphabet="0123.-abv:", min_size=1, max_size=6), st.text(alphabet="09.x~X+%2B-", max_size=6)
)
_near_value = st.one_of(_canonical_segment, st.sampled_from(["a/b:c", "git%2Bhttps", "x%2Fy", "%2Bx", "", "A+"]))


@st.composite
def _near_canonical(draw: st.DrawFn) -> str:
    ptype = draw(st.sampled_from([*_TYPES, *_TYPES, "NPM", "Maven", "hex"]))
    namespace = draw(st.lists(_near_segment, max_size=2))
    if namespace and draw(st.booleans()):
        namespace = [draw(st.sampled_from(["%40", "@", "%40A"])) + namespace[0]]
    path = "/".join([*namespace, draw(_near_segment)])
    version = draw(_near_version)
    keys = draw(st.lists(st.sampled_from(["arch", "distro", "type", "Type", "a.b", "vcs_url"]), max_size=3))
    query = "&".join(f"{key}={draw(_near_value)}" for key in keys)
    subpath = draw(st.sampled_from(["", "", "#sub", "#a/../b"]))
    padding = draw(st.sampled_from(["", "", " ", "\n"]))
    return (
        f"pkg:{ptype}/{path}"
        + (f"@{version}" if version is not None else "")
        + (f"?{query}" if keys else "")
        + subpath
        + padding
    )


@settings(max_examples=5000, deadline=None)
@given(_near_canonical())
def test_the_canonical_shortcut_agrees_with_the_full_paths(raw: str) -> None:
    # normalise_purl takes an already-canonical purl apart without the rules; what it returns must be what the
    # rule-by-rule fast path returns, and that what packageurl-python's path does
    fast = _fast(raw.strip())
    assert normalise_purl.__wrapped__(raw) == (fast or _slow(raw.strip())), raw
    if fast is not None:
        assert fast == _slow(raw.strip()), raw


# canonical but for how they are written (scope, qualifier order or escapes): the shortcut writes them right
_PUT_RIGHT = {
    "pkg:npm/@babel/core@7.0.0",
    "pkg:deb/debian/libc6@2.28-10?distro=debian-10.2&arch=amd64",
    "pkg:deb/ubuntu/libcrypt1@4.4.27-1?epoch=1&distro=ubuntu-22.04",
    "pkg:maven/org.acme/lib@1.0?a=x%2Fy",
    "pkg:npm/@e/b@5.0.2?file_path=app%2Fapp%2Fpackage.json",
    "pkg:golang/github.com/BurntSushi/toml@v0.3.1?type=mod&goos=linux",
}


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("pkg:golang/github.com/gorilla/mux@v1.8.0", True),
        ("pkg:maven/org.Acme/Lib@1.0?type=jar", True),  # Maven keeps case
        ("pkg:deb/debian/libc6@2.28-10?arch=amd64&distro=debian-10.2", True),
        ("pkg:npm/%40babel/core@7.0.0", True),
        ("pkg:npm/JSONStream@1.3.5", True),
        ("pkg:pypi/django-package@1.11", True),
        ("pkg:golang/stdlib@v1.15.2", True),  # a required namespace missing: kept, the violation named
        ("pkg:golang/github.com/aquasecurity/test", True),  # no version: kept, not exact
        ("pkg:npm/juice-shop@14.1.1?vcs_url=git%2Bhttps://github.com/juice-shop/juice-shop.git", True),
        ("pkg:GOLANG/github.com/gorilla/mux@v1.8.0", False),  # upper-case type
        # upper case where the spec says lower: kept as written with the violation named, without the rules
        ("pkg:golang/github.com/BurntSushi/toml@v0.3.1", True),
        ("pkg:deb/Debian/libC6@2.36", True),
        ("pkg:github/Actions/checkout@v4", False),  # here the canonical form lowercases it
        ("pkg:pypi/Django_package@1.11", False),
        ("pkg:pypi/boolean.py@5.0", False),  # its key is the PEP 503 name, not the purl
        # canonical but for how they are written: put right without the rules (their purl is not the input)
        ("pkg:npm/@babel/core@7.0.0", True),  # the scope unencoded
        ("pkg:deb/debian/libc6@2.28-10?distro=debian-10.2&arch=amd64", True),  # qualifiers out of order
        ("pkg:deb/ubuntu/libcrypt1@4.4.27-1?epoch=1&distro=ubuntu-22.04", True),  # trivy's order
        ("pkg:maven/org.acme/lib@1.0?a=x%2Fy", True),  # "%2F" is written "/"
        ("pkg:npm/@e/b@5.0.2?file_path=app%2Fapp%2Fpackage.json", True),  # both
        ("pkg:golang/github.com/BurntSushi/toml@v0.3.1?type=mod&goos=linux", True),  # cased, out of order
        ("pkg:deb/debian/libc6@2.28-10?arch=amd64&arch=i386", False),  # a key repeated
        ("pkg:maven/org.acme/lib@1.0?type=", False),  # an empty value is dropped
        ("pkg:maven/org.acme/lib@1.0?a=%2Fy", False),  # an escape first
        ("pkg:deb/debian/libc6@2.28-10+deb10u1", False),  # "+" is written "%2B"
        ("pkg:deb/debian/gcc@8.3.0%2Bdeb10", False),  # an escaped version: its "+" is the version's
        ("pkg:npm/lodash@4.x", False),  # a range
        ("pkg:npm/%40types/debug@4.1.7#types/debug", False),  # a subpath
        ("pkg:oci/ubuntu@sha256:ABC", False),  # OCI digests are lowercased
        ("pkg:cargo/a/b@1.0", False),  # a namespace where the spec prohibits one
        ("pkg:golang/github.com//mux@v1", False),  # an empty segment
        ("pkg:hex/phoenix@1.7.0", False),  # a type without a shortcut
        ("pkg:npm/left-pad@1.3.0 ", True),  # surrounding blanks are stripped first
    ],
)
def test_which_purls_take_the_canonical_shortcut(raw: str, clean: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    expected = _fast(raw.strip()) or _slow(raw.strip())
    taken: list[str] = []
    monkeypatch.setattr(purls, "_fast", lambda text: taken.append("rules") or _fast(text))
    assert normalise_purl.__wrapped__(raw) == expected
    assert (not taken) is clean  # the shortcut never asks the rule-by-rule path
    monkeypatch.undo()
    assert normalise_purl.__wrapped__(raw) == (_fast(raw.strip()) or _slow(raw.strip()))
    if clean:
        info = normalise_purl.__wrapped__(raw)
        assert info == _slow(raw.strip()) and info.purl == info.key
        assert (info.purl == raw.strip()) is (raw not in _PUT_RIGHT)
        assert info.exact is (info.problem is None and info.version is not None)


_blank_or_text = st.one_of(st.none(), st.sampled_from(["", " ", " x ", "org.acme"]), st.text(max_size=4))


@given(st.one_of(st.none(), st.just("maven")), _blank_or_text, st.text(min_size=1, max_size=5), _blank_or_text)
def test_both_keys_of_a_purl_less_component_at_once(
    ecosystem: str | None, group: str | None, name: str, version: str | None
) -> None:
    both = (nopurl_key(ecosystem, group, name, version), nopurl_package_key(ecosystem, group, name))
    assert nopurl_keys(ecosystem, group, name, version) == both


@settings(max_examples=500, deadline=None)
@given(
    version=st.one_of(
        st.text(max_size=8),
        st.text(alphabet="0123456789.v-x~^* \u00a0\u2003", max_size=8),
        st.from_regex(r"v?[0-9]{1,3}(\.[0-9x]{1,3}){0,3}", fullmatch=True),
    )
)
def test_the_version_pre_check_answers_as_the_full_rule(version: str) -> None:
    """A version holding no range or blank character skips the memo; the answer is the full rule's all the same."""
    assert version_warning(version) == _written_version_warning.__wrapped__(version)
