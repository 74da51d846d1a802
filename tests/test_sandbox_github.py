"""The sandbox's GitHub REST fake: contract (GitHub's OpenAPI), behaviour, SBOM export flow, PyGithub."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import github
import httpx
import jsonschema
import pytest
from openapi_core import OpenAPI
from openapi_core.datatypes import RequestParameters
from openapi_core.validation.response.exceptions import InvalidData
from werkzeug.datastructures import Headers, ImmutableMultiDict

from bot.sandbox.generate import generate_world
from bot.sandbox.github_rest import GitHubRestService
from bot.sandbox.model import World
from bot.sandbox.sbom_export import SbomDownloadService, build_sbom
from bot.sandbox.server import SandboxServer
from tests.sandbox_handmade import CONTEXT, GITHUB_TOKEN, make_world, route, serve

DATA = Path(__file__).parent / "data"
API = f"{CONTEXT.base_url}/api/v3"


@pytest.fixture(scope="module")
def openapi() -> OpenAPI:
    return OpenAPI.from_dict(json.loads((DATA / "specs/github/rest-openapi-subset.json").read_text()))


@pytest.fixture
def world() -> World:
    return make_world()


def client(world: World, token: str | None = GITHUB_TOKEN, **kw: Any) -> httpx.Client:
    handler = route([GitHubRestService(world, **kw), SbomDownloadService(world)])
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(transport=httpx.MockTransport(handler), base_url=API, headers=headers)


@dataclass
class _Req:
    """openapi-core's request protocol for a request made to the sandbox (spec server: api.github.com)."""

    method: str
    path: str
    query: dict[str, str]
    host_url: str = "https://api.github.com"
    content_type: str = "application/json"
    body: bytes | None = None

    def __post_init__(self) -> None:
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(self.query), header=Headers(), cookie=ImmutableMultiDict()
        )

    @property
    def full_url_pattern(self) -> str:
        return self.host_url + self.path


@dataclass
class _Resp:
    status_code: int
    data: bytes
    content_type: str
    headers: Headers


def check_contract(openapi: OpenAPI, request: httpx.Request, response: httpx.Response) -> None:
    """Validate ``response`` against the operation GitHub's OpenAPI subset gives for ``request``."""
    path = request.url.path.removeprefix("/api/v3")
    head, sep, file_path = path.partition("/contents/")
    if sep:  # openapi-core's {path} template matches one segment: send the file path as one
        path = head + sep + file_path.replace("/", "%2F")
    req = _Req(request.method.lower(), path, dict(request.url.params.items()), body=request.content or None)
    resp = _Resp(
        response.status_code,
        response.content,
        response.headers.get("content-type", "application/json").split(";")[0],
        Headers(list(response.headers.items())),
    )
    openapi.validate_response(req, resp)  # type: ignore[arg-type]


CONTRACT_CALLS = [
    ("GET", "/rate_limit", None, 200),
    ("GET", "/users/alice", None, 200),
    ("GET", "/users/nateprewitt", None, 200),
    ("GET", "/users/no-such-person", None, 404),
    ("GET", "/orgs/acme", None, 200),
    ("GET", "/orgs/acme/repos?per_page=2&page=2", None, 200),
    ("GET", "/orgs/acme/members", None, 200),
    ("GET", "/repos/psf/requests", None, 200),
    ("GET", "/repos/acme/web", None, 200),
    ("GET", "/repos/nobody/nothing", None, 404),
    ("GET", "/repos/psf/requests/license", None, 200),
    ("GET", "/repos/psf/requests/contents/.github/FUNDING.yml", None, 200),
    ("GET", "/repos/babel/babel/contents/funding.json", None, 200),
    ("GET", "/repos/psf/requests/contents/README.md", None, 404),
    ("GET", "/repos/psf/requests/contributors?anon=1", None, 200),
    ("GET", "/repos/psf/requests/commits?per_page=2", None, 200),
    ("GET", "/repos/psf/requests/releases/latest", None, 200),
    ("GET", "/repos/psf/requests/topics", None, 200),
    ("GET", "/repos/acme/ospo/labels", None, 200),
    ("POST", "/repos/acme/ospo/labels", {"name": "upkeep:new", "color": "0e8a16"}, 201),
    ("GET", "/repos/acme/ospo/issues?state=all", None, 200),
    (
        "POST",
        "/repos/acme/ospo/issues",
        {"title": "Gap: requests", "body": "<!-- upkeep:gap:x -->", "labels": ["upkeep"]},
        201,
    ),
    ("GET", "/repos/acme/ospo/issues/1", None, 200),
    ("PATCH", "/repos/acme/ospo/issues/1", {"state": "closed", "state_reason": "not_planned"}, 200),
    ("POST", "/repos/acme/ospo/issues/1/comments", {"body": "Still relevant."}, 201),
    ("GET", "/repos/acme/ospo/issues/1/comments", None, 200),
    ("GET", "/search/issues?q=repo:acme/ospo+is:issue+label:upkeep", None, 200),
    ("GET", "/repos/acme/web/dependency-graph/sbom/generate-report", None, 201),
    ("GET", "/repos/acme/legacy/dependency-graph/sbom/generate-report", None, 403),
]


