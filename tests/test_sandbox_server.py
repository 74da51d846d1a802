"""The router's knobs (latency, faults, rate limits, ETags, the request log) and the real loopback server."""

from __future__ import annotations

import logging
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import httpx
import pytest

from bot.sandbox import Knobs, Router, SandboxServer
from bot.sandbox.interface import ServiceContext
from bot.sandbox.model import World
from bot.sandbox.registries import registry_services
from bot.sandbox.server import FAULT_KINDS, route_of

if TYPE_CHECKING:
    from tests.sandbox_fixtures import RunningSandbox

pytest_plugins = ["tests.sandbox_fixtures"]  # harmless once the lead registers it globally


@dataclass
class EchoService:
    """A tiny service that answers with what it saw, to test the router on its own."""

    prefix: str

    def handle(self, request: httpx.Request, path: str, context: ServiceContext) -> httpx.Response:
        return httpx.Response(200, json={"prefix": self.prefix, "path": path, "base": context.base_url})


def _client(router: Router) -> httpx.Client:
    return httpx.Client(transport=httpx.MockTransport(router.handler), base_url="http://sandbox.test")


def _pypi_url(world: World) -> str:
    return f"/registry/pypi/pypi/{next(p.name for p in world.packages if p.ecosystem == 'pypi')}/json"


def test_longest_prefix_wins_and_paths_stay_encoded() -> None:
    router = Router(services=[EchoService("/api"), EchoService("/api/graphql"), EchoService("/registry/npm")])
    with _client(router) as client:
        assert client.get("/api/graphql").json()["prefix"] == "/api/graphql"
        assert client.get("/api/graphqlx").json()["path"] == "/graphqlx"
        assert client.get("/registry/npm/@scope%2Fname").json()["path"] == "/@scope%2Fname"
        assert client.get("/nowhere").status_code == 404
    with pytest.raises(ValueError, match="already mounted"):
        router.mount(EchoService("/api/"))


def test_etag_on_every_get_and_304_for_if_none_match(sandbox_world: World) -> None:
    router = Router(sandbox_world, services=registry_services(sandbox_world))
    with _client(router) as client:
        first = client.get(_pypi_url(sandbox_world))
        etag = first.headers["etag"]
        again = client.get(_pypi_url(sandbox_world), headers={"if-none-match": etag})
        assert (again.status_code, again.content, again.headers["etag"]) == (304, b"", etag)
        other = client.get(_pypi_url(sandbox_world), headers={"if-none-match": 'W/"something-else"'})
        assert other.status_code == 200 and other.content == first.content
    assert router.stats()["by_status"] == {"200": 2, "304": 1}


def test_per_token_rate_limit_with_github_headers() -> None:
    now = [1_000_000.0]
    router = Router(services=[EchoService("/api/v3"), EchoService("/registry/pypi")], clock=lambda: now[0])
    router.knobs = Knobs(rate_limit=3, rate_limit_window_seconds=60)
    with _client(router) as client:
        a = {"authorization": "Bearer token-a"}
        answers = [client.get("/api/v3/rate_limit", headers=a) for _ in range(4)]
        assert [r.status_code for r in answers] == [200, 200, 200, 403]
        assert answers[2].headers["x-ratelimit-remaining"] == "0"
        assert answers[3].json()["message"].startswith("API rate limit exceeded")
        assert answers[3].headers["x-ratelimit-reset"] == str(int(now[0]) + 60)
        assert client.get("/api/v3/x", headers={"authorization": "Bearer token-b"}).status_code == 200
        registry = [client.get("/registry/pypi/x").status_code for _ in range(4)]
        assert registry == [200, 200, 200, 429]
        now[0] += 61
        assert client.get("/api/v3/rate_limit", headers=a).status_code == 200
    assert all(r.token != "token-a" for r in router.log)  # fingerprints only, never the token


