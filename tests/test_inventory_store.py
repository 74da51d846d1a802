"""Ingest into the store on SQLite and PostgreSQL: idempotence, replacement in one transaction, the CLI."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from bot.cli import app
from bot.inventory.detect import parse_bytes
from bot.inventory.ingest import ingest_bytes, ingest_paths
from bot.records import Usage
from bot.store.engine import make_engine, session_scope, upgrade
from bot.store.inventory import load_documents, load_usages, save_document
from bot.store.tables import ComponentRow, RepositoryRow, RunRow, SbomDocumentRow, UsageRow

SBOMS = Path(__file__).parent / "data" / "sboms"
ALL = sorted(p for p in SBOMS.iterdir() if p.suffix in {".json", ".xml", ".spdx"})
JUICE = SBOMS / "cdx-1.4-npm-nested_juice-shop.json"
PYPI = SBOMS / "cdx-1.6-pypi_cyclonedx-py-environment.json"


@pytest.fixture
def store(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    upgrade(engine)
    yield engine
    engine.dispose()


def counts(engine: Engine) -> dict[str, int]:
    with Session(engine) as session:
        return {
            model.__tablename__: session.exec(select(func.count()).select_from(model)).one()  # type: ignore[arg-type]
            for model in (RepositoryRow, SbomDocumentRow, ComponentRow, UsageRow)
        }


NAMELESS = {  # documents whose subject identifies nothing: a path, an archive, no described package
    "cdx-1.6-golang_trivy.json": "acme/go",
    "cdx-1.7-deb-gem_trivy-fluentd.json": "acme/fluentd",
    "spdx-2.3-tag-value_syft.spdx": "acme/syft",
}


def test_all_documents_ingest_and_a_second_run_changes_nothing(store: Engine) -> None:
    first = ingest_paths(store, ALL)
    assert sorted(Path(f.source).name for f in first.failures) == sorted(NAMELESS)
    assert all("no repository identity" in f.message and "--repo" in f.message for f in first.failures)
    for name, repo in NAMELESS.items():
        assert ingest_paths(store, [SBOMS / name], repo=repo).ok
    before = counts(store)
    distinct_keys = {c.key for p in ALL for c in parse_bytes(p.read_bytes(), source=p.name).components}
    assert before["components"] == len(distinct_keys)
    # the two canonical SPDX files name the same document, and so do the two hello-server ones: 15 repositories
    assert before["repositories"] == 15
    again = ingest_paths(store, [JUICE, PYPI])
    assert [d.changed for d in again.documents] == [False, False]
    assert counts(store) == before


def test_a_newer_document_replaces_the_repository_usages(store: Engine) -> None:
    ingest_paths(store, [JUICE], repo="Acme/Shop")
    juice_usages = load_usages(Session(store), "acme/shop")
    assert len(juice_usages) == 978
    refused = ingest_paths(store, [PYPI], repo="acme/shop")  # another product: kept unless --replace
    assert [f.source for f in refused.failures] == [str(PYPI)]
    assert "describes 'juice-shop/juice-shop'" in refused.failures[0].message
    assert "--replace" in refused.failures[0].message
    assert len(load_usages(Session(store), "acme/shop")) == 978
    replaced = ingest_paths(store, [PYPI], repo="acme/shop", replace=True)
    assert [d.replaced for d in replaced.documents] == [str(JUICE)]
    assert replaced.to_dict()["replaced"] == [{"source": str(PYPI), "replaced": str(JUICE)}]
    with Session(store) as session:
        usages = load_usages(session, "acme/shop")
        documents = load_documents(session, "acme/shop")
    assert len(usages) == 31 and all(u.component_key.startswith("pkg:pypi/") for u in usages)
    assert [d.is_current for d in documents] == [False, True]
    assert counts(store)["usages"] == 31
    # components stay: other repositories may use them, and resolution works per package
    assert counts(store)["components"] == 978 + 31


def test_replacement_is_one_transaction(store: Engine) -> None:
    ingest_paths(store, [PYPI], repo="acme/api")
    parsed = parse_bytes(JUICE.read_bytes(), source="juice")
    first = parsed.usages[0]
    stray = Usage("pkg:npm/not-in-components@1", first.depth, first.scope)
    # a usage whose component was never written
    broken = msgspec.structs.replace(parsed, usages=(*parsed.usages, stray))
    with pytest.raises(KeyError), session_scope(store) as session:
        save_document(
            session, broken, repo_full_name="acme/api", source="juice", digest="x", repo_hint_source="t", replace=True
        )
    with Session(store) as session:
        usages = load_usages(session, "acme/api")
        assert len(usages) == 31  # the old usages survived the failed replacement
        assert len(session.exec(select(SbomDocumentRow)).all()) == 1


def test_depth_and_scope_reach_the_store(store: Engine) -> None:
    assert ingest_paths(store, [SBOMS / "spdx-2.3-maven-no-purls_examplemaven-enriched.spdx.json"]).ok
    with Session(store) as session:
        usages = {u.component_key: (u.depth, u.scope) for u in load_usages(session, "examplemaven")}
        junit = session.exec(select(ComponentRow).where(col(ComponentRow.name) == "JUnit")).one()
    assert usages["nopurl:unknown/JUnit@3.8.1"] == ("direct", "development")
    assert (junit.package_key, junit.licenses) == ("nopurl:unknown/JUnit", ["CPL-1.0"])


def test_ingest_bytes_for_a_downloaded_export(store: Engine) -> None:
    data = (SBOMS / "github-dependency-graph-sbom_docs-example.json").read_bytes()
    summary = ingest_bytes(store, data, source="https://api.github.com/repos/github/example/sbom")
    assert (summary.repository, summary.repository_from, summary.changed) == (
        "github/example",
        "github export name",
        True,
    )
    assert ingest_bytes(store, data, source="again").changed is False


def test_cli_reports_bad_files_exits_1_and_records_the_run(store: Engine, db_url: str, tmp_path: Path) -> None:
    bad = tmp_path / "broken.json"
    bad.write_text("{nope")
    runner = CliRunner()
    result = runner.invoke(app, ["--database-url", db_url, "ingest", str(PYPI), str(bad), "--json"])
    assert result.exit_code == 1, result.output
    assert f"upkeep: {bad}: not JSON" in result.stderr
    summary = json.loads(result.stdout)
    assert (summary["documents"], summary["failed"], summary["components"], summary["by_ecosystem"]) == (
        1,
        1,
        31,
        {"pypi": 31},
    )
    with Session(store) as session:
        run = session.exec(select(RunRow).where(RunRow.kind == "ingest")).one()
    assert run.status == "partial" and run.stages["ingest"]["unique_purls"] == 31


def test_cli_table_and_repo_option(store: Engine, db_url: str) -> None:
    result = CliRunner().invoke(
        app,
        ["--database-url", db_url, "ingest", str(SBOMS / "spdx-2.3-tag-value_syft.spdx"), "--repo", "Acme/Img"],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    assert "acme/img (--repo)" in result.stdout
    assert "no dependency graph in" in result.stdout
    bad = CliRunner().invoke(app, ["--database-url", db_url, "ingest", str(PYPI), "--repo", "not-a-repo"])
    assert bad.exit_code != 0


def test_an_export_of_a_repository_without_dependencies_stores_no_usages(store: Engine) -> None:
    document = json.loads((SBOMS / "github-dependency-graph-sbom_docs-example.json").read_bytes())
    sbom = document["sbom"]
    sbom["packages"] = [p for p in sbom["packages"] if p["SPDXID"] == "SPDXRef-Repository"]
    sbom["relationships"] = [r for r in sbom["relationships"] if r["relationshipType"] == "DESCRIBES"]
    summary = ingest_bytes(store, json.dumps(document).encode(), source="github:acme/ospo", repo="acme/ospo")
    assert (summary.components, summary.repository) == (0, "acme/ospo")
    with Session(store) as session:
        assert load_usages(session, "acme/ospo") == []
        assert len(load_documents(session, "acme/ospo")) == 1
