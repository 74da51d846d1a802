"""The organisation's GitLab group in the inventory: each project's SBOM from the dependency list export,
else a committed file at ``sbom_paths``, else listed with the reason; against the sandbox GitLab."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
from sqlmodel import Session, SQLModel, select

from bot.config import Secrets, load_settings
from bot.forges.registry import make_forges
from bot.forges.sync import sync_forges
from bot.sandbox import Router, generate_world, sandbox_environment, sandbox_settings
from bot.store.engine import make_engine
from bot.store.tables import RepositoryRow

BASE = "http://sandbox.test"


def _cyclonedx(name: str, *purls: str) -> str:
    components = [{"type": "library", "name": p.split("/")[-1].split("@")[0], "purl": p} for p in purls]
    return json.dumps(
        {
            "bomFormat": "CycloneDX",
            "specVersion": "1.5",
            "metadata": {"component": {"type": "application", "name": name}},
            "components": components,
        }
    )


def test_group_projects_sboms_are_stored_and_the_rest_listed_with_a_reason(tmp_path: Path) -> None:
    world = generate_world(7, "small")
    org = world.orgs[0]
    own = {
        f"{org}/platform/billing": {"files": {"sbom.cdx.json": _cyclonedx("billing", "pkg:pypi/requests@2.31.0")}},
        f"{org}/platform/ledger": {"export": _cyclonedx("ledger", "pkg:npm/left-pad@1.3.0", "pkg:pypi/idna@3.6")},
        f"{org}/tools": {"files": {"README.md": "no SBOM here"}},
    }
    router = Router(world, service_options={"GitLabService": {"repositories": own}})
    gitlab, *others = sandbox_settings(BASE, world)["forges"]
    gitlab = {**gitlab, "sbom_paths": ["sbom.cdx.json"]}
    overrides = {**sandbox_settings(BASE, world), "forges": [gitlab, *others]}
    settings = load_settings(None, overrides=overrides, search=False)
    forges = make_forges(
        settings, Secrets.from_environment(sandbox_environment(world)), transport=httpx.MockTransport(router.handler)
    )
    engine = make_engine(f"sqlite:///{tmp_path / 'store.db'}")
    SQLModel.metadata.create_all(engine)
    summary = sync_forges(engine, settings, {"gitlab": forges["gitlab"]})
    assert summary.repositories == 4 and summary.documents == 2 and not summary.failed  # the OSPO project too
    reasons = dict(line.split(": ", 1) for line in summary.without_sbom)
    assert set(reasons) == {f"gitlab.com/{org}/tools", f"gitlab.com/{org}/ospo"}
    assert (
        "sbom.cdx.json" in reasons[f"gitlab.com/{org}/tools"] and "export refused" in reasons[f"gitlab.com/{org}/tools"]
    )
    with Session(engine) as session:
        rows = {r.full_name: r for r in session.exec(select(RepositoryRow))}
    assert set(rows) == {f"gitlab.com/{org}/platform/billing", f"gitlab.com/{org}/platform/ledger"}
    exports = [r for r in router.log if "dependency_list_exports" in r.path]
    assert [r.status for r in exports if r.method == "GET"][:2] == [202, 200]  # polled until ready
    again = sync_forges(engine, settings, {"gitlab": forges["gitlab"]})
    assert again.documents == 2 and again.changed == 0  # unchanged documents change nothing
    engine.dispose()


def test_forgejo_organisation_repositories_sboms_from_committed_files_or_release_assets(tmp_path: Path) -> None:
    world = generate_world(7, "small")
    org = world.orgs[0]
    fillers = {f"{org}/svc-{n:02d}": {"files": {"README.md": "nothing"}} for n in range(52)}  # more than a page
    own = {
        **fillers,
        f"{org}/web": {"files": {"sbom.cdx.json": _cyclonedx("web", "pkg:npm/left-pad@1.3.0")}},
        f"{org}/cli": {
            "release": "v1.2.0",
            "assets": {
                "cli-linux-amd64.tar.gz": "binary",
                "cli-1.2.0.cdx.json": _cyclonedx("cli", "pkg:pypi/idna@3.6"),
            },
        },
        f"{org}/notes": {"release": "v0.1.0", "assets": {"notes.tar.gz": "binary"}},
        f"{org}/mirror": {
            "release": "v2.0.0",
            "assets": {"mirror.cdx.json": _cyclonedx("mirror", "pkg:pypi/six@1.16.0")},
            "asset_origin": "https://cdn.example.org",
        },
        f"{org}/old": {"archived": True, "files": {"sbom.cdx.json": _cyclonedx("old", "pkg:pypi/six@1.16.0")}},
        f"{org}/upstream-fork": {"fork": True, "files": {"sbom.cdx.json": _cyclonedx("f", "pkg:pypi/six@1.16.0")}},
    }
    router = Router(world, service_options={"ForgejoService": {"repositories": own}})
    gitlab, forgejo = sandbox_settings(BASE, world)["forges"]
    forgejo = {**forgejo, "sbom_paths": ["sbom.cdx.json"]}
    settings = load_settings(
        None, overrides={**sandbox_settings(BASE, world), "forges": [gitlab, forgejo]}, search=False
    )
    forges = make_forges(
        settings, Secrets.from_environment(sandbox_environment(world)), transport=httpx.MockTransport(router.handler)
    )
    engine = make_engine(f"sqlite:///{tmp_path / 'store.db'}")
    SQLModel.metadata.create_all(engine)
    summary = sync_forges(engine, settings, {"codeberg": forges["codeberg"]})
    # the archived repository and the fork are left out as configured; the ospo repository is listed
    assert summary.repositories == 52 + 4 + 1 and summary.documents == 2 and not summary.failed, summary
    reasons = dict(line.split(": ", 1) for line in summary.without_sbom)
    assert len(reasons) == 52 + 3
    assert "served from another origin (cdn.example.org)" in reasons[f"codeberg.org/{org}/mirror"]  # no token sent
    assert "no asset matching sbom_assets" in reasons[f"codeberg.org/{org}/notes"]
    assert "v0.1.0" in reasons[f"codeberg.org/{org}/notes"]
    assert reasons[f"codeberg.org/{org}/ospo"].endswith("; no release")
    assert "sbom.cdx.json" in reasons[f"codeberg.org/{org}/svc-00"]
    with Session(engine) as session:
        rows = {r.full_name: r for r in session.exec(select(RepositoryRow))}
    assert set(rows) == {f"codeberg.org/{org}/web", f"codeberg.org/{org}/cli"}
    listed = [r for r in router.log if r.service == "/forgejo" and r.path.endswith(f"/orgs/{org}/repos")]
    assert len(listed) == 2  # paged: 50, then the rest
    downloads = [r for r in router.log if "/releases/download/" in r.path]
    assert [r.path.rsplit("/", 1)[1] for r in downloads] == ["cli-1.2.0.cdx.json"]  # the binary is never fetched
    before = len(router.log)
    again = sync_forges(engine, settings, {"codeberg": forges["codeberg"]})
    assert again.documents == 2 and again.changed == 0 and again.without_sbom == summary.without_sbom
    rerun = [r for r in router.log[before:] if r.service == "/forgejo"]
    assert rerun and all(r.status in (304, 404) for r in rerun)  # unchanged: every answer without a body
    engine.dispose()
