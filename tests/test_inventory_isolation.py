"""One hostile file costs only itself: recursion, memory and unexpected errors are per file, naming it.

And documents Windows tools write (UTF-16, UTF-32, with or without a byte-order mark) read like UTF-8 ones.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.inventory import ingest as ingest_module
from bot.inventory.detect import parse_bytes
from bot.inventory.ingest import ingest_paths
from bot.inventory.interface import NotParseable
from bot.store.tables import SbomDocumentRow

SBOMS = Path(__file__).parent / "data" / "sboms"
GOOD = SBOMS / "cdx-1.6-multi-ecosystem_trivy.json"
DEPTH = 100_000


def deep_object() -> bytes:
    return b'{"bomFormat": "CycloneDX", "specVersion": "1.5", "x": ' + b'{"a": ' * DEPTH + b"1" + b"}" * DEPTH + b"}"


def deep_components() -> bytes:
    opening = b'{"name": "a", "components": ['
    return b'{"bomFormat": "CycloneDX", "specVersion": "1.5", "components": [' + opening * DEPTH + b"]}" * DEPTH + b"]}"


@pytest.mark.parametrize("make", [deep_object, deep_components])
def test_a_document_nested_100000_deep_is_refused_naming_it(make: object) -> None:
    assert callable(make)
    with pytest.raises(NotParseable) as caught:
        parse_bytes(make(), source="deep.json")
    assert str(caught.value).startswith("deep.json: nested too deeply")


def test_a_deep_file_does_not_sink_the_documents_beside_it(tmp_path: Path, engine: Engine) -> None:
    tmp_path = tmp_path / "sboms"
    tmp_path.mkdir()
    (tmp_path / "a-good.json").write_bytes(GOOD.read_bytes())
    (tmp_path / "b-deep.json").write_bytes(deep_object())
    (tmp_path / "c-deeper.json").write_bytes(deep_components())
    summary = ingest_paths(engine, [tmp_path], repo="acme/app", replace=True)
    assert [Path(d.source).name for d in summary.documents] == ["a-good.json"]
    assert [(Path(f.source).name, f.message.split(" (")[0]) for f in summary.failures] == [
        ("b-deep.json", "nested too deeply to read"),
        ("c-deeper.json", "nested too deeply to read"),
    ]


@pytest.mark.parametrize("error", [MemoryError(), RecursionError("deep"), RuntimeError("surprise")])
def test_any_failure_of_one_file_is_that_file_s_line(
    tmp_path: Path, engine: Engine, monkeypatch: pytest.MonkeyPatch, error: BaseException
) -> None:
    tmp_path = tmp_path / "sboms"
    tmp_path.mkdir()
    (tmp_path / "a-good.json").write_bytes(GOOD.read_bytes())
    (tmp_path / "b-bad.json").write_bytes(GOOD.read_bytes().replace(b'"1.6"', b'"1.5"'))
    real = ingest_module.parse_bytes

    def flaky(data: bytes, *, source: str) -> object:
        if source.endswith("b-bad.json"):
            raise error
        return real(data, source=source)

    monkeypatch.setattr(ingest_module, "parse_bytes", flaky)
    summary = ingest_paths(engine, [tmp_path], repo="acme/app", replace=True)
    assert [Path(d.source).name for d in summary.documents] == ["a-good.json"]
    assert len(summary.failures) == 1
    assert summary.failures[0].source.endswith("b-bad.json")
    assert type(error).__name__ in summary.failures[0].message
    with Session(engine) as session:
        assert [Path(r.source).name for r in session.exec(select(SbomDocumentRow))] == ["a-good.json"]


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be", "utf-16", "utf-32"])
@pytest.mark.parametrize("name", ["cdx-1.6-multi-ecosystem_trivy.json", "spdx-2.3-tag-value_syft.spdx"])
def test_utf16_and_utf32_with_and_without_a_mark_read_like_utf8(encoding: str, name: str) -> None:
    text = (SBOMS / name).read_text(encoding="utf-8")
    # "utf-16"/"utf-32" write a byte-order mark; the -le/-be codecs write none
    assert parse_bytes(text.encode(encoding), source=name) == parse_bytes(text.encode("utf-8"), source=name)


def test_utf16_that_does_not_decode_is_refused_naming_the_encoding() -> None:
    with pytest.raises(NotParseable) as caught:
        parse_bytes(b"\xfe\xff\xd8\x00\x00{", source="bad16.json")
    assert str(caught.value).startswith("bad16.json: looks like UTF-16-BE but does not decode")