@pytest.mark.parametrize(
    ("method", "path", "body", "status"), CONTRACT_CALLS, ids=[f"{c[0]} {c[1]}" for c in CONTRACT_CALLS]
)
def test_route_matches_githubs_openapi(
    openapi: OpenAPI, world: World, method: str, path: str, body: Any, status: int
) -> None:
    with client(world) as c:
        response = c.request(method, path, json=body)
    assert response.status_code == status, response.text
    check_contract(openapi, response.request, response)


def test_contract_check_catches_a_wrong_shape(openapi: OpenAPI, world: World) -> None:
    with client(world) as c:
        response = c.get("/repos/psf/requests")
    broken = response.json()
    del broken["full_name"]
    with pytest.raises(InvalidData):
        check_contract(openapi, response.request, httpx.Response(200, json=broken))


def test_sbom_export_flow_and_fetch_report_contract(openapi: OpenAPI, world: World) -> None:
    with client(world, pending_polls=2) as c:
        sbom_url = c.get("/repos/acme/web/dependency-graph/sbom/generate-report").json()["sbom_url"]
        assert sbom_url.startswith(f"{API}/repos/acme/web/dependency-graph/sbom/fetch-report/")
        polls = [c.get(sbom_url) for _ in range(3)]
    assert [p.status_code for p in polls] == [202, 202, 302]
    for poll in polls:
        check_contract(openapi, poll.request, poll)
    location = polls[-1].headers["location"]
    assert location.startswith(f"{CONTEXT.alt_base_url}/sbom-downloads/")
    handler = route([GitHubRestService(world), SbomDownloadService(world)])
    with httpx.Client(transport=httpx.MockTransport(handler)) as plain:
        document = plain.get(location).json()
        refused = plain.get(location, headers={"Authorization": f"Bearer {GITHUB_TOKEN}"})
    assert document["name"] == "acme/web" and "sbom" not in document
    assert refused.status_code == 400 and "Authorization" in refused.text


def test_fetch_report_for_an_unknown_uuid_is_404(world: World) -> None:
    with client(world) as c:
        assert (
            c.get("/repos/acme/web/dependency-graph/sbom/fetch-report/00000000-0000-4000-8000-000000000000").status_code
            == 404
        )


def test_httpx_following_redirects_forwards_no_token_to_the_download_host(world: World) -> None:
    with client(world, pending_polls=0) as c:
        sbom_url = c.get("/repos/acme/web/dependency-graph/sbom/generate-report").json()["sbom_url"]
        response = c.get(sbom_url, follow_redirects=True)
    # httpx strips Authorization on a cross-origin redirect, so the download host serves it.
    assert response.status_code == 200
    assert response.json()["documentNamespace"].startswith("https://spdx.org/spdxdocs/protobom/")


def test_enterprise_server_mode_has_only_the_synchronous_route(openapi: OpenAPI, world: World) -> None:
    with client(world, enterprise_server=True) as ghes, client(world) as dotcom:
        sync = ghes.get("/repos/acme/web/dependency-graph/sbom")
        assert ghes.get("/repos/acme/web/dependency-graph/sbom/generate-report").status_code == 404
        assert dotcom.get("/repos/acme/web/dependency-graph/sbom").status_code == 404
    assert sync.status_code == 200
    check_contract(openapi, sync.request, sync)
    assert sync.json()["sbom"] == build_sbom(world, world.internal_repos[0])


