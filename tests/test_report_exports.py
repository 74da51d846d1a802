"""The files beside the review: CSV tables, review.json against its schema, the Pledge member file."""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from bot.report import exports
from bot.report.interface import PaymentRow, ReviewData, ReviewError
from bot.report.review import render_review
from tests.report_sample import HOSTILE_NAMES, hostile_review, sample_review

ROOT = Path(__file__).resolve().parents[1]
REVIEW_SCHEMA = ROOT / "docs" / "review.schema.json"
DATA = Path(__file__).parent / "data" / "report"
PLEDGE_SCHEMA = DATA / "pledge-member.schema.json"


def _validator(path: Path) -> Draft202012Validator:
    schema = json.loads(path.read_text())
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(text.splitlines()))


@pytest.fixture(scope="module")
def data() -> ReviewData:
    return sample_review()


def test_gaps_csv_lists_every_upstream_by_priority_with_its_numbers(data: ReviewData) -> None:
    rows = _rows(exports.gaps_csv(data))
    assert len(rows) == len(data.gaps)
    by_key = {row.upstream: row for row in data.gaps}
    assert {r["upstream"] for r in rows} == set(by_key)
    priorities = [float(r["priority"]) for r in rows]
    assert priorities == sorted(priorities, reverse=True)
    assert [int(r["rank"]) for r in rows] == list(range(1, len(rows) + 1))
    for r in rows:
        gap = by_key[r["upstream"]]
        assert float(r["usage_share"]) == pytest.approx(gap.usage_share, abs=1e-6)
        assert float(r["expected_share"]) == pytest.approx(gap.expected_share, abs=1e-6)
        assert float(r["investment_share"]) == pytest.approx(gap.investment_share, abs=1e-6)
        assert float(r["gap"]) == pytest.approx(gap.gap, abs=1e-6)
        assert float(r["recommended_amount"]) == pytest.approx(gap.recommended_amount, abs=0.005)
        assert float(r["given_amount"]) == pytest.approx(gap.given_amount, abs=0.005)
        assert r["currency"] == data.currency
        assert r["terms"].split(" ; ") == list(gap.terms)


def test_funding_csv_keeps_original_and_converted_amounts(data: ReviewData) -> None:
    rows = _rows(exports.funding_csv(data))
    assert len(rows) == len(data.payments)
    expected = {(p.upstream, p.channel): p for p in data.payments}
    for r in rows:
        payment = expected[(r["upstream"], r["channel"])]
        assert float(r["amount"]) == pytest.approx(payment.amount, abs=0.005)
        assert r["currency"] == payment.currency
        assert float(r["converted"]) == pytest.approx(payment.converted, abs=0.005)
        assert r["reporting_currency"] == data.currency
        assert r["team"] == (payment.team or "")
    assert sum(float(r["converted"]) for r in rows) == pytest.approx(sum(p.converted for p in data.payments))


def test_contributions_csv_has_one_row_per_upstream_and_kind(data: ReviewData) -> None:
    rows = _rows(exports.contributions_csv(data))
    assert sorted((r["upstream"], r["kind"], int(r["count"]), r["team"]) for r in rows) == sorted(
        (c.upstream, c.kind, c.count, c.team or "") for c in data.contributions
    )


def test_csv_cells_cannot_run_as_spreadsheet_formulas() -> None:
    data = sample_review()
    data = replace(
        data,
        payments=(PaymentRow('=HYPERLINK("http://x")', "+channel", 1.0, "USD", 1.0, "@team"),),
    )
    row = _rows(exports.funding_csv(data))[0]
    assert row["upstream"] == '\'=HYPERLINK("http://x")'
    assert row["channel"] == "'+channel"
    assert row["team"] == "'@team"


def test_hostile_names_survive_the_csv_round_trip() -> None:
    data = hostile_review()
    upstreams = {r["upstream"] for r in _rows(exports.gaps_csv(data))}
    assert set(HOSTILE_NAMES) <= upstreams


@pytest.mark.parametrize("review", [sample_review, hostile_review])
def test_review_json_follows_its_schema(review: Callable[[], ReviewData]) -> None:
    document = json.loads(exports.review_json(review()))
    errors = sorted(_validator(REVIEW_SCHEMA).iter_errors(document), key=str)
    assert not errors, [e.message for e in errors]


def test_review_json_carries_the_input(data: ReviewData) -> None:
    document = json.loads(exports.review_json(data))
    assert document["quarter"] == data.quarter and document["currency"] == data.currency
    assert [g["upstream"] for g in document["gaps"]] == [r.upstream for r in exports.ranked_gaps(data)]
    assert len(document["top_gaps"]) == data.top_gaps_limit
    assert document["top_gaps"] == [g["upstream"] for g in document["gaps"] if g["gap"] > 0][: data.top_gaps_limit]
    channels = {c["channel"]: c["amount"] for c in document["funding_by_channel"]}
    for channel in {p.channel for p in data.payments}:
        assert channels[channel] == pytest.approx(sum(p.converted for p in data.payments if p.channel == channel))
    assert document["pledge"]["usd_per_developer"] == pytest.approx(data.pledge.amount_usd / data.pledge.developers)
    assert document["caveats"] == list(data.caveats)


