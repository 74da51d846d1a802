"""Registry-side signals from real npm and PyPI documents (tests/data/funding, see SOURCES.md)."""

from __future__ import annotations

import json
from pathlib import Path

from bot.signals.registry import npm_signals, pypi_signals

DATA = Path(__file__).parent / "data" / "funding"


def test_npm_packument_gives_licence_funding_and_deprecation() -> None:
    doc = json.loads((DATA / "npm_is-stream.json").read_text())
    signals = npm_signals(doc)
    assert (signals.deprecated, signals.licence) == (False, "MIT")
    assert [(c.platform, c.url, c.source) for c in signals.funding] == [
        ("github", "https://github.com/sponsors/sindresorhus", "npm")
    ]
    latest = doc["dist-tags"]["latest"]
    doc["versions"][latest]["deprecated"] = "use node:stream instead"
    assert npm_signals(doc).deprecated is True


def test_pypi_document_gives_funding_and_inactive_status() -> None:
    doc = json.loads((DATA / "pypi_django-split-settings_project-urls.json").read_text())
    signals = pypi_signals(doc)
    assert signals.deprecated is False and signals.licence is None  # no licence field, only a classifier
    assert [c.url for c in signals.funding] == ["https://github.com/sponsors/xxxxx"]
    doc["info"]["classifiers"].append("Development Status :: 7 - Inactive")
    doc["info"]["license_expression"] = "BSD-3-Clause"
    again = pypi_signals(doc)
    assert (again.deprecated, again.licence) == (True, "BSD-3-Clause")


def test_free_text_licences_and_odd_documents_give_nothing() -> None:
    assert pypi_signals({"info": {"license": "Copyright (c) 2020 Someone\nAll rights reserved."}}).licence is None
    assert npm_signals([]).deprecated is None and pypi_signals(None).funding == ()