def test_sbom_document_has_githubs_export_shape(world: World) -> None:
    repo = next(r for r in world.internal_repos if r.name == "web")
    document = build_sbom(world, repo)
    schema = json.loads((DATA / "specs/spdx/spdx-2.3-schema.json").read_text())
    jsonschema.validate(document, schema)
    example = json.loads((DATA / "sboms/github-dependency-graph-sbom_docs-example.json").read_text())["sbom"]
    assert set(example) <= set(document)
    assert document["creationInfo"]["creators"] == ["Tool: protobom-devel", "Tool: GitHub.com-Dependency-Graph"]
    purls = {p["name"]: p["externalRefs"][0]["referenceLocator"] for p in document["packages"]}
    versions = {p["name"]: p.get("versionInfo") for p in document["packages"]}
    assert purls["acme/web"] == "pkg:github/acme/web@main"
    assert purls["@babel/core"] == "pkg:npm/%40babel/core@7.24.0"
    assert purls["actions/github-script"] == "pkg:githubactions/actions/github-script@7.%2A.%2A"
    assert versions["actions/github-script"] == "7.*.*"
    assert purls["sphinx-autobuild"] == "pkg:pypi/sphinx-autobuild" and versions["sphinx-autobuild"] is None
    assert "Exact versions could not be resolved" in document["comment"]


def test_sbom_relationships_tell_direct_transitive_and_development(world: World) -> None:
    repo = next(r for r in world.internal_repos if r.name == "web")
    document = build_sbom(world, repo)
    ids = {p["SPDXID"]: p["name"] for p in document["packages"]}
    edges = {
        (
            ids.get(r["spdxElementId"], r["spdxElementId"]),
            r["relationshipType"],
            ids.get(r["relatedSpdxElement"], r["relatedSpdxElement"]),
        )
        for r in document["relationships"]
    }
    assert ("SPDXRef-DOCUMENT", "DESCRIBES", "acme/web") in edges
    direct_runtime = {d.package.rsplit("/", 1)[-1] for d in repo.dependencies if d.direct and d.scope == "runtime"}
    assert (
        {c for (p, t, c) in edges if p == "acme/web" and t == "DEPENDS_ON"}
        == {"@babel/core", "requests"}
        == {n if n != "core" else "@babel/core" for n in direct_runtime}
    )
    assert {p for (p, t, c) in edges if t == "DEV_DEPENDENCY_OF"} == {
        "sphinx-autobuild",
        "pytest",
        "actions/github-script",
    }
    lodash_parent = next(p for (p, t, c) in edges if c == "lodash")
    pluggy_parent = next(p for (p, t, c) in edges if c == "pluggy")
    assert lodash_parent in {"@babel/core", "requests"}  # a runtime direct dependency
    assert pluggy_parent in {"sphinx-autobuild", "pytest", "actions/github-script"}  # a development one


def test_sbom_is_deterministic_per_seed(world: World) -> None:
    repo = world.internal_repos[0]
    again = make_world()
    assert build_sbom(world, repo) == build_sbom(again, again.internal_repos[0])
    again.seed = 8
    assert (
        build_sbom(again, again.internal_repos[0])["documentNamespace"] != build_sbom(world, repo)["documentNamespace"]
    )


def test_pagination_link_header_walks_every_org_repo(world: World) -> None:
    seen: list[str] = []
    with client(world) as c:
        url: str | None = "/orgs/acme/repos?per_page=2"
        while url:
            response = c.get(url)
            seen += [r["full_name"] for r in response.json()]
            url = response.links.get("next", {}).get("url")
    assert seen == [r.full_name for r in world.internal_repos]
    assert response.links["first"]["url"].startswith(f"{API}/orgs/acme/repos?")


def test_wrong_token_is_bad_credentials_and_no_token_reads_public_only(world: World) -> None:
    with client(world, token="ghp_wrong") as wrong, client(world, token=None) as anonymous:
        bad = wrong.get("/repos/psf/requests")
        assert bad.status_code == 401 and bad.json()["message"] == "Bad credentials"
        assert anonymous.get("/repos/psf/requests").status_code == 200
        assert anonymous.get("/repos/acme/api").status_code == 404  # private
        assert [r["name"] for r in anonymous.get("/orgs/acme/repos").json()] == ["web", "ospo", "legacy", "fork-of-x"]
        assert anonymous.get("/orgs/acme/members").json() == []
        denied = anonymous.post("/repos/acme/ospo/issues", json={"title": "x"})
        assert denied.status_code == 401 and denied.json()["message"] == "Requires authentication"


