"""The demo converges under faults: its clock moves with the run, so failed deliveries come due;
a demo at 20 % faults (header-less secondary limits among them) plus at most two reruns ends
with what a clean demo ends with, and nothing failed or dead in the outbox."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path
from typing import Any

from bot.demo import DemoOptions, DemoResult, run_demo


def final_state(out: Path, result: DemoResult) -> dict[str, Any]:
    """What a reader of the demo folder sees: the issues, the Slack messages, the gaps, the outbox."""
    world = result.world
    assert world is not None
    # Issue numbers follow the order creations succeed in, which faults change: the dashboard's
    # links are compared without them, and its outbox rows (one per body it had) as one.
    issues = sorted(
        (i.title, re.sub(r"#\d+", "#N", i.body or ""), i.state, tuple(sorted(i.labels)))
        for repo in world.issues.values()
        for i in repo
        if "upkeep:" in (i.body or "")
    )
    messages = [m["text"] for m in json.loads((out / "slack" / "messages.json").read_text())]
    with sqlite3.connect(out / "upkeep.db") as db:
        rows = db.execute("select key, state from outbox").fetchall()
    dashboard = {state for key, state in rows if ":dashboard:" in key}
    # A digest edited in place (an issue numbered late by a fault gets its link) is one more outbox
    # row but the same final message, which "slack" compares; its rows must all be delivered.
    edits_undelivered = sorted(key for key, state in rows if ":edit:" in key and state != "delivered")
    outbox = sorted(
        {
            *((key, state) for key, state in rows if ":dashboard:" not in key and ":edit:" not in key),
            *(("dashboard", s) for s in dashboard),
        }
    )
    return {
        "issues": issues,
        "slack": messages,
        "gaps": (out / "review" / "gaps.csv").read_text(),
        "outbox": outbox,
        "edits_undelivered": edits_undelivered,
    }


def test_a_faulty_demo_and_two_reruns_end_as_a_clean_one(tmp_path: Path) -> None:
    clean_out, faulty_out = tmp_path / "clean", tmp_path / "faulty"
    clean = run_demo(DemoOptions(out=clean_out, fresh=True), echo=lambda _: None)
    expected = final_state(clean_out, clean)
    assert expected["issues"] and expected["slack"]
    assert {state for _, state in expected["outbox"]} == {"delivered"}

    result = run_demo(DemoOptions(out=faulty_out, fresh=True, fault_rate=0.2), echo=lambda _: None)
    runs = 1
    while final_state(faulty_out, result) != expected and runs < 3:
        result = run_demo(DemoOptions(out=faulty_out, fault_rate=0.2), echo=lambda _: None)
        runs += 1
    got = final_state(faulty_out, result)
    assert {state for _, state in got["outbox"]} == {"delivered"}, got["outbox"]
    assert got == expected
