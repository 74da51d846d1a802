"""The resolve stage against the sandbox world (small): its registries, its truth.

Every package of the world gets a component (the versions its internal repositories use, else its
newest), the stage runs through the sandbox router, and the outcome is compared with the truth:
≥ 99 % of packages with a known upstream resolved to exactly it, none to a wrong one, every other
package unresolved with a reason, and a rerun inside the TTL asks nothing.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import Engine

from bot.config import load_settings
from bot.http import RetryPolicy, make_async_client
from bot.resolve.stage import ResolveSummary, resolve_all
from bot.sandbox import Router, generate_world, sandbox_settings, truth
from bot.sandbox.truth import purl_of
from bot.store.engine import session_scope
from bot.store.renames import save_renames
from bot.store.resolution import load_resolutions
from bot.store.tables import ComponentRow


@pytest.fixture(scope="module")
def world_truth() -> tuple[Any, dict[str, Any]]:
    world = generate_world(7, "small")
    return world, truth(world)


def add_world_components(engine: Engine, world: Any) -> None:
    versions: dict[str, set[str]] = defaultdict(set)
    for repo in world.internal_repos:
        for dep in repo.dependencies:
            versions[dep.package].add(dep.version)
    with session_scope(engine) as session:
        for pkg in world.packages:
            purl = purl_of(pkg.ecosystem, pkg.namespace, pkg.name)
            for version in sorted(versions.get(pkg.package_key) or {pkg.versions[-1]}):
                session.add(
                    ComponentRow(
                        key=f"{purl}@{version}",
                        package_key=pkg.package_key,
                        purl=f"{purl}@{version}",
                        ecosystem=pkg.ecosystem,
                        namespace=pkg.namespace,
                        name=pkg.name,
                        version=version,
                    )
                )


def run(engine: Engine, router: Router, world: Any) -> ResolveSummary:
    settings = load_settings(None, overrides=sandbox_settings(router.context.base_url, world))

    async def go() -> ResolveSummary:
        transport = httpx.MockTransport(router.handler)
        async with make_async_client(transport=transport, policy=RetryPolicy(max_retries=1)) as client:
            return await resolve_all(engine, settings, client)

    return asyncio.run(go())


def test_sandbox_world_resolves_to_its_truth(engine: Engine, world_truth: tuple[Any, dict[str, Any]]) -> None:
    world, expected = world_truth
    add_world_components(engine, world)
    router = Router(world)
    summary = run(engine, router, world)
    rows = {row.package_key: row for row in load_resolutions(engine)}
    packages = expected["packages"]
    assert len(rows) == len(packages)  # every package kept, none dropped

    # What the registries name: a repository renamed since keeps its old name there until the signals
    # stage follows GitHub's redirect (test_signals_renames.py); the resolve stage alone cannot know.
    named = {p["package"]: p["declared_upstream"] or p["true_upstream"] for p in packages}
    assert any(p["declared_upstream"] for p in packages)
    known = [p for p in packages if p["true_upstream"]]
    exact = [p for p in known if rows[p["package"]].upstream_key == named[p["package"]]]
    assert len(exact) / len(known) >= 0.99, [
        (p["package"], p["repository_form"], rows[p["package"]].reason) for p in known if p not in exact
    ]
    wrong = [
        (p["package"], named[p["package"]], rows[p["package"]].upstream_key)
        for p in packages
        if rows[p["package"]].upstream_key not in (None, named[p["package"]])
    ]
    assert wrong == []
    for p in packages:
        row = rows[p["package"]]
        if row.upstream_key is None:
            assert row.status == "unresolved" and row.reason, p
    assert any(p["true_upstream"] is None for p in packages)

    requests = router.stats()["total"]
    assert summary.requests == requests
    assert requests / len(packages) <= 1.05

    again = run(engine, router, world)
    assert router.stats()["total"] == requests  # inside the TTL: not one registry request
    assert (again.requests, again.fresh) == (0, len(packages))


def test_known_renames_resolve_to_the_current_name(engine: Engine, world_truth: tuple[Any, dict[str, Any]]) -> None:
    world, expected = world_truth
    add_world_components(engine, world)
    with session_scope(engine) as session:  # what an earlier signals scan learnt from GitHub's answers
        save_renames(session, expected["renamed_upstreams"], source="test", now=world.now)
    run(engine, Router(world), world)
    rows = {row.package_key: row for row in load_resolutions(engine)}
    renamed = [p for p in expected["packages"] if p["declared_upstream"]]
    assert renamed
    for p in renamed:
        row = rows[p["package"]]
        assert row.upstream_key == p["true_upstream"], p["package"]
        assert row.provenance and row.provenance.endswith(f"; renamed from {p['declared_upstream']}")
    assert all(
        rows[p["package"]].upstream_key in (None, p["true_upstream"]) for p in expected["packages"]
    )  # and nothing else moved