def test_members_exclude_bots_and_non_members(world: World) -> None:
    with client(world) as c:
        logins = [m["login"] for m in c.get("/orgs/acme/members").json()]
    assert logins == [p.login for p in world.people if p.org_member and not p.is_bot]
    assert "dependabot[bot]" not in logins and "carol" not in logins


def test_rate_limit_headers_count_calls(world: World) -> None:
    with client(world) as c:
        first = c.get("/repos/psf/requests").headers
        second = c.get("/repos/psf/requests").headers
        search = c.get("/search/issues", params={"q": "gap"}).headers
    assert int(first["x-ratelimit-remaining"]) - int(second["x-ratelimit-remaining"]) == 1
    assert second["x-ratelimit-limit"] == "5000" and search["x-ratelimit-resource"] == "search"


def test_licence_follows_the_scan(world: World) -> None:
    with client(world) as c:
        before = c.get("/repos/hashicorp/terraform").json()["license"]["spdx_id"]
        world.scan = 1
        after = c.get("/repos/hashicorp/terraform").json()["license"]["spdx_id"]
        licence = c.get("/repos/hashicorp/terraform/license").json()
    terraform = next(u for u in world.upstreams if u.name == "terraform")
    assert (before, after) == (terraform.licenses[0], terraform.licenses[1])
    assert licence["license"]["spdx_id"] == after
    assert c is not None


def test_funding_file_content_is_base64_of_the_world_text(world: World) -> None:
    with client(world) as c:
        body = c.get("/repos/psf/requests/contents/.github/FUNDING.yml").json()
    requests_repo = next(u for u in world.upstreams if u.name == "requests")
    assert base64.b64decode(body["content"]).decode() == requests_repo.funding_yml


def test_contributors_and_commits_come_from_history(world: World) -> None:
    requests_repo = next(u for u in world.upstreams if u.name == "requests")
    with client(world) as c:
        contributors = c.get("/repos/psf/requests/contributors").json()
        with_anon = c.get("/repos/psf/requests/contributors", params={"anon": "1"}).json()
        since = requests_repo.commits[1].committed_at.strftime("%Y-%m-%dT%H:%M:%SZ")
        recent = c.get("/repos/psf/requests/commits", params={"since": since}).json()
    by_login: dict[str, int] = {}
    for commit in requests_repo.commits:
        if commit.author_login:
            by_login[commit.author_login] = by_login.get(commit.author_login, 0) + 1
    assert {x["login"]: x["contributions"] for x in contributors} == by_login
    anonymous = [x for x in with_anon if x["type"] == "Anonymous"]
    assert len(with_anon) == len(contributors) + 1
    assert [x["email"] for x in anonymous] == [c.author_email for c in requests_repo.commits if not c.author_login]
    assert [x["sha"] for x in recent] == [c.sha for c in requests_repo.commits[:2]]


def test_issue_list_filters_and_search(world: World) -> None:
    with client(world) as c:
        created = c.post(
            "/repos/acme/ospo/issues",
            json={"title": "Gap: babel", "body": "<!-- upkeep:gap:babel -->", "labels": ["upkeep", "gap"]},
        )
        mine = c.get(
            "/repos/acme/ospo/issues", params={"creator": "upkeep-bot", "labels": "upkeep,gap", "state": "all"}
        ).json()
        found = c.get("/search/issues", params={"q": 'repo:acme/ospo is:issue in:body "upkeep:gap:babel"'}).json()
        closed = c.get("/repos/acme/ospo/issues", params={"state": "closed"}).json()
    assert created.status_code == 201 and created.json()["number"] == 3
    assert [i["number"] for i in mine] == [3, 1] and all("pull_request" not in i for i in mine)
    assert [i["number"] for i in found["items"]] == [3] and found["total_count"] == 1
    assert [i["number"] for i in closed] == [2]


def test_issue_body_over_githubs_limit_is_rejected(world: World) -> None:
    with client(world) as c:
        response = c.post("/repos/acme/ospo/issues", json={"title": "big", "body": "x" * 65537})
        garbled = c.post("/repos/acme/ospo/issues", content=b"{not json")
    assert garbled.status_code == 400 and garbled.json()["message"] == "Problems parsing JSON"
    assert response.status_code == 422
    assert "body is too long" in response.json()["errors"][0]["message"]