def test_faults_are_deterministic_and_of_every_kind() -> None:
    def statuses(seed: int) -> list[int | str]:
        router = Router(services=[EchoService("/api/v3")], knobs=Knobs(fault_rate=0.4, fault_seed=seed))
        out: list[int | str] = []
        with _client(router) as client:
            for n in range(40):
                try:
                    out.append(client.get(f"/api/v3/items/{n % 7}").status_code)
                except httpx.HTTPError as exc:
                    out.append(type(exc).__name__)
        return out

    assert statuses(1) == statuses(1)
    assert statuses(1) != statuses(2)
    assert any(s != 200 for s in statuses(1)) and 200 in statuses(1)
    router = Router(services=[EchoService("/api/v3"), EchoService("/slack/api")])
    with _client(router) as client:
        for kind in ("500", "502", "429", "403"):
            router.knobs = Knobs(
                fault_rate=1.0, fault_kinds=(kind,), retry_after_seconds=7, time_compression=1, headerless_share=0.0
            )
            response = client.get("/api/v3/repos")
            assert response.status_code == int(kind)
            if kind in ("429", "403"):
                assert response.headers["retry-after"] == "7"
                assert "secondary rate limit" in response.json()["message"]
        router.knobs = Knobs(fault_rate=1.0, fault_kinds=("429",))
        assert client.post("/slack/api/chat.postMessage").json() == {"ok": False, "error": "ratelimited"}
        for kind, error in (
            ("reset", httpx.ReadError),
            ("timeout", httpx.ReadTimeout),
            ("truncated", httpx.RemoteProtocolError),
        ):
            router.knobs = Knobs(fault_rate=1.0, fault_kinds=(kind,))
            with pytest.raises(error):
                client.get("/api/v3/repos")
        router.knobs = Knobs(fault_rate=1.0, fault_prefixes=("/slack/api",))
        assert client.get("/api/v3/repos").status_code == 200
    assert set(router.stats()["faults"]) == set(FAULT_KINDS)
    with pytest.raises(ValueError, match="fault_kinds"):
        Knobs(fault_kinds=("418",))


def test_request_log_counts_per_service_and_route(sandbox_world: World) -> None:
    router = Router(sandbox_world, services=registry_services(sandbox_world))
    with _client(router) as client:
        for pkg in [p for p in sandbox_world.packages if p.ecosystem == "pypi"][:3]:
            client.get(f"/registry/pypi/pypi/{pkg.name}/json")
        client.get("/registry/nuget/v3/index.json")
    stats = router.stats()
    assert stats["total"] == 4
    assert stats["by_service"] == {"/registry/nuget": 1, "/registry/pypi": 3}
    assert stats["by_route"]["/registry/pypi GET /pypi/{}/json"] == 3
    assert route_of("/repos/acme/widget/issues/12") == "/repos/{}/issues/{id}"
    router.reset_stats()
    assert router.stats()["total"] == 0


def test_served_over_a_real_socket_with_latency_that_overlaps(sandbox: RunningSandbox) -> None:
    sandbox.router.knobs = Knobs(latency_ms=200)
    url = f"{sandbox.base_url}{_pypi_url(sandbox.world)}"
    started = time.perf_counter()
    with httpx.Client() as client, ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: client.get(url), range(8)))
    elapsed = time.perf_counter() - started
    assert all(a.status_code == 200 for a in answers)
    assert 0.2 <= elapsed < 1.4  # eight requests of 200 ms each: 1.6 s one after the other
    assert answers[0].json()["info"]["name"] in url
    alt = httpx.get(url.replace(sandbox.base_url, sandbox.alt_base_url))
    assert alt.content == answers[0].content
    assert sandbox.router.stats()["by_service"] == {"/registry/pypi": 9}


def test_socket_faults_are_real_in_server_mode(sandbox: RunningSandbox) -> None:
    url = f"{sandbox.base_url}{_pypi_url(sandbox.world)}"
    sandbox.router.knobs = Knobs(fault_rate=1.0, fault_kinds=("truncated",))
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.get(url)
    sandbox.router.knobs = Knobs(fault_rate=1.0, fault_kinds=("reset",))
    with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError, httpx.ConnectError)):
        httpx.get(url)
    sandbox.router.knobs = Knobs(fault_rate=1.0, fault_kinds=("timeout",), timeout_seconds=1.0)
    with pytest.raises(httpx.ReadTimeout):
        httpx.get(url, timeout=0.3)
    sandbox.router.knobs = replace(sandbox.router.knobs, fault_rate=0.0)
    assert httpx.get(url).status_code == 200


