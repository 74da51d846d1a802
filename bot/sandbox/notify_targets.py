"""``[[notify]]`` entries and secrets that point upkeep at the sandbox's Mattermost, Matrix, Teams and SMTP."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bot.sandbox.matrix import ROOM_ID
from bot.sandbox.mattermost import TEAM_CHANNEL, channel_id
from bot.sandbox.model import World

SECRET_NAMES = {
    "mattermost": "UPKEEP_MATTERMOST_TOKEN",
    "matrix": "UPKEEP_MATRIX_TOKEN",
    "teams": "UPKEEP_TEAMS_WEBHOOK_URL",
    "email": "UPKEEP_SMTP_PASSWORD",
}
RECIPIENTS = ("ospo@acme.example", "finance@acme.example")
SENDER = "upkeep <upkeep@acme.example>"


def notify_entries(base_url: str, *, smtp_url: str | None = None, ca_file: Path | None = None) -> list[dict[str, Any]]:
    """One entry per kind served by the sandbox at ``base_url`` (email only with an SMTP server)."""
    base = base_url.rstrip("/")
    entries: list[dict[str, Any]] = [
        {
            "kind": "mattermost",
            "target": channel_id(TEAM_CHANNEL),
            "url": f"{base}/mattermost",
            "secret_env": SECRET_NAMES["mattermost"],
        },
        {"kind": "matrix", "target": ROOM_ID, "url": f"{base}/matrix", "secret_env": SECRET_NAMES["matrix"]},
        {"kind": "teams", "target": "ospo-team", "secret_env": SECRET_NAMES["teams"]},
    ]
    if smtp_url:
        entries.append(
            {
                "kind": "email",
                "target": list(RECIPIENTS),
                "url": smtp_url,
                "sender": SENDER,
                "username": "upkeep",
                "ca_file": str(ca_file) if ca_file else None,
                "secret_env": SECRET_NAMES["email"],
            }
        )
    return entries


def notify_environment(base_url: str, world: World) -> dict[str, str]:
    """The secrets those entries name, as environment variables."""
    base = base_url.rstrip("/")
    return {
        SECRET_NAMES["mattermost"]: world.tokens["mattermost"][0],
        SECRET_NAMES["matrix"]: world.tokens["matrix"][0],
        SECRET_NAMES["teams"]: f"{base}/teams/workflows/ospo?api-version=1&sig={world.tokens['teams'][0]}",
        SECRET_NAMES["email"]: world.tokens["smtp"][0],
    }
