"""Run by ``test_gitlab_issues_kill.py`` and ``test_forgejo_issues_kill.py`` in a child process: deliver the gap
issues to the sandbox GitLab or Forgejo (whichever ``[issues].forge`` names),
and after the ``kill_after``-th issue write (made, not yet recorded) write a marker and wait for SIGKILL.

``python -m tests.gitlab_issues_crash_child SETUP.json``; the JSON holds ``overrides`` (settings),
``environment`` (secrets), ``kill_after``, ``marker`` and ``now``.
"""

from __future__ import annotations

import json
import sys
import time
from datetime import datetime
from pathlib import Path

from bot.config import Secrets, load_settings
from bot.deliver.sinks import build_sinks
from bot.deliver.stage import deliver
from bot.sandbox import generate_world
from bot.store.engine import make_engine, upgrade
from bot.store.tables import OutboxRow
from tests.deliver_world import world_inputs


def main(setup_path: str) -> None:
    setup = json.loads(Path(setup_path).read_text())
    settings = load_settings(None, overrides=setup["overrides"], search=False)
    secrets = Secrets.from_environment(setup["environment"], names=settings.notify_secret_names())
    engine = make_engine(settings.database_url())
    upgrade(engine)
    sinks, _ = build_sinks(settings, secrets)
    marker = Path(setup["marker"])
    sent = 0

    def wait_to_be_killed(row: OutboxRow, remote_id: str) -> None:
        nonlocal sent
        if row.channel == "github":
            sent += 1
            if sent == setup["kill_after"]:
                marker.write_text(remote_id)
                time.sleep(120)

    gaps = world_inputs(generate_world(7, "small")).gap_issues
    now = datetime.fromisoformat(setup["now"])
    deliver(engine, settings, None, gaps, sinks=sinks, now=now, after_send=wait_to_be_killed)


if __name__ == "__main__":
    main(sys.argv[1])
