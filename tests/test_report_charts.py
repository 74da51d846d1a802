"""The review's charts: inline-ready, deterministic SVG whose series a browser test can find."""

from __future__ import annotations

import re
from dataclasses import replace
from xml.etree.ElementTree import Element

import pytest
from defusedxml import ElementTree

from bot.report.charts import (
    QUADRANT_MAX_POINTS,
    Chart,
    contributions_trend,
    gap_quadrant_chart,
    render_charts,
    risk_counts,
    top_gaps,
    top_gaps_chart,
)
from bot.report.interface import GapRow, RiskKind
from tests.report_sample import hostile_review, sample_review

SVG = "{http://www.w3.org/2000/svg}"


def _tree(svg: str) -> Element:
    return ElementTree.fromstring(svg)


@pytest.fixture(scope="module")
def charts() -> tuple[Chart, ...]:
    return render_charts(sample_review())


def _ids(root: Element) -> list[str]:
    return [element.get("id", "") for element in root.iter() if element.get("id")]


def test_the_five_charts_are_there(charts: tuple[Chart, ...]) -> None:
    assert [chart.id for chart in charts] == [
        "gap-quadrant",
        "top-gaps",
        "funding-by-channel",
        "contributions-by-quarter",
        "risk-register",
    ]


def test_each_svg_is_an_element_with_title_and_series(charts: tuple[Chart, ...]) -> None:
    for chart in charts:
        assert chart.svg.startswith("<svg ")
        assert "<?xml" not in chart.svg and "<!DOCTYPE" not in chart.svg and "<metadata" not in chart.svg
        root = _tree(chart.svg)
        assert root.get("data-chart") == chart.id
        assert root.get("data-series", "").split() == list(chart.series)
        title = root.find(f"{SVG}title")
        assert title is not None and title.text == chart.title
        ids = _ids(root)
        assert len(ids) == len(set(ids)), f"{chart.id}: duplicate ids"
        assert all(i == f"chart-{chart.id}" or i.startswith(f"{chart.id}-") for i in ids), chart.id
        for name in chart.series:
            assert any(i.startswith(f"{chart.id}-series-{name}") for i in ids), (chart.id, name)


def test_references_point_at_the_prefixed_ids(charts: tuple[Chart, ...]) -> None:
    for chart in charts:
        ids = set(_ids(_tree(chart.svg)))
        for target in re.findall(r"url\(#([^)]+)\)", chart.svg) + re.findall(r'href="#([^"]+)"', chart.svg):
            assert target in ids, (chart.id, target)


def test_series_match_the_data(charts: tuple[Chart, ...]) -> None:
    data = sample_review()
    by_id = {chart.id: chart for chart in charts}
    assert by_id["gap-quadrant"].series == ("diagonal", "upstreams", "top-gaps")
    assert by_id["top-gaps"].series == ("recommended", "given")
    quarters, kinds = contributions_trend(data)
    assert quarters == ("2025Q4", "2026Q1", "2026Q2", "2026Q3")
    assert by_id["contributions-by-quarter"].series == tuple(kinds)
    assert set(kinds) == {row.kind for row in data.contributions_by_quarter}
    bars = [i for i in _ids(_tree(by_id["top-gaps"].svg)) if i.startswith("top-gaps-series-recommended-")]
    assert len(bars) == len(top_gaps(data))


def test_contributions_trend_sums_each_quarter_and_fills_gaps_with_zero() -> None:
    data = sample_review()
    quarters, kinds = contributions_trend(replace(data, contributions_by_quarter=data.contributions_by_quarter[4:]))
    assert kinds["commit"][0] == 0  # 2025Q4 rows were dropped
    expected = sum(r.count for r in data.contributions_by_quarter if r.quarter == "2026Q3" and r.kind == "review")
    assert kinds["review"][quarters.index("2026Q3")] == expected


def test_risk_counts_list_every_kind() -> None:
    counts = dict(risk_counts(sample_review()))
    assert set(counts) == set(RiskKind)
    assert counts[RiskKind.LICENCE_DRIFT] == 2 and counts[RiskKind.BUS_FACTOR_1] == 1
    assert counts[RiskKind.COMPANY_CONTROL] == 1 and counts[RiskKind.COMPANY_WORK] == 0


def test_svg_is_deterministic_and_text_stays_text(charts: tuple[Chart, ...]) -> None:
    first = [chart.svg for chart in charts]
    second = [chart.svg for chart in render_charts(sample_review())]
    assert first == second
    assert "github.com/madler/zlib" in first[1]  # the label is <text>, not glyph paths


def test_hostile_labels_are_text_not_markup_or_mathtext() -> None:
    hostile = render_charts(hostile_review())
    for chart in hostile:
        root = _tree(chart.svg)  # still well-formed XML
        assert not [e for e in root.iter() if e.tag.endswith("script")]
    top = hostile[1].svg
    assert "&lt;script&gt;" in top or "`rm -rf /`" in top


def test_empty_data_draws_a_message_instead_of_failing() -> None:
    data = replace(sample_review(), payments=(), gaps=(), contributions_by_quarter=(), risks=())
    charts = {chart.id: chart for chart in render_charts(data)}
    assert "No money given in the period" in charts["funding-by-channel"].svg
    assert "No under-invested upstream" in charts["top-gaps"].svg
    assert charts["funding-by-channel"].series == ()


def test_a_large_quadrant_draws_every_upstream_as_density_and_keeps_every_top_gap() -> None:
    many = tuple(
        GapRow(f"github.com/o/p{i}", (i + 1) / 10_000, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0)
        for i in range(QUADRANT_MAX_POINTS + 500)
    )
    tiny_gap = GapRow("github.com/o/tiny", 1e-9, 0.01, 0.0, 0.01, 1.0, 0.01, 5.0, 0.0)
    chart = gap_quadrant_chart((*many, tiny_gap), top=(tiny_gap,))
    assert f"{QUADRANT_MAX_POINTS + 500:,} upstreams drawn as density squares" in chart.note
    assert "top-gaps" in chart.series
    root = _tree(chart.svg)
    [density] = [g for g in root.iter(f"{SVG}g") if g.get("id") == "gap-quadrant-series-upstreams"]
    counts = [int((cell.findtext(f"{SVG}title") or "").split()[0].replace(",", "")) for cell in density]
    assert sum(counts) == QUADRANT_MAX_POINTS + 500  # every upstream is in one square, none dropped
    assert not [e for e in density.iter() if e.tag == f"{SVG}circle"]


def test_dollar_signs_in_names_stay_literal_instead_of_mathtext() -> None:
    row = GapRow("github.com/a/$x^2$", 0.1, 0.2, 0.0, 0.2, 1.0, 0.2, 100.0, 0.0)
    svg = top_gaps_chart((row,), currency="USD").svg
    assert "github.com/a/$x^2$" in svg
