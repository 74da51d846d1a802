"""A quarter without a gap snapshot: the review says nothing was scored instead of "no upstream is under-invested".

The review is built from a small hand-made store (the real SBOM, ledger payments, contributions) whose only
snapshot was taken after the quarter ended, and rendered as Markdown and HTML.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from bot.report.build import build_review
from bot.report.charts import Chart, render_charts
from bot.report.interface import ReviewData
from bot.report.review import DEFAULT_TEMPLATES_DIR, format_money, render_review, render_template, review_context
from tests.report_sample import sample_review
from tests.test_report_render import _markdown_to_html, _parse
from tests.test_wiring_store import NOW, A, B, _snapshot, seed_evidence, seed_inventory, settings

NO_SNAPSHOT = "No gap snapshot exists for 2026Q3"
ALL_INVESTED = "No upstream is under-invested relative to its usage and risk."


@pytest.fixture
def unscored(engine: Engine, tmp_path: Path) -> tuple[ReviewData, str, str]:
    seed_inventory(engine)
    seed_evidence(engine)
    _snapshot(engine, {A: 3, B: 1}, datetime(2026, 10, 1, 1, tzinfo=UTC))  # just after 2026Q3 ended
    data = build_review(engine, settings(), quarter="2026Q3", now=NOW)
    render_review(data, tmp_path)
    return data, (tmp_path / "review.md").read_text(), (tmp_path / "review.html").read_text()


def _section(text: str, start: str, end: str) -> str:
    return text.split(start, 1)[1].split(end, 1)[0]


def test_build_marks_a_quarter_without_a_snapshot_as_not_scored(unscored: tuple[ReviewData, str, str]) -> None:
    data, _, _ = unscored
    assert data.scored is False
    assert data.gaps == () and data.risks == () and data.budget == 0.0
    assert data.payments  # the quarter's money is still there to show


def test_markdown_says_no_snapshot_exists_instead_of_no_gap(unscored: tuple[ReviewData, str, str]) -> None:
    data, markdown, _ = unscored
    assert ALL_INVESTED not in markdown
    assert "No upstream we use shows" not in markdown
    assert NO_SNAPSHOT in _section(markdown, "## Summary", "## Top gaps")
    assert NO_SNAPSHOT in _section(markdown, "## Top gaps", "## Sovereignty risk register")
    assert NO_SNAPSHOT in _section(markdown, "## Sovereignty risk register", "## What we gave")
    assert "budget is" not in markdown  # no budget was computed: do not print a zero one
    summary = _parse(_markdown_to_html(_section(markdown, "## Summary", "## Top gaps")))
    money = next(h for h in data.headline if h.key == "money_given")
    assert format_money(money.value, data.currency) in summary.cells
    assert "`upkeep score`" in markdown


def test_html_says_no_snapshot_exists_and_draws_no_gap_charts(unscored: tuple[ReviewData, str, str]) -> None:
    _, _, html = unscored
    assert ALL_INVESTED not in html
    assert "No upstream we use shows" not in html
    for section, following in (("summary", "top-gaps"), ("top-gaps", "risk-register"), ("risk-register", "what")):
        assert NO_SNAPSHOT in _section(html, f'<section id="{section}">', f'<section id="{following}'), section
    charts = [attrs["data-chart"] for tag, attrs in _parse(html).tags if tag == "svg" and "data-chart" in attrs]
    assert len(charts) == 2  # funding and contributions: what the quarter has without a snapshot
    assert 'id="figure-gap-quadrant"' not in html and 'id="figure-top-gaps"' not in html
    assert 'id="figure-risk-register"' not in html
    assert 'id="figure-funding-by-channel"' in html and 'id="figure-contributions-by-quarter"' in html


def test_a_scored_quarter_without_positive_gaps_still_says_no_upstream_is_under_invested() -> None:
    data = sample_review()
    balanced = replace(data, gaps=tuple(replace(row, gap=min(row.gap, 0.0)) for row in data.gaps))
    context = review_context(balanced)
    for name, markdown in (("review.md.j2", True), ("review.html.j2", False)):
        extra = {} if markdown else {"charts": _charts(balanced)}
        text = render_template(DEFAULT_TEMPLATES_DIR, name, {**context, **extra}, markdown=markdown)
        assert ALL_INVESTED in text, name
        assert "No gap snapshot exists" not in text, name


def _charts(data: ReviewData) -> dict[str, Chart]:
    return {chart.id: chart for chart in render_charts(data)}
