"""The resolvers' one way to read a registry's JSON answer: the value, or why not as data."""

from __future__ import annotations

from bot.resolve.fetch import FetchResult, json_at
from bot.resolve.interface import BAD_DOCUMENT, REGISTRY_404, Unresolved

URL = "https://registry.test/pkg"


def test_value_at_keys() -> None:
    result = FetchResult(URL, 200, b'{"packages": {"a/b": [{"version": "1.0"}]}}')
    assert json_at(result, "packages", "a/b", expect=list) == [{"version": "1.0"}]


def test_missing_key_not_json_wrong_type_and_404_are_reasons() -> None:
    missing = json_at(FetchResult(URL, 200, b'{"info": null}'), "crate")
    assert isinstance(missing, Unresolved) and missing.reason.startswith(BAD_DOCUMENT)
    broken = json_at(FetchResult(URL, 200, b"<html>"))
    assert isinstance(broken, Unresolved) and broken.reason.startswith(BAD_DOCUMENT)
    wrong = json_at(FetchResult(URL, 200, b'{"info": []}'), "info")
    assert isinstance(wrong, Unresolved) and wrong.reason == f"{BAD_DOCUMENT}: {URL}: info is not an object"
    gone = json_at(FetchResult(URL, 404, b"Not Found"), "info")
    assert isinstance(gone, Unresolved) and gone.reason == REGISTRY_404
