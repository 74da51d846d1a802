"""`upkeep demo --hostile-text`: a world whose free text carries pings, markup, fake markers, bidi
and zero-width characters, formulas and 10,000-character names; none of them acts in Slack, the
issues, the review's HTML and Markdown, the CSV exports or the logs."""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bot.sandbox import generate_world
from bot.sandbox.github_rest import TOKEN_LOGIN
from bot.sandbox.hostile import LONG, MALLORY, PAYLOADS, hostile

ROOT = Path(__file__).parent.parent
INVISIBLE = re.compile(r"[\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
MENTION = re.compile(r"(?<![\w/.])@(?=[A-Za-z0-9-])")  # @name as GitHub links it (not inside emails or URLs)
ACTIVE = ("<script", "<img", "<!channel>", "<!here>", "<@U123>", "](javascript:", "onerror=")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("hostile")
    done = subprocess.run(
        [sys.executable, "-m", "bot", "--log-json", "demo", "--out", str(out), "--fresh", "--hostile-text"],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    state = json.loads((out / "sandbox-state.json").read_text(encoding="utf-8"))
    return {"out": out, "state": state, "log": done.stdout + done.stderr}


def test_the_hostile_world_carries_every_payload() -> None:
    world = hostile(generate_world(7, "small"))
    text = json.dumps(
        [
            [p.name for p in world.people],
            [p.package_key for p in world.packages],
            [c.name for c in world.collectives],
            [e.upstream for e in world.ledger],
            [u.funding_yml for u in world.upstreams],
        ]
    )
    for payload in PAYLOADS:
        assert json.dumps(payload)[1:-1] in text
    assert LONG in text
    assert generate_world(7, "small").people[0].name != world.people[0].name  # the generated world is untouched


def test_nothing_pings_in_slack(demo: dict[str, Any]) -> None:
    messages = demo["state"]["slack_messages"]
    assert messages
    for message in messages:
        text = json.dumps([message["text"], message["blocks"]], ensure_ascii=False)
        assert "<!" not in text and "<@" not in text and "<script" not in text


def upkeep_issues(demo: dict[str, Any]) -> list[dict[str, Any]]:
    return [i for repo in demo["state"]["issues"].values() for i in repo if i["user"] == TOKEN_LOGIN]


def test_issues_carry_no_active_payload_and_one_real_marker(demo: dict[str, Any]) -> None:
    issues = upkeep_issues(demo)
    assert issues
    for issue in issues:
        for text in (issue["title"], issue["body"]):
            assert not any(active in text for active in ACTIVE), text[:300]
            assert not INVISIBLE.search(text.replace("\u2060", ""))
        assert issue["body"].startswith("<!-- upkeep:") and issue["body"].count("<!-- upkeep:end -->") == 1
        if issue["body"].startswith("<!-- upkeep:gap:"):  # its own marker and the end of its section, no other
            assert issue["body"].count("<!-- upkeep:") == 2
        assert "github.com/evil/evil" not in issue["body"]


def test_someone_elses_issue_with_a_fake_marker_is_left_alone(demo: dict[str, Any]) -> None:
    [theirs] = [i for repo in demo["state"]["issues"].values() for i in repo if i["user"] == MALLORY]
    assert theirs["state"] == "open" and theirs["comments"] == []
    assert theirs["body"].startswith("<!-- upkeep:gap:") and "I wrote this, not upkeep." in theirs["body"]
    assert not any(p.name.startswith(f"{theirs['number']:03d}-") for p in (demo["out"] / "issues").iterdir())


def test_the_review_html_and_markdown_show_the_text_inert(demo: dict[str, Any]) -> None:
    review = demo["out"] / "review"
    html = (review / "review.html").read_text(encoding="utf-8")
    markdown = (review / "review.md").read_text(encoding="utf-8")
    assert "hostile-7-&lt;script&gt;" in html and "hostile-7-&lt;script&gt;" in markdown  # shown, escaped
    for text in (html, markdown):
        assert not any(active in text for active in ("<script>alert", "<img src=x", 'javascript:alert(1)"')), text
        assert not INVISIBLE.search(text)
    assert 'href="javascript:' not in html
    assert "\\[x\\](javascript:" in markdown  # brackets escaped: no link
    assert not MENTION.search(markdown), MENTION.findall(markdown)[:5]
    assert not re.search(r"(?<![\w&])#(?=\d)", markdown)  # no issue references


def test_no_csv_cell_starts_a_formula(demo: dict[str, Any]) -> None:
    files = sorted((demo["out"] / "review").glob("*.csv"))
    assert files
    for path in files:
        for row in csv.reader(path.open(encoding="utf-8")):
            for cell in row:
                assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")) or _number(cell), (path.name, cell)


def _number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def test_logs_stay_one_record_a_line(demo: dict[str, Any]) -> None:
    lines = [line for line in demo["log"].splitlines() if line.startswith("{")]
    assert lines
    for line in lines:
        json.loads(line)  # a payload's newline cannot start a forged record
    assert not INVISIBLE.search(demo["log"])