def test_standalone_server_as_context_manager(sandbox_world: World) -> None:
    router = Router(sandbox_world, services=[EchoService("/echo")])
    with SandboxServer(router=router) as server:
        answer = httpx.get(f"{server.base_url}/echo/hello").json()
        assert answer == {"prefix": "/echo", "path": "/hello", "base": server.base_url}
        assert server.alt_base_url == f"http://localhost:{server.port}"
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{server.base_url}/echo/hello", timeout=1)


def test_github_and_slack_clients_work_against_the_served_world(sandbox: RunningSandbox) -> None:
    if "/api/v3" not in sandbox.router.prefixes or "/slack/api" not in sandbox.router.prefixes:
        pytest.fail("the GitHub REST and Slack services should be mounted by default")
    from github import Auth, Github
    from slack_sdk import WebClient

    gh = Github(base_url=f"{sandbox.base_url}/api/v3", auth=Auth.Token(sandbox.world.tokens["github"][0]))
    org = sandbox.world.orgs[0]
    names = {r.name for r in gh.get_organization(org).get_repos()}
    assert names and names <= {r.name for r in sandbox.world.internal_repos if r.org == org}
    slack = WebClient(token=sandbox.world.tokens["slack"][0], base_url=f"{sandbox.base_url}/slack/api/")
    assert slack.auth_test()["ok"] is True
    counts = sandbox.router.stats()["by_service"]
    assert counts["/api/v3"] >= 2 and counts["/slack/api"] == 1


@contextmanager
def _cli_serve(*options: str) -> Iterator[tuple[str, str]]:
    """``upkeep sandbox serve`` in a subprocess: (base URL, everything it printed up to "serving")."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "bot", "sandbox", "serve", "--port", "0", *options]
    proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert proc.stdout is not None
        lines: list[str] = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not any(line.startswith("serving") for line in lines):
            lines.append(proc.stdout.readline())
        text = "".join(lines)
        match = re.search(r"GitHub REST\s+(http://127\.0\.0\.1:\d+)/api/v3", text)
        assert match, text
        yield match.group(1), text
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=10)
    assert proc.returncode == 0


def test_cli_serve_prints_working_urls_and_stops_on_interrupt(sandbox_world: World) -> None:
    with _cli_serve("--latency-ms", "1") as (base, text):
        assert f"export GITHUB_TOKEN={sandbox_world.tokens['github'][0]}" in text
        assert '[registries]\npypi = "' in text
        assert "enterprise_server" not in text
        answer = httpx.get(f"{base}{_pypi_url(sandbox_world)}", timeout=10)
        assert answer.status_code == 200 and "etag" in answer.headers


def _sbom_sync_status(base_url: str, world: World) -> int:
    repo = next(r for r in world.internal_repos if r.dependency_graph_enabled and r.dependencies)
    headers = {"authorization": f"Bearer {world.tokens['github'][0]}"}
    url = f"{base_url}/api/v3/repos/{repo.full_name}/dependency-graph/sbom"
    return httpx.get(url, headers=headers, timeout=10).status_code


def test_cli_serve_enterprise_server_serves_the_synchronous_sbom_route(sandbox_world: World) -> None:
    with _cli_serve("--enterprise-server") as (base, text):
        assert "GitHub Enterprise Server" in text
        settings = tomllib.loads(text.split("# config snippet (e.g. config/sandbox.toml)", 1)[1].split("# fake", 1)[0])
        assert settings["github"]["enterprise_server"] is True
        assert _sbom_sync_status(base, sandbox_world) == 200


def test_server_passes_service_options_to_its_services(sandbox_world: World) -> None:
    options = {"GitHubRestService": {"enterprise_server": True}}
    with SandboxServer(sandbox_world, service_options=options) as ghes, SandboxServer(sandbox_world) as dotcom:
        assert _sbom_sync_status(ghes.base_url, sandbox_world) == 200
        assert _sbom_sync_status(dotcom.base_url, sandbox_world) == 404  # github.com: the asynchronous export only
    with pytest.raises(ValueError, match="service_options"):
        SandboxServer(router=Router(sandbox_world), service_options=options)


def _wait_for(caplog: pytest.LogCaptureFixture, text: str, count: int, seconds: float = 5.0) -> list[str]:
    """The captured messages holding ``text``, once there are ``count`` of them (or the time is up)."""
    deadline = time.monotonic() + seconds
    found: list[str] = []
    while time.monotonic() < deadline and len(found) < count:
        time.sleep(0.02)
        found = [r.getMessage() for r in caplog.records if text in r.getMessage()]
    return found


def _reset(sock: socket.socket) -> None:
    """Close with an RST, as the kernel does for a process killed with SIGKILL mid-request."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def test_a_client_that_dies_mid_request_is_a_debug_line_not_a_traceback(
    sandbox: RunningSandbox, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG, logger="bot.sandbox.server")
    server_log = logging.getLogger("bot.sandbox.server")
    server_log.addHandler(caplog.handler)  # "bot" may not propagate once the CLI has configured logging
    try:
        _die_mid_request(sandbox)
        gone = _wait_for(caplog, "went away", count=2)
    finally:
        server_log.removeHandler(caplog.handler)
    assert len(gone) >= 2, [r.getMessage() for r in caplog.records]
    err = capfd.readouterr().err
    assert "Traceback" not in err and "ConnectionResetError" not in err and "BrokenPipeError" not in err
    sandbox.router.knobs = Knobs()
    assert httpx.get(f"{sandbox.base_url}{_pypi_url(sandbox.world)}").status_code == 200  # still serving


