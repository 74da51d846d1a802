"""deps.dev projects asked in batches (v3alpha ``GetProjectBatch``), with the per-project GET as the fallback."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import httpx
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, select

from bot.config import Settings, SignalsSettings
from bot.http import RateLimited, make_client
from bot.sandbox.generate import generate_world
from bot.sandbox.model import World
from bot.sandbox.server import Router
from bot.sources.github_signals import CallCounter, DepsDevProjects
from bot.sources.signals_stage import DEPSDEV_PROJECT_HOSTS, SignalsSummary, gather_signals
from bot.store.engine import make_engine
from bot.store.tables import UpstreamSignalRow
from tests.test_signals_sandbox import BASE, secrets, seed, settings

DEPSDEV = f"{BASE}/registry/depsdev"
BATCH_URL = f"{DEPSDEV}/v3alpha/projectbatch"
LOGGER = "bot.sources.github_signals"
Handler = Callable[[httpx.Request], httpx.Response]


# --------------------------------------------------------------------------------------------- a tiny fake


@dataclass
class FakeDepsDev:
    """Projects by id; ``batch`` answers a POST body (None: the real shape, paginated by ``page``)."""

    projects: dict[str, dict[str, Any]]
    page: int = 2
    batch: Callable[[dict[str, Any], int], httpx.Response] | None = None
    posts: list[dict[str, Any]] = field(default_factory=list)
    gets: list[str] = field(default_factory=list)

    def handler(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and str(request.url) == BATCH_URL:
            body = json.loads(request.content)
            self.posts.append(body)
            if self.batch is not None:
                return self.batch(body, len(self.posts))
            ids = [r["projectKey"]["id"] for r in body["requests"]]
            start = int(body.get("pageToken") or 0)
            page: dict[str, Any] = {"responses": []}
            for project_id in ids[start : start + self.page]:
                item: dict[str, Any] = {"request": {"projectKey": {"id": project_id}}}
                if project_id in self.projects:
                    item["project"] = self.projects[project_id]
                page["responses"].append(item)
            if start + self.page < len(ids):
                page["nextPageToken"] = str(start + self.page)
            return httpx.Response(200, json=page)
        prefix = f"{DEPSDEV}/v3/projects/"
        if request.method == "GET" and str(request.url).startswith(prefix):
            encoded = request.url.raw_path.decode().removeprefix("/registry/depsdev/v3/projects/")
            assert "/" not in encoded  # the id is one path segment
            project_id = unquote(encoded)
            self.gets.append(project_id)
            if project_id in self.projects:
                return httpx.Response(200, json=self.projects[project_id])
            return httpx.Response(404, json={"code": 5, "message": "project not found", "details": []})
        return httpx.Response(404, json={"code": 5, "message": "Not Found", "details": []})


def _project(key: str, score: float) -> dict[str, Any]:
    return {"projectKey": {"id": key}, "license": "MIT", "scorecard": {"overallScore": score}}


KEYS = [f"github.com/owner/repo{i}" for i in range(5)]
PROJECTS = {key: _project(key, float(i)) for i, key in enumerate(KEYS) if key != KEYS[3]}  # repo3: not found


def _projects(fake: FakeDepsDev, batch_size: int = 5000) -> tuple[DepsDevProjects, CallCounter]:
    # a plain client: no retries, so a 500 is seen at once (the stage's client retries it first)
    counter = CallCounter()
    client = httpx.Client(transport=httpx.MockTransport(fake.handler))
    return DepsDevProjects(client, DEPSDEV, counter, batch_size=batch_size), counter


def test_prefetch_follows_pages_and_project_answers_from_memory() -> None:
    fake = FakeDepsDev(PROJECTS, page=2)
    depsdev, counter = _projects(fake)
    depsdev.prefetch(KEYS)
    assert [post.get("pageToken") for post in fake.posts] == [None, "2", "4"]
    first = fake.posts[0]["requests"]
    assert first == [{"projectKey": {"id": key}} for key in KEYS]
    assert all(post["requests"] == first for post in fake.posts)  # the same requests on every page
    assert [depsdev.project(key) for key in KEYS] == [PROJECTS.get(key) for key in KEYS]
    assert fake.gets == []  # found and not found alike were answered by the batch
    assert (counter.depsdev, counter.depsdev_batches) == (3, 3)
    assert depsdev.project("github.com/owner/later") is None  # not prefetched (a rename): one GET
    assert fake.gets == ["github.com/owner/later"]
    assert (counter.depsdev, counter.depsdev_batches) == (4, 3)


def test_batch_size_chunks_the_keys_and_zero_turns_batching_off() -> None:
    fake = FakeDepsDev(PROJECTS, page=1000)
    depsdev, counter = _projects(fake, batch_size=2)
    depsdev.prefetch(KEYS + KEYS[:2])  # duplicates are asked once
    assert [len(post["requests"]) for post in fake.posts] == [2, 2, 1]
    assert counter.depsdev_batches == 3

    fake = FakeDepsDev(PROJECTS)
    depsdev, counter = _projects(fake, batch_size=0)
    depsdev.prefetch(KEYS)
    assert fake.posts == [] and counter.depsdev == 0
    assert [depsdev.project(key) for key in KEYS] == [PROJECTS.get(key) for key in KEYS]
    assert len(fake.gets) == len(KEYS) and counter.depsdev == len(KEYS)


def test_a_null_project_is_not_found() -> None:
    """With unpopulated fields emitted (proto3 JSON), a project not found reads ``"project": null``."""

    def batch(body: dict[str, Any], _n: int) -> httpx.Response:
        responses = [{"request": r, "project": PROJECTS.get(r["projectKey"]["id"])} for r in body["requests"]]
        return httpx.Response(200, json={"responses": responses, "nextPageToken": ""})

    fake = FakeDepsDev(PROJECTS, batch=batch)
    depsdev, counter = _projects(fake)
    depsdev.prefetch(KEYS)
    assert [depsdev.project(key) for key in KEYS] == [PROJECTS.get(key) for key in KEYS]
    assert fake.gets == [] and counter.depsdev_batches == 1


def _status(code: int) -> Callable[[dict[str, Any], int], httpx.Response]:
    return lambda _body, _n: httpx.Response(code, json={"code": 5, "message": "Not Found", "details": []})


def _body(payload: Any) -> Callable[[dict[str, Any], int], httpx.Response]:
    return lambda _body, _n: httpx.Response(200, json=payload)


def _unknown_id(body: dict[str, Any], _n: int) -> httpx.Response:
    return httpx.Response(200, json={"responses": [{"request": {"projectKey": {"id": "github.com/x/y"}}}]})


def _looping(body: dict[str, Any], _n: int) -> httpx.Response:
    return httpx.Response(200, json={"responses": [], "nextPageToken": "again"})


def _reset(body: dict[str, Any], _n: int) -> httpx.Response:
    raise httpx.ConnectError("[Errno 111] Connection refused")


@pytest.mark.parametrize(
    ("batch", "said"),
    [
        (_status(404), "HTTP 404"),
        (_status(405), "HTTP 405"),
        (_status(501), "HTTP 501"),
        (_status(500), "HTTP 500"),
        (lambda _b, _n: httpx.Response(200, text="<html>gone</html>"), "not JSON"),
        (_body(["responses"]), "not an object"),
        (_body({"responses": {}}), "wrong type"),
        (_body({"responses": [{"request": {}, "project": {}}]}), "answers no project that was asked"),
        (_unknown_id, "answers no project that was asked"),
        (_body({"responses": [{"request": {"projectKey": {"id": KEYS[0]}}, "project": "MIT"}]}), "not an object"),
        (_looping, "repeating its nextPageToken"),
        (_reset, "ConnectError"),
    ],
)
def test_an_answer_of_another_shape_turns_batching_off_with_one_warning(
    caplog: pytest.LogCaptureFixture, batch: Callable[[dict[str, Any], int], httpx.Response], said: str
) -> None:
    fake = FakeDepsDev(PROJECTS, batch=batch)
    depsdev, counter = _projects(fake, batch_size=2)
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        depsdev.prefetch(KEYS)
        depsdev.prefetch(KEYS)  # off for the rest of the run: no POST, no second warning
        got = [depsdev.project(key) for key in KEYS]
    assert len(fake.posts) in (1, 2)  # the looping answer costs two pages before it is caught
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and said in warnings[0] and "/v3alpha/projectbatch" in warnings[0], warnings
    assert got == [PROJECTS.get(key) for key in KEYS]  # every project read with a GET instead
    assert fake.gets == KEYS
    assert counter.depsdev == counter.depsdev_batches + len(KEYS)


def test_pages_answered_before_a_failure_are_kept(caplog: pytest.LogCaptureFixture) -> None:
    good = FakeDepsDev(PROJECTS, page=2)

    def batch(body: dict[str, Any], n: int) -> httpx.Response:
        if n == 1:
            return good.handler(httpx.Request("POST", BATCH_URL, json=body))
        return httpx.Response(503, text="Service Unavailable")

    fake = FakeDepsDev(PROJECTS, batch=batch)
    depsdev, _ = _projects(fake)
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        depsdev.prefetch(KEYS)
    assert [depsdev.project(key) for key in KEYS] == [PROJECTS.get(key) for key in KEYS]
    assert fake.gets == KEYS[2:]  # the first page's two were answered
    assert ["HTTP 503" in r.getMessage() for r in caplog.records] == [True]


def test_a_long_rate_limit_stops_the_run_as_for_any_other_request() -> None:
    """Not a change of shape: the stage stops at its checkpoint and the next run asks again, batched."""
    fake = FakeDepsDev(PROJECTS, batch=lambda body, n: httpx.Response(429, headers={"retry-after": "3600"}))
    with make_client(transport=httpx.MockTransport(fake.handler)) as client:
        depsdev = DepsDevProjects(client, DEPSDEV)
        with pytest.raises(RateLimited):
            depsdev.prefetch(KEYS)
    assert len(fake.posts) == 1 and fake.gets == []


# --------------------------------------------------------------------------------------------- the sandbox


@pytest.fixture
def world() -> World:
    return generate_world(7, "small")


@pytest.fixture
def router(world: World) -> Router:
    return Router(world)


def client_of(handler: Handler) -> httpx.Client:
    return make_client(transport=httpx.MockTransport(handler))


@pytest.fixture
def other_engine(tmp_path: Path) -> Iterator[Engine]:
    eng = make_engine(f"sqlite:///{tmp_path / 'other.db'}")
    SQLModel.metadata.create_all(eng)
    yield eng
    eng.dispose()


def with_batch_size(size: int) -> Settings:
    base = settings()
    return base.model_copy(update={"signals": SignalsSettings(depsdev_batch_size=size)})


def stored(engine: Engine, scan_id: int) -> dict[str, dict[str, Any]]:
    """Every stored signal of the scan, without what differs between two runs (ids, times)."""
    with Session(engine) as session:
        rows = session.exec(select(UpstreamSignalRow).where(UpstreamSignalRow.scan_id == scan_id)).all()
    return {row.upstream_key: row.model_dump(exclude={"id", "scan_id", "observed_at"}) for row in rows}


def depsdev_requests(router: Router) -> list[tuple[str, str]]:
    return [(r.method, r.route) for r in router.log if r.service == "/registry/depsdev"]


def run(engine: Engine, world: World, client: httpx.Client, size: int) -> SignalsSummary:
    seed(engine, world)
    return gather_signals(engine, with_batch_size(size), secrets(world), client, now=world.now)


def on_depsdev(world: World) -> int:
    return sum(1 for u in world.upstreams if u.host in DEPSDEV_PROJECT_HOSTS)


@pytest.mark.parametrize("size", [5000, 50])
def test_batched_signals_equal_per_project_ones_in_few_posts(
    engine: Engine, other_engine: Engine, world: World, router: Router, size: int
) -> None:
    n = on_depsdev(world)
    with client_of(Router(world).handler) as client:
        one_by_one = run(other_engine, world, client, size=0)
    assert (one_by_one.calls["depsdev"], one_by_one.calls["depsdev_batches"]) == (n, 0)

    with client_of(router.handler) as client:
        batched = run(engine, world, client, size=size)
    posts = -(-n // size)
    assert (batched.calls["depsdev"], batched.calls["depsdev_batches"]) == (posts, posts)
    assert depsdev_requests(router) == [("POST", "/v3alpha/projectbatch")] * posts
    got, want = stored(engine, batched.scan_id), stored(other_engine, one_by_one.scan_id)
    assert got == want
    assert sum(row["sources"].get("scorecard") == "deps.dev" for row in got.values()) > n // 2
    from_depsdev = [k for k, row in got.items() if "deps.dev" in row["sources"].values() and row["licence"]]
    assert any(not key.startswith("github.com/") for key in from_depsdev)  # GitLab licences come from deps.dev


def test_without_the_batch_endpoint_every_signal_comes_by_get_with_one_warning(
    engine: Engine, other_engine: Engine, world: World, router: Router, caplog: pytest.LogCaptureFixture
) -> None:
    def gone(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/v3alpha/projectbatch"):
            return httpx.Response(404)
        return router.handler(request)

    n = on_depsdev(world)
    with client_of(Router(world).handler) as client:
        one_by_one = run(other_engine, world, client, size=0)
    with caplog.at_level(logging.WARNING), client_of(gone) as client:
        fallback = run(engine, world, client, size=5000)
    assert (fallback.calls["depsdev"], fallback.calls["depsdev_batches"]) == (1 + n, 1)
    assert depsdev_requests(router) == [("GET", "/v3/projects/{}")] * n
    assert stored(engine, fallback.scan_id) == stored(other_engine, one_by_one.scan_id)
    warnings = [r.getMessage() for r in caplog.records if r.name == LOGGER and r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and "HTTP 404" in warnings[0], warnings
