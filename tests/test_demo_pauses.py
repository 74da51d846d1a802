"""``upkeep demo`` under a budget the small world overspends: gather pauses, the demo sleeps to the
reset (seconds on the sandbox's compressed clock) and resumes, as the scheduler would."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

from bot.demo import DemoOptions, run_demo
from bot.sandbox.limits import PROFILES

#: 30 GraphQL points an hour: the small world's gather spends about 66; at 600 an hour is 6 s.
TIGHT = replace(PROFILES["personal-token"], name="tight-graphql", graphql_points_per_hour=30)


def test_demo_resumes_after_a_rate_limit_pause(tmp_path: Path) -> None:
    lines: list[str] = []
    result = run_demo(DemoOptions(out=tmp_path, fresh=True, limits=TIGHT, time_compression=600.0), echo=lines.append)
    paused = [line for line in lines if re.search(r"paused: rate limited until \S+; resuming in [\d.]+ s", line)]
    assert result.run.pauses >= 1 and len(paused) == result.run.pauses
    assert result.run.paused_s > 0
    assert result.run.status == "ok"
    assert set(result.run.stages) == {"sync", "resolve", "gather", "score", "report", "deliver"}
    assert all(info["status"] == "ok" for info in result.run.stages.values())
    assert result.top_gaps and result.deliveries > 0
    assert (tmp_path / "review" / "review.html").exists()
