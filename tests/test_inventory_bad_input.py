"""Bad input: one line per bad file naming it, the good files still ingested, nothing bad in the store."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.inventory.detect import parse_bytes
from bot.inventory.ingest import ingest_paths
from bot.inventory.interface import (
    DocumentTooLarge,
    InventoryError,
    MalformedDocument,
    NotParseable,
    UnknownFormat,
    UnsafeXml,
)
from bot.store.tables import ComponentRow, RepositoryRow, SbomDocumentRow

SBOMS = Path(__file__).parent / "data" / "sboms"
GOOD = SBOMS / "cdx-1.6-multi-ecosystem_trivy.json"

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE bom [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<bom xmlns="http://cyclonedx.org/schema/bom/1.4" version="1">
  <components><component type="library"><name>&xxe;</name></component></components>
</bom>
"""

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<bom xmlns="http://cyclonedx.org/schema/bom/1.4"><components><component type="library">
<name>&lol9;</name></component></components></bom>
"""


def cyclonedx(**changes: object) -> bytes:
    document = json.loads(GOOD.read_bytes())
    document.update(changes)
    return json.dumps(document).encode()


@pytest.mark.parametrize(
    ("data", "error", "words"),
    [
        (b"{not json", NotParseable, "not JSON"),
        (b"", NotParseable, "empty file"),
        (b"<bom><unclosed></bom>", NotParseable, "not well-formed XML"),
        (b"\xff\xfe\x00garbag", NotParseable, "UTF-16-LE but does not decode"),
        (b"\x80\x81garbage", NotParseable, "not JSON, XML or UTF-8 text"),
        (b'{"hello": "world"}', UnknownFormat, "no SBOM format"),
        (b'{"bomFormat": "SWID"}', UnknownFormat, "'SWID' is not 'CycloneDX'"),
        (
            b'<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"/>',
            UnknownFormat,
            "not a CycloneDX",
        ),
        (b"just some text\n", UnknownFormat, "not JSON, XML or SPDX tag-value"),
        (b"[1, 2]", MalformedDocument, "top level must be a JSON object, not list"),
        (cyclonedx(specVersion=1.6), MalformedDocument, "specVersion must be a string, not float"),
        (cyclonedx(components={"a": 1}), MalformedDocument, "components must be a list, not dict"),
        (
            cyclonedx(components=[{"name": "x", "purl": 7}]),
            MalformedDocument,
            "components[0].purl must be a string, not int",
        ),
        (cyclonedx(components=["x"]), MalformedDocument, "components[0] must be an object, not str"),
        (cyclonedx(dependencies=[{"ref": 1}]), MalformedDocument, "dependencies[0].ref must be a string, not int"),
        (cyclonedx(dependencies=[{"dependsOn": []}]), MalformedDocument, "dependencies[0] has no ref"),
        (
            cyclonedx(dependencies=[{"ref": "a", "dependsOn": [{}]}]),
            MalformedDocument,
            "dependencies[0].dependsOn[0] must be a string, not dict",
        ),
        (
            cyclonedx(components=[{"name": "x", "licenses": "MIT"}]),
            MalformedDocument,
            "components[0].licenses must be a list, not str",
        ),
        (
            cyclonedx(components=[{"name": "x", "components": [{"name": 5}]}]),
            MalformedDocument,
            "components[0].components[0].name must be a string, not int",
        ),
        (b'{"spdxVersion": "SPDX-2.3", "packages": {"a": 1}}', MalformedDocument, "packages must be a list, not dict"),
        (
            b'{"spdxVersion": "SPDX-2.3", "packages": [{"SPDXID": "x", "name": 3}]}',
            MalformedDocument,
            "packages[0].name must be a string, not int",
        ),
        (
            b'{"spdxVersion": "SPDX-2.3", "relationships": [{"spdxElementId": "a", "relationshipType": "DEPENDS_ON"}]}',
            MalformedDocument,
            "relationships[0] has no relatedSpdxElement",
        ),
        (
            cyclonedx(components=[{"name": "x", "licenses": [{"license": {"name": 2.0}}]}]),
            MalformedDocument,
            "components[0].licenses[0].license.name must be a string, not float",
        ),
        # a package.json is JSON with keys an SBOM also has, in other shapes: it is no SBOM, not a broken one
        (b'{"name": "app", "dependencies": {"left-pad": "^1.3.0"}}', UnknownFormat, "no SBOM format"),
        (
            cyclonedx(components=[{"name": "a", "components": [{"name": "b"}, {"version": "1"}]}]),
            MalformedDocument,
            "components[0].components[1] has neither a name nor a purl",
        ),
        (
            b'{"spdxVersion": "SPDX-2.3", "packages": [{"SPDXID": "a", "name": "a"}, {"SPDXID": "b"}]}',
            MalformedDocument,
            "packages[1] has neither a name nor a purl",
        ),
        (b'{"sbom": 5}', MalformedDocument, "sbom must be an object, not int"),
        (
            b'{"sbom": {"spdxVersion": "SPDX-2.3", "packages": [{"SPDXID": "x", "name": 1}]}}',
            MalformedDocument,
            "sbom.packages[0].name must be a string, not int",
        ),
        (b'{"sbom": {"name": "acme/app"}}', MalformedDocument, "spdxVersion is missing"),
        (
            b'{"@context": "https://spdx.org/rdf/3.0.1/spdx-context.jsonld", "@graph": {"a": 1}}',
            MalformedDocument,
            "@graph must be a list, not dict",
        ),
        (b'{"bomFormat": "CycloneDX", "components": []}', MalformedDocument, "specVersion is missing"),
        (b"SPDXVersion: SPDX-2.3\nthis line has no tag\n", MalformedDocument, "line 2: expected 'Tag: value'"),
        (XXE, UnsafeXml, "DTD or entity declarations is refused"),
        (BILLION_LAUGHS, UnsafeXml, "DTD or entity declarations is refused"),
    ],
)
def test_each_bad_document_gives_one_line_naming_it(data: bytes, error: type[InventoryError], words: str) -> None:
    with pytest.raises(error) as caught:
        parse_bytes(data, source="repo/sbom.bad")
    line = str(caught.value)
    assert line.startswith("repo/sbom.bad: ")
    assert words in line
    assert "\n" not in line


def test_entity_expansion_is_refused_before_expanding() -> None:
    started = time.perf_counter()
    with pytest.raises(UnsafeXml):
        parse_bytes(BILLION_LAUGHS, source="lol.xml")
    assert time.perf_counter() - started < 0.5  # 10^9 "lol"s would take far longer and gigabytes


def test_xxe_never_reads_the_file(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-VALUE")
    payload = XXE.replace(b"file:///etc/passwd", secret.as_uri().encode())
    with pytest.raises(UnsafeXml) as caught:
        parse_bytes(payload, source="xxe.xml")
    assert "TOP-SECRET-VALUE" not in str(caught.value)


def test_files_over_the_limit_are_refused_before_reading(tmp_path: Path, engine: Engine) -> None:
    huge = tmp_path / "huge.json"
    with huge.open("wb") as handle:  # sparse: 250 MB on paper, nothing on disk
        handle.truncate(250 * 1024 * 1024)
    started = time.perf_counter()
    summary = ingest_paths(engine, [huge])
    assert time.perf_counter() - started < 1.0
    assert [str(f) for f in summary.failures] == [
        f"{huge}: 262,144,000 bytes is over the size limit of 209,715,200 bytes"
    ]


def test_the_size_limit_is_configurable(tmp_path: Path, engine: Engine) -> None:
    summary = ingest_paths(engine, [GOOD], max_file_bytes=1000)
    assert len(summary.failures) == 1
    assert "over the size limit of 1,000 bytes" in summary.failures[0].message
    with pytest.raises(DocumentTooLarge):
        from bot.inventory.ingest import ingest_bytes

        ingest_bytes(engine, GOOD.read_bytes(), source="mem", max_file_bytes=10)


def test_good_files_are_ingested_and_nothing_from_bad_ones(tmp_path: Path, engine: Engine) -> None:
    folder = tmp_path / "sboms"
    folder.mkdir()
    (folder / "a-good.json").write_bytes(GOOD.read_bytes())
    (folder / "b-broken.json").write_bytes(cyclonedx(components=[{"name": "evil", "purl": "pkg:npm/evil@1"}, 5]))
    (folder / "c-xxe.xml").write_bytes(XXE)
    (folder / ".hidden.json").write_bytes(b"ignored")
    summary = ingest_paths(engine, [folder, tmp_path / "missing.json"])
    assert [d.source for d in summary.documents] == [str(folder / "a-good.json")]
    assert sorted(f.source for f in summary.failures) == sorted(
        [str(folder / "b-broken.json"), str(folder / "c-xxe.xml"), str(tmp_path / "missing.json")]
    )
    with Session(engine) as session:
        assert session.exec(select(ComponentRow).where(ComponentRow.name == "evil")).all() == []
        assert len(session.exec(select(SbomDocumentRow)).all()) == 1
        assert [r.full_name for r in session.exec(select(RepositoryRow)).all()] == ["maven-test-project"]