def _die_mid_request(sandbox: RunningSandbox) -> None:
    """Two clients reset their connection: one while the server reads its request, one while it answers."""
    host, port = "127.0.0.1", sandbox.server.port
    # dies while the server reads the request
    half = socket.create_connection((host, port))
    half.sendall(b"GET /registry/pypi/pypi/x/json HTTP/1.1\r\nHost: x\r\n")
    time.sleep(0.1)
    _reset(half)
    # dies while the server is answering (the latency holds the answer back until after the reset)
    sandbox.router.knobs = Knobs(latency_ms=300)
    whole = socket.create_connection((host, port))
    whole.sendall(f"GET {_pypi_url(sandbox.world)} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
    time.sleep(0.05)
    _reset(whole)
    time.sleep(0.5)  # the answer goes out after the reset


def test_service_options_reach_the_optional_services(sandbox_world: World) -> None:
    repo = next(r for r in sandbox_world.internal_repos if r.dependency_graph_enabled and r.dependencies)
    headers = {"authorization": f"Bearer {sandbox_world.tokens['github'][0]}"}
    url = f"/api/v3/repos/{repo.full_name}/dependency-graph/sbom"
    statuses = []
    for ghes in (False, True):
        router = Router(sandbox_world, service_options={"GitHubRestService": {"enterprise_server": ghes}})
        with _client(router) as client:
            answer = client.get(url, headers=headers)
            statuses.append(answer.status_code)
            if ghes:
                assert answer.json()["sbom"]["spdxVersion"] == "SPDX-2.3"
    assert statuses[0] != 200 and statuses[1] == 200


def test_cli_serve_prints_the_gitlab_and_forgejo_that_answer_with_their_tokens(sandbox_world: World) -> None:
    with _cli_serve() as (_base, text):
        gitlab = re.search(r"^  GitLab\s+(\S+)", text, re.MULTILINE)
        forgejo = re.search(r"^  Forgejo\s+(\S+)", text, re.MULTILINE)
        assert gitlab and forgejo, text
        assert f"export GITLAB_TOKEN={sandbox_world.tokens['gitlab'][0]}" in text
        settings = tomllib.loads(text.split("# config snippet (e.g. config/sandbox.toml)", 1)[1].split("# fake", 1)[0])
        assert [f["kind"] for f in settings["forges"]] == ["gitlab", "forgejo"]
        org = sandbox_world.orgs[0]
        members = httpx.get(
            f"{gitlab.group(1)}/groups/{org}/members/all",
            headers={"PRIVATE-TOKEN": sandbox_world.tokens["gitlab"][0]},
            timeout=10,
        )
        assert members.status_code == 200 and members.json()
        assert httpx.get(f"{gitlab.group(1)}/groups/{org}/members/all", timeout=10).status_code == 401
        orgs = httpx.get(
            f"{forgejo.group(1)}/orgs/{org}/members",
            headers={"authorization": f"token {sandbox_world.tokens['forgejo'][0]}"},
            timeout=10,
        )
        assert orgs.status_code == 200 and {m["login"] for m in orgs.json()} == set(sandbox_world.forgejo_orgs[org])
