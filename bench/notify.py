"""The digest to all five kinds against the sandbox: first run, identical rerun, time, requests and sizes.

    .venv/bin/python bench/notify.py [--gaps 300] [--top-gaps 40]

Serves the sandbox (Slack, Mattermost, Matrix, Teams) and the SMTP server with STARTTLS on loopback,
delivers a digest with ``--gaps`` gaps (GitHub's longest names, full of characters every format
escapes) twice through the outbox, and prints per run the wall time and what was sent, then each
kind's render time and size against its limit (Mattermost: message characters; Matrix: event
content bytes; Teams: webhook body bytes; email: both parts). The rerun must send nothing.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.deliver.interface import DigestData, DigestGap
from bot.deliver.sinks import build_sinks
from bot.deliver.stage import deliver
from bot.notify.content import build_document
from bot.notify.plan import RENDERERS
from bot.store.engine import make_engine, upgrade
from tests.notify_world import notify_world

LIMITS = {"mattermost": 16383, "matrix": 65536, "teams": 28 * 1024, "email": None}


def digest(gaps: int) -> DigestData:
    rows = tuple(
        DigestGap(f"github.com/{'o_' * 19}o/{'n*' * 48}{i:04d}", 0.1, 3.0, 123456.0, usage_share=0.2)
        for i in range(gaps)
    )
    names = tuple(g.upstream for g in rows)
    return DigestData("acme", "2026-W48", "EUR", gaps, 9999, 1e6, 5e5, 1e4, rows, names, names)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gaps", type=int, default=300)
    parser.add_argument("--top-gaps", type=int, default=40)
    args = parser.parse_args()
    data = digest(args.gaps)
    with tempfile.TemporaryDirectory() as tmp, notify_world(Path(tmp)) as nw:
        settings = nw.settings.model_copy(
            update={
                "notify": tuple(e.model_copy(update={"top_gaps": args.top_gaps}) for e in nw.settings.notify),
                "slack": nw.settings.slack.model_copy(update={"top_gaps": args.top_gaps}),
            }
        )
        engine = make_engine(settings.database_url())
        upgrade(engine)
        sinks, _ = build_sinks(settings, nw.secrets)
        server = nw.world
        for run in ("first", "rerun"):
            before = len(nw.smtp.mails)
            started = time.perf_counter()
            summary = deliver(engine, settings, data, None, sinks=sinks, now=nw.now, echo=lambda _: None)
            seconds = time.perf_counter() - started
            print(
                f"{run}: {seconds:.3f} s wall, enqueued {summary.enqueued}, delivered {summary.delivered}, "
                f"failed {summary.failed}, mails {len(nw.smtp.mails) - before}"
            )
        received = Counter({kind: len(posts) for kind, posts in server.notify_posts.items()})
        received["slack"] = len(server.slack_messages)
        print("messages received per kind after both runs:", dict(sorted(received.items())))
    document = build_document(data, key="bench", top_gaps=args.top_gaps)
    for kind, render in RENDERERS.items():
        started = time.perf_counter()
        payload = render(document)
        micros = (time.perf_counter() - started) * 1e6
        if kind == "mattermost":
            size, unit = len(payload["message"]), "message characters"
        elif kind == "email":
            size, unit = len((payload["text"] + payload["html"]).encode()), "bytes of text and HTML"
        else:
            size, unit = len(json.dumps(payload["message" if kind == "teams" else "content"]).encode()), "bytes"
        limit = LIMITS[kind]
        print(f"{kind:10} render {micros:7.0f} µs, {size:6d} {unit}" + (f" (limit {limit})" if limit else ""))


if __name__ == "__main__":
    main()