def test_the_schema_refuses_a_wrong_document(data: ReviewData) -> None:
    document: dict[str, Any] = json.loads(exports.review_json(data))
    validator = _validator(REVIEW_SCHEMA)
    broken = {**document, "quarter": "2026-07"}
    assert not validator.is_valid(broken)
    broken = {**document, "gaps": [{**document["gaps"][0], "usage_share": 1.5}]}
    assert not validator.is_valid(broken)
    assert not validator.is_valid({k: v for k, v in document.items() if k != "pledge"})


@pytest.mark.parametrize("real", ["pledge-member_sentry.json", "pledge-member_astral.json"])
def test_the_pledge_schema_accepts_the_pledges_own_member_files(real: str) -> None:
    document = json.loads((DATA / real).read_text())
    errors = list(_validator(PLEDGE_SCHEMA).iter_errors(document))
    assert not errors, [e.message for e in errors]


def test_pledge_json_has_the_member_file_shape(data: ReviewData) -> None:
    text = exports.pledge_json(data)
    assert text is not None
    document = json.loads(text)
    errors = list(_validator(PLEDGE_SCHEMA).iter_errors(document))
    assert not errors, [e.message for e in errors]
    real = json.loads((DATA / "pledge-member_sentry.json").read_text())
    assert set(document) <= set(real) | {"blogProfileSlug"}
    assert set(document["annualReports"][0]) == set(real["annualReports"][0])
    member = data.pledge.member
    assert member is not None
    assert document["id"] == member.id and document["joinDate"] == member.join_date.isoformat()
    current, *earlier = document["annualReports"]
    assert current["year"] == data.pledge.year
    assert current["usdAmountPaid"] == pytest.approx(data.pledge.amount_usd, abs=0.005)
    assert current["averageNumberOfDevs"] == data.pledge.developers
    assert current["reportDate"] == data.generated_at.date().isoformat()
    assert [r["year"] for r in earlier] == [r.year for r in data.pledge.history]


def test_no_pledge_file_without_membership(tmp_path: Path) -> None:
    data = sample_review()
    data = replace(data, pledge=replace(data.pledge, member=None))
    files = render_review(data, tmp_path)
    assert files.pledge_json is None and not (tmp_path / "pledge.json").exists()
    assert "not configured as a Pledge member" in files.markdown.read_text()
    assert json.loads(files.review_json.read_text())["pledge"]["member_id"] is None


def test_format_checking_is_really_on_for_uris() -> None:
    assert "uri" in Draft202012Validator.FORMAT_CHECKER.checkers  # needs rfc3986-validator installed
    validator = _validator(PLEDGE_SCHEMA)
    real = json.loads((DATA / "pledge-member_sentry.json").read_text())
    assert validator.is_valid(real)
    assert not validator.is_valid({**real, "url": ""})  # the file upkeep wrote without report.pledge_url
    assert not validator.is_valid({**real, "url": "example.com/open source"})
    report = real["annualReports"][0]
    assert not validator.is_valid({**real, "annualReports": [{**report, "year": 2026}]})  # a year is a string
    assert not validator.is_valid({**real, "annualReports": [{**report, "reportDate": "15/01/2026"}]})


@pytest.mark.parametrize(
    ("member", "setting"),
    [
        ({"url": ""}, "report.pledge_url: required, an absolute http(s) URL"),
        ({"url": "www.example.com"}, "report.pledge_url: required, an absolute http(s) URL"),
        ({"join_date": None}, "report.pledge_join_date: required"),
        ({"name": " "}, "report.pledge_name (default: organisation): required"),
    ],
)
def test_a_missing_required_value_stops_the_export_naming_the_setting(
    member: dict[str, Any], setting: str, tmp_path: Path
) -> None:
    data = sample_review()
    assert data.pledge.member is not None
    data = replace(data, pledge=replace(data.pledge, member=replace(data.pledge.member, **member), report_url=None))
    with pytest.raises(ReviewError, match=re.escape(setting)):
        exports.pledge_json(data)
    with pytest.raises(ReviewError, match=r"pledge\.json not written"):
        render_review(data, tmp_path)
    assert not list(tmp_path.iterdir()), "nothing is written when the Pledge would refuse the file"


def test_the_pledge_file_upkeep_writes_passes_with_formats_checked(data: ReviewData) -> None:
    text = exports.pledge_json(data)
    assert text is not None
    document = json.loads(text)
    assert not list(_validator(PLEDGE_SCHEMA).iter_errors(document))
    years = [r["year"] for r in document["annualReports"]]
    assert years == sorted(years, reverse=True) and len(set(years)) == len(years)
