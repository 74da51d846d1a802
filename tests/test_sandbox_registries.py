"""The fake registries: real document shapes, the world's messy metadata served as is, real 404s."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import defusedxml.ElementTree as ET
import httpx
import pytest

from bot.http import RetryingTransport
from bot.sandbox.interface import ServiceContext
from bot.sandbox.model import Package, World
from bot.sandbox.registries import PyPIService, pep503, registry_services
from bot.sandbox.server import Router, etag_of

pytest_plugins = ["tests.sandbox_fixtures"]  # harmless once the lead registers it globally

SAMPLES = Path(__file__).parent / "data" / "api-samples"
POM = "{http://maven.apache.org/POM/4.0.0}"


@pytest.fixture
def client(sandbox_world: World) -> Iterator[httpx.Client]:
    router = Router(sandbox_world, services=registry_services(sandbox_world))
    # as upkeep's clients do: crates.io's one request a second answers 429 with Retry-After, waited out
    transport = RetryingTransport(httpx.MockTransport(router.handler))
    with httpx.Client(transport=transport, base_url="http://sandbox.test") as c:
        yield c


def _of(world: World, ecosystem: str, form: str | None = None) -> list[Package]:
    return [p for p in world.packages if p.ecosystem == ecosystem and (form is None or p.repository_form == form)]


def _sample(name: str) -> dict[str, object]:
    data = json.loads((SAMPLES / name).read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def test_pypi_documents_have_the_real_shape_and_the_messy_urls(client: httpx.Client, sandbox_world: World) -> None:
    real = _sample("pypi_django-split-settings_project-urls.json")
    real_info = real["info"]
    assert isinstance(real_info, dict)
    for pkg in _of(sandbox_world, "pypi"):
        doc = client.get(f"/registry/pypi/pypi/{pkg.name}/json").json()
        assert set(real) <= set(doc)
        assert set(real_info) <= set(doc["info"])
        assert doc["info"]["project_urls"] == pkg.metadata["project_urls"]
        assert doc["info"]["home_page"] == pkg.metadata["home_page"]
        assert sorted(doc["releases"]) == sorted(pkg.versions)
    pkg = _of(sandbox_world, "pypi", "home-page-only")[0]
    assert client.get(f"/registry/pypi/pypi/{pkg.name}/json").json()["info"]["project_urls"] is None
    moved = client.get(f"/registry/pypi/pypi/{pkg.name.upper()}/json")
    assert moved.status_code == 301 and moved.headers["location"].endswith(f"/pypi/{pkg.name}/json")
    missing = client.get("/registry/pypi/pypi/no-such-project/json")
    assert (missing.status_code, missing.json()) == (404, {"message": "Not Found"})


def test_npm_packuments_scoped_names_and_monorepo_directories(client: httpx.Client, sandbox_world: World) -> None:
    real = _sample("npm_is-stream.json")
    for pkg in _of(sandbox_world, "npm"):
        full = f"{pkg.namespace}/{pkg.name}" if pkg.namespace else pkg.name
        doc = client.get(f"/registry/npm/{full.replace('/', '%2F')}").json()
        optional = {"users", "keywords", "author"} | (set() if pkg.true_upstream else {"bugs"})
        assert set(real) - optional <= set(doc)
        assert doc["name"] == full
        assert doc.get("repository") == pkg.metadata.get("repository")
    mono = _of(sandbox_world, "npm", "monorepo-directory")[0]
    doc = client.get(f"/registry/npm/{mono.namespace}/{mono.name}").json()
    assert doc["repository"]["directory"] == mono.subdirectory
    missing = client.get("/registry/npm/no-such-package")
    assert (missing.status_code, missing.json()) == (404, {"error": "Not found"})


def test_crates_rubygems_packagist_shapes(client: httpx.Client, sandbox_world: World) -> None:
    crate = _of(sandbox_world, "cargo")[0]
    doc = client.get(f"/registry/crates/api/v1/crates/{crate.name}").json()
    real = _sample("cratesio_bitflags.json")
    real_crate = real["crate"]
    assert isinstance(real_crate, dict)
    assert set(real) <= set(doc) and set(real_crate) <= set(doc["crate"])
    assert doc["crate"]["repository"] == crate.metadata["repository"]
    gone = client.get("/registry/crates/api/v1/crates/no-such-crate")
    assert gone.status_code == 404 and gone.json()["errors"][0]["detail"] == "crate `no-such-crate` does not exist"
    no_agent = client.get(f"/registry/crates/api/v1/crates/{crate.name}", headers={"user-agent": ""})
    assert no_agent.status_code == 403

    gem = _of(sandbox_world, "gem", "source-code-tree")[0]
    doc = client.get(f"/registry/rubygems/api/v1/gems/{gem.name}.json").json()
    assert set(_sample("rubygems_activerecord-5.2.2.json")) <= set(doc)
    assert re.search(rf"/tree/v[^/]+/{re.escape(gem.subdirectory or '')}$", doc["source_code_uri"])
    assert client.get("/registry/rubygems/api/v1/gems/nope.json").text == "This rubygem could not be found."

    composer = _of(sandbox_world, "composer")[0]
    doc = client.get(f"/registry/packagist/p2/{composer.namespace}/{composer.name}.json").json()
    real_entry = _sample("packagist_symfony-polyfill-mbstring.json")["packages"]
    assert isinstance(real_entry, dict)
    first = doc["packages"][f"{composer.namespace}/{composer.name}"][0]
    assert {"name", "version", "source", "dist", "time", "license"} <= set(first)
    assert doc["minified"] == "composer/2.0"
    assert first["source"]["url"] == composer.metadata["source"]["url"]
    split = _of(sandbox_world, "composer", "split-mirror")[0]
    entry = client.get(f"/registry/packagist/p2/{split.namespace}/{split.name}.json").json()["packages"]
    first = entry[f"{split.namespace}/{split.name}"][0]
    assert first["source"]["url"].endswith(f"/{split.name}.git")  # the read-only split ...
    assert first["extra"]["thanks"]["url"].lower().endswith(split.true_upstream or "-")  # ... of the monorepo
    mirror = f"{(split.true_upstream or '').rsplit('/', 1)[0]}/{split.name}"
    assert mirror in {u.key for u in sandbox_world.upstreams}


def test_go_proxy_and_vanity_pages_name_the_repository(client: httpx.Client, sandbox_world: World) -> None:
    for pkg in _of(sandbox_world, "golang"):
        module = pkg.metadata["module"]
        latest = client.get(f"/registry/goproxy/{module}/@latest").json()
        assert latest["Version"] == pkg.versions[-1]
        assert client.get(f"/registry/goproxy/{module}/@v/list").text.split() == pkg.versions
        mod = client.get(f"/registry/goproxy/{module}/@v/{pkg.versions[0]}.mod").text
        assert mod.startswith(f"module {module}\n")
        page = client.get(f"/registry/govanity/{module}/internal/x", params={"go-get": "1"}).text
        imports = re.search(r'<meta name="go-import" content="([^ ]+) git ([^"]+)">', page)
        assert imports is not None and module.startswith(imports.group(1))
        source = re.search(r'<meta name="go-source" content="[^ ]+ ([^ ]+) ', page)
        assert source is not None and source.group(1).lower().endswith(pkg.true_upstream or "-")
    x = _of(sandbox_world, "golang", "golang-x")[0]
    page = client.get(f"/registry/govanity/{x.metadata['module']}", params={"go-get": "1"}).text
    assert "https://go.googlesource.com/" in page
    assert client.get("/registry/goproxy/example.com/nope/@latest").status_code == 404


def test_maven_child_poms_inherit_scm_from_their_parent(client: httpx.Client, sandbox_world: World) -> None:
    for pkg in _of(sandbox_world, "maven", "parent-scm")[:5]:
        group = (pkg.namespace or "").replace(".", "/")
        version = pkg.versions[0]
        child = ET.fromstring(
            client.get(f"/registry/maven2/{group}/{pkg.name}/{version}/{pkg.name}-{version}.pom").text
        )
        assert child.find(f"{POM}scm") is None
        parent = child.find(f"{POM}parent")
        assert parent is not None
        g, a, v = (parent.findtext(f"{POM}{tag}") for tag in ("groupId", "artifactId", "version"))
        assert g and a and v
        url = f"/registry/maven2/{g.replace('.', '/')}/{a}/{v}/{a}-{v}.pom"
        scm = ET.fromstring(client.get(url).text).findtext(f"{POM}scm/{POM}url")
        named = pkg.declared_upstream or pkg.true_upstream  # a renamed upstream's metadata names its old name
        assert scm is not None and scm.lower().endswith(named or "-")
    meta = client.get(f"/registry/maven2/{group}/{pkg.name}/maven-metadata.xml").text
    assert f"<latest>{pkg.versions[-1]}</latest>" in meta
    assert client.get("/registry/maven2/org/none/none/1.0/none-1.0.pom").status_code == 404


def test_nuget_index_flat_container_and_nuspec(client: httpx.Client, sandbox_world: World) -> None:
    index = client.get("/registry/nuget/v3/index.json").json()
    base = next(r["@id"] for r in index["resources"] if r["@type"] == "PackageBaseAddress/3.0.0")
    assert base == "http://sandbox.test/registry/nuget/v3-flatcontainer/"
    pkg = _of(sandbox_world, "nuget", "repository-element")[0]
    lower = pkg.name.lower()
    assert client.get(f"/registry/nuget/v3-flatcontainer/{lower}/index.json").json() == {"versions": pkg.versions}
    spec = ET.fromstring(client.get(f"/registry/nuget/v3-flatcontainer/{lower}/{pkg.versions[0]}/{lower}.nuspec").text)
    ns = "{http://schemas.microsoft.com/packaging/2013/05/nuspec.xsd}"
    repo = spec.find(f"{ns}metadata/{ns}repository")
    assert repo is not None and repo.get("url") == pkg.metadata["repository"]["url"]
    assert spec.findtext(f"{ns}metadata/{ns}id") == pkg.name
    missing = client.get("/registry/nuget/v3-flatcontainer/nope/index.json")
    assert missing.status_code == 404 and "BlobNotFound" in missing.text


def test_depsdev_links_related_projects_and_scorecards(client: httpx.Client, sandbox_world: World) -> None:
    real = json.loads((Path(__file__).parent / "data" / "resolve" / "depsdev_GetVersion_pypi.json").read_text())
    systems = {"pypi": "pypi", "npm": "npm", "cargo": "cargo", "gem": "rubygems", "nuget": "nuget", "maven": "maven"}
    upstreams = {u.key: u for u in sandbox_world.upstreams}
    for pkg in sandbox_world.packages:
        if pkg.ecosystem not in systems:
            continue
        name = f"{pkg.namespace}:{pkg.name}" if pkg.ecosystem == "maven" else pkg.name
        if pkg.namespace and pkg.ecosystem == "npm":
            name = f"{pkg.namespace}/{pkg.name}"
        encoded = name.replace("@", "%40").replace("/", "%2F")
        url = f"/registry/depsdev/v3/systems/{systems[pkg.ecosystem]}/packages/{encoded}/versions/{pkg.versions[0]}"
        doc = client.get(url).json()
        assert set(real) <= set(doc)
        related = [r["projectKey"]["id"] for r in doc["relatedProjects"]]
        up = upstreams.get(pkg.true_upstream or "")
        if up is None:
            assert related == [], pkg.package_key
        elif up.host in ("github.com", "gitlab.com"):  # the project the metadata names, old name and all
            assert related == [pkg.declared_upstream or up.key], pkg.package_key
    scored = next(u for u in sandbox_world.upstreams if u.scorecard is not None and u.host == "github.com")
    project = client.get(f"/registry/depsdev/v3/projects/{scored.key.replace('/', '%2F')}").json()
    assert project["scorecard"]["overallScore"] == scored.scorecard
    assert project["projectKey"]["id"] == scored.key
    missing = client.get("/registry/depsdev/v3/systems/npm/packages/no-such-package")
    assert missing.status_code == 404 and missing.json()["code"] == 5


def test_documents_are_hashed_for_their_etag_once_when_rendered(client: httpx.Client, sandbox_world: World) -> None:
    pkg = _of(sandbox_world, "pypi")[0]
    urls = [f"/registry/pypi/pypi/{pkg.name}/json", "/registry/depsdev/v3/systems/pypi/packages/" + pep503(pkg.name)]
    for url in urls:
        first, again = client.get(url), client.get(url)
        assert first.status_code == 200 and first.headers["etag"] == etag_of(first.content)
        assert again.headers["etag"] == first.headers["etag"]
        assert client.get(url, headers={"if-none-match": first.headers["etag"]}).status_code == 304
    service = PyPIService(sandbox_world)
    answer = service.handle(
        httpx.Request("GET", f"http://sandbox.test{urls[0]}"),
        urls[0][len(service.prefix) :],
        ServiceContext("http://sandbox.test", "http://downloads.sandbox.test"),
    )
    assert answer.headers["etag"] == etag_of(answer.content)  # set by the service's cache, not by the router
    assert "etag" not in client.get("/registry/pypi/pypi/no-such-project/json").headers


BATCH = "/registry/depsdev/v3alpha/projectbatch"


def _batch(ids: list[str], token: str | None = None) -> dict[str, object]:
    body: dict[str, object] = {"requests": [{"projectKey": {"id": i}} for i in ids]}
    if token is not None:
        body["pageToken"] = token
    return body


def test_depsdev_project_batch_answers_what_get_project_answers(client: httpx.Client, sandbox_world: World) -> None:
    renamed = [former for u in sandbox_world.upstreams for former in u.former_keys]
    ids = [u.key for u in sandbox_world.upstreams] + renamed + ["github.com/no/such", "GitHub.com/Odd/Case"]
    ids.append(sandbox_world.upstreams[0].key.upper())
    answer = client.post(BATCH, json=_batch(ids))
    assert answer.status_code == 200
    page = answer.json()
    assert set(page) == {"responses"}  # one page: no nextPageToken
    assert [r["request"] for r in page["responses"]] == [{"projectKey": {"id": i}} for i in ids]  # in order
    found = 0
    for project_id, response in zip(ids, page["responses"], strict=True):
        got = client.get(f"/registry/depsdev/v3/projects/{quote(project_id, safe='')}")
        if got.status_code == 200:
            assert response["project"] == got.json(), project_id
            found += 1
        else:
            assert got.status_code == 404 and "project" not in response, project_id
    assert renamed and 0 < found < len(ids)


def test_depsdev_project_batch_pages_by_1000(client: httpx.Client, sandbox_world: World) -> None:
    ids = [u.key for u in sandbox_world.upstreams]
    ids += [f"github.com/made-up/repo{n}" for n in range(2345 - len(ids))]
    pages, token = [], None
    while True:
        answer = client.post(BATCH, json=_batch(ids, token))
        assert answer.status_code == 200
        pages.append(answer.json()["responses"])
        token = answer.json().get("nextPageToken")
        if not token:
            break
    assert [len(p) for p in pages] == [1000, 1000, 345]
    assert [r["request"]["projectKey"]["id"] for p in pages for r in p] == ids
    # a page token belongs to its requests: other requests, or one request fewer, are refused
    first_token = client.post(BATCH, json=_batch(ids)).json()["nextPageToken"]
    for body in (_batch(ids[1:], first_token), _batch(list(reversed(ids)), first_token)):
        refused = client.post(BATCH, json=body)
        assert (refused.status_code, refused.json()["code"]) == (400, 3)


@pytest.mark.parametrize(
    "body",
    [
        b"{",
        b"[]",
        b'{"requests": {}}',
        b'{"requests": [{"projectKey": {}}]}',
        b'{"requests": [{"projectKey": {"id": 7}}]}',
        b'{"requests": [], "pageSize": 10}',
        json.dumps(_batch(["github.com/a/b"], "not a token!")).encode(),
        json.dumps(_batch(["github.com/a/b"], "MTAwMDp4")).encode(),  # base64 of "1000:x": another digest
        json.dumps(_batch([f"github.com/a/b{n}" for n in range(5001)])).encode(),
    ],
)
def test_depsdev_project_batch_refuses_bad_requests_with_400(client: httpx.Client, body: bytes) -> None:
    answer = client.post(BATCH, content=body, headers={"content-type": "application/json"})
    assert answer.status_code == 400
    error = answer.json()
    assert set(error) == {"code", "message", "details"} and error["code"] == 3 and error["message"]


def test_depsdev_project_batch_is_post_only_and_post_is_for_it_only(client: httpx.Client) -> None:
    assert client.post(BATCH, json=_batch([f"github.com/a/b{n}" for n in range(5000)])).status_code == 200
    assert client.get(BATCH).status_code == 405
    assert client.post("/registry/depsdev/v3/projects/github.com%2Fa%2Fb", json={}).status_code == 405
