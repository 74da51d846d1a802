"""Each ecosystem resolver against real registry documents served through ``httpx.MockTransport``."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable

import pytest

from bot.resolve.actions import GitHubActionsResolver
from bot.resolve.cargo import CratesResolver
from bot.resolve.depsdev import DepsDevResolver
from bot.resolve.fetch import Fetcher
from bot.resolve.golang import GoResolver, parse_go_get_page
from bot.resolve.interface import Outcome, PackageRef, RegistryUnavailable, Resolution, Unresolved
from bot.resolve.maven import MavenResolver
from bot.resolve.npm import NpmResolver
from bot.resolve.nuget import NuGetResolver
from bot.resolve.packagist import PackagistResolver
from bot.resolve.pypi import PyPIResolver, normalise_label
from bot.resolve.repo_url import forge_hosts
from bot.resolve.rubygems import RubyGemsResolver
from tests.resolve_fakes import RESOLVE_DATA, FakeRegistries, sample

FORGES = forge_hosts()
PYPI, NPM, CRATES, MAVEN = "https://pypi.test", "https://npm.test", "https://crates.test", "https://maven.test/maven2"
GEMS, NUGET, PACKAGIST, DEPSDEV = (
    "https://gems.test",
    "https://nuget.test",
    "https://packagist.test",
    "https://depsdev.test",
)


def run(fake: FakeRegistries, call: Callable[[Fetcher], Awaitable[Outcome]]) -> Outcome:
    async def go() -> Outcome:
        fetcher = fake.fetcher()
        async with fetcher.client:
            return await call(fetcher)

    return asyncio.run(go())


def ref(key: str, namespace: str | None, name: str, version: str | None = None) -> PackageRef:
    return PackageRef(key, key.split("/", 1)[0], namespace, name, version, None)


def resolved(outcome: Outcome) -> Resolution:
    assert isinstance(outcome, Resolution), outcome
    return outcome


def test_pypi_old_release_uses_home_page() -> None:
    fake = FakeRegistries({f"{PYPI}/pypi/luigi/json": sample("pypi_luigi-2.6.0.json")})
    outcome = resolved(run(fake, lambda f: PyPIResolver(PYPI, FORGES).resolve(ref("pypi/luigi", None, "luigi"), f)))
    assert str(outcome.upstream) == "github.com/spotify/luigi"
    assert outcome.provenance == "pypi:home_page"


def test_pypi_project_urls_by_pep753_label_and_pep503_name() -> None:
    fake = FakeRegistries(
        {f"{PYPI}/pypi/django-split-settings/json": sample("pypi_django-split-settings_project-urls.json")}
    )
    package = ref("pypi/django-split-settings", None, "Django_Split.Settings")
    outcome = resolved(run(fake, lambda f: PyPIResolver(PYPI, FORGES).resolve(package, f)))
    assert fake.paths() == ["/pypi/django-split-settings/json"]
    assert str(outcome.upstream) == "github.com/xxxxx/django-split-settings"
    assert outcome.provenance == "pypi:project_urls.Repository"  # not the Funding (sponsors) link
    assert normalise_label("Source Code") == "sourcecode" and normalise_label("Bug-Tracker") == "bugtracker"


def test_npm_object_repository() -> None:
    fake = FakeRegistries({f"{NPM}/is-stream": sample("npm_is-stream.json")})
    outcome = resolved(
        run(fake, lambda f: NpmResolver(NPM, FORGES).resolve(ref("npm/is-stream", None, "is-stream"), f))
    )
    assert str(outcome.upstream) == "github.com/sindresorhus/is-stream"
    assert outcome.source_url == "git+https://github.com/sindresorhus/is-stream.git"


def test_npm_shorthand_repository() -> None:
    fake = FakeRegistries({f"{NPM}/etag": sample("npm_etag_repository-shorthand.json")})
    outcome = resolved(run(fake, lambda f: NpmResolver(NPM, FORGES).resolve(ref("npm/etag", None, "etag"), f)))
    assert str(outcome.upstream) == "github.com/jshttp/etag"


def test_npm_scoped_name_and_monorepo_directory() -> None:
    doc = json.loads(sample("npm_is-stream.json"))
    doc["repository"] = {"type": "git", "url": "https://github.com/babel/babel.git", "directory": "packages/babel-core"}
    fake = FakeRegistries({f"{NPM}/@babel%2Fcore": json.dumps(doc).encode()})
    package = ref("npm/@babel/core", "%40babel", "core")
    outcome = resolved(run(fake, lambda f: NpmResolver(NPM, FORGES).resolve(package, f)))
    assert fake.paths() == ["/@babel%2Fcore"]
    assert str(outcome.upstream) == "github.com/babel/babel"
    assert outcome.subdirectory == "packages/babel-core"


def test_crates_keeps_the_declared_moved_repository() -> None:
    fake = FakeRegistries({f"{CRATES}/api/v1/crates/bitflags": sample("cratesio_bitflags.json")})
    outcome = resolved(
        run(fake, lambda f: CratesResolver(CRATES, FORGES).resolve(ref("cargo/bitflags", None, "bitflags"), f))
    )
    assert str(outcome.upstream) == "github.com/rust-lang-nursery/bitflags"
    assert outcome.provenance == "crates:repository"


def test_rubygems_source_code_uri_into_monorepo() -> None:
    fake = FakeRegistries({f"{GEMS}/api/v1/gems/activerecord.json": sample("rubygems_activerecord-5.2.2.json")})
    outcome = resolved(
        run(fake, lambda f: RubyGemsResolver(GEMS, FORGES).resolve(ref("gem/activerecord", None, "activerecord"), f))
    )
    assert (str(outcome.upstream), outcome.subdirectory) == ("github.com/rails/rails", "activerecord")


def test_packagist_split_repository_goes_to_its_monorepo() -> None:
    fake = FakeRegistries(
        {f"{PACKAGIST}/p2/symfony/polyfill-mbstring.json": sample("packagist_symfony-polyfill-mbstring.json")}
    )
    package = ref("composer/symfony/polyfill-mbstring", "symfony", "polyfill-mbstring")
    outcome = resolved(run(fake, lambda f: PackagistResolver(PACKAGIST, FORGES).resolve(package, f)))
    assert str(outcome.upstream) == "github.com/symfony/polyfill"
    assert outcome.provenance == "packagist:extra.thanks (read-only split github.com/symfony/polyfill-mbstring)"


def test_packagist_thanks_of_another_owner_is_ignored() -> None:
    doc = json.loads(sample("packagist_symfony-polyfill-mbstring.json"))
    doc["packages"]["symfony/polyfill-mbstring"][0]["extra"]["thanks"]["url"] = "https://github.com/someone/else"
    fake = FakeRegistries({f"{PACKAGIST}/p2/symfony/polyfill-mbstring.json": json.dumps(doc).encode()})
    package = ref("composer/symfony/polyfill-mbstring", "symfony", "polyfill-mbstring")
    outcome = resolved(run(fake, lambda f: PackagistResolver(PACKAGIST, FORGES).resolve(package, f)))
    assert (str(outcome.upstream), outcome.provenance) == (
        "github.com/symfony/polyfill-mbstring",
        "packagist:source.url",
    )


def test_nuget_nuspec_repository_with_lower_case_path() -> None:
    package_id = "microsoft.extensions.dependencymodel"
    url = f"{NUGET}/v3-flatcontainer/{package_id}/2.1.0/{package_id}.nuspec"
    fake = FakeRegistries({url: sample("nuget_Microsoft.Extensions.DependencyModel.nuspec")})
    package = ref("nuget/Microsoft.Extensions.DependencyModel", None, "Microsoft.Extensions.DependencyModel", "2.1.0")
    outcome = resolved(run(fake, lambda f: NuGetResolver(NUGET, FORGES).resolve(package, f)))
    assert str(outcome.upstream) == "github.com/dotnet/core-setup"  # the repository, not projectUrl https://dot.net/
    assert outcome.provenance == "nuget:repository"


def test_nuget_without_version_takes_newest_stable() -> None:
    base = f"{NUGET}/v3-flatcontainer/microsoft.extensions.dependencymodel"
    fake = FakeRegistries(
        {
            f"{base}/index.json": json.dumps({"versions": ["1.0.0", "2.1.0", "3.0.0-preview1"]}).encode(),
            f"{base}/2.1.0/microsoft.extensions.dependencymodel.nuspec": sample(
                "nuget_Microsoft.Extensions.DependencyModel.nuspec"
            ),
        }
    )
    package = ref("nuget/Microsoft.Extensions.DependencyModel", None, "Microsoft.Extensions.DependencyModel")
    assert str(resolved(run(fake, lambda f: NuGetResolver(NUGET, FORGES).resolve(package, f))).upstream) == (
        "github.com/dotnet/core-setup"
    )


def test_maven_scm_url() -> None:
    fake = FakeRegistries({f"{MAVEN}/io/mockk/mockk/1.10.0/mockk-1.10.0.pom": sample("maven_mockk-1.10.0.pom")})
    package = ref("maven/io.mockk/mockk", "io.mockk", "mockk", "1.10.0")
    outcome = resolved(run(fake, lambda f: MavenResolver(MAVEN, FORGES).resolve(package, f)))
    assert str(outcome.upstream) == "github.com/mockk/mockk"
    assert outcome.provenance == "maven:scm.url"


def test_maven_without_version_reads_maven_metadata() -> None:
    fake = FakeRegistries(
        {
            f"{MAVEN}/io/mockk/mockk/maven-metadata.xml": (RESOLVE_DATA / "maven-metadata_mockk.xml").read_bytes(),
            f"{MAVEN}/io/mockk/mockk/1.10.0/mockk-1.10.0.pom": sample("maven_mockk-1.10.0.pom"),
        }
    )
    package = ref("maven/io.mockk/mockk", "io.mockk", "mockk")
    assert str(resolved(run(fake, lambda f: MavenResolver(MAVEN, FORGES).resolve(package, f))).upstream) == (
        "github.com/mockk/mockk"
    )


def test_maven_follows_parent_for_scm_and_shares_it() -> None:
    parent = f"{MAVEN}/uk/me/lwood/sigtran/sigtran-parent/0.9-SNAPSHOT/sigtran-parent-0.9-SNAPSHOT.pom"
    child = (RESOLVE_DATA / "maven_sigtran-map-0.9-SNAPSHOT.pom").read_bytes()
    fake = FakeRegistries(
        {
            parent: sample("maven_sigtran-parent-0.9-SNAPSHOT.pom"),
            f"{MAVEN}/uk/me/lwood/sigtran/map/0.9-SNAPSHOT/map-0.9-SNAPSHOT.pom": child,
            f"{MAVEN}/uk/me/lwood/sigtran/map2/0.9-SNAPSHOT/map2-0.9-SNAPSHOT.pom": child.replace(b">map<", b">map2<"),
        }
    )
    resolver = MavenResolver(MAVEN, FORGES)

    async def both(f: Fetcher) -> Outcome:
        first, second = await asyncio.gather(
            resolver.resolve(ref("maven/uk.me.lwood.sigtran/map", "uk.me.lwood.sigtran", "map", "0.9-SNAPSHOT"), f),
            resolver.resolve(ref("maven/uk.me.lwood.sigtran/map2", "uk.me.lwood.sigtran", "map2", "0.9-SNAPSHOT"), f),
        )
        assert first == second
        assert f.stats.shared == 1
        return first

    outcome = resolved(run(fake, both))
    assert str(outcome.upstream) == "github.com/lw346/sigtran"
    assert outcome.provenance == "maven:scm.connection (parent uk.me.lwood.sigtran:sigtran-parent:0.9-SNAPSHOT)"
    assert fake.paths().count(parent.removeprefix("https://maven.test")) == 1


def test_maven_parent_cycle_ends() -> None:
    fake = FakeRegistries(
        {
            f"{MAVEN}/org/example/cycle-a/1.0/cycle-a-1.0.pom": (RESOLVE_DATA / "maven_cycle-a-1.0.pom").read_bytes(),
            f"{MAVEN}/org/example/cycle-b/1.0/cycle-b-1.0.pom": (RESOLVE_DATA / "maven_cycle-b-1.0.pom").read_bytes(),
        }
    )
    package = ref("maven/org.example/cycle-a", "org.example", "cycle-a", "1.0")
    outcome = run(fake, lambda f: MavenResolver(MAVEN, FORGES).resolve(package, f))
    assert isinstance(outcome, Unresolved) and outcome.reason == "no repository in metadata"
    assert len(fake.requests) == 2


def test_go_vanity_page_through_configured_base() -> None:
    page = sample("go-get_k8s_io_apimachinery.html")
    fake = FakeRegistries({"https://vanity.test/k8s.io/apimachinery?go-get=1": page})
    resolver = GoResolver(FORGES, vanity_base="https://vanity.test")
    outcome = resolved(
        run(fake, lambda f: resolver.resolve(ref("golang/k8s.io/apimachinery", "k8s.io", "apimachinery"), f))
    )
    assert str(outcome.upstream) == "github.com/kubernetes/apimachinery"
    assert outcome.provenance == "golang:go-import"


def test_go_vanity_page_on_the_import_path_host() -> None:
    fake = FakeRegistries({"https://k8s.io/apimachinery?go-get=1": sample("go-get_k8s_io_apimachinery.html")})
    outcome = run(
        fake, lambda f: GoResolver(FORGES).resolve(ref("golang/k8s.io/apimachinery", "k8s.io", "apimachinery"), f)
    )
    assert str(resolved(outcome).upstream) == "github.com/kubernetes/apimachinery"


def test_go_source_mirror_when_the_vcs_root_is_off_forge() -> None:
    fake = FakeRegistries(
        {"https://example.dev/tool/cmd/v2?go-get=1": (RESOLVE_DATA / "go-get_source-mirror.html").read_bytes()}
    )
    outcome = resolved(
        run(
            fake,
            lambda f: GoResolver(FORGES).resolve(
                ref("golang/example.dev/tool/cmd/v2", "example.dev/tool/cmd", "v2"), f
            ),
        )
    )
    assert (str(outcome.upstream), outcome.subdirectory, outcome.provenance) == (
        "github.com/example-dev/tool",
        "cmd",
        "golang:go-source",
    )
    imports, _ = parse_go_get_page((RESOLVE_DATA / "go-get_source-mirror.html").read_text())
    assert [vcs for _, vcs, _ in imports] == ["git", "mod"]


def test_golang_x_page_names_googlesource_whose_mirror_is_on_github() -> None:
    page = (RESOLVE_DATA / "go-get_golang.org_x_text.html").read_bytes()
    fake = FakeRegistries({"https://golang.org/x/text/encoding?go-get=1": page})
    package = ref("golang/golang.org/x/text/encoding", "golang.org/x/text", "encoding")
    outcome = resolved(run(fake, lambda f: GoResolver(FORGES).resolve(package, f)))
    assert (str(outcome.upstream), outcome.subdirectory) == ("github.com/golang/text", "encoding")
    assert outcome.source_url == "https://go.googlesource.com/text"


def test_golang_x_falls_back_to_the_mirror_when_the_page_fails() -> None:
    fake = FakeRegistries()
    package = ref("golang/golang.org/x/xerrors", "golang.org/x", "xerrors")
    outcome = resolved(run(fake, lambda f: GoResolver(FORGES).resolve(package, f)))
    assert (str(outcome.upstream), outcome.provenance) == ("github.com/golang/xerrors", "golang:golang.org/x mirror")
    assert len(fake.requests) == 1


@pytest.mark.parametrize(
    ("namespace", "name", "expected", "subdirectory"),
    [
        ("github.com/spf13", "cobra", "github.com/spf13/cobra", None),
        ("github.com/jackc/pgx", "v5", "github.com/jackc/pgx", None),
        ("github.com/aws/aws-sdk-go-v2/service", "s3", "github.com/aws/aws-sdk-go-v2", "service/s3"),
        (
            "github.com/Azure/azure-sdk-for-go/sdk/storage",
            "azblob/v2",
            "github.com/azure/azure-sdk-for-go",
            "sdk/storage/azblob",
        ),
        ("gopkg.in", "yaml.v3", "github.com/go-yaml/yaml", None),
        ("gopkg.in", "check.v1", "github.com/go-check/check", None),
        ("gopkg.in/DataDog", "dd-trace-go.v1", "github.com/datadog/dd-trace-go", None),
        ("gitlab.com/gitlab-org", "gitaly", "gitlab.com/gitlab-org/gitaly", None),
        (None, "stdlib", "github.com/golang/go", None),
    ],
)
def test_go_paths_known_without_a_request(
    namespace: str | None, name: str, expected: str, subdirectory: str | None
) -> None:
    fake = FakeRegistries()
    outcome = resolved(
        run(fake, lambda f: GoResolver(FORGES).resolve(ref(f"golang/{namespace}/{name}", namespace, name), f))
    )
    assert (str(outcome.upstream), outcome.subdirectory) == (expected, subdirectory)
    assert fake.requests == []


@pytest.mark.parametrize(
    ("ecosystem", "namespace", "name", "expected", "subdirectory"),
    [
        ("githubactions", "actions", "checkout", "github.com/actions/checkout", None),
        ("githubactions", "github/codeql-action", "init", "github.com/github/codeql-action", "init"),
        ("github", "Octokit", "Fixtures", "github.com/octokit/fixtures", None),
    ],
)
def test_actions_and_github_purls_need_no_request(
    ecosystem: str, namespace: str, name: str, expected: str, subdirectory: str | None
) -> None:
    fake = FakeRegistries()
    package = PackageRef(f"{ecosystem}/{namespace}/{name}", ecosystem, namespace, name)
    outcome = resolved(run(fake, lambda f: GitHubActionsResolver(ecosystem).resolve(package, f)))
    assert (str(outcome.upstream), outcome.subdirectory) == (expected, subdirectory)
    assert fake.requests == []


def test_github_purl_without_owner_is_unresolved() -> None:
    package = PackageRef("github/example", "github", None, "example")
    outcome = run(FakeRegistries(), lambda f: GitHubActionsResolver("github").resolve(package, f))
    assert isinstance(outcome, Unresolved) and outcome.category == "not a repository URL"


def test_registry_404_is_a_reason() -> None:
    fake = FakeRegistries()
    outcome = run(fake, lambda f: PyPIResolver(PYPI, FORGES).resolve(ref("pypi/nope", None, "nope"), f))
    assert isinstance(outcome, Unresolved) and outcome.reason == "registry 404"


def test_registry_down_raises_after_retries() -> None:
    fake = FakeRegistries(down={"pypi.test"})
    with pytest.raises(RegistryUnavailable, match=r"pypi\.test/pypi/x/json: HTTP 503"):
        run(fake, lambda f: PyPIResolver(PYPI, FORGES).resolve(ref("pypi/x", None, "x"), f))
    assert len(fake.requests) == 2  # one retry (policy max_retries=1), then the outage is reported


def test_depsdev_prefers_attested_source_repo() -> None:
    url = f"{DEPSDEV}/v3/systems/pypi/packages/nometa/versions/1.0.0"
    fake = FakeRegistries({url: (RESOLVE_DATA / "depsdev_GetVersion_pypi.json").read_bytes()})
    package = PackageRef("pypi/nometa", "pypi", None, "nometa", "1.0.0")

    async def call(f: Fetcher) -> Outcome:
        found = await DepsDevResolver(DEPSDEV, FORGES).resolve(package, f)
        assert found is not None
        return found

    outcome = resolved(run(fake, call))
    assert str(outcome.upstream) == "github.com/example/nometa"
    assert outcome.provenance == "depsdev:relatedProjects.PYPI_PUBLISH_ATTESTATION"


def test_depsdev_maven_name_is_one_encoded_segment() -> None:
    fake = FakeRegistries()
    package = PackageRef("maven/io.mockk/mockk", "maven", "io.mockk", "mockk", "1.10.0")
    outcome = asyncio.run(_depsdev(fake, package))
    assert outcome is None
    assert fake.paths() == ["/v3/systems/maven/packages/io.mockk%3Amockk/versions/1.10.0"]


async def _depsdev(fake: FakeRegistries, package: PackageRef) -> Resolution | None:
    fetcher = fake.fetcher()
    async with fetcher.client:
        return await DepsDevResolver(DEPSDEV, FORGES).resolve(package, fetcher)
