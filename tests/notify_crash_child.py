"""Run by ``test_notify_kill.py`` in a child process: deliver the digest, and after the send of one kind
(posted, not yet recorded) write a marker and wait to be killed with SIGKILL.

``python -m tests.notify_crash_child SETUP.json`` where the JSON holds ``overrides`` (settings),
``environment`` (secrets), ``kind`` and ``marker``.
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
from bot.store.engine import make_engine, upgrade
from bot.store.tables import OutboxRow
from tests.notify_world import hostile_digest


def main(setup_path: str) -> None:
    setup = json.loads(Path(setup_path).read_text())
    settings = load_settings(None, overrides=setup["overrides"], search=False)
    secrets = Secrets.from_environment(setup["environment"], names=settings.notify_secret_names())
    engine = make_engine(settings.database_url())
    upgrade(engine)
    sinks, _ = build_sinks(settings, secrets)
    marker = Path(setup["marker"])

    def wait_to_be_killed(row: OutboxRow, remote_id: str) -> None:
        if row.channel == setup["kind"]:
            marker.write_text(remote_id)
            time.sleep(120)

    now = datetime.fromisoformat(setup["now"])
    deliver(engine, settings, hostile_digest(), None, sinks=sinks, now=now, after_send=wait_to_be_killed)


if __name__ == "__main__":
    main(sys.argv[1])
