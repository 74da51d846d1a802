"""The review page in a real browser: headless Debian Chromium over the DevTools protocol.

Without Chromium the tests fail when ``CI`` is set (``.ci/run`` installs it) and skip otherwise.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.report.charts import render_charts
from bot.report.review import render_review
from tests.report_browser import Chromium, find_chromium, open_page
from tests.report_sample import HOSTILE_NAMES, hostile_review, sample_review

pytestmark = pytest.mark.browser

# For every chart: its box, and per series the number of marks and the area they cover on screen.
CHART_PROBE = """
JSON.stringify([...document.querySelectorAll('svg[data-chart]')].map(svg => {
  const box = svg.getBoundingClientRect();
  const name = svg.dataset.chart;
  const series = (svg.dataset.series || '').split(' ').filter(Boolean).map(s => {
    const marks = [...svg.querySelectorAll(`[id^="${name}-series-${s}"]`)];
    const area = marks.reduce((sum, m) => {
      const r = m.getBoundingClientRect();
      return sum + Math.max(r.width, 1) * Math.max(r.height, 1) * (r.width > 0 || r.height > 0 ? 1 : 0);
    }, 0);
    return {name: s, marks: marks.length, area: area};
  });
  return {id: name, width: box.width, height: box.height, texts: svg.querySelectorAll('text').length, series};
}))
"""


@pytest.fixture(scope="module")
def executable() -> str:
    found = find_chromium()
    if found is None:
        message = "headless Chromium is not installed (Debian: apt-get install chromium; .ci/run installs it)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return found


@pytest.fixture(scope="module")
def browser(executable: str) -> Iterator[Chromium]:
    with Chromium(executable) as chromium:
        yield chromium


def _probe(page: Any) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = json.loads(page.evaluate(CHART_PROBE))
    return result


def test_the_charts_render_with_their_series_and_no_errors(browser: Chromium, tmp_path: Path) -> None:
    data = sample_review()
    files = render_review(data, tmp_path)
    page = open_page(browser, files.html.as_uri())
    assert page.report.errors == []
    assert [url for url in page.report.requests if not url.startswith("file:")] == []
    charts = _probe(page)
    expected = {chart.id: chart.series for chart in render_charts(data)}
    assert sorted(c["id"] for c in charts) == sorted(expected)
    for chart in charts:
        assert chart["width"] > 200 and chart["height"] > 100, chart["id"]
        assert chart["texts"] > 3, chart["id"]  # axis labels and ticks are live text
        assert tuple(s["name"] for s in chart["series"]) == expected[chart["id"]]
        for series in chart["series"]:
            assert series["marks"] > 0 and series["area"] > 0, (chart["id"], series)


def test_hostile_names_render_as_text_without_errors(executable: str, tmp_path: Path) -> None:
    files = render_review(hostile_review(), tmp_path)
    # A browser started after a review was rendered in this process (whatever files that left open).
    with Chromium(executable) as browser:
        page = open_page(browser, files.html.as_uri())
        _check_hostile(page)


def _check_hostile(page: Any) -> None:
    assert page.report.errors == []
    assert page.evaluate("document.querySelectorAll('script, img, a[href]').length") == 0
    assert page.evaluate("document.title") == f"Open-source review 2026Q3: {HOSTILE_NAMES[0]}"
    cells = page.evaluate("[...document.querySelectorAll('td.key')].map(td => td.firstChild.textContent)")
    assert set(HOSTILE_NAMES) <= set(cells)


def test_the_probe_sees_errors_when_there_are_some(browser: Chromium, tmp_path: Path) -> None:
    """The checks above could fail: a page with a console error, an exception and a failed fetch."""
    broken = tmp_path / "broken.html"
    broken.write_text(
        "<!DOCTYPE html><html><body><svg data-chart='x' data-series='y'></svg>"
        "<img src='http://127.0.0.1:9/missing.png'>"
        "<script>console.error('console says no'); throw new Error('thrown on purpose');</script>"
        "</body></html>"
    )
    page = open_page(browser, broken.as_uri())
    assert any("console says no" in e for e in page.report.console_errors)
    assert page.report.exceptions
    assert "http://127.0.0.1:9/missing.png" in page.report.requests
    [chart] = _probe(page)
    assert chart["series"] == [{"name": "y", "marks": 0, "area": 0}]
