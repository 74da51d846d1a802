"""Resolution rules of issue 15: every field in order of evidence, secondary documents, deps.dev whenever a
registry gives nothing usable, purl types that name their repository, and the labelled set's accuracy."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

from bot.config import load_settings
from bot.resolve.depsdev import DepsDevResolver
from bot.resolve.fetch import Fetcher
from bot.resolve.interface import Outcome, PackageRef, Resolution, Unresolved
from bot.resolve.nuget import NuGetResolver
from bot.resolve.overrides import Overrides
from bot.resolve.pypi import PyPIResolver
from bot.resolve.repo_url import forge_hosts
from bot.resolve.stage import PackageResolver, build_resolvers
from tests.resolve_fakes import RESOLVE_DATA, FakeRegistries

FORGES = forge_hosts(())
LABELLED = Path(__file__).parent / "data" / "resolve" / "labelled"
PYPI, NUGET, DEPSDEV = "https://pypi.test", "https://nuget.test", "https://depsdev.test"


def run(fake: FakeRegistries, call: Callable[[Fetcher], Awaitable[Outcome | None]]) -> Outcome | None:
    async def go() -> Outcome | None:
        async with fake.client() as client:
            return await call(Fetcher(client, per_host_limit=4, global_limit=8))

    return asyncio.run(go())


def pypi_document(name: str) -> dict[str, object]:
    document = json.loads((LABELLED / "pypi.json").read_text(encoding="utf-8"))[name]
    assert isinstance(document, dict)
    return document


def test_pypi_download_url_to_a_forge_archive_names_the_repository() -> None:
    document = pypi_document("texttable")  # real: download_url https://github.com/foutaise/texttable/archive/...
    assert "github.com/foutaise/texttable/archive/" in document["info"]["download_url"]  # type: ignore[index]
    document["info"].update({"home_page": "https://example.org/texttable", "project_urls": None})  # type: ignore[attr-defined]
    fake = FakeRegistries({f"{PYPI}/pypi/texttable/json": json.dumps(document).encode()})
    ref = PackageRef("pypi/texttable", "pypi", None, "texttable")
    outcome = run(fake, lambda f: PyPIResolver(PYPI, FORGES).resolve(ref, f))
    assert isinstance(outcome, Resolution)
    assert (str(outcome.upstream), outcome.provenance) == ("github.com/foutaise/texttable", "pypi:download_url")


def test_pypi_reads_other_project_urls_last_and_never_funding() -> None:
    info = {
        "home_page": "https://docs.example.org",
        "project_urls": {
            "Funding": "https://github.com/acme/funding",
            "Documentation": "https://github.com/acme/tool#readme",
        },
    }
    fake = FakeRegistries({f"{PYPI}/pypi/tool/json": json.dumps({"info": info}).encode()})
    outcome = run(fake, lambda f: PyPIResolver(PYPI, FORGES).resolve(PackageRef("pypi/tool", "pypi", None, "tool"), f))
    assert isinstance(outcome, Resolution)
    assert (str(outcome.upstream), outcome.provenance) == ("github.com/acme/tool", "pypi:project_urls.Documentation")


def registration(project_url: str, *versions: str) -> bytes:
    """The registration index in NuGet's documented shape (one page, items inlined)."""
    items = [{"catalogEntry": {"id": "Acme.Lib", "version": v, "projectUrl": project_url}} for v in versions]
    return json.dumps({"count": 1, "items": [{"count": len(items), "items": items}]}).encode()


def test_nuget_registration_project_url_when_no_nuspec_is_served() -> None:
    fake = FakeRegistries(
        {
            f"{NUGET}/v3-flatcontainer/acme.lib/index.json": json.dumps({"versions": ["1.0.0", "2.0.0"]}).encode(),
            f"{NUGET}/v3/registration5-semver1/acme.lib/index.json": registration(
                "https://github.com/Acme/Lib", "1.0.0", "2.0.0"
            ),
        }
    )
    ref = PackageRef("nuget/Acme.Lib", "nuget", None, "Acme.Lib", "2.0.0")
    outcome = run(fake, lambda f: NuGetResolver(NUGET, FORGES).resolve(ref, f))
    assert isinstance(outcome, Resolution)
    assert (str(outcome.upstream), outcome.provenance) == ("github.com/acme/lib", "nuget:registration.projectUrl")
    assert fake.paths()[-1] == "/v3/registration5-semver1/acme.lib/index.json"  # asked after the nuspec's 404


