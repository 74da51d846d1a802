"""The review's "Usage by team": which teams' repositories drive each top gap, for charge-back; each
upstream's team rows add up to its usage and its recommended amount (totals equal rows)."""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from dataclasses import replace
from pathlib import Path

import pytest

from bot.gaps.interface import GapScore, RepoUse, UpstreamUsage
from bot.gaps.model import compute_budget, compute_gaps
from bot.gaps.weights import GapWeights
from bot.records import Depth, Scope
from bot.report import exports
from bot.report.adapt import gap_row
from bot.report.review import DEFAULT_TEMPLATES_DIR, render_review, render_template, review_context
from bot.report.series import top_gaps
from tests.report_sample import sample_review


def _scores() -> list[GapScore]:
    uses = [
        UpstreamUsage(
            "github.com/a/lib",
            (
                RepoUse("acme/pay", Depth.DIRECT, Scope.RUNTIME, 3.0, "payments"),
                RepoUse("acme/pay", Depth.TRANSITIVE, Scope.DEVELOPMENT, 3.0, "payments"),  # strongest use counts
                RepoUse("acme/web", Depth.TRANSITIVE, Scope.RUNTIME, None, "web"),
                RepoUse("acme/tool", Depth.UNKNOWN, Scope.DEVELOPMENT, 0.2, None),
            ),
        ),
        UpstreamUsage("github.com/b/other", (RepoUse("acme/web", Depth.DIRECT, Scope.RUNTIME, None, "web"),)),
    ]
    weights = GapWeights.model_validate({"usage": {"default_repo_weight": 0.5}})
    return compute_gaps(uses, [], [], weights, budget=compute_budget(yearly_budget=1000.0, developers=None))


def test_team_usage_uses_the_weights_and_adds_up_to_the_upstream_usage() -> None:
    score = next(s for s in _scores() if s.upstream == "github.com/a/lib")
    parts = {t.team: (t.repos, t.usage) for t in score.usage_by_team}
    # payments: 3.0 × direct 1 × runtime 1; web: default 0.5 × transitive 0.5 × runtime 1; none: 0.2 × 0.75 × 0.3
    assert parts == {"payments": (1, 3.0), "web": (1, 0.25), None: (1, pytest.approx(0.045))}
    assert [t.team for t in score.usage_by_team] == ["payments", "web", None]  # largest first, no team last
    assert sum(t.usage for t in score.usage_by_team) == pytest.approx(score.usage_weight)
    row = gap_row(score)
    assert sum(t.share for t in row.usage_by_team) == pytest.approx(1.0)
    assert sum(t.recommended_amount for t in row.usage_by_team) == pytest.approx(row.recommended_amount)


def test_review_shows_usage_by_team_for_the_top_gaps(tmp_path: Path) -> None:
    data = sample_review()
    files = render_review(data, tmp_path)
    markdown = files.markdown.read_text()
    assert "### Usage by team" in markdown
    assert markdown.index("## Top gaps") < markdown.index("### Usage by team") < markdown.index("## Sovereignty")
    html = files.html.read_text()
    shown = top_gaps(data)
    for row in shown:
        for part in row.usage_by_team:
            assert f'data-team-of="{row.upstream}" data-team="{part.label}"' in html
    with_team = next(r for r in shown if any(p.team for p in r.usage_by_team))
    assert f"| {with_team.upstream} | {with_team.usage_by_team[0].team} |" in markdown.replace("\\", "")


def test_usage_by_team_is_left_out_when_no_repository_has_a_team() -> None:
    data = sample_review()
    anonymous = tuple(
        replace(g, usage_by_team=tuple(replace(p, team=None) for p in g.usage_by_team)) for g in data.gaps
    )
    text = render_template(
        DEFAULT_TEMPLATES_DIR, "review.md.j2", review_context(replace(data, gaps=anonymous)), markdown=True
    )
    assert "Usage by team" not in text


def test_usage_by_team_csv_and_review_json_rows_add_up_to_each_upstream() -> None:
    data = sample_review()
    rows = list(csv.DictReader(io.StringIO(exports.usage_by_team_csv(data))))
    assert rows and set(rows[0]) == {
        "rank",
        "upstream",
        "team",
        "repos",
        "usage",
        "share",
        "recommended_amount",
        "currency",
    }
    shares: dict[str, float] = defaultdict(float)
    money: dict[str, float] = defaultdict(float)
    repos: dict[str, int] = defaultdict(int)
    for r in rows:
        shares[r["upstream"]] += float(r["share"])
        money[r["upstream"]] += float(r["recommended_amount"])
        repos[r["upstream"]] += int(r["repos"])
    document = json.loads(exports.review_json(data))
    for gap in document["gaps"]:
        parts = gap["usage_by_team"]
        if not parts:
            continue
        assert sum(p["repos"] for p in parts) == gap["repos"] == repos[gap["upstream"]]
        assert sum(p["share"] for p in parts) == pytest.approx(1.0) == pytest.approx(shares[gap["upstream"]])
        assert sum(p["recommended_amount"] for p in parts) == pytest.approx(gap["recommended_amount"])
        assert money[gap["upstream"]] == pytest.approx(gap["recommended_amount"], abs=0.01 * len(parts))
