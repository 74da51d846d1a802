"""docs/api.md and docs/openapi.json are generated from the query layer's models and stay current; the
OpenAPI document is valid; the pages escape upstream-controlled text."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from openapi_spec_validator import validate

from bot.api.http import page_environment
from bot.api.openapi import openapi_document
from bot.api.schema_docs import render_docs
from bot.query.models import PackageUse, SignalValueOut, UpstreamRecord

DOCS = Path(__file__).resolve().parents[1] / "docs"
HOSTILE = "<script>alert(1)</script><img src=x onerror=alert(2)>@here"


def test_docs_api_md_shows_the_current_schemas() -> None:
    text = (DOCS / "api.md").read_text(encoding="utf-8")
    assert text == render_docs(text), "run `python -m bot.api.schema_docs`"
    for name in openapi_document()["components"]["schemas"]:
        assert f"### {name}\n" in text


def test_docs_openapi_json_is_the_served_document_and_valid() -> None:
    document = openapi_document()
    assert json.loads((DOCS / "openapi.json").read_text(encoding="utf-8")) == document
    validate(document)  # OpenAPI 3.1
    for path, item in document["paths"].items():
        assert path.startswith("/api/v1/") and set(item) == {"get"}  # read-only
        assert "401" in item["get"]["responses"] and "304" in item["get"]["responses"]


def test_the_upstream_page_escapes_upstream_text() -> None:
    record = UpstreamRecord(
        upstream="github.com/evil/" + HOSTILE,
        formerly=[HOSTILE],
        known=True,
        packages=[
            PackageUse(
                package=HOSTILE,
                ecosystem="npm",
                status="resolved",
                subdirectory=None,
                provenance=HOSTILE,
                repositories=[HOSTILE],
            )
        ],
        repositories=[HOSTILE],
        window_days=365,
        contributions=[],
        contributions_gathered=False,
        money=[],
        money_gathered=False,
        signals_observed_at=datetime(2026, 11, 1, tzinfo=UTC),
        signals_scan_id=1,
        signals=[SignalValueOut(name="licence", value=HOSTILE, source=HOSTILE)],
        drifts=[],
        decisions=[],
        summary=None,
        terms=[],
        explanation=HOSTILE,
    )
    html = page_environment().get_template("upstream.html.j2").render(record=record)
    assert "<script>" not in html and "<img" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
