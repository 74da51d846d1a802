"""The digest links each gap to its GitHub issue (issue 14), on every kind it goes to, with the numbers the
sandbox's GitHub gave the issues in the same run; and it counts changes since the last digest delivered on
any channel, not only Slack."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlmodel import Session, SQLModel

from bot.config import Settings
from bot.deliver.inputs import load_delivery_inputs
from bot.deliver.issue_bodies import DASHBOARD_MARKER, find_marker
from bot.deliver.issue_links import issue_url, web_base
from bot.deliver.sinks import build_sinks
from bot.deliver.stage import deliver
from bot.sandbox.generate import generate_world
from bot.store import outbox as outbox_store
from bot.store.engine import make_engine, session_scope, upgrade
from bot.store.tables import OutboxRow
from tests.deliver_world import world_inputs
from tests.notify_world import notify_world
from tests.test_deliver_cli import score_world


def test_web_base_of_github_enterprise_and_github_com() -> None:
    assert web_base("https://api.github.com/") == "https://github.com"
    assert web_base("https://ghe.acme.example/api/v3") == "https://ghe.acme.example"
    assert web_base("https://proxy.acme.example/github") is None
    settings = Settings(issues={"repository": "acme/ospo"})
    assert issue_url(settings, 12) == "https://github.com/acme/ospo/issues/12"
    odd = Settings(issues={"repository": "acme/os po"}, github={"api_url": "https://ghe.example/api/v3"})
    assert issue_url(odd, 12) is None  # not a plain address: no link rather than a broken one


def test_every_kind_links_the_gaps_to_the_issues_the_same_run_opened(tmp_path: Path) -> None:
    with notify_world(tmp_path) as nw:
        engine = make_engine(nw.settings.database_url())
        upgrade(engine)
        inputs = world_inputs(nw.world)
        sinks, _ = build_sinks(nw.settings, nw.secrets)
        summary = deliver(
            engine, nw.settings, inputs.digest, inputs.gap_issues, sinks=sinks, now=nw.now, echo=lambda _: None
        )
        assert summary.failed == 0, summary.notes
        issues = nw.world.issues[nw.world.ospo_repo]
        by_upstream = {
            (find_marker(i.body) or "").removeprefix("<!-- upkeep:gap:").removesuffix(" -->"): i for i in issues
        }
        (dashboard,) = [i for i in issues if find_marker(i.body) == DASHBOARD_MARKER]
        token = nw.secrets.github_token.get_secret_value() if nw.secrets.github_token else ""
        api = nw.settings.github.api_url.rstrip("/")
        with httpx.Client(headers={"Authorization": f"Bearer {token}"}) as client:
            html_url = {
                i.number: client.get(f"{api}/repos/{nw.world.ospo_repo}/issues/{i.number}").json()["html_url"]
                for i in issues
            }
        shown = [g.upstream for g in inputs.digest.top_gaps[:10] if g.upstream in by_upstream]
        assert shown and len(shown) < len(by_upstream)  # some gaps have an issue, each must be linked

        slack = json.dumps([m.blocks for m in nw.world.slack_messages])
        posts = nw.world.notify_posts
        mattermost = json.dumps(posts["mattermost"])
        matrix = json.dumps(posts["matrix"])
        email = nw.smtp.mails[0]["html"]
        for upstream in shown:
            url = html_url[by_upstream[upstream].number]
            assert url.endswith(f"/issues/{by_upstream[upstream].number}")
            assert f"<{url}|{upstream}>" in slack, upstream
            assert f"]({url})" in mattermost, upstream
            assert f'<a href=\\"{url}\\">' in matrix, upstream
            assert f'<a href="{url}">' in email, upstream
        assert f"<{html_url[dashboard.number]}|dashboard>" in slack
        engine.dispose()


def test_changes_count_from_the_last_digest_on_any_channel(tmp_path: Path) -> None:
    world = generate_world(7, "small")
    url = f"sqlite:///{tmp_path / 'upkeep.db'}"
    engine = make_engine(url)
    SQLModel.metadata.create_all(engine)
    score_world(url, world)
    settings = Settings(slack={"channel": "C0UPKEEP"})
    first = load_delivery_inputs(engine, settings, world.now)
    assert first.digest is not None and len(first.digest.new_gaps) >= 2
    gaps = list(first.digest.new_gaps)

    def digest_row(key: str, channel: str, gaps: list[str], days: int) -> OutboxRow:
        return OutboxRow(
            key=key,
            channel=channel,
            target="t",
            subject="digest",
            action="post",
            content_hash=key,
            payload={"state": {"gaps": gaps, "given_total": 0.0}},
            state="delivered",
            delivered_at=world.now + timedelta(days=days),
        )

    week = load_delivery_inputs(engine, settings, world.now + timedelta(days=14)).digest
    assert week is not None
    with session_scope(engine) as session:
        session.add(digest_row("slack:C0UPKEEP:digest:old", "slack", [], 0))  # Slack saw no gap
        session.add(digest_row("mattermost:t:digest:later", "mattermost", gaps[1:], 7))  # newer, elsewhere
        session.add(digest_row(f"email:t:digest:{week.period}", "email", gaps, 14))  # this week's: not a base
    later = load_delivery_inputs(engine, settings, world.now + timedelta(days=14))
    assert later.digest is not None and later.digest.period == week.period
    assert later.digest.new_gaps == (gaps[0],)  # counted from the Mattermost digest, the newest before this week
    engine.dispose()


def test_the_last_digest_is_the_newest_delivered_on_any_channel_before_this_week(db_url: str) -> None:
    engine = make_engine(db_url)
    upgrade(engine)
    at = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)

    def row(key: str, channel: str, hours: int | None, state: str = "delivered") -> OutboxRow:
        when = at + timedelta(hours=hours) if hours is not None else None
        return OutboxRow(
            key=key, channel=channel, target="t", subject="digest", action="post", content_hash=key,
            payload={}, state=state, delivered_at=when, created_at=at, updated_at=at,
        )  # fmt: skip

    with session_scope(engine) as session:
        session.add(row("slack:t:digest:2026-W44", "slack", 0))
        session.add(row("matrix:t:digest:2026-W45", "matrix", 2))
        session.add(row("email:t:digest:2026-W45", "email", 1))
        session.add(row("teams:t:digest:2026-W46", "teams", None, state="pending"))
        session.add(row("slack:t:digest:2026-W46", "slack", 5))  # this week's: never the base
        session.add(row("slack:t:digest:2026-W46:edit:abc", "slack", 6))
    with Session(engine) as session:
        last = outbox_store.load_last_digest(session, not_period="2026-W46")
    assert last is not None and last.key == "matrix:t:digest:2026-W45"
    engine.dispose()