@pytest.fixture
def served() -> Iterator[tuple[World, str]]:
    world = make_world()
    with serve(world, [GitHubRestService(world), SbomDownloadService(world)]) as base:
        yield world, base


def test_pygithub_lists_repos_and_manages_an_issue(served: tuple[World, str]) -> None:
    world, base = served
    gh = github.Github(
        auth=github.Auth.Token(GITHUB_TOKEN),
        base_url=f"{base}/api/v3",
        per_page=2,
        retry=None,
        seconds_between_requests=None,
        seconds_between_writes=None,
    )
    org = gh.get_organization("acme")
    assert [r.name for r in org.get_repos()] == [r.name for r in world.internal_repos]
    repo = gh.get_repo("psf/requests")
    assert repo.license.spdx_id == "Apache-2.0" and not repo.archived
    assert gh.get_repo("lodash/lodash").archived
    ospo = gh.get_repo("acme/ospo")
    issue = ospo.create_issue(title="Gap: requests", body="<!-- upkeep:gap:requests -->", labels=["upkeep"])
    issue.edit(body="updated body")
    issue.create_comment("closing: funded")
    issue.edit(state="closed", state_reason="completed")
    stored = next(i for i in world.issues["acme/ospo"] if i.number == issue.number)
    assert (stored.state, stored.state_reason, stored.body, stored.labels) == (
        "closed",
        "completed",
        "updated body",
        ["upkeep"],
    )
    assert [c.body for c in stored.comments] == ["closing: funded"]
    assert ospo.get_issue(issue.number).state == "closed"


def test_generated_world_on_the_sandbox_server() -> None:
    world = generate_world(seed=5, scale="small")
    token = world.tokens["github"][0]
    org = world.orgs[0]
    with SandboxServer(world) as server:
        gh = github.Github(
            auth=github.Auth.Token(token),
            base_url=f"{server.base_url}/api/v3",
            retry=None,
            seconds_between_requests=None,
            seconds_between_writes=None,
        )
        names = [r.full_name for r in gh.get_organization(org).get_repos()]
        assert names == [r.full_name for r in world.internal_repos if r.org == org]
        repo = next(r for r in world.internal_repos if r.org == org and r.dependency_graph_enabled and r.dependencies)
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=f"{server.base_url}/api/v3", headers=headers, follow_redirects=True) as c:
            sbom_url = c.get(f"/repos/{repo.full_name}/dependency-graph/sbom/generate-report").json()["sbom_url"]
            responses = [c.get(sbom_url) for _ in range(2)]
            first = c.get(f"/repos/{repo.full_name}")
            again = c.get(f"/repos/{repo.full_name}", headers={"If-None-Match": first.headers["etag"]})
    assert [r.status_code for r in responses] == [202, 200]
    assert responses[1].url.host == "localhost"  # the other host, reached without the token
    document = responses[1].json()
    assert len(document["packages"]) == 1 + len({(d.package, d.version) for d in repo.dependencies})
    assert again.status_code == 304


def test_upkeeps_parser_reads_direct_and_scope_back_from_every_generated_sbom() -> None:
    from bot.inventory.detect import parse_bytes
    from bot.records import SbomFormat

    world = generate_world(seed=5, scale="small")
    index = {p.package_key: p for p in world.packages}
    checked = 0
    for repo in world.internal_repos:
        parsed = parse_bytes(json.dumps(build_sbom(world, repo, index)).encode(), source=repo.full_name)
        assert parsed.format is SbomFormat.GITHUB_EXPORT
        got = {u.component_key: (u.depth.value, u.scope.value) for u in parsed.usages}
        for document_package in build_sbom(world, repo, index)["packages"][1:]:
            purl = document_package["externalRefs"][0]["referenceLocator"]
            dep = next(
                d
                for d in repo.dependencies
                if _spdx_name(d.package) == document_package["name"]
                and (d.version or None) == document_package.get("versionInfo")
            )
            depth, scope = got[purl]
            assert depth == ("direct" if dep.direct else "transitive"), (repo.full_name, purl)
            if any(d.direct and d.scope == dep.scope for d in repo.dependencies):  # else no parent can say it
                assert scope == dep.scope, (repo.full_name, purl)
            checked += 1
    assert checked > 100


def _spdx_name(package_key: str) -> str:
    eco, _, rest = package_key.partition("/")
    return rest.replace("/", ":") if eco == "maven" else rest
