"""Rendering the quarterly review: sections, numbers, templates, escaping, self-containment."""

from __future__ import annotations

import re
import shutil
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from bot.report.interface import Headline, ReviewData, ReviewError
from bot.report.review import DEFAULT_TEMPLATES_DIR, format_money, render_review, render_template, review_context
from tests.report_sample import HOSTILE_NAMES, hostile_review, sample_review

SECTIONS = (
    "Summary",
    "Top gaps",
    "Sovereignty risk register",
    "What we gave",
    "Open Source Pledge",
    "Unresolved packages",
    "Method and caveats",
)


class _Page(HTMLParser):
    """Collects tags, attributes and the text of table cells and headings."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.cells: list[str] = []
        self.headings: list[str] = []
        self._open: list[str] = []
        self._text: list[list[str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag in {"td", "h1", "h2", "h3"}:
            self._open.append(tag)
            self._text.append([])

    def handle_endtag(self, tag: str) -> None:
        if self._open and self._open[-1] == tag:
            self._open.pop()
            text = "".join(self._text.pop()).strip()
            (self.cells if tag == "td" else self.headings).append(text)

    def handle_data(self, data: str) -> None:
        for chunk in self._text:
            chunk.append(data)


def _parse(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    return page


def _markdown_to_html(text: str) -> str:
    return MarkdownIt("commonmark").enable(["table", "strikethrough"]).render(text)


def _expected_top_gaps(data: ReviewData) -> list[str]:
    positive = [row for row in data.gaps if row.gap > 0]
    positive.sort(key=lambda row: (-row.priority, row.upstream))
    return [row.upstream for row in positive[: data.top_gaps_limit]]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> tuple[ReviewData, Path]:
    data = sample_review()
    out = tmp_path_factory.mktemp("review")
    render_review(data, out, templates_dir=DEFAULT_TEMPLATES_DIR)
    return data, out


def test_every_file_is_written(tmp_path: Path) -> None:
    files = render_review(sample_review(), tmp_path / "new" / "dir")
    names = sorted(p.name for p in (tmp_path / "new" / "dir").iterdir())
    assert names == sorted(
        [
            "review.md",
            "review.html",
            "gaps.csv",
            "funding.csv",
            "contributions.csv",
            "usage_by_team.csv",
            "review.json",
            "pledge.json",
        ]
    )
    assert files.pledge_json is not None and files.pledge_json.name == "pledge.json"


def test_markdown_has_the_sections_in_order(rendered: tuple[ReviewData, Path]) -> None:
    _, out = rendered
    page = _parse(_markdown_to_html((out / "review.md").read_text()))
    h2 = [h for h in page.headings if h in SECTIONS]
    assert h2 == list(SECTIONS)


def test_html_has_the_sections_in_order(rendered: tuple[ReviewData, Path]) -> None:
    _, out = rendered
    page = _parse((out / "review.html").read_text())
    assert [h for h in page.headings if h in SECTIONS] == list(SECTIONS)


def test_top_gaps_are_named_in_priority_order_with_their_amounts(rendered: tuple[ReviewData, Path]) -> None:
    data, out = rendered
    expected = _expected_top_gaps(data)
    assert len(expected) == data.top_gaps_limit
    html_page = _parse((out / "review.html").read_text())
    assert [a["data-upstream"] for t, a in html_page.tags if t == "tr" and "data-upstream" in a] == expected
    for document in ("review.md", "review.html"):
        text = (out / document).read_text()
        html = _markdown_to_html(text) if document.endswith(".md") else text
        cells = _parse(html).cells
        if document.endswith(".md"):
            assert [c for c in cells if c in {row.upstream for row in data.gaps}][: len(expected)] == expected
        by_key = {row.upstream: row for row in data.gaps}
        for key in expected:
            assert format_money(by_key[key].recommended_amount, data.currency) in cells, (document, key)


def test_every_explanation_term_of_a_top_gap_is_shown(rendered: tuple[ReviewData, Path]) -> None:
    data, out = rendered
    html = (out / "review.html").read_text()
    markdown_html = _markdown_to_html((out / "review.md").read_text())
    by_key = {row.upstream: row for row in data.gaps}
    for key in _expected_top_gaps(data):
        for term in by_key[key].terms:
            assert f"<li>{term}</li>" in html
            assert f"<li>{term}</li>" in markdown_html


def test_summary_shows_headline_numbers_and_their_change(rendered: tuple[ReviewData, Path]) -> None:
    data, out = rendered
    cells = _parse(_markdown_to_html((out / "review.md").read_text())).cells
    money = next(h for h in data.headline if h.key == "money_given")
    assert money.previous is not None
    row = cells.index("Money given this quarter")
    assert cells[row + 1] == format_money(money.value, data.currency)
    assert cells[row + 2] == f"{money.value - money.previous:+,.0f}"
    coverage = next(h for h in data.headline if h.key == "coverage")
    row = cells.index(coverage.label)
    assert cells[row + 1] == f"{coverage.value * 100:.1f} %"


def test_risk_register_is_ranked_by_our_usage(rendered: tuple[ReviewData, Path]) -> None:
    data, out = rendered
    cells = _parse(_markdown_to_html((out / "review.md").read_text())).cells
    flags = {", ".join(r.flags) for r in data.risks}
    shown = [(cells[i - 1], c) for i, c in enumerate(cells) if i and c in flags]
    expected = sorted(data.risks, key=lambda r: -r.usage_share)
    assert shown == [(r.upstream, ", ".join(r.flags)) for r in expected]
    assert len({r.upstream for r in data.risks}) == len(data.risks)  # one row per upstream


def test_pledge_status_and_unresolved_packages_are_shown(rendered: tuple[ReviewData, Path]) -> None:
    data, out = rendered
    cells = _parse((out / "review.html").read_text()).cells
    pledge = data.pledge
    assert f"USD {pledge.usd_per_developer:,.0f}" in cells
    assert ("meets the Pledge" if pledge.meets_pledge else "below the Pledge") in cells
    for row in data.unresolved:
        assert row.package_key in cells and row.reason in cells


def test_method_and_caveats_name_what_the_data_cannot_see(rendered: tuple[ReviewData, Path]) -> None:
    data, out = rendered
    markdown = (out / "review.md").read_text()
    for line in (*data.method, *data.caveats):
        assert f"- {line}" in markdown
    assert "default branch" in markdown and "private" in markdown


def test_by_team_table_appears_only_when_repos_map_to_teams() -> None:
    data = sample_review()

    def markdown(review: ReviewData) -> str:
        return render_template(DEFAULT_TEMPLATES_DIR, "review.md.j2", review_context(review), markdown=True)

    with_teams = markdown(data)
    assert "### By team" in with_teams
    assert "### By team" not in markdown(replace(data, teams_mapped=False))
    cells = _parse(_markdown_to_html(with_teams)).cells
    platform = len(cells) - 1 - cells[::-1].index("platform")  # the By team table comes after Usage by team
    expected = sum(c.count for c in data.contributions if c.team == "platform")
    assert cells[platform + 1] == f"{expected:,}"


def test_html_is_self_contained(rendered: tuple[ReviewData, Path]) -> None:
    _, out = rendered
    html = (out / "review.html").read_text()
    page = _parse(html)
    tags = [tag for tag, _ in page.tags]
    assert "script" not in tags and "link" not in tags and "iframe" not in tags and "img" not in tags
    for _, attrs in page.tags:
        for name in ("src", "href", "xlink:href", "action"):
            value = attrs.get(name)
            assert value is None or value.startswith("#"), (name, value)
    csp = [a["content"] for t, a in page.tags if t == "meta" and a.get("http-equiv") == "Content-Security-Policy"]
    assert csp and "default-src 'none'" in (csp[0] or "")
    assert "@import" not in html and "url(http" not in html
    assert sum(1 for tag, attrs in page.tags if tag == "svg" and "data-chart" in attrs) == 5


def test_rendering_is_deterministic(tmp_path: Path) -> None:
    render_review(sample_review(), tmp_path / "a")
    render_review(sample_review(), tmp_path / "b")
    for path in sorted((tmp_path / "a").iterdir()):
        assert path.read_bytes() == (tmp_path / "b" / path.name).read_bytes(), path.name


def test_a_missing_variable_fails_instead_of_rendering_blank(tmp_path: Path) -> None:
    templates = tmp_path / "templates"
    shutil.copytree(DEFAULT_TEMPLATES_DIR, templates)
    source = templates / "review.md.j2"
    source.write_text(source.read_text() + "\n{{ data.no_such_field }}\n")
    with pytest.raises(ReviewError, match=r"review\.md\.j2: .*no_such_field"):
        render_review(sample_review(), tmp_path / "out", templates_dir=templates)
    assert not (tmp_path / "out" / "review.md").exists()


def test_a_missing_variable_in_an_html_partial_fails(tmp_path: Path) -> None:
    templates = tmp_path / "templates"
    shutil.copytree(DEFAULT_TEMPLATES_DIR, templates)
    partial = templates / "_macros.html.j2"
    partial.write_text(partial.read_text().replace("{{ chart.title }}", "{{ chart.caption }}"))
    with pytest.raises(ReviewError, match="caption"):
        render_review(sample_review(), tmp_path / "out", templates_dir=templates)


def test_a_missing_template_is_named(tmp_path: Path) -> None:
    with pytest.raises(ReviewError, match=r"review\.md\.j2: template not found"):
        render_review(sample_review(), tmp_path / "out", templates_dir=tmp_path / "nowhere")


def _table_pipe_counts(markdown: str) -> list[list[int]]:
    """Unescaped pipes per line, grouped by table: every row of a table must have the same count."""
    tables: list[list[int]] = []
    current: list[int] = []
    for line in markdown.splitlines():
        if line.startswith("|"):
            current.append(len(re.findall(r"(?<!\\)\|", line)))
        elif current:
            tables.append(current)
            current = []
    if current:
        tables.append(current)
    return tables


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("hostile")
    render_review(hostile_review(), out)
    return out


def test_hostile_names_cannot_break_markdown_tables_or_inject_markup(hostile: Path) -> None:
    markdown = (hostile / "review.md").read_text()
    for counts in _table_pipe_counts(markdown):
        assert len(set(counts)) == 1, counts
    assert "<script" not in markdown and "<b>" not in markdown
    html = _markdown_to_html(markdown)
    assert "<script" not in html and "<a " not in html and "<img" not in html and "<strong>bold" not in html
    page = _parse(html)
    for name in HOSTILE_NAMES:
        assert name in page.cells, name  # shown literally, as text
    assert page.headings[0] == f"Open-source review 2026Q3: {HOSTILE_NAMES[0]}"


def test_hostile_names_are_escaped_in_html(hostile: Path) -> None:
    html = (hostile / "review.html").read_text()
    page = _parse(html)
    assert "script" not in [tag for tag, _ in page.tags]
    assert "b" not in [tag for tag, _ in page.tags]
    texts = set(page.cells) | set(page.headings)
    assert f"Open-source review 2026Q3: {HOSTILE_NAMES[0]}" in texts
    for name in HOSTILE_NAMES:
        assert any(cell.startswith(name) for cell in page.cells), name
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_an_unwritable_output_is_reported_with_its_path(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(ReviewError, match=r"file/out: cannot write the review: Not a directory"):
        render_review(sample_review(), blocker / "out")


def test_the_pledge_headline_is_in_usd_even_when_reporting_in_eur(rendered: tuple[ReviewData, Path]) -> None:
    data, out = rendered
    cells = _parse(_markdown_to_html((out / "review.md").read_text())).cells
    headline = next(h for h in data.headline if h.key == "pledge_per_dev")
    assert data.currency == "EUR" and headline.currency == "USD"
    assert cells[cells.index(headline.label) + 1] == f"USD {headline.value:,.0f}"


def test_a_quarter_to_date_says_so_and_a_figure_without_an_earlier_one_is_first_measured(tmp_path: Path) -> None:
    data = replace(
        sample_review(),
        headline=(
            Headline("gaps", "Under-invested upstreams", 4.0, None),
            Headline("contributions", "Contributions this quarter to date", 12.0, 20.0),
        ),
        to_date=True,
        comparison="2026Q2 to 2026-05-15 (the same first 45 days)",
    )
    render_review(data, tmp_path)
    markdown = (tmp_path / "review.md").read_text(encoding="utf-8")
    assert markdown.startswith(f"# Open-source review {data.quarter} to date:")
    assert (
        f"| Measure | {data.quarter} to date | Change since 2026Q2 to 2026-05-15 (the same first 45 days) |" in markdown
    )
    assert "| Under-invested upstreams | 4 | first quarter measured |" in markdown
    assert "| Contributions this quarter to date | 12 | -8 |" in markdown
    assert "new since" not in markdown
    html = (tmp_path / "review.html").read_text(encoding="utf-8")
    assert "first quarter measured</div>" in html and "-8 since 2026Q2 to 2026-05-15" in html
