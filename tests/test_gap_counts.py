"""One definition of "under-invested", on the small world and the real clock: the review, the digest, the
dashboard and the issues count the same upstreams; at most ``issues.max_open`` gap issues are open, each for
an upstream with a positive gap (issue 14)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

from bot.config import Settings
from bot.deliver.issue_bodies import DASHBOARD_MARKER, find_marker
from bot.demo import DemoOptions, run_demo
from bot.gaps.score_stage import load_gap_weights


def test_review_digest_dashboard_and_issues_agree_on_the_real_clock(tmp_path: Path) -> None:
    result = run_demo(DemoOptions(out=tmp_path, fresh=True, now=datetime.now(UTC)), echo=lambda _: None)
    assert result.run.status == "ok", result.run.stages
    world = result.world
    assert world is not None
    review = json.loads((tmp_path / "review" / "review.json").read_text())
    gaps = {g["upstream"]: g for g in review["gaps"]}
    counted = int({h["key"]: h["value"] for h in review["headline"]}["gaps"])
    definition = load_gap_weights(Settings()).thresholds.under_investment()
    under = [g for g in review["gaps"] if definition.applies(g["gap"], g["recommended_amount"])]
    assert counted == len(under) > 0
    assert (
        review["top_gaps"]
        == [g["upstream"] for g in sorted(under, key=lambda g: (-g["priority"], -g["gap"], g["upstream"]))][:10]
    )

    issues = world.issues[world.ospo_repo]
    open_gap_issues = [
        i for i in issues if i.state == "open" and (find_marker(i.body) or "").startswith("<!-- upkeep:gap:")
    ]
    max_open = Settings().issues.max_open
    assert 0 < len(open_gap_issues) <= max_open
    for issue in open_gap_issues:
        key = (find_marker(issue.body) or "").removeprefix("<!-- upkeep:gap:").removesuffix(" -->")
        assert gaps[key]["gap"] > 0 and gaps[key]["recommended_amount"] > 0, key

    (dashboard,) = [i for i in issues if find_marker(i.body) == DASHBOARD_MARKER]
    match = re.search(r"(\d+) upstreams are under-invested", dashboard.body)
    assert match is not None and int(match.group(1)) == counted
    assert f"{len(open_gap_issues)} have their own issue" in dashboard.body

    (message,) = world.slack_messages
    assert f"{counted} under-invested" in message.text
