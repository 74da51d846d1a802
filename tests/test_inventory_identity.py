"""Repository identity: keys from what a document describes, never from file or document names;
a key's document is replaced only by one of the same product, and never silently."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.inventory.detect import parse_bytes
from bot.inventory.identity import NoIdentity, document_identity, why_no_identity, without_version
from bot.inventory.ingest import ingest_paths
from bot.records import DocumentSubject, ParsedDocument, SbomFormat
from bot.store.inventory import load_documents, load_usages

SBOMS = Path(__file__).parent / "data" / "sboms"


def cyclonedx(root: dict[str, object], *components: str) -> bytes:
    return json.dumps(
        {
            "bomFormat": "CycloneDX",
            "specVersion": "1.5",
            "metadata": {"component": {"type": "application", "bom-ref": "root", **root}},
            "components": [{"name": c.split("/")[-1], "purl": c, "bom-ref": c} for c in components],
            "dependencies": [{"ref": "root", "dependsOn": list(components)}],
        }
    ).encode()


def document(subject: DocumentSubject | None) -> ParsedDocument:
    return ParsedDocument(SbomFormat.CYCLONEDX_JSON, "1.5", (), (), False, subject=subject)


@pytest.mark.parametrize(
    ("name", "why"),
    [
        (".", "is a directory, not a product"),
        ("", "is empty"),
        ("  ", "is empty"),
        ("/home/ci/work/app", "is a path"),
        ("./src", "is a path"),
        ("C:\\build\\app", "is a path"),
        ("flux_0.26.3_source_code.tar.gz", "is an archive name"),
        ("app-1.0.jar", "is an archive name"),
        ("1.13.1", "is a bare version"),
        ("v2.0.0-rc1", "is a bare version"),
        ("sha256:" + "a" * 64, "is a digest"),
        ("NOASSERTION", "says nothing"),
    ],
)
def test_names_without_identity_are_named_as_such(name: str, why: str) -> None:
    assert why_no_identity(name) == why


@pytest.mark.parametrize(
    ("name", "version", "expected"),
    [
        ("istio release 1.13.1", None, "istio"),
        ("istio", "1.13.1", "istio"),
        ("my-app 2.4.0", "2.4.0", "my-app"),
        ("my-app@2.4.0", None, "my-app"),
        ("my-app-v2.4.0", "v2.4.0", "my-app"),
        ("log4j", "2.17.1", "log4j"),
        ("python3", None, "python3"),
    ],
)
def test_versions_are_taken_off_names(name: str, version: str | None, expected: str) -> None:
    assert without_version(name, version) == expected


def test_keys_come_from_vcs_then_purl_then_name_and_never_carry_a_version() -> None:
    vcs = DocumentSubject(purl="pkg:npm/shop@1.0", name="shop", vcs_urls=("git+https://github.com/Acme/Shop.git",))
    assert document_identity(document(vcs), repo=None, source="f").key == "acme/shop"
    purl = DocumentSubject(purl="pkg:maven/org.acme/api@2.1.0?type=jar", name="api", version="2.1.0")
    assert document_identity(document(purl), repo=None, source="f").key == "pkg:maven/org.acme/api"
    forge = DocumentSubject(purl="pkg:bitbucket/Acme/Tool@abc", name="tool")
    assert document_identity(document(forge), repo=None, source="f").key == "acme/tool"
    named = DocumentSubject(name="istio release 1.13.1", version="1.13.1")
    assert document_identity(document(named), repo=None, source="f").key == "istio"
    given = document_identity(document(named), repo="acme/istio", source="f")
    assert (given.key, given.key_from, given.product) == ("acme/istio", "--repo", "istio")


@pytest.mark.parametrize(
    "subject",
    [None, DocumentSubject(name="."), DocumentSubject(name="flux_0.26.3_source_code.tar.gz"), DocumentSubject()],
)
def test_identity_less_documents_are_refused_asking_for_repo(subject: DocumentSubject | None) -> None:
    with pytest.raises(NoIdentity) as caught:
        document_identity(document(subject), repo=None, source="sbom.json")
    assert str(caught.value).startswith("sbom.json: no repository identity")
    assert "pass --repo OWNER/NAME" in str(caught.value)


def test_five_unrelated_dot_documents_are_refused_not_merged(tmp_path: Path, engine: Engine) -> None:
    folder = tmp_path / "syft"
    folder.mkdir()
    for index in range(5):
        (folder / f"{index}.json").write_bytes(cyclonedx({"name": "."}, f"pkg:npm/lib{index}@1.0.0"))
    summary = ingest_paths(engine, [folder])
    assert summary.documents == [] and len(summary.failures) == 5
    assert all("named '.'" in f.message and "--repo" in f.message for f in summary.failures)


def test_two_releases_of_one_product_are_one_repository_replaced_visibly(tmp_path: Path, engine: Engine) -> None:
    first, second = tmp_path / "r1.json", tmp_path / "r2.json"
    first.write_bytes(cyclonedx({"name": "istio release 1.13.1", "version": "1.13.1"}, "pkg:golang/a/b@v1.0.0"))
    second.write_bytes(cyclonedx({"name": "istio release 1.14.0", "version": "1.14.0"}, "pkg:golang/a/c@v1.0.0"))
    summary = ingest_paths(engine, [first, second])
    assert summary.ok, summary.failures
    assert [d.repository for d in summary.documents] == ["istio", "istio"]
    assert [d.replaced for d in summary.documents] == [None, str(first)]
    with Session(engine) as session:
        assert [u.component_key for u in load_usages(session, "istio")] == ["pkg:golang/a/c@v1.0.0"]
        assert [(d.product, d.is_current) for d in load_documents(session, "istio")] == [
            ("istio", False),
            ("istio", True),
        ]


def test_another_product_under_the_same_repo_is_refused_unless_replace(tmp_path: Path, engine: Engine) -> None:
    shop, other = tmp_path / "shop.json", tmp_path / "other.json"
    shop.write_bytes(cyclonedx({"name": "shop", "purl": "pkg:npm/shop@1.0.0"}, "pkg:npm/a@1.0.0"))
    other.write_bytes(cyclonedx({"name": "tools", "purl": "pkg:npm/tools@3.0.0"}, "pkg:npm/b@1.0.0"))
    assert ingest_paths(engine, [shop], repo="acme/app").ok
    refused = ingest_paths(engine, [other], repo="acme/app")
    assert [str(f) for f in refused.failures] == [
        f"{other}: acme/app already holds a document that describes 'pkg:npm/shop' (from {shop}) and this one "
        "describes 'pkg:npm/tools': not replaced; pass --replace to replace it, or --repo to store this one "
        "under another repository"
    ]
    with Session(engine) as session:
        assert [u.component_key for u in load_usages(session, "acme/app")] == ["pkg:npm/a@1.0.0"]
    assert ingest_paths(engine, [other], repo="acme/app", replace=True).documents[0].replaced == str(shop)


def test_the_real_corpus_keys() -> None:
    juice = parse_bytes((SBOMS / "cdx-1.4-npm-nested_juice-shop.json").read_bytes(), source="j")
    assert document_identity(juice, repo=None, source="j").key == "juice-shop/juice-shop"
    golang = parse_bytes((SBOMS / "cdx-1.6-golang_trivy.json").read_bytes(), source="g")
    with pytest.raises(NoIdentity, match="named '/test', which is a path"):
        document_identity(golang, repo=None, source="g")


def test_cli_refuses_another_product_and_replace_says_what_it_replaced(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from bot.cli import app
    from bot.store.engine import make_engine, upgrade

    url = f"sqlite:///{tmp_path / 'cli.db'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    shop, tools = tmp_path / "shop.json", tmp_path / "tools.json"
    shop.write_bytes(cyclonedx({"name": "shop", "purl": "pkg:npm/shop@1.0.0"}, "pkg:npm/a@1.0.0"))
    tools.write_bytes(cyclonedx({"name": "tools", "purl": "pkg:npm/tools@3.0.0"}, "pkg:npm/b@1.0.0"))
    runner = CliRunner()
    base = ["--database-url", url, "ingest", "--repo", "acme/app"]
    assert runner.invoke(app, [*base, str(shop)]).exit_code == 0
    refused = runner.invoke(app, [*base, str(tools)])
    assert refused.exit_code == 1
    assert f"upkeep: {tools}: acme/app already holds a document that describes 'pkg:npm/shop'" in refused.stderr
    replaced = runner.invoke(app, [*base, str(tools), "--replace"])
    assert replaced.exit_code == 0, replaced.output
    assert "replaced the document from" in " ".join(replaced.stdout.split())
