"""[[notify]] entries: several at once, Slack among them, secrets only by the name of their variable."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.config import ConfigError, Secrets, load_settings
from bot.deliver.sinks import build_sinks
from bot.deliver.stage import plan_deliveries
from bot.notify.interface import TargetRouter
from tests.notify_world import hostile_digest

CONFIG = """
organisation = "acme"
[slack]
channel = "C0123456789"

[[notify]]
kind = "slack"
target = "C0123456789"

[[notify]]
kind = "slack"
target = "C0OTHERTEAM"
secret_env = "UPKEEP_OTHER_SLACK_TOKEN"

[[notify]]
kind = "matrix"
target = "!room:example.org"
url = "https://matrix.example.org"
secret_env = "UPKEEP_MATRIX_TOKEN"

[[notify]]
kind = "mattermost"
target = "abcdefghijklmnopqrstuvwxyz"
url = "https://mm.example.org"
secret_env = "UPKEEP_MM_TOKEN"

[[notify]]
kind = "teams"
target = "ospo-team"
secret_env = "UPKEEP_TEAMS_URL"

[[notify]]
kind = "email"
target = ["ospo@acme.example", "finance@acme.example", "ospo@acme.example"]
url = "smtp://mail.acme.example:587"
sender = "upkeep@acme.example"
secret_env = "UPKEEP_SMTP_PASSWORD"
"""
ENV = {
    "SLACK_BOT_TOKEN": "xoxb-main",
    "UPKEEP_OTHER_SLACK_TOKEN": "xoxb-other",
    "UPKEEP_MATRIX_TOKEN": "syt-matrix-secret",
    "UPKEEP_MM_TOKEN": "mm-secret",
    "UPKEEP_TEAMS_URL": "https://prod.example/workflows/1?sig=teams-secret",
    "UPKEEP_SMTP_PASSWORD": "smtp-secret",
}


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "upkeep.toml"
    path.write_text(text)
    return path


def test_several_entries_with_slack_among_them(tmp_path: Path, engine: Engine) -> None:
    settings = load_settings(write(tmp_path, CONFIG))
    assert [e.kind for e in settings.notify] == ["slack", "slack", "matrix", "mattermost", "teams", "email"]
    assert settings.notify[-1].target_key() == "finance@acme.example,ospo@acme.example"
    assert settings.notify_secret_names() == sorted(set(ENV) - {"SLACK_BOT_TOKEN"})
    with Session(engine) as session:
        plan = plan_deliveries(session, settings, hostile_digest(), None)
    keys = sorted(item.key for item in plan.items)
    # the [slack] channel and the first [[notify]] Slack entry are one target: one digest, not two
    assert keys == sorted(
        [
            "slack:C0123456789:digest:2026-W48",
            "slack:C0OTHERTEAM:digest:2026-W48",
            "matrix:!room:example.org:digest:2026-W48",
            "mattermost:abcdefghijklmnopqrstuvwxyz:digest:2026-W48",
            "teams:ospo-team:digest:2026-W48",
            "email:finance@acme.example,ospo@acme.example:digest:2026-W48",
        ]
    )
    assert {item.channel for item in plan.items} == {"slack", "matrix", "mattermost", "teams", "email"}
    assert all(item.payload["text"] for item in plan.items)


def test_sinks_are_built_per_kind_and_secrets_are_redacted(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, CONFIG))
    secrets = Secrets.from_environment(ENV, names=settings.notify_secret_names())
    assert set(secrets.values()) == set(ENV.values())
    assert "syt-matrix-secret" not in repr(secrets)
    sinks, notes = build_sinks(settings, secrets)
    assert notes == []
    assert {"slack", "matrix", "mattermost", "teams", "email"} <= set(sinks)
    assert isinstance(sinks["matrix"], TargetRouter)


def test_a_missing_secret_is_named_and_the_digest_waits(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, CONFIG))
    env = {k: v for k, v in ENV.items() if k != "UPKEEP_MATRIX_TOKEN"}
    sinks, notes = build_sinks(settings, Secrets.from_environment(env, names=settings.notify_secret_names()))
    assert "matrix" not in sinks
    assert notes == ["notify matrix !room:example.org: UPKEEP_MATRIX_TOKEN is not set; its digest waits in the outbox"]


def test_the_existing_slack_section_alone_keeps_working(tmp_path: Path, engine: Engine) -> None:
    settings = load_settings(write(tmp_path, 'organisation = "acme"\n[slack]\nchannel = "C0123456789"\n'))
    with Session(engine) as session:
        plan = plan_deliveries(session, settings, hostile_digest(), None)
    assert [item.key for item in plan.items] == ["slack:C0123456789:digest:2026-W48"]


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ('kind = "matrix"\ntarget = "!r:x"\nsecret_env = "syt_abc.def-123"', "the name of an environment variable"),
        ('kind = "matrix"\ntarget = "!r:x"\npassword = "hunter2"', "secrets are read only from the environment"),
        ('kind = "irc"\ntarget = "#ospo"', "notify.0.kind"),
    ],
    ids=["secret-as-name", "secret-in-file", "unknown-kind"],
)
def test_bad_entries_are_named(tmp_path: Path, entry: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings(write(tmp_path, f"[[notify]]\n{entry}\n"))