def test_nuget_registration_page_not_inlined_is_fetched() -> None:
    page = f"{NUGET}/v3/registration5-semver1/acme.lib/page/1.0.0/1.0.0.json"
    inner = json.loads(registration("https://gitlab.com/acme/lib", "1.0.0"))["items"][0]
    fake = FakeRegistries(
        {
            f"{NUGET}/v3/registration5-semver1/acme.lib/index.json": json.dumps({"items": [{"@id": page}]}).encode(),
            page: json.dumps(inner).encode(),
        }
    )
    ref = PackageRef("nuget/Acme.Lib", "nuget", None, "Acme.Lib", "1.0.0")
    outcome = run(fake, lambda f: NuGetResolver(NUGET, FORGES).resolve(ref, f))
    assert isinstance(outcome, Resolution) and str(outcome.upstream) == "gitlab.com/acme/lib"


def stage_resolver(fake: FakeRegistries, fetcher: Fetcher) -> PackageResolver:
    settings = load_settings(None, overrides={"registries.pypi": PYPI, "registries.depsdev": DEPSDEV})
    return PackageResolver(build_resolvers(settings), Overrides({}), DepsDevResolver(DEPSDEV, FORGES), fetcher, FORGES)


DEPSDEV_ANSWER = (RESOLVE_DATA / "depsdev_GetVersion_pypi.json").read_bytes()


def test_depsdev_is_asked_when_the_registry_answers_404() -> None:
    fake = FakeRegistries({f"{DEPSDEV}/v3/systems/pypi/packages/gone/versions/1.0.0": DEPSDEV_ANSWER})
    ref = PackageRef("pypi/gone", "pypi", None, "gone", "1.0.0")
    outcome = run(fake, lambda f: stage_resolver(fake, f).resolve(ref))
    assert isinstance(outcome, Resolution) and outcome.provenance.startswith("depsdev:")
    assert fake.paths() == ["/pypi/gone/json", "/v3/systems/pypi/packages/gone/versions/1.0.0"]


def test_depsdev_is_asked_when_a_go_vanity_page_fails() -> None:
    answer = json.loads(DEPSDEV_ANSWER)
    fake = FakeRegistries(
        {f"{DEPSDEV}/v3/systems/go/packages/vanity.test%2Flib/versions/v1.2.0": json.dumps(answer).encode()},
        down={"vanity.test"},
    )
    ref = PackageRef("golang/vanity.test/lib", "golang", "vanity.test", "lib", "v1.2.0")
    outcome = run(fake, lambda f: stage_resolver(fake, f).resolve(ref))
    assert isinstance(outcome, Resolution) and outcome.provenance.startswith("depsdev:")
    # and with deps.dev knowing nothing either, the vanity host's outage stays a retry
    silent = FakeRegistries(down={"vanity.test"})
    retry = run(silent, lambda f: stage_resolver(silent, f).resolve(ref))
    assert isinstance(retry, Unresolved) and retry.retry


def resolve_purl_type(purl_key: str, ecosystem: str, namespace: str, name: str, purl: str | None = None) -> Outcome:
    fake = FakeRegistries()
    ref = PackageRef(purl_key, ecosystem, namespace, name, None, purl)
    outcome = run(fake, lambda f: stage_resolver(fake, f).resolve(ref))
    assert fake.requests == []  # the purl itself names the repository: nothing is asked
    assert outcome is not None
    return outcome


def test_purl_types_that_name_their_repository() -> None:
    cases = [
        (
            ("bitbucket/birkenfeld/pygments-main", "bitbucket", "birkenfeld", "pygments-main"),
            "bitbucket.org/birkenfeld/pygments-main",
            "bitbucket:purl",
        ),
        (("gitlab/gitlab-org/gitaly", "gitlab", "gitlab-org", "gitaly"), "gitlab.com/gitlab-org/gitaly", "gitlab:purl"),
        (("github/Octo/Repo", "github", "Octo", "Repo"), "github.com/octo/repo", "github:purl"),
        (
            ("swift/github.com/apple/swift-nio", "swift", "github.com/apple", "swift-nio"),
            "github.com/apple/swift-nio",
            "swift:purl",
        ),
    ]
    for args, upstream, provenance in cases:
        outcome = resolve_purl_type(*args)
        assert isinstance(outcome, Resolution), outcome
        assert (str(outcome.upstream), outcome.provenance) == (upstream, provenance)
    nested = resolve_purl_type("gitlab/group/sub/name", "gitlab", "group/sub", "name")
    assert isinstance(nested, Unresolved) and nested.category == "nested GitLab group not supported"


