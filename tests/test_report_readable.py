"""A review people read: arithmetic folded, review.md bounded for the job summary, plain wording."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

from bot.report.interface import (
    ContributionRow,
    NotScoredRow,
    PaymentRow,
    ReviewData,
    RiskKind,
    RiskRow,
    UnresolvedRow,
)
from bot.report.review import MARKDOWN_TABLE_ROWS, render_review
from tests.report_sample import sample_review

JOB_SUMMARY_LIMIT = 1024 * 1024  # GitHub's limit for one step's summary


def _at_scale(data: ReviewData, n: int) -> ReviewData:
    """The sample with ``n`` upstreams in every per-upstream table (the large sandbox has 6,000)."""
    keys = [f"github.com/owner-{i:05d}/a-rather-long-project-name-{i:05d}" for i in range(n)]
    gap = data.gaps[0]
    return replace(
        data,
        gaps=tuple(replace(gap, upstream=key) for key in keys),
        risks=tuple(RiskRow(key, (RiskKind.BUS_FACTOR_1,), "1 maintainer active in 12 months", 1 / n) for key in keys),
        contributions=tuple(ContributionRow(key, "pr_merged", 1 + i % 7) for i, key in enumerate(keys)),
        payments=tuple(PaymentRow(key, "github-sponsors", 10.0, "USD", 9.2) for key in keys),
        unresolved=tuple(
            UnresolvedRow(f"npm/package-{i:06d}", "no repository link in the registry", 1) for i in range(3 * n)
        ),
        not_scored=tuple(
            NotScoredRow(f"github.com/example/own-{i:05d}", "the organisation's own repository", 2) for i in range(n)
        ),
    )


def test_review_md_fits_a_job_summary_at_6000_upstreams(tmp_path: Path) -> None:
    data = _at_scale(sample_review(), 6000)
    render_review(data, tmp_path)
    markdown = (tmp_path / "review.md").read_text()
    assert len(markdown.encode()) < JOB_SUMMARY_LIMIT / 4, len(markdown.encode())
    notes = re.findall(r"^…and ([\d,]+) more rows: every row is in (.+)\.$", markdown, re.MULTILINE)
    assert dict((where, int(count.replace(",", ""))) for count, where in notes) == {
        "`review.json` (`risks`) and `review.html`": 6000 - MARKDOWN_TABLE_ROWS,
        "`contributions.csv`": 6000 - MARKDOWN_TABLE_ROWS,
        "`funding.csv`": 6000 - MARKDOWN_TABLE_ROWS,
        "`review.json` (`unresolved`)": 18000 - MARKDOWN_TABLE_ROWS,
        "`review.json` (`not_scored`)": 6000 - MARKDOWN_TABLE_ROWS,
    }
    # the exports named there hold every row
    assert (tmp_path / "contributions.csv").read_text().count("owner-") == 6000
    assert (tmp_path / "funding.csv").read_text().count("owner-") == 6000


def test_a_small_review_shows_every_row_without_a_note(tmp_path: Path) -> None:
    render_review(sample_review(), tmp_path)
    assert "more rows: every row is in" not in (tmp_path / "review.md").read_text()


def test_the_arithmetic_is_folded(tmp_path: Path) -> None:
    data = sample_review()
    render_review(data, tmp_path)
    html = (tmp_path / "review.html").read_text()
    rows = re.findall(r'<tr data-upstream="[^"]+">.*?</tr>', html, re.DOTALL)
    assert rows
    for row in rows:
        assert '<details class="terms"><summary>how this was reached</summary><ul><li>' in row
    markdown = (tmp_path / "review.md").read_text()
    table_end = markdown.index("\n\n", markdown.index("| # | Upstream |"))
    assert markdown.index("### Why these upstreams") > table_end
    assert data.gaps[0].terms[0] not in markdown[:table_end]


def test_counts_agree_with_their_noun_and_code_stays_code(tmp_path: Path) -> None:
    data = sample_review()
    one = replace(
        data,
        payments=data.payments[:1],
        not_scored=(NotScoredRow("github.com/example/own", "the organisation's own repository", 1),),
        unresolved=data.unresolved[:1],
        method=(*data.method, "Run `upkeep score` to take a snapshot; weights are in `config/gaps.toml`."),
    )
    render_review(one, tmp_path)
    for name in ("review.md", "review.html"):
        text = (tmp_path / name).read_text()
        assert " to 1 upstream and made " in text, name
        assert "1 upstream the organisation uses is left out of the gap model" in text, name
        assert "1 package could not be mapped" in text, name
        assert "1 upstreams" not in text and "1 packages" not in text, name
    markdown = (tmp_path / "review.md").read_text()
    assert "Run `upkeep score` to take a snapshot; weights are in `config/gaps.toml`." in markdown
    assert "\\`" not in markdown
    html = (tmp_path / "review.html").read_text()
    assert "Run <code>upkeep score</code> to take a snapshot" in html


def test_close_top_gaps_share_one_label_and_far_ones_keep_their_own() -> None:
    from bot.report.charts import gap_quadrant_chart
    from bot.report.interface import GapRow

    def row(name: str, usage: float) -> GapRow:
        return GapRow(f"github.com/o/{name}", usage, usage, 0.0, usage, 1.0, usage, 100.0, 0.0)

    crowd = [row(f"c{i}", 0.010 + i * 0.0001) for i in range(6)]  # six top gaps nearly on one spot
    alone = row("alone", 0.0002)
    others = [row(f"p{i}", 0.00001 * (1 + i % 500)) for i in range(6000)]
    chart = gap_quadrant_chart([*others, *crowd, alone], top=[*crowd, alone])
    assert ">1, 2, 3, 4, 5, 6<" in chart.svg.replace("\n", "")
    assert ">7<" in chart.svg.replace("\n", "")
