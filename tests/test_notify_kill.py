"""kill -9 between a send and its record: the next run leaves exactly one message per target.

A child process delivers the digest to all five kinds and is killed with SIGKILL right after one
kind's remote accepted the message and before the outbox recorded it (the worst moment). The
parent then runs the deliver stage again. Slack, Mattermost and Matrix find their message and
adopt it; email sends again with the same Message-ID; Teams posts the same card again, the
at-least-once risk docs/notifications.md describes.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlmodel import Session, select

from bot.deliver.sinks import build_sinks
from bot.deliver.stage import deliver
from bot.sandbox import sandbox_environment, sandbox_settings
from bot.sandbox.notify_targets import notify_entries, notify_environment
from bot.store.engine import make_engine
from bot.store.tables import OutboxRow
from tests.notify_world import hostile_digest, notify_world

ROOT = Path(__file__).parent.parent
KINDS = ("slack", "mattermost", "matrix", "teams", "email")


@pytest.mark.parametrize("kind", KINDS)
def test_sigkill_after_a_send_leaves_one_message_per_target(tmp_path: Path, kind: str) -> None:
    with notify_world(tmp_path) as nw:
        overrides = sandbox_settings(nw.base_url, nw.world)
        overrides["database.url"] = nw.settings.database_url()
        overrides["notify"] = notify_entries(nw.base_url, smtp_url=nw.smtp.url, ca_file=nw.smtp.ca_file)
        marker = tmp_path / "sent"
        setup = {
            "overrides": overrides,
            "environment": {**sandbox_environment(nw.world), **notify_environment(nw.base_url, nw.world)},
            "kind": kind,
            "marker": str(marker),
            "now": nw.now.isoformat(),
        }
        (tmp_path / "setup.json").write_text(json.dumps(setup, default=list))
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        child = subprocess.Popen(
            [sys.executable, "-m", "tests.notify_crash_child", str(tmp_path / "setup.json")],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=(tmp_path / "child.log").open("wb"),
        )
        try:
            deadline = time.monotonic() + 120
            while not marker.exists() and child.poll() is None and time.monotonic() < deadline:
                time.sleep(0.05)
            assert marker.exists(), (tmp_path / "child.log").read_text()[-2000:]
            child.send_signal(signal.SIGKILL)
        finally:
            child.kill()
            child.wait(timeout=30)
        assert child.returncode == -signal.SIGKILL

        engine = make_engine(nw.settings.database_url())
        with Session(engine) as session:
            killed = session.exec(select(OutboxRow).where(OutboxRow.channel == kind)).one()
        assert killed.state == "pending" and killed.attempts == 1  # sent, not recorded: the worst moment

        sinks, _ = build_sinks(nw.settings, nw.secrets)
        rerun = deliver(engine, nw.settings, hostile_digest(), None, sinks=sinks, now=nw.now, echo=lambda _: None)
        assert rerun.failed == 0 and rerun.enqueued == 0

        posts = nw.world.notify_posts
        counts = {
            "slack": len(nw.world.slack_messages),
            "mattermost": len(posts.get("mattermost", [])),
            "matrix": len(posts.get("matrix", [])),
            "teams": len(posts.get("teams", [])),
            "email": len({m["message_id"] for m in posts.get("email", [])}),  # one message per Message-ID
        }
        if kind == "teams":  # at least once: the same card twice (docs/notifications.md)
            assert counts.pop("teams") == 2
            assert posts["teams"][0]["message"] == posts["teams"][1]["message"]
        assert set(counts.values()) == {1}, counts
        with Session(engine) as session:
            rows = session.exec(select(OutboxRow)).all()
        assert len(rows) == 5 and all(row.state == "delivered" for row in rows)
        if kind == "email":
            assert len(posts["email"]) == 2  # the copy went out again under the same Message-ID
        engine.dispose()