def test_a_vcs_url_qualifier_names_the_repository_before_any_registry() -> None:
    purl = "pkg:generic/openssl@3.0.7?vcs_url=git%2Bhttps://github.com/openssl/openssl.git%40openssl-3.0.7"
    outcome = resolve_purl_type("generic/openssl", "generic", "", "openssl", purl)
    assert isinstance(outcome, Resolution)
    assert (str(outcome.upstream), outcome.provenance) == ("github.com/openssl/openssl", "purl:vcs_url")


def test_the_labelled_set_is_at_least_99_percent_right_and_never_confidently_wrong() -> None:
    spec = importlib.util.spec_from_file_location("resolve_accuracy", Path("bench/resolve_accuracy.py").resolve())
    assert spec is not None and spec.loader is not None
    accuracy = importlib.util.module_from_spec(spec)
    sys.modules["resolve_accuracy"] = accuracy
    spec.loader.exec_module(accuracy)
    scored = asyncio.run(accuracy.evaluate())
    assert len(scored) >= 300
    assert [s for s in scored if s.verdict == "wrong"] == []
    resolvable = [s for s in scored if s.expected and s.in_document]
    right = [s for s in resolvable if s.verdict == "right"]
    assert len(right) / len(resolvable) >= 0.99, [s for s in resolvable if s.verdict != "right"]
    assert {s.ecosystem for s in scored} == {"pypi", "npm"}


def test_rubygems_crates_and_packagist_read_their_other_links_after_the_declared_ones() -> None:
    from bot.resolve.cargo import CratesResolver
    from bot.resolve.packagist import PackagistResolver
    from bot.resolve.rubygems import RubyGemsResolver
    from tests.resolve_fakes import sample

    gem = json.loads(sample("rubygems_activerecord-5.2.2.json"))
    for key in ("source_code_uri", "homepage_uri", "bug_tracker_uri", "changelog_uri"):
        gem[key] = None
    gem["metadata"] = {"changelog_uri": "https://github.com/rails/rails/blob/v5.2.2/activerecord/CHANGELOG.md"}
    crate = json.loads(sample("cratesio_bitflags.json"))
    crate["crate"].update(
        {"repository": None, "homepage": None, "documentation": "https://github.com/bitflags/bitflags"}
    )
    fake = FakeRegistries(
        {
            "https://gems.test/api/v1/gems/activerecord.json": json.dumps(gem).encode(),
            "https://crates.test/api/v1/crates/bitflags": json.dumps(crate).encode(),
            "https://packagist.test/p2/acme/lib.json": json.dumps(
                {"packages": {"acme/lib": [{"support": {"issues": "https://gitlab.com/acme/lib/-/issues"}}]}}
            ).encode(),
        }
    )
    cases = [
        (RubyGemsResolver("https://gems.test", FORGES), PackageRef("gem/activerecord", "gem", None, "activerecord")),
        (CratesResolver("https://crates.test", FORGES), PackageRef("cargo/bitflags", "cargo", None, "bitflags")),
        (
            PackagistResolver("https://packagist.test", FORGES),
            PackageRef("composer/acme/lib", "composer", "acme", "lib"),
        ),
    ]
    found = []
    for resolver, package in cases:
        outcome = run(fake, lambda f, r=resolver, p=package: r.resolve(p, f))  # type: ignore[misc]
        assert isinstance(outcome, Resolution), outcome
        found.append((str(outcome.upstream), outcome.provenance))
    assert found == [
        ("github.com/rails/rails", "rubygems:metadata.changelog_uri"),
        ("github.com/bitflags/bitflags", "crates:documentation"),
        ("gitlab.com/acme/lib", "packagist:support.issues"),
    ]
