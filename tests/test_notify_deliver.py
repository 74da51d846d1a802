"""The digest to all five kinds through the outbox: once, again nothing, after a crash exactly one per target."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import Session, select

from bot.deliver.sinks import build_sinks
from bot.deliver.stage import deliver
from bot.store.engine import make_engine, upgrade
from bot.store.tables import OutboxRow
from tests.notify_world import hostile_digest, notify_world

KINDS = {"slack", "mattermost", "matrix", "teams", "email"}


def _counts(world: object) -> dict[str, int]:
    posts = world.notify_posts  # type: ignore[attr-defined]
    return {
        "slack": len(world.slack_messages),  # type: ignore[attr-defined]
        "mattermost": len(posts.get("mattermost", [])),
        "matrix": len(posts.get("matrix", [])),
        "teams": len(posts.get("teams", [])),
        "email": len(posts.get("email", [])),
    }


def test_digest_goes_to_all_five_kinds_once(tmp_path: Path) -> None:
    with notify_world(tmp_path) as nw:
        engine = make_engine(nw.settings.database_url())
        upgrade(engine)
        sinks, notes = build_sinks(nw.settings, nw.secrets)
        assert notes == []
        first = deliver(engine, nw.settings, hostile_digest(), None, sinks=sinks, now=nw.now, echo=lambda _: None)
        assert first.delivered == 5 and first.failed == 0, first.notes
        assert _counts(nw.world) == dict.fromkeys(KINDS, 1)
        with Session(engine) as session:
            rows = session.exec(select(OutboxRow)).all()
        assert {row.channel for row in rows} == KINDS
        assert all(row.state == "delivered" and row.remote_id for row in rows)
        again = deliver(engine, nw.settings, hostile_digest(), None, sinks=sinks, now=nw.now, echo=lambda _: None)
        assert again.enqueued == 0 and again.delivered == 0
        assert _counts(nw.world) == dict.fromkeys(KINDS, 1)
        mail = nw.smtp.mails[0]
        assert mail["tls"] is True and sorted(mail["rcpt_to"]) == ["finance@acme.example", "ospo@acme.example"]
        row = next(r for r in rows if r.channel == "email")
        assert row.remote_id == mail["message_id"]


class Crash(Exception):
    pass


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_crash_after_the_send_leaves_one_message_per_target(tmp_path: Path, kind: str) -> None:
    """Posted, then the process dies before recording: the next run adopts the post (Teams: posts again)."""
    with notify_world(tmp_path) as nw:
        engine = make_engine(nw.settings.database_url())
        upgrade(engine)
        sinks, _ = build_sinks(nw.settings, nw.secrets)

        def crash(row: OutboxRow, remote_id: str) -> None:
            if row.channel == kind:
                raise Crash

        with pytest.raises(Crash):
            deliver(engine, nw.settings, hostile_digest(), None, sinks=sinks, now=nw.now, after_send=crash, echo=print)
        rerun = deliver(engine, nw.settings, hostile_digest(), None, sinks=sinks, now=nw.now, echo=lambda _: None)
        assert rerun.failed == 0
        counts = _counts(nw.world)
        if kind == "teams":  # a webhook cannot be read back: at least once, the same card (docs/notifications.md)
            assert counts["teams"] == 2
            cards = [p["message"] for p in nw.world.notify_posts["teams"]]
            assert cards[0] == cards[1]
        elif kind == "email":  # SMTP cannot be read back: the resend carries the same Message-ID
            assert counts["email"] == 2
            assert len({m["message_id"] for m in nw.smtp.mails}) == 1
        else:
            assert counts[kind] == 1
        assert all(counts[k] == 1 for k in KINDS - {kind})
        with Session(engine) as session:
            assert all(r.state == "delivered" for r in session.exec(select(OutboxRow)).all())
